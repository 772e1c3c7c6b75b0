"""The scheduler's filters, spreading score and FitError text."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.controllers.scheduler.placement import place, tolerates
from tests.unit.controllers.helpers import node, pod

Obj = dict[str, Any]


def pending(name: str = "p", owner: str | None = "rs", **spec: Any) -> Obj:
    return pod(name, node=None, phase="Pending", ready=None, ip=None, owner=owner, **spec)


def test_replicas_spread_over_nodes_then_fill_the_emptiest() -> None:
    nodes = [node("node-1"), node("node-2"), node("node-3")]
    on = {
        "node-1": [pod("x", owner="rs"), pod("y", owner="other")],
        "node-2": [pod("z", owner="rs")],
        "node-3": [pod("w", owner="other"), pod("v", owner="other")],
    }
    assert place(pending(), nodes, on).node == "node-3"  # no sibling there
    on["node-3"].append(pod("u", owner="rs"))
    assert place(pending(), nodes, on).node == "node-2"  # one sibling each, node-2 has fewest pods
    assert place(pending(), nodes, {}).node == "node-1"  # all equal: first name


def test_no_nodes() -> None:
    assert place(pending(), [], {}).message == "no nodes available to schedule pods"


def test_fit_error_counts_reasons_per_node() -> None:
    nodes = [
        node("node-1", ready="Unknown"),
        node("node-2", unschedulable=True),
        node("node-3", ready="False"),
        node("node-4", labels={"disk": "hdd"}),
    ]
    result = place(pending(nodeSelector={"disk": "ssd"}), nodes, {})
    assert result.node is None
    assert result.message == (
        "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
        "1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, "
        "1 node(s) were unschedulable. "
        "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
    )


def test_user_taints_and_tolerations() -> None:
    tainted = node("node-1", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    result = place(pending(), [tainted], {})
    assert result.message.startswith(
        "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}."
    )
    tolerant = pending(
        tolerations=[
            {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
        ]
    )
    assert place(tolerant, [tainted], {}).node == "node-1"
    soft = node("node-2", taints=[{"key": "x", "effect": "PreferNoSchedule"}])
    assert place(pending(), [soft], {}).node == "node-2"


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        ({"operator": "Exists"}, True),
        ({"key": "k", "operator": "Exists"}, True),
        ({"key": "k", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "k", "value": "v"}, True),
        ({"key": "k", "value": "w"}, False),
        ({"key": "other", "operator": "Exists"}, False),
    ],
)
def test_tolerates(toleration: Obj, expected: bool) -> None:
    assert tolerates(toleration, {"key": "k", "value": "v", "effect": "NoSchedule"}) is expected


def test_required_node_affinity() -> None:
    nodes = [
        node("node-1", labels={"zone": "a", "cpus": "4"}),
        node("node-2", labels={"zone": "b", "cpus": "16"}),
    ]
    terms = [{"matchExpressions": [{"key": "cpus", "operator": "Gt", "values": ["8"]}]}]
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
        }
    }
    assert place(pending(affinity=affinity), nodes, {}).node == "node-2"
    terms[0] = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}
    assert place(pending(affinity=affinity), nodes, {}).node == "node-1"
    terms[0] = {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a", "b"]}]}
    assert place(pending(affinity=affinity), nodes, {}).node is None


def test_host_port_conflicts_are_resolvable_by_preemption() -> None:
    ports = [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}]
    busy = {"node-1": [pod("x", ports=ports)]}
    result = place(pending(ports=ports), [node("node-1")], busy)
    assert result.message == (
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    )
    assert place(pending(ports=ports), [node("node-1"), node("node-2")], busy).node == "node-2"
