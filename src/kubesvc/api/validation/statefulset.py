"""StatefulSet and ControllerRevision validation (apps ValidateStatefulSet and friends).

A StatefulSet's name must be a DNS label (its pods are `NAME-0`, ...). The spec is checked in
upstream's order: podManagementPolicy (OrderedReady or Parallel), updateStrategy (RollingUpdate
with a non-negative partition, or OnDelete without rollingUpdate), the PVC retention policy,
replicas, minReadySeconds and ordinals.start non-negative, a selector that is present, valid,
not empty and matches the template's labels, and a template whose restartPolicy is Always and
has no activeDeadlineSeconds. As upstream, the template's pod spec itself is not validated
here: a bad container surfaces when the controller creates the pod (a FailedCreate event).
`serviceName` is not checked either: pods carry it as `spec.subdomain`, which pod validation
checks. On update only replicas, ordinals, template, updateStrategy, the retention policy and
minReadySeconds may change. Status writes keep the counts non-negative, below
`status.replicas`, and collisionCount from going down. ControllerRevisions need `data` and a
non-negative `revision`, and their data never changes.
"""

from __future__ import annotations

import json
from typing import Any

from kubesvc.api.errors import FieldError, forbidden, invalid, not_supported, required
from kubesvc.api.validation.common import (
    IMMUTABLE,
    name_is_dns_label,
    name_is_dns_subdomain,
    validate_annotations,
    validate_labels,
    validate_nonnegative,
    validate_object_meta,
    validate_object_meta_update,
)
from kubesvc.api.validation.fields import (
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    GoLiteral,
    Obj,
    Reader,
    child,
    go_string_map,
)
from kubesvc.api.validation.selectors import (
    go_label_selector,
    selector_matches,
    selector_parses,
    validate_label_selector,
)

POLICIES = ("OrderedReady", "Parallel")
RETENTION = ["Retain", "Delete"]
MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
FORBIDDEN_UPDATE = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)
_NIL_ROLLING = "(*apps.RollingUpdateStatefulSetStrategy)(nil)"


def _go_rolling(partition: int) -> str:
    return (
        f"apps.RollingUpdateStatefulSetStrategy{{Partition:{partition}, "
        "MaxUnavailable:(*intstr.IntOrString)(nil)}"
    )


def _validate_update_strategy(r: Reader, spec: Obj) -> list[FieldError]:
    path = "spec.updateStrategy"
    strategy = r.obj(spec, "updateStrategy", path)
    kind = r.string(strategy, "type", child(path, "type"))
    rolling = r.opt_obj(strategy, "rollingUpdate", child(path, "rollingUpdate"))
    rpath = child(path, "rollingUpdate")
    partition = 0
    if rolling is not None:
        partition = r.integer(rolling, "partition", child(rpath, "partition"))
    if kind == "":
        return [required(path)]
    if kind == "OnDelete":
        if rolling is not None:
            detail = "only allowed for updateStrategy 'RollingUpdate'"
            return [invalid(rpath, GoLiteral(_go_rolling(partition)), detail)]
        return []
    if kind == "RollingUpdate":
        if rolling is None:
            return []
        return validate_nonnegative(partition, child(rpath, "partition"))
    pointer = (
        _NIL_ROLLING
        if rolling is None
        else "(*apps.RollingUpdateStatefulSetStrategy)(0xc000000000)"
    )
    shown = GoLiteral(f'apps.StatefulSetUpdateStrategy{{Type:"{kind}", RollingUpdate:{pointer}}}')
    return [invalid(path, shown, "must be 'RollingUpdate' or 'OnDelete'")]


def _validate_retention(r: Reader, spec: Obj) -> list[FieldError]:
    path = "spec.persistentVolumeClaimRetentionPolicy"
    policy = r.opt_obj(spec, "persistentVolumeClaimRetentionPolicy", path)
    if policy is None:
        return []
    errs: list[FieldError] = []
    for name in ("whenDeleted", "whenScaled"):
        value = r.string(policy, name, child(path, name))
        if value not in RETENTION:
            errs.append(not_supported(child(path, name), value, RETENTION))
    return errs


def _validate_template(r: Reader, spec: Obj, selector: Obj | None) -> list[FieldError]:
    """ValidatePodTemplateSpecForStatefulSet: labels and annotations, not the pod spec."""
    tpath = "spec.template"
    template = r.obj(spec, "template", tpath)
    meta = r.obj(template, "metadata", child(tpath, "metadata"))
    labels = r.opt_str_map(meta, "labels", child(tpath, "labels"))
    errs: list[FieldError] = []
    empty = (
        selector is not None
        and not selector.get("matchLabels")
        and not selector.get("matchExpressions")
    )
    if not empty and (selector is None or not selector_matches(selector, labels or {})):
        detail = "`selector` does not match template `labels`"
        errs.append(invalid(child(tpath, "metadata.labels"), go_string_map(labels), detail))
    errs += validate_labels(labels, child(tpath, "labels"))
    annotations = r.opt_str_map(meta, "annotations", child(tpath, "annotations"))
    return errs + validate_annotations(annotations, child(tpath, "annotations"))


