"""What the StatefulSet controller does next, as a pure function of the set, its pods and revisions.

`reconcile` is upstream's updateStatefulSet turned into a plan. The set's pods are split by
ordinal: those in `[start, start + replicas)` fill the slots, the others are condemned; an
empty slot gets the pod it should have (`identity.new_pod`, from the current revision below the
partition, else the update revision). Then, slot by slot in ascending order:

- a Failed or Succeeded pod is deleted and made again under the same name;
- a missing pod is created; with OrderedReady (monotonic) the plan stops there, so `NAME-(i+1)`
  waits for `NAME-i`;
- with OrderedReady, a terminating pod, or one not yet Running and Ready (and available for
  minReadySeconds), stops the plan;
- a pod whose identity labels drifted gets them back (an update).

Then condemned pods go from the highest ordinal down, one at a time with OrderedReady and only
once everything below is healthy (the first unhealthy pod itself may go); Parallel deletes them
all at once. Last, unless the strategy is OnDelete, a rolling update deletes the highest-ordinal
pod at or above the partition that is not at the update revision (its replacement comes in a
later pass), waiting for unhealthy pods on the way down.

The status counts the set's pods (created ones as replicas; Running and Ready as ready, and
available after minReadySeconds; not terminating ones by revision as current and updated),
adjusted for the plan's creates and deletes as upstream does, and completes a rolling update
when every replica is updated and ready. Zero counts are left out (Go's `omitempty`), except
`replicas` and `availableReplicas`, which Go always writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubesvc.controllers.pods import is_deleting, meta, spec, status
from kubesvc.controllers.statefulset import identity as ident
from kubesvc.controllers.statefulset.revision import apply_revision, name_of

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """One write: `create` a pod, `delete` one, or `update` one (its identity labels)."""

    verb: str
    pod: Obj
    event: tuple[str, str] | None = None  # (reason, message) recorded before acting


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    actions: tuple[Action, ...]
    status: Obj
    waiting: str = ""
    requeue_after: float | None = None


@dataclass(slots=True)
class _Tally:
    """Counts of the status, kept up to date as actions are planned."""

    current: str
    update: str
    replicas: int = 0
    ready: int = 0
    available: int = 0
    current_replicas: int = 0
    updated_replicas: int = 0
    actions: list[Action] = field(default_factory=list)

    def revision(self, pod: Obj, delta: int) -> None:
        rev = ident.revision_of(pod)
        if rev == self.current:
            self.current_replicas += delta
        if rev == self.update:
            self.updated_replicas += delta

    def create(self, pod: Obj) -> None:
        self.actions.append(Action(verb="create", pod=pod))
        self.replicas += 1
        self.revision(pod, 1)

    def delete(self, pod: Obj, event: tuple[str, str] | None = None) -> None:
        self.actions.append(Action(verb="delete", pod=pod, event=event))
        self.revision(pod, -1)


def _count(tally: _Tally, pods: list[Obj], min_ready: int, now: datetime) -> None:
    for pod in pods:
        if ident.is_created(pod):
            tally.replicas += 1
        if ident.is_running_and_ready(pod):
            tally.ready += 1
            if ident.is_running_and_available(pod, min_ready, now):
                tally.available += 1
        if ident.is_created(pod) and not ident.is_terminating(pod):
            tally.revision(pod, 1)


def _partition(sts: Obj) -> int | None:
    rolling = (spec(sts).get("updateStrategy") or {}).get("rollingUpdate")
    if not isinstance(rolling, dict):
        return None
    value = rolling.get("partition")
    return value if isinstance(value, int) else 0


def _versioned_pod(sts: Obj, current: Obj, update: Obj, number: int) -> Obj:
    """newVersionedStatefulSetPod: below the partition a new pod keeps the current revision."""
    strategy = spec(sts).get("updateStrategy") or {}
    start, partition = ident.start_ordinal(sts), _partition(sts)
    done = status(sts).get("currentReplicas")
    done = done if isinstance(done, int) else 0
    keep = (
        strategy.get("type") == "RollingUpdate" and partition is None and number < start + done
    ) or (partition is not None and number < start + partition)
    source = current if keep else update
    return ident.new_pod(apply_revision(sts, source), number, name_of(source))


def _slots(sts: Obj, pods: list[Obj], current: Obj, update: Obj) -> tuple[list[Obj], list[Obj]]:
    count, start = ident.replicas(sts), ident.start_ordinal(sts)
    slots: list[Obj | None] = [None] * count
    condemned: list[Obj] = []
    for pod in pods:
        number = ident.ordinal(pod)
        if start <= number < start + count:
            slots[number - start] = pod
        elif number >= 0:
            condemned.append(pod)
    condemned.sort(key=ident.ordinal)
    filled = [
        pod if pod is not None else _versioned_pod(sts, current, update, start + i)
        for i, pod in enumerate(slots)
    ]
    return filled, condemned


def _recreate(sts: Obj, tally: _Tally, pod: Obj, current: Obj, update: Obj) -> Obj:
    what = "failed" if ident.is_failed(pod) else "terminated"
    reason = "RecreatingFailedPod" if what == "failed" else "RecreatingTerminatedPod"
    message = (
        f"StatefulSet {meta(sts).get('namespace')}/{ident.name_of(sts)} is recreating "
        f"{what} Pod {meta(pod).get('name')}"
    )
    tally.delete(pod, (reason, message))
    tally.replicas -= 1
    return _versioned_pod(sts, current, update, ident.ordinal(pod))


def _steps(
    sts: Obj,
    tally: _Tally,
    slots: list[Obj],
    condemned: list[Obj],
    revisions: tuple[Obj, Obj],
    now: datetime,
) -> str:
    """Plan the actions into `tally`; return what blocks further progress ("" if nothing)."""
    current, update = revisions
    monotonic = spec(sts).get("podManagementPolicy") != "Parallel"
    min_ready = ident.min_ready_seconds(sts)
    unhealthy = [p for p in [*slots, *condemned] if not ident.is_healthy(p)]
    first_unhealthy = min(unhealthy, key=ident.ordinal) if unhealthy else None
    for i, pod in enumerate(slots):
        name = str(meta(pod).get("name"))
        if ident.is_created(pod) and (ident.is_failed(pod) or ident.is_succeeded(pod)):
            pod = slots[i] = _recreate(sts, tally, pod, current, update)
        if not ident.is_created(pod):
            tally.create(pod)
            if monotonic:
                return f"creating {name}"
            continue
        if ident.is_terminating(pod) and monotonic:
            return f"waiting for {name} to terminate"
        if not ident.is_running_and_available(pod, min_ready, now) and monotonic:
            return f"waiting for {name} to be Running and Ready"
        if not ident.identity_matches(sts, pod):
            tally.actions.append(Action(verb="update", pod=ident.with_identity(sts, pod)))
    for pod in reversed(condemned):
        name = str(meta(pod).get("name"))
        if ident.is_terminating(pod):
            if monotonic:
                return f"waiting for {name} to terminate before scaling down"
            continue
        if monotonic and not ident.is_running_and_ready(pod) and pod is not first_unhealthy:
            return "waiting for pods to be Running and Ready before scaling down"
        tally.delete(pod)
        if monotonic:
            return f"scaling down {name}"
    if (spec(sts).get("updateStrategy") or {}).get("type") == "OnDelete":
        return ""
    for target in range(len(slots) - 1, (_partition(sts) or 0) - 1, -1):
        pod = slots[target]
        name = str(meta(pod).get("name"))
        if not ident.is_created(pod):
            return f"waiting for {name} to be created"
        if ident.revision_of(pod) != tally.update and not ident.is_terminating(pod):
            tally.actions.append(Action(verb="delete", pod=pod))
            tally.current_replicas -= 1
            return f"updating {name}"
        if not ident.is_healthy(pod):
            return f"waiting for {name} to update"
    return ""


def _status(sts: Obj, tally: _Tally, collision_count: int) -> Obj:
    new: Obj = {}
    if status(sts).get("conditions"):
        new["conditions"] = status(sts)["conditions"]
    generation = meta(sts).get("generation")
    if isinstance(generation, int):
        new["observedGeneration"] = generation
    current, current_replicas = tally.current, tally.current_replicas
    rolling = (spec(sts).get("updateStrategy") or {}).get("type") == "RollingUpdate"
    if rolling and tally.updated_replicas == tally.replicas == tally.ready:
        current, current_replicas = tally.update, tally.updated_replicas
    new["replicas"] = tally.replicas
    for key, value in (
        ("readyReplicas", tally.ready),
        ("currentReplicas", current_replicas),
        ("updatedReplicas", tally.updated_replicas),
    ):
        if value:
            new[key] = value
    new["currentRevision"] = current
    new["updateRevision"] = tally.update
    new["collisionCount"] = collision_count
    new["availableReplicas"] = tally.available
    return new


def reconcile(
    sts: Obj,
    pods: list[Obj],
    current: Obj,
    update: Obj,
    collision_count: int,
    now: datetime,
) -> Plan:
    """The plan for `sts` given the pods it owns and its current and update revisions."""
    tally = _Tally(current=name_of(current), update=name_of(update))
    min_ready = ident.min_ready_seconds(sts)
    _count(tally, pods, min_ready, now)
    slots, condemned = _slots(sts, pods, current, update)
    waiting = "being deleted"
    if not is_deleting(sts):
        waiting = _steps(sts, tally, slots, condemned, (current, update), now)
    new_status = _status(sts, tally, collision_count)
    requeue = None
    if min_ready and new_status.get("readyReplicas", 0) != new_status["availableReplicas"]:
        requeue = float(min_ready)
    return Plan(
        actions=tuple(tally.actions), status=new_status, waiting=waiting, requeue_after=requeue
    )


_COMPARED = (
    "observedGeneration",
    "replicas",
    "readyReplicas",
    "currentReplicas",
    "updatedReplicas",
    "availableReplicas",
    "currentRevision",
    "updateRevision",
    "collisionCount",
)


def status_changed(sts: Obj, new: Obj) -> bool:
    """inconsistentStatus: whether `new` differs from the stored status in what it sets
    (a zero or empty value and an absent one are the same, as after Go's decoding)."""
    old = status(sts)
    return any((old.get(k) or None) != (new.get(k) or None) for k in _COMPARED)
