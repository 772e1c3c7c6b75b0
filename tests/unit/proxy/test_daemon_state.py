"""The proxy's desired state from the informers' caches (pure)."""

from __future__ import annotations

from kubesvc.proxy.daemon import desired_state

SERVICE = {
    "metadata": {"name": "hostnames", "namespace": "default"},
    "spec": {
        "type": "ClusterIP",
        "clusterIP": "10.96.0.50",
        "clusterIPs": ["10.96.0.50"],
        "ports": [{"name": "default", "port": 80, "protocol": "TCP", "targetPort": 9376}],
        "selector": {"app": "hostnames"},
    },
}


def slice_(name: str, ips: list[str], service: str = "hostnames") -> dict:
    return {
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "ports": [{"name": "default", "port": 9376, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": [ip], "conditions": {"ready": True}, "nodeName": "node-1"} for ip in ips
        ],
    }


def test_endpoints_gathered_from_every_slice_of_the_service() -> None:
    slices = [
        slice_("a", ["10.244.2.5"]),
        slice_("b", ["10.244.1.5"]),
        slice_("c", ["9.9.9.9"], "x"),
    ]
    ports, endpoints = desired_state([SERVICE], slices, "node-1")
    assert [p.key for p in ports] == ["default/hostnames:default"]
    found = endpoints["default/hostnames:default"]
    assert [str(e) for e in found] == ["10.244.1.5:9376", "10.244.2.5:9376"]
    assert all(e.is_local for e in found)


def test_headless_and_external_name_services_have_no_rules() -> None:
    headless = {**SERVICE, "spec": {**SERVICE["spec"], "clusterIP": "None", "clusterIPs": ["None"]}}
    external = {
        "metadata": {"name": "ext", "namespace": "default"},
        "spec": {"type": "ExternalName", "externalName": "example.com"},
    }
    ports, endpoints = desired_state([headless, external], [slice_("a", ["10.244.2.5"])], "n")
    assert ports == [] and endpoints == {}
