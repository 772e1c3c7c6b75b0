"""Deployment arithmetic: int-or-percent rounding, fenceposts, annotations, conditions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kubesvc.controllers.deployment import util as du
from tests.unit.controllers.helpers import deployment, replica_set

NOW = datetime(2024, 1, 1, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        (2, 10, True, 2),
        ("25%", 3, True, 1),
        ("25%", 3, False, 0),
        ("25%", 10, True, 3),
        ("25%", 10, False, 2),
        ("50%", 5, True, 3),
        ("50%", 5, False, 2),
        ("100%", 7, False, 7),
        ("0%", 7, True, 0),
    ],
)
def test_scaled_value_rounds_like_intstr(
    value: object, total: int, round_up: bool, expected: int
) -> None:
    assert du.scaled_value(value, total, round_up) == expected


def test_scaled_value_rejects_non_percent() -> None:
    with pytest.raises(ValueError, match='invalid value for IntOrString: invalid value "abc"'):
        du.scaled_value("abc", 3, True)


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        ("25%", "25%", 3, (1, 0)),
        (0, 0, 3, (0, 1)),
        ("0%", "10%", 3, (0, 1)),
        (1, 0, 3, (1, 0)),
        ("25%", "25%", 10, (3, 2)),
    ],
)
def test_resolve_fenceposts(
    surge: object, unavailable: object, desired: int, expected: tuple[int, int]
) -> None:
    assert du.resolve_fenceposts(surge, unavailable, desired) == expected


def test_max_unavailable_and_surge_of_deployments() -> None:
    d = deployment(3)
    assert (du.max_surge(d), du.max_unavailable(d)) == (1, 0)
    d = deployment(
        4, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 9}}
    )
    assert du.max_unavailable(d) == 4  # capped at replicas
    recreate = deployment(3, strategy={"type": "Recreate"})
    assert (du.max_surge(recreate), du.max_unavailable(recreate)) == (0, 0)
    assert du.max_unavailable(deployment(0)) == 0


def test_new_rs_annotations_copy_deployment_annotations_and_keep_history() -> None:
    d = deployment(
        3,
        annotations={
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "kubernetes.io/change-cause": "kubectl set image",
            du.REVISION: "7",
        },
    )
    rs = replica_set("web-abc", 0, revision=None)
    rs["metadata"]["annotations"] = {}
    assert du.set_new_rs_annotations(d, rs, "1", exists=False)
    assert rs["metadata"]["annotations"] == {
        "kubernetes.io/change-cause": "kubectl set image",
        du.REVISION: "1",
        du.DESIRED_REPLICAS: "3",
        du.MAX_REPLICAS: "4",
    }
    # rolled back to: the old revision goes into the history
    assert du.set_new_rs_annotations(d, rs, "3", exists=True)
    assert rs["metadata"]["annotations"][du.REVISION] == "3"
    assert rs["metadata"]["annotations"][du.REVISION_HISTORY] == "1"
    du.set_new_rs_annotations(d, rs, "5", exists=True)
    assert rs["metadata"]["annotations"][du.REVISION_HISTORY] == "1,3"
    assert not du.set_new_rs_annotations(d, rs, "4", exists=True)  # never lowered


def test_find_new_rs_ignores_the_hash_label_and_takes_the_oldest() -> None:
    d = deployment(3)
    old = replica_set("web-old", 3, image="nginx:0")
    new_a = replica_set("web-aaa", 1, created="2024-01-02T00:00:00Z")
    new_b = replica_set("web-bbb", 1, created="2024-01-01T00:00:00Z")
    assert du.find_new_rs(d, [old, new_a, new_b]) is new_b
    assert du.find_new_rs(d, [old]) is None
    assert du.equal_ignore_hash(d["spec"]["template"], new_a["spec"]["template"])


def test_revision_ordering_and_max() -> None:
    a = replica_set("web-a", 0, revision=3)
    b = replica_set("web-b", 0, revision=None)
    c = replica_set("web-c", 0, revision=12)
    assert du.max_revision([a, b, c]) == 12
    assert [r["metadata"]["name"] for r in sorted([a, b, c], key=du.by_revision)] == [
        "web-b",
        "web-a",
        "web-c",
    ]


def test_set_condition_keeps_transition_time_when_status_holds() -> None:
    st: dict[str, object] = {}
    first = du.new_condition("Progressing", "True", du.NEW_RS_CREATED, "a", NOW)
    du.set_condition(st, first)
    later = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)
    du.set_condition(st, du.new_condition("Progressing", "True", du.NEW_RS_CREATED, "b", later))
    assert st["conditions"] == [first]  # same status and reason: no change at all
    du.set_condition(st, du.new_condition("Progressing", "True", du.RS_UPDATED, "c", later))
    (cond,) = st["conditions"]  # type: ignore[misc]
    assert cond["reason"] == du.RS_UPDATED
    assert cond["lastTransitionTime"] == "2024-01-01T00:05:00Z"
    assert cond["lastUpdateTime"] == "2024-01-01T01:00:00Z"


def test_calculate_status_counts_and_availability() -> None:
    d = deployment(3, generation=4)
    new = replica_set("web-new", 2, available=1, ready=2)
    old = replica_set("web-old", 1, image="nginx:0")
    st = du.calculate_status([old, new], new, d, NOW)
    assert {k: v for k, v in st.items() if k != "conditions"} == {
        "observedGeneration": 4,
        "replicas": 3,
        "updatedReplicas": 2,
        "readyReplicas": 3,
        "availableReplicas": 2,
        "unavailableReplicas": 1,
    }
    assert st["conditions"] == [
        {
            "type": "Available",
            "status": "False",
            "lastUpdateTime": "2024-01-01T00:05:00Z",
            "lastTransitionTime": "2024-01-01T00:05:00Z",
            "reason": "MinimumReplicasUnavailable",
            "message": "Deployment does not have minimum availability.",
        }
    ]
    zero = du.calculate_status([], None, deployment(0), NOW)
    assert "replicas" not in zero and zero["conditions"][0]["reason"] == "MinimumReplicasAvailable"


def test_timed_out_after_the_progress_deadline() -> None:
    d = deployment(3, progressDeadlineSeconds=60)
    st = {"conditions": [du.new_condition("Progressing", "True", du.RS_UPDATED, "x", NOW)]}
    assert not du.deployment_timed_out(d, st, datetime(2024, 1, 1, 0, 6, tzinfo=UTC))
    assert du.deployment_timed_out(d, st, datetime(2024, 1, 1, 0, 6, 1, tzinfo=UTC))
    d["spec"]["progressDeadlineSeconds"] = 2**31 - 1
    assert not du.deployment_timed_out(d, st, datetime(2030, 1, 1, tzinfo=UTC))
