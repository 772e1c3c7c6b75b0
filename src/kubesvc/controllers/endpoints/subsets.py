"""A Service's v1 Endpoints subsets, built and packed as the endpoints controller does.

`build_subsets(service, pods)`: every pod that belongs in endpoints (not terminal, with an IP,
not terminating unless publishNotReadyAddresses) contributes one address per Service port it
resolves (a pod lacking a named targetPort is left out of that port), as a ready address
(`addresses`) when it is Ready or the Service publishes not-ready addresses, else in
`notReadyAddresses`. The address is the pod IP of the Service's first IP family, with nodeName,
targetRef and, when the pod's subdomain is the Service, its hostname. A headless Service without
ports gets port-less subsets.

`repack` is RepackSubsets: addresses are grouped by the set of ports they serve (an address not
ready on one port is not ready on all), so the common case is one subset of all pods and all
ports. Sorting follows SortSubsets where it is defined by value (addresses by IP then uid); Go
orders ports and subsets by a hash of their structs, which we replace by name/port/protocol
order and the subsets' JSON. `truncate` caps the object at 1000 addresses, ready ones first,
proportionally per subset, marked by the `endpoints.kubernetes.io/over-capacity` annotation.
"""

from __future__ import annotations

import json
import math
from typing import Any

from kubesvc.controllers.pods import (
    find_port,
    is_pod_ready,
    meta,
    pod_ips,
    should_be_in_endpoints,
    should_set_hostname,
    spec,
    status,
    uid_of,
)

Obj = dict[str, Any]

MAX_CAPACITY = 1000
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
HEADLESS_LABEL = "service.kubernetes.io/headless"
_SENTINEL = ("", -1, "", "")


def _family(service: Obj, pod: Obj) -> str:
    families = spec(service).get("ipFamilies") or []
    if families:
        return str(families[0])
    cluster_ip = str(spec(service).get("clusterIP") or "")
    if cluster_ip and cluster_ip != "None":
        return "IPv6" if ":" in cluster_ip else "IPv4"
    return "IPv6" if ":" in str(status(pod).get("podIP") or "") else "IPv4"


def pod_address(service: Obj, pod: Obj) -> Obj | None:
    want_v6 = _family(service, pod) == "IPv6"
    ip = next((ip for ip in pod_ips(pod) if (":" in ip) == want_v6), None)
    if ip is None:
        return None
    address: Obj = {"ip": ip}
    if should_set_hostname(pod, service):
        address["hostname"] = spec(pod)["hostname"]
    if spec(pod).get("nodeName"):
        address["nodeName"] = spec(pod)["nodeName"]
    address["targetRef"] = {
        "kind": "Pod",
        "namespace": meta(pod).get("namespace"),
        "name": meta(pod).get("name"),
        "uid": uid_of(pod),
    }
    return address


def _port(service_port: Obj, number: int) -> Obj:
    port: Obj = {}
    if service_port.get("name"):
        port["name"] = service_port["name"]
    port["port"] = number
    port["protocol"] = service_port.get("protocol") or "TCP"
    if service_port.get("appProtocol"):
        port["appProtocol"] = service_port["appProtocol"]
    return port


def build_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    publish = bool(spec(service).get("publishNotReadyAddresses"))
    entries: list[tuple[Obj, Obj | None, bool]] = []  # address, port, ready
    for pod in sorted(pods, key=lambda p: str(meta(p).get("name"))):
        if not should_be_in_endpoints(pod, publish):
            continue
        address = pod_address(service, pod)
        if address is None:
            continue
        ready = publish or is_pod_ready(pod)
        service_ports = spec(service).get("ports") or []
        if not service_ports:
            if spec(service).get("clusterIP") == "None":
                entries.append((address, None, ready))
            continue
        for service_port in service_ports:
            number = find_port(pod, service_port)
            if number is not None:
                entries.append((address, _port(service_port, number), ready))
    return repack(entries)


def _port_key(port: Obj | None) -> tuple[str, int, str, str]:
    if port is None:
        return _SENTINEL
    return (
        str(port.get("name") or ""),
        int(port.get("port") or 0),
        str(port.get("protocol") or "TCP"),
        str(port.get("appProtocol") or ""),
    )


