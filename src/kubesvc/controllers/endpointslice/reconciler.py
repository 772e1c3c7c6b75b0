"""The EndpointSlices a Service should have, and the fewest writes that get there.

`reconcile(service, pods, slices, nodes)` is upstream's Reconciler without the client: per
address type the Service supports (its ipFamilies; else its clusterIP's family; else both),
pods that belong in endpoints (not terminal, with an IP; terminating ones included with
`terminating: true`) become endpoints (`ready` = Ready and not terminating, or
publishNotReadyAddresses; `serving` = Ready; hostname when the pod's subdomain is the Service;
nodeName; zone from the node's `topology.kubernetes.io/zone`; targetRef), grouped by the set of
ports they resolve (a named targetPort is looked up per pod, so pods that offer different ports
land in different slices). Pods on a node the cache does not know are skipped unless
publishNotReadyAddresses.

Then, per port set, as reconcileByPortMapping: existing slices keep the endpoints still wanted
(updated in place if their conditions changed), slices left empty are deleted, new endpoints fill
the updated slices first (fullest first), then the unchanged slice that comes closest to full,
then new slices of at most `max_endpoints` (100). A Service with no endpoints keeps one empty
placeholder slice. Creates that coincide with deletes of the same address type become updates of
the slice that would be deleted (`finalize`). Slices owned by another object (an old Service of
the same name) or of an address type the Service no longer has are deleted. Everything is
deterministic: pods in name order, slices in name order.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from kubesvc.controllers.informers import ENDPOINTSLICE_CONTROLLER, MANAGED_BY_LABEL
from kubesvc.controllers.informers import SERVICE_NAME_LABEL as SERVICE_LABEL
from kubesvc.controllers.pods import (
    find_port,
    is_deleting,
    is_pod_ready,
    meta,
    pod_ips,
    should_be_in_endpoints,
    should_set_hostname,
    spec,
    uid_of,
)

Obj = dict[str, Any]

HEADLESS_LABEL = "service.kubernetes.io/headless"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_ENDPOINTS_PER_SLICE = 100
_RESERVED = {SERVICE_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL}


@dataclass
class Changes:
    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)


def _is_ipv6(ip: str) -> bool:
    return ":" in ip


def address_types(service: Obj) -> list[str]:
    families = [f for f in spec(service).get("ipFamilies") or [] if f in ("IPv4", "IPv6")]
    if families:
        return sorted(set(families))
    cluster_ip = str(spec(service).get("clusterIP") or "")
    if cluster_ip and cluster_ip != "None":
        return ["IPv6" if _is_ipv6(cluster_ip) else "IPv4"]
    return ["IPv4", "IPv6"]


def is_service_ip_set(service: Obj) -> bool:
    return spec(service).get("clusterIP") not in (None, "", "None")


def slice_labels(existing: Obj | None, service: Obj) -> tuple[dict[str, str], bool]:
    """setEndpointSliceLabels: the Service's labels plus the reserved ones; whether they differ."""
    current = {k: v for k, v in (meta(existing or {}).get("labels") or {}).items()}
    wanted = {k: str(v) for k, v in (meta(service).get("labels") or {}).items()}
    ep_labels = {k: v for k, v in current.items() if k not in _RESERVED}
    svc_labels = {k: v for k, v in wanted.items() if k not in _RESERVED}
    changed = ep_labels != svc_labels
    if not is_service_ip_set(service):
        svc_labels[HEADLESS_LABEL] = ""
    svc_labels[SERVICE_LABEL] = str(meta(service).get("name"))
    svc_labels[MANAGED_BY_LABEL] = ENDPOINTSLICE_CONTROLLER
    return svc_labels, changed


