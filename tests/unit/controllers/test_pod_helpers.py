"""Pod questions: ports, readiness, conditions, ownership."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kubesvc.controllers import owners
from kubesvc.controllers.pods import (
    find_port,
    is_pod_available,
    should_be_in_endpoints,
    should_set_hostname,
    with_condition,
)
from tests.unit.controllers.helpers import pod, service

NOW = datetime(2024, 1, 1, 0, 1, tzinfo=UTC)
PORTS = [
    {"name": "http", "containerPort": 8080, "protocol": "TCP"},
    {"name": "dns", "containerPort": 53, "protocol": "UDP"},
]


@pytest.mark.parametrize(
    ("service_port", "expected"),
    [
        ({"port": 80, "targetPort": 9376}, 9376),
        ({"port": 80}, 80),
        ({"port": 80, "targetPort": "http", "protocol": "TCP"}, 8080),
        ({"port": 80, "targetPort": "http"}, 8080),
        ({"port": 53, "targetPort": "dns", "protocol": "UDP"}, 53),
        ({"port": 53, "targetPort": "dns", "protocol": "TCP"}, None),
        ({"port": 80, "targetPort": "missing"}, None),
    ],
)
def test_find_port(service_port: dict[str, object], expected: int | None) -> None:
    assert find_port(pod("p", ports=PORTS), service_port) == expected


def test_find_port_in_sidecars() -> None:
    p = pod(
        "p",
        initContainers=[
            {
                "name": "s",
                "restartPolicy": "Always",
                "ports": [{"name": "side", "containerPort": 7}],
            }
        ],
    )
    assert find_port(p, {"port": 1, "targetPort": "side"}) == 7
    p["spec"]["initContainers"][0].pop("restartPolicy")
    assert find_port(p, {"port": 1, "targetPort": "side"}) is None


def test_endpoint_membership() -> None:
    assert should_be_in_endpoints(pod("p"), False)
    assert not should_be_in_endpoints(pod("p", ip=None), True)
    assert not should_be_in_endpoints(pod("p", phase="Succeeded"), True)
    assert should_be_in_endpoints(pod("p", deleting=True), True)
    assert not should_be_in_endpoints(pod("p", deleting=True), False)
    assert should_be_in_endpoints(pod("p", phase="Pending", ready=False), False)


def test_hostname_only_for_the_matching_subdomain() -> None:
    svc = service("web")
    assert should_set_hostname(pod("p", hostname="h", subdomain="web"), svc)
    assert not should_set_hostname(pod("p", hostname="h", subdomain="other"), svc)
    assert not should_set_hostname(pod("p", subdomain="web"), svc)


def test_available_after_min_ready_seconds() -> None:
    p = pod("p", ready_since="2024-01-01T00:00:30Z")
    assert is_pod_available(p, 0, NOW)
    assert is_pod_available(p, 29, NOW)
    assert not is_pod_available(p, 30, NOW)
    assert not is_pod_available(pod("q", ready=False), 0, NOW)


def test_with_condition_moves_transition_time_only_on_status_change() -> None:
    p = pod("p", ready_since="2024-01-01T00:00:30Z")
    assert with_condition(p, {"type": "Ready", "status": "True"}, NOW) is None
    changed = with_condition(p, {"type": "Ready", "status": "False"}, NOW)
    assert changed is not None
    assert changed["status"]["conditions"] == [
        {
            "lastProbeTime": None,
            "type": "Ready",
            "status": "False",
            "lastTransitionTime": "2024-01-01T00:01:00Z",
        }
    ]
    assert p["status"]["conditions"][0]["status"] == "True"
    added = with_condition(p, {"type": "PodScheduled", "status": "True"}, NOW)
    assert added is not None and [c["type"] for c in added["status"]["conditions"]] == [
        "Ready",
        "PodScheduled",
    ]


@pytest.mark.parametrize(
    ("obj_owner", "labels", "owner_deleting", "expected"),
    [
        ("d-uid", {"app": "web"}, False, "owned"),
        ("d-uid", {"app": "other"}, False, "release"),
        ("d-uid", {"app": "other"}, True, "ignore"),
        ("x-uid", {"app": "web"}, False, "ignore"),
        (None, {"app": "web"}, False, "adopt"),
        (None, {"app": "web"}, True, "ignore"),
        (None, {"app": "other"}, False, "ignore"),
    ],
)
def test_claim(
    obj_owner: str | None, labels: dict[str, str], owner_deleting: bool, expected: str
) -> None:
    owner = {"metadata": {"name": "d", "namespace": "default", "uid": "d-uid"}}
    if owner_deleting:
        owner["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    obj = pod("p", labels=labels)
    if obj_owner:
        obj["metadata"]["ownerReferences"] = [
            {"uid": obj_owner, "controller": True, "kind": "X", "name": "d"}
        ]
    assert (
        owners.claim(owner, obj, lambda o: o["metadata"]["labels"].get("app") == "web") == expected
    )


def test_adopt_and_release_patches() -> None:
    obj = pod("p")
    ref = owners.new_controller_ref(
        {"metadata": {"name": "d", "uid": "d-uid"}}, "apps/v1", "ReplicaSet"
    )
    assert owners.adopt_patch(ref, obj) == {"metadata": {"ownerReferences": [ref], "uid": "p-uid"}}
    assert owners.release_patch("d-uid", obj) == {
        "metadata": {"ownerReferences": [{"$patch": "delete", "uid": "d-uid"}], "uid": "p-uid"}
    }
