"""kube-proxy's iptables mode: chain names, the pure `iptables-restore` renderer, base jumps."""

from kubesvc.proxy.iptables.names import (
    endpoint_chain,
    external_chain,
    firewall_chain,
    local_policy_chain,
    port_proto_hash,
    service_chain,
)
from kubesvc.proxy.iptables.render import base_chains, base_rules, categorize, render

__all__ = [
    "base_chains",
    "base_rules",
    "categorize",
    "endpoint_chain",
    "external_chain",
    "firewall_chain",
    "local_policy_chain",
    "port_proto_hash",
    "render",
    "service_chain",
]
