"""Container validation: names, images, ports, env, mounts, resources, probes, lifecycle.

Mirrors core's `validateContainerCommon`, `validateContainers`, `validateInitContainers`,
probe and handler validation, in upstream order. Resource quantities are checked for shape,
sign and requests <= limits; extended-resource rules beyond that are left out.
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    required,
)
from kubesvc.api.validation import formats, quantity
from kubesvc.api.validation.common import invalid_each, name_is_dns_subdomain, validate_nonnegative
from kubesvc.api.validation.fields import INT64_MAX, INT64_MIN, Obj, Reader, child, index, key
from kubesvc.api.validation.service import validate_port_num_or_name

PROTOCOLS = ["SCTP", "TCP", "UDP"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
QUANTITY_FORMAT = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"


def _validate_ports(r: Reader, ctr: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, raw in enumerate(r.lst(ctr, "ports", path)):
        ipath = index(path, i)
        port = r.as_obj(raw, ipath)
        name = r.string(port, "name", child(ipath, "name"))
        if name:
            problems = formats.is_valid_port_name(name)
            if problems:
                errs += invalid_each(child(ipath, "name"), name, problems)
            elif name in names:
                errs.append(duplicate(child(ipath, "name"), name))
            else:
                names.add(name)
        number = r.integer(port, "containerPort", child(ipath, "containerPort"))
        if number == 0:
            errs.append(required(child(ipath, "containerPort")))
        else:
            errs += invalid_each(
                child(ipath, "containerPort"), number, formats.is_valid_port_num(number)
            )
        host_port = r.integer(port, "hostPort", child(ipath, "hostPort"))
        if host_port:
            errs += invalid_each(
                child(ipath, "hostPort"), host_port, formats.is_valid_port_num(host_port)
            )
        protocol = r.string(port, "protocol", child(ipath, "protocol"))
        if not protocol:
            errs.append(required(child(ipath, "protocol")))
        elif protocol not in PROTOCOLS:
            errs.append(not_supported(child(ipath, "protocol"), protocol, PROTOCOLS))
    return errs


def _validate_key_selector(r: Reader, sel: Obj, path: str) -> list[FieldError]:
    name = r.string(sel, "name", child(path, "name"))
    errs = invalid_each(child(path, "name"), name, name_is_dns_subdomain(name, False))
    key_name = r.string(sel, "key", child(path, "key"))
    if not key_name:
        errs.append(required(child(path, "key")))
    else:
        errs += invalid_each(child(path, "key"), key_name, formats.is_config_map_key(key_name))
    return errs


def _validate_value_from(r: Reader, env: Obj, path: str) -> list[FieldError]:
    source = r.opt_obj(env, "valueFrom", path)
    if source is None:
        return []
    errs: list[FieldError] = []
    count = 0
    field_ref = r.opt_obj(source, "fieldRef", child(path, "fieldRef"))
    if field_ref is not None:
        count += 1
        fpath = child(path, "fieldRef")
        if not r.string(field_ref, "apiVersion", child(fpath, "apiVersion")):
            errs.append(required(child(fpath, "apiVersion")))
        elif not r.string(field_ref, "fieldPath", child(fpath, "fieldPath")):
            errs.append(required(child(fpath, "fieldPath")))
    if r.opt_obj(source, "resourceFieldRef", child(path, "resourceFieldRef")) is not None:
        count += 1
    for name in ("configMapKeyRef", "secretKeyRef"):
        selector = r.opt_obj(source, name, child(path, name))
        if selector is not None:
            count += 1
            errs += _validate_key_selector(r, selector, child(path, name))
    if count == 0:
        detail = (
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
            "`secretKeyRef`"
        )
        errs.append(invalid(path, "", detail))
    elif r.string(env, "value", path):
        errs.append(invalid(path, "", "may not be specified when `value` is not empty"))
    elif count > 1:
        errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def _validate_env(r: Reader, ctr: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(r.lst(ctr, "env", child(path, "env"))):
        ipath = index(child(path, "env"), i)
        env = r.as_obj(raw, ipath)
        name = r.string(env, "name", child(ipath, "name"))
        if not name:
            errs.append(required(child(ipath, "name")))
        else:
            errs += invalid_each(child(ipath, "name"), name, formats.is_relaxed_env_var_name(name))
        errs += _validate_value_from(r, env, child(ipath, "valueFrom"))
    from_path = child(path, "envFrom")
    for i, raw in enumerate(r.lst(ctr, "envFrom", from_path)):
        ipath = index(from_path, i)
        source = r.as_obj(raw, ipath)
        prefix = r.string(source, "prefix", child(ipath, "prefix"))
        if prefix:
            errs += invalid_each(
                child(ipath, "prefix"), prefix, formats.is_relaxed_env_var_name(prefix)
            )
        count = 0
        for name in ("configMapRef", "secretRef"):
            ref = r.opt_obj(source, name, child(ipath, name))
            if ref is not None:
                count += 1
                ref_name = r.string(ref, "name", child(child(ipath, name), "name"))
                npath = child(child(ipath, name), "name")
                if not ref_name:
                    errs.append(required(npath))
                else:
                    errs += invalid_each(npath, ref_name, name_is_dns_subdomain(ref_name, True))
        if count == 0:
            errs.append(
                invalid(from_path, "", "must specify one of: `configMapRef` or `secretRef`")
            )
        elif count > 1:
            detail = "may not have more than one field specified at a time"
            errs.append(invalid(from_path, "", detail))
    return errs


def _validate_mounts(r: Reader, ctr: Obj, volumes: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.lst(ctr, "volumeMounts", path)):
        ipath = index(path, i)
        mount = r.as_obj(raw, ipath)
        name = r.string(mount, "name", child(ipath, "name"))
        if not name:
            errs.append(required(child(ipath, "name")))
        if name not in volumes:
            errs.append(not_found(child(ipath, "name"), name))
        mount_path = r.string(mount, "mountPath", child(ipath, "mountPath"))
        if not mount_path:
            errs.append(required(child(ipath, "mountPath")))
        if mount_path in seen:
            errs.append(invalid(child(ipath, "mountPath"), mount_path, "must be unique"))
        seen.add(mount_path)
    return errs


def _validate_resources(r: Reader, ctr: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    resources = r.obj(ctr, "resources", path)
    parsed: dict[str, dict[str, Any]] = {}
    for section in ("limits", "requests"):
        spath = child(path, section)
        parsed[section] = {}
        for name, raw in sorted(r.obj(resources, section, spath).items()):
            rpath = key(spath, name)
            if (
                "/" not in name
                and name not in STANDARD_CONTAINER_RESOURCES
                and not name.startswith("hugepages-")
            ):
                errs += invalid_each(rpath, name, formats.is_qualified_name(name))
                if not formats.is_qualified_name(name):
                    errs.append(invalid(rpath, name, "must be a standard resource for containers"))
            value = quantity.parse(raw)
            if value is None:
                detail = f"quantities must match the regular expression '{QUANTITY_FORMAT}'"
                errs.append(
                    FieldError(type="FieldValueTypeInvalid", field=rpath, value=raw, detail=detail)
                )
                continue
            if value < 0:
                errs.append(invalid(rpath, str(raw), "must be greater than or equal to 0"))
            parsed[section][name] = (value, raw)
    for name, (value, raw) in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and value > limit[0]:
            detail = f"must be less than or equal to {name} limit of {limit[1]}"
            errs.append(invalid(child(path, "requests"), str(raw), detail))
    return errs


def validate_security_context(r: Reader, owner: Obj, path: str) -> list[FieldError]:
    context = r.opt_obj(owner, "securityContext", path)
    errs: list[FieldError] = []
    for name in ("runAsUser", "runAsGroup", "fsGroup"):
        value = r.opt_int(context, name, child(path, name), INT64_MIN, INT64_MAX)
        if value is not None and not 0 <= value <= 0xFFFFFFFF:
            errs.append(
                invalid(child(path, name), value, formats.inclusive_range_error(0, 4294967295))
            )
    return errs


def validate_container_common(
    r: Reader, ctr: Obj, volumes: set[str], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = r.string(ctr, "name", child(path, "name"))
    if not name:
        errs.append(required(child(path, "name")))
    else:
        errs += invalid_each(child(path, "name"), name, formats.is_dns1123_label(name))
    if not r.string(ctr, "image", child(path, "image")):
        errs.append(required(child(path, "image")))
    policy = r.string(ctr, "terminationMessagePolicy", child(path, "terminationMessagePolicy"))
    if not policy:
        errs.append(required(child(path, "terminationMessagePolicy")))
    elif policy not in MESSAGE_POLICIES:
        errs.append(
            not_supported(child(path, "terminationMessagePolicy"), policy, MESSAGE_POLICIES)
        )
    errs += _validate_ports(r, ctr, child(path, "ports"))
    errs += _validate_env(r, ctr, path)
    errs += _validate_mounts(r, ctr, volumes, child(path, "volumeMounts"))
    pull = r.string(ctr, "imagePullPolicy", child(path, "imagePullPolicy"))
    if not pull:
        errs.append(required(child(path, "imagePullPolicy")))
    elif pull not in PULL_POLICIES:
        errs.append(not_supported(child(path, "imagePullPolicy"), pull, PULL_POLICIES))
    errs += _validate_resources(r, ctr, child(path, "resources"))
    return errs + validate_security_context(r, ctr, child(path, "securityContext"))


def _validate_handler(
    r: Reader, handler: Obj, grace: int | None, path: str, kinds: tuple[str, ...]
) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for kind in kinds:
        action = r.opt_obj(handler, kind, child(path, kind))
        if action is None:
            continue
        apath = child(path, kind)
        if count:
            errs.append(forbidden(apath, "may not specify more than 1 handler type"))
            continue
        count += 1
        if kind == "exec" and not r.str_list(action, "command", child(apath, "command")):
            errs.append(required(child(apath, "command")))
        elif kind == "httpGet":
            if not r.string(action, "path", child(apath, "path")):
                errs.append(required(child(apath, "path")))
            errs += validate_port_num_or_name(
                r.int_or_str(action, "port", apath), child(apath, "port")
            )
            scheme = r.string(action, "scheme", child(apath, "scheme"))
            if scheme not in ("HTTP", "HTTPS"):
                errs.append(not_supported(child(apath, "scheme"), scheme, ["HTTP", "HTTPS"]))
            for j, raw in enumerate(r.lst(action, "httpHeaders", child(apath, "httpHeaders"))):
                header = r.as_obj(raw, index(child(apath, "httpHeaders"), j))
                hname = r.string(header, "name", child(apath, "httpHeaders"))
                errs += invalid_each(
                    child(apath, "httpHeaders"), hname, formats.is_http_header_name(hname)
                )
        elif kind in ("tcpSocket", "grpc"):
            port = (
                r.int_or_str(action, "port", apath)
                if kind == "tcpSocket"
                else r.integer(action, "port", apath)
            )
            errs += validate_port_num_or_name(port, child(apath, "port"))
        elif kind == "sleep":
            seconds = r.integer(action, "seconds", apath, INT64_MIN, INT64_MAX)
            if grace is not None and not 0 < seconds <= grace:
                detail = (
                    f"must be greater than 0 and less than terminationGracePeriodSeconds ({grace})."
                    " Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep."
                )
                errs.append(invalid(apath, seconds, detail))
    if count == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")


def _validate_probe(
    r: Reader, ctr: Obj, kind: str, grace: int | None, path: str
) -> list[FieldError]:
    probe = r.opt_obj(ctr, kind, path)
    if probe is None:
        return []
    errs = _validate_handler(r, probe, grace, path, PROBE_HANDLERS)
    for name in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        errs += validate_nonnegative(r.integer(probe, name, child(path, name)), child(path, name))
    tgps = r.opt_int(probe, "terminationGracePeriodSeconds", path, INT64_MIN, INT64_MAX)
    if tgps is not None and tgps <= 0:
        errs.append(
            invalid(child(path, "terminationGracePeriodSeconds"), tgps, "must be greater than 0")
        )
    if kind in ("livenessProbe", "startupProbe"):
        threshold = r.integer(probe, "successThreshold", path)
        if threshold != 1:
            errs.append(invalid(child(path, "successThreshold"), threshold, "must be 1"))
    elif tgps is not None:
        detail = "must not be set for readinessProbes"
        errs.append(invalid(child(path, "terminationGracePeriodSeconds"), tgps, detail))
    return errs


def validate_lifecycle_and_probes(
    r: Reader, ctr: Obj, grace: int | None, path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    lifecycle = r.opt_obj(ctr, "lifecycle", child(path, "lifecycle"))
    for hook in ("postStart", "preStop"):
        handler = r.opt_obj(lifecycle, hook, child(child(path, "lifecycle"), hook))
        if handler is not None:
            hpath = child(child(path, "lifecycle"), hook)
            errs += _validate_handler(r, handler, grace, hpath, LIFECYCLE_HANDLERS)
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        errs += _validate_probe(r, ctr, kind, grace, child(path, kind))
    return errs


def host_port_conflicts(r: Reader, containers: list[Obj], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for ci, ctr in enumerate(containers):
        ports_path = child(index(path, ci), "ports")
        for pi, raw in enumerate(r.lst(ctr, "ports", ports_path)):
            port = r.as_obj(raw, index(ports_path, pi))
            host_port = r.integer(port, "hostPort", ports_path)
            if host_port == 0:
                continue
            protocol = r.string(port, "protocol", ports_path)
            text = f"{protocol}/{r.string(port, 'hostIP', ports_path)}/{host_port}"
            if text in seen:
                errs.append(duplicate(child(index(ports_path, pi), "hostPort"), text))
            seen.add(text)
    return errs
