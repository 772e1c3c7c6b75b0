"""Service validation: upstream ValidateService, ValidateServiceUpdate and the status update.

The checks run in kube-apiserver's order (metadata, ports, selector, session affinity,
cluster IPs and families, external IPs, type, node ports, duplicates, source ranges, load
balancer fields, traffic policies) with its paths and messages. The object is expected to be
defaulted and to have `clusterIPs` synced from `clusterIP` (see `defaults.apply_defaults`).
`validate_cluster_families` holds the checks the IP allocator makes against the cluster's
configured families (here: single-stack IPv4).
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from kubesvc.api.gofmt import go_quote
from kubesvc.api.validation import formats
from kubesvc.api.validation.common import (
    invalid_each,
    name_is_dns1035_label,
    validate_cidr,
    validate_ip,
    validate_label_name,
    validate_labels,
    validate_non_special_ip,
    validate_object_meta,
)
from kubesvc.api.validation.fields import (
    GoLiteral,
    Obj,
    Reader,
    child,
    go_string_slice,
    index,
    key,
)

TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
AFFINITIES = ["ClientIP", "None"]
FAMILIES = ["IPv4", "IPv6"]
FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"]
TRAFFIC_POLICIES = ["Cluster", "Local"]
MAX_AFFINITY_SECONDS = 86400
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
TOPOLOGY_HINTS_ANNOTATION = "service.kubernetes.io/topology-aware-hints"
TOPOLOGY_MODE_ANNOTATION = "service.kubernetes.io/topology-mode"
ONLY_LB = "may only be used when `type` is 'LoadBalancer'"


class ServiceSpec:
    """The Service fields validation looks at, read once through the Reader."""

    def __init__(self, r: Reader, obj: Any) -> None:
        spec = r.obj(obj, "spec", "spec")
        self.raw = spec
        self.type = r.string(spec, "type", "spec.type")
        self.cluster_ip = r.string(spec, "clusterIP", "spec.clusterIP")
        ips = r.opt_str_list(spec, "clusterIPs", "spec.clusterIPs")
        self.cluster_ips = ips or []
        self.cluster_ips_shown = go_ips(ips)
        families = r.opt_str_list(spec, "ipFamilies", "spec.ipFamilies")
        self.families = families or []
        self.families_shown = go_families(families)
        self.family_policy = r.opt_str(spec, "ipFamilyPolicy", "spec.ipFamilyPolicy")
        self.ports = [
            r.as_obj(p, index("spec.ports", i))
            for i, p in enumerate(r.lst(spec, "ports", "spec.ports"))
        ]
        self.selector = r.opt_str_map(spec, "selector", "spec.selector")
        self.external_ips = r.str_list(spec, "externalIPs", "spec.externalIPs")
        self.external_name = r.string(spec, "externalName", "spec.externalName")
        self.etp = r.string(spec, "externalTrafficPolicy", "spec.externalTrafficPolicy")
        self.itp = r.opt_str(spec, "internalTrafficPolicy", "spec.internalTrafficPolicy")
        self.hc_port = r.integer(spec, "healthCheckNodePort", "spec.healthCheckNodePort")
        self.lb_class = r.opt_str(spec, "loadBalancerClass", "spec.loadBalancerClass")
        self.alloc_node_ports = r.opt_bool(
            spec, "allocateLoadBalancerNodePorts", "spec.allocateLoadBalancerNodePorts"
        )

    @property
    def headless(self) -> bool:
        return len(self.cluster_ips) == 1 and self.cluster_ips[0] == "None"

    @property
    def externally_accessible(self) -> bool:
        return self.type in ("LoadBalancer", "NodePort") or (
            self.type == "ClusterIP" and bool(self.external_ips)
        )

    @property
    def needs_health_check(self) -> bool:
        return self.type == "LoadBalancer" and self.etp == "Local"


def go_ips(values: list[str] | None) -> GoLiteral:
    return GoLiteral(go_string_slice(values))


def go_families(values: list[str] | None) -> GoLiteral:
    if values is None:
        return GoLiteral("[]core.IPFamily(nil)")
    return GoLiteral("[]core.IPFamily{" + ", ".join(go_quote(v) for v in values) + "}")


def _go_service_port(protocol: str, port: int) -> GoLiteral:
    return GoLiteral(
        f'core.ServicePort{{Name:"", Protocol:{go_quote(protocol)}, AppProtocol:(*string)(nil), '
        f'Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}'
    )


def _validate_port(
    r: Reader, port: Obj, require_name: bool, names: set[str], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = r.string(port, "name", child(path, "name"))
    if require_name and not name:
        errs.append(required(child(path, "name")))
    elif name:
        errs += invalid_each(child(path, "name"), name, formats.is_dns1123_label(name))
        if name in names:
            errs.append(duplicate(child(path, "name"), name))
        else:
            names.add(name)
    number = r.integer(port, "port", child(path, "port"))
    errs += invalid_each(child(path, "port"), number, formats.is_valid_port_num(number))
    protocol = r.string(port, "protocol", child(path, "protocol"))
    if not protocol:
        errs.append(required(child(path, "protocol")))
    elif protocol not in PROTOCOLS:
        errs.append(not_supported(child(path, "protocol"), protocol, PROTOCOLS))
    errs += validate_port_num_or_name(
        r.int_or_str(port, "targetPort", path), child(path, "targetPort")
    )
    app_protocol = r.opt_str(port, "appProtocol", child(path, "appProtocol"))
    if app_protocol is not None:
        errs += validate_label_name(app_protocol, child(path, "appProtocol"))
    return errs


def validate_port_num_or_name(value: int | str | None, path: str) -> list[FieldError]:
    if isinstance(value, str):
        return invalid_each(path, value, formats.is_valid_port_name(value))
    number = value or 0
    return invalid_each(path, number, formats.is_valid_port_num(number))


def _validate_type_specific(s: ServiceSpec) -> list[FieldError]:
    errs: list[FieldError] = []
    if s.type in ("LoadBalancer", "NodePort") and s.headless:
        detail = f"may not be set to 'None' for {s.type} services"
        errs.append(invalid("spec.clusterIPs[0]", s.cluster_ips[0], detail))
    elif s.type == "ExternalName":
        for field, present in (
            ("clusterIPs", bool(s.cluster_ips)),
            ("ipFamilies", bool(s.families)),
            ("ipFamilyPolicy", s.family_policy is not None),
        ):
            if present:
                errs.append(forbidden(f"spec.{field}", "may not be set for ExternalName services"))
        cname = s.external_name.removesuffix(".")
        if cname:
            errs += invalid_each("spec.externalName", cname, formats.is_dns1123_subdomain(cname))
        else:
            errs.append(required("spec.externalName"))
    return errs


def _validate_affinity(r: Reader, s: ServiceSpec) -> list[FieldError]:
    errs: list[FieldError] = []
    affinity = r.string(s.raw, "sessionAffinity", "spec.sessionAffinity")
    if not affinity:
        errs.append(required("spec.sessionAffinity"))
    elif affinity not in AFFINITIES:
        errs.append(not_supported("spec.sessionAffinity", affinity, AFFINITIES))
    path = "spec.sessionAffinityConfig"
    config = r.opt_obj(s.raw, "sessionAffinityConfig", path)
    if affinity == "ClientIP":
        why = "when session affinity type is ClientIP"
        client_ip = r.opt_obj(config, "clientIP", child(path, "clientIP"))
        timeout_path = child(child(path, "clientIP"), "timeoutSeconds")
        timeout = r.opt_int(client_ip, "timeoutSeconds", timeout_path)
        if config is None:
            errs.append(required(path, why))
        elif client_ip is None:
            errs.append(required(child(path, "clientIP"), why))
        elif timeout is None:
            errs.append(required(timeout_path, why))
        elif not 0 < timeout <= MAX_AFFINITY_SECONDS:
            detail = f"must be greater than 0 and less than {MAX_AFFINITY_SECONDS}"
            errs.append(invalid(timeout_path, timeout, detail))
    elif affinity == "None" and config is not None:
        errs.append(forbidden(path, "must not be set when session affinity is None"))
    return errs


def validate_cluster_ips_related_fields(s: ServiceSpec) -> list[FieldError]:
    """ValidateServiceClusterIPsRelatedFields."""
    if s.type == "ExternalName":
        return []
    errs: list[FieldError] = []
    ips = s.cluster_ips
    if s.cluster_ip:
        if not ips:
            errs.append(required("spec.clusterIPs"))
        elif ips[0] != s.cluster_ip:
            errs.append(
                invalid(
                    "spec.clusterIPs", s.cluster_ips_shown, "first value must match `clusterIP`"
                )
            )
    elif ips:
        detail = "must be empty when `clusterIP` is not specified"
        errs.append(invalid("spec.clusterIPs", s.cluster_ips_shown, detail))
    seen: set[str] = set()
    for i, family in enumerate(s.families):
        if family not in FAMILIES:
            errs.append(not_supported(index("spec.ipFamilies", i), family, FAMILIES))
        if family in seen:
            errs.append(duplicate(index("spec.ipFamilies", i), family))
        seen.add(family)
    if s.family_policy is not None and s.family_policy not in FAMILY_POLICIES:
        errs.append(not_supported("spec.ipFamilyPolicy", s.family_policy, FAMILY_POLICIES))
    has_invalid = False
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                has_invalid = True
                detail = "'None' must be the first and only value"
                errs.append(invalid("spec.clusterIPs", s.cluster_ips_shown, detail))
            continue
        ip_errs = validate_ip(ip, index("spec.clusterIPs", i))
        has_invalid = has_invalid or bool(ip_errs)
        errs += ip_errs
    if len(ips) > 2:
        errs.append(invalid("spec.clusterIPs", s.cluster_ips_shown, "may only hold up to 2 values"))
    if has_invalid:
        return errs
    if len(ips) > 1 and not (any(map(formats.is_ipv4, ips)) and any(map(formats.is_ipv6, ips))):
        detail = "may specify no more than one IP for each IP family"
        errs.append(invalid("spec.clusterIPs", s.cluster_ips_shown, detail))
    if not s.headless and ips and s.families:
        for i, ip in enumerate(ips[: len(s.families)]):
            family = s.families[i]
            if family == "IPv4" and formats.is_ipv6(ip):
                detail = f"expected an IPv4 value as indicated by `ipFamilies[{i}]`"
                errs.append(invalid(index("spec.clusterIPs", i), ip, detail))
            if family == "IPv6" and not formats.is_ipv6(ip):
                detail = f"expected an IPv6 value as indicated by `ipFamilies[{i}]`"
                errs.append(invalid(index("spec.clusterIPs", i), ip, detail))
    return errs


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _validate_ports_by_type(r: Reader, s: ServiceSpec) -> list[FieldError]:
    errs: list[FieldError] = []
    node_ports = [
        r.integer(p, "nodePort", child(index("spec.ports", i), "nodePort"))
        for i, p in enumerate(s.ports)
    ]
    protocols = [_str(p.get("protocol")) for p in s.ports]
    if s.type == "ClusterIP":
        for i, node_port in enumerate(node_ports):
            if node_port != 0:
                path = child(index("spec.ports", i), "nodePort")
                errs.append(forbidden(path, "may not be used when `type` is 'ClusterIP'"))
    seen_node: set[tuple[str, int]] = set()
    for i, node_port in enumerate(node_ports):
        if node_port == 0:
            continue
        if (protocols[i], node_port) in seen_node:
            errs.append(duplicate(child(index("spec.ports", i), "nodePort"), node_port))
        seen_node.add((protocols[i], node_port))
    seen: set[tuple[str, int]] = set()
    for i, port in enumerate(s.ports):
        raw = port.get("port")
        number = raw if isinstance(raw, int) else 0
        if (protocols[i], number) in seen:
            errs.append(duplicate(index("spec.ports", i), _go_service_port(protocols[i], number)))
        seen.add((protocols[i], number))
    return errs


def _validate_source_ranges(
    r: Reader, s: ServiceSpec, annotations: dict[str, str]
) -> list[FieldError]:
    errs: list[FieldError] = []
    ranges = r.str_list(s.raw, "loadBalancerSourceRanges", "spec.loadBalancerSourceRanges")
    if ranges:
        path = "spec.LoadBalancerSourceRanges"
        if s.type != "LoadBalancer":
            errs.append(forbidden(path, ONLY_LB))
        for i, value in enumerate(ranges):
            errs += validate_cidr(value.strip(), index(path, i))
    elif SOURCE_RANGES_ANNOTATION in annotations:
        path = key("metadata.annotations", SOURCE_RANGES_ANNOTATION)
        if s.type != "LoadBalancer":
            errs.append(forbidden(path, ONLY_LB))
        value = annotations[SOURCE_RANGES_ANNOTATION].strip()
        if value:
            for cidr in value.split(","):
                errs += validate_cidr(cidr.strip(), path)
    return errs


def _validate_lb_fields(s: ServiceSpec) -> list[FieldError]:
    errs: list[FieldError] = []
    if s.alloc_node_ports is not None and s.type != "LoadBalancer":
        errs.append(forbidden("spec.allocateLoadBalancerNodePorts", ONLY_LB))
    if s.type == "LoadBalancer" and s.alloc_node_ports is None:
        errs.append(required("allocateLoadBalancerNodePorts"))
    if s.type == "LoadBalancer":
        if s.lb_class is not None:
            errs += validate_label_name(s.lb_class, "spec.loadBalancerClass")
    elif s.lb_class is not None:
        errs.append(forbidden("spec.loadBalancerClass", ONLY_LB))
    return errs


def _validate_traffic_policies(r: Reader, s: ServiceSpec) -> list[FieldError]:
    errs: list[FieldError] = []
    if not s.externally_accessible:
        if s.etp:
            detail = "may only be set for externally-accessible services"
            errs.append(invalid("spec.externalTrafficPolicy", s.etp, detail))
    elif not s.etp:
        errs.append(required("spec.externalTrafficPolicy"))
    elif s.etp not in TRAFFIC_POLICIES:
        errs.append(not_supported("spec.externalTrafficPolicy", s.etp, TRAFFIC_POLICIES))
    if not s.needs_health_check:
        if s.hc_port != 0:
            detail = (
                "may only be set when `type` is 'LoadBalancer' and "
                "`externalTrafficPolicy` is 'Local'"
            )
            errs.append(invalid("spec.healthCheckNodePort", s.hc_port, detail))
    elif s.hc_port == 0:
        errs.append(required("spec.healthCheckNodePort"))
    else:
        problems = formats.is_valid_port_num(s.hc_port)
        errs += invalid_each("spec.healthCheckNodePort", s.hc_port, problems)
    if s.itp is None:
        if s.type in ("NodePort", "LoadBalancer", "ClusterIP"):
            errs.append(required("spec.internalTrafficPolicy"))
    elif s.itp not in TRAFFIC_POLICIES:
        errs.append(not_supported("spec.internalTrafficPolicy", s.itp, TRAFFIC_POLICIES))
    distribution = r.opt_str(s.raw, "trafficDistribution", "spec.trafficDistribution")
    if distribution is not None and distribution != "PreferClose":
        errs.append(not_supported("spec.trafficDistribution", distribution, ["PreferClose"]))
    return errs


def validate_service(r: Reader, obj: Any) -> list[FieldError]:
    """ValidateService."""
    errs = validate_object_meta(r, obj, True, name_is_dns1035_label)
    meta = r.obj(obj, "metadata", "metadata")
    annotations = r.str_map(meta, "annotations", "metadata.annotations")
    hints = annotations.get(TOPOLOGY_HINTS_ANNOTATION)
    mode = annotations.get(TOPOLOGY_MODE_ANNOTATION)
    if hints is not None and mode is not None and hints != mode:
        detail = f"must match annotations[{TOPOLOGY_HINTS_ANNOTATION}] when both are specified"
        errs.append(invalid(key("metadata.annotations", TOPOLOGY_MODE_ANNOTATION), mode, detail))
    s = ServiceSpec(r, obj)
    if not s.ports and not s.headless and s.type != "ExternalName":
        errs.append(required("spec.ports"))
    errs += _validate_type_specific(s)
    names: set[str] = set()
    for i, port in enumerate(s.ports):
        errs += _validate_port(r, port, len(s.ports) > 1, names, index("spec.ports", i))
    if s.selector is not None:
        errs += validate_labels(s.selector, "spec.selector")
    errs += _validate_affinity(r, s)
    errs += validate_cluster_ips_related_fields(s)
    for i, ip in enumerate(s.external_ips):
        ip_errs = validate_ip(ip, index("spec.externalIPs", i))
        errs += ip_errs or validate_non_special_ip(ip, index("spec.externalIPs", i))
    if not s.type:
        errs.append(required("spec.type"))
    elif s.type not in TYPES:
        errs.append(not_supported("spec.type", s.type, TYPES))
    errs += _validate_ports_by_type(r, s)
    errs += _validate_source_ranges(r, s, annotations)
    errs += _validate_lb_fields(s)
    return errs + _validate_traffic_policies(r, s)
