"""A Deployment's rollout status and Progressing condition, as upstream's progress.go.

`rollout_status(d, replica_sets, new_rs, now)` is syncRolloutStatus without the write: the
status computed from the ReplicaSets, then, while a progress deadline is set and the rollout is
not already known complete, the Progressing condition: NewReplicaSetAvailable ("ReplicaSet "X"
has successfully progressed.") when complete, ReplicaSetUpdated ("... is progressing.",
keeping lastTransitionTime, refreshing lastUpdateTime) when any count moved forward,
ProgressDeadlineExceeded ("... has timed out progressing.") when nothing moved for
progressDeadlineSeconds. A
ReplicaFailure condition of the new (else any) ReplicaSet is copied over. The second value is
when to look again if the status does not change (requeueStuckDeployment): the deadline, plus a
second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubesvc.api.meta import parse_time
from kubesvc.controllers.deployment import util as du
from kubesvc.controllers.pods import meta, spec, status

Obj = dict[str, Any]


def rollout_status(
    d: Obj, all_rss: list[Obj | None], new_rs: Obj | None, now: datetime
) -> tuple[Obj, float | None]:
    new = du.calculate_status(all_rss, new_rs, d, now)
    if not du.has_progress_deadline(d):
        du.remove_condition(new, "Progressing")
    current = du.get_condition(status(d), "Progressing")
    complete_before = (
        int(new.get("replicas") or 0) == int(new.get("updatedReplicas") or 0)
        and current is not None
        and current.get("reason") == du.NEW_RS_AVAILABLE
    )
    if du.has_progress_deadline(d) and not complete_before:
        _progress(d, new, new_rs, current, now)
    failures = replica_failures(all_rss, new_rs)
    if failures:
        du.set_condition(new, failures[0])
    else:
        du.remove_condition(new, "ReplicaFailure")
    return new, stuck_requeue(d, new, now)


def _progress(d: Obj, new: Obj, new_rs: Obj | None, current: Obj | None, now: datetime) -> None:
    if new_rs is not None:
        name = f'ReplicaSet "{meta(new_rs)["name"]}"'
    else:
        name = f'Deployment "{meta(d)["name"]}"'
    if du.deployment_complete(d, new):
        message = f"{name} has successfully progressed."
        du.set_condition(
            new, du.new_condition("Progressing", "True", du.NEW_RS_AVAILABLE, message, now)
        )
    elif du.deployment_progressing(d, new):
        message = f"{name} is progressing."
        cond = du.new_condition("Progressing", "True", du.RS_UPDATED, message, now)
        if current is not None:
            if current.get("status") == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            du.remove_condition(new, "Progressing")
        du.set_condition(new, cond)
    elif du.deployment_timed_out(d, new, now):
        message = f"{name} has timed out progressing."
        du.set_condition(new, du.new_condition("Progressing", "False", du.TIMED_OUT, message, now))


def stuck_requeue(d: Obj, new: Obj, now: datetime) -> float | None:
    current = du.get_condition(status(d), "Progressing")
    if not du.has_progress_deadline(d) or current is None:
        return None
    if du.deployment_complete(d, new) or current.get("reason") == du.TIMED_OUT:
        return None
    since = parse_time(current.get("lastUpdateTime"))
    if since is None:
        return None
    deadline = int(spec(d).get("progressDeadlineSeconds") or 0)
    after = (since - now).total_seconds() + deadline
    return 1.0 if after < 1 else after + 1.0


def replica_failures(all_rss: list[Obj | None], new_rs: Obj | None) -> list[Obj]:
    def failures(rs: Obj | None) -> list[Obj]:
        return [
            {
                "type": "ReplicaFailure",
                "status": c.get("status"),
                "lastUpdateTime": c.get("lastTransitionTime"),
                "lastTransitionTime": c.get("lastTransitionTime"),
                "reason": c.get("reason"),
                "message": c.get("message"),
            }
            for c in (status(rs).get("conditions") or [] if rs else [])
            if c.get("type") == "ReplicaFailure"
        ]

    found = failures(new_rs)
    if found:
        return found
    return [c for rs in all_rss for c in failures(rs)]
