"""The Service registry's own mutations around validation and IP allocation.

kube-apiserver's Service storage does more than v1 defaulting before it validates:

* on update it patches allocated values the client left out (clusterIP(s), nodePorts by port
  name, healthCheckNodePort), re-syncs `clusterIPs` with `clusterIP`, and drops fields the new
  type no longer uses when they were left unchanged (nodePorts when leaving NodePort,
  externalTrafficPolicy when no longer externally accessible, ...): `prepare_service_update`;
* the allocator sets `ipFamilyPolicy` and `ipFamilies` (SingleStack / IPv4 on a single-stack
  cluster; headless Services without a selector get RequireDualStack and both families):
  `service_ip_families`.

Both only touch well-typed fields and never raise; `defaults` re-exports them.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def _spec(obj: Any) -> Obj | None:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return spec if isinstance(spec, dict) else None


def _ports(spec: Obj) -> list[Obj]:
    ports = spec.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def _needs_cluster_ip(spec: Obj) -> bool:
    return spec.get("type") != "ExternalName"


def _needs_node_port(spec: Obj) -> bool:
    if spec.get("type") == "NodePort":
        return True
    return spec.get("type") == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") in (
        None,
        True,
    )


def _needs_hc_node_port(spec: Obj) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _externally_accessible(spec: Obj) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (
        kind == "ClusterIP" and bool(spec.get("externalIPs"))
    )


def _node_ports(spec: Obj) -> list[Any]:
    return [p.get("nodePort") or 0 for p in _ports(spec)]


def _patch_allocated_values(new: Obj, old: Obj) -> None:
    if _needs_cluster_ip(old) and _needs_cluster_ip(new):
        if not new.get("clusterIP") and old.get("clusterIP"):
            new["clusterIP"] = old["clusterIP"]
        if not new.get("clusterIPs") and old.get("clusterIPs"):
            new["clusterIPs"] = list(old["clusterIPs"])
    if _needs_node_port(old) and _needs_node_port(new):
        used = {p for p in _node_ports(old) if p} & {p for p in _node_ports(new) if p}
        by_name = {p.get("name") or "": p.get("nodePort") or 0 for p in _ports(old)}
        for port in _ports(new):
            if not port.get("nodePort"):
                old_value = by_name.get(port.get("name") or "", 0)
                if old_value and old_value not in used:
                    port["nodePort"] = old_value
    if (
        _needs_hc_node_port(old)
        and _needs_hc_node_port(new)
        and not new.get("healthCheckNodePort")
        and old.get("healthCheckNodePort")
    ):
        new["healthCheckNodePort"] = old["healthCheckNodePort"]


def _normalize_cluster_ips(new: Obj, old: Obj) -> None:
    old_ips, new_ips = old.get("clusterIPs") or [], new.get("clusterIPs") or []
    old_ip, new_ip = old.get("clusterIP") or "", new.get("clusterIP") or ""
    if old_ips and not new_ips and old_ip == new_ip:
        new["clusterIPs"] = list(old_ips)
    same_ips = (new.get("clusterIPs") or []) == old_ips
    if old_ip != new_ip:
        if old_ip and not new_ip and same_ips:
            new.pop("clusterIPs", None)
        if new_ip and same_ips:
            new["clusterIPs"] = [new_ip]


def _drop_type_dependent_fields(new: Obj, old: Obj, obj: Obj) -> None:
    if _needs_cluster_ip(old) and not _needs_cluster_ip(new):
        if (new.get("clusterIPs") or []) == (old.get("clusterIPs") or []):
            new.pop("clusterIP", None)
            new.pop("clusterIPs", None)
        for name in ("ipFamilies", "ipFamilyPolicy"):
            if new.get(name) == old.get(name):
                new.pop(name, None)
    # nodePorts go only when no net-new one was added (upstream sameNodePorts).
    no_new_ports = {p for p in _node_ports(new) if p} <= {p for p in _node_ports(old) if p}
    if _needs_node_port(old) and not _needs_node_port(new) and no_new_ports:
        for port in _ports(new):
            port.pop("nodePort", None)
    same_hc = new.get("healthCheckNodePort") == old.get("healthCheckNodePort")
    if _needs_hc_node_port(old) and not _needs_hc_node_port(new) and same_hc:
        new.pop("healthCheckNodePort", None)
    if old.get("type") == "LoadBalancer" and new.get("type") != "LoadBalancer":
        for name in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if new.get(name) is not None and new.get(name) == old.get(name):
                new.pop(name, None)
    same_etp = new.get("externalTrafficPolicy") == old.get("externalTrafficPolicy")
    if _externally_accessible(old) and not _externally_accessible(new) and same_etp:
        new.pop("externalTrafficPolicy", None)
    if new.get("type") != "LoadBalancer":
        status = obj.get("status")
        if isinstance(status, dict):
            status["loadBalancer"] = {}


def prepare_service_update(new: dict[str, Any], old: dict[str, Any]) -> None:
    """What the Service registry does to an update before allocating and validating."""
    new_spec, old_spec = _spec(new), _spec(old)
    if new_spec is None or old_spec is None:
        return
    _patch_allocated_values(new_spec, old_spec)
    _normalize_cluster_ips(new_spec, old_spec)
    _drop_type_dependent_fields(new_spec, old_spec, new)


def service_ip_families(obj: dict[str, Any], old: dict[str, Any] | None = None) -> None:
    """ipFamilyPolicy, ipFamilies and clusterIPs as the allocator sets them (IPv4 only)."""
    spec = _spec(obj)
    if spec is None or spec.get("type") == "ExternalName":
        return
    cluster_ip = spec.get("clusterIP")
    if isinstance(cluster_ip, str) and cluster_ip and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [cluster_ip]
    headless_selectorless = cluster_ip == "None" and not spec.get("selector")
    if spec.get("ipFamilyPolicy") is None:
        old_spec = _spec(old)
        if old_spec is not None and old_spec.get("ipFamilyPolicy") is not None:
            spec["ipFamilyPolicy"] = old_spec["ipFamilyPolicy"]
        elif headless_selectorless:
            spec["ipFamilyPolicy"] = "RequireDualStack"
        else:
            spec["ipFamilyPolicy"] = "SingleStack"
    families = spec.get("ipFamilies")
    if families is not None and not isinstance(families, list):
        return
    families = list(families or [])
    cluster_ips = spec.get("clusterIPs")
    for i, ip in enumerate(cluster_ips if isinstance(cluster_ips, list) else []):
        if ip == "None" or not isinstance(ip, str):
            break
        if i >= len(families) and ":" not in ip:
            families.append("IPv4")
    if not families:
        families = ["IPv4"]
    if headless_selectorless and len(families) < 2 and spec["ipFamilyPolicy"] != "SingleStack":
        families.append("IPv6" if families[0] == "IPv4" else "IPv4")
    spec["ipFamilies"] = families
