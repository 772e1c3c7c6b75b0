"""Kubernetes JSON builders and the named scenarios the iptables goldens are rendered from."""

from __future__ import annotations

from typing import Any

from kubesvc.proxy.iptables import render
from kubesvc.proxy.model import EndpointInfo, endpoints_from, service_ports_from

NODE = "node-1"
NODE_IP = "172.18.0.2"
CLUSTER_CIDR = "10.244.0.0/16"


def service(
    name: str,
    cluster_ip: str,
    ports: list[dict[str, Any]],
    namespace: str = "default",
    **spec: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ports": ports, **spec},
    }


def endpoint_slice(
    service_name: str,
    ports: list[dict[str, Any]],
    endpoints: list[tuple[str, str]],
    namespace: str = "default",
    **conditions: bool,
) -> dict[str, Any]:
    """One IPv4 slice; `endpoints` are (ip, nodeName) pairs, all with the same conditions."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-abcde",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": ports,
        "endpoints": [
            {"addresses": [ip], "conditions": {"ready": True, **conditions}, "nodeName": node}
            for ip, node in endpoints
        ],
    }


def build(services: list[dict[str, Any]], slices: list[dict[str, Any]], **options: Any) -> str:
    """Services and slices through the model into `render`, as the proxy will do."""
    ports = [sp for svc in services for sp in service_ports_from(svc)]
    eps: dict[str, list[EndpointInfo]] = {sp.key: endpoints_from(slices, sp, NODE) for sp in ports}
    options.setdefault("node_ip", NODE_IP)
    options.setdefault("cluster_cidr", CLUSTER_CIDR)
    return render(ports, eps, **options)


HTTP = [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}]
HTTP_EP = [{"name": "http", "protocol": "TCP", "port": 8080}]
THREE = [("10.244.1.5", "node-1"), ("10.244.2.5", "node-2"), ("10.244.3.5", "node-3")]


def _nodeport(**spec: Any) -> dict[str, Any]:
    ports = [{**HTTP[0], "nodePort": 30080}]
    return service("web", "10.96.0.20", ports, type="NodePort", **spec)


SCENARIOS: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]] = {
    "clusterip-1": (
        [service("web", "10.96.0.10", HTTP)],
        [endpoint_slice("web", HTTP_EP, THREE[:1])],
        {},
    ),
    "clusterip-3": (
        [service("web", "10.96.0.10", HTTP)],
        [endpoint_slice("web", HTTP_EP, THREE)],
        {},
    ),
    "no-endpoints": (
        [
            service("web", "10.96.0.10", HTTP, externalIPs=["192.0.2.10"]),
            _nodeport() | {"metadata": {"name": "np", "namespace": "default"}},
        ],
        [],
        {},
    ),
    "nodeport": ([_nodeport()], [endpoint_slice("web", HTTP_EP, THREE[:2])], {}),
    "affinity": (
        [
            service(
                "web",
                "10.96.0.10",
                HTTP,
                sessionAffinity="ClientIP",
                sessionAffinityConfig={"clientIP": {"timeoutSeconds": 10800}},
            )
        ],
        [endpoint_slice("web", HTTP_EP, THREE[:2])],
        {},
    ),
    "etp-local": (
        [_nodeport(externalTrafficPolicy="Local")],
        [endpoint_slice("web", HTTP_EP, THREE)],
        {},
    ),
    "itp-local": (
        [service("web", "10.96.0.10", HTTP, internalTrafficPolicy="Local")],
        [endpoint_slice("web", HTTP_EP, THREE[1:])],
        {},
    ),
    "udp": (
        [service("dns", "10.96.0.53", [{"name": "dns", "protocol": "UDP", "port": 53}])],
        [endpoint_slice("dns", [{"name": "dns", "protocol": "UDP", "port": 53}], THREE[:2])],
        {},
    ),
    "loadbalancer-source-ranges": (
        [
            service(
                "lb",
                "10.96.0.30",
                [{**HTTP[0], "nodePort": 30081}],
                type="LoadBalancer",
                loadBalancerSourceRanges=["172.18.0.0/16"],
            )
            | {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.50"}]}}}
        ],
        [endpoint_slice("lb", HTTP_EP, THREE[:1], namespace="default")],
        {},
    ),
    "masquerade-all-nodeport-addresses": (
        [_nodeport()],
        [endpoint_slice("web", HTTP_EP, THREE[:1])],
        {"masquerade_all": True, "node_port_addresses": ["172.18.0.2"]},
    ),
}


def scenario(name: str) -> str:
    services, slices, options = SCENARIOS[name]
    return build(services, slices, **options)
