"""Validation of Kubernetes objects as kube-apiserver validates them, kind by kind.

`validate(kind, obj, old)` runs after defaulting; `old` is the stored object on update. It
returns every problem as a `FieldError` with Kubernetes' path and wording, in upstream's
order. Fields of the wrong JSON type are what the real server refuses while decoding, before
it validates anything: when there are any, they alone are returned. Validators read objects
only through `fields.Reader`, so malformed input yields errors and never an exception; a
last-resort guard turns an unexpected exception into an InternalError rather than raising.

`validate_status_update(kind, obj, old)` covers writes to the status subresource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubesvc.api import resources
from kubesvc.api.errors import FieldError, internal
from kubesvc.api.validation.common import (
    name_is_dns_subdomain,
    validate_ip,
    validate_object_meta,
    validate_object_meta_update,
)
from kubesvc.api.validation.discovery import validate_endpoint_slice
from kubesvc.api.validation.fields import Reader, child, index
from kubesvc.api.validation.networking import validate_ingress, validate_ingress_class
from kubesvc.api.validation.others import (
    validate_config_map,
    validate_endpoints,
    validate_event,
    validate_lease,
    validate_namespace,
    validate_namespace_status,
    validate_node,
    validate_secret,
    validate_service_account,
)
from kubesvc.api.validation.pod import (
    validate_pod,
    validate_pod_status,
    validate_pod_template_spec,
    validate_pod_update,
)
from kubesvc.api.validation.service import validate_service
from kubesvc.api.validation.service_update import (
    validate_cluster_families,
    validate_service_status,
    validate_service_update,
)
from kubesvc.api.validation.statefulset import (
    validate_controller_revision,
    validate_stateful_set,
    validate_stateful_set_status,
)
from kubesvc.api.validation.workloads import (
    validate_deployment,
    validate_deployment_status,
    validate_replica_set,
    validate_replica_set_status,
)

__all__ = ["validate", "validate_cluster_families", "validate_status_update"]

Validator = Callable[[Reader, Any, Any], list[FieldError]]


def _service(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    return validate_service(r, obj) if old is None else validate_service_update(r, obj, old)


def _pod(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    return validate_pod(r, obj) if old is None else validate_pod_update(r, obj, old)


def _pod_template(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    if old is None:
        errs = validate_object_meta(r, obj, True, name_is_dns_subdomain)
    else:
        errs = validate_object_meta_update(r, obj, old)
    return errs + validate_pod_template_spec(r, r.obj(obj, "template", "template"), "template")


_VALIDATORS: dict[str, Validator] = {
    "Service": _service,
    "Pod": _pod,
    "PodTemplate": _pod_template,
    "Deployment": validate_deployment,
    "ReplicaSet": validate_replica_set,
    "StatefulSet": validate_stateful_set,
    "ControllerRevision": validate_controller_revision,
    "Namespace": validate_namespace,
    "Node": validate_node,
    "Endpoints": validate_endpoints,
    "EndpointSlice": validate_endpoint_slice,
    "Event": validate_event,
    "ConfigMap": validate_config_map,
    "Secret": validate_secret,
    "ServiceAccount": validate_service_account,
    "Ingress": validate_ingress,
    "IngressClass": validate_ingress_class,
    "Lease": validate_lease,
}


def _generic(kind: str) -> Validator:
    namespaced = next((res.namespaced for res in resources.RESOURCES if res.kind == kind), True)

    def run(r: Reader, obj: Any, old: Any) -> list[FieldError]:
        errs = [] if old is None else validate_object_meta_update(r, obj, old)
        return errs + validate_object_meta(r, obj, namespaced, name_is_dns_subdomain)

    return run


def _ingress_status(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    errs = validate_object_meta_update(r, obj, old)
    path = "status.loadBalancer.ingress"
    lb = r.obj(r.obj(obj, "status", "status"), "loadBalancer", "status.loadBalancer")
    for i, raw in enumerate(r.lst(lb, "ingress", path)):
        entry = r.as_obj(raw, index(path, i))
        ip = r.string(entry, "ip", child(index(path, i), "ip"))
        if ip:
            errs += validate_ip(ip, child(index(path, i), "ip"))
    return errs


_STATUS_VALIDATORS: dict[str, Validator] = {
    "Service": validate_service_status,
    "Pod": validate_pod_status,
    "Deployment": validate_deployment_status,
    "ReplicaSet": validate_replica_set_status,
    "StatefulSet": validate_stateful_set_status,
    "Namespace": validate_namespace_status,
    "Node": validate_node,
    "Ingress": _ingress_status,
}


def _run(validator: Validator, obj: Any, old: Any) -> list[FieldError]:
    if not isinstance(obj, dict):
        detail = "must be of type object"
        return [FieldError(type="FieldValueTypeInvalid", field="", value=obj, detail=detail)]
    reader = Reader()
    try:
        errs = validator(reader, obj, old if isinstance(old, dict) else None)
    except Exception as exc:  # the contract is to report, never to raise
        return [internal("", f"validation failed: {type(exc).__name__}: {exc}")]
    if reader.type_errors:
        unique: dict[tuple[str, str], FieldError] = {}
        for err in reader.type_errors:
            unique.setdefault((err.field, err.detail), err)
        return list(unique.values())
    return errs


def validate(kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[FieldError]:
    """Every validation error of `obj` (a create when `old` is None, else an update)."""
    return _run(_VALIDATORS.get(kind) or _generic(kind), obj, old)


def validate_status_update(kind: str, obj: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """Errors of a write to the status subresource of `kind`."""

    def metadata_only(r: Reader, new: Any, prior: Any) -> list[FieldError]:
        return validate_object_meta_update(r, new, prior)

    return _run(_STATUS_VALIDATORS.get(kind, metadata_only), obj, old if old is not None else {})
