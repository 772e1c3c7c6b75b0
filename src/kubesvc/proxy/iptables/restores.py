"""How a sync becomes `iptables-restore` input: a partial sync's delta, a big full sync's chunks.

Pure. **Partial syncs.** kube-proxy's partial syncs (KEP-3453) leave out the chains of Services
that did not change but still write every top-level chain whole: KUBE-SERVICES alone holds a rule
per Service port, so at 10,000 Services each partial sync flushes and re-adds 10,000 rules to move
one endpoint (measured with iptables-nft 1.8.9: 0.8 s of a 0.86 s restore; without it, 0.16 s,
nearly all of it the kernel validating the nat table's jump graph at commit). The rules the kernel
ends up with are what matter, so `partial_restore(rendered, applied)` writes the smallest input
that takes a kernel holding the previous sync's rules (`applied`, that sync's `Rendered.top`, with
its Service chains) to `rendered`'s:

- a top-level chain whose rules did not change is not mentioned at all;
- in a chain where the order of the rules means nothing (one rule per Service port, each matching
  its own address and port: nat and filter KUBE-SERVICES, KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES,
  KUBE-PROXY-FIREWALL; upstream writes them in Go map order, which changes every sync), a few
  changes become `-D CHAIN <rule>` and `-I CHAIN 1 <rule>`. The rules that must stay last
  (the jump to KUBE-NODEPORTS) and larger changes (over a tenth of the chain) rewrite the chain;
- any other changed top-level chain is rewritten whole, as upstream;
- the changed Services' own chains and the stale chains' deletion are written as `render_sync`
  made them.

The nat section comes first: when a Service gets its first endpoint, its DNAT must be in place
before the filter REJECT goes (the REJECT matches only the Service's address, which DNAT has
already rewritten), or a connection in between is dropped; `iptables-restore` commits each table
at its COMMIT. When the last endpoint goes, the other order would be better, but a connection then
fails either way.

**Full syncs.** One input is atomic, as upstream, up to `CHUNK` Service ports. Above that, on
the nft backend, `full_restores` cuts it: first the Services' own chains, `CHUNK` Service ports
per input (each chain flushed and refilled within one input; the first input also fills
KUBE-MARK-MASQ, which they jump to), then one input with the top-level chains and the stale
chains' deletion. Every state in between is consistent: KUBE-SERVICES keeps jumping to chains
that exist, with their old or their new rules, and new chains wait unused until the last input.
The reason is iptables-nft 1.8.9, whose restore time grows with the square of one input's size:
10,000 Services × 5 endpoints take 300 s as one input and 9 s in chunks (`bench/rules.py`).
iptables-legacy rewrites the whole table for every input, so there chunks only cost more (1.9 s
as one input, 4.7 s in chunks), and the proxier gives it one input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kubesvc.proxy.iptables.jumps import (
    EXTERNAL_SERVICES,
    MARK_MASQ,
    NODEPORTS,
    PROXY_FIREWALL,
    SERVICES,
)
from kubesvc.proxy.iptables.render import Rendered, TopChains

ORDER_FREE = frozenset(
    {
        ("filter", SERVICES),
        ("filter", EXTERNAL_SERVICES),
        ("filter", NODEPORTS),
        ("filter", PROXY_FIREWALL),
        ("nat", SERVICES),
        ("nat", NODEPORTS),
    }
)
SMALL = 16  # changes a chain of any size may take as edits
CHUNK = 1000  # Service ports per input of a full sync


@dataclass(frozen=True, slots=True)
class Restore:
    """A partial sync's restore input and the rules it writes (for the `_last` metric)."""

    text: str
    filter_rules: int
    nat_rules: int


def partial_restore(rendered: Rendered, applied: TopChains) -> Restore:
    sections: dict[str, tuple[list[str], list[str]]] = {"nat": ([], []), "filter": ([], [])}
    for (table, chain), rules in rendered.top.items():
        old = applied.get((table, chain))
        if old == rules:
            continue
        decls, lines = sections[table]
        edits = _edits(table, chain, old, rules)
        if edits is None:
            decls.append(f":{chain} - [0:0]")
            lines += rules
        else:
            lines += edits
    nat_decls, nat_lines = sections["nat"]
    nat_decls += rendered.service_decls
    nat_lines += rendered.service_rules
    nat_lines += [f"-X {chain}" for chain in rendered.deleted_chains]
    out: list[str] = []
    for table in ("nat", "filter"):
        decls, lines = sections[table]
        if decls or lines:
            out += [f"*{table}", *decls, *lines, "COMMIT"]
    return Restore(
        text="\n".join(out) + "\n" if out else "",
        filter_rules=_written(sections["filter"][1]),
        nat_rules=_written(nat_lines),
    )


def _edits(
    table: str, chain: str, old: Sequence[str] | None, new: Sequence[str]
) -> list[str] | None:
    """`-D`/`-I` lines taking `old` to `new`, or None when the chain is better rewritten."""
    if old is None or (table, chain) not in ORDER_FREE:
        return None
    old_set, new_set = set(old), set(new)
    if len(old_set) != len(old) or len(new_set) != len(new):
        return None  # a duplicate rule: -D would remove the wrong count
    removed = [rule for rule in old if rule not in new_set]
    added = [rule for rule in new if rule not in old_set]
    if len(removed) + len(added) > max(SMALL, len(new) // 10):
        return None
    if any(rule.endswith(f" -j {NODEPORTS}") for rule in (*removed, *added)):
        return None  # the KUBE-NODEPORTS jump must stay the last rule of KUBE-SERVICES
    head = f"-A {chain} "
    edits = [f"-D {chain} {rule[len(head) :]}" for rule in removed]
    edits += [f"-I {chain} 1 {rule[len(head) :]}" for rule in reversed(added)]
    return edits


def _written(lines: Sequence[str]) -> int:
    return sum(line.startswith(("-A ", "-I ")) for line in lines)


def full_restores(rendered: Rendered, chunk: int | None = CHUNK) -> list[str]:
    """A full sync's input: `rendered.text` alone, or in chunks above `chunk` Service ports."""
    pieces = list(rendered.pieces.values())
    if chunk is None or len(pieces) <= chunk:
        return [rendered.text]
    inputs = []
    for start in range(0, len(pieces), chunk):
        group = pieces[start : start + chunk]
        decls = [decl for piece in group for decl in piece.chain_decls]
        rules = [rule for piece in group for rule in piece.chain_rules]
        if not start:  # the one top-level chain that Service chains jump to, made first
            decls.insert(0, f":{MARK_MASQ} - [0:0]")
            rules[:0] = rendered.top[("nat", MARK_MASQ)]
        inputs.append("\n".join(["*nat", *decls, *rules, "COMMIT"]) + "\n")
    top: dict[str, tuple[list[str], list[str]]] = {"nat": ([], []), "filter": ([], [])}
    for (table, chain), chain_rules in rendered.top.items():
        top[table][0].append(f":{chain} - [0:0]")
        top[table][1].extend(chain_rules)
    stale = rendered.deleted_chains
    top["nat"][0].extend(f":{chain} - [0:0]" for chain in stale)
    top["nat"][1].extend(f"-X {chain}" for chain in stale)
    last = [
        line
        for table in ("nat", "filter")
        for line in (f"*{table}", *top[table][0], *top[table][1], "COMMIT")
    ]
    inputs.append("\n".join(last) + "\n")
    return inputs
