"""Pod, PodSpec and PodTemplateSpec validation (core ValidatePodSpec and friends).

`validate_pod_spec` follows upstream's order: grace period, volumes, containers, init
containers, host-network ports, restart and DNS policy, node selector, security context, DNS
config, readiness gates, names (service account, node, hostname, subdomain), deadlines,
tolerations and host aliases. Pods add create-only and update rules (`pod updates may not
change fields other than ...`), templates add the workload rules used by Deployments and
ReplicaSets. Volume sources are checked for count and their required names only.
"""

from __future__ import annotations

import json
from typing import Any

from kubesvc.api.errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from kubesvc.api.validation import formats
from kubesvc.api.validation.common import (
    invalid_each,
    name_is_dns_subdomain,
    validate_annotations,
    validate_ip,
    validate_label_name,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from kubesvc.api.validation.containers import (
    host_port_conflicts,
    validate_container_common,
    validate_lifecycle_and_probes,
    validate_security_context,
)
from kubesvc.api.validation.fields import (
    INT32_MAX,
    INT64_MAX,
    INT64_MIN,
    GoLiteral,
    Obj,
    Reader,
    child,
    go_string_slice,
    index,
)

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
VOLUME_SOURCES = (
    "emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret",
    "nfs", "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephFS",
    "quobyte", "downwardAPI", "fc", "flexVolume", "configMap", "azureFile", "vsphereVolume",
    "photonPersistentDisk", "portworxVolume", "azureDisk", "storageos", "projected", "scaleIO",
    "csi", "ephemeral", "image",
)  # fmt: skip
JSON_VOLUME_NAMES = {"cephFS": "cephfs"}
_REQUIRED_SOURCE_NAMES = {
    "hostPath": "path",
    "secret": "secretName",
    "configMap": "name",
    "persistentVolumeClaim": "claimName",
}
UPDATABLE = ",".join(
    [
        "`spec.containers[*].image`",
        "`spec.initContainers[*].image`",
        "`spec.activeDeadlineSeconds`",
        "`spec.tolerations` (only additions to existing tolerations)",
        "`spec.terminationGracePeriodSeconds` "
        "(allow it to be set to 1 if it was previously negative)",
    ]
)


def _validate_volumes(r: Reader, spec: Obj, path: str) -> tuple[set[str], list[FieldError]]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, raw in enumerate(r.lst(spec, "volumes", path)):
        ipath = index(path, i)
        volume = r.as_obj(raw, ipath)
        own: list[FieldError] = []
        count = 0
        for source in VOLUME_SOURCES:
            json_name = JSON_VOLUME_NAMES.get(source, source)
            body = r.opt_obj(volume, json_name, child(ipath, json_name))
            if body is None:
                continue
            if count:
                own.append(
                    forbidden(child(ipath, source), "may not specify more than 1 volume type")
                )
                continue
            count += 1
            field = _REQUIRED_SOURCE_NAMES.get(source)
            if field and not r.string(body, field, child(child(ipath, json_name), field)):
                own.append(required(child(child(ipath, json_name), field)))
        if count == 0:
            own.append(required(ipath, "must specify a volume type"))
        name = r.string(volume, "name", child(ipath, "name"))
        if not name:
            own.append(required(child(ipath, "name")))
        else:
            own += invalid_each(child(ipath, "name"), name, formats.is_dns1123_label(name))
        if name in names:
            own.append(duplicate(child(ipath, "name"), name))
        if own:
            errs += own
        else:
            names.add(name)
    return names, errs


def _validate_containers(
    r: Reader, spec: Obj, volumes: set[str], grace: int | None, path: str
) -> list[FieldError]:
    cpath = child(path, "containers")
    containers = [
        r.as_obj(c, index(cpath, i)) for i, c in enumerate(r.lst(spec, "containers", cpath))
    ]
    if not containers:
        return [required(cpath)]
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, ctr in enumerate(containers):
        ipath = index(cpath, i)
        errs += validate_container_common(r, ctr, volumes, ipath)
        name = r.string(ctr, "name", child(ipath, "name"))
        if name in names:
            errs.append(duplicate(child(ipath, "name"), name))
        names.add(name)
        errs += validate_lifecycle_and_probes(r, ctr, grace, ipath)
        if r.opt_str(ctr, "restartPolicy", child(ipath, "restartPolicy")) is not None:
            errs.append(
                forbidden(child(ipath, "restartPolicy"), "may not be set for non-init containers")
            )
    errs += host_port_conflicts(r, containers, cpath)
    ipath_all = child(path, "initContainers")
    for i, raw in enumerate(r.lst(spec, "initContainers", ipath_all)):
        ipath = index(ipath_all, i)
        ctr = r.as_obj(raw, ipath)
        errs += validate_container_common(r, ctr, volumes, ipath)
        policy = r.opt_str(ctr, "restartPolicy", child(ipath, "restartPolicy"))
        if policy is not None and policy != "Always":
            errs.append(not_supported(child(ipath, "restartPolicy"), policy, ["Always"]))
        name = r.string(ctr, "name", child(ipath, "name"))
        if name in names:
            errs.append(duplicate(child(ipath, "name"), name))
        elif name:
            names.add(name)
        errs += host_port_conflicts(r, [ctr], ipath_all)
        if policy == "Always":
            errs += validate_lifecycle_and_probes(r, ctr, grace, ipath)
            continue
        for field in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
            if ctr.get(field) is not None:
                detail = "may not be set for init containers without restartPolicy=Always"
                errs.append(forbidden(child(ipath, field), detail))
    return errs


def _validate_dns_config(r: Reader, spec: Obj, policy: str, path: str) -> list[FieldError]:
    config = r.opt_obj(spec, "dnsConfig", path)
    if policy == "None":
        if config is None:
            return [required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not r.str_list(config, "nameservers", path):
            detail = "must provide at least one DNS nameserver when `dnsPolicy` is None"
            return [required(child(path, "nameservers"), detail)]
    if config is None:
        return []
    errs: list[FieldError] = []
    nameservers = r.str_list(config, "nameservers", child(path, "nameservers"))
    if len(nameservers) > 3:
        shown = GoLiteral(go_string_slice(nameservers))
        errs.append(
            invalid(child(path, "nameservers"), shown, "must not have more than 3 nameservers")
        )
    for i, server in enumerate(nameservers):
        errs += validate_ip(server, index(child(path, "nameservers"), i))
    for i, search in enumerate(r.str_list(config, "searches", child(path, "searches"))):
        trimmed = search.removesuffix(".")
        errs += invalid_each(
            index(child(path, "searches"), i), trimmed, formats.is_dns1123_subdomain(trimmed)
        )
    for i, raw in enumerate(r.lst(config, "options", child(path, "options"))):
        option = r.as_obj(raw, index(child(path, "options"), i))
        if not r.string(option, "name", child(path, "options")):
            errs.append(required(index(child(path, "options"), i), "must not be empty"))
    return errs


def _validate_tolerations(r: Reader, spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(r.lst(spec, "tolerations", path)):
        ipath = index(path, i)
        tol = r.as_obj(raw, ipath)
        tol_key = r.string(tol, "key", child(ipath, "key"))
        operator = r.string(tol, "operator", child(ipath, "operator"))
        effect = r.string(tol, "effect", child(ipath, "effect"))
        value = r.string(tol, "value", child(ipath, "value"))
        if tol_key:
            errs += validate_label_name(tol_key, child(ipath, "key"))
        if not tol_key and operator != "Exists":
            detail = (
                "operator must be Exists when `key` is empty, "
                'which means "match all values and all keys"'
            )
            errs.append(invalid(child(ipath, "operator"), operator, detail))
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            detail = "effect must be 'NoExecute' when `tolerationSeconds` is set"
            errs.append(invalid(child(ipath, "effect"), effect, detail))
        if operator in ("Equal", ""):
            problems = formats.is_label_value(value)
            if problems:
                errs.append(invalid(child(ipath, "operator"), value, ";".join(problems)))
        elif operator == "Exists":
            if value:
                detail = "value must be empty when `operator` is 'Exists'"
                errs.append(invalid(child(ipath, "operator"), value, detail))
        else:
            errs.append(not_supported(child(ipath, "operator"), operator, ["Equal", "Exists"]))
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            supported = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
            errs.append(not_supported(child(ipath, "effect"), effect, supported))
    return errs


def _validate_names(r: Reader, spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for field, check in (
        ("serviceAccountName", name_is_dns_subdomain),
        ("nodeName", name_is_dns_subdomain),
    ):
        value = r.string(spec, field, child(path, field))
        if value:
            errs += invalid_each(child(path, field), value, check(value, False))
    deadline = r.opt_int(
        spec, "activeDeadlineSeconds", child(path, "activeDeadlineSeconds"), INT64_MIN, INT64_MAX
    )
    if deadline is not None and not 1 <= deadline <= INT32_MAX:
        problem = formats.inclusive_range_error(1, INT32_MAX)
        errs.append(invalid(child(path, "activeDeadlineSeconds"), deadline, problem))
    for field in ("hostname", "subdomain"):
        value = r.string(spec, field, child(path, field))
        if value:
            errs += invalid_each(child(path, field), value, formats.is_dns1123_label(value))
    return errs


def validate_pod_spec(r: Reader, spec: Obj, path: str, is_pod: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    grace = r.opt_int(
        spec,
        "terminationGracePeriodSeconds",
        child(path, "terminationGracePeriodSeconds"),
        INT64_MIN,
        INT64_MAX,
    )
    if grace is None:
        errs.append(required(child(path, "terminationGracePeriodSeconds")))
    volumes, volume_errs = _validate_volumes(r, spec, child(path, "volumes"))
    errs += volume_errs
    errs += _validate_containers(r, spec, volumes, grace, path)
    if r.boolean(spec, "hostNetwork", child(path, "hostNetwork")):
        for ci, raw in enumerate(r.lst(spec, "containers", child(path, "containers"))):
            ports_path = child(index(child(path, "containers"), ci), "ports")
            for pi, port in enumerate(r.lst(raw, "ports", ports_path)):
                host_port = r.integer(port, "hostPort", ports_path)
                if (is_pod or host_port) and host_port != r.integer(
                    port, "containerPort", ports_path
                ):
                    detail = "must match `containerPort` when `hostNetwork` is true"
                    errs.append(
                        invalid(child(index(ports_path, pi), "hostPort"), host_port, detail)
                    )
    restart = r.string(spec, "restartPolicy", child(path, "restartPolicy"))
    if not restart:
        errs.append(required(child(path, "restartPolicy")))
    elif restart not in RESTART_POLICIES:
        errs.append(not_supported(child(path, "restartPolicy"), restart, RESTART_POLICIES))
    dns_policy = r.string(spec, "dnsPolicy", child(path, "dnsPolicy"))
    if not dns_policy:
        errs.append(required(child(path, "dnsPolicy")))
    elif dns_policy not in DNS_POLICIES:
        errs.append(not_supported(child(path, "dnsPolicy"), dns_policy, DNS_POLICIES))
    errs += validate_labels(
        r.opt_str_map(spec, "nodeSelector", child(path, "nodeSelector")),
        child(path, "nodeSelector"),
    )
    errs += validate_security_context(r, spec, child(path, "securityContext"))
    errs += _validate_dns_config(r, spec, dns_policy, child(path, "dnsConfig"))
    for i, raw in enumerate(r.lst(spec, "readinessGates", child(path, "readinessGates"))):
        gpath = child(index(child(path, "readinessGates"), i), "conditionType")
        errs += validate_label_name(r.string(r.as_obj(raw, gpath), "conditionType", gpath), gpath)
    errs += _validate_names(r, spec, path)
    errs += _validate_tolerations(r, spec, child(path, "tolerations"))
    for i, raw in enumerate(r.lst(spec, "hostAliases", child(path, "hostAliases"))):
        apath = index(child(path, "hostAliases"), i)
        alias = r.as_obj(raw, apath)
        errs += validate_ip(r.string(alias, "ip", child(apath, "ip")), child(apath, "ip"))
        for j, host in enumerate(r.str_list(alias, "hostnames", child(apath, "hostnames"))):
            hpath = index(child(apath, "hostnames"), j)
            errs += invalid_each(hpath, host, formats.is_dns1123_subdomain(host))
    return errs


def validate_pod_template_spec(r: Reader, template: Obj, path: str) -> list[FieldError]:
    meta = r.obj(template, "metadata", child(path, "metadata"))
    errs = validate_labels(
        r.opt_str_map(meta, "labels", child(path, "labels")), child(path, "labels")
    )
    annotations = r.opt_str_map(meta, "annotations", child(path, "annotations"))
    errs += validate_annotations(annotations, child(path, "annotations"))
    spec = r.obj(template, "spec", child(path, "spec"))
    errs += validate_pod_spec(r, spec, child(path, "spec"), is_pod=False)
    if r.lst(spec, "ephemeralContainers", child(path, "spec")):
        detail = "ephemeral containers not allowed in pod template"
        errs.append(forbidden(child(child(path, "spec"), "ephemeralContainers"), detail))
    return errs


def _validate_pod_metadata_and_spec(r: Reader, obj: Any) -> list[FieldError]:
    errs = validate_object_meta(r, obj, True, name_is_dns_subdomain)
    spec = r.obj(obj, "spec", "spec")
    errs += validate_pod_spec(r, spec, "spec", is_pod=True)
    for group in ("containers", "initContainers"):
        for i, raw in enumerate(r.lst(spec, group, f"spec.{group}")):
            image = r.string(r.as_obj(raw, index(f"spec.{group}", i)), "image", f"spec.{group}")
            if image != image.strip():
                path = child(index(f"spec.{group}", i), "image")
                errs.append(invalid(path, image, "must not have leading or trailing whitespace"))
    return errs


def validate_pod(r: Reader, obj: Any) -> list[FieldError]:
    """ValidatePodCreate."""
    errs = _validate_pod_metadata_and_spec(r, obj)
    spec = r.obj(obj, "spec", "spec")
    if r.lst(spec, "ephemeralContainers", "spec.ephemeralContainers"):
        errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if r.string(spec, "nodeName", "spec.nodeName") and r.lst(spec, "schedulingGates", "spec"):
        detail = "cannot be set until all schedulingGates have been cleared"
        errs.append(forbidden("spec.nodeName", detail))
    return errs


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _old_spec(old: Any) -> Obj:
    spec = old.get("spec") if isinstance(old, dict) else None
    return spec if isinstance(spec, dict) else {}


def _munged(new: Obj, old: Obj) -> Obj:
    munged: Obj = json.loads(json.dumps(new))
    for group in ("containers", "initContainers"):
        old_items = _list(old.get(group))
        for i, ctr in enumerate(munged.get(group) or []):
            if isinstance(ctr, dict) and i < len(old_items) and isinstance(old_items[i], dict):
                ctr["image"] = old_items[i].get("image")
    for field in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        munged.pop(field, None)
        if field in old:
            munged[field] = old[field]
    return munged


def _diff(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for name in sorted(set(old) | set(new)):
            lines += _diff(old.get(name), new.get(name), child(path, name))
        return lines
    if old == new:
        return []
    return [f"- {path}: {json.dumps(old)}", f"+ {path}: {json.dumps(new)}"]


def validate_pod_update(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    """ValidatePodUpdate: only images, deadline and tolerations may change."""
    errs = validate_object_meta_update(r, obj, old)
    errs += _validate_pod_metadata_and_spec(r, obj)
    spec = r.obj(obj, "spec", "spec")
    old_spec = _old_spec(old)
    for group in ("containers", "initContainers"):
        new_items = r.lst(spec, group, f"spec.{group}")
        old_items = _list(old_spec.get(group))
        if len(new_items) != len(old_items):
            errs.append(forbidden(f"spec.{group}", "pod updates may not add or remove containers"))
            return errs
    deadline = r.opt_int(
        spec, "activeDeadlineSeconds", "spec.activeDeadlineSeconds", INT64_MIN, INT64_MAX
    )
    old_deadline = old_spec.get("activeDeadlineSeconds")
    if deadline is not None:
        if not 0 <= deadline <= INT32_MAX:
            problem = formats.inclusive_range_error(0, INT32_MAX)
            return [*errs, invalid("spec.activeDeadlineSeconds", deadline, problem)]
        if isinstance(old_deadline, int) and old_deadline < deadline:
            detail = "must be less than or equal to previous value"
            return [*errs, invalid("spec.activeDeadlineSeconds", deadline, detail)]
    elif old_deadline is not None:
        detail = "must not update from a positive integer to nil value"
        errs.append(invalid("spec.activeDeadlineSeconds", None, detail))
    munged = _munged(spec, old_spec)
    if munged != old_spec:
        lines = "\n".join(["  core.PodSpec{", *_diff(old_spec, munged), "  }"])
        detail = f"pod updates may not change fields other than {UPDATABLE}\n{lines}\n"
        errs.append(forbidden("spec", detail))
    return errs


def validate_pod_status(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    """ValidatePodStatusUpdate, less the container state transition rules."""
    errs = validate_object_meta_update(r, obj, old)
    spec = r.obj(obj, "spec", "spec")
    old_spec = _old_spec(old)
    if r.string(spec, "nodeName", "spec.nodeName") != (old_spec.get("nodeName") or ""):
        errs.append(forbidden("status.nodeName", "may not be changed directly"))
    status = r.obj(obj, "status", "status")
    for i, raw in enumerate(r.lst(status, "conditions", "status.conditions")):
        condition = r.as_obj(raw, index("status.conditions", i))
        ctype = r.string(condition, "type", "status.conditions")
        if ctype not in ("PodScheduled", "Ready", "Initialized"):
            errs += validate_label_name(ctype, child(index("metadata.conditions", i), "Type"))
    for field in ("podIPs", "hostIPs"):
        for i, raw in enumerate(r.lst(status, field, f"status.{field}")):
            entry = r.as_obj(raw, index(f"status.{field}", i))
            errs += validate_ip(
                r.string(entry, "ip", f"status.{field}"), index(f"status.{field}", i)
            )
    return errs
