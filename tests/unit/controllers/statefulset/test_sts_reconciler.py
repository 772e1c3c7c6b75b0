"""StatefulSet plans: given the set, its pods and revisions, which writes come next."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesvc.controllers.statefulset import reconciler
from kubesvc.controllers.statefulset.revision import name_of
from tests.unit.controllers.statefulset.sts_builders import pending, pod, rev, sts

NOW = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)
R1, R2 = rev("nginx:1", 1), rev("nginx:2", 2)
PARALLEL = {"policy": "Parallel"}

Obj = dict[str, Any]


def plan_of(
    pods: list[Obj], *, current: Obj = R1, update: Obj = R1, **set_args: Any
) -> reconciler.Plan:
    return reconciler.reconcile(sts(**set_args), pods, current, update, 0, NOW)


def summary(plan: reconciler.Plan) -> list[str]:
    return [f"{a.verb} {a.pod['metadata']['name']}" for a in plan.actions]


CASES = [
    # (description, pods, set args, update revision, expected actions, waiting)
    ("first pod", [], {}, R1, ["create web-0"], "creating web-0"),
    (
        "web-1 waits for a pending web-0",
        [pending(0)],
        {},
        R1,
        [],
        "waiting for web-0 to be Running and Ready",
    ),
    (
        "... and for a running, unready web-0",
        [pod(0, ready=False)],
        {},
        R1,
        [],
        "waiting for web-0 to be Running and Ready",
    ),
    ("web-1 once web-0 is ready", [pod(0)], {}, R1, ["create web-1"], "creating web-1"),
    ("web-2 last", [pod(0), pod(1)], {}, R1, ["create web-2"], "creating web-2"),
    ("all ready: nothing to do", [pod(0), pod(1), pod(2)], {}, R1, [], ""),
    (
        "parallel: all at once",
        [],
        PARALLEL,
        R1,
        ["create web-0", "create web-1", "create web-2"],
        "waiting for web-2 to be created",
    ),
    (
        "a deleted pod comes back under its name",
        [pod(0), pod(2)],
        {},
        R1,
        ["create web-1"],
        "creating web-1",
    ),
    (
        "a terminating pod is waited for",
        [pod(0, deleting=True), pod(1)],
        {},
        R1,
        [],
        "waiting for web-0 to terminate",
    ),
    (
        "a failed pod is made again",
        [pod(0, phase="Failed", ready=False)],
        {},
        R1,
        ["delete web-0", "create web-0"],
        "creating web-0",
    ),
    (
        "so is a succeeded one",
        [pod(0), pod(1, phase="Succeeded", ready=False)],
        {},
        R1,
        ["delete web-1", "create web-1"],
        "creating web-1",
    ),
    (
        "scale down: highest first, one at a time",
        [pod(0), pod(1), pod(2)],
        {"replicas": 1},
        R1,
        ["delete web-2"],
        "scaling down web-2",
    ),
    (
        "scale down waits for a terminating pod",
        [pod(0), pod(1), pod(2, deleting=True)],
        {"replicas": 1},
        R1,
        [],
        "waiting for web-2 to terminate before scaling down",
    ),
    (
        "the first unhealthy pod may go",
        [pod(0), pod(1), pod(2, ready=False)],
        {"replicas": 1},
        R1,
        ["delete web-2"],
        "scaling down web-2",
    ),
    (
        "a ready pod may go whatever is below",
        [pod(0), pod(1, ready=False), pod(2)],
        {"replicas": 1},
        R1,
        ["delete web-2"],
        "scaling down web-2",
    ),
    (
        "an unready pod waits for a lower unready one",
        [pod(0), pod(1, ready=False), pod(2, ready=False)],
        {"replicas": 1},
        R1,
        [],
        "waiting for pods to be Running and Ready before scaling down",
    ),
    (
        "scale down waits for the kept pods",
        [pod(0, ready=False), pod(1)],
        {"replicas": 1},
        R1,
        [],
        "waiting for web-0 to be Running and Ready",
    ),
    (
        "parallel scale down: all at once",
        [pod(0), pod(1), pod(2)],
        {"replicas": 1, **PARALLEL},
        R1,
        ["delete web-2", "delete web-1"],
        "",
    ),
    (
        "rolling update: highest ordinal first",
        [pod(0), pod(1), pod(2)],
        {"image": "nginx:2"},
        R2,
        ["delete web-2"],
        "updating web-2",
    ),
    (
        "then the next one down",
        [pod(0), pod(1), pod(2, revision_of=R2)],
        {"image": "nginx:2"},
        R2,
        ["delete web-1"],
        "updating web-1",
    ),
    (
        "an updated pod must be ready first",
        [pod(0), pod(1), pod(2, revision_of=R2, ready=False)],
        {"image": "nginx:2", **PARALLEL},
        R2,
        [],
        "waiting for web-2 to update",
    ),
    (
        "the partition is kept",
        [pod(0), pod(1), pod(2, revision_of=R2)],
        {
            "image": "nginx:2",
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
        },
        R2,
        [],
        "",
    ),
    (
        "OnDelete updates nothing",
        [pod(0), pod(1), pod(2)],
        {"image": "nginx:2", "strategy": {"type": "OnDelete"}},
        R2,
        [],
        "",
    ),
    ("the set is being deleted", [pod(0)], {"deleting": True}, R1, [], "being deleted"),
]


@pytest.mark.parametrize(
    ("pods", "set_args", "update", "actions", "waiting"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_plan(
    pods: list[Obj], set_args: dict[str, Any], update: Obj, actions: list[str], waiting: str
) -> None:
    plan = plan_of(pods, update=update, **set_args)
    assert summary(plan) == actions
    assert plan.waiting == waiting


def test_created_pod_is_the_set_member() -> None:
    created = plan_of([]).actions[0].pod
    meta = created["metadata"]
    assert meta["name"] == "web-0" and meta["generateName"] == "web-"
    assert meta["labels"] == {
        "app": "nginx",
        "statefulset.kubernetes.io/pod-name": "web-0",
        "apps.kubernetes.io/pod-index": "0",
        "controller-revision-hash": name_of(R1),
    }
    assert (created["spec"]["hostname"], created["spec"]["subdomain"]) == ("web-0", "nginx")
    assert meta["ownerReferences"][0]["uid"] == "sts-uid"


def test_failed_pod_event() -> None:
    first = plan_of([pod(0, phase="Failed", ready=False)]).actions[0]
    assert first.event == (
        "RecreatingFailedPod",
        "StatefulSet default/web is recreating failed Pod web-0",
    )


def test_below_the_partition_new_pods_keep_the_current_revision() -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    plan = plan_of([], current=R1, update=R2, image="nginx:2", strategy=strategy, **PARALLEL)
    made = {a.pod["metadata"]["name"]: a.pod for a in plan.actions}
    assert {n: p["spec"]["containers"][0]["image"] for n, p in made.items()} == {
        "web-0": "nginx:1",
        "web-1": "nginx:1",
        "web-2": "nginx:2",
    }
    hashes = {n: p["metadata"]["labels"]["controller-revision-hash"] for n, p in made.items()}
    assert hashes == {"web-0": name_of(R1), "web-1": name_of(R1), "web-2": name_of(R2)}


def test_identity_labels_are_restored() -> None:
    drifted = pod(0)
    del drifted["metadata"]["labels"]["apps.kubernetes.io/pod-index"]
    plan = plan_of([drifted, pod(1), pod(2)])
    assert summary(plan) == ["update web-0"]
    assert plan.actions[0].pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "0"


def test_ordinals_start() -> None:
    plan = plan_of([pod(0), pod(1)], replicas=2, ordinals={"start": 5}, **PARALLEL)
    assert summary(plan) == ["create web-5", "create web-6", "delete web-1", "delete web-0"]


def test_min_ready_seconds_gates_the_next_pod() -> None:
    fresh = pod(0, ready_since="2024-01-01T00:59:50Z")  # ready for 10 s of 30
    plan = plan_of([fresh], minReadySeconds=30)
    assert summary(plan) == [] and plan.requeue_after == 30.0
    assert plan.status["readyReplicas"] == 1 and plan.status["availableReplicas"] == 0
    later = plan_of([pod(0)], minReadySeconds=30)  # ready for an hour
    assert summary(later) == ["create web-1"] and later.requeue_after is None


def test_status_while_creating() -> None:
    plan = plan_of([pod(0)])
    assert plan.status == {
        "observedGeneration": 1,
        "replicas": 2,
        "readyReplicas": 1,
        "currentReplicas": 2,
        "updatedReplicas": 2,
        "currentRevision": name_of(R1),
        "updateRevision": name_of(R1),
        "collisionCount": 0,
        "availableReplicas": 1,
    }


def test_status_during_and_after_a_rolling_update() -> None:
    during = plan_of([pod(0), pod(1), pod(2, revision_of=R2)], update=R2, image="nginx:2")
    assert {k: during.status.get(k) for k in ("currentReplicas", "updatedReplicas")} == {
        "currentReplicas": 1,
        "updatedReplicas": 1,
    }
    assert during.status["currentRevision"] == name_of(R1)
    pods = [pod(i, revision_of=R2) for i in range(3)]
    done = plan_of(pods, update=R2, image="nginx:2")
    assert done.status["currentRevision"] == name_of(R2)
    assert done.status["currentReplicas"] == 3 and done.status["updatedReplicas"] == 3


def test_zero_replicas_status_keeps_the_always_written_fields() -> None:
    plan = plan_of([], replicas=0)
    assert plan.actions == ()
    assert plan.status["replicas"] == 0 and plan.status["availableReplicas"] == 0
    assert "readyReplicas" not in plan.status and "currentReplicas" not in plan.status


def test_status_changed() -> None:
    current = plan_of([pod(0), pod(1), pod(2)])
    stored = sts(status=dict(current.status))
    assert not reconciler.status_changed(stored, current.status)
    assert not reconciler.status_changed(stored, {**current.status, "readyReplicas": 3})
    assert reconciler.status_changed(stored, {**current.status, "readyReplicas": 2})
    assert reconciler.status_changed(sts(), current.status)
