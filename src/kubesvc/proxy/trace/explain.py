"""Words for what the rules did: one walk through a hook's chain turned into steps a learner reads.

Pure. `describe(...)` takes one branch of `netfilter.walk` and says, chain by chain, what each
decisive rule did and why, in kube-proxy's vocabulary: the hand-over to KUBE-SERVICES, which
Service owns the address, the masquerade mark and the reason for it (client outside the pod
network, hairpin, external traffic), ClientIP affinity, the random pick of an endpoint (as its
own `choice` step, so the caller can show the alternatives side by side), DNAT, the REJECT of a
Service without endpoints, MASQUERADE in POSTROUTING. Rules it has no words for are described by
their target. Every step quotes the rules it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from kubesvc.proxy.trace.netfilter import Branch, Hit, Packet
from kubesvc.proxy.trace.network import PodRef
from kubesvc.proxy.trace.ruleset import Rule, RuleSet

_ENTRY = re.compile(
    r"^(?P<svc>\S+?)(?::(?P<port>\S+))? (?P<kind>cluster IP|external IP|loadbalancer IP)$"
)
_NAME = re.compile(r"^(?P<svc>[^\s:]+)(?::(?P<port>\S+))?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    node: str
    where: str  # "nat PREROUTING", "routing", ...
    text: str
    rules: tuple[str, ...] = ()
    kind: str = "rule"  # rule | choice | route | end


def odds(p: float) -> str:
    """A probability as a learner reads it: `1/3`, `1`, or `0.417` when no small fraction fits."""
    if p >= 1 - 1e-9:
        return "1"
    fraction = Fraction(p).limit_denominator(1000)
    if abs(float(fraction) - p) < 1e-6:
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{p:.3f}"


def service_of(comment: str) -> str:
    """`default/web:http cluster IP` → `Service default/web (port http)`."""
    found = _ENTRY.match(comment) or _NAME.match(comment)
    if not found:
        return f"Service {comment}"
    port = f" (port {found['port']})" if found["port"] else ""
    return f"Service {found['svc']}{port}"


def _proto(packet: Packet) -> str:
    return packet.proto.upper()


def _masq_reason(rule: Rule, packet: Packet) -> str:
    source = rule.match("-s")
    if rule.chain.startswith("KUBE-SVC") and source is not None and source.negated:
        return (
            f"the client {packet.src} is outside the pod network {source.value}, so the packet "
            "is marked for masquerading: the endpoint's reply must come back through this "
            "node, where conntrack undoes the DNAT"
        )
    if rule.chain.startswith("KUBE-SEP") and source is not None:
        return (
            f"the client is this endpoint itself ({packet.src}): hairpin traffic is marked for "
            "masquerading, or the pod would answer itself directly and drop the reply"
        )
    if rule.chain.startswith("KUBE-EXT"):
        return (
            "traffic to a NodePort or an external address is marked for masquerading, because "
            "the endpoint chosen next may be on another node"
        )
    return "the packet is marked for masquerading"


def _affinity(rules: RuleSet, table: str, chain: str) -> str:
    for rule in rules.rules(table, chain):
        if rule.match("--rcheck") is not None:
            seconds = rule.match("--seconds") or rule.match("--rcheck")
            limit = seconds.value if seconds is not None and seconds.value else "the timeout"
            return (
                f"ClientIP affinity: the first rules (`-m recent --rcheck --seconds {limit}`) send "
                f"a client back to the endpoint it reached in the last {limit} s; a client without "
                "a recent connection falls through to the random pick, and the chosen endpoint's "
                "chain records it (`-m recent --set`)."
            )
    return ""


def _sentence(hit: Hit, before: Packet, after: Packet, rules: RuleSet) -> str:
    rule, target = hit.rule, hit.rule.target
    comment = rule.comment
    if rule.chain in ("PREROUTING", "OUTPUT", "FORWARD") and target == "KUBE-SERVICES":
        if rule.table == "filter":
            return (
                f"{rule.chain} sends every new connection through kube-proxy's filter chain "
                "KUBE-SERVICES, which refuses connections to Services without endpoints"
            )
        return f"{rule.chain} hands every new connection to kube-proxy's KUBE-SERVICES chain"
    if target == "KUBE-NODEPORTS":
        return (
            f"{before.dst} is an address of this node (`-m addrtype --dst-type LOCAL`), so "
            "kube-proxy's NodePort rules are checked"
        )
    if rule.chain == "KUBE-NODEPORTS" and target.startswith("KUBE-"):
        return f"port {before.dport}/{_proto(before)} is the NodePort of {service_of(comment)}"
    if _ENTRY.match(comment) and target.startswith(("KUBE-SVC", "KUBE-SVL", "KUBE-EXT", "KUBE-FW")):
        kind = _ENTRY.match(comment)["kind"]  # type: ignore[index]
        return (
            f"{before.dst}:{before.dport}/{_proto(before)} is the {kind} of {service_of(comment)}"
        )
    if target == "KUBE-MARK-MASQ":
        return _masq_reason(rule, before)
    if rule.chain == "KUBE-MARK-MASQ":
        return "KUBE-MARK-MASQ sets the masquerade bit (0x4000) in the packet's mark"
    if rule.chain.startswith("KUBE-EXT") and target.startswith(("KUBE-SVC", "KUBE-SVL")):
        return f"on to the Service's endpoints ({target})"
    recorded = rule.match("--name") if rule.match("--set") is not None else None
    remember = (
        f" (and records the client in the affinity list {recorded.value})" if recorded else ""
    )
    if target == "DNAT":
        return (
            f"DNAT rewrites the destination {before.destination} to {after.destination}{remember}; "
            "conntrack remembers this, so the replies come back from "
            f"{before.destination} as the client expects"
        )
    if target == "REDIRECT":
        return (
            f"REDIRECT hands the connection to port {after.dport} on this node ({after.dst}); "
            "in userspace mode the kubesvc proxy listens there and relays it to an endpoint"
        )
    if recorded is not None:
        return f"the client is recorded in the affinity list {recorded.value}"
    if target == "REJECT" and "has no endpoints" in comment:
        svc = service_of(comment.removesuffix(" has no endpoints") + " cluster IP")
        return (
            f"{svc} has no endpoints: kube-proxy rejects the connection at once (ICMP port "
            "unreachable; the client sees 'Connection refused')"
        )
    if target == "DROP" and "has no local endpoints" in comment:
        svc = service_of(comment.removesuffix(" has no local endpoints") + " cluster IP")
        return (
            f"{svc} has a Local traffic policy and no endpoint on this node: the packet is "
            "dropped (the client waits until it gives up)"
        )
    if rule.chain == "KUBE-POSTROUTING" and target == "RETURN":
        if not before.dnat:
            return ""  # nothing kube-proxy did on this node: not worth a word
        return f"the packet carries no masquerade mark: its source stays {before.src}"
    if rule.chain == "KUBE-POSTROUTING" and target == "MARK":
        return "it carries the masquerade mark: kube-proxy clears the mark"
    if target == "MASQUERADE" and before.src == after.src:
        return (
            f"MASQUERADE keeps the source {after.src}: it already is this node's address on the "
            "way out"
        )
    if target == "MASQUERADE":
        return (
            f"MASQUERADE rewrites the source {before.src} to {after.src}, this node's address on "
            "the way out, so the reply comes back here"
        )
    if rule.chain == "KUBE-FORWARD" and target == "ACCEPT":
        return "KUBE-FORWARD accepts it (" + (comment or "kube-proxy's forwarding rule") + ")"
    if rule.chain == "KUBE-FIREWALL" and target == "DROP":
        return "blocked: a connection to 127.0.0.0/8 that did not start on this node"
    if target and rules.has_chain(rule.table, target):
        return f"{rule.chain} jumps to {target}" + (f" ({comment})" if comment else "")
    return f"a rule in {rule.chain} matches: {target or 'no target'}" + (
        f" ({comment})" if comment else ""
    )


def choice_text(hits: list[Hit], pods: dict[str, PodRef], after: Packet) -> str:
    """The random pick that led to this branch."""
    taken = hits[-1]
    pod = pods.get(after.dst)
    who = f"pod {pod} on {pod.node}" if pod else after.dst
    probability = taken.rule.match("--probability")
    if probability is None and len(hits) == 1:
        how = "the only endpoint"
    elif probability is None:
        how = f"the last of {len(hits)} rules, which takes every connection the others left"
    else:
        how = f"rule {len(hits)}, `--probability {probability.value}` of what the rules above left"
    return f"endpoint {after.destination} ({who}) via {taken.rule.target}: {how}"


def _entry_jump(hit: Hit) -> bool:
    entry_chains = ("PREROUTING", "OUTPUT", "FORWARD")
    return hit.rule.chain in entry_chains and hit.rule.target == "KUBE-SERVICES"


def _quiet(hit: Hit, rules: RuleSet) -> bool:
    """A plain jump into another chain: the rules it leads to tell the story, not the jump."""
    rule = hit.rule
    if _entry_jump(hit) or not rules.has_chain(rule.table, rule.target):
        return False
    if rule.target in ("KUBE-MARK-MASQ", "KUBE-NODEPORTS") or rule.chain == "KUBE-NODEPORTS":
        return False
    if rule.chain.startswith("KUBE-EXT") or _ENTRY.match(rule.comment):
        return False
    return not _is_pick(hit)


def _is_pick(hit: Hit) -> bool:
    rule = hit.rule
    in_service = rule.chain.startswith(("KUBE-SVC", "KUBE-SVL"))
    return in_service and (
        rule.match("--probability") is not None or rule.target.startswith("KUBE-SEP")
    )


def describe(
    *,
    node: str,
    hook: str,
    table: str,
    branch: Branch,
    before: Packet,
    rules: RuleSet,
    pods: dict[str, PodRef],
) -> list[Step]:
    """Steps for one walk through `table`'s `hook` chain: one per chain that did something, and a
    `choice` step for the random pick of an endpoint."""
    steps: list[Step] = []
    packet, chain = before, hook
    texts: list[str] = []
    quoted: list[str] = []
    picks: list[Hit] = []

    def flush() -> None:
        if texts:
            text = "; ".join(texts)
            steps.append(
                Step(
                    node=node,
                    where=f"{table} {chain}",
                    text=text[0].upper() + text[1:] + ".",
                    rules=tuple(quoted),
                )
            )
        texts.clear()
        quoted.clear()

    hits = [h for h in branch.hits if not _quiet(h, rules)]
    if not any(not _entry_jump(h) for h in hits):
        return []  # only passed through kube-proxy's chains: nothing to say
    for hit in hits:
        if hit.rule.chain != chain:
            flush()
            chain = hit.rule.chain
            note = _affinity(rules, table, chain)
            if note:
                steps.append(Step(node=node, where=f"{table} {chain}", text=note))
        if _is_pick(hit):
            picks.append(hit)
            if hit.taken:
                flush()
                text = choice_text(picks, pods, branch.packet)
                where = f"{table} {chain}"
                steps.append(
                    Step(node=node, where=where, text=text, rules=(hit.rule.text,), kind="choice")
                )
                picks = []
            continue
        changes = hit.rule.target in ("DNAT", "MASQUERADE", "SNAT", "REDIRECT")
        after = branch.packet if changes else packet
        sentence = _sentence(hit, packet, after, rules)
        if sentence:
            texts.append(sentence)
            quoted.append(hit.rule.text)
        packet = after
    flush()
    return steps
