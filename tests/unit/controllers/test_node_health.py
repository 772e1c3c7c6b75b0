"""Node health: grace periods on the controller's clock, leases, Unknown conditions, taints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubesvc.controllers.nodelifecycle.health import (
    HealthMonitor,
    mark_unknown,
    taints_with_conditions,
)

Obj = dict[str, Any]
WALL = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)


def ready_node(beat: str = "2024-01-01T00:00:00Z", **spec: Any) -> Obj:
    return {
        "metadata": {"name": "node-1", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": spec,
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "lastHeartbeatTime": beat,
                    "lastTransitionTime": beat,
                },
                {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": beat},
            ]
        },
    }


def lease(renew: str) -> Obj:
    return {"metadata": {"name": "node-1"}, "spec": {"renewTime": renew}}


def test_a_silent_node_becomes_unknown_after_the_grace_period() -> None:
    monitor = HealthMonitor(grace_period=40)
    node = ready_node()
    assert monitor.check(node, None, 100.0, WALL).node is None
    assert monitor.check(node, None, 140.0, WALL).node is None
    verdict = monitor.check(node, None, 140.5, WALL)
    assert verdict.node is not None
    assert verdict.observed_ready is not None and verdict.observed_ready["status"] == "True"
    assert verdict.current_ready == {
        "type": "Ready",
        "status": "Unknown",
        "reason": "NodeStatusUnknown",
        "message": "Kubelet stopped posting node status.",
        "lastHeartbeatTime": "2024-01-01T00:00:00Z",
        "lastTransitionTime": "2024-01-01T00:10:00Z",
    }
    # written back: later passes see Unknown and change nothing
    assert monitor.check(verdict.node, None, 150.0, WALL).node is None


def test_lease_renewals_and_heartbeats_keep_a_node_healthy() -> None:
    monitor = HealthMonitor(grace_period=40)
    node = ready_node()
    monitor.check(node, lease("2024-01-01T00:00:00.000000Z"), 100.0, WALL)
    assert monitor.check(node, lease("2024-01-01T00:00:30.000000Z"), 130.0, WALL).node is None
    assert monitor.check(node, lease("2024-01-01T00:00:30.000000Z"), 165.0, WALL).node is None
    assert monitor.check(ready_node("2024-01-01T00:01:00Z"), None, 200.0, WALL).node is None
    assert monitor.check(ready_node("2024-01-01T00:01:00Z"), None, 241.0, WALL).node is not None


def test_a_node_that_never_posted_gets_the_startup_grace() -> None:
    monitor = HealthMonitor(grace_period=40, startup_grace_period=60)
    bare: Obj = {
        "metadata": {"name": "node-1", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "status": {},
    }
    assert monitor.check(bare, None, 0.0, WALL).node is None
    assert monitor.check(bare, None, 50.0, WALL).node is None
    verdict = monitor.check(bare, None, 61.0, WALL)
    assert verdict.node is not None
    conditions = verdict.node["status"]["conditions"]
    assert [c["type"] for c in conditions] == [
        "Ready",
        "MemoryPressure",
        "DiskPressure",
        "PIDPressure",
    ]
    assert {(c["reason"], c["message"]) for c in conditions} == {
        ("NodeStatusNeverUpdated", "Kubelet never posted node status.")
    }


def test_mark_unknown_leaves_unknown_conditions_alone() -> None:
    node = mark_unknown(ready_node(), WALL)
    again = mark_unknown(node, datetime(2024, 1, 2, tzinfo=UTC))
    assert again == node
    memory = next(c for c in node["status"]["conditions"] if c["type"] == "MemoryPressure")
    assert (memory["status"], memory["reason"]) == ("Unknown", "NodeStatusUnknown")


def test_condition_taints() -> None:
    assert taints_with_conditions(ready_node(), WALL) is None
    unknown = mark_unknown(ready_node(taints=[{"key": "user", "effect": "NoSchedule"}]), WALL)
    taints = taints_with_conditions(unknown, WALL)
    assert taints == [
        {"key": "user", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
        {
            "key": "node.kubernetes.io/unreachable",
            "effect": "NoExecute",
            "timeAdded": "2024-01-01T00:10:00Z",
        },
    ]
    unknown["spec"]["taints"] = taints
    assert taints_with_conditions(unknown, WALL) is None
    recovered = ready_node(taints=taints, unschedulable=True)
    assert taints_with_conditions(recovered, WALL) == [
        {"key": "user", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
    ]
