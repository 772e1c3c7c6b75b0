"""What kube-proxy keeps of Services and EndpointSlices: one record per Service port and endpoint.

Pure. `service_ports_from(service)` cuts a Kubernetes JSON Service down to one `ServicePortInfo`
per `spec.ports` entry, the way kube-proxy's `newBaseServiceInfo` does for the IPv4 family:
headless (`clusterIP: None` or empty) and ExternalName Services give nothing; external IPs,
load-balancer ingress IPs (only for `type: LoadBalancer`, only `ipMode` VIP) and source ranges
are kept for IPv4; the ClientIP affinity timeout defaults to 10800 s; traffic policies are
reduced to two booleans (`externalTrafficPolicy: Local` only counts when the Service is
reachable from outside, i.e. NodePort, LoadBalancer or with external IPs).

`endpoints_from(slices, service_port, node)` reads the EndpointSlices of that Service (label
`kubernetes.io/service-name`, `addressType: IPv4`), takes the slice port whose name equals the
Service port's name, and gives one `EndpointInfo` per endpoint address (the first address only,
as kube-proxy), with `ready` (unset means true), `serving` (unset means true), `terminating`
(unset means false) and `is_local` (its `nodeName` is this node). Endpoints are de-duplicated by
"ip:port" (a ready copy wins) and sorted by that string, which is the order the rules use.
`endpoints_by_port(slices, node)` does the same for every port of one Service's slices at once,
which is what the change tracker keeps per Service.

`categorize(service_port, endpoints)` is upstream's CategorizeEndpoints without topology hints:
the ready endpoints (else the serving-and-terminating ones) for Cluster policy, the local ones
for Local policy, and which of them this node can reach; every mode uses it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_AFFINITY_TIMEOUT = 10800
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServicePortInfo:
    """One port of one Service, as kube-proxy programs it."""

    namespace: str
    name: str
    port_name: str
    protocol: str
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_ips: tuple[str, ...] = ()
    load_balancer_source_ranges: tuple[str, ...] = ()
    session_affinity_timeout: int | None = None
    external_traffic_local: bool = False
    internal_traffic_local: bool = False
    health_check_node_port: int = 0

    @property
    def key(self) -> str:
        """The ServicePortName string: `namespace/name:port` (no `:` for an unnamed port)."""
        suffix = f":{self.port_name}" if self.port_name else ""
        return f"{self.namespace}/{self.name}{suffix}"

    @property
    def externally_accessible(self) -> bool:
        return bool(self.node_port or self.external_ips or self.load_balancer_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        external_cluster = self.externally_accessible and not self.external_traffic_local
        return not self.internal_traffic_local or external_cluster

    @property
    def uses_local_endpoints(self) -> bool:
        external_local = self.externally_accessible and self.external_traffic_local
        return self.internal_traffic_local or external_local


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointInfo:
    """One backend address of a Service port."""

    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node_name: str = ""
    is_local: bool = False

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


def _ipv4(values: list[Any]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        try:
            if ipaddress.ip_address(str(value)).version == 4:
                out.append(str(value))
        except ValueError:
            continue
    return tuple(out)


def _ipv4_cidrs(values: list[Any]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        try:
            net = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            continue
        if net.version == 4:
            out.append(str(net))
    return tuple(out)


def _cluster_ip(spec: dict[str, Any]) -> str | None:
    candidates = list(spec.get("clusterIPs") or []) or [spec.get("clusterIP") or ""]
    for ip in _ipv4(candidates):
        return ip
    return None


def service_ports_from(service: dict[str, Any]) -> list[ServicePortInfo]:
    """One record per port of a Service; none for headless, ExternalName or IPv6-only ones."""
    spec: dict[str, Any] = service.get("spec") or {}
    svc_type = spec.get("type") or "ClusterIP"
    if svc_type == "ExternalName" or spec.get("clusterIP") in (None, "", "None"):
        return []
    cluster_ip = _cluster_ip(spec)
    if cluster_ip is None:
        return []
    meta: dict[str, Any] = service.get("metadata") or {}
    lb_ips: tuple[str, ...] = ()
    if svc_type == "LoadBalancer":
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        lb_ips = _ipv4(
            [i.get("ip") for i in ingress if i.get("ip") and i.get("ipMode") in (None, "VIP")]
        )
    external_ips = _ipv4(list(spec.get("externalIPs") or []))
    reachable = svc_type in ("NodePort", "LoadBalancer") or bool(spec.get("externalIPs"))
    etp_local = reachable and spec.get("externalTrafficPolicy") == "Local"
    timeout: int | None = None
    if spec.get("sessionAffinity") == "ClientIP":
        config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        timeout = int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)
    health = int(spec.get("healthCheckNodePort") or 0)
    return [
        ServicePortInfo(
            namespace=meta.get("namespace") or "default",
            name=meta.get("name") or "",
            port_name=port.get("name") or "",
            protocol=port.get("protocol") or "TCP",
            cluster_ip=cluster_ip,
            port=int(port["port"]),
            node_port=int(port.get("nodePort") or 0),
            external_ips=external_ips,
            load_balancer_ips=lb_ips,
            load_balancer_source_ranges=_ipv4_cidrs(
                list(spec.get("loadBalancerSourceRanges") or [])
            ),
            session_affinity_timeout=timeout,
            external_traffic_local=etp_local,
            internal_traffic_local=spec.get("internalTrafficPolicy") == "Local",
            health_check_node_port=health if etp_local and svc_type == "LoadBalancer" else 0,
        )
        for port in spec.get("ports") or []
    ]


def _slice_port(slice_: dict[str, Any], port_name: str, protocol: str) -> int | None:
    for port in slice_.get("ports") or []:
        if (port.get("name") or "") == port_name and (port.get("protocol") or "TCP") == protocol:
            value = port.get("port")
            return int(value) if value is not None else None
    return None


def _endpoint(raw: dict[str, Any], port: int, node: str) -> EndpointInfo | None:
    addresses = raw.get("addresses") or []
    if not addresses:
        return None
    conditions: dict[str, Any] = raw.get("conditions") or {}
    ready = conditions.get("ready") is not False
    node_name = raw.get("nodeName") or ""
    return EndpointInfo(
        ip=str(addresses[0]),
        port=port,
        ready=ready,
        serving=conditions.get("serving") is not False,
        terminating=conditions.get("terminating") is True,
        node_name=node_name,
        is_local=bool(node) and node_name == node,
    )


PortKey = tuple[str, str]  # (Service port name, protocol), as EndpointSlice ports name them


def endpoints_by_port(
    slices: list[dict[str, Any]], node: str
) -> dict[PortKey, tuple[EndpointInfo, ...]]:
    """The endpoints of one Service's slices per (port name, protocol), de-duplicated and sorted.

    The slices are taken as they come (the caller picked the Service's own); a Service port
    uses the entry whose key is its `(port_name, protocol)`, as `endpoints_from` does.
    """
    found: dict[PortKey, dict[str, EndpointInfo]] = {}
    for slice_ in slices:
        if slice_.get("addressType") != "IPv4":
            continue
        for port in slice_.get("ports") or []:
            if port.get("port") is None:
                continue
            key = (port.get("name") or "", port.get("protocol") or "TCP")
            bucket = found.setdefault(key, {})
            for raw in slice_.get("endpoints") or []:
                ep = _endpoint(raw, int(port["port"]), node)
                if ep is not None and (str(ep) not in bucket or ep.ready):
                    bucket[str(ep)] = ep
    return {key: tuple(eps[k] for k in sorted(eps)) for key, eps in sorted(found.items())}


def endpoints_from(
    slices: list[dict[str, Any]], service_port: ServicePortInfo, node: str
) -> list[EndpointInfo]:
    """The endpoints of one Service port from its EndpointSlices, de-duplicated and sorted."""
    found: dict[str, EndpointInfo] = {}
    for slice_ in slices:
        meta: dict[str, Any] = slice_.get("metadata") or {}
        labels: dict[str, str] = meta.get("labels") or {}
        if (meta.get("namespace") or "default") != service_port.namespace:
            continue
        if labels.get(SERVICE_NAME_LABEL) != service_port.name:
            continue
        if slice_.get("addressType") != "IPv4":
            continue
        port = _slice_port(slice_, service_port.port_name, service_port.protocol)
        if port is None:
            continue
        for raw in slice_.get("endpoints") or []:
            ep = _endpoint(raw, port, node)
            if ep is not None and (str(ep) not in found or ep.ready):
                found[str(ep)] = ep
    return [found[k] for k in sorted(found)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Categories:
    """Upstream's CategorizeEndpoints result for one Service port: the endpoints Cluster and
    Local traffic policy use, those reachable from this node, and whether any is usable."""

    cluster: list[EndpointInfo]
    local: list[EndpointInfo]
    reachable: list[EndpointInfo]
    has_any: bool


def categorize(svc: ServicePortInfo, endpoints: Sequence[EndpointInfo]) -> Categories:
    """Split endpoints into those used by Cluster and Local policy, as kube-proxy does."""
    cluster: list[EndpointInfo] = []
    has_any = False
    if svc.uses_cluster_endpoints:
        cluster = [ep for ep in endpoints if ep.ready]
        if not cluster:
            cluster = [ep for ep in endpoints if ep.serving and ep.terminating]
        has_any = bool(cluster)
    if not svc.uses_local_endpoints:
        return Categories(cluster=cluster, local=[], reachable=cluster, has_any=has_any)
    usable = [ep for ep in endpoints if ep.ready or (ep.serving and ep.terminating)]
    has_any = has_any or bool(usable)
    local = [ep for ep in endpoints if ep.is_local and ep.ready]
    if not local:
        local = [ep for ep in endpoints if ep.is_local and ep.serving and ep.terminating]
    if not svc.uses_cluster_endpoints:
        return Categories(cluster=cluster, local=local, reachable=local, has_any=has_any)
    merged = {str(ep): ep for ep in [*cluster, *local]}
    reachable = [merged[k] for k in sorted(merged)]
    return Categories(cluster=cluster, local=local, reachable=reachable, has_any=has_any)
