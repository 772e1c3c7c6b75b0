"""The chains kube-proxy hooks into the built-in ones, and its canary chains.

Pure. kube-proxy does not own PREROUTING, OUTPUT and friends, so it never restores them: on a
full sync it ensures each of its top-level chains exists (`iptables -N`) and that a jump to it
sits at the top of the built-in chain (`iptables -C`, else `-I`), as upstream's
`iptablesJumpChains` and `iptablesKubeletJumpChains`. `base_chains()` and `base_rules()` give
those commands as argv lists.

The canary chain `KUBE-PROXY-CANARY` is created empty in mangle, nat and filter; when a check
finds it gone from any of them, something flushed the tables (a firewall reload, `iptables -F`)
and the proxy resyncs everything.
"""

from __future__ import annotations

SERVICES = "KUBE-SERVICES"
EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
NODEPORTS = "KUBE-NODEPORTS"
POSTROUTING = "KUBE-POSTROUTING"
MARK_MASQ = "KUBE-MARK-MASQ"
FORWARD = "KUBE-FORWARD"
PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBELET_FIREWALL = "KUBE-FIREWALL"
CANARY = "KUBE-PROXY-CANARY"
CANARY_TABLES = ("mangle", "nat", "filter")

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
