"""The EndpointSlice reconciler: desired slices from pods, and the fewest writes to get there."""

from __future__ import annotations

import copy
from typing import Any

from kubesvc.controllers.endpointslice.reconciler import Changes, reconcile
from tests.unit.controllers.helpers import node, pod, service

Obj = dict[str, Any]
NODES = {
    name: node(name, labels={"topology.kubernetes.io/zone": "z1"} if name == "node-1" else {})
    for name in ("node-1", "node-2")
}


def pods(count: int, **kw: Any) -> list[Obj]:
    return [
        pod(f"p{i:03d}", ip=f"10.244.{i // 250}.{i % 250 + 1}", node="node-2", **kw)
        for i in range(count)
    ]


def applied(changes: Changes, existing: list[Obj]) -> list[Obj]:
    """What the API would hold after the changes (creates get names s0, s1, ...)."""
    by_name = {s["metadata"]["name"]: s for s in existing}
    for doomed in changes.delete:
        by_name.pop(doomed["metadata"]["name"])
    for updated in changes.update:
        by_name[updated["metadata"]["name"]] = copy.deepcopy(updated)
    for i, created in enumerate(changes.create):
        fresh = copy.deepcopy(created)
        fresh["metadata"]["name"] = f"s{len(by_name) + i}"
        by_name[fresh["metadata"]["name"]] = fresh
    return list(by_name.values())


