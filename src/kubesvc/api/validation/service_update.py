"""Service update, status and cluster-family checks.

`validate_service_update` is upstream ValidateServiceUpdate: clusterIPs and ipFamilies may
grow or shrink only as dual-stack upgrades and downgrades allow and their primary entry never
changes (except to or from ExternalName), loadBalancerClass and a needed healthCheckNodePort
are fixed, then the new object is validated as on create. `validate_service_status` checks
`status.loadBalancer`. `validate_cluster_families` is what the IP allocator refuses on a
single-stack IPv4 cluster.
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import FieldError, forbidden, invalid, not_supported, required
from kubesvc.api.validation import formats
from kubesvc.api.validation.common import (
    invalid_each,
    validate_ip,
    validate_object_meta_update,
)
from kubesvc.api.validation.fields import Reader, child, index
from kubesvc.api.validation.service import (
    ServiceSpec,
    validate_cluster_ips_related_fields,
    validate_service,
)

NOT_CHANGE = "may not change once set"


def _upgrade_downgrade_cluster_ips(old: ServiceSpec, new: ServiceSpec) -> list[FieldError]:
    if "ExternalName" in (new.type, old.type) or (old.headless and new.headless):
        return []
    errs: list[FieldError] = []
    old_ips, new_ips = old.cluster_ips, new.cluster_ips
    shown = new.cluster_ips_shown
    if len(old_ips) == len(new_ips):
        for i, ip in enumerate(old_ips):
            if ip != new_ips[i]:
                errs.append(invalid(index("spec.clusterIPs", i), shown, NOT_CHANGE))
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            detail = "primary clusterIP can not be unset"
            errs.append(invalid("spec.clusterIPs[0]", shown, detail))
        if old_ips and new_ips and new_ips[0] != old_ips[0]:
            errs.append(invalid("spec.clusterIPs[0]", shown, NOT_CHANGE))
        if len(new_ips) == 1 and new.family_policy != "SingleStack":
            detail = "must be set to 'SingleStack' when releasing the secondary clusterIP"
            errs.append(invalid("spec.ipFamilyPolicy", new.family_policy, detail))
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid("spec.clusterIPs[0]", shown, NOT_CHANGE))
    return errs


def _upgrade_downgrade_families(old: ServiceSpec, new: ServiceSpec) -> list[FieldError]:
    if "ExternalName" in (new.type, old.type) or old.headless != new.headless or new.headless:
        return []
    errs: list[FieldError] = []
    old_f, new_f = old.families, new.families
    path = "spec.ipFamilies[0]"
    if len(old_f) == len(new_f):
        for i, family in enumerate(old_f):
            if family != new_f[i]:
                errs.append(invalid(path, new.families_shown, NOT_CHANGE))
    elif len(old_f) > len(new_f):
        if not new.cluster_ips:
            errs.append(invalid(path, new.families_shown, "primary ipFamily can not be unset"))
        if new_f and new_f[0] != old_f[0]:
            errs.append(invalid(path, new.cluster_ips_shown, NOT_CHANGE))
        if len(new_f) == 1 and new.family_policy != "SingleStack":
            detail = "must be set to 'SingleStack' when releasing the secondary ipFamily"
            errs.append(invalid("spec.ipFamilyPolicy", new.family_policy, detail))
    elif old_f and new_f and new_f[0] != old_f[0]:
        errs.append(invalid(path, new.cluster_ips_shown, NOT_CHANGE))
    return errs


def validate_service_update(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    """ValidateServiceUpdate."""
    errs = validate_object_meta_update(r, obj, old)
    new_spec, old_spec = ServiceSpec(r, obj), ServiceSpec(Reader(), old)
    errs += _upgrade_downgrade_cluster_ips(old_spec, new_spec)
    errs += _upgrade_downgrade_families(old_spec, new_spec)
    if (
        old_spec.type == "LoadBalancer"
        and new_spec.type == "LoadBalancer"
        and old_spec.lb_class != new_spec.lb_class
    ):
        errs.append(invalid("spec.loadBalancerClass", new_spec.lb_class, NOT_CHANGE))
    if (
        old_spec.needs_health_check
        and new_spec.needs_health_check
        and old_spec.hc_port != new_spec.hc_port
    ):
        errs.append(forbidden("spec.healthCheckNodePort", "field is immutable"))
    return errs + validate_service(r, obj)


def validate_service_status(r: Reader, obj: Any, old: Any) -> list[FieldError]:
    """ValidateServiceStatusUpdate (LoadBalancerIPMode on, AllowServiceLBStatusOnNonLB off)."""
    errs = validate_object_meta_update(r, obj, old)
    spec = ServiceSpec(r, obj)
    lb_path = "status.loadBalancer"
    lb = r.obj(r.obj(obj, "status", "status"), "loadBalancer", lb_path)
    ingress_path = child(lb_path, "ingress")
    ingress = r.lst(lb, "ingress", ingress_path)
    if spec.type != "LoadBalancer" and ingress:
        errs.append(forbidden(ingress_path, "may only be used when `spec.type` is 'LoadBalancer'"))
        return errs
    for i, raw in enumerate(ingress):
        path = index(ingress_path, i)
        entry = r.as_obj(raw, path)
        ip = r.string(entry, "ip", child(path, "ip"))
        if ip:
            errs += validate_ip(ip, child(path, "ip"))
        mode = r.opt_str(entry, "ipMode", child(path, "ipMode"))
        if mode is None:
            if ip:
                errs.append(required(child(path, "ipMode"), "must be specified when `ip` is set"))
        elif not ip:
            detail = "may not be specified when `ip` is not set"
            errs.append(forbidden(child(path, "ipMode"), detail))
        elif mode not in ("Proxy", "VIP"):
            errs.append(not_supported(child(path, "ipMode"), mode, ["Proxy", "VIP"]))
        hostname = r.string(entry, "hostname", child(path, "hostname"))
        if hostname:
            host_path = child(path, "hostname")
            errs += invalid_each(host_path, hostname, formats.is_dns1123_subdomain(hostname))
            if formats.parse_ip_sloppy(hostname) is not None:
                errs.append(invalid(host_path, hostname, "must be a DNS name, not an IP address"))
    return errs


def validate_cluster_families(obj: Any, families: tuple[str, ...] = ("IPv4",)) -> list[FieldError]:
    """The allocator's family checks (initIPFamilyFields) for a cluster serving `families`."""
    r = Reader()
    s = ServiceSpec(r, obj)
    if s.type == "ExternalName" or r.type_errors:
        return []
    # initIPFamilyFields validates the IP-related fields loosely first and stops there.
    errs: list[FieldError] = validate_cluster_ips_related_fields(s)
    if errs:
        return errs
    if s.family_policy in ("SingleStack", None):
        if len(s.cluster_ips) == 2:
            detail = (
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs "
                "are specified"
            )
            errs.append(invalid("spec.ipFamilyPolicy", s.family_policy, detail))
        if len(s.families) == 2:
            detail = (
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families "
                "are specified"
            )
            errs.append(invalid("spec.ipFamilyPolicy", s.family_policy, detail))
    for i, ip in enumerate(s.cluster_ips):
        if ip == "None":
            break
        family = "IPv6" if formats.is_ipv6(ip) else "IPv4"
        if i >= len(s.families) and family not in families:
            detail = f"{family} is not configured on this cluster"
            errs.append(invalid(index("spec.clusterIPs", i), s.cluster_ips_shown, detail))
    if errs or (s.cluster_ip == "None" and not s.selector):
        return errs
    if s.family_policy == "RequireDualStack" and len(families) < 2:
        detail = "this cluster is not configured for dual-stack services"
        errs.append(invalid("spec.ipFamilyPolicy", s.family_policy, detail))
    for i, family in enumerate(s.families):
        if family not in families:
            errs.append(
                invalid(index("spec.ipFamilies", i), family, "not configured on this cluster")
            )
    return errs
