"""The iptables rules of kube-proxy's userspace mode, as `iptables-restore --noflush` input.

Pure. The userspace proxy listens on one random "proxy port" per Service port and steers the
Service's addresses to it with NAT rules in five chains (the chain names, hooks, comments and
rule shapes of the old `pkg/proxy/userspace` proxier):

- nat `KUBE-PORTALS-CONTAINER`, jumped to first from PREROUTING (traffic from pods and other
  machines): `-d VIP/32 -p tcp -m comment --comment "ns/svc:port" -m tcp --dport PORT
  -j REDIRECT --to-ports PROXYPORT` (REDIRECT sends it to the address of the interface it came
  in on, where the proxy, bound to 0.0.0.0, accepts it; bound to one address it is a DNAT there);
- nat `KUBE-PORTALS-HOST`, jumped to first from OUTPUT (traffic made on the node itself): the same
  match with `-j DNAT --to-destination NODE_IP:PROXYPORT` (REDIRECT of local traffic goes to
  127.0.0.1 and the replies come from the wrong address, so the node IP is used);
- external IPs: from pods only when the packet did not come in over a bridge port
  (`-m physdev ! --physdev-is-in`) or is for a local address (`-m addrtype --dst-type LOCAL`), and
  from the node only for a local address; load-balancer IPs like the cluster IP;
- NodePorts: nat `KUBE-NODEPORT-CONTAINER` / `KUBE-NODEPORT-HOST`, jumped to last from
  PREROUTING / OUTPUT for local destinations only (`--dst-type LOCAL`, which is what makes
  `curl localhost:NODEPORT` on a node work), and filter `KUBE-NODEPORT-NON-LOCAL` (from INPUT)
  accepting new connections to the proxy port past a default-deny firewall.

Each sync rewrites the five chains whole (`:CHAIN - [0:0]` flushes them), so a removed Service's
rules go with the next sync. Chains and rules come out in the order `iptables-save` prints them
(chains sorted by name, each chain's rules by Service port key) so the output compares line by
line with a node's real `iptables-save`. `base_rules()` gives the jump rules into the built-in
chains (kube-proxy ensures those outside the restore); `proxy_ports_from_saved()` reads the proxy
ports back out of `iptables-save` text (for `kubesvc rules` on a live node).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from kubesvc.proxy.model import ServicePortInfo

CONTAINER_PORTALS = "KUBE-PORTALS-CONTAINER"
HOST_PORTALS = "KUBE-PORTALS-HOST"
CONTAINER_NODEPORTS = "KUBE-NODEPORT-CONTAINER"
HOST_NODEPORTS = "KUBE-NODEPORT-HOST"
NON_LOCAL_NODEPORTS = "KUBE-NODEPORT-NON-LOCAL"
NAT_CHAINS = (CONTAINER_NODEPORTS, HOST_NODEPORTS, CONTAINER_PORTALS, HOST_PORTALS)
FILTER_CHAINS = (NON_LOCAL_NODEPORTS,)
PROTOCOLS = ("TCP", "UDP")  # the userspace proxy never handled SCTP

_PORTALS_COMMENT = "handle ClusterIPs; NOTE: this must be before the NodePort rules"
_NODEPORTS_COMMENT = "handle service NodePorts; NOTE: this must be the last rule in the chain"
_NON_LOCAL_COMMENT = "Ensure that non-local NodePort traffic can flow"
_LOCAL = ("-m", "addrtype", "--dst-type", "LOCAL")
# (table, built-in chain, -I first / -A last, extra match, comment, our chain)
_JUMPS: tuple[tuple[str, str, str, tuple[str, ...], str, str], ...] = (
    ("nat", "PREROUTING", "-I", (), _PORTALS_COMMENT, CONTAINER_PORTALS),
    ("nat", "OUTPUT", "-I", (), _PORTALS_COMMENT, HOST_PORTALS),
    ("nat", "PREROUTING", "-A", _LOCAL, _NODEPORTS_COMMENT, CONTAINER_NODEPORTS),
    ("nat", "OUTPUT", "-A", _LOCAL, _NODEPORTS_COMMENT, HOST_NODEPORTS),
    ("filter", "INPUT", "-I", (), _NON_LOCAL_COMMENT, NON_LOCAL_NODEPORTS),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Portal:
    """One Service port and the local port its proxy listens on."""

    service: ServicePortInfo
    proxy_port: int


def base_chains() -> list[tuple[str, str]]:
    """(table, chain) pairs to create (`iptables -t T -N C`) before the jump rules."""
    return [(table, chain) for table, _, _, _, _, chain in _JUMPS]


def base_rules() -> list[list[str]]:
    """The jump rules into the built-in chains, as `iptables` argv (`-I` puts one first)."""
    out = []
    for table, builtin, op, match, comment, chain in _JUMPS:
        argv = ["iptables", "-w", "-t", table, op, builtin, *match]
        out.append([*argv, "-m", "comment", "--comment", comment, "-j", chain])
    return out


def _match(
    svc: ServicePortInfo, ip: str | None, port: int, *, physdev: bool = False, local: bool = False
) -> str:
    proto = svc.protocol.lower()
    parts = [f"-d {ip}/32"] if ip else []
    parts.append(f'-p {proto} -m comment --comment "{svc.key}" -m {proto} --dport {port}')
    if physdev:
        parts.append("-m physdev ! --physdev-is-in")
    if local:
        parts.append(" ".join(_LOCAL))
    return " ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Targets:
    container: str
    host: str


def _targets(portal: Portal, host_ip: str, listen_ip: str) -> _Targets:
    if listen_ip in ("0.0.0.0", ""):
        container = f"-j REDIRECT --to-ports {portal.proxy_port}"
        return _Targets(
            container=container, host=f"-j DNAT --to-destination {host_ip}:{portal.proxy_port}"
        )
    dnat = f"-j DNAT --to-destination {listen_ip}:{portal.proxy_port}"
    return _Targets(container=dnat, host=dnat)


def _portal_rules(portal: Portal, to: _Targets) -> dict[str, list[str]]:
    """Rules by chain for one Service port, in the order kube-proxy's openPortal added them."""
    svc = portal.service
    rules: dict[str, list[str]] = {chain: [] for chain in (*NAT_CHAINS, *FILTER_CHAINS)}

    def add(chain: str, match: str, target: str) -> None:
        rules[chain].append(f"-A {chain} {match} {target}")

    for ip in (svc.cluster_ip, *svc.load_balancer_ips):
        add(CONTAINER_PORTALS, _match(svc, ip, svc.port), to.container)
        add(HOST_PORTALS, _match(svc, ip, svc.port), to.host)
    for ip in svc.external_ips:
        add(CONTAINER_PORTALS, _match(svc, ip, svc.port, physdev=True), to.container)
        add(CONTAINER_PORTALS, _match(svc, ip, svc.port, local=True), to.container)
        add(HOST_PORTALS, _match(svc, ip, svc.port, local=True), to.host)
    if svc.node_port:
        add(CONTAINER_NODEPORTS, _match(svc, None, svc.node_port), to.container)
        add(HOST_NODEPORTS, _match(svc, None, svc.node_port), to.host)
        add(
            NON_LOCAL_NODEPORTS,
            _match(svc, None, portal.proxy_port),
            "-m state --state NEW -j ACCEPT",
        )
    return rules


