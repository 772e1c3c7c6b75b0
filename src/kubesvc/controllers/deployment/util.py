"""Deployment arithmetic and bookkeeping, as upstream's `deployment/util` package does it.

Pure helpers over Deployment and ReplicaSet JSON: maxSurge/maxUnavailable from ints or percents
(surge rounds up, unavailable rounds down, both zero makes unavailable 1), revisions and the
annotations the controller keeps on ReplicaSets (revision, revision-history, desired-replicas,
max-replicas, plus the Deployment's own annotations), finding the new ReplicaSet by template
(ignoring the pod-template-hash label), the orderings upstream sorts by, the Available and
Progressing conditions with their reasons, and the status computed from the ReplicaSets.
"""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime
from typing import Any

from kubesvc.api.meta import now_rfc3339, parse_time
from kubesvc.controllers.pods import meta, spec, status

Obj = dict[str, Any]

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
_SKIPPED_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}
MAX_REVISION_HISTORY_CHARS = 2000
MAX_INT32 = 2**31 - 1

# Condition reasons (deployment/util).
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_CREATED = "NewReplicaSetCreated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
TIMED_OUT = "ProgressDeadlineExceeded"
FAILED_RS_CREATE = "ReplicaSetCreateError"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def replicas(obj: Obj) -> int:
    value = spec(obj).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Obj, key: str) -> int:
    return int(status(obj).get(key) or 0)


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].lstrip("-").isdigit():
        raise ValueError(f'invalid value for IntOrString: invalid value "{text}"')
    percent = int(text[:-1])
    return math.ceil(percent * total / 100) if round_up else math.floor(percent * total / 100)


def is_rolling_update(d: Obj) -> bool:
    return bool((spec(d).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate")


def resolve_fenceposts(surge: Any, unavailable: Any, desired: int) -> tuple[int, int]:
    max_surge = scaled_value(0 if surge is None else surge, desired, True)
    max_unavailable = scaled_value(0 if unavailable is None else unavailable, desired, False)
    if max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1
    return max_surge, max_unavailable


def rolling_update(d: Obj) -> Obj:
    return (spec(d).get("strategy") or {}).get("rollingUpdate") or {}


def max_surge(d: Obj) -> int:
    if not is_rolling_update(d):
        return 0
    rolling = rolling_update(d)
    return resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas(d))[
        0
    ]


def max_unavailable(d: Obj) -> int:
    if not is_rolling_update(d) or replicas(d) == 0:
        return 0
    rolling = rolling_update(d)
    value = resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas(d))
    return min(value[1], replicas(d))


# --------------------------------------------------------------------------- revisions


def revision(obj: Obj) -> int | None:
    """The revision annotation; 0 when absent, None when it is not a number."""
    text = (meta(obj).get("annotations") or {}).get(REVISION)
    if text is None:
        return 0
    try:
        return int(text)
    except ValueError:
        return None


def max_revision(rss: list[Obj]) -> int:
    return max((revision(rs) or 0 for rs in rss), default=0)


def _annotations(obj: Obj) -> dict[str, str]:
    m = obj.setdefault("metadata", {})
    if not isinstance(m.get("annotations"), dict):
        m["annotations"] = {}
    annotations: dict[str, str] = m["annotations"]
    return annotations


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    annotations = _annotations(rs)
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if annotations.get(key) != value:
            annotations[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    annotations = meta(rs).get("annotations") or {}
    return annotations.get(DESIRED_REPLICAS) != str(desired) or annotations.get(
        MAX_REPLICAS
    ) != str(maximum)


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: str, exists: bool) -> bool:
    """SetNewReplicaSetAnnotations: copy the Deployment's annotations, raise the revision."""
    annotations = _annotations(rs)
    changed = False
    for key, value in (meta(d).get("annotations") or {}).items():
        if key not in _SKIPPED_ANNOTATIONS and annotations.get(key) != value:
            annotations[key] = value
            changed = True
    old_text = annotations.get(REVISION)
    try:
        old = int(old_text) if old_text is not None else 0
    except ValueError:
        return changed
    if old < int(new_revision):
        annotations[REVISION] = new_revision
        changed = True
        if old_text is not None:
            _append_history(annotations, old_text)
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


def _append_history(annotations: dict[str, str], old_revision: str) -> None:
    history = annotations.get(REVISION_HISTORY, "")
    if not history:
        annotations[REVISION_HISTORY] = old_revision
        return
    revisions = history.split(",")
    total = len(history) + len(old_revision) + 1
    start = 0
    while total > MAX_REVISION_HISTORY_CHARS and start < len(revisions):
        total -= len(revisions[start]) + 1
        start += 1
    if total <= MAX_REVISION_HISTORY_CHARS:
        annotations[REVISION_HISTORY] = ",".join([*revisions[start:], old_revision])