def endpoint_ports(service: Obj, pod: Obj) -> list[Obj]:
    ports: list[Obj] = []
    service_ports = spec(service).get("ports") or []
    if not service_ports and spec(service).get("clusterIP") == "None":
        return ports
    for port in service_ports:
        number = find_port(pod, port)
        if number is None:
            continue
        item: Obj = {
            "name": port.get("name") or "",
            "port": number,
            "protocol": port.get("protocol") or "TCP",
        }
        if port.get("appProtocol"):
            item["appProtocol"] = port["appProtocol"]
        ports.append(item)
    return ports


def port_key(ports: list[Obj] | None) -> str:
    normal = [
        {
            "name": p.get("name") or "",
            "port": p.get("port"),
            "protocol": p.get("protocol") or "TCP",
            "appProtocol": p.get("appProtocol"),
        }
        for p in ports or []
    ]
    return json.dumps(sorted(normal, key=lambda p: json.dumps(p, sort_keys=True)), sort_keys=True)


def pod_to_endpoint(pod: Obj, node: Obj | None, service: Obj, address_type: str) -> Obj:
    serving = is_pod_ready(pod)
    terminating = is_deleting(pod)
    ready = bool(spec(service).get("publishNotReadyAddresses")) or (serving and not terminating)
    addresses = [
        str(ipaddress.ip_address(ip))
        for ip in pod_ips(pod)
        if _is_ipv6(ip) == (address_type == "IPv6")
    ]
    endpoint: Obj = {
        "addresses": addresses,
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
    }
    if should_set_hostname(pod, service):
        endpoint["hostname"] = spec(pod)["hostname"]
    endpoint["targetRef"] = {
        "kind": "Pod",
        "namespace": meta(pod).get("namespace"),
        "name": meta(pod).get("name"),
        "uid": uid_of(pod),
    }
    if spec(pod).get("nodeName"):
        endpoint["nodeName"] = spec(pod)["nodeName"]
    zone = (meta(node).get("labels") or {}).get(ZONE_LABEL) if node else None
    if zone:
        endpoint["zone"] = zone
    return endpoint


def endpoint_key(endpoint: Obj) -> str:
    """hashEndpoint: addresses (sorted), hostname, and the target's namespace/name."""
    ref = endpoint.get("targetRef") or {}
    return json.dumps(
        [
            sorted(endpoint.get("addresses") or []),
            endpoint.get("hostname") or "",
            ref.get("namespace") or "",
            ref.get("name") or "",
        ]
    )


_COMPARED = ("addresses", "conditions", "hostname", "targetRef", "nodeName", "zone", "hints")


def _same_endpoint(a: Obj, b: Obj) -> bool:
    def view(e: Obj) -> Obj:
        conditions = e.get("conditions") or {}
        ref = {k: v for k, v in (e.get("targetRef") or {}).items() if k != "resourceVersion"}
        result = {k: e.get(k) for k in _COMPARED}
        result["conditions"] = {k: conditions.get(k) for k in ("ready", "serving", "terminating")}
        result["targetRef"] = ref or None
        result["addresses"] = sorted(e.get("addresses") or [])
        return result

    return view(a) == view(b)


def owned_by(slice_: Obj, service: Obj) -> bool:
    return any(
        ref.get("uid") == uid_of(service)
        and ref.get("kind") == "Service"
        and ref.get("apiVersion") == "v1"
        for ref in meta(slice_).get("ownerReferences") or []
    )


def new_slice(service: Obj, ports: list[Obj], address_type: str) -> Obj:
    name = str(meta(service).get("name"))
    labels, _ = slice_labels(None, service)
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": f"{name}-",
            "namespace": meta(service).get("namespace"),
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": name,
                    "uid": uid_of(service),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "addressType": address_type,
        "endpoints": [],
        "ports": copy.deepcopy(ports),
    }


