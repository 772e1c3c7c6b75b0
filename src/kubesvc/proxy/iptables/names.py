"""kube-proxy's per-Service and per-endpoint chain names.

Pure. A chain name is a prefix plus the first 16 characters of the standard base32 encoding of
the SHA-256 of `servicePortName + protocol` (protocol lower-case, e.g. `default/hostnames:default`
+ `tcp`), or for an endpoint chain of `servicePortName + protocol + "ip:port"`; exactly as
upstream's `portProtoHash` and `servicePortEndpointChainName`, so the names match a real
kube-proxy's (iptables chain names must stay under 29 characters).
"""

from __future__ import annotations

import base64
import hashlib

SVC_PREFIX = "KUBE-SVC-"
SVL_PREFIX = "KUBE-SVL-"
FW_PREFIX = "KUBE-FW-"
EXT_PREFIX = "KUBE-EXT-"
SEP_PREFIX = "KUBE-SEP-"
SERVICE_CHAIN_PREFIXES = (SVC_PREFIX, SVL_PREFIX, SEP_PREFIX, FW_PREFIX, EXT_PREFIX)


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def port_proto_hash(service_port_name: str, protocol: str) -> str:
    """The 16-character hash shared by a Service port's SVC, SVL, FW and EXT chains."""
    return _hash(service_port_name + protocol.lower())


def service_chain(service_port_name: str, protocol: str) -> str:
    """`KUBE-SVC-…`: the endpoints used with Cluster traffic policy."""
    return SVC_PREFIX + port_proto_hash(service_port_name, protocol)


def local_policy_chain(service_port_name: str, protocol: str) -> str:
    """`KUBE-SVL-…`: the node-local endpoints used with Local traffic policy."""
    return SVL_PREFIX + port_proto_hash(service_port_name, protocol)


def firewall_chain(service_port_name: str, protocol: str) -> str:
    """`KUBE-FW-…`: loadBalancerSourceRanges filtering."""
    return FW_PREFIX + port_proto_hash(service_port_name, protocol)


def external_chain(service_port_name: str, protocol: str) -> str:
    """`KUBE-EXT-…`: NodePort, external IP and load-balancer traffic."""
    return EXT_PREFIX + port_proto_hash(service_port_name, protocol)


def endpoint_chain(service_port_name: str, protocol: str, endpoint: str) -> str:
    """`KUBE-SEP-…` for one endpoint, `endpoint` written `ip:port`."""
    return SEP_PREFIX + _hash(service_port_name + protocol.lower() + endpoint)


def is_service_chain(chain: str) -> bool:
    """Whether a chain is one of the per-Service chains kube-proxy owns (and may delete)."""
    return chain.startswith(SERVICE_CHAIN_PREFIXES)