def _validate_selector_and_template(r: Reader, spec: Obj) -> list[FieldError]:
    spath = "spec.selector"
    selector = r.opt_obj(spec, "selector", spath)
    errs: list[FieldError] = []
    if selector is None:
        errs.append(required(spath))
    else:
        errs += validate_label_selector(r, selector, spath)
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            detail = "empty selector is invalid for statefulset"
            errs.append(invalid(spath, go_label_selector(selector), detail))
    if selector is not None and not selector_parses(selector):
        errs.append(invalid(spath, go_label_selector(selector)))
    else:
        errs += _validate_template(r, spec, selector)
    tspec = r.obj(r.obj(spec, "template", "spec.template"), "spec", "spec.template.spec")
    restart = r.string(tspec, "restartPolicy", "spec.template.spec.restartPolicy")
    if restart != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        detail = "activeDeadlineSeconds in StatefulSet is not Supported"
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds", detail))
    return errs


def validate_stateful_set_spec(r: Reader, spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    policy = r.string(spec, "podManagementPolicy", "spec.podManagementPolicy")
    if policy == "":
        errs.append(required("spec.podManagementPolicy"))
    elif policy not in POLICIES:
        detail = "must be 'OrderedReady' or 'Parallel'"
        errs.append(invalid("spec.podManagementPolicy", policy, detail))
    errs += _validate_update_strategy(r, spec)
    errs += _validate_retention(r, spec)
    errs += validate_nonnegative(r.integer(spec, "replicas", "spec.replicas"), "spec.replicas")
    min_ready = r.integer(spec, "minReadySeconds", "spec.minReadySeconds")
    errs += validate_nonnegative(min_ready, "spec.minReadySeconds")
    ordinals = r.opt_obj(spec, "ordinals", "spec.ordinals")
    if ordinals is not None:
        start = r.integer(ordinals, "start", "spec.ordinals.start")
        errs += validate_nonnegative(start, "spec.ordinals.start")
    return errs + _validate_selector_and_template(r, spec)


def _semantic(value: Any) -> Any:
    """Semantic.DeepEqual's view: empty and absent maps, lists and strings compare equal."""
    if isinstance(value, dict):
        kept = {k: _semantic(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def _immutable_spec(spec: Obj, old: Any) -> list[FieldError]:
    old_spec = old.get("spec") if isinstance(old, dict) else None
    old_spec = old_spec if isinstance(old_spec, dict) else {}
    new_rest = {k: v for k, v in spec.items() if k not in MUTABLE}
    old_rest = {k: v for k, v in old_spec.items() if k not in MUTABLE}
    if _semantic(new_rest) == _semantic(old_rest):
        return []
    return [forbidden("spec", FORBIDDEN_UPDATE)]


def validate_stateful_set(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    if old is None:
        errs = validate_object_meta(r, obj, True, name_is_dns_label)
    else:
        errs = validate_object_meta_update(r, obj, old)
    spec = r.obj(obj, "spec", "spec")
    errs += validate_stateful_set_spec(r, spec)
    if old is not None:
        errs += _immutable_spec(spec, old)
    return errs


_STATUS_COUNTS = ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas")


def validate_stateful_set_status(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    """ValidateStatefulSetStatusUpdate."""
    status = r.obj(obj, "status", "status")
    values = {
        name: r.integer(status, name, f"status.{name}")
        for name in (*_STATUS_COUNTS, "availableReplicas")
    }
    errs: list[FieldError] = []
    for name, value in values.items():
        errs += validate_nonnegative(value, f"status.{name}")
    for name in ("observedGeneration", "collisionCount"):
        wide = name == "observedGeneration"
        lo, hi = (INT64_MIN, INT64_MAX) if wide else (INT32_MIN, INT32_MAX)
        optional = r.opt_int(status, name, f"status.{name}", lo, hi)
        if optional is not None:
            errs += validate_nonnegative(optional, f"status.{name}")
    msg = "cannot be greater than status.replicas"
    for name in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
        if values[name] > values["replicas"]:
            errs.append(invalid(f"status.{name}", values[name], msg))
    if values["availableReplicas"] > values["readyReplicas"]:
        detail = "cannot be greater than status.readyReplicas"
        errs.append(invalid("status.availableReplicas", values["availableReplicas"], detail))
    errs += validate_object_meta_update(r, obj, old)
    new_count = status.get("collisionCount")
    old_status = old.get("status") if isinstance(old, dict) else None
    old_count = old_status.get("collisionCount") if isinstance(old_status, dict) else None
    if isinstance(old_count, int) and (not isinstance(new_count, int) or new_count < old_count):
        shown = new_count if isinstance(new_count, int) else 0
        errs.append(invalid("status.collisionCount", shown, "cannot be decremented"))
    return errs


def _go_raw_extension(data: Any) -> GoLiteral:
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    hexed = ", ".join(f"0x{b:x}" for b in raw)
    return GoLiteral(f"runtime.RawExtension{{Raw:[]uint8{{{hexed}}}, Object:runtime.Object(nil)}}")


def validate_controller_revision(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    errs = [] if old is None else validate_object_meta_update(r, obj, old)
    errs += validate_object_meta(r, obj, True, name_is_dns_subdomain)
    if obj.get("data") is None:
        errs.append(required("data", "data is mandatory"))
    revision = r.integer(obj, "revision", "revision", INT64_MIN, INT64_MAX)
    errs += validate_nonnegative(revision, "revision")
    if old is not None and obj.get("data") != old.get("data"):
        errs.append(invalid("data", _go_raw_extension(obj.get("data")), IMMUTABLE))
    return errs
