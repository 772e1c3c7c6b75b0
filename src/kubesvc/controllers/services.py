"""Which Services select a pod, and whether a pod change can matter to their endpoints.

Shared by the EndpointSlice and Endpoints controllers' handlers: a pod change queues every
Service in the pod's namespace whose selector matches the pod's old or new labels, but only when
something endpoints are made of changed (labels, IPs, readiness, deletion, phase, node,
hostname/subdomain, container ports), as upstream's podEndpointsChanged filters.
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.selectors import LabelSelector
from kubesvc.controllers.pods import is_deleting, is_pod_ready, meta, phase, spec, status

Obj = dict[str, Any]


def service_selector(service: Obj) -> LabelSelector | None:
    """The Service's pod selector, or None for Services endpoints controllers leave alone."""
    if spec(service).get("type") == "ExternalName":
        return None
    selector = spec(service).get("selector")
    if not selector or not isinstance(selector, dict):
        return None
    return LabelSelector.from_map({str(k): str(v) for k, v in selector.items()})


def selecting(services: list[Obj], pod: Obj) -> list[Obj]:
    labels = meta(pod).get("labels") or {}
    result = []
    for service in services:
        selector = service_selector(service)
        if selector is not None and selector.matches(labels):
            result.append(service)
    return result


def endpoint_view(pod: Obj) -> tuple[Any, ...]:
    pod_spec = spec(pod)
    ports = [c.get("ports") for c in pod_spec.get("containers") or []]
    return (
        meta(pod).get("labels"),
        meta(pod).get("uid"),
        status(pod).get("podIP"),
        status(pod).get("podIPs"),
        is_pod_ready(pod),
        is_deleting(pod),
        phase(pod),
        pod_spec.get("nodeName"),
        pod_spec.get("hostname"),
        pod_spec.get("subdomain"),
        ports,
        [c.get("ports") for c in pod_spec.get("initContainers") or []],
    )


def pod_changed(old: Obj | None, new: Obj | None) -> bool:
    if old is None or new is None:
        return True
    return endpoint_view(old) != endpoint_view(new)


def services_to_resync(services_in_ns: list[Obj], old: Obj | None, new: Obj | None) -> list[str]:
    """Keys (`ns/name`) of the Services whose endpoints a pod change may alter: those selecting
    the pod before or after the change; none when nothing endpoints show has changed."""
    if not pod_changed(old, new):
        return []
    keys = set()
    for pod in (old, new):
        if pod is None:
            continue
        for service in selecting(services_in_ns, pod):
            keys.add(f"{meta(service).get('namespace')}/{meta(service).get('name')}")
    return sorted(keys)
