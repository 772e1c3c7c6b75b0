"""kube-proxy's iptables rules for a set of Service ports, as `iptables-restore` input.

Pure. `render(services, endpoints, ...)` writes what kube-proxy's `syncProxyRules` writes on a
full sync, in its order and text: a `*filter` section (KUBE-SERVICES, KUBE-EXTERNAL-SERVICES,
KUBE-FORWARD, KUBE-NODEPORTS, KUBE-PROXY-FIREWALL and, with localhost NodePorts, KUBE-FIREWALL)
and a `*nat` section (KUBE-SERVICES, KUBE-NODEPORTS, KUBE-POSTROUTING, KUBE-MARK-MASQ and per
Service port KUBE-SVC-/KUBE-SVL-/KUBE-EXT-/KUBE-FW-/KUBE-SEP- chains), each as chain lines
`:NAME - [0:0]` (which also flush the chain) followed by `-A` rules and `COMMIT`, meant for
`iptables-restore --noflush`. The masquerade mark is written `%#08x` (`0x004000`), as upstream.

`render_sync(..., changed=..., existing_nat_chains=..., previous=...)` is one sync of the proxy,
full or partial (KEP-3453): the top-level chains are always written whole, an unchanged Service's
own chains are left out, and per-Service chains the kernel has that nothing uses any more are
flushed and deleted (`:CHAIN`, then `-X CHAIN` before the final KUBE-SERVICES rule), as upstream
does from `iptables-save -t nat`. Each Service port's rules are a `Piece`; a partial sync reuses
the pieces of `previous` for the Services whose port and endpoints are unchanged, so it costs
the Services that changed plus one pass over the others, not a render of everything. The
result also keeps the top-level chains' rules (`top`) and the changed Services' chains apart,
for `restores.partial_restore`, which writes only what differs from the previous sync.

Per Service port, in upstream's order: the entry rules (cluster IP, external IPs, load-balancer
IPs, NodePort; or REJECT/DROP in filter when there are no usable endpoints), then the chains: the
cluster-IP masquerade rule (`! -s CLUSTER_CIDR -j KUBE-MARK-MASQ`), KUBE-EXT-, KUBE-FW-, KUBE-SVC-
and KUBE-SVL- (affinity `--rcheck` rules first, then one `-m statistic` rule per endpoint with
probability `%0.10f` of 1/(n-i), the last unconditional) and one KUBE-SEP- per reachable endpoint
(hairpin masquerade, affinity `--set`, DNAT). Which endpoints serve Cluster and Local policy
follows `model.categorize`. Services are written sorted by name so the output is stable (upstream
walks a Go map). Above 1000 endpoints per-endpoint comments are dropped, as upstream's
large-cluster mode. The jumps from the built-in chains are in `jumps.py`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain as chained
from itertools import repeat
from operator import itemgetter

from kubesvc.proxy.iptables import names
from kubesvc.proxy.iptables.jumps import (
    EXTERNAL_SERVICES,
    FORWARD,
    KUBELET_FIREWALL,
    MARK_MASQ,
    NODEPORTS,
    POSTROUTING,
    PROXY_FIREWALL,
    SERVICES,
)
from kubesvc.proxy.iptables.jumps import base_chains as base_chains
from kubesvc.proxy.iptables.jumps import base_rules as base_rules
from kubesvc.proxy.model import Categories, EndpointInfo, ServicePortInfo
from kubesvc.proxy.model import categorize as categorize

LARGE_CLUSTER_ENDPOINTS = 1000
NAT_TOP = (SERVICES, NODEPORTS, POSTROUTING, MARK_MASQ)  # the nat chains every sync writes whole


def _q(text: str) -> str:
    return f'"{text}"'


@dataclass(slots=True, kw_only=True)
class _Out:
    """The four line buffers of one sync (as upstream's LineBuffers), or of one Service port's
    `Piece`; `active` collects the nat chains the sync keeps."""

    filter_chains: list[str] = field(default_factory=list)
    filter_rules: list[str] = field(default_factory=list)
    nat_chains: list[str] = field(default_factory=list)
    nat_rules: list[str] = field(default_factory=list)
    active: set[str] = field(default_factory=set)

    def nat_chain(self, chain: str) -> None:
        self.nat_chains.append(f":{chain} - [0:0]")
        self.active.add(chain)

    def text(self) -> str:
        lines = ["*filter", *self.filter_chains, *self.filter_rules, "COMMIT"]
        lines += ["*nat", *self.nat_chains, *self.nat_rules, "COMMIT"]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Options:
    node_ip: str | None
    cluster_cidr: str | None
    masquerade_all: bool
    mark: str
    large: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Piece:
    """One Service port's rules: entry rules into the top-level chains, and its own chains."""

    svc: ServicePortInfo
    endpoints: tuple[EndpointInfo, ...]
    filter_entry: tuple[str, ...]
    nat_entry: tuple[str, ...]
    chains: tuple[str, ...]  # its own chains, in the order they are declared
    chain_decls: tuple[str, ...]  # `:KUBE-SVC-... - [0:0]`
    chain_rules: tuple[str, ...]
    no_local_internal: bool
    no_local_external: bool


TopChains = Mapping[tuple[str, str], tuple[str, ...]]  # (table, chain) -> its rules, in order


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    """One sync's `iptables-restore` input and what the metrics report about it."""

    text: str
    full: bool
    nat_rules: int  # nat rules kube-proxy owns after this sync (written or left in place)
    filter_rules: int
    nat_rules_written: int
    filter_rules_written: int
    deleted_chains: tuple[str, ...]
    active_nat_chains: frozenset[str]
    no_local_internal: int  # Services with internalTrafficPolicy Local and no local endpoint
    no_local_external: int
    # for the next sync and for restores.partial_restore:
    options: _Options
    services: Sequence[ServicePortInfo]  # as given, and sorted by key with each one's Service:
    keyed: Sequence[tuple[str, str, str, ServicePortInfo]]
    pieces: Mapping[str, Piece]  # by ServicePortInfo.key
    top: TopChains  # every top-level chain this sync wrote whole, filter then nat
    service_decls: tuple[str, ...]  # the changed Services' chains and the stale ones
    service_rules: tuple[str, ...]  # the changed Services' chains' rules


def render(
    services: Sequence[ServicePortInfo],
    endpoints: Mapping[str, Sequence[EndpointInfo]],
    *,
    node_ip: str | None = None,
    cluster_cidr: str | None = None,
    masquerade_all: bool = False,
    node_port_addresses: Sequence[str] | None = None,
    localhost_node_ports: bool = True,
    masquerade_bit: int = 14,
    conntrack_tcp_liberal: bool = False,
) -> str:
    """The full `iptables-restore` input (filter and nat) for these Service ports.

    `endpoints` is keyed by `ServicePortInfo.key`; `node_port_addresses` None means NodePorts
    answer on every local address, otherwise on the given node IPs only.
    """
    return render_sync(
        services,
        endpoints,
        node_ip=node_ip,
        cluster_cidr=cluster_cidr,
        masquerade_all=masquerade_all,
        node_port_addresses=node_port_addresses,
        localhost_node_ports=localhost_node_ports,
        masquerade_bit=masquerade_bit,
        conntrack_tcp_liberal=conntrack_tcp_liberal,
    ).text


def render_sync(
    services: Sequence[ServicePortInfo],
    endpoints: Mapping[str, Sequence[EndpointInfo]],
    *,
    changed: Collection[str] | None = None,
    existing_nat_chains: Collection[str] = (),
    previous: Rendered | None = None,
    node_ip: str | None = None,
    cluster_cidr: str | None = None,
    masquerade_all: bool = False,
    node_port_addresses: Sequence[str] | None = None,
    localhost_node_ports: bool = True,
    masquerade_bit: int = 14,
    conntrack_tcp_liberal: bool = False,
) -> Rendered:
    """One sync: full when `changed` is None, else partial (KEP-3453).

    A partial sync writes the top-level chains in full but the KUBE-SVC/SVL/EXT/FW/SEP chains only
    of the Services named in `changed` (`namespace/name`); the others stay as the kernel has
    them. Either way, per-Service chains in `existing_nat_chains` (what `iptables-save -t nat`
    shows) that no Service uses any more are flushed and deleted (`:CHAIN` then `-X CHAIN`).
    `previous` (the last sync that was applied) lends its pieces to the unchanged Services.
    """
    if node_port_addresses is not None:
        loopback = any(ipaddress.ip_address(ip).is_loopback for ip in node_port_addresses)
        localhost_node_ports = localhost_node_ports and loopback
    mark = f"{1 << masquerade_bit:#08x}"
    if previous is not None and previous.services == services:  # same ports: same order
        keyed = previous.keyed
    else:
        keyed = sorted(
            ((svc.key, svc.protocol, f"{svc.namespace}/{svc.name}", svc) for svc in services),
            key=itemgetter(0, 1),
        )
    total = sum(map(len, map(endpoints.get, (k[0] for k in keyed), repeat(()))))
    opts = _Options(
        node_ip=node_ip,
        cluster_cidr=cluster_cidr,
        masquerade_all=masquerade_all,
        mark=mark,
        large=total > LARGE_CLUSTER_ENDPOINTS,
    )
    reusable = previous.pieces if previous is not None and previous.options == opts else {}
    out = _Out()
    _write_head(out, mark, localhost_node_ports)
    pieces: dict[str, Piece] = {}
    decls: list[str] = []
    rules: list[str] = []
    filter_rules, nat_rules = out.filter_rules, out.nat_rules
    for key, _, name, svc in keyed:  # lean: at 10,000 Services this loop is the partial render
        eps = endpoints.get(key, ())
        before = piece = reusable.get(key)
        if (
            piece is None
            or (piece.svc is not svc and piece.svc != svc)
            or (piece.endpoints is not eps and piece.endpoints != tuple(eps))
        ):
            piece = _piece(svc, tuple(eps), opts)
        pieces[key] = piece
        filter_rules += piece.filter_entry
        nat_rules += piece.nat_entry
        # a Service the caller did not name is written anyway if its rules differ from the
        # previous sync's (a change the caller missed); new options alone rewrite nothing
        if changed is None or name in changed or (before is not None and before is not piece):
            nat_rules += piece.chain_rules
            decls += piece.chain_decls
            rules += piece.chain_rules
    out.active.update(chained.from_iterable(p.chains for p in pieces.values()))
    out.nat_chains += decls
    stale = sorted(c for c in set(existing_nat_chains) - out.active if names.is_service_chain(c))
    decls += [f":{c} - [0:0]" for c in stale]
    out.nat_chains += [f":{c} - [0:0]" for c in stale]
    out.nat_rules += [f"-X {c}" for c in stale]
    _write_tail(out, mark, node_port_addresses, localhost_node_ports, conntrack_tcp_liberal)
    written = len(out.nat_rules) - len(stale)  # every line is an -A but the -X ones
    skipped_rules = sum(len(p.chain_rules) for p in pieces.values()) - len(rules)
    return Rendered(
        text=out.text(),
        full=changed is None,
        nat_rules=written + skipped_rules,
        filter_rules=len(out.filter_rules),
        nat_rules_written=written,
        filter_rules_written=len(out.filter_rules),
        deleted_chains=tuple(stale),
        active_nat_chains=frozenset(out.active),
        no_local_internal=sum(p.no_local_internal for p in pieces.values()),
        no_local_external=sum(p.no_local_external for p in pieces.values()),
        options=opts,
        services=services,
        keyed=keyed,
        pieces=pieces,
        top=_top_chains(out),
        service_decls=tuple(decls),
        service_rules=tuple(rules),
    )


def _piece(svc: ServicePortInfo, endpoints: tuple[EndpointInfo, ...], opts: _Options) -> Piece:
    entry, chains = _Out(), _Out()
    plan = _write_service(entry, chains, svc, endpoints, opts)
    return Piece(
        svc=svc,
        endpoints=endpoints,
        filter_entry=tuple(entry.filter_rules),
        nat_entry=tuple(entry.nat_rules),
        chains=tuple(decl[1:].split(" ", 1)[0] for decl in chains.nat_chains),
        chain_decls=tuple(chains.nat_chains),
        chain_rules=tuple(chains.nat_rules),
        no_local_internal=plan.cats.has_any and not plan.has_internal,
        no_local_external=plan.cats.has_any and not plan.has_external,
    )


def _top_chains(out: _Out) -> dict[tuple[str, str], tuple[str, ...]]:
    """The top-level chains' rules, by chain, in the order the restore appends them."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for table, declared, lines in (
        ("filter", out.filter_chains, out.filter_rules),
        ("nat", out.nat_chains[: len(NAT_TOP)], out.nat_rules),
    ):
        for decl in declared:
            grouped[(table, decl[1:].split(" ", 1)[0])] = []
        for line in lines:
            key = (table, line.split(" ", 2)[1])
            if key in grouped:
                grouped[key].append(line)
    return {key: tuple(lines) for key, lines in grouped.items()}


def _write_head(out: _Out, mark: str, localhost_node_ports: bool) -> None:
    for chain in (SERVICES, EXTERNAL_SERVICES, FORWARD, NODEPORTS, PROXY_FIREWALL):
        out.filter_chains.append(f":{chain} - [0:0]")
    for chain in NAT_TOP:
        out.nat_chain(chain)
    out.nat_rules += [
        f"-A {POSTROUTING} -m mark ! --mark {mark}/{mark} -j RETURN",
        f"-A {POSTROUTING} -j MARK --xor-mark {mark}",
        f"-A {POSTROUTING} -m comment --comment "
        f"{_q('kubernetes service traffic requiring SNAT')} -j MASQUERADE --random-fully",
        f"-A {MARK_MASQ} -j MARK --or-mark {mark}",
    ]
    if localhost_node_ports:
        out.filter_chains.append(f":{KUBELET_FIREWALL} - [0:0]")
        out.filter_rules.append(
            f"-A {KUBELET_FIREWALL} -m comment --comment "
            f"{_q('block incoming localnet connections')} -d 127.0.0.0/8 ! -s 127.0.0.0/8 "
            "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"
        )


def _write_tail(
    out: _Out,
    mark: str,
    node_port_addresses: Sequence[str] | None,
    localhost_node_ports: bool,
    conntrack_tcp_liberal: bool,
) -> None:
    comment = _q("kubernetes service nodeports; NOTE: this must be the last rule in this chain")
    head = f"-A {SERVICES} -m comment --comment {comment}"
    if node_port_addresses is None:
        local = "" if localhost_node_ports else " ! -d 127.0.0.0/8"
        out.nat_rules.append(f"{head} -m addrtype --dst-type LOCAL{local} -j {NODEPORTS}")
    else:
        for ip in node_port_addresses:
            if ipaddress.ip_address(ip).is_loopback and not localhost_node_ports:
                continue
            out.nat_rules.append(f"{head} -d {ip} -j {NODEPORTS}")
    if not conntrack_tcp_liberal:
        out.filter_rules.append(f"-A {FORWARD} -m conntrack --ctstate INVALID -j DROP")
    out.filter_rules += [
        f"-A {FORWARD} -m comment --comment {_q('kubernetes forwarding rules')} "
        f"-m mark --mark {mark}/{mark} -j ACCEPT",
        f"-A {FORWARD} -m comment --comment {_q('kubernetes forwarding conntrack rule')} "
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    """The per-Service-port decisions of syncProxyRules, computed once."""

    svc: ServicePortInfo
    cats: Categories
    proto: str
    name: str
    cluster_chain: str
    local_chain: str
    internal_chain: str
    external_policy_chain: str
    ext_chain: str
    fw_chain: str
    has_internal: bool
    has_external: bool
    uses_fw: bool
    internal_filter: tuple[str, str] | None
    external_filter: tuple[str, str] | None


def _plan(svc: ServicePortInfo, endpoints: Sequence[EndpointInfo]) -> _Plan:
    cats = categorize(svc, endpoints)
    proto = svc.protocol.lower()
    name = svc.key
    cluster_chain = names.service_chain(name, proto)
    local_chain = names.local_policy_chain(name, proto)
    has_internal = cats.has_any and not (svc.internal_traffic_local and not cats.local)
    has_external = cats.has_any and not (svc.external_traffic_local and not cats.local)
    no_local = ("DROP", _q(f"{name} has no local endpoints"))
    internal_filter: tuple[str, str] | None
    external_filter: tuple[str, str] | None
    if not cats.has_any:
        internal_filter = external_filter = ("REJECT", _q(f"{name} has no endpoints"))
    else:
        internal_filter = None if has_internal else no_local
        external_filter = None if has_external else no_local
    return _Plan(
        svc=svc,
        cats=cats,
        proto=proto,
        name=name,
        cluster_chain=cluster_chain,
        local_chain=local_chain,
        internal_chain=local_chain if svc.internal_traffic_local else cluster_chain,
        external_policy_chain=local_chain if svc.external_traffic_local else cluster_chain,
        ext_chain=names.external_chain(name, proto),
        fw_chain=names.firewall_chain(name, proto),
        has_internal=has_internal,
        has_external=has_external,
        uses_fw=cats.has_any and bool(svc.load_balancer_ips and svc.load_balancer_source_ranges),
        internal_filter=internal_filter,
        external_filter=external_filter,
    )


def _write_service(
    out: _Out,
    chains: _Out,
    svc: ServicePortInfo,
    endpoints: Sequence[EndpointInfo],
    opts: _Options,
) -> _Plan:
    """Entry rules into `out`; the Service's own chains into `chains` (`out`, or the discard)."""
    plan = _plan(svc, endpoints)
    _write_entry_rules(out, plan)
    _write_internal_masquerade(chains, plan, opts)
    if plan.cats.has_any and svc.externally_accessible:
        _write_external_chain(chains, plan, opts)
    if plan.uses_fw:
        _write_firewall_chain(chains, plan, opts)
    if plan.cats.cluster and svc.uses_cluster_endpoints:
        chains.nat_chain(plan.cluster_chain)
        _write_balancing(chains, plan, plan.cluster_chain, plan.cats.cluster, opts)
    if plan.cats.local and svc.uses_local_endpoints:
        chains.nat_chain(plan.local_chain)
        _write_balancing(chains, plan, plan.local_chain, plan.cats.local, opts)
    for ep in plan.cats.reachable:
        _write_endpoint_chain(chains, plan, ep, opts)
    return plan


def _write_entry_rules(out: _Out, plan: _Plan) -> None:
    svc, name = plan.svc, plan.name
    match = f"-m {plan.proto} -p {plan.proto}"
    if plan.internal_filter is None:
        out.nat_rules.append(
            f"-A {SERVICES} -m comment --comment {_q(f'{name} cluster IP')} {match} "
            f"-d {svc.cluster_ip} --dport {svc.port} -j {plan.internal_chain}"
        )
    else:
        target, comment = plan.internal_filter
        out.filter_rules.append(
            f"-A {SERVICES} -m comment --comment {comment} {match} "
            f"-d {svc.cluster_ip} --dport {svc.port} -j {target}"
        )
    ext = plan.external_filter
    for ip in svc.external_ips:
        if plan.cats.has_any:
            out.nat_rules.append(
                f"-A {SERVICES} -m comment --comment {_q(f'{name} external IP')} {match} "
                f"-d {ip} --dport {svc.port} -j {plan.ext_chain}"
            )
        if ext is not None:
            out.filter_rules.append(
                f"-A {EXTERNAL_SERVICES} -m comment --comment {ext[1]} {match} "
                f"-d {ip} --dport {svc.port} -j {ext[0]}"
            )
    lb_target = plan.fw_chain if plan.uses_fw else plan.ext_chain
    for ip in svc.load_balancer_ips:
        if plan.cats.has_any:
            out.nat_rules.append(
                f"-A {SERVICES} -m comment --comment {_q(f'{name} loadbalancer IP')} {match} "
                f"-d {ip} --dport {svc.port} -j {lb_target}"
            )
        if plan.uses_fw:
            comment = _q(f"{name} traffic not accepted by {plan.fw_chain}")
            out.filter_rules.append(
                f"-A {PROXY_FIREWALL} -m comment --comment {comment} {match} "
                f"-d {ip} --dport {svc.port} -j DROP"
            )
    if ext is not None:
        for ip in svc.load_balancer_ips:
            out.filter_rules.append(
                f"-A {EXTERNAL_SERVICES} -m comment --comment {ext[1]} {match} "
                f"-d {ip} --dport {svc.port} -j {ext[0]}"
            )
    if svc.node_port:
        if plan.cats.has_any:
            out.nat_rules.append(
                f"-A {NODEPORTS} -m comment --comment {name} {match} "
                f"--dport {svc.node_port} -j {plan.ext_chain}"
            )
        if ext is not None:
            out.filter_rules.append(
                f"-A {EXTERNAL_SERVICES} -m comment --comment {ext[1]} "
                f"-m addrtype --dst-type LOCAL {match} --dport {svc.node_port} -j {ext[0]}"
            )
    if svc.health_check_node_port:
        comment = _q(f"{name} health check node port")
        out.filter_rules.append(
            f"-A {NODEPORTS} -m comment --comment {comment} -m tcp -p tcp "
            f"--dport {svc.health_check_node_port} -j ACCEPT"
        )


def _write_internal_masquerade(out: _Out, plan: _Plan, opts: _Options) -> None:
    if not plan.has_internal:
        return
    svc = plan.svc
    head = (
        f"-A {plan.internal_chain} -m comment --comment {_q(f'{plan.name} cluster IP')} "
        f"-m {plan.proto} -p {plan.proto} -d {svc.cluster_ip} --dport {svc.port}"
    )
    if opts.masquerade_all:
        out.nat_rules.append(f"{head} -j {MARK_MASQ}")
    elif opts.cluster_cidr:
        out.nat_rules.append(f"{head} ! -s {opts.cluster_cidr} -j {MARK_MASQ}")


def _write_external_chain(out: _Out, plan: _Plan, opts: _Options) -> None:
    ext, name = plan.ext_chain, plan.name
    out.nat_chain(ext)
    if not plan.svc.external_traffic_local:
        comment = _q(f"masquerade traffic for {name} external destinations")
        out.nat_rules.append(f"-A {ext} -m comment --comment {comment} -j {MARK_MASQ}")
    else:
        if opts.cluster_cidr:
            comment = _q(f"pod traffic for {name} external destinations")
            out.nat_rules.append(
                f"-A {ext} -m comment --comment {comment} -s {opts.cluster_cidr} "
                f"-j {plan.cluster_chain}"
            )
        comment = _q(f"masquerade LOCAL traffic for {name} external destinations")
        out.nat_rules.append(
            f"-A {ext} -m comment --comment {comment} -m addrtype --src-type LOCAL -j {MARK_MASQ}"
        )
        comment = _q(f"route LOCAL traffic for {name} external destinations")
        out.nat_rules.append(
            f"-A {ext} -m comment --comment {comment} -m addrtype --src-type LOCAL "
            f"-j {plan.cluster_chain}"
        )
    if plan.has_external:
        out.nat_rules.append(f"-A {ext} -j {plan.external_policy_chain}")


def _write_firewall_chain(out: _Out, plan: _Plan, opts: _Options) -> None:
    fw, svc = plan.fw_chain, plan.svc
    out.nat_chain(fw)
    head = f"-A {fw} -m comment --comment {_q(f'{plan.name} loadbalancer IP')}"
    allow_from_node = False
    for cidr in svc.load_balancer_source_ranges:
        out.nat_rules.append(f"{head} -s {cidr} -j {plan.ext_chain}")
        if opts.node_ip and ipaddress.ip_address(opts.node_ip) in ipaddress.ip_network(cidr):
            allow_from_node = True
    if allow_from_node:
        for ip in svc.load_balancer_ips:
            out.nat_rules.append(f"{head} -s {ip} -j {plan.ext_chain}")
    comment = _q(f"other traffic to {plan.name} will be dropped by KUBE-PROXY-FIREWALL")
    out.nat_rules.append(f"-A {fw} -m comment --comment {comment}")


def _comment(opts: _Options, text: str) -> str:
    return "" if opts.large else f" -m comment --comment {text}"


def _sep(plan: _Plan, ep: EndpointInfo) -> str:
    return names.endpoint_chain(plan.name, plan.proto, str(ep))


def _write_balancing(
    out: _Out, plan: _Plan, chain: str, endpoints: list[EndpointInfo], opts: _Options
) -> None:
    timeout = plan.svc.session_affinity_timeout
    if timeout is not None:
        for ep in endpoints:
            sep = _sep(plan, ep)
            out.nat_rules.append(
                f"-A {chain}{_comment(opts, _q(f'{plan.name} -> {ep}'))} -m recent --name {sep} "
                f"--rcheck --seconds {timeout} --reap -j {sep}"
            )
    n = len(endpoints)
    for i, ep in enumerate(endpoints):
        stat = f" -m statistic --mode random --probability {1.0 / (n - i):0.10f}"
        out.nat_rules.append(
            f"-A {chain}{_comment(opts, _q(f'{plan.name} -> {ep}'))}"
            f"{stat if i < n - 1 else ''} -j {_sep(plan, ep)}"
        )


def _write_endpoint_chain(out: _Out, plan: _Plan, ep: EndpointInfo, opts: _Options) -> None:
    sep = _sep(plan, ep)
    out.nat_chain(sep)
    head = f"-A {sep}{_comment(opts, plan.name)}"
    out.nat_rules.append(f"{head} -s {ep.ip} -j {MARK_MASQ}")
    affinity = "" if plan.svc.session_affinity_timeout is None else f" -m recent --name {sep} --set"
    out.nat_rules.append(
        f"{head}{affinity} -m {plan.proto} -p {plan.proto} -j DNAT --to-destination {ep}"
    )