def render(portals: Iterable[Portal], *, host_ip: str, listen_ip: str = "0.0.0.0") -> str:
    """The full userspace rule set for these portals (see the module docstring)."""
    chains: dict[str, list[str]] = {c: [] for c in (*NAT_CHAINS, *FILTER_CHAINS)}
    ordered = sorted(portals, key=lambda p: (p.service.key, p.service.protocol))
    for portal in ordered:
        if portal.service.protocol not in PROTOCOLS:
            continue
        for chain, lines in _portal_rules(portal, _targets(portal, host_ip, listen_ip)).items():
            chains[chain] += lines
    out = ["*filter"]
    out += [f":{c} - [0:0]" for c in sorted(FILTER_CHAINS)]
    out += [line for c in sorted(FILTER_CHAINS) for line in chains[c]]
    out += ["COMMIT", "*nat"]
    out += [f":{c} - [0:0]" for c in sorted(NAT_CHAINS)]
    out += [line for c in sorted(NAT_CHAINS) for line in chains[c]]
    out.append("COMMIT")
    return "\n".join(out) + "\n"


def proxy_ports_from_saved(saved: str) -> dict[tuple[str, str], int]:
    """(Service port key, protocol) → proxy port, from the portal rules in `iptables-save`."""
    found: dict[tuple[str, str], int] = {}
    for line in saved.splitlines():
        if not line.startswith((f"-A {CONTAINER_PORTALS} ", f"-A {HOST_PORTALS} ")):
            continue
        words = shlex.split(line)
        opts = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i].startswith("-")}
        key, proto = opts.get("--comment"), opts.get("-p", "").upper()
        port = opts.get("--to-ports") or opts.get("--to-destination", "").rpartition(":")[2]
        if key and proto and port.isdigit():
            found.setdefault((key, proto), int(port))
    return found
