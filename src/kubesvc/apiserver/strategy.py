"""What the server itself sets on an object before it is validated and stored.

The per-kind "strategies" of kube-apiserver, as pure functions: on create the server owns uid,
creationTimestamp, generation and (for kinds with a status subresource) the status; on update of
the main resource it keeps the stored status, on update of the status subresource it keeps
everything but the status; generation grows when the spec changes.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from kubesvc.api.meta import metadata, new_uid, now_rfc3339
from kubesvc.api.resources import Resource
from kubesvc.api.selectors import label_selector_from_dict

# Kinds whose metadata.generation tracks spec changes.
_GENERATION_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "Ingress", "IngressClass", "Pod"}

# Status a kind starts with on create, whatever the client sent.
_INITIAL_STATUS: dict[str, dict[str, Any]] = {
    "Service": {"loadBalancer": {}},
    "Pod": {"phase": "Pending"},
    "Deployment": {},
    "ReplicaSet": {"replicas": 0},
    "StatefulSet": {"replicas": 0, "availableReplicas": 0},
    "Ingress": {"loadBalancer": {}},
    "Namespace": {"phase": "Active"},
    "Node": {},
}

_SERVER_OWNED = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


def prepare_create(res: Resource, obj: dict[str, Any], now: datetime) -> None:
    meta = metadata(obj)
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = now_rfc3339(now)
    for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
        meta.pop(key, None)
    if res.kind in _GENERATION_KINDS:
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    if res.kind in _INITIAL_STATUS:
        obj["status"] = copy.deepcopy(_INITIAL_STATUS[res.kind])
        if res.kind == "Pod":
            obj["status"]["qosClass"] = "BestEffort"
    if res.kind == "Namespace":
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict) and "finalizers" not in spec:
            spec["finalizers"] = ["kubernetes"]


def prepare_update(
    res: Resource, new: dict[str, Any], old: dict[str, Any], subresource: str | None
) -> dict[str, Any]:
    """Return the object to store for an update of `old` with `new` (neither is mutated)."""
    if subresource == "finalize":
        result = copy.deepcopy(old)
        result.setdefault("spec", {})["finalizers"] = list(
            (new.get("spec") or {}).get("finalizers") or []
        )
        return result
    if subresource == "status":
        result = copy.deepcopy(old)
        if "status" in new:
            result["status"] = copy.deepcopy(new["status"])
        else:
            result.pop("status", None)
        return result
    result = copy.deepcopy(new)
    meta, old_meta = metadata(result), old.get("metadata") or {}
    for key in _SERVER_OWNED:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    meta.pop("managedFields", None)
    meta.pop("selfLink", None)
    if res.has_status:
        if "status" in old:
            result["status"] = copy.deepcopy(old["status"])
        else:
            result.pop("status", None)
    if res.kind in _GENERATION_KINDS:
        generation = int(old_meta.get("generation") or 1)
        if result.get("spec") != old.get("spec"):
            generation += 1
        meta["generation"] = generation
    else:
        meta.pop("generation", None)
    return result


def scale_of(res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 Scale view of a Deployment, ReplicaSet or StatefulSet."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": str(label_selector_from_dict(selector or {})),
        },
    }
