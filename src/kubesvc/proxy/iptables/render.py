"""kube-proxy's iptables rules for a set of Service ports, as `iptables-restore` input.

Pure. `render(services, endpoints, ...)` writes what kube-proxy's `syncProxyRules` writes on a
full sync, in its order and text: a `*filter` section (KUBE-SERVICES, KUBE-EXTERNAL-SERVICES,
KUBE-FORWARD, KUBE-NODEPORTS, KUBE-PROXY-FIREWALL and, with localhost NodePorts, KUBE-FIREWALL)
and a `*nat` section (KUBE-SERVICES, KUBE-NODEPORTS, KUBE-POSTROUTING, KUBE-MARK-MASQ and per
Service port KUBE-SVC-/KUBE-SVL-/KUBE-EXT-/KUBE-FW-/KUBE-SEP- chains), each as chain lines
`:NAME - [0:0]` (which also flush the chain) followed by `-A` rules and `COMMIT`. It is meant for
`iptables-restore --noflush`; deleting stale chains needs the live table and is the applier's job.

Per Service port, in upstream's order: the entry rules (cluster IP, external IPs, load-balancer
IPs, NodePort; or REJECT/DROP in filter when there are no usable endpoints), then the chains: the
cluster-IP masquerade rule (`! -s CLUSTER_CIDR -j KUBE-MARK-MASQ`), KUBE-EXT-, KUBE-FW-, KUBE-SVC-
and KUBE-SVL- (affinity `--rcheck` rules first, then one `-m statistic` rule per endpoint with
probability `%0.10f` of 1/(n-i), the last unconditional) and one KUBE-SEP- per reachable endpoint
(hairpin masquerade, affinity `--set`, DNAT). Which endpoints serve Cluster and Local policy
follows upstream's `CategorizeEndpoints` (ready ones, else serving-and-terminating ones; topology
hints are not used). Services are written sorted by name so the output is stable (upstream walks a
Go map). Above 1000 endpoints per-endpoint comments are dropped, as upstream's large-cluster mode.

`base_rules()` gives the `iptables -I` argv lists that hook these chains into the built-in ones;
kube-proxy ensures them outside the restore because it must not own PREROUTING and friends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kubesvc.proxy.iptables import names
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo

SERVICES = "KUBE-SERVICES"
EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
NODEPORTS = "KUBE-NODEPORTS"
POSTROUTING = "KUBE-POSTROUTING"
MARK_MASQ = "KUBE-MARK-MASQ"
FORWARD = "KUBE-FORWARD"
PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBELET_FIREWALL = "KUBE-FIREWALL"
LARGE_CLUSTER_ENDPOINTS = 1000

# (table, kube-proxy chain, built-in chain, comment, extra match) as upstream's iptablesJumpChains.
_NEW = ("-m", "conntrack", "--ctstate", "NEW")
_JUMPS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("filter", EXTERNAL_SERVICES, "INPUT", "kubernetes externally-visible service portals", _NEW),
    ("filter", EXTERNAL_SERVICES, "FORWARD", "kubernetes externally-visible service portals", _NEW),
    ("filter", NODEPORTS, "INPUT", "kubernetes health check service ports", ()),
    ("filter", SERVICES, "FORWARD", "kubernetes service portals", _NEW),
    ("filter", SERVICES, "OUTPUT", "kubernetes service portals", _NEW),
    ("filter", FORWARD, "FORWARD", "kubernetes forwarding rules", ()),
    ("filter", PROXY_FIREWALL, "INPUT", "kubernetes load balancer firewall", _NEW),
    ("filter", PROXY_FIREWALL, "OUTPUT", "kubernetes load balancer firewall", _NEW),
    ("filter", PROXY_FIREWALL, "FORWARD", "kubernetes load balancer firewall", _NEW),
    ("nat", SERVICES, "OUTPUT", "kubernetes service portals", ()),
    ("nat", SERVICES, "PREROUTING", "kubernetes service portals", ()),
    ("nat", POSTROUTING, "POSTROUTING", "kubernetes postrouting rules", ()),
    ("filter", KUBELET_FIREWALL, "INPUT", "", ()),
    ("filter", KUBELET_FIREWALL, "OUTPUT", "", ()),
)


def base_chains() -> list[tuple[str, str]]:
    """(table, chain) pairs kube-proxy creates (`iptables -t T -N C`) before the jump rules."""
    seen: list[tuple[str, str]] = []
    for table, chain, _, _, _ in _JUMPS:
        if (table, chain) not in seen:
            seen.append((table, chain))
    return seen


def base_rules() -> list[list[str]]:
    """The jump rules kube-proxy ensures at the top of the built-in chains, as `iptables` argv."""
    out: list[list[str]] = []
    for table, chain, builtin, comment, extra in _JUMPS:
        argv = ["iptables", "-w", "-t", table, "-I", builtin, *extra]
        if comment:
            argv += ["-m", "comment", "--comment", comment]
        out.append([*argv, "-j", chain])
    return out


def _q(text: str) -> str:
    return f'"{text}"'


@dataclass(slots=True, kw_only=True)
class _Out:
    """The four line buffers of one sync, as upstream's LineBuffers."""

    filter_chains: list[str] = field(default_factory=list)
    filter_rules: list[str] = field(default_factory=list)
    nat_chains: list[str] = field(default_factory=list)
    nat_rules: list[str] = field(default_factory=list)

    def nat_chain(self, chain: str) -> None:
        self.nat_chains.append(f":{chain} - [0:0]")

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
class _Categories:
    """Upstream's CategorizeEndpoints result for one Service port."""

    cluster: list[EndpointInfo]
    local: list[EndpointInfo]
    reachable: list[EndpointInfo]
    has_any: bool


