"""Questions controllers ask about pods, answered as upstream's podutil answers them.

Pure functions over pod JSON: readiness (the Ready condition), availability after
minReadySeconds, active/terminal phases, whether a pod belongs in a Service's endpoints, the
container port a Service port targets (`FindPort`: a number as is, a name looked up among the
containers' ports of the same protocol, then among sidecar init containers), and condition
updates that keep lastTransitionTime unless the status changes (`UpdatePodCondition`).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from kubesvc.api.meta import now_rfc3339, parse_time
from kubesvc.api.selectors import LabelSelector, label_selector_from_dict

Obj = dict[str, Any]

PENDING, RUNNING, SUCCEEDED, FAILED, UNKNOWN = (
    "Pending",
    "Running",
    "Succeeded",
    "Failed",
    "Unknown",
)


def meta(obj: Obj) -> Obj:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def spec(obj: Obj) -> Obj:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def status(obj: Obj) -> Obj:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def uid_of(obj: Obj) -> str:
    return str(meta(obj).get("uid") or "")


def is_deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def phase(pod: Obj) -> str:
    return str(status(pod).get("phase") or "")


def condition(obj: Obj, kind: str) -> Obj | None:
    for cond in status(obj).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def ready_time(pod: Obj) -> datetime | None:
    """When the pod became ready (its Ready condition's lastTransitionTime), if it is."""
    cond = condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: datetime) -> bool:
    """podutil.IsPodAvailable: ready, and for at least minReadySeconds."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = ready_time(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now


def is_pod_terminal(pod: Obj) -> bool:
    return phase(pod) in (SUCCEEDED, FAILED)


def is_pod_active(pod: Obj) -> bool:
    """controller.IsPodActive: not finished and not being deleted."""
    return not is_pod_terminal(pod) and not is_deleting(pod)


def pod_ips(pod: Obj) -> list[str]:
    return [
        str(item["ip"])
        for item in status(pod).get("podIPs") or []
        if isinstance(item, dict) and item.get("ip")
    ]


def should_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """endpointsliceutil.ShouldPodBeInEndpoints."""
    if is_pod_terminal(pod):
        return False
    if not status(pod).get("podIP") and not pod_ips(pod):
        return False
    return include_terminating or not is_deleting(pod)


def should_set_hostname(pod: Obj, service: Obj) -> bool:
    pod_spec = spec(pod)
    return (
        bool(pod_spec.get("hostname"))
        and pod_spec.get("subdomain") == meta(service).get("name")
        and meta(service).get("namespace") == meta(pod).get("namespace")
    )


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """podutil.FindPort; None when a named target port is not offered by the pod."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    containers = list(spec(pod).get("containers") or [])
    containers += [
        c for c in spec(pod).get("initContainers") or [] if c.get("restartPolicy") == "Always"
    ]
    for container in containers:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port.get("containerPort", 0))
    return None


def max_restarts(pod: Obj) -> tuple[int, int]:
    """The highest restart count of the regular containers, then of sidecar init containers."""
    regular = [int(s.get("restartCount") or 0) for s in status(pod).get("containerStatuses") or []]
    sidecars = {
        c.get("name") for c in spec(pod).get("initContainers") or [] if c.get("restartPolicy")
    }
    init = [
        int(s.get("restartCount") or 0)
        for s in status(pod).get("initContainerStatuses") or []
        if s.get("name") in sidecars
    ]
    return max(regular, default=0), max(init, default=0)


def with_condition(pod: Obj, new: Obj, now: datetime) -> Obj | None:
    """A copy of `pod` with condition `new` set, or None when nothing changes.

    As podutil.UpdatePodCondition: lastTransitionTime moves only when the status changes; a
    condition with the same status, reason and message is no change.
    """
    kind = str(new["type"])
    old = condition(pod, kind)
    cond = {"lastProbeTime": None, **new}
    if old is not None and old.get("status") == cond.get("status"):
        cond["lastTransitionTime"] = old.get("lastTransitionTime")
        if all(old.get(k) == cond.get(k) for k in ("reason", "message")):
            return None
    else:
        cond["lastTransitionTime"] = now_rfc3339(now)
    result = copy.deepcopy(pod)
    conditions = list(status(result).get("conditions") or [])
    if old is None:
        conditions.append(cond)
    else:
        conditions = [cond if c.get("type") == kind else c for c in conditions]
    result.setdefault("status", {})["conditions"] = conditions
    return result


def selector_of(obj: Obj) -> LabelSelector:
    """A workload's `spec.selector`; an unparsable one selects nothing."""
    try:
        return label_selector_from_dict(spec(obj).get("selector"))
    except ValueError:
        return LabelSelector(nothing=True)
