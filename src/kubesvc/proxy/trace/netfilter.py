"""Walk the first packet of a new connection through one chain of a parsed rule set.

Pure. `walk(rules, table, chain, packet, env)` follows the kernel's rules for one hook's chain:
rules in order; a match decides; a jump to a user chain runs it and comes back on RETURN or
falling off its end (a goto does not come back); ACCEPT, DROP and REJECT end the table's
traversal; DNAT, REDIRECT, SNAT and MASQUERADE rewrite the packet and accept it; MARK changes the
mark and goes on; a built-in chain that is left without a verdict gets its policy.

`-m statistic --mode random --probability P` is the one match that is neither true nor false: the
walk splits there, into a branch that matched with probability P and one that did not, so the
result is a list of `Branch`es, each with its probability (they add up to 1), the packet as it
leaves, the verdict and the rules it went through (`Hit`s, with the statistic decisions that did
not match too, because they explain the odds). Everything else a kube-proxy rule set uses is
modelled: addresses and CIDRs, protocol and ports, `addrtype` (LOCAL from `env.local`),
`conntrack --ctstate` as for a first packet (NEW, plus DNAT/SNAT once translated), `mark`,
`comment`; `recent --rcheck` (ClientIP affinity) is taken as "this client has no recent
connection" and `--set` as matching. A rule with a match this module does not model is taken as
not matching and listed in `Branch.unmodeled`, so the caller can say so.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace

from kubesvc.proxy.trace.ruleset import Match, Rule, RuleSet

BUILTIN_CHAINS = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Packet:
    src: str
    dst: str
    proto: str  # "tcp" | "udp"
    sport: int
    dport: int
    mark: int = 0
    dnat: bool = False  # conntrack holds a destination translation for this connection
    snat: bool = False

    @property
    def destination(self) -> str:
        return f"{self.dst}:{self.dport}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Env:
    local: Callable[[str], bool]  # addrtype LOCAL on this node
    out_address: str = ""  # MASQUERADE's new source (the outgoing interface's address)
    redirect_address: str = "127.0.0.1"  # REDIRECT's new destination (the incoming address)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    rule: Rule
    taken: bool = True  # False: a statistic rule that did not pick this branch
    probability: float = 1.0  # of this decision, for statistic rules


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch:
    probability: float
    packet: Packet
    verdict: str  # ACCEPT | DROP | REJECT, or RETURN inside `walk`
    hits: tuple[Hit, ...] = ()
    unmodeled: tuple[Rule, ...] = ()


class Unmodeled(Exception):
    pass


def _in(ip: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _ports(value: str, port: int) -> bool:
    low, _, high = value.partition(":")
    return int(low or 0) <= port <= int(high or low or 65535)


def _ctstates(packet: Packet) -> set[str]:
    states = {"NEW"}
    if packet.dnat:
        states.add("DNAT")
    if packet.snat:
        states.add("SNAT")
    return states


def _mark(value: str, mark: int) -> bool:
    want, _, mask = value.partition("/")
    return mark & int(mask or "0xffffffff", 0) == int(want, 0)


def _one(m: Match, packet: Packet, env: Env) -> float:
    """The probability that this match holds (before `!`); raises Unmodeled."""
    option = m.option
    if option == "--comment":
        return 1.0
    if option in ("-s", "-d"):
        return float(_in(packet.src if option == "-s" else packet.dst, m.value))
    if option == "-p":
        return float(m.value.lower() in (packet.proto, "all"))
    if option in ("--dport", "--sport") and m.module in ("tcp", "udp", ""):
        return float(_ports(m.value, packet.dport if option == "--dport" else packet.sport))
    if option in ("--dst-type", "--src-type") and m.value.upper() == "LOCAL":
        return float(env.local(packet.dst if option == "--dst-type" else packet.src))
    if option in ("--ctstate", "--state"):
        return float(bool(set(m.value.upper().split(",")) & _ctstates(packet)))
    if option == "--mark" and m.module == "mark":
        return float(_mark(m.value, packet.mark))
    if option == "--mode" and m.value == "random":
        return 1.0
    if option == "--probability":
        return float(m.value)
    if m.module == "recent":
        if option in ("--rcheck", "--update"):
            return 0.0  # a new client has no recent entry
        if option in (
            "--set",
            "--name",
            "--seconds",
            "--reap",
            "--mask",
            "--rsource",
            "--hitcount",
        ):
            return 1.0
    raise Unmodeled(option)


def match(rule: Rule, packet: Packet, env: Env) -> float:
    """The probability that `rule` matches `packet`; raises Unmodeled."""
    probability = 1.0
    for m in rule.matches:
        p = _one(m, packet, env)
        if m.negated:
            if m.option == "--probability":
                raise Unmodeled("! --probability")
            p = 1.0 - p
        probability *= p
        if probability == 0.0:
            return 0.0
    return probability


def _set_mark(rule: Rule, mark: int) -> int:
    if (value := rule.target_option("--or-mark")) is not None:
        return mark | int(value, 0)
    if (value := rule.target_option("--xor-mark")) is not None:
        return mark ^ int(value, 0)
    if (value := rule.target_option("--and-mark")) is not None:
        return mark & int(value, 0)
    for option in ("--set-xmark", "--set-mark"):
        if (value := rule.target_option(option)) is not None:
            bits, _, mask = value.partition("/")
            keep = ~int(mask or "0xffffffff", 0) & 0xFFFFFFFF
            new = int(bits, 0)
            return (mark & keep) ^ new if option == "--set-xmark" else (mark & keep) | new
    return mark


def _dnat(rule: Rule, packet: Packet) -> Packet:
    to = rule.target_option("--to-destination") or ""
    host, sep, port = to.rpartition(":") if to.count(":") == 1 else (to, "", "")
    return replace(
        packet,
        dst=host.strip("[]") or packet.dst,
        dport=int(port) if sep else packet.dport,
        dnat=True,
    )


@dataclass(frozen=True, slots=True)
class _State:
    probability: float
    packet: Packet
    hits: tuple[Hit, ...] = ()
    unmodeled: tuple[Rule, ...] = ()

    def end(self, verdict: str) -> Branch:
        return Branch(
            probability=self.probability,
            packet=self.packet,
            verdict=verdict,
            hits=self.hits,
            unmodeled=self.unmodeled,
        )


class _Walker:
    def __init__(self, rules: RuleSet, table: str, env: Env) -> None:
        self.rules, self.table, self.env = rules, table, env

    def chain(self, chain: str, start: int, state: _State, depth: int) -> list[Branch]:
        if depth > MAX_DEPTH:
            raise RecursionError(f"chain loop through {chain}")
        rules = self.rules.rules(self.table, chain)
        for i in range(start, len(rules)):
            rule = rules[i]
            try:
                p = match(rule, state.packet, self.env)
            except Unmodeled:
                state = replace(state, unmodeled=(*state.unmodeled, rule))
                continue
            if p <= 0.0:
                continue
            if p >= 1.0:
                return self.take(chain, i, rule, state, depth)
            taken = replace(
                state,
                probability=state.probability * p,
                hits=(*state.hits, Hit(rule=rule, probability=p)),
            )
            passed = replace(
                state,
                probability=state.probability * (1 - p),
                hits=(*state.hits, Hit(rule=rule, taken=False, probability=1 - p)),
            )
            return self.take(chain, i, rule, taken, depth, hit=False) + self.chain(
                chain, i + 1, passed, depth
            )
        return [state.end("RETURN")]

    def take(
        self, chain: str, i: int, rule: Rule, state: _State, depth: int, hit: bool = True
    ) -> list[Branch]:
        if hit:
            state = replace(state, hits=(*state.hits, Hit(rule=rule)))
        target, packet = rule.target, state.packet
        if target in ("ACCEPT", "DROP", "REJECT", "RETURN"):
            return [state.end(target)]
        if target == "MARK":
            state = replace(state, packet=replace(packet, mark=_set_mark(rule, packet.mark)))
            return self.chain(chain, i + 1, state, depth)
        if target == "DNAT":
            return [replace(state, packet=_dnat(rule, packet)).end("ACCEPT")]
        if target == "REDIRECT":
            ports = rule.target_option("--to-ports") or str(packet.dport)
            new = replace(
                packet, dst=self.env.redirect_address, dport=int(ports.split("-")[0]), dnat=True
            )
            return [replace(state, packet=new).end("ACCEPT")]
        if target in ("SNAT", "MASQUERADE"):
            source = rule.target_option("--to-source") if target == "SNAT" else self.env.out_address
            new = replace(packet, src=(source or packet.src).split(":")[0], snat=True)
            return [replace(state, packet=new).end("ACCEPT")]
        if not target or not self.rules.has_chain(self.table, target):
            return self.chain(chain, i + 1, state, depth)  # no target, LOG, or an unknown one
        out: list[Branch] = []
        for branch in self.chain(target, 0, state, depth + 1):
            if branch.verdict != "RETURN" or rule.goto:
                out.append(branch)
                continue
            back = _State(branch.probability, branch.packet, branch.hits, branch.unmodeled)
            out += self.chain(chain, i + 1, back, depth)
        return out


def walk(rules: RuleSet, table: str, chain: str, packet: Packet, env: Env) -> list[Branch]:
    """The branches of `packet` through `chain`; a built-in chain ends with its policy."""
    branches = _Walker(rules, table, env).chain(chain, 0, _State(1.0, packet), 0)
    if chain not in BUILTIN_CHAINS:
        return branches
    policy = rules.policy(table, chain)
    return [replace(b, verdict=policy) if b.verdict == "RETURN" else b for b in branches]
