"""The Pod table printer: READY, STATUS and RESTARTS as kube-apiserver's `printPod` derives them.

STATUS starts from `status.reason` or the phase (`SchedulingGated` wins when the PodScheduled
condition says so), is overridden by the first init container that has not finished
(`Init:0/2`, `Init:CrashLoopBackOff`, `Init:Error`, `Init:ExitCode:1`, `Init:Signal:9`), otherwise
by the container statuses walked from last to first (waiting reason, terminated reason, `ExitCode:N`
or `Signal:N`), so the first container's state ends up winning. `Completed` with a container
still running becomes `Running` (pod Ready) or `NotReady`. A deleted pod prints `Terminating`
(`Unknown` when its node was lost) unless it already reached a terminal phase.

Sidecars (init containers with `restartPolicy: Always`) count towards READY's total and,
once started, towards its ready count. RESTARTS is the sum of restart counts, followed by
` (5m ago)` when a container's last termination time is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubesvc.api.printers_common import (
    Cell,
    Column,
    Obj,
    age,
    age_column,
    dicts,
    field,
    flag,
    integer,
    mapping,
    name,
    name_column,
    parse_time,
    since_time,
    text,
)

POD_COLUMNS = (
    name_column(),
    Column(
        name="Ready", description="The aggregate readiness state of this pod for accepting traffic."
    ),
    Column(name="Status", description="The aggregate status of the containers in this pod."),
    Column(
        name="Restarts",
        description="The number of times the containers in this pod have been restarted and when "
        "the last container in this pod has restarted.",
    ),
    age_column(),
    Column(name="IP", priority=1, description="podIP address allocated to the pod."),
    Column(name="Node", priority=1, description="NodeName is the node the pod is scheduled on."),
    Column(
        name="Nominated Node",
        priority=1,
        description="nominatedNodeName is set only when this pod preempts other pods on the node.",
    ),
    Column(
        name="Readiness Gates",
        priority=1,
        description="If specified, all readiness gates will be evaluated for pod readiness.",
    ),
)

_COMPLETED = {
    "Succeeded": "The pod has completed successfully.",
    "Failed": "The pod failed.",
}


class _Restarts:
    """A running restart count and the latest last-termination time seen."""

    __slots__ = ("count", "last")

    def __init__(self) -> None:
        self.count = 0
        self.last: datetime | None = None

    def add(self, status: Mapping[str, Any]) -> None:
        self.count += integer(status, "restartCount")
        finished = parse_time(field(status, "lastState", "terminated", "finishedAt"))
        if finished is not None and (self.last is None or self.last < finished):
            self.last = finished


def _condition(status: Mapping[str, Any], kind: str) -> str | None:
    """The status of the first condition of type `kind`, or None."""
    for cond in dicts(status, "conditions"):
        if text(cond, "type") == kind:
            return text(cond, "status")
    return None


def _has_ready_condition(status: Mapping[str, Any]) -> bool:
    return any(
        text(c, "type") == "Ready" and text(c, "status") == "True"
        for c in dicts(status, "conditions")
    )


def _terminated_reason(terminated: Mapping[str, Any], prefix: str) -> str:
    if text(terminated, "reason"):
        return prefix + text(terminated, "reason")
    if integer(terminated, "signal"):
        return f"{prefix}Signal:{integer(terminated, 'signal')}"
    return f"{prefix}ExitCode:{integer(terminated, 'exitCode')}"


class _PodState:
    """The mutable tallies of `printPod` while it walks the container statuses."""

    def __init__(self, pod: Obj) -> None:
        self.spec = mapping(pod, "spec")
        self.status = mapping(pod, "status")
        init_containers = dicts(self.spec, "initContainers")
        self.init_count = len(init_containers)
        self.init_by_name = {text(c, "name"): c for c in init_containers}
        self.total = len(dicts(self.spec, "containers")) + sum(
            1 for c in init_containers if text(c, "restartPolicy") == "Always"
        )
        self.ready = 0
        self.reason = text(self.status, "reason") or text(self.status, "phase")
        for cond in dicts(self.status, "conditions"):
            if text(cond, "type") == "PodScheduled" and text(cond, "reason") == "SchedulingGated":
                self.reason = "SchedulingGated"

    def is_sidecar(self, container_name: str) -> bool:
        init = self.init_by_name.get(container_name)
        return init is not None and text(init, "restartPolicy") == "Always"

    def walk_init(self, all_restarts: _Restarts, sidecar_restarts: _Restarts) -> bool:
        """Init container statuses in order; True while the pod is still initializing."""
        for i, cs in enumerate(dicts(self.status, "initContainerStatuses")):
            all_restarts.add(cs)
            sidecar = self.is_sidecar(text(cs, "name"))
            if sidecar:
                sidecar_restarts.add(cs)
            terminated = field(cs, "state", "terminated")
            waiting_reason = text(cs, "state", "waiting", "reason")
            if isinstance(terminated, Mapping) and integer(terminated, "exitCode") == 0:
                continue
            if sidecar and flag(cs, "started"):
                self.ready += 1 if flag(cs, "ready") else 0
                continue
            if isinstance(terminated, Mapping):
                self.reason = _terminated_reason(terminated, "Init:")
            elif waiting_reason and waiting_reason != "PodInitializing":
                self.reason = "Init:" + waiting_reason
            else:
                self.reason = f"Init:{i}/{self.init_count}"
            return True
        return False

    def walk_containers(self, restarts: _Restarts) -> None:
        """Container statuses from last to first, so the first container's state wins."""
        has_running = False
        for cs in reversed(dicts(self.status, "containerStatuses")):
            restarts.add(cs)
            terminated = field(cs, "state", "terminated")
            waiting_reason = text(cs, "state", "waiting", "reason")
            if waiting_reason:
                self.reason = waiting_reason
            elif isinstance(terminated, Mapping):
                self.reason = _terminated_reason(terminated, "")
            elif flag(cs, "ready") and isinstance(field(cs, "state", "running"), Mapping):
                has_running = True
                self.ready += 1
        if self.reason == "Completed" and has_running:
            self.reason = "Running" if _has_ready_condition(self.status) else "NotReady"


