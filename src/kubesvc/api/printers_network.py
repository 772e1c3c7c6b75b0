"""Table printers for networking kinds: Service, Endpoints, EndpointSlice, Ingress, IngressClass.

Each `*_cells` function reproduces the matching `print*` function of kube-apiserver's
`pkg/printers/internalversion/printers.go`, rendered the way the API server does it, in wide mode
(`-o wide` sends the same request, so every priority-1 cell is always present).

Where the real server always fills a field before anything is printed (Service `spec.type`
defaults to ClusterIP, a port's `protocol` to TCP, `spec.clusterIPs` mirrors `spec.clusterIP`),
a missing value is read as that default so a not-yet-defaulted object prints like a stored one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubesvc.api.printers_common import (
    Cell,
    Column,
    Obj,
    age,
    age_column,
    dicts,
    field,
    format_labels,
    items,
    list_with_more,
    mapping,
    name,
    name_column,
    string_map,
    strings,
    text,
)

SERVICE_COLUMNS = (
    name_column(),
    Column(name="Type", description="type determines how the Service is exposed."),
    Column(name="Cluster-IP", description="clusterIP is the IP address of the service."),
    Column(name="External-IP", description="externalIPs is a list of IP addresses."),
    Column(name="Port(s)", description="The list of ports that are exposed by this service."),
    age_column(),
    Column(name="Selector", priority=1, description="Route service traffic to matching pods."),
)
ENDPOINTS_COLUMNS = (
    name_column(),
    Column(name="Endpoints", description="The set of all endpoints is the union of all subsets."),
    age_column(),
)
ENDPOINT_SLICE_COLUMNS = (
    name_column(),
    Column(name="AddressType", description="addressType specifies the type of address."),
    Column(name="Ports", description="ports specifies the list of network ports exposed."),
    Column(name="Endpoints", description="endpoints is a list of unique endpoints."),
    age_column(),
)
INGRESS_COLUMNS = (
    name_column(),
    Column(
        name="Class",
        description="The name of the IngressClass resource that should be used for additional "
        "configuration",
    ),
    Column(
        name="Hosts",
        description="Hosts that incoming requests are matched against before the ingress rule",
    ),
    Column(
        name="Address",
        description="Address is a list containing ingress points for the load-balancer",
    ),
    Column(name="Ports", description="Ports of TLS configurations that open"),
    age_column(),
)
INGRESS_CLASS_COLUMNS = (
    name_column(),
    Column(name="Controller", description="Controller that is responsible for handling this class"),
    Column(name="Parameters", description="A reference to a resource with additional parameters"),
    age_column(),
)


def _load_balancer_ips(status: Mapping[str, Any]) -> str:
    """Upstream's `loadBalancerStatusStringer` in wide mode: sorted unique IPs or hostnames."""
    found: set[str] = set()
    for ingress in dicts(status, "ingress"):
        ip, hostname = text(ingress, "ip"), text(ingress, "hostname")
        if ip:
            found.add(ip)
        elif hostname:
            found.add(hostname)
    return ",".join(sorted(found))


def _service_external_ip(svc: Obj, svc_type: str) -> str:
    spec = mapping(svc, "spec")
    external_ips = strings(spec, "externalIPs")
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if svc_type == "LoadBalancer":
        lb_ips = _load_balancer_ips(mapping(svc, "status", "loadBalancer"))
        if external_ips:
            results = lb_ips.split(",") if lb_ips else []
            return ",".join(results + external_ips)
        return lb_ips or "<pending>"
    if svc_type == "ExternalName":
        return text(spec, "externalName")
    return "<unknown>"


