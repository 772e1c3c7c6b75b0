"""Ingress and IngressClass validation (networking.k8s.io/v1).

Ingress: either rules or a default backend; hosts are DNS-1123 subdomains, possibly a
`*.` wildcard, never IPs; every HTTP path needs a pathType, and Prefix/Exact paths must be
absolute and free of `//`, `/./`, `/../`, `%2f`; backends name a Service (DNS-1035) and a
port by name or number. IngressClass: a domain-prefixed controller, immutable on update.
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import FieldError, forbidden, invalid, not_supported, required, too_long
from kubesvc.api.validation import formats
from kubesvc.api.validation.common import (
    IMMUTABLE,
    invalid_each,
    name_is_dns1035_label,
    name_is_dns_subdomain,
    validate_object_meta,
    validate_object_meta_update,
)
from kubesvc.api.validation.fields import GoLiteral, Obj, Reader, child, index

PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]
INVALID_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_SUFFIXES = ("/..", "/.")
CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def _validate_backend(r: Reader, backend: Obj, path: str) -> list[FieldError]:
    resource = r.opt_obj(backend, "resource", child(path, "resource"))
    service = r.opt_obj(backend, "service", child(path, "service"))
    if resource is not None and service is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        errs: list[FieldError] = []
        rpath = child(path, "resource")
        for field in ("kind", "name"):
            value = r.string(resource, field, child(rpath, field))
            if not value:
                errs.append(required(child(rpath, field)))
            else:
                errs += invalid_each(
                    child(rpath, field), value, formats.is_path_segment_name(value)
                )
        return errs
    if service is None:
        return [invalid(path, "", "resource or service backend is required")]
    errs = []
    spath = child(path, "service")
    name = r.string(service, "name", child(spath, "name"))
    if not name:
        errs.append(required(child(spath, "name")))
    else:
        errs += invalid_each(child(spath, "name"), name, name_is_dns1035_label(name, False))
    port = r.obj(service, "port", child(spath, "port"))
    port_name = r.string(port, "name", child(child(spath, "port"), "name"))
    number = r.integer(port, "number", child(child(spath, "port"), "number"))
    if port_name and number:
        errs.append(invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        problems = formats.is_valid_port_name(port_name)
        errs += invalid_each(child(child(spath, "port"), "name"), port_name, problems)
    elif number:
        problems = formats.is_valid_port_num(number)
        errs += invalid_each(child(child(spath, "port"), "number"), number, problems)
    else:
        errs.append(required(path, "port name or number is required"))
    return errs


def _validate_path(r: Reader, entry: Obj, path: str) -> list[FieldError]:
    path_type = r.opt_str(entry, "pathType", child(path, "pathType"))
    if path_type is None:
        return [required(child(path, "pathType"), "pathType must be specified")]
    errs: list[FieldError] = []
    value = r.string(entry, "path", child(path, "path"))
    ppath = child(path, "path")
    if path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.append(invalid(ppath, value, "must be an absolute path"))
        if value:
            for sequence in INVALID_SEQUENCES:
                if sequence in value:
                    errs.append(invalid(ppath, value, f"must not contain '{sequence}'"))
            for suffix in INVALID_SUFFIXES:
                if value.endswith(suffix):
                    errs.append(invalid(ppath, value, f"cannot end with '{suffix}'"))
    elif path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errs.append(invalid(ppath, value, "must be an absolute path"))
    else:
        errs.append(not_supported(child(path, "pathType"), path_type, PATH_TYPES))
    backend = r.obj(entry, "backend", child(path, "backend"))
    return errs + _validate_backend(r, backend, child(path, "backend"))


def _validate_rules(r: Reader, rules: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(rules):
        rpath = index(path, i)
        rule = r.as_obj(raw, rpath)
        host = r.string(rule, "host", child(rpath, "host"))
        if host:
            if formats.parse_ip_sloppy(host) is not None:
                errs.append(
                    invalid(child(rpath, "host"), host, "must be a DNS name, not an IP address")
                )
            if "*" in host:
                problems = formats.is_wildcard_dns1123_subdomain(host)
            else:
                problems = formats.is_dns1123_subdomain(host)
            errs += invalid_each(child(rpath, "host"), host, problems)
        http = r.opt_obj(rule, "http", child(rpath, "http"))
        if http is None:
            continue
        hpath = child(rpath, "http")
        paths = r.lst(http, "paths", child(hpath, "paths"))
        if not paths:
            errs.append(required(child(hpath, "paths")))
        for j, entry in enumerate(paths):
            epath = index(child(hpath, "paths"), j)
            errs += _validate_path(r, r.as_obj(entry, epath), epath)
    return errs


def _validate_tls(r: Reader, spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(r.lst(spec, "tls", "spec.tls")):
        tpath = index("spec.tls", i)
        tls = r.as_obj(raw, tpath)
        for j, host in enumerate(r.str_list(tls, "hosts", child(tpath, "hosts"))):
            hpath = index(child(tpath, "hosts"), j)
            if "*" in host:
                errs += invalid_each(hpath, host, formats.is_wildcard_dns1123_subdomain(host))
            else:
                errs += invalid_each(hpath, host, formats.is_dns1123_subdomain(host))
        secret = r.string(tls, "secretName", child(tpath, "secretName"))
        if secret:
            problems = name_is_dns_subdomain(secret, False)
            errs += invalid_each(child(tpath, "secretName"), secret, problems)
    return errs


def validate_ingress(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    errs = [] if old is None else validate_object_meta_update(r, obj, old)
    errs += validate_object_meta(r, obj, True, name_is_dns_subdomain)
    spec = r.obj(obj, "spec", "spec")
    rules = r.lst(spec, "rules", "spec.rules")
    default_backend = r.opt_obj(spec, "defaultBackend", "spec.defaultBackend")
    if not rules and default_backend is None:
        shown = GoLiteral("[]networking.IngressRule(nil)")
        errs.append(invalid("spec", shown, "either `defaultBackend` or `rules` must be specified"))
    if default_backend is not None:
        errs += _validate_backend(r, default_backend, "spec.defaultBackend")
    errs += _validate_rules(r, rules, "spec.rules")
    errs += _validate_tls(r, spec)
    class_name = r.opt_str(spec, "ingressClassName", "spec.ingressClassName")
    if class_name is not None:
        problems = name_is_dns_subdomain(class_name, False)
        errs += invalid_each("spec.ingressClassName", class_name, problems)
    if old is None:
        meta = r.obj(obj, "metadata", "metadata")
        annotation = r.str_map(meta, "annotations", "metadata.annotations").get(CLASS_ANNOTATION)
        if annotation is not None and class_name is not None and annotation != class_name:
            detail = "must match `ingressClassName` when both are specified"
            errs.append(invalid(f"annotations.{CLASS_ANNOTATION}", annotation, detail))
    return errs


def validate_ingress_class(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    errs: list[FieldError] = []
    spec = r.obj(obj, "spec", "spec")
    controller = r.string(spec, "controller", "spec.controller")
    if old is not None:
        errs += validate_object_meta_update(r, obj, old)
        old_spec = old.get("spec") if isinstance(old, dict) else None
        old_controller = old_spec.get("controller") if isinstance(old_spec, dict) else None
        if controller != (old_controller or ""):
            errs.append(invalid("spec.controller", controller, IMMUTABLE))
    errs += validate_object_meta(r, obj, False, name_is_dns_subdomain)
    if not controller:
        errs.append(required("spec.controller"))
    else:
        if len(controller) > 250:
            errs.append(too_long("spec.controller", 250))
        errs += invalid_each(
            "spec.controller", controller, formats.is_domain_prefixed_path(controller)
        )
    parameters = r.opt_obj(spec, "parameters", "spec.parameters")
    if parameters is not None:
        ppath = "spec.parameters"
        for field in ("kind", "name"):
            value = r.string(parameters, field, child(ppath, field))
            if not value:
                errs.append(required(child(ppath, field)))
            else:
                errs += invalid_each(
                    child(ppath, field), value, formats.is_path_segment_name(value)
                )
        errs += _validate_parameters_scope(r, parameters, ppath)
    return errs


def _validate_parameters_scope(r: Reader, parameters: Obj, path: str) -> list[FieldError]:
    scope = r.opt_str(parameters, "scope", child(path, "scope"))
    namespace = r.opt_str(parameters, "namespace", child(path, "namespace"))
    ns_path = child(path, "namespace")
    if scope is None:
        return [required(child(path, "scope"))]
    if scope not in ("Cluster", "Namespace"):
        return [not_supported(child(path, "scope"), scope, ["Cluster", "Namespace"])]
    if scope == "Namespace":
        if namespace is None:
            return [required(ns_path, "`parameters.scope` is set to 'Namespace'")]
        return invalid_each(ns_path, namespace, formats.is_dns1123_label(namespace))
    if namespace is not None:
        return [forbidden(ns_path, "`parameters.scope` is set to 'Cluster'")]
    return []
