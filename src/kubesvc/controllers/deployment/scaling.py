"""Proportional scaling: how a Deployment's new size is shared among its ReplicaSets.

When spec.replicas changes mid-rollout, upstream does not scale only the newest ReplicaSet: if
exactly one ReplicaSet is active (or none), it takes the whole size (`active_or_latest`); if the
new one is saturated, the old ones go to zero (`is_saturated`); otherwise the replicas to add or
remove are spread over the active ReplicaSets in proportion to their size, measured against the
max-replicas annotation written at the last scale (`proportion`, rounded half away from zero as
`integer.RoundToInt32`), never exceeding what is left to distribute.
"""

from __future__ import annotations

from typing import Any

from kubesvc.controllers.deployment import util as du
from kubesvc.controllers.pods import meta

Obj = dict[str, Any]


def active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=du.by_creation, reverse=True)
    running = du.active([*newest_first, new_rs])
    if not running:
        return new_rs if new_rs is not None else newest_first[0]
    return running[0] if len(running) == 1 else None


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    desired = (meta(rs).get("annotations") or {}).get(du.DESIRED_REPLICAS, "")
    if not desired.lstrip("-").isdigit():
        return False
    want = du.replicas(d)
    return (
        du.replicas(rs) == want
        and int(desired) == want
        and du.status_int(rs, "availableReplicas") == want
    )


def round_half_away(value: float) -> int:
    """integer.RoundToInt32: halves away from zero."""
    return int(value - 0.5) if value < 0 else int(value + 0.5)


def proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    """GetReplicaSetProportion."""
    if du.replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    share = fraction(rs, d)
    allowed = to_add - added
    return min(share, allowed) if to_add > 0 else max(share, allowed)


def fraction(rs: Obj, d: Obj) -> int:
    if du.replicas(d) == 0:
        return -du.replicas(rs)
    max_now = du.replicas(d) + du.max_surge(d)
    text = (meta(rs).get("annotations") or {}).get(du.MAX_REPLICAS, "")
    before = int(text) if text.lstrip("-").isdigit() else 0
    if before == 0:
        before = du.status_int(d, "replicas")
        if before == 0:
            return 0
    return round_half_away(du.replicas(rs) * max_now / before) - du.replicas(rs)
