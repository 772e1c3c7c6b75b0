"""ReplicaSet decisions: the pod it creates, which pods go first, its status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kubesvc.controllers.replicaset import plan
from tests.unit.controllers.helpers import pod, replica_set

NOW = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)


def test_pod_from_template() -> None:
    rs = replica_set("web-7f55774d9f", 3)
    rs["spec"]["template"]["metadata"]["annotations"] = {"a": "1"}
    created = plan.pod_from_template(rs)
    assert created["metadata"] == {
        "generateName": "web-7f55774d9f-",
        "labels": {"app": "web", "pod-template-hash": "7f55774d9f"},
        "annotations": {"a": "1"},
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-7f55774d9f",
                "uid": "web-7f55774d9f-uid",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    assert created["spec"] == rs["spec"]["template"]["spec"]
    assert created["spec"] is not rs["spec"]["template"]["spec"]


def names(pods: list[dict[str, object]]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]  # type: ignore[index]


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        (pod("a", node=None, phase="Pending", ready=False), pod("b"), "unassigned first"),
        (
            pod("a", phase="Pending", ready=False),
            pod("b", phase="Running"),
            "pending before running",
        ),
        (
            pod("a", phase="Unknown", ready=False),
            pod("b", phase="Running", ready=False),
            "unknown before running",
        ),
        (pod("a", ready=False), pod("b", ready=True), "not ready before ready"),
        (
            pod("a", annotations={"controller.kubernetes.io/pod-deletion-cost": "-5"}),
            pod("b", annotations={"controller.kubernetes.io/pod-deletion-cost": "bogus"}),
            "lower deletion cost first",
        ),
        (
            pod("a", ready_since="2024-01-01T00:59:00Z"),
            pod("b", ready_since="2024-01-01T00:10:00Z"),
            "ready later first",
        ),
        (pod("a", restarts=4), pod("b", restarts=1), "more restarts first"),
        (
            pod("a", ready=False, created="2024-01-01T00:58:00Z"),
            pod("b", ready=False, created="2024-01-01T00:00:00Z"),
            "newer first",
        ),
    ],
)
def test_deletion_ranking(first: dict[str, object], second: dict[str, object], why: str) -> None:
    assert names(plan.rank_pods([second, first], [], NOW)) == ["a", "b"], why
    assert names(plan.rank_pods([first, second], [], NOW)) == ["a", "b"], why


def test_pods_doubled_up_on_a_node_go_first() -> None:
    lonely = pod("lonely", node="node-1")
    crowded = pod("crowded", node="node-2")
    sibling = pod("sibling", node="node-2")
    related = [lonely, crowded, sibling]
    assert names(plan.pods_to_delete([lonely, crowded], related, 1, NOW)) == ["crowded"]


def test_ready_times_in_the_same_log_bucket_tie_on_uid() -> None:
    # 63 and 62 minutes ago share floor(log2(ns)); the uid decides
    a = pod("a", ready_since="2023-12-31T23:57:00Z")
    b = pod("b", ready_since="2023-12-31T23:58:00Z")
    assert names(plan.rank_pods([b, a], [], NOW)) == ["a", "b"]


def test_calculate_status() -> None:
    rs = replica_set("web-abc", 3)
    rs["spec"]["minReadySeconds"] = 30
    pods = [
        pod(
            "a",
            ready_since="2024-01-01T00:00:00Z",
            labels={"app": "web", "pod-template-hash": "abc"},
        ),
        pod(
            "b",
            ready_since="2024-01-01T00:59:50Z",
            labels={"app": "web", "pod-template-hash": "abc"},
        ),
        pod("c", ready=False, labels={"app": "web"}),
    ]
    st = plan.calculate_status(rs, pods, None, NOW)
    assert st == {
        "replicas": 3,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 1,
        "observedGeneration": 1,
    }
    empty = plan.calculate_status(rs, [], None, NOW)
    assert empty == {"replicas": 0, "observedGeneration": 1}


def test_failure_condition_set_and_cleared() -> None:
    rs = replica_set("web-abc", 3)
    failed = plan.calculate_status(rs, [], 'pods "x" is forbidden: quota', NOW)
    assert failed["conditions"] == [
        {
            "type": "ReplicaFailure",
            "status": "True",
            "lastTransitionTime": "2024-01-01T01:00:00Z",
            "reason": "FailedCreate",
            "message": 'pods "x" is forbidden: quota',
        }
    ]
    rs["status"] = failed
    assert "conditions" not in plan.calculate_status(rs, [], None, NOW)


def test_status_unchanged_checks_counts_generation_and_conditions() -> None:
    rs = replica_set("web-abc", 3)
    rs["status"]["fullyLabeledReplicas"] = 3
    same = plan.calculate_status(
        rs, [pod(n, labels={"app": "web", "pod-template-hash": "abc"}) for n in "xyz"], None, NOW
    )
    assert plan.status_unchanged(rs, same)
    rs["metadata"]["generation"] = 2
    assert not plan.status_unchanged(rs, same)