def reconcile(
    service: Obj,
    pods: list[Obj],
    slices: list[Obj],
    nodes: dict[str, Obj],
    max_endpoints: int = MAX_ENDPOINTS_PER_SLICE,
) -> Changes:
    changes = Changes()
    types = address_types(service)
    by_type: dict[str, list[Obj]] = {}
    for existing in sorted(slices, key=lambda s: str(meta(s).get("name"))):
        if existing.get("addressType") not in types:
            changes.delete.append(existing)
        else:
            by_type.setdefault(str(existing["addressType"]), []).append(existing)
    ordered = sorted(pods, key=lambda p: str(meta(p).get("name")))
    for address_type in types:
        part = _reconcile_type(
            service, ordered, by_type.get(address_type, []), nodes, address_type, max_endpoints
        )
        changes.create += part.create
        changes.update += part.update
        changes.delete += part.delete
    return changes


def _desired(
    service: Obj, pods: list[Obj], nodes: dict[str, Obj], address_type: str
) -> tuple[dict[str, dict[str, Obj]], dict[str, list[Obj]]]:
    endpoints: dict[str, dict[str, Obj]] = {}
    ports_of: dict[str, list[Obj]] = {}
    publish = bool(spec(service).get("publishNotReadyAddresses"))
    for pod in pods:
        if not should_be_in_endpoints(pod, True):
            continue
        ports = endpoint_ports(service, pod)
        key = port_key(ports)
        endpoints.setdefault(key, {})
        ports_of.setdefault(key, ports)
        node = nodes.get(str(spec(pod).get("nodeName") or ""))
        if node is None and not publish:
            continue
        endpoint = pod_to_endpoint(pod, node, service, address_type)
        if endpoint["addresses"]:
            endpoints[key][endpoint_key(endpoint)] = endpoint
    return endpoints, ports_of


def _reconcile_type(
    service: Obj,
    pods: list[Obj],
    existing: list[Obj],
    nodes: dict[str, Obj],
    address_type: str,
    max_endpoints: int,
) -> Changes:
    changes = Changes()
    existing_by_ports: dict[str, list[Obj]] = {}
    for slice_ in existing:
        if owned_by(slice_, service):
            existing_by_ports.setdefault(port_key(slice_.get("ports")), []).append(slice_)
        else:
            changes.delete.append(slice_)
    desired, ports_of = _desired(service, pods, nodes, address_type)
    for key, wanted in desired.items():
        part = _reconcile_ports(
            service,
            existing_by_ports.get(key, []),
            dict(wanted),
            ports_of[key],
            address_type,
            max_endpoints,
        )
        changes.create += part.create
        changes.update += part.update
        changes.delete += part.delete
    for key, slices in existing_by_ports.items():
        if key not in desired:
            changes.delete += slices
    if len(existing) == len(changes.delete) and not changes.create:
        placeholder = new_slice(service, [], address_type)
        if len(changes.delete) == 1 and _is_placeholder(changes.delete[0], placeholder):
            changes.delete = []
        else:
            changes.create.append(placeholder)
    return _finalize(service, changes)


def _is_placeholder(existing: Obj, placeholder: Obj) -> bool:
    return (
        meta(existing).get("namespace") == meta(placeholder).get("namespace")
        and (meta(existing).get("labels") or {}) == meta(placeholder)["labels"]
        and meta(existing).get("ownerReferences") == meta(placeholder)["ownerReferences"]
        and existing.get("addressType") == placeholder["addressType"]
        and not existing.get("endpoints")
        and not existing.get("ports")
    )


@dataclass
class _Slices:
    """The existing slices of one port set while they are being reconciled, by name."""

    by_name: dict[str, Obj] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    to_update: list[str] = field(default_factory=list)
    to_delete: list[str] = field(default_factory=list)


