"""Table printers for workloads and cluster objects, after kube-apiserver's `printers.go`.

Deployment and ReplicaSet (replica counts, containers, images, selector), Node (Ready condition,
roles from `node-role.kubernetes.io/*` and `kubernetes.io/role` labels, node info), Namespace,
Event (ages of first and last sighting, `kind/name` of the involved object, source), ConfigMap,
Secret, ServiceAccount and Lease. Cells are built in wide mode, as the API server does.

Fields the real server always defaults before printing (`spec.replicas` to 1, a Secret's `type`
to `Opaque`) are read with that default, so a not-yet-defaulted object prints like a stored one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubesvc.api.printers_common import (
    CONTAINERS_DESCRIPTION,
    IMAGES_DESCRIPTION,
    NAME_DESCRIPTION,
    Cell,
    Column,
    Obj,
    age,
    age_column,
    container_cells,
    dicts,
    field,
    format_label_selector,
    integer,
    items,
    label_selector,
    mapping,
    name,
    name_column,
    since,
    string_map,
    text,
)

DEPLOYMENT_COLUMNS = (
    name_column(),
    Column(name="Ready", description="Number of the pod with ready state"),
    Column(
        name="Up-to-date",
        description="Total number of non-terminated pods targeted by this "
        "deployment that have the desired template spec.",
    ),
    Column(
        name="Available",
        description="Total number of available pods (ready for at least "
        "minReadySeconds) targeted by this deployment.",
    ),
    age_column(),
    Column(name="Containers", priority=1, description=CONTAINERS_DESCRIPTION),
    Column(name="Images", priority=1, description=IMAGES_DESCRIPTION),
    Column(name="Selector", priority=1, description="Label selector for pods."),
)
REPLICA_SET_COLUMNS = (
    name_column(),
    Column(
        name="Desired", type="integer", description="Replicas is the number of desired replicas."
    ),
    Column(
        name="Current",
        type="integer",
        description="Replicas is the most recently observed number of replicas.",
    ),
    Column(
        name="Ready",
        type="integer",
        description="The number of ready replicas for this replica set.",
    ),
    age_column(),
    Column(name="Containers", priority=1, description=CONTAINERS_DESCRIPTION),
    Column(name="Images", priority=1, description=IMAGES_DESCRIPTION),
    Column(name="Selector", priority=1, description="Selector is a label query over pods."),
)
NODE_COLUMNS = (
    name_column(),
    Column(name="Status", description="The status of the node"),
    Column(name="Roles", description="The roles of the node"),
    age_column(),
    Column(name="Version", description="Kubelet Version reported by the node."),
    Column(name="Internal-IP", priority=1, description="List of addresses reachable to the node."),
    Column(name="External-IP", priority=1, description="List of addresses reachable to the node."),
    Column(name="OS-Image", priority=1, description="OS Image reported by the node."),
    Column(name="Kernel-Version", priority=1, description="Kernel Version reported by the node."),
    Column(
        name="Container-Runtime",
        priority=1,
        description="ContainerRuntime Version reported by the node through runtime remote API.",
    ),
)
NAMESPACE_COLUMNS = (
    name_column(),
    Column(name="Status", description="The status of the namespace"),
    age_column(),
)
EVENT_COLUMNS = (
    Column(
        name="Last Seen",
        description="The time at which the most recent occurrence of this event was recorded.",
    ),
    Column(name="Type", description="Type of this event (Normal, Warning)."),
    Column(
        name="Reason",
        description="A short, machine understandable string that gives the "
        "reason for the transition into the object's current status.",
    ),
    Column(name="Object", description="The object that this event is about."),
    Column(name="Subobject", priority=1, description="The field of the object the event is about."),
    Column(name="Source", priority=1, description="The component reporting this event."),
    Column(
        name="Message", description="A human-readable description of the status of this operation."
    ),
    Column(
        name="First Seen", priority=1, description="The time at which the event was first recorded."
    ),
    Column(name="Count", priority=1, description="The number of times this event has occurred."),
    Column(name="Name", priority=1, format="name", description=NAME_DESCRIPTION),
)
CONFIG_MAP_COLUMNS = (
    name_column(),
    Column(name="Data", description="Data contains the configuration data."),
    age_column(),
)
SECRET_COLUMNS = (
    name_column(),
    Column(name="Type", description="Used to facilitate programmatic handling of secret data."),
    Column(name="Data", description="Data contains the secret data."),
    age_column(),
)
SERVICE_ACCOUNT_COLUMNS = (
    name_column(),
    Column(
        name="Secrets",
        description="Secrets is a list of the secrets in the same namespace "
        "that pods running using this ServiceAccount are allowed to use.",
    ),
    age_column(),
)
LEASE_COLUMNS = (
    name_column(),
    Column(
        name="Holder",
        description="holderIdentity contains the identity of the holder of a current lease.",
    ),
    age_column(),
)


def deployment_cells(deploy: Obj, now: datetime) -> list[Cell]:
    spec, status = mapping(deploy, "spec"), mapping(deploy, "status")
    names, images = container_cells(field(spec, "template", "spec"))
    selector = label_selector(field(spec, "selector"))
    return [
        name(deploy),
        f"{integer(status, 'readyReplicas')}/{integer(spec, 'replicas', default=1)}",
        integer(status, "updatedReplicas"),
        integer(status, "availableReplicas"),
        age(deploy, now),
        names,
        images,
        "<invalid>" if selector is None else selector,
    ]


def replica_set_cells(rs: Obj, now: datetime) -> list[Cell]:
    spec, status = mapping(rs, "spec"), mapping(rs, "status")
    names, images = container_cells(field(spec, "template", "spec"))
    return [
        name(rs),
        integer(spec, "replicas", default=1),
        integer(status, "replicas"),
        integer(status, "readyReplicas"),
        age(rs, now),
        names,
        images,
        format_label_selector(field(spec, "selector")),
    ]


def _node_status(node: Obj) -> str:
    ready: Mapping[str, Any] | None = None
    for cond in dicts(node, "status", "conditions"):
        if text(cond, "type") == "Ready":
            ready = cond  # upstream keys conditions by type: the last one wins
    parts = [
        "Unknown" if ready is None else "Ready" if text(ready, "status") == "True" else "NotReady"
    ]
    if field(node, "spec", "unschedulable") is True:
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_roles(node: Obj) -> str:
    roles: set[str] = set()
    for key, value in string_map(node, "metadata", "labels").items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key.removeprefix("node-role.kubernetes.io/")
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, kind: str) -> str:
    for address in dicts(node, "status", "addresses"):
        if text(address, "type") == kind:
            return text(address, "address")
    return "<none>"


def node_cells(node: Obj, now: datetime) -> list[Cell]:
    info = mapping(node, "status", "nodeInfo")
    return [
        name(node),
        _node_status(node),
        _node_roles(node),
        age(node, now),
        text(info, "kubeletVersion"),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        text(info, "osImage") or "<unknown>",
        text(info, "kernelVersion") or "<unknown>",
        text(info, "containerRuntimeVersion") or "<unknown>",
    ]


def namespace_cells(ns: Obj, now: datetime) -> list[Cell]:
    return [name(ns), text(ns, "status", "phase"), age(ns, now)]


def _event_source(event: Obj) -> str:
    component = text(event, "source", "component") or text(event, "reportingComponent")
    host = text(event, "source", "host") or text(event, "reportingInstance")
    return f"{component}, {host}" if host else component


def event_cells(event: Obj, now: datetime) -> list[Cell]:
    first_seen = since(field(event, "firstTimestamp"), now)
    if first_seen == "<unknown>":
        first_seen = since(field(event, "eventTime"), now)
    last_seen = since(field(event, "lastTimestamp"), now)
    if last_seen == "<unknown>":
        last_seen = first_seen
    count = integer(event, "count")
    series = field(event, "series")
    if isinstance(series, Mapping):
        last_seen = since(field(series, "lastObservedTime"), now)
        count = integer(series, "count")
    elif count == 0:
        count = 1  # singleton events of the events.k8s.io API have no count
    kind, obj_name = text(event, "involvedObject", "kind"), text(event, "involvedObject", "name")
    target = f"{kind.lower()}/{obj_name}" if obj_name else kind.lower()
    return [
        last_seen,
        text(event, "type"),
        text(event, "reason"),
        target,
        text(event, "involvedObject", "fieldPath"),
        _event_source(event),
        text(event, "message").strip(),
        first_seen,
        count,
        name(event),
    ]


def config_map_cells(cm: Obj, now: datetime) -> list[Cell]:
    return [name(cm), len(mapping(cm, "data")) + len(mapping(cm, "binaryData")), age(cm, now)]


def secret_cells(secret: Obj, now: datetime) -> list[Cell]:
    # stringData is merged into data when the Secret is decoded, overriding equal keys.
    keys = set(mapping(secret, "data")) | set(mapping(secret, "stringData"))
    return [name(secret), text(secret, "type") or "Opaque", len(keys), age(secret, now)]


def service_account_cells(sa: Obj, now: datetime) -> list[Cell]:
    return [name(sa), len(items(sa, "secrets")), age(sa, now)]


def lease_cells(lease: Obj, now: datetime) -> list[Cell]:
    return [name(lease), text(lease, "spec", "holderIdentity"), age(lease, now)]
