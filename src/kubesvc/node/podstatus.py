"""The pod status the kubelet reports, computed from the agent's view of its containers.

`pod_status(pod, view, now=...)` is generateAPIPodStatus plus the status manager's merge:
container statuses in spec order (a container the agent has not started yet is Waiting
ContainerCreating, or PodInitializing when the pod has init containers), the phase by getPhase
(Pending/Running/Succeeded/Failed from the container states and restartPolicy; a terminal phase
never changes back), the conditions the kubelet owns (PodReadyToStartContainers, Initialized,
Ready, ContainersReady, PodScheduled, after any other conditions, each keeping its
lastTransitionTime while its status is unchanged), pod and host IPs, startTime (set once) and
qosClass. Messages are the kubelet's (`containers with unready status: [a b]`).

`ContainerView` also carries the lifecycle as pure steps (waiting → run → terminate →
back_off → run …): a run after an earlier one moves its end to lastState and counts a
restart, as the kubelet's restartCount does. `should_restart` applies the restartPolicy;
`restart_backoff` is the kubelet's container restart back-off (the first restart at once, then
10 s doubling to 300 s) and `crash_loop_message` its CrashLoopBackOff message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from kubesvc.api.defaults import pod_qos_class
from kubesvc.api.meta import now_rfc3339

CONTAINER_ID_PREFIX = "kubesvc://"
INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
KUBELET_CONDITIONS = (
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
)
TERMINAL = ("Succeeded", "Failed")
Timestamp = datetime | str


def _rfc3339(moment: Timestamp) -> str:
    return moment if isinstance(moment, str) else now_rfc3339(moment)


@dataclass(frozen=True, slots=True, kw_only=True)
class Running:
    started_at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiting:
    reason: str
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Terminated:
    exit_code: int
    reason: str = ""  # default: Completed for exit code 0, Error otherwise
    message: str = ""
    signal: int = 0
    started_at: str = ""
    finished_at: str = ""
    container_id: str = ""


ContainerState = Running | Waiting | Terminated


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerView:
    """What the agent knows of one container; `container_id` is bare (the prefix is added)."""

    name: str
    state: ContainerState
    image: str = ""
    image_id: str = ""
    container_id: str = ""
    last_state: Terminated | None = None
    restart_count: int = 0
    ready: bool = False
    started: bool | None = None  # None: started when running (no startup probe)

    @classmethod
    def waiting(
        cls, name: str, image: str = "", reason: str = "ContainerCreating", message: str = ""
    ) -> ContainerView:
        """A container not created yet."""
        return cls(name=name, image=image, state=Waiting(reason=reason, message=message))

    def wait(self, reason: str, message: str = "") -> ContainerView:
        """Waiting for `reason` (CreateContainerConfigError, ErrImagePull…), history kept."""
        last = self.state if isinstance(self.state, Terminated) else self.last_state
        waiting = Waiting(reason=reason, message=message)
        return replace(self, state=waiting, last_state=last, ready=False, started=None)

    def run(
        self, started_at: Timestamp, container_id: str = "", image_id: str = ""
    ) -> ContainerView:
        """A (new) container is running; a restart moves the previous end to last_state
        and counts one more restart."""
        ran_before = isinstance(self.state, Terminated) or self.last_state is not None
        last = self.state if isinstance(self.state, Terminated) else self.last_state
        return replace(
            self,
            state=Running(started_at=_rfc3339(started_at)),
            last_state=last,
            restart_count=self.restart_count + ran_before,
            container_id=container_id or self.container_id,
            image_id=image_id or self.image_id,
            ready=False,
            started=None,
        )

    def terminate(
        self, exit_code: int, finished_at: Timestamp, reason: str = "", signal: int = 0
    ) -> ContainerView:
        """The running container exited."""
        started = self.state.started_at if isinstance(self.state, Running) else ""
        end = Terminated(
            exit_code=exit_code,
            reason=reason,
            signal=signal,
            started_at=started,
            finished_at=_rfc3339(finished_at),
            container_id=self.container_id,
        )
        return replace(self, state=end, ready=False, started=None)

    def back_off(self, delay: float, pod: dict[str, Any]) -> ContainerView:
        """Waiting in CrashLoopBackOff before the next restart."""
        return self.wait("CrashLoopBackOff", crash_loop_message(delay, self.name, pod))

    def set_ready(self, ready: bool) -> ContainerView:
        return replace(self, ready=ready)

    def set_started(self, started: bool) -> ContainerView:
        return replace(self, started=started)


@dataclass(frozen=True, slots=True, kw_only=True)
class PodView:
    """What the agent knows of the pod; missing containers are still being created."""

    containers: tuple[ContainerView, ...] = ()
    init_containers: tuple[ContainerView, ...] = ()
    pod_ips: tuple[str, ...] = ()
    host_ips: tuple[str, ...] = ()
    start_time: str = ""
    sandbox_ready: bool = True
    terminal: bool = False  # the pod will run no container again (deleted, or done)


def _cid(raw: str) -> str:
    return raw if not raw or "://" in raw else CONTAINER_ID_PREFIX + raw


def _terminated_json(term: Terminated) -> dict[str, Any]:
    body: dict[str, Any] = {"exitCode": term.exit_code}
    if term.signal:
        body["signal"] = term.signal
    body["reason"] = term.reason or ("Completed" if term.exit_code == 0 else "Error")
    if term.message:
        body["message"] = term.message
    body["startedAt"] = term.started_at or None
    body["finishedAt"] = term.finished_at or None
    if term.container_id:
        body["containerID"] = _cid(term.container_id)
    return body


def state_json(state: ContainerState | None) -> dict[str, Any]:
    """A v1.ContainerState: {running|waiting|terminated: …}, {} for none."""
    if state is None:
        return {}
    if isinstance(state, Running):
        return {"running": {"startedAt": state.started_at}}
    if isinstance(state, Waiting):
        waiting = {"reason": state.reason}
        if state.message:
            waiting["message"] = state.message
        return {"waiting": waiting}
    return {"terminated": _terminated_json(state)}


def _container_json(
    spec: dict[str, Any], view: ContainerView | None, default_reason: str, is_init: bool
) -> dict[str, Any]:
    if view is None:
        view = ContainerView(name=spec["name"], state=Waiting(reason=default_reason))
    running = isinstance(view.state, Running)
    if is_init and spec.get("restartPolicy") != "Always":
        ready = isinstance(view.state, Terminated) and view.state.exit_code == 0
    else:
        ready = running and view.ready
    body: dict[str, Any] = {
        "name": spec["name"],
        "state": state_json(view.state),
        "lastState": state_json(view.last_state),
        "ready": ready,
        "restartCount": view.restart_count,
        "image": view.image or spec.get("image", ""),
        "imageID": view.image_id,
    }
    if view.container_id:
        body["containerID"] = _cid(view.container_id)
    body["started"] = running and (view.started if view.started is not None else True)
    return body


def _container_statuses(
    specs: list[dict[str, Any]], views: tuple[ContainerView, ...], default: str, is_init: bool
) -> list[dict[str, Any]]:
    by_name = {view.name: view for view in views}
    return [_container_json(spec, by_name.get(spec["name"]), default, is_init) for spec in specs]


def _is_sidecar(container: dict[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


def _has_started_regular(spec: dict[str, Any], statuses: dict[str, dict[str, Any]]) -> bool:
    names = {c["name"] for c in spec.get("containers") or []}
    return any(
        "running" in s["state"] or "terminated" in s["state"]
        for name, s in statuses.items()
        if name in names
    )


def _init_phase_counts(spec: dict[str, Any], statuses: dict[str, dict[str, Any]]) -> list[int]:
    """[pending, failed] over regular init containers, as getPhase counts them."""
    pending = failed = 0
    for container in spec.get("initContainers") or []:
        status = statuses.get(container["name"])
        if _is_sidecar(container):
            continue
        state = status["state"] if status else {}
        last = (status or {}).get("lastState", {}).get("terminated")
        if "terminated" in state:
            failed += state["terminated"]["exitCode"] != 0
        elif "waiting" in state and last is not None:
            failed += last["exitCode"] != 0
        else:
            pending += 1
    return [pending, failed]


def get_phase(pod: dict[str, Any], statuses: dict[str, dict[str, Any]], terminal: bool) -> str:
    """getPhase: the pod phase from API container statuses (by name) and the restartPolicy."""
    spec = pod.get("spec") or {}
    pending, failed = _init_phase_counts(spec, statuses)
    unknown = running = waiting = stopped = succeeded = 0
    for container in spec.get("initContainers") or []:
        status = statuses.get(container["name"])
        if not _is_sidecar(container):
            continue
        state = status["state"] if status else {}
        if "running" in state:
            pending += not (status or {}).get("started")
            running += 1
        elif "waiting" in state and (status or {}).get("lastState", {}).get("terminated") is None:
            pending, waiting = pending + 1, waiting + 1
        elif "terminated" not in state and "waiting" not in state:
            pending, unknown = pending + 1, unknown + 1
    for container in spec.get("containers") or []:
        status = statuses.get(container["name"])
        state = status["state"] if status else {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"]["exitCode"] == 0
        elif "waiting" in state:
            if (status or {}).get("lastState", {}).get("terminated") is not None:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    policy = spec.get("restartPolicy") or "Always"
    if failed and policy == "Never":
        return "Failed"
    if (pending and not _has_started_regular(spec, statuses)) or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "status": "True" if ok else "False"}
    if reason:
        body["reason"] = reason
    if message:
        body["message"] = message
    return body


def _go_list(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"


def _containers_ready(
    spec: dict[str, Any], statuses: dict[str, dict[str, Any]], phase: str
) -> dict[str, Any]:
    if phase in TERMINAL:
        return _condition(
            "ContainersReady", False, "PodCompleted" if phase == "Succeeded" else "PodFailed"
        )
    watched = [c for c in spec.get("initContainers") or [] if _is_sidecar(c)]
    watched += spec.get("containers") or []
    unready = [c["name"] for c in watched if not statuses[c["name"]]["ready"]]
    if unready:
        message = f"containers with unready status: {_go_list(unready)}"
        return _condition("ContainersReady", False, "ContainersNotReady", message)
    return _condition("ContainersReady", True)


def _pod_ready(
    spec: dict[str, Any], containers_ready: dict[str, Any], others: list[dict[str, Any]]
) -> dict[str, Any]:
    if containers_ready["status"] != "True":
        return _condition(
            "Ready", False, containers_ready.get("reason", ""), containers_ready.get("message", "")
        )
    messages = []
    by_type = {c.get("type"): c for c in others}
    for gate in spec.get("readinessGates") or []:
        kind = gate.get("conditionType", "")
        found = by_type.get(kind)
        if found is None:
            messages.append(
                f'corresponding condition of pod readiness gate "{kind}" does not exist.'
            )
        elif found.get("status") != "True":
            state = found.get("status")
            messages.append(f'the status of pod readiness gate "{kind}" is not "True", but {state}')
    if messages:
        return _condition("Ready", False, "ReadinessGatesNotReady", ", ".join(messages))
    return _condition("Ready", True)


def _initialized(
    spec: dict[str, Any], statuses: dict[str, dict[str, Any]], phase: str
) -> dict[str, Any]:
    if phase == "Succeeded":
        return _condition("Initialized", True, "PodCompleted")
    if _has_started_regular(spec, statuses):
        return _condition("Initialized", True)
    incomplete = []
    for container in spec.get("initContainers") or []:
        status = statuses[container["name"]]
        done = status.get("started") if _is_sidecar(container) else status["ready"]
        if not done:
            incomplete.append(container["name"])
    if incomplete:
        message = f"containers with incomplete status: {_go_list(incomplete)}"
        return _condition("Initialized", False, "ContainersNotInitialized", message)
    return _condition("Initialized", True)


def _stamp(conditions: list[dict[str, Any]], old: list[dict[str, Any]], now: str) -> None:
    """Order each condition's fields as the API does and keep unchanged transition times."""
    previous = {c.get("type"): c for c in old}
    for index, cond in enumerate(conditions):
        before = previous.get(cond["type"])
        same = before is not None and before.get("status") == cond["status"]
        stamped: dict[str, Any] = {
            "type": cond["type"],
            "status": cond["status"],
            "lastProbeTime": None,
            "lastTransitionTime": (before or {}).get("lastTransitionTime") if same else now,
        }
        stamped.update({k: cond[k] for k in ("reason", "message") if k in cond})
        conditions[index] = stamped


