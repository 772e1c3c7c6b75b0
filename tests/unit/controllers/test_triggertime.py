"""The trigger time the EndpointSlice controller writes for kube-proxy's latency metric."""

from __future__ import annotations

from typing import Any

from kubesvc.controllers.endpointslice.triggertime import TriggerTimes, pod_trigger_time

SERVICE = {"metadata": {"name": "web", "creationTimestamp": "2026-11-23T10:00:00Z"}}


def pod(uid: str, ready_at: str | None) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True", "lastTransitionTime": ready_at}]
    return {"metadata": {"uid": uid}, "status": {"conditions": conditions if ready_at else []}}


def test_a_pod_s_trigger_time_is_its_ready_transition() -> None:
    assert pod_trigger_time(pod("a", "2026-11-23T10:00:05Z")) == "2026-11-23T10:00:05Z"
    assert pod_trigger_time(pod("a", None)) is None


def test_the_earliest_change_since_the_last_sync() -> None:
    times = TriggerTimes()
    first = [pod("a", "2026-11-23T10:00:05Z"), pod("b", "2026-11-23T10:00:07Z")]
    # a new Service: its creation is the first change
    assert times.compute("default/web", SERVICE, first) == "2026-11-23T10:00:00Z"
    # nothing changed: no trigger time
    assert times.compute("default/web", SERVICE, first) is None
    # b turned ready again later, c appeared: the earlier of the two changes
    later = [pod("a", "2026-11-23T10:00:05Z"), pod("b", "2026-11-23T10:01:00Z")]
    later.append(pod("c", "2026-11-23T10:00:50Z"))
    assert times.compute("default/web", SERVICE, later) == "2026-11-23T10:00:50Z"
    times.forget("default/web")
    assert times.compute("default/web", SERVICE, later) == "2026-11-23T10:00:00Z"
