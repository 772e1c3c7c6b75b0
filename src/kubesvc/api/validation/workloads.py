"""Deployment and ReplicaSet validation (apps ValidateDeploymentSpec / ValidateReplicaSetSpec).

Both require a non-empty selector that parses and matches the pod template's labels, validate
the template as a PodTemplateSpec whose restart policy must be Always, and refuse negative
counts. Deployments add the strategy (RollingUpdate percentages, Recreate) and progress
deadline; on update apps/v1 keeps `spec.selector` immutable.
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import FieldError, forbidden, invalid, not_supported, required
from kubesvc.api.validation import formats
from kubesvc.api.validation.common import (
    IMMUTABLE,
    name_is_dns_subdomain,
    validate_nonnegative,
    validate_object_meta,
    validate_object_meta_update,
)
from kubesvc.api.validation.fields import (
    GoLiteral,
    Obj,
    Reader,
    child,
    go_int_or_string,
    go_string_map,
)
from kubesvc.api.validation.pod import validate_pod_template_spec
from kubesvc.api.validation.selectors import (
    go_label_selector,
    selector_matches,
    selector_parses,
    validate_label_selector,
)


def _validate_template(r: Reader, spec: Obj, selector: Obj | None, path: str) -> list[FieldError]:
    """ValidatePodTemplateSpecForReplicaSet (used by Deployments too)."""
    tpath = child(path, "template")
    template = r.obj(spec, "template", tpath)
    errs: list[FieldError] = []
    meta = r.obj(template, "metadata", child(tpath, "metadata"))
    labels = r.opt_str_map(meta, "labels", child(child(tpath, "metadata"), "labels"))
    empty = (
        selector is not None
        and not selector.get("matchLabels")
        and not selector.get("matchExpressions")
    )
    if not empty and (selector is None or not selector_matches(selector, labels or {})):
        detail = "`selector` does not match template `labels`"
        errs.append(
            invalid(child(child(tpath, "metadata"), "labels"), go_string_map(labels), detail)
        )
    errs += validate_pod_template_spec(r, template, tpath)
    tspec = r.obj(template, "spec", child(tpath, "spec"))
    restart = r.string(tspec, "restartPolicy", tpath)
    if restart != "Always":
        errs.append(
            not_supported(child(child(tpath, "spec"), "restartPolicy"), restart, ["Always"])
        )
    if tspec.get("activeDeadlineSeconds") is not None:
        detail = "activeDeadlineSeconds in ReplicaSet is not Supported"
        errs.append(forbidden(child(child(tpath, "spec"), "activeDeadlineSeconds"), detail))
    return errs


def _validate_selector_and_template(r: Reader, spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    spath = child(path, "selector")
    selector = r.opt_obj(spec, "selector", spath)
    if selector is None:
        errs.append(required(spath))
    else:
        errs += validate_label_selector(r, selector, spath)
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            detail = "empty selector is invalid for deployment"
            errs.append(invalid(spath, go_label_selector(selector), detail))
    if selector is not None and not selector_parses(selector):
        errs.append(invalid(spath, go_label_selector(selector), "invalid label selector"))
    else:
        errs += _validate_template(r, spec, selector, path)
    return errs


def _percent(value: int | str | None) -> int | None:
    if isinstance(value, str) and not formats.is_valid_percent(value):
        return int(value[:-1])
    return None


def _int_or_percent_value(value: int | str | None) -> int:
    """getIntOrPercentValue: a percent, else IntOrString.IntValue() (Atoi of a string)."""
    percent = _percent(value)
    if percent is not None:
        return percent
    if isinstance(value, str):
        digits = value[1:] if value[:1] in ("+", "-") else value
        if digits.isascii() and digits.isdigit():
            return int(value)
        return 0
    return value or 0


def _validate_int_or_percent(value: int | str | None, path: str) -> list[FieldError]:
    if isinstance(value, str):
        shown = GoLiteral(go_int_or_string(value))
        return [invalid(path, shown, msg) for msg in formats.is_valid_percent(value)]
    return validate_nonnegative(value or 0, path)


def _validate_strategy(r: Reader, spec: Obj, path: str) -> list[FieldError]:
    spath = child(path, "strategy")
    strategy = r.obj(spec, "strategy", spath)
    kind = r.string(strategy, "type", child(spath, "type"))
    rolling = r.opt_obj(strategy, "rollingUpdate", child(spath, "rollingUpdate"))
    rpath = child(spath, "rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            detail = "may not be specified when strategy `type` is 'Recreate'"
            return [forbidden(rpath, detail)]
        return []
    if kind != "RollingUpdate":
        ru = (
            "(*apps.RollingUpdateDeployment)(nil)"
            if rolling is None
            else "(*apps.RollingUpdateDeployment)(0xc000000000)"
        )
        shown = GoLiteral(f'apps.DeploymentStrategy{{Type:"{kind}", RollingUpdate:{ru}}}')
        return [not_supported(spath, shown, ["Recreate", "RollingUpdate"])]
    if rolling is None:
        return [required(rpath, "this should be defaulted and never be nil")]
    unavailable = r.int_or_str(rolling, "maxUnavailable", child(rpath, "maxUnavailable"))
    surge = r.int_or_str(rolling, "maxSurge", child(rpath, "maxSurge"))
    errs = _validate_int_or_percent(unavailable, child(rpath, "maxUnavailable"))
    errs += _validate_int_or_percent(surge, child(rpath, "maxSurge"))
    if _int_or_percent_value(unavailable) == 0 and _int_or_percent_value(surge) == 0:
        shown = GoLiteral(go_int_or_string(unavailable))
        detail = "may not be 0 when `maxSurge` is 0"
        errs.append(invalid(child(rpath, "maxUnavailable"), shown, detail))
    percent = _percent(unavailable)
    if percent is not None and percent > 100:
        shown = GoLiteral(go_int_or_string(unavailable))
        errs.append(invalid(child(rpath, "maxUnavailable"), shown, "must not be greater than 100%"))
    return errs


def validate_deployment_spec(r: Reader, spec: Obj, path: str = "spec") -> list[FieldError]:
    errs = validate_nonnegative(
        r.integer(spec, "replicas", child(path, "replicas")), child(path, "replicas")
    )
    errs += _validate_selector_and_template(r, spec, path)
    errs += _validate_strategy(r, spec, path)
    min_ready = r.integer(spec, "minReadySeconds", child(path, "minReadySeconds"))
    errs += validate_nonnegative(min_ready, child(path, "minReadySeconds"))
    history = r.opt_int(spec, "revisionHistoryLimit", child(path, "revisionHistoryLimit"))
    if history is not None:
        errs += validate_nonnegative(history, child(path, "revisionHistoryLimit"))
    deadline = r.opt_int(spec, "progressDeadlineSeconds", child(path, "progressDeadlineSeconds"))
    if deadline is not None:
        errs += validate_nonnegative(deadline, child(path, "progressDeadlineSeconds"))
        if deadline <= min_ready:
            detail = "must be greater than minReadySeconds"
            errs.append(invalid(child(path, "progressDeadlineSeconds"), deadline, detail))
    return errs


def validate_deployment(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    if old is None:
        errs = validate_object_meta(r, obj, True, name_is_dns_subdomain)
    else:
        errs = validate_object_meta_update(r, obj, old)
    spec = r.obj(obj, "spec", "spec")
    errs += validate_deployment_spec(r, spec)
    if old is not None:
        errs += _selector_immutable(r, spec, old)
    return errs


def _selector_immutable(r: Reader, spec: Obj, old: Any) -> list[FieldError]:
    old_spec = old.get("spec") if isinstance(old, dict) else None
    old_selector = old_spec.get("selector") if isinstance(old_spec, dict) else None
    selector = r.opt_obj(spec, "selector", "spec.selector")
    if _normal_selector(selector) == _normal_selector(old_selector):
        return []
    return [invalid("spec.selector", go_label_selector(selector), IMMUTABLE)]


def _normal_selector(selector: Any) -> Any:
    if not isinstance(selector, dict):
        return None
    return {k: v for k, v in selector.items() if v not in (None, {}, [])}


def validate_replica_set(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    if old is None:
        errs = validate_object_meta(r, obj, True, name_is_dns_subdomain)
    else:
        errs = validate_object_meta_update(r, obj, old)
    spec = r.obj(obj, "spec", "spec")
    errs += validate_nonnegative(r.integer(spec, "replicas", "spec.replicas"), "spec.replicas")
    min_ready = r.integer(spec, "minReadySeconds", "spec.minReadySeconds")
    errs += validate_nonnegative(min_ready, "spec.minReadySeconds")
    errs += _validate_selector_and_template(r, spec, "spec")
    if old is not None:
        errs += _selector_immutable(r, spec, old)
    return errs


def _validate_counts(
    r: Reader, status: Obj, fields: tuple[str, ...], ready_name: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    values = {name: r.integer(status, name, child("status", name)) for name in fields}
    for name in fields:
        errs += validate_nonnegative(values[name], child("status", name))
    msg = "cannot be greater than status.replicas"
    uncapped = ("replicas", "observedGeneration", "unavailableReplicas", "collisionCount")
    for name in fields:
        if name not in uncapped and values[name] > values["replicas"]:
            errs.append(invalid(child("status", name), values[name], msg))
    if values["availableReplicas"] > values["readyReplicas"]:
        detail = f"cannot be greater than {ready_name}"
        errs.append(invalid("status.availableReplicas", values["availableReplicas"], detail))
    return errs


def validate_deployment_status(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    errs = validate_object_meta_update(r, obj, old)
    status = r.obj(obj, "status", "status")
    fields = (
        "observedGeneration",
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
        "unavailableReplicas",
    )
    return errs + _validate_counts(r, status, fields, "readyReplicas")


def validate_replica_set_status(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    errs = validate_object_meta_update(r, obj, old)
    status = r.obj(obj, "status", "status")
    fields = (
        "replicas",
        "fullyLabeledReplicas",
        "readyReplicas",
        "availableReplicas",
        "observedGeneration",
    )
    return errs + _validate_counts(r, status, fields, "readyReplicas")
