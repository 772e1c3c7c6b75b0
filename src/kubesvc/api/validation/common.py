"""Validation shared by every kind: ObjectMeta, labels, annotations, selectors, IPs.

These mirror apimachinery's `ValidateObjectMeta`, `ValidateObjectMetaUpdate`,
`ValidateLabels`, `ValidateAnnotations`, `ValidateLabelSelector` and core's
`ValidateNonSpecialIP`, in the same order and with the same paths, so a list of errors
compares equal to what kube-apiserver returns. Go iterates maps in random order; here map
entries are visited in sorted key order so results are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubesvc.api.errors import FieldError, forbidden, invalid, required, too_long
from kubesvc.api.gofmt import go_quote
from kubesvc.api.validation import formats
from kubesvc.api.validation.fields import (
    INT64_MAX,
    INT64_MIN,
    GoLiteral,
    Obj,
    Reader,
    child,
    go_string_slice,
    index,
)

NameFn = Callable[[str, bool], list[str]]

IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"
TOTAL_ANNOTATION_SIZE = 256 * 1024
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def _mask_trailing_dash(name: str) -> str:
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    return formats.is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    return formats.is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    return formats.is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def name_is_path_segment(name: str, prefix: bool) -> list[str]:
    return formats.is_path_segment_name(name)


def invalid_each(path: str, value: Any, messages: list[str]) -> list[FieldError]:
    return [invalid(path, value, msg) for msg in messages]


def validate_nonnegative(value: int, path: str) -> list[FieldError]:
    return [invalid(path, value, NEGATIVE)] if value < 0 else []


def validate_immutable(new: Any, old: Any, path: str, shown: Any = None) -> list[FieldError]:
    if new == old:
        return []
    return [invalid(path, new if shown is None else shown, IMMUTABLE)]


def validate_label_name(name: str, path: str) -> list[FieldError]:
    return invalid_each(path, name, formats.is_qualified_name(name))


def validate_labels(labels: dict[str, str] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for k, v in sorted((labels or {}).items()):
        errs += validate_label_name(k, path)
        errs += invalid_each(path, v, formats.is_label_value(v))
    return errs


def validate_annotations(annotations: dict[str, str] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    total = 0
    for k, v in sorted((annotations or {}).items()):
        errs += invalid_each(path, k, formats.is_qualified_name(k.lower()))
        total += len(k.encode()) + len(v.encode())
    if total > TOTAL_ANNOTATION_SIZE:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE))
    return errs


def _validate_owner_references(r: Reader, meta: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    refs = r.lst(meta, "ownerReferences", path)
    first_controller = ""
    for i, raw in enumerate(refs):
        ref = r.as_obj(raw, index(path, i))
        api_version = r.string(ref, "apiVersion", path)
        kind = r.string(ref, "kind", path)
        name = r.string(ref, "name", path)
        version = api_version.rpartition("/")[2]
        if not version:
            errs.append(
                invalid(child(path, "apiVersion"), api_version, "version must not be empty")
            )
        if not kind:
            errs.append(invalid(child(path, "kind"), kind, "must not be empty"))
        if not name:
            errs.append(invalid(child(path, "name"), name, "must not be empty"))
        uid = r.string(ref, "uid", path)
        if not uid:
            errs.append(invalid(child(path, "uid"), uid, "must not be empty"))
        if api_version == "v1" and kind == "Event":
            detail = "/v1, Kind=Event is disallowed from being an owner"
            errs.append(invalid(path, go_owner_reference(ref), detail))
        if r.boolean(ref, "controller", path):
            current = f"{kind}/{name}"
            if first_controller:
                detail = (
                    'Only one reference can have Controller set to true. Found "true" in '
                    f"references for {first_controller} and {current}"
                )
                shown = ", ".join(go_owner_reference(x).text for x in refs if isinstance(x, dict))
                errs.append(invalid(path, GoLiteral(f"[]v1.OwnerReference{{{shown}}}"), detail))
            else:
                first_controller = current
    return errs


def _go_bool_ptr(value: Any) -> str:
    return "(*bool)(nil)" if not isinstance(value, bool) else "(*bool)(0xc000000000)"


def go_owner_reference(ref: Obj) -> GoLiteral:
    fields = ", ".join(
        f"{go_name}:{go_quote(str(ref.get(name) or ''))}"
        for go_name, name in (("APIVersion", "apiVersion"), ("Kind", "kind"), ("Name", "name"))
    )
    return GoLiteral(
        f"v1.OwnerReference{{{fields}, UID:{go_quote(str(ref.get('uid') or ''))}, "
        f"Controller:{_go_bool_ptr(ref.get('controller'))}, "
        f"BlockOwnerDeletion:{_go_bool_ptr(ref.get('blockOwnerDeletion'))}}}"
    )


def _validate_finalizers(r: Reader, meta: Obj, path: str) -> list[FieldError]:
    finalizers = r.opt_str_list(meta, "finalizers", path)
    errs: list[FieldError] = []
    for finalizer in finalizers or []:
        errs += validate_label_name(finalizer, path)
    names = set(finalizers or [])
    if "orphan" in names and "foregroundDeletion" in names:
        detail = "finalizer orphan and foregroundDeletion cannot be both set"
        errs.append(invalid(path, GoLiteral(go_string_slice(finalizers)), detail))
    return errs


def validate_kube_finalizer_name(value: str, path: str) -> list[FieldError]:
    if "/" not in value and value not in STANDARD_FINALIZERS:
        detail = "name is neither a standard finalizer name nor is it fully qualified"
        return [invalid(path, value, detail)]
    return []


def _validate_meta_common(r: Reader, meta: Obj, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    namespace = r.string(meta, "namespace", child(path, "namespace"))
    if namespaced:
        if not namespace:
            errs.append(required(child(path, "namespace")))
        else:
            errs += invalid_each(
                child(path, "namespace"), namespace, name_is_dns_label(namespace, False)
            )
    elif namespace:
        errs.append(forbidden(child(path, "namespace"), "not allowed on this type"))
    generation = r.integer(meta, "generation", child(path, "generation"), INT64_MIN, INT64_MAX)
    errs += validate_nonnegative(generation, child(path, "generation"))
    errs += validate_labels(
        r.opt_str_map(meta, "labels", child(path, "labels")), child(path, "labels")
    )
    annotations = r.opt_str_map(meta, "annotations", child(path, "annotations"))
    errs += validate_annotations(annotations, child(path, "annotations"))
    errs += _validate_owner_references(r, meta, child(path, "ownerReferences"))
    errs += _validate_finalizers(r, meta, child(path, "finalizers"))
    for i, raw in enumerate(r.lst(meta, "managedFields", child(path, "managedFields"))):
        entry = r.as_obj(raw, index(child(path, "managedFields"), i))
        operation = r.string(entry, "operation", path)
        if operation not in ("Apply", "Update"):
            errs.append(
                invalid(
                    child(index(child(path, "managedFields"), i), "operation"),
                    operation,
                    "must be `Apply` or `Update`",
                )
            )
    return errs


def _kube_finalizers(r: Reader, meta: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    fpath = child(path, "finalizers")
    for i, finalizer in enumerate(r.str_list(meta, "finalizers", fpath)):
        errs += validate_kube_finalizer_name(finalizer, index(fpath, i))
    return errs


def validate_object_meta(
    r: Reader, obj: Any, namespaced: bool, name_fn: NameFn, path: str = "metadata"
) -> list[FieldError]:
    """core's ValidateObjectMeta: apimachinery's checks, then kube finalizer names."""
    meta = r.obj(obj, "metadata", path)
    errs: list[FieldError] = []
    generate_name = r.string(meta, "generateName", child(path, "generateName"))
    if generate_name:
        errs += invalid_each(
            child(path, "generateName"), generate_name, name_fn(generate_name, True)
        )
    name = r.string(meta, "name", child(path, "name"))
    if not name:
        errs.append(required(child(path, "name"), "name or generateName is required"))
    else:
        errs += invalid_each(child(path, "name"), name, name_fn(name, False))
    errs += _validate_meta_common(r, meta, namespaced, path)
    return errs + _kube_finalizers(r, meta, path)


def validate_object_meta_update(
    r: Reader, obj: Any, old: Any, path: str = "metadata"
) -> list[FieldError]:
    """ValidateObjectMetaUpdate after rest.BeforeUpdate's copying from the stored object.

    The server copies generation, creationTimestamp, a set deletionTimestamp and a missing
    uid or deletionGracePeriodSeconds from the old object before validating, so only real
    changes to them are reported here. resourceVersion belongs to the store layer.
    """
    meta = r.obj(obj, "metadata", path)
    old_meta = old.get("metadata") if isinstance(old, dict) else None
    old_meta = old_meta if isinstance(old_meta, dict) else {}
    errs: list[FieldError] = []
    if old_meta.get("deletionTimestamp"):
        new_fin = set(r.str_list(meta, "finalizers", child(path, "finalizers")))
        old_fin = {f for f in old_meta.get("finalizers") or [] if isinstance(f, str)}
        extra = sorted(new_fin - old_fin)
        if extra:
            detail = (
                "no new finalizers can be added if the object is being deleted, found new "
                f"finalizers {go_string_slice(extra)}"
            )
            errs.append(forbidden(child(path, "finalizers"), detail))
    for field in ("name", "namespace", "uid"):
        new_value = r.string(meta, field, child(path, field))
        old_value = old_meta.get(field) if isinstance(old_meta.get(field), str) else ""
        if field == "uid" and not new_value:
            continue
        errs += validate_immutable(new_value, old_value, child(path, field))
    new_ts = meta.get("deletionTimestamp") or None
    if new_ts and not old_meta.get("deletionTimestamp"):
        errs.append(
            invalid(child(path, "deletionTimestamp"), GoLiteral(go_time(new_ts)), IMMUTABLE)
        )
    grace = meta.get("deletionGracePeriodSeconds")
    old_grace = old_meta.get("deletionGracePeriodSeconds")
    if grace is not None and grace != old_grace:
        errs.append(invalid(child(path, "deletionGracePeriodSeconds"), grace, IMMUTABLE))
    labels = r.opt_str_map(meta, "labels", child(path, "labels"))
    errs += validate_labels(labels, child(path, "labels"))
    annotations = r.opt_str_map(meta, "annotations", child(path, "annotations"))
    errs += validate_annotations(annotations, child(path, "annotations"))
    errs += _validate_owner_references(r, meta, child(path, "ownerReferences"))
    return errs + _kube_finalizers(r, meta, path)


def go_time(value: Any) -> str:
    """metav1.Time as Go's time.Time String() prints it (null when unset)."""
    if not isinstance(value, str) or not value:
        return "null"
    text = value.replace("T", " ").rstrip("Z")
    return f"{text} +0000 UTC"


# ----------------------------------------------------------------------------------- IPs

IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def validate_ip(value: str, path: str) -> list[FieldError]:
    return [] if formats.parse_ip_sloppy(value) is not None else [invalid(path, value, IP_MSG)]


def validate_cidr(value: str, path: str) -> list[FieldError]:
    return [] if formats.parse_cidr_sloppy(value) is not None else [invalid(path, value, CIDR_MSG)]


def validate_non_special_ip(value: str, path: str) -> list[FieldError]:
    ip = formats.parse_ip_sloppy(value)
    if ip is None:
        return [invalid(path, value, "must be a valid IP address")]
    return invalid_each(path, value, formats.special_ip_problems(ip, value))