def _pod_ip(status: Mapping[str, Any]) -> str:
    """`status.podIP` is authoritative; otherwise the first of `status.podIPs`."""
    pod_ip = text(status, "podIP")
    if not pod_ip:
        pod_ip = text(status, "podIPs", 0, "ip")
    return pod_ip or "<none>"


def _readiness_gates(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    gates = dicts(spec, "readinessGates")
    if not gates:
        return "<none>"
    passed = sum(1 for g in gates if _condition(status, text(g, "conditionType")) == "True")
    return f"{passed}/{len(gates)}"


def pod_cells(pod: Obj, now: datetime) -> list[Cell]:
    state = _PodState(pod)
    restarts, sidecar_restarts = _Restarts(), _Restarts()
    initializing = state.walk_init(restarts, sidecar_restarts)
    if not initializing or _condition(state.status, "Initialized") == "True":
        restarts = sidecar_restarts
        state.walk_containers(restarts)

    phase = text(state.status, "phase")
    deleted = bool(text(pod, "metadata", "deletionTimestamp"))
    if deleted and text(state.status, "reason") == "NodeLost":
        state.reason = "Unknown"
    elif deleted and phase not in ("Succeeded", "Failed"):
        state.reason = "Terminating"

    restarts_cell = str(restarts.count)
    if restarts.count != 0 and restarts.last is not None:
        restarts_cell = f"{restarts.count} ({since_time(restarts.last, now)} ago)"

    return [
        name(pod),
        f"{state.ready}/{state.total}",
        state.reason,
        restarts_cell,
        age(pod, now),
        _pod_ip(state.status),
        text(state.spec, "nodeName") or "<none>",
        text(state.status, "nominatedNodeName") or "<none>",
        _readiness_gates(state.spec, state.status),
    ]


def pod_conditions(pod: Obj) -> list[dict[str, Any]]:
    """The row conditions upstream attaches: `Completed` for Succeeded and Failed pods."""
    phase = text(pod, "status", "phase")
    if phase not in _COMPLETED:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": _COMPLETED[phase]}]
