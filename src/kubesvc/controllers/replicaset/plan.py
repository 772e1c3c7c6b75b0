"""What the ReplicaSet controller decides, as pure functions of the cached objects.

- `pod_from_template`: the pod to create (controller.GetPodFromTemplate): the template's labels,
  annotations, finalizers and spec, `generateName: RSNAME-`, a controller ownerReference.
- `pods_to_delete`: which pods go when scaling down, ranked as `ActivePodsWithRanks`: unassigned
  before assigned, Pending < Unknown < Running, not ready before ready, lower
  `controller.kubernetes.io/pod-deletion-cost` first, pods doubled up on a node with more of
  their siblings (pods of any ReplicaSet of the same Deployment) first, then the most recently
  ready, then more restarts, then the newest. Times compare on a log2 scale (LogarithmicScaleDown:
  pods ready or created within the same power-of-two age bucket tie and fall back to uid).
- `calculate_status`: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas and the
  ReplicaFailure condition, with zero counts left out as Go's `omitempty` does.
"""

from __future__ import annotations

import copy
import functools
import math
from datetime import datetime
from typing import Any

from kubesvc.api.meta import now_rfc3339, parse_time
from kubesvc.api.selectors import LabelSelector
from kubesvc.controllers.owners import new_controller_ref
from kubesvc.controllers.pods import (
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    max_restarts,
    meta,
    phase,
    ready_time,
    spec,
    status,
)

Obj = dict[str, Any]

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def replicas(rs: Obj) -> int:
    value = spec(rs).get("replicas")
    return 1 if value is None else int(value)


def pod_from_template(rs: Obj) -> Obj:
    template = spec(rs).get("template") or {}
    template_meta = template.get("metadata") or {}
    pod_meta: Obj = {"generateName": f"{meta(rs).get('name')}-"}
    for key in ("labels", "annotations", "finalizers"):
        if template_meta.get(key):
            pod_meta[key] = copy.deepcopy(template_meta[key])
    pod_meta["ownerReferences"] = [new_controller_ref(rs, "apps/v1", "ReplicaSet")]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def _deletion_cost(pod: Obj) -> int:
    text = (meta(pod).get("annotations") or {}).get(DELETION_COST)
    try:
        value = int(str(text))
    except ValueError:
        return 0
    return value if -(2**31) <= value < 2**31 else 0


def _log_rank(when: datetime, now: datetime) -> int:
    nanos = (now - when).total_seconds() * 1e9
    return int(math.log2(nanos)) if nanos > 0 else -1


def _after_or_zero(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is None
    return a > b


def _time_less(a: datetime | None, b: datetime | None, ua: str, ub: str, now: datetime) -> bool:
    if a is None or b is None:
        return _after_or_zero(a, b)
    diff = _log_rank(a, now) - _log_rank(b, now)
    return ua < ub if diff == 0 else diff < 0


def _less(a: Obj, b: Obj, rank_a: int, rank_b: int, now: datetime) -> bool:
    node_a, node_b = spec(a).get("nodeName") or "", spec(b).get("nodeName") or ""
    if node_a != node_b and (not node_a or not node_b):
        return not node_a
    phase_a, phase_b = _PHASE_ORDER.get(phase(a), 0), _PHASE_ORDER.get(phase(b), 0)
    if phase_a != phase_b:
        return phase_a < phase_b
    if is_pod_ready(a) != is_pod_ready(b):
        return not is_pod_ready(a)
    if _deletion_cost(a) != _deletion_cost(b):
        return _deletion_cost(a) < _deletion_cost(b)
    if rank_a != rank_b:
        return rank_a > rank_b
    uid_a, uid_b = str(meta(a).get("uid") or ""), str(meta(b).get("uid") or "")
    if is_pod_ready(a) and is_pod_ready(b):
        ready_a, ready_b = ready_time(a), ready_time(b)
        if ready_a != ready_b:
            return _time_less(ready_a, ready_b, uid_a, uid_b, now)
    restarts_a, restarts_b = max_restarts(a), max_restarts(b)
    if restarts_a != restarts_b:
        return restarts_a > restarts_b
    created_a = parse_time(meta(a).get("creationTimestamp"))
    created_b = parse_time(meta(b).get("creationTimestamp"))
    if created_a != created_b:
        return _time_less(created_a, created_b, uid_a, uid_b, now)
    return False


def rank_pods(pods: list[Obj], related: list[Obj], now: datetime) -> list[Obj]:
    """`pods` in deletion order, ranked by how many active `related` pods share their node."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_pod_active(pod):
            node = str(spec(pod).get("nodeName") or "")
            on_node[node] = on_node.get(node, 0) + 1
    ranked = [(pod, on_node.get(str(spec(pod).get("nodeName") or ""), 0)) for pod in pods]

    def compare(x: tuple[Obj, int], y: tuple[Obj, int]) -> int:
        if _less(x[0], y[0], x[1], y[1], now):
            return -1
        if _less(y[0], x[0], y[1], x[1], now):
            return 1
        return 0

    return [pod for pod, _ in sorted(ranked, key=functools.cmp_to_key(compare))]


def pods_to_delete(pods: list[Obj], related: list[Obj], diff: int, now: datetime) -> list[Obj]:
    if diff < len(pods):
        pods = rank_pods(pods, related, now)
    return pods[:diff]


def set_condition(conditions: list[Obj], new: Obj) -> list[Obj]:
    """SetCondition of the workload controllers: same status and reason is no change."""
    for cond in conditions:
        if cond.get("type") == new["type"]:
            if cond.get("status") == new.get("status") and cond.get("reason") == new.get("reason"):
                return conditions
            break
    return [c for c in conditions if c.get("type") != new["type"]] + [new]


def calculate_status(rs: Obj, pods: list[Obj], manage_error: str | None, now: datetime) -> Obj:
    """The status for `pods` (the active pods the ReplicaSet owns)."""
    new = copy.deepcopy(status(rs))
    template_labels = (spec(rs).get("template") or {}).get("metadata", {}).get("labels") or {}
    template_selector = LabelSelector.from_map(template_labels)
    min_ready = int(spec(rs).get("minReadySeconds") or 0)
    fully = sum(1 for p in pods if template_selector.matches(meta(p).get("labels") or {}))
    ready = sum(1 for p in pods if is_pod_ready(p))
    available = sum(1 for p in pods if is_pod_available(p, min_ready, now))
    conditions = list(new.get("conditions") or [])
    has_failure = any(c.get("type") == "ReplicaFailure" for c in conditions)
    if manage_error is not None and not has_failure:
        diff = len(pods) - replicas(rs)
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        failure = {
            "type": "ReplicaFailure",
            "status": "True",
            "lastTransitionTime": now_rfc3339(now),
            "reason": reason,
            "message": manage_error,
        }
        conditions = set_condition(conditions, failure)
    elif manage_error is None and has_failure:
        conditions = [c for c in conditions if c.get("type") != "ReplicaFailure"]
    new["replicas"] = len(pods)
    for key, value in (
        ("fullyLabeledReplicas", fully),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ):
        if value:
            new[key] = value
        else:
            new.pop(key, None)
    if conditions:
        new["conditions"] = conditions
    else:
        new.pop("conditions", None)
    return new


def status_unchanged(rs: Obj, new: Obj) -> bool:
    old = status(rs)
    keys = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
    return (
        all(int(old.get(k) or 0) == int(new.get(k) or 0) for k in keys)
        and meta(rs).get("generation") == old.get("observedGeneration")
        and (old.get("conditions") or []) == (new.get("conditions") or [])
    )
