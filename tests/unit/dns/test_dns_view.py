"""Objects cut down at the edge, the view's indexes, and when its generation moves."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from dns_fixtures import (
    HTTP,
    cluster,
    endpoint,
    endpoint_slice,
    external,
    headless,
    namespace,
    pod,
    port,
    service,
)

from kubesvc.dns.view import (
    Endpoint,
    Port,
    Service,
    Slice,
    View,
    pod_from,
    service_from,
    slice_from,
)


@pytest.mark.parametrize(
    ("obj", "record"),
    [
        (
            service("Web", "NS1", ips=["10.0.0.1"], ports=[port("HTTP", 80, "TCP")]),
            Service(
                namespace="ns1",
                name="web",
                kind="ClusterIP",
                cluster_ips=("10.0.0.1",),
                ports=(Port(name="http", protocol="tcp", port=80),),
            ),
        ),
        (
            {"metadata": {"name": "old"}, "spec": {"clusterIP": "10.0.0.2", "ports": HTTP}},
            Service(
                namespace="default",
                name="old",
                kind="ClusterIP",
                cluster_ips=("10.0.0.2",),
                ports=(Port(name="http", protocol="tcp", port=80),),
            ),
        ),
        (
            service("v6", ips=["fd00:0::0001"], ports=[]),
            Service(namespace="testns", name="v6", kind="ClusterIP", cluster_ips=("fd00::1",)),
        ),
        (
            headless("h", ports=[{"port": 53, "protocol": "UDP"}]),
            Service(
                namespace="testns",
                name="h",
                kind="Headless",
                ports=(Port(name="", protocol="udp", port=53),),
            ),
        ),
        (
            external("e", "Example.COM."),
            Service(namespace="testns", name="e", kind="ExternalName", external_name="example.com"),
        ),
        ({"metadata": {}}, None),
        (
            {"metadata": {"name": "odd"}, "spec": {"clusterIP": "", "ports": [{"port": "x"}, 7]}},
            Service(namespace="default", name="odd", kind="ClusterIP"),
        ),
    ],
)
def test_service_from(obj: dict[str, Any], record: Service | None) -> None:
    assert service_from(obj) == record


def test_slice_from_keeps_ready_ip_endpoints() -> None:
    obj = endpoint_slice(
        "s",
        "svc",
        [
            endpoint("10.0.0.1", hostname="Web-0"),
            endpoint("10.0.0.2", ready=None),
            endpoint("10.0.0.3", ready=False),
            {"addresses": ["not-an-ip", "10.0.0.4"]},
            {"addresses": "garbage"},
            "garbage",
        ],
        ports=[port("http", 8080)],
    )
    assert slice_from(obj) == Slice(
        namespace="testns",
        name="s",
        service="svc",
        ports=(Port(name="http", protocol="tcp", port=8080),),
        endpoints=(
            Endpoint(ip="10.0.0.1", hostname="Web-0"),
            Endpoint(ip="10.0.0.2"),
            Endpoint(ip="10.0.0.4"),
        ),
    )
    assert Endpoint(ip="10.0.0.1", hostname="Web-0").name == "web-0"
    assert Endpoint(ip="fd00::1").name == "fd00--1"


@pytest.mark.parametrize(
    "obj",
    [
        endpoint_slice("s", "svc", [], address_type="FQDN"),
        {"metadata": {"name": "s", "labels": {}}, "addressType": "IPv4"},
        {"metadata": {"labels": {"kubernetes.io/service-name": "svc"}}, "addressType": "IPv4"},
    ],
)
def test_slices_dns_cannot_use(obj: dict[str, Any]) -> None:
    assert slice_from(obj) is None


def test_pod_from() -> None:
    running = pod("p", "10.1.0.5")
    assert pod_from(running) is not None
    assert pod_from(running).ips == ("10.1.0.5",)  # type: ignore[union-attr]
    done = copy.deepcopy(running)
    done["status"]["phase"] = "Succeeded"
    assert pod_from(done).ips == ()  # type: ignore[union-attr]
    deleting = copy.deepcopy(running)
    deleting["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert pod_from(deleting).ips == ()  # type: ignore[union-attr]


def test_indexes() -> None:
    view = cluster()
    assert view.service("testns", "svc1") is not None
    assert [s.name for s in view.services_by_ip("10.0.0.1")] == ["svc1"]
    assert [s.name for s in view.services_by_ip("10::3")] == ["svc-dual"]
    assert [s.name for s in view.slices_of("testns", "hdls1")] == ["hdls1-a", "hdls1-b"]
    assert [s.name for s in view.slices_by_ip("172.0.0.4")] == ["hdls1-a"]
    assert view.slices_by_ip("172.0.0.6") == []  # not ready
    assert [p.name for p in view.pods_by_ip("10.244.1.10")] == ["web-0"]
    assert view.namespace_exists("empty-ns") and not view.namespace_exists("nope")


def test_generation_moves_only_when_what_dns_keeps_changes() -> None:
    view = View()
    svc = service("a", ips=["10.0.0.1"], ports=HTTP)
    view.on_service(None, svc)
    assert view.generation == 1
    status_only = copy.deepcopy(svc)
    status_only["metadata"]["resourceVersion"] = "99"
    status_only["status"] = {"loadBalancer": {}}
    view.on_service(svc, status_only)
    assert view.generation == 1
    moved = service("a", ips=["10.0.0.2"], ports=HTTP)
    view.on_service(status_only, moved)
    assert view.generation > 1
    assert view.services_by_ip("10.0.0.1") == [] and view.services_by_ip("10.0.0.2")
    before = view.generation
    view.on_service(moved, None)
    assert view.generation > before and view.service("testns", "a") is None
    assert view.services_by_ip("10.0.0.2") == []


def test_slice_updates_reindex_and_delete() -> None:
    view = View()
    first = endpoint_slice("s", "svc", [endpoint("10.0.0.1")])
    view.on_slice(None, first)
    second = endpoint_slice("s", "svc", [endpoint("10.0.0.2")])
    view.on_slice(first, second)
    assert view.slices_by_ip("10.0.0.1") == [] and view.slices_by_ip("10.0.0.2")
    relabelled = endpoint_slice("s", "other", [endpoint("10.0.0.2")])
    view.on_slice(second, relabelled)
    assert view.slices_of("testns", "svc") == [] and view.slices_of("testns", "other")
    unlabelled = copy.deepcopy(relabelled)
    unlabelled["metadata"]["labels"] = {}
    view.on_slice(relabelled, unlabelled)
    assert view.slices_of("testns", "other") == [] and view.slices_by_ip("10.0.0.2") == []
    generation = view.generation
    view.on_slice(unlabelled, None)
    assert view.generation == generation


def test_namespaces_and_pods() -> None:
    view = View()
    view.on_namespace(None, namespace("a"))
    view.on_namespace(namespace("a"), namespace("a"))
    assert view.generation == 1 and view.namespace_exists("a")
    view.on_namespace(namespace("a"), None)
    assert not view.namespace_exists("a")
    view.on_pod(None, pod("p", "10.1.0.5"))
    moved = pod("p", "10.1.0.6")
    view.on_pod(pod("p", "10.1.0.5"), moved)
    assert view.pods_by_ip("10.1.0.5") == [] and view.pods_by_ip("10.1.0.6")
    view.on_pod(moved, None)
    assert view.pods_by_ip("10.1.0.6") == []


def test_modified_follows_the_clock() -> None:
    now = [100.0]
    view = View(clock=lambda: now[0])
    now[0] = 250.7
    view.on_namespace(None, namespace("a"))
    assert view.modified == 250
