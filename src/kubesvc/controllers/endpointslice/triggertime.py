"""When did the change behind an endpoints update happen? (Kubernetes' TriggerTimeTracker.)

The EndpointSlice controller writes `endpoints.kubernetes.io/last-change-trigger-time` on the
slices it creates or updates; kube-proxy subtracts it from the moment its rules are in place and
reports `kubeproxy_network_programming_duration_seconds`, the time from "a pod turned ready" to
"every node routes to it". A pod's trigger time is its Ready condition's lastTransitionTime, a
Service's its creationTimestamp. `TriggerTimes.compute` remembers, per Service, the times it saw
at the last sync and returns the earliest of those that changed since: the first change this
update carries. Pure (timestamps are RFC 3339 strings, which order as text within one zone).
"""

from __future__ import annotations

from typing import Any

ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
Obj = dict[str, Any]


def pod_trigger_time(pod: Obj) -> str | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("lastTransitionTime") or None
    return None


class TriggerTimes:
    def __init__(self) -> None:
        # service key → (service trigger time, pod uid → pod trigger time) at its last sync
        self._seen: dict[str, tuple[str | None, dict[str, str]]] = {}

    def compute(self, key: str, service: Obj, pods: list[Obj]) -> str | None:
        """The earliest trigger time among what changed for `key` since the last call."""
        created = (service.get("metadata") or {}).get("creationTimestamp")
        now: dict[str, str] = {}
        for pod in pods:
            when = pod_trigger_time(pod)
            if when:
                now[str((pod.get("metadata") or {}).get("uid"))] = when
        before_service, before = self._seen.get(key, (None, {}))
        changed = [t for uid, t in now.items() if before.get(uid) != t]
        if created and created != before_service:
            changed.append(created)
        self._seen[key] = (created, now)
        return min(changed) if changed else None

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)
