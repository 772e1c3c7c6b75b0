"""What the tracer knows about the cluster's network: nodes, their addresses and routes, pods.

Pure. A node is its name, its interfaces' addresses and its routing table, both read from
`ip -j addr` and `ip -j route` (`NodeNet.from_ip_json`), and its rules (a `RuleSet`). `route(ip)`
is the kernel's choice for a destination: a local address first (all of 127.0.0.0/8 is local),
then the longest matching prefix. The host is its address and the routes `kubesvc up` gave it.
`Network` adds the pods (IP → namespace/name and node) so a destination can be named.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubesvc.proxy.trace.ruleset import RuleSet

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    dst: str  # a CIDR, or "default"
    gateway: str = ""
    dev: str = ""
    prefsrc: str = ""
    local: bool = False

    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.ip_network(
            "0.0.0.0/0" if self.dst == "default" else self.dst, strict=False
        )  # type: ignore[return-value]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeNet:
    name: str
    addresses: tuple[tuple[str, str], ...] = ()  # (device, "ip/prefix")
    routes: tuple[Route, ...] = ()

    @staticmethod
    def from_ip_json(
        name: str, addrs: Sequence[Mapping[str, Any]], routes: Sequence[Mapping[str, Any]]
    ) -> NodeNet:
        addresses = tuple(
            (str(link.get("ifname")), f"{info['local']}/{info.get('prefixlen', 32)}")
            for link in addrs
            for info in link.get("addr_info") or []
            if info.get("family") == "inet" and info.get("local")
        )
        parsed = tuple(
            Route(
                dst=str(r.get("dst") or "default"),
                gateway=str(r.get("gateway") or ""),
                dev=str(r.get("dev") or ""),
                prefsrc=str(r.get("prefsrc") or ""),
            )
            for r in routes
            if r.get("type", "unicast") == "unicast"
        )
        return NodeNet(name=name, addresses=addresses, routes=parsed)

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(address.split("/")[0] for _, address in self.addresses)

    def is_local(self, ip: str) -> bool:
        try:
            return ip in self.ips or ipaddress.ip_address(ip) in LOOPBACK
        except ValueError:
            return False

    def address_on(self, dev: str) -> str:
        return next((a.split("/")[0] for d, a in self.addresses if d == dev), "")

    def route(self, ip: str) -> Route | None:
        if self.is_local(ip):
            return Route(dst=f"{ip}/32", dev="lo", prefsrc=ip, local=True)
        address = ipaddress.ip_address(ip)
        found = [r for r in self.routes if address in r.network()]
        return max(found, key=lambda r: r.network().prefixlen) if found else None

    def source_for(self, route: Route) -> str:
        """The source address the kernel picks for a connection using `route`."""
        return route.prefsrc or self.address_on(route.dev) or (self.ips[0] if self.ips else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeView:
    net: NodeNet
    rules: RuleSet
    ip: str = ""  # the node's InternalIP


@dataclass(frozen=True, slots=True, kw_only=True)
class PodRef:
    namespace: str
    name: str
    node: str
    ip: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    nodes: Mapping[str, NodeView]
    pods: Mapping[str, PodRef] = field(default_factory=dict)  # by pod IP
    host_ip: str = ""
    host_routes: tuple[Route, ...] = ()
    node_cidr: str = ""

    def node_by_ip(self, ip: str) -> str | None:
        return next((name for name, view in self.nodes.items() if view.ip == ip), None)

    def host_route(self, ip: str) -> Route | None:
        address = ipaddress.ip_address(ip)
        found = [r for r in self.host_routes if address in r.network()]
        if self.node_cidr and address in ipaddress.ip_network(self.node_cidr):
            found.append(Route(dst=self.node_cidr))
        return max(found, key=lambda r: r.network().prefixlen) if found else None
