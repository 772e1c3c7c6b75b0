"""The informers the controllers share, one per resource, as a SharedInformerFactory.

Every controller reads the same caches and adds its own handlers; the manager starts each
informer once. Named indexes answer the controllers' questions without scanning: pods and
ReplicaSets by namespace and by controlling owner's uid, pods by node, EndpointSlices (only the
ones the EndpointSlice controller manages) by `namespace/service`. `Resources` names the table
entries the controllers write to.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from kubesvc.api.resources import Resource, lookup
from kubesvc.client import Client, Informer
from kubesvc.controllers.owners import controller_uid
from kubesvc.controllers.pods import meta, spec

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
ENDPOINTSLICE_CONTROLLER = "endpointslice-controller.k8s.io"
NODE_LEASE_NAMESPACE = "kube-node-lease"


def _res(group: str, plural: str) -> Resource:
    res = lookup(group, plural)
    if res is None:
        raise LookupError(f"{plural}.{group} is not served")
    return res


@dataclass(frozen=True, slots=True)
class Resources:
    pods: Resource = field(default_factory=lambda: _res("", "pods"))
    services: Resource = field(default_factory=lambda: _res("", "services"))
    endpoints: Resource = field(default_factory=lambda: _res("", "endpoints"))
    nodes: Resource = field(default_factory=lambda: _res("", "nodes"))
    events: Resource = field(default_factory=lambda: _res("", "events"))
    deployments: Resource = field(default_factory=lambda: _res("apps", "deployments"))
    replicasets: Resource = field(default_factory=lambda: _res("apps", "replicasets"))
    statefulsets: Resource = field(default_factory=lambda: _res("apps", "statefulsets"))
    controllerrevisions: Resource = field(
        default_factory=lambda: _res("apps", "controllerrevisions")
    )
    leases: Resource = field(default_factory=lambda: _res("coordination.k8s.io", "leases"))
    endpointslices: Resource = field(
        default_factory=lambda: _res("discovery.k8s.io", "endpointslices")
    )


RESOURCES = Resources()


def by_namespace(obj: Obj) -> list[str]:
    return [str(meta(obj).get("namespace") or "")]


def by_controller(obj: Obj) -> list[str]:
    uid = controller_uid(obj)
    return [uid] if uid else []


def by_node(obj: Obj) -> list[str]:
    node = spec(obj).get("nodeName")
    return [str(node)] if node else []


def by_service(obj: Obj) -> list[str]:
    name = (meta(obj).get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{meta(obj).get('namespace')}/{name}"] if name else []


class SharedInformers:
    def __init__(self, client: Client) -> None:
        r = RESOURCES
        self.pods = Informer(
            client,
            r.pods,
            indexers={"namespace": by_namespace, "controller": by_controller, "node": by_node},
        )
        self.services = Informer(client, r.services, indexers={"namespace": by_namespace})
        self.endpoints = Informer(client, r.endpoints)
        self.nodes = Informer(client, r.nodes)
        self.deployments = Informer(client, r.deployments, indexers={"namespace": by_namespace})
        self.replicasets = Informer(
            client,
            r.replicasets,
            indexers={"namespace": by_namespace, "controller": by_controller},
        )
        self.statefulsets = Informer(client, r.statefulsets, indexers={"namespace": by_namespace})
        self.controllerrevisions = Informer(
            client,
            r.controllerrevisions,
            indexers={"namespace": by_namespace, "controller": by_controller},
        )
        self.endpointslices = Informer(
            client,
            r.endpointslices,
            label_selector=f"{MANAGED_BY_LABEL}={ENDPOINTSLICE_CONTROLLER}",
            indexers={"service": by_service},
        )
        self.leases = Informer(client, r.leases, NODE_LEASE_NAMESPACE)

    def all(self) -> list[Informer]:
        return [
            self.pods,
            self.services,
            self.endpoints,
            self.nodes,
            self.deployments,
            self.replicasets,
            self.statefulsets,
            self.controllerrevisions,
            self.endpointslices,
            self.leases,
        ]

    def start(self) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(informer.run(), name=f"informer-{informer.res.plural}")
            for informer in self.all()
        ]
