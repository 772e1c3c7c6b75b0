"""Node health bookkeeping, as the node lifecycle controller's tryUpdateNodeHealth does it.

The controller does not trust the clocks in heartbeats: it records *when it observed* a change,
on its own monotonic clock. A node's probe time moves when its Ready condition shows a new
lastHeartbeatTime or its Lease (kube-node-lease/NODE) a later spec.renewTime. When the probe is
older than the grace period (40 s by default; 60 s for a node that never posted a Ready
condition), Ready, MemoryPressure, DiskPressure and PIDPressure become Unknown with reason
NodeStatusUnknown and message "Kubelet stopped posting node status." (or, for conditions never
posted, NodeStatusNeverUpdated / "Kubelet never posted node status."), lastTransitionTime now.

`condition_taints` are the taints TaintNodesByCondition and the NoExecute pass keep on a node:
`node.kubernetes.io/not-ready` (Ready False) or `node.kubernetes.io/unreachable` (Ready Unknown)
with effects NoSchedule and NoExecute, and `node.kubernetes.io/unschedulable` for a cordoned one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubesvc.api.meta import now_rfc3339, parse_time
from kubesvc.controllers.pods import condition, meta, spec, status

Obj = dict[str, Any]

MONITORED = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
_MANAGED_TAINTS = {NOT_READY, UNREACHABLE, UNSCHEDULABLE}


@dataclass
class Health:
    ready: Obj | None
    probe: float
    lease_renew: datetime | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    node: Obj | None  # the node with updated conditions to write, None when unchanged
    observed_ready: Obj | None  # Ready as the node had it
    current_ready: Obj | None  # Ready after this pass


class HealthMonitor:
    def __init__(self, grace_period: float = 40.0, startup_grace_period: float = 60.0) -> None:
        self.grace_period = grace_period
        self.startup_grace_period = startup_grace_period
        self.nodes: dict[str, Health] = {}

    def forget(self, name: str) -> None:
        self.nodes.pop(name, None)

    def check(self, node: Obj, lease: Obj | None, now: float, wall: datetime) -> Verdict:
        name = str(meta(node).get("name"))
        ready = condition(node, "Ready")
        saved = self.nodes.get(name)
        grace = self.grace_period if ready is not None else self.startup_grace_period
        saved_ready = saved.ready if saved else None
        if saved is None or (saved_ready is None) != (ready is None):
            saved = Health(ready=ready, probe=now, lease_renew=saved.lease_renew if saved else None)
        elif (
            ready is not None
            and saved_ready is not None
            and saved_ready.get("lastHeartbeatTime") != ready.get("lastHeartbeatTime")
        ):
            saved = Health(ready=ready, probe=now, lease_renew=saved.lease_renew)
        renew = parse_time(spec(lease).get("renewTime")) if lease is not None else None
        if renew is not None and (saved.lease_renew is None or saved.lease_renew < renew):
            saved.lease_renew = renew
            saved.probe = now
        self.nodes[name] = saved
        if now <= saved.probe + grace:
            return Verdict(None, ready, ready)
        updated = mark_unknown(node, wall)
        current = condition(updated, "Ready")
        if current == ready:
            return Verdict(None, ready, ready)
        saved.ready = current
        return Verdict(updated, ready, current)


def mark_unknown(node: Obj, wall: datetime) -> Obj:
    updated = copy.deepcopy(node)
    conditions = list(status(updated).get("conditions") or [])
    stamp = now_rfc3339(wall)
    for kind in MONITORED:
        current = next((c for c in conditions if c.get("type") == kind), None)
        if current is None:
            conditions.append(
                {
                    "type": kind,
                    "status": "Unknown",
                    "lastHeartbeatTime": meta(node).get("creationTimestamp"),
                    "lastTransitionTime": stamp,
                    "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                }
            )
        elif current.get("status") != "Unknown":
            current.update(
                status="Unknown",
                reason="NodeStatusUnknown",
                message="Kubelet stopped posting node status.",
                lastTransitionTime=stamp,
            )
    updated.setdefault("status", {})["conditions"] = conditions
    return updated


def condition_taints(node: Obj, wall: datetime, existing: list[Obj]) -> list[Obj]:
    """The managed taints the node should carry (timeAdded kept from `existing`)."""
    ready = condition(node, "Ready")
    state = ready.get("status") if ready else "Unknown"
    wanted: list[Obj] = []
    key = {"False": NOT_READY, "Unknown": UNREACHABLE}.get(str(state))
    if key is not None:
        wanted.append({"key": key, "effect": "NoSchedule"})
        wanted.append({"key": key, "effect": "NoExecute"})
    if spec(node).get("unschedulable"):
        wanted.append({"key": UNSCHEDULABLE, "effect": "NoSchedule"})
    stamp = now_rfc3339(wall)
    for taint in wanted:
        if taint["effect"] == "NoExecute":
            old = next(
                (
                    t
                    for t in existing
                    if (t.get("key"), t.get("effect")) == (taint["key"], "NoExecute")
                ),
                None,
            )
            taint["timeAdded"] = (old or {}).get("timeAdded") or stamp
    return wanted


def taints_with_conditions(node: Obj, wall: datetime) -> list[Obj] | None:
    """The node's taints with the managed ones brought up to date; None when nothing changes."""
    taints = [t for t in spec(node).get("taints") or [] if isinstance(t, dict)]
    managed = [t for t in taints if t.get("key") in _MANAGED_TAINTS]
    wanted = condition_taints(node, wall, managed)

    def ident(items: list[Obj]) -> set[tuple[Any, Any]]:
        return {(t.get("key"), t.get("effect")) for t in items}

    if ident(managed) == ident(wanted):
        return None
    return [t for t in taints if t.get("key") not in _MANAGED_TAINTS] + wanted
