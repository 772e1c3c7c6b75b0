"""v1 Endpoints subsets: ready and not-ready addresses, resolved ports, repacking, truncation."""

from __future__ import annotations

from typing import Any

from kubesvc.controllers.endpoints import subsets as eps
from tests.unit.controllers.helpers import pod, service

Obj = dict[str, Any]


def ips(subset: Obj, field: str = "addresses") -> list[str]:
    return [a["ip"] for a in subset.get(field) or []]


def test_seed_002_hostnames() -> None:
    svc = service(
        "hostnames", ports=[{"name": "default", "port": 80, "targetPort": 9376, "protocol": "TCP"}]
    )
    group = [
        pod("hostnames-b", ip="10.244.2.5", node="node-2"),
        pod("hostnames-a", ip="10.244.1.5", node="node-1"),
        pod("hostnames-c", ip="10.244.3.5", node="node-3"),
    ]
    (subset,) = eps.build_subsets(svc, group)
    assert ips(subset) == ["10.244.1.5", "10.244.2.5", "10.244.3.5"]
    assert subset["ports"] == [{"name": "default", "port": 9376, "protocol": "TCP"}]
    assert subset["addresses"][0] == {
        "ip": "10.244.1.5",
        "nodeName": "node-1",
        "targetRef": {
            "kind": "Pod",
            "namespace": "default",
            "name": "hostnames-a",
            "uid": "hostnames-a-uid",
        },
    }
    assert "notReadyAddresses" not in subset


def test_not_ready_pods_are_not_ready_addresses() -> None:
    svc = service()
    group = [
        pod("a", ip="10.0.0.1"),
        pod("b", ip="10.0.0.2", ready=False),
        pod("c", ip="10.0.0.3", phase="Pending", ready=None),
    ]
    (subset,) = eps.build_subsets(svc, group)
    assert ips(subset) == ["10.0.0.1"]
    assert ips(subset, "notReadyAddresses") == ["10.0.0.2", "10.0.0.3"]
    published = service(publishNotReadyAddresses=True)
    (subset,) = eps.build_subsets(published, group)
    assert ips(subset) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_terminating_and_terminal_pods_are_left_out() -> None:
    group = [
        pod("a", ip="10.0.0.1", deleting=True),
        pod("b", ip="10.0.0.2", phase="Succeeded"),
        pod("c", ip=None),
    ]
    assert eps.build_subsets(service(), group) == []
    (subset,) = eps.build_subsets(service(publishNotReadyAddresses=True), group)
    assert ips(subset) == ["10.0.0.1"]


def test_named_ports_group_addresses_by_what_they_serve() -> None:
    svc = service(
        ports=[
            {"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"},
            {"name": "metrics", "port": 9100, "targetPort": 9100, "protocol": "TCP"},
        ]
    )
    web = [{"name": "web", "containerPort": 8080, "protocol": "TCP"}]
    group = [
        pod("a", ip="10.0.0.1", ports=web),
        pod("b", ip="10.0.0.2", ports=web),
        pod("c", ip="10.0.0.3"),
    ]
    subsets = eps.build_subsets(svc, group)
    by_ports = {tuple(p["port"] for p in s["ports"]): ips(s) for s in subsets}
    # a port's subset is the set of addresses serving it: c lacks "web"
    assert by_ports == {
        (8080,): ["10.0.0.1", "10.0.0.2"],
        (9100,): ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
    }
    same = [pod("a", ip="10.0.0.1", ports=web), pod("b", ip="10.0.0.2", ports=web)]
    (subset,) = eps.build_subsets(svc, same)
    assert [(p["name"], p["port"]) for p in subset["ports"]] == [("http", 8080), ("metrics", 9100)]


def test_not_ready_on_one_port_is_not_ready_on_all() -> None:
    address = {"ip": "10.0.0.1", "targetRef": {"uid": "u"}}
    p80 = {"port": 80, "protocol": "TCP"}
    subsets = eps.repack([(address, p80, True), (address, p80, False)])
    assert subsets == [{"notReadyAddresses": [address], "ports": [p80]}]


def test_headless_service_without_ports() -> None:
    svc = service(cluster_ip="None", ports=[])
    (subset,) = eps.build_subsets(svc, [pod("a", ip="10.0.0.1", hostname="a", subdomain="web")])
    assert subset == {
        "addresses": [
            {
                "ip": "10.0.0.1",
                "hostname": "a",
                "nodeName": "node-1",
                "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "a-uid"},
            }
        ]
    }
    assert eps.build_subsets(service(ports=[]), [pod("a")]) == []
    assert eps.desired_labels(svc) == {"service.kubernetes.io/headless": ""}


def test_truncation_keeps_ready_addresses_first() -> None:
    ready = [{"ip": f"10.0.{i // 250}.{i % 250}"} for i in range(900)]
    not_ready = [{"ip": f"10.1.{i // 250}.{i % 250}"} for i in range(300)]
    subsets = [{"addresses": ready, "notReadyAddresses": not_ready, "ports": [{"port": 1}]}]
    assert eps.truncate(subsets)
    assert (len(subsets[0]["addresses"]), len(subsets[0]["notReadyAddresses"])) == (900, 100)
    too_many = [
        {"addresses": [{"ip": str(i)} for i in range(1200)], "notReadyAddresses": [{"ip": "x"}]}
    ]
    assert eps.truncate(too_many)
    assert len(too_many[0]["addresses"]) == 1000 and "notReadyAddresses" not in too_many[0]
    assert not eps.truncate([{"addresses": ready}])


def test_up_to_date_ignores_target_resource_versions_and_headless_label() -> None:
    svc = service(labels={"a": "b"})
    built = eps.build_subsets(svc, [pod("a", ip="10.0.0.1")])
    current = {"metadata": {"labels": {"a": "b"}}, "subsets": built}
    assert eps.up_to_date(current, svc, built)
    current["subsets"][0]["addresses"][0]["targetRef"]["resourceVersion"] = "9"
    current["metadata"]["labels"]["service.kubernetes.io/headless"] = ""
    assert eps.up_to_date(current, svc, eps.build_subsets(svc, [pod("a", ip="10.0.0.1")]))
    assert not eps.up_to_date(current, service(), built)