def _keep_wanted(service: Obj, existing: list[Obj], wanted: dict[str, Obj]) -> _Slices:
    """Step 1: existing slices keep the endpoints still wanted (popped from `wanted`)."""
    slices = _Slices()
    for slice_ in existing:
        name = str(meta(slice_).get("name"))
        slices.by_name[name] = slice_
        kept: list[Obj] = []
        endpoint_changed = False
        for endpoint in slice_.get("endpoints") or []:
            got = wanted.pop(endpoint_key(endpoint), None)
            if got is not None:
                kept.append(got)
                endpoint_changed = endpoint_changed or not _same_endpoint(got, endpoint)
        labels, labels_changed = slice_labels(slice_, service)
        if endpoint_changed or len(kept) != len(slice_.get("endpoints") or []):
            if not kept:
                slices.to_delete.append(name)
                continue
            slices.by_name[name] = {**copy.deepcopy(slice_), "endpoints": kept}
        elif labels_changed:
            slices.by_name[name] = copy.deepcopy(slice_)
            slices.by_name[name]["endpoints"] = list(slice_.get("endpoints") or [])
        else:
            slices.unchanged.append(name)
            continue
        slices.by_name[name]["metadata"]["labels"] = labels
        slices.to_update.append(name)
    return slices


def _reconcile_ports(
    service: Obj,
    existing: list[Obj],
    wanted: dict[str, Obj],
    ports: list[Obj],
    address_type: str,
    max_endpoints: int,
) -> Changes:
    slices = _keep_wanted(service, existing, wanted)
    by_name = slices.by_name
    remaining = list(wanted.values())
    # Step 2: fill the slices being updated anyway, fullest first.
    if remaining and slices.to_update:
        for name in sorted(slices.to_update, key=lambda n: -len(by_name[n]["endpoints"])):
            room = max_endpoints - len(by_name[name]["endpoints"])
            if room > 0:
                by_name[name]["endpoints"] += remaining[:room]
                remaining = remaining[room:]
    # Step 3: the rest into the unchanged slice closest to full, else new slices.
    creates: list[Obj] = []
    while remaining:
        target: Obj | None = None
        if len(remaining) < max_endpoints and slices.unchanged:
            candidates = [by_name[n] for n in slices.unchanged]
            target = _slice_to_fill(candidates, len(remaining), max_endpoints)
        if target is None:
            target = new_slice(service, ports, address_type)
            creates.append(target)
        else:
            name = str(meta(target)["name"])
            target = by_name[name] = copy.deepcopy(target)
            target["endpoints"] = list(target.get("endpoints") or [])
            slices.unchanged.remove(name)
            slices.to_update.append(name)
        room = max_endpoints - len(target["endpoints"])
        target["endpoints"] += remaining[:room]
        remaining = remaining[room:]
    return Changes(
        create=creates,
        update=[by_name[n] for n in slices.to_update],
        delete=[by_name[n] for n in slices.to_delete],
    )


def _slice_to_fill(slices: list[Obj], count: int, max_endpoints: int) -> Obj | None:
    """getSliceToFill: the slice that comes closest to full when `count` endpoints join it."""
    closest, closest_diff = None, max_endpoints
    for slice_ in slices:
        diff = max_endpoints - (count + len(slice_.get("endpoints") or []))
        if 0 <= diff < closest_diff:
            closest, closest_diff = slice_, diff
            if diff == 0:
                break
    return closest


def _finalize(service: Obj, changes: Changes) -> Changes:
    """Turn creates into updates of slices that would be deleted (same type, same owner)."""
    deletes = list(changes.delete)
    creates = list(changes.create)
    updates = list(changes.update)
    i = 0
    while i < len(deletes) and creates:
        doomed = deletes[i]
        fresh = creates[-1]
        if doomed.get("addressType") == fresh.get("addressType") and owned_by(doomed, service):
            replacement = copy.deepcopy(fresh)
            replacement["metadata"] = {
                **copy.deepcopy(meta(doomed)),
                "labels": fresh["metadata"]["labels"],
                "ownerReferences": fresh["metadata"]["ownerReferences"],
            }
            updates.append(replacement)
            creates.pop()
            deletes.pop(i)
        else:
            i += 1
    return Changes(create=creates, update=updates, delete=deletes)