# --------------------------------------------------------------------------- replica sets


def _without_hash(template: Any) -> Any:
    result = copy.deepcopy(template) if isinstance(template, dict) else {}
    labels = (result.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
        if not labels:
            result["metadata"].pop("labels")
    if isinstance(result.get("metadata"), dict) and not result["metadata"]:
        result.pop("metadata")
    return result


def equal_ignore_hash(a: Any, b: Any) -> bool:
    return bool(_without_hash(a) == _without_hash(b))


def created(obj: Obj) -> datetime:
    return parse_time(meta(obj).get("creationTimestamp")) or _EPOCH


def by_creation(obj: Obj) -> tuple[datetime, str]:
    return created(obj), str(meta(obj).get("name") or "")


def find_new_rs(d: Obj, rss: list[Obj]) -> Obj | None:
    template = spec(d).get("template")
    for rs in sorted(rss, key=by_creation):
        if equal_ignore_hash(spec(rs).get("template"), template):
            return rs
    return None


def active(rss: list[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def sum_spec(rss: list[Obj | None]) -> int:
    return sum(replicas(rs) for rs in rss if rs is not None)


def sum_status(rss: list[Obj | None], key: str) -> int:
    return sum(status_int(rs, key) for rs in rss if rs is not None)


def by_revision(rs: Obj) -> tuple[int, datetime, str]:
    value = revision(rs)
    return (value if value is not None else 0, *by_creation(rs))


# --------------------------------------------------------------------------- conditions


def new_condition(kind: str, state: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = now_rfc3339(now)
    return {
        "type": kind,
        "status": state,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(st: Obj, kind: str) -> Obj | None:
    for cond in st.get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def set_condition(st: Obj, cond: Obj) -> None:
    """SetDeploymentCondition: same status and reason is no change; status kept keeps its time."""
    current = get_condition(st, cond["type"])
    if current and current["status"] == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current and current["status"] == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(st, cond["type"])
    st["conditions"] = [*(st.get("conditions") or []), cond]


def remove_condition(st: Obj, kind: str) -> None:
    kept = [c for c in st.get("conditions") or [] if c.get("type") != kind]
    if kept:
        st["conditions"] = kept
    else:
        st.pop("conditions", None)


def has_progress_deadline(d: Obj) -> bool:
    deadline = spec(d).get("progressDeadlineSeconds")
    return deadline is not None and int(deadline) != MAX_INT32


def calculate_status(all_rss: list[Obj | None], new_rs: Obj | None, d: Obj, now: datetime) -> Obj:
    available = sum_status(all_rss, "availableReplicas")
    unavailable = max(0, sum_spec(all_rss) - available)
    counts = {
        "observedGeneration": meta(d).get("generation"),
        "replicas": sum_status(all_rss, "replicas"),
        "updatedReplicas": sum_status([new_rs], "replicas"),
        "readyReplicas": sum_status(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
    }
    new: Obj = {k: v for k, v in counts.items() if v}
    old = status(d)
    if old.get("conditions"):
        new["conditions"] = [dict(c) for c in old["conditions"]]
    if old.get("collisionCount") is not None:
        new["collisionCount"] = old["collisionCount"]
    if available >= replicas(d) - max_unavailable(d):
        cond = new_condition(
            "Available", "True", MIN_AVAILABLE, "Deployment has minimum availability.", now
        )
    else:
        cond = new_condition(
            "Available",
            "False",
            MIN_UNAVAILABLE,
            "Deployment does not have minimum availability.",
            now,
        )
    set_condition(new, cond)
    return new


def deployment_complete(d: Obj, st: Obj) -> bool:
    want = replicas(d)
    return (
        int(st.get("updatedReplicas") or 0) == want
        and int(st.get("replicas") or 0) == want
        and int(st.get("availableReplicas") or 0) == want
        and int(st.get("observedGeneration") or 0) >= int(meta(d).get("generation") or 0)
    )


def deployment_progressing(d: Obj, st: Obj) -> bool:
    old = status(d)

    def n(s: Obj, key: str) -> int:
        return int(s.get(key) or 0)

    return (
        n(st, "updatedReplicas") > n(old, "updatedReplicas")
        or n(st, "replicas") - n(st, "updatedReplicas")
        < n(old, "replicas") - n(old, "updatedReplicas")
        or n(st, "readyReplicas") > n(old, "readyReplicas")
        or n(st, "availableReplicas") > n(old, "availableReplicas")
    )


def deployment_timed_out(d: Obj, st: Obj, now: datetime) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(st, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    deadline = int(spec(d).get("progressDeadlineSeconds") or 0)
    return since is not None and (now - since).total_seconds() > deadline
