"""Pod identity: names and ordinals, the pod made from a template, health."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kubesvc.controllers.statefulset import identity
from tests.unit.controllers.statefulset.sts_builders import pod, sts

NOW = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "parent", "ordinal"),
    [
        ("web-0", "web", 0),
        ("web-12", "web", 12),
        ("my-web-3", "my-web", 3),
        ("web-", "", -1),
        ("web", "", -1),
        ("web-abc", "", -1),
        ("web-99999999999", "web", -1),
    ],
)
def test_parent_and_ordinal(name: str, parent: str, ordinal: int) -> None:
    assert identity.parent_and_ordinal({"metadata": {"name": name}}) == (parent, ordinal)


def test_membership() -> None:
    assert identity.is_member_of(sts(), pod(1))
    assert not identity.is_member_of(sts(), pod(1, name="webx-1"))
    assert not identity.is_member_of(sts(), pod(1, name="web-x"))
    assert not identity.is_member_of(sts(), pod(1, name="web-01"))


def test_new_pod_replaces_template_volumes_by_claims() -> None:
    claims = [
        {"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"]}},
        {"metadata": {"name": "logs"}},
    ]
    owner = sts(volumeClaimTemplates=claims)
    owner["spec"]["template"]["spec"]["volumes"] = [
        {"name": "www", "emptyDir": {}},
        {"name": "config", "configMap": {"name": "cfg"}},
    ]
    made = identity.new_pod(owner, 4, "web-abc")
    assert made["spec"]["volumes"] == [
        {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-4"}},
        {"name": "logs", "persistentVolumeClaim": {"claimName": "logs-web-4"}},
        {"name": "config", "configMap": {"name": "cfg"}},
    ]
    assert made["metadata"]["namespace"] == "default"
    assert owner["spec"]["template"]["spec"]["volumes"][0] == {"name": "www", "emptyDir": {}}


def test_new_pod_copies_template_metadata_without_sharing_it() -> None:
    owner = sts()
    owner["spec"]["template"]["metadata"]["annotations"] = {"a": "1"}
    made = identity.new_pod(owner, 0, "web-abc")
    assert made["metadata"]["annotations"] == {"a": "1"}
    made["metadata"]["labels"]["x"] = "y"
    assert owner["spec"]["template"]["metadata"]["labels"] == {"app": "nginx"}


def test_no_service_name_means_no_subdomain() -> None:
    owner = sts()
    del owner["spec"]["serviceName"]
    made = identity.new_pod(owner, 0, "web-abc")
    assert made["spec"]["hostname"] == "web-0" and "subdomain" not in made["spec"]


def test_identity_matches_and_is_restored() -> None:
    member = pod(2)
    assert identity.identity_matches(sts(), member)
    member["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] = "other"
    assert not identity.identity_matches(sts(), member)
    fixed = identity.with_identity(sts(), member)
    assert identity.identity_matches(sts(), fixed)
    assert member["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "other"


@pytest.mark.parametrize(
    ("phase", "ready", "deleting", "healthy"),
    [
        ("Running", True, False, True),
        ("Running", False, False, False),
        ("Pending", True, False, False),
        ("Running", True, True, False),
    ],
)
def test_health(phase: str, ready: bool, deleting: bool, healthy: bool) -> None:
    assert identity.is_healthy(pod(0, phase=phase, ready=ready, deleting=deleting)) is healthy


def test_available_after_min_ready_seconds() -> None:
    fresh = pod(0, ready_since="2024-01-01T00:59:50Z")
    assert identity.is_running_and_available(fresh, 0, NOW)
    assert not identity.is_running_and_available(fresh, 30, NOW)
    assert identity.is_running_and_available(fresh, 5, NOW)


def test_spec_readers_tolerate_bad_values() -> None:
    broken = sts(replicas=3, ordinals={"start": "x"}, minReadySeconds=-1)
    broken["spec"]["replicas"] = "three"
    assert identity.replicas(broken) == 1
    assert identity.start_ordinal(broken) == 0
    assert identity.min_ready_seconds(broken) == 0
