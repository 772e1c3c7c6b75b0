"""Builders for the StatefulSet controller tests: a set, its revisions, its pods."""

from __future__ import annotations

import copy
from typing import Any

from kubesvc.controllers.statefulset import identity, revision

Obj = dict[str, Any]

TEMPLATE: Obj = {
    "metadata": {"labels": {"app": "nginx"}},
    "spec": {
        "containers": [{"name": "nginx", "image": "nginx:1"}],
        "restartPolicy": "Always",
    },
}


def sts(
    replicas: int = 3,
    *,
    image: str = "nginx:1",
    policy: str = "OrderedReady",
    strategy: Obj | None = None,
    status: Obj | None = None,
    deleting: bool = False,
    **spec: Any,
) -> Obj:
    template = copy.deepcopy(TEMPLATE)
    template["spec"]["containers"][0]["image"] = image
    meta: Obj = {
        "name": "web",
        "namespace": "default",
        "uid": "sts-uid",
        "generation": 1,
        "creationTimestamp": "2024-01-01T00:00:00Z",
    }
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:05:00Z"
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "serviceName": "nginx",
            "template": template,
            "podManagementPolicy": policy,
            "updateStrategy": strategy
            or {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "revisionHistoryLimit": 10,
            **spec,
        },
        "status": status or {"replicas": 0, "availableReplicas": 0},
    }


def rev(image: str = "nginx:1", number: int = 1) -> Obj:
    """The ControllerRevision of a set whose template runs `image`."""
    created = revision.new_revision(sts(image=image), number, 0)
    created["metadata"]["creationTimestamp"] = f"2024-01-01T00:00:0{number}Z"
    return created


def pod(
    number: int,
    *,
    revision_of: Obj | None = None,
    phase: str = "Running",
    ready: bool = True,
    deleting: bool = False,
    ready_since: str = "2024-01-01T00:00:10Z",
    name: str | None = None,
) -> Obj:
    """The pod the controller made for `number`, in the given state."""
    source = revision_of or rev()
    made = identity.new_pod(
        revision.apply_revision(sts(), source), number, revision.name_of(source)
    )
    if name is not None:
        made["metadata"]["name"] = name
    made["metadata"]["uid"] = f"{made['metadata']['name']}-uid"
    if deleting:
        made["metadata"]["deletionTimestamp"] = "2024-01-01T00:01:00Z"
    made["spec"]["nodeName"] = "node-1"
    made["status"] = {
        "phase": phase,
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": ready_since,
            }
        ],
    }
    return made


def pending(number: int, *, revision_of: Obj | None = None) -> Obj:
    return pod(number, revision_of=revision_of, phase="Pending", ready=False)