def test_three_ready_pods_make_one_slice() -> None:
    svc = service(labels={"tier": "web"})
    ready = [
        pod(f"p{i}", ip=f"10.244.{i}.5", node="node-1" if i == 1 else "node-2") for i in (3, 1, 2)
    ]
    changes = reconcile(svc, ready, [], NODES)
    assert (len(changes.create), changes.update, changes.delete) == (1, [], [])
    (created,) = changes.create
    assert created["metadata"] == {
        "generateName": "web-",
        "namespace": "default",
        "labels": {
            "tier": "web",
            "kubernetes.io/service-name": "web",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
        },
        "ownerReferences": [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "name": "web",
                "uid": "web-svc-uid",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    assert created["addressType"] == "IPv4"
    assert created["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert created["endpoints"][0] == {
        "addresses": ["10.244.1.5"],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": "default", "name": "p1", "uid": "p1-uid"},
        "nodeName": "node-1",
        "zone": "z1",
    }
    assert [e["targetRef"]["name"] for e in created["endpoints"]] == ["p1", "p2", "p3"]
    assert not reconcile(svc, ready, applied(changes, []), NODES)


def test_readiness_change_updates_only_that_slice() -> None:
    svc = service()
    many = pods(150)
    state = applied(reconcile(svc, many, [], NODES), [])
    assert sorted(len(s["endpoints"]) for s in state) == [50, 100]
    many[120] = pod("p120", ip="10.244.0.121", node="node-2", ready=False)
    changes = reconcile(svc, many, state, NODES)
    assert (changes.create, changes.delete) == ([], [])
    (updated,) = changes.update
    (endpoint,) = [e for e in updated["endpoints"] if e["targetRef"]["name"] == "p120"]
    assert endpoint["conditions"] == {"ready": False, "serving": False, "terminating": False}


def test_at_most_100_endpoints_per_slice() -> None:
    changes = reconcile(service(), pods(250), [], NODES)
    assert [len(s["endpoints"]) for s in changes.create] == [100, 100, 50]
    assert len(reconcile(service(), pods(7), [], NODES, max_endpoints=3).create) == 3


def test_new_endpoints_fill_updated_slices_before_new_ones() -> None:
    svc = service()
    state = applied(reconcile(svc, pods(150), [], NODES), [])
    fewer = pods(150)
    del fewer[10]  # leaves the full slice
    fewer.append(pod("p900", ip="10.244.9.9", node="node-2"))
    changes = reconcile(svc, fewer, state, NODES)
    assert (changes.create, changes.delete) == ([], [])
    (updated,) = changes.update
    assert len(updated["endpoints"]) == 100
    assert "p900" in [e["targetRef"]["name"] for e in updated["endpoints"]]


def test_leftovers_go_to_the_unchanged_slice_closest_to_full() -> None:
    svc = service()
    state = applied(reconcile(svc, pods(150), [], NODES), [])
    more = [*pods(150), pod("p900", ip="10.244.9.9", node="node-2")]
    changes = reconcile(svc, more, state, NODES)
    (updated,) = changes.update
    assert len(updated["endpoints"]) == 51 and not changes.create


def test_named_target_port_resolves_per_pod() -> None:
    svc = service(ports=[{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}])
    group = [
        pod("a", ip="10.0.0.1", ports=[{"name": "web", "containerPort": 8080, "protocol": "TCP"}]),
        pod("b", ip="10.0.0.2", ports=[{"name": "web", "containerPort": 9090, "protocol": "TCP"}]),
        pod("c", ip="10.0.0.3", ports=[{"name": "other", "containerPort": 1, "protocol": "TCP"}]),
    ]
    changes = reconcile(svc, group, [], NODES)
    by_ports = {
        tuple(p["port"] for p in s["ports"]): [e["targetRef"]["name"] for e in s["endpoints"]]
        for s in changes.create
    }
    assert by_ports == {(8080,): ["a"], (9090,): ["b"], (): ["c"]}


def test_no_pods_keeps_one_placeholder() -> None:
    svc = service(cluster_ip="None")
    changes = reconcile(svc, [], [], NODES)
    (placeholder,) = changes.create
    assert placeholder["endpoints"] == [] and placeholder["ports"] == []
    assert placeholder["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    state = applied(changes, [])
    assert not reconcile(svc, [], state, NODES)
    # pods arrive: the placeholder is replaced by an update of the same object
    changes = reconcile(svc, pods(2), state, NODES)
    assert (changes.create, changes.delete) == ([], [])
    assert [u["metadata"]["name"] for u in changes.update] == ["s0"]
    assert len(changes.update[0]["endpoints"]) == 2


def test_publish_not_ready_terminating_hostname_and_missing_nodes() -> None:
    svc = service(publishNotReadyAddresses=True)
    group = [
        pod("a", ip="10.0.0.1", ready=False),
        pod("b", ip="10.0.0.2", deleting=True),
        pod("c", ip="10.0.0.3", hostname="c-host", subdomain="web"),
        pod("d", ip="10.0.0.4", node="gone"),
        pod("e", ip=None),
        pod("f", ip="10.0.0.6", phase="Failed"),
    ]
    (created,) = reconcile(svc, group, [], NODES).create
    got = {e["targetRef"]["name"]: e for e in created["endpoints"]}
    assert sorted(got) == ["a", "b", "c", "d"]
    assert got["a"]["conditions"] == {"ready": True, "serving": False, "terminating": False}
    assert got["b"]["conditions"] == {"ready": True, "serving": True, "terminating": True}
    assert got["c"]["hostname"] == "c-host"
    strict = service()
    (created,) = reconcile(strict, group, [], NODES).create
    got = {e["targetRef"]["name"]: e for e in created["endpoints"]}
    assert sorted(got) == ["a", "b", "c"]
    assert got["b"]["conditions"] == {"ready": False, "serving": True, "terminating": True}


def test_port_change_turns_create_into_update_of_the_old_slice() -> None:
    svc = service()
    state = applied(reconcile(svc, pods(3), [], NODES), [])
    moved = service(ports=[{"name": "http", "port": 80, "targetPort": 9999, "protocol": "TCP"}])
    changes = reconcile(moved, pods(3), state, NODES)
    assert (changes.create, changes.delete) == ([], [])
    (updated,) = changes.update
    assert updated["metadata"]["name"] == "s0"
    assert updated["ports"] == [{"name": "http", "port": 9999, "protocol": "TCP"}]


def test_foreign_and_wrong_family_slices_are_deleted() -> None:
    svc = service()
    state = applied(reconcile(svc, pods(2), [], NODES), [])
    foreign = copy.deepcopy(state[0])
    foreign["metadata"]["name"] = "old-owner"
    foreign["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    v6 = copy.deepcopy(state[0])
    v6["metadata"]["name"] = "v6"
    v6["addressType"] = "IPv6"
    changes = reconcile(svc, pods(2), [*state, foreign, v6], NODES)
    assert sorted(s["metadata"]["name"] for s in changes.delete) == ["old-owner", "v6"]
    assert not changes.create and not changes.update


def test_service_label_change_updates_slice_labels() -> None:
    svc = service()
    state = applied(reconcile(svc, pods(2), [], NODES), [])
    relabelled = service(labels={"team": "a"})
    (updated,) = reconcile(relabelled, pods(2), state, NODES).update
    assert updated["metadata"]["labels"]["team"] == "a"
    assert updated["endpoints"] == state[0]["endpoints"]


def test_dual_stack_service_gets_a_slice_per_family() -> None:
    svc = service(ipFamilies=["IPv4", "IPv6"])
    dual = pod("a", ip="10.0.0.1")
    dual["status"]["podIPs"].append({"ip": "fd00::0001"})
    changes = reconcile(svc, [dual], [], NODES)
    assert {s["addressType"]: s["endpoints"][0]["addresses"] for s in changes.create} == {
        "IPv4": ["10.0.0.1"],
        "IPv6": ["fd00::1"],
    }