def _address_key(address: Obj) -> tuple[str, str]:
    return str(address.get("ip")), str((address.get("targetRef") or {}).get("uid") or "")


def repack(entries: list[tuple[Obj, Obj | None, bool]]) -> list[Obj]:
    addresses: dict[tuple[str, str], Obj] = {}
    ports: dict[tuple[str, int, str, str], Obj | None] = {}
    by_port: dict[tuple[str, int, str, str], dict[tuple[str, str], bool]] = {}
    for address, port, ready in entries:
        akey, pkey = _address_key(address), _port_key(port)
        addresses.setdefault(akey, address)
        ports.setdefault(pkey, port)
        readiness = by_port.setdefault(pkey, {})
        readiness[akey] = readiness.get(akey, True) and ready
    groups: dict[tuple[tuple[tuple[str, str], bool], ...], list[Obj]] = {}
    for pkey, readiness in by_port.items():
        group = groups.setdefault(tuple(sorted(readiness.items())), [])
        port = ports[pkey]
        if port is not None:
            group.append(port)
    subsets = []
    for members, group_ports in groups.items():
        subset: Obj = {}
        ready_list = [addresses[k] for k, ok in members if ok]
        not_ready = [addresses[k] for k, ok in members if not ok]
        if ready_list:
            subset["addresses"] = sorted(ready_list, key=_address_key)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=_address_key)
        if group_ports:
            subset["ports"] = sorted(group_ports, key=_port_key)
        subsets.append(subset)
    return sorted(subsets, key=lambda s: json.dumps(s, sort_keys=True))


def truncate(subsets: list[Obj]) -> bool:
    """truncateEndpoints, in place; True when addresses were dropped."""
    total_ready = sum(len(s.get("addresses") or []) for s in subsets)
    total_not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    if total_ready + total_not_ready <= MAX_CAPACITY:
        return False
    truncate_ready = total_ready > MAX_CAPACITY
    limit = MAX_CAPACITY if truncate_ready else MAX_CAPACITY - total_ready
    total = total_ready if truncate_ready else total_not_ready
    room = limit
    for subset in subsets:
        field = "addresses" if truncate_ready else "notReadyAddresses"
        count = len(subset.get(field) or [])
        share = min(math.ceil(count / total * limit), room) if total else 0
        subset[field] = (subset.get(field) or [])[:share]
        if truncate_ready:
            subset.pop("notReadyAddresses", None)
        room -= len(subset[field])
        if not subset[field]:
            subset.pop(field)
    return True


def _without_versions(subsets: Any) -> Any:
    text = json.dumps(subsets or [], sort_keys=True)
    data = json.loads(text)
    for subset in data:
        for field in ("addresses", "notReadyAddresses"):
            for address in subset.get(field) or []:
                (address.get("targetRef") or {}).pop("resourceVersion", None)
    return data


def subsets_equal(a: Any, b: Any) -> bool:
    return bool(_without_versions(a) == _without_versions(b))


def desired_labels(service: Obj) -> dict[str, str]:
    labels = {str(k): str(v) for k, v in (meta(service).get("labels") or {}).items()}
    if spec(service).get("clusterIP") in (None, "", "None"):
        labels[HEADLESS_LABEL] = ""
    else:
        labels.pop(HEADLESS_LABEL, None)
    return labels


def up_to_date(current: Obj, service: Obj, subsets: list[Obj]) -> bool:
    """The upstream no-op check: same subsets, same labels (headless aside), capacity marked."""
    labels = dict(meta(current).get("labels") or {})
    labels.pop(HEADLESS_LABEL, None)
    count = sum(
        len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or [])
        for s in current.get("subsets") or []
    )
    capacity_ok = count <= MAX_CAPACITY and OVER_CAPACITY not in (
        meta(current).get("annotations") or {}
    )
    return (
        subsets_equal(current.get("subsets"), subsets)
        and labels == (meta(service).get("labels") or {})
        and capacity_ok
    )
