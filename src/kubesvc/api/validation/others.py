"""Validation of the smaller kinds: Namespace, Node, Endpoints, Event, ConfigMap, Secret,
ServiceAccount and Lease.

Each function is the upstream ValidateX (create, or update when `old` is given) with its
paths and messages, including upstream's quirks (`metadata.taints` for Node taints,
unindexed `spec.finalizers` for Namespaces, `""` as the path of an oversized ConfigMap).
Core v1 Events get only the legacy checks plus the store's generic name rules.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kubesvc.api.errors import (
    FieldError,
    forbidden,
    invalid,
    not_supported,
    required,
    too_long,
)
from kubesvc.api.validation import formats
from kubesvc.api.validation.common import (
    IMMUTABLE,
    invalid_each,
    name_is_dns_label,
    name_is_dns_subdomain,
    name_is_path_segment,
    validate_cidr,
    validate_ip,
    validate_kube_finalizer_name,
    validate_label_name,
    validate_non_special_ip,
    validate_object_meta,
    validate_object_meta_update,
)
from kubesvc.api.validation.fields import Obj, Reader, child, index, key

MAX_SECRET_SIZE = 1024 * 1024
PROTOCOLS = ["SCTP", "TCP", "UDP"]


def _meta(r: Reader, obj: Any, old: Any, namespaced: bool, name_fn: Any) -> list[FieldError]:
    if old is None:
        return validate_object_meta(r, obj, namespaced, name_fn)
    return validate_object_meta_update(r, obj, old) + validate_object_meta(
        r, obj, namespaced, name_fn
    )


def validate_namespace(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    if old is not None:
        return validate_object_meta_update(r, obj, old)
    errs = validate_object_meta(r, obj, False, name_is_dns_label)
    spec = r.obj(obj, "spec", "spec")
    for finalizer in r.str_list(spec, "finalizers", "spec.finalizers"):
        errs += validate_label_name(finalizer, "spec.finalizers")
        errs += validate_kube_finalizer_name(finalizer, "spec.finalizers")
    return errs


def validate_namespace_status(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    errs = validate_object_meta_update(r, obj, old)
    meta = r.obj(obj, "metadata", "metadata")
    phase = r.string(r.obj(obj, "status", "status"), "phase", "status.phase")
    if not meta.get("deletionTimestamp"):
        if phase != "Active":
            detail = "may only be 'Active' if `deletionTimestamp` is empty"
            errs.append(invalid("status.Phase", phase, detail))
    elif phase != "Terminating":
        detail = "may only be 'Terminating' if `deletionTimestamp` is not empty"
        errs.append(invalid("status.Phase", phase, detail))
    return errs


def _validate_taints(r: Reader, spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(r.lst(spec, "taints", "spec.taints")):
        path = index("metadata.taints", i)
        taint = r.as_obj(raw, path)
        taint_key = r.string(taint, "key", child(path, "key"))
        errs += validate_label_name(taint_key, child(path, "key"))
        value = r.string(taint, "value", child(path, "value"))
        problems = formats.is_label_value(value)
        if problems:
            errs.append(invalid(child(path, "value"), value, ";".join(problems)))
        effect = r.string(taint, "effect", child(path, "effect"))
        if not effect:
            errs.append(required(child(path, "effect")))
        elif effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            supported = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
            errs.append(not_supported(child(path, "effect"), effect, supported))
        if (taint_key, effect) in seen:
            errs.append(
                FieldError(
                    type="FieldValueDuplicate",
                    field=path,
                    value=taint_key,
                    detail="taints must be unique by key and effect pair",
                )
            )
        seen.add((taint_key, effect))
    return errs


def validate_node(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    spec = r.obj(obj, "spec", "spec")
    if old is None:
        errs = validate_object_meta(r, obj, False, name_is_dns_subdomain)
    else:
        errs = validate_object_meta_update(r, obj, old)
    errs += _validate_taints(r, spec)
    cidrs = r.str_list(spec, "podCIDRs", "spec.podCIDRs")
    for i, cidr in enumerate(cidrs):
        errs += validate_cidr(cidr, index("spec.podCIDRs", i))
    if old is not None:
        old_spec = old.get("spec") if isinstance(old, dict) else None
        old_spec = old_spec if isinstance(old_spec, dict) else {}
        old_cidrs = old_spec.get("podCIDRs") or []
        if old_cidrs and old_cidrs != cidrs:
            detail = 'node updates may not change podCIDR except from "" to valid'
            errs.append(forbidden("spec.podCIDRs", detail))
        old_provider = old_spec.get("providerID") or ""
        if old_provider and old_provider != r.string(spec, "providerID", "spec.providerID"):
            detail = 'node updates may not change providerID except from "" to valid'
            errs.append(forbidden("spec.providerID", detail))
    return errs


def _validate_endpoint_address(r: Reader, raw: Any, path: str) -> list[FieldError]:
    address = r.as_obj(raw, path)
    ip = r.string(address, "ip", child(path, "ip"))
    errs = validate_ip(ip, child(path, "ip"))
    hostname = r.string(address, "hostname", child(path, "hostname"))
    if hostname:
        errs += invalid_each(child(path, "hostname"), hostname, formats.is_dns1123_label(hostname))
    node_name = r.opt_str(address, "nodeName", child(path, "nodeName"))
    if node_name is not None:
        problems = name_is_dns_subdomain(node_name, False)
        errs += invalid_each(child(path, "nodeName"), node_name, problems)
    return errs + validate_non_special_ip(ip, child(path, "ip"))


def _validate_port(r: Reader, port: Obj, require_name: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = r.string(port, "name", child(path, "name"))
    if require_name and not name:
        errs.append(required(child(path, "name")))
    elif name:
        errs += invalid_each(child(path, "name"), name, formats.is_dns1123_label(name))
    number = r.integer(port, "port", child(path, "port"))
    errs += invalid_each(child(path, "port"), number, formats.is_valid_port_num(number))
    protocol = r.string(port, "protocol", child(path, "protocol"))
    if not protocol:
        errs.append(required(child(path, "protocol")))
    elif protocol not in PROTOCOLS:
        errs.append(not_supported(child(path, "protocol"), protocol, PROTOCOLS))
    app_protocol = r.opt_str(port, "appProtocol", child(path, "appProtocol"))
    if app_protocol is not None:
        errs += validate_label_name(app_protocol, child(path, "appProtocol"))
    return errs


def validate_endpoints(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    errs = _meta(r, obj, old, True, name_is_dns_subdomain)
    for i, raw in enumerate(r.lst(obj, "subsets", "subsets")):
        path = index("subsets", i)
        subset = r.as_obj(raw, path)
        addresses = r.lst(subset, "addresses", child(path, "addresses"))
        not_ready = r.lst(subset, "notReadyAddresses", child(path, "notReadyAddresses"))
        if not addresses and not not_ready:
            errs.append(required(path, "must specify `addresses` or `notReadyAddresses`"))
        for field, items in (("addresses", addresses), ("notReadyAddresses", not_ready)):
            for j, address in enumerate(items):
                errs += _validate_endpoint_address(r, address, index(child(path, field), j))
        ports = r.lst(subset, "ports", child(path, "ports"))
        for j, port in enumerate(ports):
            ppath = index(child(path, "ports"), j)
            errs += _validate_port(r, r.as_obj(port, ppath), len(ports) > 1, ppath)
    return errs


def validate_event(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    """legacyValidateEvent (core/v1 requests), then the store's generic metadata checks."""
    meta = r.obj(obj, "metadata", "metadata")
    namespace = r.string(meta, "namespace", "metadata.namespace")
    involved = r.obj(obj, "involvedObject", "involvedObject")
    involved_ns = r.string(involved, "namespace", "involvedObject.namespace")
    errs: list[FieldError] = []
    path = "involvedObject.namespace"
    legacy = not (isinstance(obj, dict) and obj.get("eventTime"))
    if legacy:
        if not involved_ns:
            if namespace not in ("", "default"):
                errs.append(invalid(path, involved_ns, "does not match event.namespace"))
        elif namespace != involved_ns:
            errs.append(invalid(path, involved_ns, "does not match event.namespace"))
    else:
        errs += _validate_new_event(r, obj, namespace, involved_ns)
    errs += invalid_each("namespace", namespace, formats.is_dns1123_subdomain(namespace))
    if errs:
        return errs
    return _meta(r, obj, old, True, name_is_path_segment)


