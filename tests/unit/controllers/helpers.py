"""Builders for the objects controller tests feed to the pure modules."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

TEMPLATE: Obj = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
}


def deployment(
    replicas: int = 3,
    *,
    image: str = "nginx:1",
    strategy: Obj | None = None,
    generation: int = 1,
    status: Obj | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> Obj:
    template = copy.deepcopy(TEMPLATE)
    template["spec"]["containers"][0]["image"] = image
    meta: Obj = {
        "name": "web",
        "namespace": "default",
        "uid": "d-uid",
        "generation": generation,
        "creationTimestamp": "2024-01-01T00:00:00Z",
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template,
            "strategy": strategy
            or {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            **spec,
        },
        "status": status or {},
    }


def replica_set(
    name: str,
    replicas: int,
    *,
    image: str = "nginx:1",
    available: int | None = None,
    ready: int | None = None,
    revision: int | None = 1,
    created: str = "2024-01-01T00:00:00Z",
    desired: int | None = None,
    max_replicas: int | None = None,
    status_replicas: int | None = None,
) -> Obj:
    template = copy.deepcopy(TEMPLATE)
    template["spec"]["containers"][0]["image"] = image
    template["metadata"]["labels"]["pod-template-hash"] = name.rsplit("-", 1)[-1]
    annotations: dict[str, str] = {}
    if revision is not None:
        annotations["deployment.kubernetes.io/revision"] = str(revision)
    if desired is not None:
        annotations["deployment.kubernetes.io/desired-replicas"] = str(desired)
    if max_replicas is not None:
        annotations["deployment.kubernetes.io/max-replicas"] = str(max_replicas)
    count = replicas if status_replicas is None else status_replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"{name}-uid",
            "generation": 1,
            "creationTimestamp": created,
            "annotations": annotations,
            "labels": dict(template["metadata"]["labels"]),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "d-uid",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(template["metadata"]["labels"])},
            "template": template,
        },
        "status": {
            "replicas": count,
            "readyReplicas": count if ready is None else ready,
            "availableReplicas": count if available is None else available,
            "observedGeneration": 1,
        },
    }


def pod(
    name: str,
    *,
    node: str | None = "node-1",
    phase: str = "Running",
    ready: bool | None = True,
    ip: str | None = "10.244.1.5",
    labels: dict[str, str] | None = None,
    created: str = "2024-01-01T00:00:00Z",
    ready_since: str = "2024-01-01T00:00:10Z",
    owner: str | None = None,
    deleting: bool = False,
    restarts: int = 0,
    ports: list[Obj] | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> Obj:
    meta: Obj = {
        "name": name,
        "namespace": "default",
        "uid": f"{name}-uid",
        "labels": dict(labels if labels is not None else {"app": "web"}),
        "creationTimestamp": created,
    }
    if annotations:
        meta["annotations"] = annotations
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": owner,
                "uid": f"{owner}-uid",
                "controller": True,
            }
        ]
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:01:00Z"
    container: Obj = {"name": "c", "image": "img"}
    if ports is not None:
        container["ports"] = ports
    pod_spec: Obj = {"containers": [container], **spec}
    if node:
        pod_spec["nodeName"] = node
    status: Obj = {"phase": phase, "containerStatuses": [{"name": "c", "restartCount": restarts}]}
    if ready is not None:
        status["conditions"] = [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": ready_since,
            }
        ]
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec, "status": status}


def node(
    name: str, *, ready: str | None = "True", labels: dict[str, str] | None = None, **spec: Any
) -> Obj:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
        "status": {"conditions": conditions},
    }


def service(
    name: str = "web",
    *,
    ports: list[Obj] | None = None,
    cluster_ip: str = "10.96.0.20",
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "uid": f"{name}-svc-uid"}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "selector": {"app": "web"},
            "clusterIP": cluster_ip,
            "ipFamilies": ["IPv4"],
            "ports": ports
            if ports is not None
            else [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
            **spec,
        },
    }
