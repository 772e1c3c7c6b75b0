"""Allocation planning and table repair as pure functions."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest

from kubesvc.api.errors import StatusError
from kubesvc.apiserver import allocation
from kubesvc.apiserver.allocation import Allocator, IPRange, PortRange, ip_key, port_key
from kubesvc.apiserver.repair import diff


def svc(name: str = "web", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "ClusterIP", "ports": [{"name": "http", "port": 80}]}
    base.update(spec)
    return {"metadata": {"name": name, "namespace": "default"}, "spec": base}


@pytest.fixture
def alloc() -> Allocator:
    return Allocator(IPRange.parse("10.96.0.0/12"), PortRange.parse("30000-32767"), seed=7)


def test_bands_follow_kep_3070_and_3668() -> None:
    ips = IPRange.parse("10.96.0.0/12")
    assert ips.static_size == 256 and ips.nth(0) == "10.96.0.1"
    assert IPRange.parse("10.0.0.0/28").static_size == 14  # the whole of a small range
    ports = PortRange.parse("30000-32767")
    assert ports.static_size == 86 and str(ports) == "30000-32767"


def test_random_pick_avoids_the_static_band(alloc: Allocator) -> None:
    for _ in range(200):
        plan = alloc.plan(svc(), None)
        alloc.committed(plan)
    static_end = ipaddress.IPv4Address("10.96.0.1") + 255
    assert all(ipaddress.IPv4Address(ip) > static_end for ip in alloc.used_ips)
    assert len(alloc.used_ips) == 200


def test_small_range_fills_then_refuses() -> None:
    alloc = Allocator(IPRange.parse("10.0.0.0/29"), PortRange.parse("30000-30010"), seed=1)
    for _ in range(6):  # .1 to .6
        alloc.committed(alloc.plan(svc(), None))
    assert len(alloc.used_ips) == 6
    with pytest.raises(StatusError) as info:
        alloc.plan(svc(), None)
    assert info.value.code == 500


def test_requested_ip_out_of_range(alloc: Allocator) -> None:
    with pytest.raises(StatusError) as info:
        alloc.plan(svc("x", clusterIP="10.0.0.1"), None)
    assert info.value.message == (
        'Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.1"}: '
        "failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/12"
    )


def test_requested_ip_is_marked_for_the_taken_error(alloc: Allocator) -> None:
    plan = alloc.plan(svc("x", clusterIP="10.96.0.10"), None)
    assert set(plan.create) == {ip_key("10.96.0.10")}
    error = plan.requested[ip_key("10.96.0.10")]
    assert str(error) == (
        'spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: '
        "failed to allocate IP 10.96.0.10: provided IP is already allocated"
    )


def test_headless_and_external_name_take_nothing(alloc: Allocator) -> None:
    headless = svc(clusterIP="None")
    assert alloc.plan(headless, None).create == {}
    assert headless["spec"]["clusterIPs"] == ["None"]
    external = svc(type="ExternalName", externalName="example.com")
    assert alloc.plan(external, None).create == {}


def test_node_ports_shared_by_protocols_and_released_on_type_change(alloc: Allocator) -> None:
    dns = svc(
        type="NodePort",
        ports=[
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        ],
    )
    plan = alloc.plan(dns, None)
    ports = [p["nodePort"] for p in dns["spec"]["ports"]]
    assert ports[0] == ports[1] and 30086 <= ports[0] <= 32767
    assert [k for k in plan.create if k.startswith(allocation.PORT_PREFIX)] == [port_key(ports[0])]
    alloc.committed(plan)
    back = svc(
        type="ClusterIP",
        clusterIP=dns["spec"]["clusterIP"],
        ports=[
            {"name": "dns", "port": 53, "protocol": "UDP"},
        ],
    )
    release = alloc.plan(back, dns)
    assert release.release == [port_key(ports[0])]
    assert release.create == {}


def test_type_change_to_external_name_releases_ip(alloc: Allocator) -> None:
    old = svc()
    alloc.committed(alloc.plan(old, None))
    new = svc(type="ExternalName", externalName="example.com")
    plan = alloc.plan(new, old)
    assert plan.release == [ip_key(old["spec"]["clusterIP"])]


def test_requested_node_port_out_of_range(alloc: Allocator) -> None:
    with pytest.raises(StatusError) as info:
        alloc.plan(svc(type="NodePort", ports=[{"port": 80, "nodePort": 40000}]), None)
    assert info.value.message == (
        'Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 40000: provided port '
        "is not in the valid range. The range of valid ports is 30000-32767"
    )


def test_repair_diff_restores_flags_and_finds_leaks(alloc: Allocator) -> None:
    a = svc("a", clusterIP="10.96.0.20", clusterIPs=["10.96.0.20"])
    b = svc("b", clusterIP="10.96.0.20", clusterIPs=["10.96.0.20"])
    c = svc("c", clusterIP="10.0.0.3", clusterIPs=["10.0.0.3"])
    d = svc(
        "d",
        type="NodePort",
        clusterIP="10.96.0.21",
        clusterIPs=["10.96.0.21"],
        ports=[{"port": 80, "nodePort": 30001}],
    )
    a["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    b["metadata"]["creationTimestamp"] = "2026-01-02T00:00:00Z"
    keys = {ip_key("10.96.0.20"), ip_key("10.96.0.99"), port_key(31000)}
    actions = diff(alloc, [b, a, c, d], keys)
    assert set(actions.restore) == {ip_key("10.96.0.21"), port_key(30001)}
    assert actions.leaked == [ip_key("10.96.0.99"), port_key(31000)]
    reasons = sorted((w.reason, w.service["metadata"]["name"]) for w in actions.warnings)
    assert reasons == [
        ("ClusterIPAlreadyAllocated", "b"),
        ("ClusterIPNotAllocated", "d"),
        ("ClusterIPOutOfRange", "c"),
        ("PortNotAllocated", "d"),
    ]


def test_probe_wraps_around() -> None:
    used = {f"10.0.0.{i}" for i in range(2, 15)}
    small = IPRange.parse("10.0.0.0/28")
    assert small.pick(used, random.Random(3)) == "10.0.0.1"