def _validate_new_event(r: Reader, obj: Any, namespace: str, involved_ns: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not involved_ns and namespace not in ("default", "kube-system"):
        errs.append(
            invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")
        )
    controller = r.string(obj, "reportingComponent", "reportingComponent")
    if not controller:
        errs.append(required("reportingController"))
    errs += invalid_each("reportingController", controller, formats.is_qualified_name(controller))
    for field, limit in (("reportingInstance", 128), ("action", 128), ("reason", 128)):
        value = r.string(obj, field, field)
        if not value:
            errs.append(required(field))
        if len(value) > limit:
            errs.append(invalid(field, "", f"can have at most {limit} characters"))
    if len(r.string(obj, "message", "message")) > 1024:
        errs.append(invalid("message", "", "can have at most 1024 characters"))
    return errs


def validate_config_map(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    errs = _meta(r, obj, old, True, name_is_dns_subdomain)
    data = r.str_map(obj, "data", "data")
    binary = r.str_map(obj, "binaryData", "binaryData")
    total = 0
    for name, value in sorted(data.items()):
        errs += invalid_each(key("data", name), name, formats.is_config_map_key(name))
        if name in binary:
            errs.append(invalid(key("data", name), name, "duplicate of key present in binaryData"))
        total += len(value.encode())
    for name, value in sorted(binary.items()):
        errs += invalid_each(key("binaryData", name), name, formats.is_config_map_key(name))
        total += len(_decoded(value))
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("", MAX_SECRET_SIZE))
    return errs + _immutable_data(obj, old, ("data", "binaryData"))


def _decoded(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode()


def _immutable_data(obj: Any, old: Any, fields: tuple[str, ...]) -> list[FieldError]:
    if not isinstance(old, dict) or old.get("immutable") is not True:
        return []
    detail = "field is immutable when `immutable` is set"
    errs: list[FieldError] = []
    if not isinstance(obj, dict) or obj.get("immutable") is not True:
        errs.append(forbidden("immutable", detail))
    for field in fields:
        if (obj.get(field) or {}) != (old.get(field) or {}):
            errs.append(forbidden(field, detail))
    return errs


SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def validate_secret(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    errs = _meta(r, obj, old, True, name_is_dns_subdomain)
    data = r.str_map(obj, "data", "data")
    total = 0
    for name, value in sorted(data.items()):
        errs += invalid_each(key("data", name), name, formats.is_config_map_key(name))
        total += len(_decoded(value))
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("data", MAX_SECRET_SIZE))
    kind = r.string(obj, "type", "type")
    meta = r.obj(obj, "metadata", "metadata")
    if kind == "kubernetes.io/service-account-token":
        annotations = r.str_map(meta, "annotations", "metadata.annotations")
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.append(required(key("metadata.annotations", "kubernetes.io/service-account.name")))
    elif kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        errs += [required(key("data", "username")), required(key("data", "password"))]
    for name in SECRET_REQUIRED_KEYS.get(kind, ()):
        if name not in data:
            errs.append(required(key("data", name)))
    if isinstance(old, dict):
        errs += [invalid("type", kind, IMMUTABLE)] if old.get("type", "Opaque") != kind else []
        errs += _immutable_data(obj, old, ("data",))
    return errs


def validate_service_account(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    return _meta(r, obj, old, True, name_is_dns_subdomain)


def validate_lease(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    if old is None:
        errs = validate_object_meta(r, obj, True, name_is_dns_subdomain)
    else:
        errs = validate_object_meta_update(r, obj, old)
    spec = r.obj(obj, "spec", "spec")
    duration = r.opt_int(spec, "leaseDurationSeconds", "spec.leaseDurationSeconds")
    if duration is not None and duration <= 0:
        errs.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = r.opt_int(spec, "leaseTransitions", "spec.leaseTransitions")
    if transitions is not None and transitions < 0:
        detail = "must be greater than or equal to 0"
        errs.append(invalid("spec.leaseTransitions", transitions, detail))
    r.opt_str(spec, "holderIdentity", "spec.holderIdentity")
    return errs
