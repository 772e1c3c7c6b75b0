"""One Deployment sync, planned: which ReplicaSets are created, scaled, deleted, and the status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubesvc.controllers.deployment import util as du
from kubesvc.controllers.deployment.planner import Plan, plan
from kubesvc.controllers.hashing import compute_hash
from tests.unit.controllers.helpers import deployment, pod, replica_set

NOW = datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
Obj = dict[str, Any]


def writes(result: Plan) -> list[tuple[str, str, int | None]]:
    """(verb, name, spec.replicas) of each ReplicaSet write, in order."""
    return [
        (a.verb, a.obj["metadata"].get("name"), a.obj["spec"].get("replicas"))
        for a in result.actions
        if a.verb in ("create", "update", "delete")
    ]


def final_status(result: Plan) -> Obj | None:
    statuses = [a.obj["status"] for a in result.actions if a.verb == "status"]
    return statuses[-1] if statuses else None


def test_first_sync_creates_the_replicaset() -> None:
    d = deployment(3)
    result = plan(d, [], {}, NOW)
    pod_hash = compute_hash(d["spec"]["template"])
    assert writes(result) == [("create", f"web-{pod_hash}", 3)]
    rs = result.actions[0].obj
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": pod_hash}}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
    assert rs["metadata"]["annotations"] == {
        du.REVISION: "1",
        du.DESIRED_REPLICAS: "3",
        du.MAX_REPLICAS: "4",
    }
    assert rs["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": "d-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert result.actions[0].event == (
        "Normal",
        "ScalingReplicaSet",
        f"Scaled up replica set web-{pod_hash} to 3",
    )
    assert [a.verb for a in result.actions] == ["create", "annotate", "status"]
    assert result.actions[1].obj["metadata"]["annotations"] == {du.REVISION: "1"}
    st = final_status(result)
    assert st is not None
    progressing = du.get_condition(st, "Progressing")
    assert progressing is not None
    assert (progressing["reason"], progressing["message"]) == (
        "NewReplicaSetCreated",
        f'Created new replica set "web-{pod_hash}"',
    )


def test_collision_count_changes_the_name() -> None:
    d = deployment(3, status={"collisionCount": 1})
    result = plan(d, [], {}, NOW)
    assert (
        result.actions[0].obj["metadata"]["name"] == f"web-{compute_hash(d['spec']['template'], 1)}"
    )


def test_steady_state_writes_nothing() -> None:
    d = deployment(3)
    rs = replica_set("web-aaa", 3, desired=3, max_replicas=4)
    first = plan(d, [rs], {}, NOW)
    assert writes(first) == []
    synced = {
        **d,
        "status": final_status(first),
        "metadata": {**d["metadata"], "annotations": {du.REVISION: "1"}},
    }
    again = plan(synced, [rs], {}, NOW)
    assert again.actions == []
    assert du.get_condition(synced["status"], "Progressing")["reason"] == "NewReplicaSetAvailable"  # type: ignore[index]


def test_rolling_update_surges_then_scales_old_down() -> None:
    d = deployment(3, image="nginx:2", generation=2)
    old = replica_set("web-old", 3, image="nginx:1", desired=3, max_replicas=4)
    step1 = plan(d, [old], {}, NOW)
    new_name = f"web-{compute_hash(d['spec']['template'])}"
    # maxSurge 25% of 3 -> 1, maxUnavailable -> 0: one new pod, nothing scaled down yet
    assert writes(step1) == [("create", new_name, 1)]
    assert step1.actions[0].obj["metadata"]["annotations"][du.REVISION] == "2"

    new = replica_set(
        new_name, 1, image="nginx:2", available=1, revision=2, desired=3, max_replicas=4
    )
    step2 = plan(d, [old, new], {}, NOW)
    assert writes(step2) == [("update", "web-old", 2)]
    assert step2.actions[0].event == (
        "Normal",
        "ScalingReplicaSet",
        "Scaled down replica set web-old from 3 to 2",
    )

    old2 = replica_set("web-old", 2, image="nginx:1", desired=3, max_replicas=4)
    step3 = plan(d, [old2, new], {}, NOW)
    assert writes(step3) == [("update", new_name, 2)]


def test_unhealthy_old_replicas_go_first() -> None:
    d = deployment(
        4,
        image="nginx:2",
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
    )
    old = replica_set("web-old", 4, image="nginx:1", available=2, desired=4, max_replicas=4)
    new = replica_set(
        "web-new", 0, image="nginx:2", revision=2, desired=4, max_replicas=4, status_replicas=0
    )
    result = plan(d, [old, new], {}, NOW)
    # all 4, min available 3, new unavailable 0 -> may drop 1; the unhealthy pods are cleaned first
    assert writes(result) == [("update", "web-old", 3)]


def test_scaling_event_is_proportional() -> None:
    d = deployment(
        15,
        image="nginx:3",
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}},
    )
    old = replica_set(
        "web-old", 8, image="nginx:1", desired=10, max_replicas=13, created="2024-01-01T00:00:00Z"
    )
    new = replica_set(
        "web-new", 5, desired=10, max_replicas=13, revision=2, created="2024-01-01T00:01:00Z"
    )
    result = plan(d, [old, new], {}, NOW)
    # allowed 18, have 13: +5 split 8/13 and 5/13 of the new max (18): old 8->11, new 5->7
    assert writes(result) == [("update", "web-old", 11), ("update", "web-new", 7)]
    for action in result.actions[:2]:
        assert action.obj["metadata"]["annotations"][du.DESIRED_REPLICAS] == "15"
        assert action.obj["metadata"]["annotations"][du.MAX_REPLICAS] == "18"


def test_scale_down_of_a_single_active_replicaset() -> None:
    d = deployment(1)
    rs = replica_set("web-aaa", 3, desired=3, max_replicas=4)
    result = plan(d, [rs], {}, NOW)
    assert writes(result) == [("update", "web-aaa", 1)]
    assert result.actions[0].event == (
        "Normal",
        "ScalingReplicaSet",
        "Scaled down replica set web-aaa from 3 to 1",
    )


def test_recreate_scales_old_down_waits_then_creates() -> None:
    d = deployment(2, image="nginx:2", strategy={"type": "Recreate"})
    old = replica_set("web-old", 2, image="nginx:1", desired=2, max_replicas=2)
    step1 = plan(d, [old], {}, NOW)
    assert writes(step1) == [("update", "web-old", 0)]
    gone = replica_set("web-old", 0, image="nginx:1", desired=2, max_replicas=2, status_replicas=0)
    running = {"web-old-uid": [pod("web-old-x", phase="Running")]}
    assert writes(plan(d, [gone], running, NOW)) == []
    finished = {"web-old-uid": [pod("web-old-x", phase="Succeeded")]}
    step3 = plan(d, [gone], finished, NOW)
    assert writes(step3) == [("create", f"web-{compute_hash(d['spec']['template'])}", 2)]


def test_paused_deployment_gets_the_paused_condition_and_does_not_roll() -> None:
    d = deployment(3, image="nginx:2", paused=True)
    old = replica_set("web-old", 3, image="nginx:1", desired=3, max_replicas=4)
    result = plan(d, [old], {}, NOW)
    assert writes(result) == []
    st = final_status(result)
    assert st is not None
    cond = du.get_condition(st, "Progressing")
    assert cond is not None
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "Unknown",
        "DeploymentPaused",
        "Deployment is paused",
    )


def test_old_replicasets_beyond_the_history_limit_are_deleted() -> None:
    complete = {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "availableReplicas": 1,
    }
    d = deployment(1, image="nginx:9", revisionHistoryLimit=1, status=complete)
    new = replica_set("web-new", 1, image="nginx:9", revision=4, desired=1, max_replicas=2)
    olds = [
        replica_set(f"web-old{i}", 0, image=f"nginx:{i}", revision=i, status_replicas=0)
        for i in (1, 2, 3)
    ]
    result = plan(d, [*olds, new], {}, NOW)
    assert writes(result) == [("delete", "web-old1", 0), ("delete", "web-old2", 0)]


def test_progress_deadline_exceeded() -> None:
    d = deployment(3, image="nginx:2", progressDeadlineSeconds=60)
    old = replica_set("web-old", 3, image="nginx:1", desired=3, max_replicas=4)
    new = replica_set(
        "web-new", 1, image="nginx:2", available=0, ready=0, revision=2, desired=3, max_replicas=4
    )
    stale = du.new_condition(
        "Progressing", "True", du.RS_UPDATED, "x", datetime(2024, 1, 1, tzinfo=UTC)
    )
    status = du.calculate_status([old, new], new, d, NOW)
    status["conditions"].append(stale)
    d["status"] = status
    result = plan(d, [old, new], {}, NOW)
    st = final_status(result)
    assert st is not None
    cond = du.get_condition(st, "Progressing")
    assert cond is not None
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        'ReplicaSet "web-new" has timed out progressing.',
    )


def test_stuck_rollout_asks_for_a_later_check() -> None:
    d = deployment(3, image="nginx:2", progressDeadlineSeconds=600)
    old = replica_set("web-old", 3, image="nginx:1", desired=3, max_replicas=4)
    new = replica_set(
        "web-new", 1, image="nginx:2", available=0, ready=0, revision=2, desired=3, max_replicas=4
    )
    first = plan(d, [old, new], {}, NOW)
    d["status"] = final_status(first)
    d["metadata"]["annotations"] = {du.REVISION: "2"}
    again = plan(d, [old, new], {}, NOW)
    assert again.actions == []
    assert again.requeue_after == 601.0


def test_selecting_everything_is_refused() -> None:
    d = deployment(3, generation=2)
    d["spec"]["selector"] = {}
    result = plan(d, [], {}, NOW)
    assert result.events == [
        (
            "Warning",
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        )
    ]
    assert final_status(result) == {"observedGeneration": 2}