def _service_ports(spec: Mapping[str, Any]) -> str:
    pieces = []
    for port in dicts(spec, "ports"):
        number = field(port, "port")
        number = number if isinstance(number, int) and not isinstance(number, bool) else 0
        node_port = field(port, "nodePort")
        protocol = text(port, "protocol") or "TCP"
        if isinstance(node_port, int) and not isinstance(node_port, bool) and node_port > 0:
            pieces.append(f"{number}:{node_port}/{protocol}")
        else:
            pieces.append(f"{number}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service_cluster_ip(spec: Mapping[str, Any]) -> str:
    cluster_ips = strings(spec, "clusterIPs")
    if cluster_ips:
        return cluster_ips[0]
    return text(spec, "clusterIP") or "<none>"


def service_cells(svc: Obj, now: datetime) -> list[Cell]:
    spec = mapping(svc, "spec")
    svc_type = text(spec, "type") or "ClusterIP"
    return [
        name(svc),
        svc_type,
        _service_cluster_ip(spec),
        _service_external_ip(svc, svc_type),
        _service_ports(spec),
        age(svc, now),
        format_labels(string_map(spec, "selector")),
    ]


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _format_endpoints(endpoints: Obj) -> str:
    """Upstream's `formatEndpoints`: the first three `ip:port`, then ` + N more...`."""
    subsets = dicts(endpoints, "subsets")
    if not subsets:
        return "<none>"
    limit, more, count = 3, False, 0
    shown: list[str] = []
    for subset in subsets:
        addresses = [text(a, "ip") for a in dicts(subset, "addresses")]
        ports = dicts(subset, "ports")
        # A subset without ports (a headless Service) lists bare IPs.
        targets: list[list[str]] = (
            [addresses]
            if not ports
            else [[_join_host_port(ip, _port_number(p)) for ip in addresses] for p in ports]
        )
        for group in targets:
            count += len(group)
            for target in group:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(target)
    rendered = ",".join(shown)
    return f"{rendered} + {count - limit} more..." if more else rendered


def _port_number(port: Mapping[str, Any]) -> int:
    value = field(port, "port")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def endpoints_cells(endpoints: Obj, now: datetime) -> list[Cell]:
    return [name(endpoints), _format_endpoints(endpoints), age(endpoints, now)]


def _discovery_ports(slice_: Obj) -> str:
    ports = []
    for port in dicts(slice_, "ports"):
        number, port_name = field(port, "port"), field(port, "name")
        if isinstance(number, int) and not isinstance(number, bool):
            ports.append(str(number))
        elif isinstance(port_name, str):
            ports.append(port_name)
        else:
            ports.append("*")
    return list_with_more(ports, len(ports))


def _discovery_endpoints(slice_: Obj) -> str:
    addresses = [a for e in dicts(slice_, "endpoints") for a in strings(e, "addresses")]
    return list_with_more(addresses, len(addresses))


def endpoint_slice_cells(slice_: Obj, now: datetime) -> list[Cell]:
    return [
        name(slice_),
        text(slice_, "addressType"),
        _discovery_ports(slice_),
        _discovery_endpoints(slice_),
        age(slice_, now),
    ]


def _ingress_hosts(rules: list[Mapping[str, Any]]) -> str:
    """Upstream's `formatHosts`: first three hosts (blank hosts skipped), `*` when none."""
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        host = text(rule, "host")
        if not more and host:
            hosts.append(host)
    if not hosts:
        return "*"
    rendered = ",".join(hosts)
    # Upstream counts the remaining rules, blank hosts included.
    return f"{rendered} + {len(rules) - 3} more..." if more else rendered


def ingress_cells(ingress: Obj, now: datetime) -> list[Cell]:
    spec = mapping(ingress, "spec")
    class_name = field(spec, "ingressClassName")
    return [
        name(ingress),
        class_name if isinstance(class_name, str) else "<none>",
        _ingress_hosts(dicts(spec, "rules")),
        _load_balancer_ips(mapping(ingress, "status", "loadBalancer")),
        "80, 443" if items(spec, "tls") else "80",
        age(ingress, now),
    ]


def ingress_class_cells(ingress_class: Obj, now: datetime) -> list[Cell]:
    spec = mapping(ingress_class, "spec")
    params = field(spec, "parameters")
    parameters = "<none>"
    if isinstance(params, Mapping):
        parameters = text(params, "kind")
        api_group = field(params, "apiGroup")
        if isinstance(api_group, str):
            parameters += "." + api_group
        parameters += "/" + text(params, "name")
    return [name(ingress_class), text(spec, "controller"), parameters, age(ingress_class, now)]


IP_ADDRESS_COLUMNS = (
    name_column(),
    Column(name="ParentRef", description="the object this IP address is allocated to"),
)


def ip_address_cells(ip_address: Obj, now: datetime) -> list[Cell]:
    """NAME and PARENTREF (`services/NS/NAME`: the group-resource in lower case, its namespace
    and name), the two columns kube-apiserver defines for IPAddress."""
    ref = field(mapping(ip_address, "spec"), "parentRef")
    parent = "<none>"
    if isinstance(ref, Mapping):
        group = text(ref, "group")
        parent = text(ref, "resource").lower() + (f".{group.lower()}" if group else "")
        if text(ref, "namespace"):
            parent += "/" + text(ref, "namespace")
        parent += "/" + text(ref, "name")
    return [name(ip_address), parent]