def pod_status(pod: dict[str, Any], view: PodView, *, now: Timestamp) -> dict[str, Any]:
    """The full status the kubelet would write for `pod` (its current status is the base)."""
    now = _rfc3339(now)
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    init_specs: list[dict[str, Any]] = spec.get("initContainers") or []
    default = "PodInitializing" if init_specs else "ContainerCreating"
    regular = _container_statuses(spec.get("containers") or [], view.containers, default, False)
    init = _container_statuses(init_specs, view.init_containers, default, True)
    statuses = {s["name"]: s for s in init + regular}
    phase = get_phase(pod, statuses, view.terminal)
    if phase not in TERMINAL and old.get("phase") in TERMINAL:
        phase = old["phase"]
    status: dict[str, Any] = {"phase": phase}
    others = [c for c in old.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
    containers_ready = _containers_ready(spec, statuses, phase)
    owned = [
        _condition("PodReadyToStartContainers", view.sandbox_ready),
        _initialized(spec, statuses, phase),
        _pod_ready(spec, containers_ready, others),
        containers_ready,
        _condition("PodScheduled", True),
    ]
    _stamp(owned, old.get("conditions") or [], now)
    status["conditions"] = others + owned
    if phase == old.get("phase"):
        status.update({k: old[k] for k in ("message", "reason") if old.get(k)})
    host_ips = list(view.host_ips) or [h["ip"] for h in old.get("hostIPs") or [] if h.get("ip")]
    if host_ips:
        status["hostIP"] = host_ips[0]
        status["hostIPs"] = [{"ip": ip} for ip in host_ips]
    pod_ips = list(view.pod_ips) or [p["ip"] for p in old.get("podIPs") or [] if p.get("ip")]
    if pod_ips:
        status["podIP"] = pod_ips[0]
        status["podIPs"] = [{"ip": ip} for ip in pod_ips]
    status["startTime"] = old.get("startTime") or view.start_time or now
    if init:
        status["initContainerStatuses"] = init
    status["containerStatuses"] = regular
    status["qosClass"] = old.get("qosClass") or pod_qos_class(spec)
    return status


def should_restart(restart_policy: str, exit_code: int) -> bool:
    """Whether the kubelet restarts a container that exited with `exit_code`."""
    if restart_policy == "Never":
        return False
    return restart_policy != "OnFailure" or exit_code != 0


def restart_backoff(restart_count: int) -> float:
    """Seconds the kubelet waits before restarting a container that exited with
    `restart_count` restarts behind it: none before the first restart, then 10 s doubling up
    to 300 s. (The kubelet starts over at 10 s once a container ran for 10 minutes.)"""
    if restart_count <= 0:
        return 0.0
    return float(min(INITIAL_BACKOFF * 2 ** min(restart_count - 1, 16), MAX_BACKOFF))


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String for whole seconds: 10s, 1m20s, 5m0s, 1h0m0s."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def crash_loop_message(delay: float, container: str, pod: dict[str, Any]) -> str:
    """The CrashLoopBackOff waiting message, as the kubelet writes it."""
    meta = pod.get("metadata") or {}
    who = f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"
    return f"back-off {go_duration(delay)} restarting failed container={container} pod={who}"


def crash_loop_waiting(delay: float, container: str, pod: dict[str, Any]) -> Waiting:
    return Waiting(reason="CrashLoopBackOff", message=crash_loop_message(delay, container, pod))