def categorize(svc: ServicePortInfo, endpoints: Sequence[EndpointInfo]) -> _Categories:
    """Split endpoints into those used by Cluster and Local policy, as kube-proxy does."""
    cluster: list[EndpointInfo] = []
    has_any = False
    if svc.uses_cluster_endpoints:
        cluster = [ep for ep in endpoints if ep.ready]
        if not cluster:
            cluster = [ep for ep in endpoints if ep.serving and ep.terminating]
        has_any = bool(cluster)
    if not svc.uses_local_endpoints:
        return _Categories(cluster=cluster, local=[], reachable=cluster, has_any=has_any)
    usable = [ep for ep in endpoints if ep.ready or (ep.serving and ep.terminating)]
    has_any = has_any or bool(usable)
    local = [ep for ep in endpoints if ep.is_local and ep.ready]
    if not local:
        local = [ep for ep in endpoints if ep.is_local and ep.serving and ep.terminating]
    if not svc.uses_cluster_endpoints:
        return _Categories(cluster=cluster, local=local, reachable=local, has_any=has_any)
    merged = {str(ep): ep for ep in [*cluster, *local]}
    reachable = [merged[k] for k in sorted(merged)]
    return _Categories(cluster=cluster, local=local, reachable=reachable, has_any=has_any)


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
    if node_port_addresses is not None:
        loopback = any(ipaddress.ip_address(ip).is_loopback for ip in node_port_addresses)
        localhost_node_ports = localhost_node_ports and loopback
    mark = f"{1 << masquerade_bit:#x}"
    total = sum(len(endpoints.get(svc.key, ())) for svc in services)
    opts = _Options(
        node_ip=node_ip,
        cluster_cidr=cluster_cidr,
        masquerade_all=masquerade_all,
        mark=mark,
        large=total > LARGE_CLUSTER_ENDPOINTS,
    )
    out = _Out()
    _write_head(out, mark, localhost_node_ports)
    for svc in sorted(services, key=lambda s: (s.key, s.protocol)):
        _write_service(out, svc, endpoints.get(svc.key, ()), opts)
    _write_tail(out, mark, node_port_addresses, localhost_node_ports, conntrack_tcp_liberal)
    return out.text()


def _write_head(out: _Out, mark: str, localhost_node_ports: bool) -> None:
    for chain in (SERVICES, EXTERNAL_SERVICES, FORWARD, NODEPORTS, PROXY_FIREWALL):
        out.filter_chains.append(f":{chain} - [0:0]")
    for chain in (SERVICES, NODEPORTS, POSTROUTING, MARK_MASQ):
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
    cats: _Categories
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
    out: _Out, svc: ServicePortInfo, endpoints: Sequence[EndpointInfo], opts: _Options
) -> None:
    plan = _plan(svc, endpoints)
    _write_entry_rules(out, plan)
    _write_internal_masquerade(out, plan, opts)
    if plan.cats.has_any and svc.externally_accessible:
        _write_external_chain(out, plan, opts)
    if plan.uses_fw:
        _write_firewall_chain(out, plan, opts)
    if plan.cats.cluster and svc.uses_cluster_endpoints:
        out.nat_chain(plan.cluster_chain)
        _write_balancing(out, plan, plan.cluster_chain, plan.cats.cluster, opts)
    if plan.cats.local and svc.uses_local_endpoints:
        out.nat_chain(plan.local_chain)
        _write_balancing(out, plan, plan.local_chain, plan.cats.local, opts)
    for ep in plan.cats.reachable:
        _write_endpoint_chain(out, plan, ep, opts)


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
