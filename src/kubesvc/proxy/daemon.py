"""What every proxy mode's daemon shares: the desired state from the caches, and where it serves.

`desired_state(services, slices, node)` is the pure cut of the informers' caches into Service
ports and their endpoints, which `kubesvc rules` and the userspace mode use.
`endpoints_of(node_ip, healthz, metrics)` reads `--healthz-bind-address` and
`--metrics-bind-address`: by default kube-proxy's ports (10256, 10249) on the node's IP, inside
the node's network namespace, so the host reaches them at 172.18.0.x. The iptables mode's daemon
is `iptables.proxier.IptablesProxier`; proxy modes never import each other, only this module.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kubesvc.proxy.healthz import HEALTHZ_PORT
from kubesvc.proxy.metrics import METRICS_PORT
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo, endpoints_from, service_ports_from

Obj = dict[str, Any]


def desired_state(
    services: list[Obj], slices: list[Obj], node: str
) -> tuple[list[ServicePortInfo], dict[str, list[EndpointInfo]]]:
    """What the rules must say, from the informers' caches (pure)."""
    by_service: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    for slice_ in slices:
        meta = slice_.get("metadata") or {}
        name = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if name:
            by_service[(str(meta.get("namespace")), str(name))].append(slice_)
    ports: list[ServicePortInfo] = []
    endpoints: dict[str, list[EndpointInfo]] = {}
    for service in services:
        for port in service_ports_from(service):
            ports.append(port)
            owned = by_service.get((port.namespace, port.name), [])
            endpoints[port.key] = endpoints_from(owned, port, node)
    return ports, endpoints


def bind_address(value: str | None, node_ip: str, port: int) -> tuple[str, int] | None:
    """A `--healthz-bind-address`/`--metrics-bind-address` value: None means the node's IP at
    kube-proxy's port, "" turns the endpoint off, `HOST:PORT` or `HOST` (kube-proxy's port)."""
    if value is None:
        return node_ip, port
    if not value:
        return None
    host, sep, number = value.rpartition(":")
    if not sep:
        return value, port
    if not number.isdigit() or not 0 <= int(number) <= 65535:
        raise ValueError(f"invalid bind address {value!r}: want HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(number)


def endpoints_of(
    node_ip: str, healthz: str | None, metrics: str | None
) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """Where `kubesvc proxy` serves healthz (10256) and metrics (10249)."""
    return bind_address(healthz, node_ip, HEALTHZ_PORT), bind_address(
        metrics, node_ip, METRICS_PORT
    )
