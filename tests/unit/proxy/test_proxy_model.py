"""Services and EndpointSlices cut down to kube-proxy's records, and the chain names."""

from __future__ import annotations

from typing import Any

import pytest
from proxy_scenarios import HTTP, HTTP_EP, endpoint_slice, service

from kubesvc.proxy.iptables import categorize, endpoint_chain, names, service_chain
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo, endpoints_from, service_ports_from


def test_seed_002_chain_names() -> None:
    assert service_chain("default/hostnames:default", "TCP") == "KUBE-SVC-ODX2UBAZM7RQWOIU"
    assert [
        endpoint_chain("default/hostnames:default", "tcp", ep)
        for ep in ("10.168.0.10:9376", "10.168.1.12:9376", "10.168.2.21:9376")
    ] == ["KUBE-SEP-UBFECYXO7WGMGUOV", "KUBE-SEP-SGM2NWFJJ2FS6TH7", "KUBE-SEP-7QEF2MJOSPQ44GT7"]


def test_other_chains_share_the_service_hash() -> None:
    h = names.port_proto_hash("default/hostnames:default", "tcp")
    assert h == "ODX2UBAZM7RQWOIU"
    assert names.external_chain("default/hostnames:default", "tcp") == f"KUBE-EXT-{h}"
    assert names.firewall_chain("default/hostnames:default", "tcp") == f"KUBE-FW-{h}"
    assert names.local_policy_chain("default/hostnames:default", "tcp") == f"KUBE-SVL-{h}"
    assert names.is_service_chain("KUBE-SEP-X") and not names.is_service_chain("KUBE-SERVICES")


@pytest.mark.parametrize(
    ("spec", "count"),
    [
        ({"clusterIP": "None", "clusterIPs": ["None"]}, 0),
        ({"type": "ExternalName", "externalName": "x.example", "clusterIP": ""}, 0),
        ({"clusterIP": "fd00::1", "clusterIPs": ["fd00::1"]}, 0),
        ({}, 1),
    ],
)
def test_headless_externalname_and_ipv6_only_services_are_skipped(
    spec: dict[str, Any], count: int
) -> None:
    svc = service("web", "10.96.0.10", HTTP)
    svc["spec"].update(spec)
    assert len(service_ports_from(svc)) == count


def test_service_port_fields() -> None:
    svc = service(
        "lb",
        "10.96.0.30",
        [{"name": "", "protocol": "UDP", "port": 53, "nodePort": 30053}],
        namespace="kube-system",
        type="LoadBalancer",
        externalIPs=["192.0.2.1", "2001:db8::1"],
        externalTrafficPolicy="Local",
        internalTrafficPolicy="Local",
        healthCheckNodePort=31000,
        sessionAffinity="ClientIP",
        loadBalancerSourceRanges=[" 10.0.0.0/8 "],
    )
    svc["status"] = {
        "loadBalancer": {
            "ingress": [
                {"ip": "192.0.2.9"},
                {"ip": "192.0.2.8", "ipMode": "Proxy"},
                {"hostname": "lb.example"},
            ]
        }
    }
    assert service_ports_from(svc) == [
        ServicePortInfo(
            namespace="kube-system",
            name="lb",
            port_name="",
            protocol="UDP",
            cluster_ip="10.96.0.30",
            port=53,
            node_port=30053,
            external_ips=("192.0.2.1",),
            load_balancer_ips=("192.0.2.9",),
            load_balancer_source_ranges=("10.0.0.0/8",),
            session_affinity_timeout=10800,
            external_traffic_local=True,
            internal_traffic_local=True,
            health_check_node_port=31000,
        )
    ]
    assert service_ports_from(svc)[0].key == "kube-system/lb"


def test_external_traffic_policy_local_needs_external_reachability() -> None:
    (sp,) = service_ports_from(service("web", "10.96.0.10", HTTP, externalTrafficPolicy="Local"))
    assert not sp.external_traffic_local and sp.key == "default/web:http"
    assert sp.uses_cluster_endpoints and not sp.uses_local_endpoints


def test_endpoints_conditions_dedup_sort_and_locality() -> None:
    (sp,) = service_ports_from(service("web", "10.96.0.10", HTTP))
    slices = [
        endpoint_slice("web", HTTP_EP, [("10.244.2.5", "node-2"), ("10.244.10.5", "node-1")]),
        endpoint_slice("web", HTTP_EP, [("10.244.2.5", "node-2")], ready=False),
        endpoint_slice("web", HTTP_EP, [("10.244.3.5", "node-3")], ready=False, terminating=True),
        endpoint_slice("other", HTTP_EP, [("10.244.9.9", "node-1")]),
        endpoint_slice(
            "web", [{"name": "metrics", "protocol": "TCP", "port": 9090}], [("10.244.8.8", "n")]
        ),
        endpoint_slice("web", HTTP_EP, [("10.244.7.7", "node-1")], namespace="other"),
    ]
    slices[0]["endpoints"].append({"addresses": [], "conditions": {}})
    assert endpoints_from(slices, sp, "node-1") == [
        EndpointInfo(ip="10.244.10.5", port=8080, node_name="node-1", is_local=True),
        EndpointInfo(ip="10.244.2.5", port=8080, node_name="node-2"),
        EndpointInfo(ip="10.244.3.5", port=8080, ready=False, terminating=True, node_name="node-3"),
    ]


def _sp(**kw: Any) -> ServicePortInfo:
    base: dict[str, Any] = dict(
        namespace="ns", name="s", port_name="", protocol="TCP", cluster_ip="10.96.0.1", port=80
    )
    return ServicePortInfo(**(base | kw))


def _ep(ip: str, *, ready: bool = True, local: bool = False, term: bool = False) -> EndpointInfo:
    return EndpointInfo(ip=ip, port=80, ready=ready, terminating=term, is_local=local)


def test_categorize_falls_back_to_serving_terminating_endpoints() -> None:
    eps = [_ep("10.0.0.1", ready=False, term=True), _ep("10.0.0.2", ready=False)]
    cats = categorize(_sp(), eps)
    assert [e.ip for e in cats.cluster] == ["10.0.0.1"] and cats.has_any


def test_categorize_local_policies() -> None:
    eps = [_ep("10.0.0.2"), _ep("10.0.0.1", local=True)]
    itp = categorize(_sp(internal_traffic_local=True), eps)
    assert itp.cluster == [] and [e.ip for e in itp.local] == ["10.0.0.1"]
    assert itp.reachable == itp.local
    etp = categorize(_sp(node_port=30000, external_traffic_local=True), eps)
    assert [e.ip for e in etp.reachable] == ["10.0.0.1", "10.0.0.2"]
    none_local = categorize(_sp(internal_traffic_local=True), [_ep("10.0.0.2")])
    assert none_local.local == [] and none_local.has_any
