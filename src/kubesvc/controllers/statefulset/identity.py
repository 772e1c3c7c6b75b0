"""A StatefulSet pod's identity, and the questions the controller asks about its pods.

Pods are named `SET-ORDINAL`; the ordinal is parsed back from the name (`(.*)-([0-9]+)$`), so
a pod belongs to a set when the name's prefix is the set's name (and the ordinal is written
without leading zeros). A pod the controller makes
(`new_pod`) is the template's pod (labels, annotations, finalizers, spec) with
`generateName: SET-`, a controller ownerReference, `spec.hostname` = its name and
`spec.subdomain` = `spec.serviceName` (immutable, so set only at creation), the labels
`statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and
`controller-revision-hash` (the name of the ControllerRevision it was made from), and one
`persistentVolumeClaim` volume per claim template (`CLAIM-SET-ORDINAL`) in place of a template
volume of the same name. `with_identity` restores the identity labels of an existing pod.

Health is upstream's: running and ready (phase Running and the Ready condition true), running
and available (ready for minReadySeconds), created (the server gave it a phase), terminating
(a deletionTimestamp).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from kubesvc.controllers.owners import new_controller_ref
from kubesvc.controllers.pods import (
    is_deleting,
    is_pod_available,
    is_pod_ready,
    meta,
    phase,
    spec,
)

Obj = dict[str, Any]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"

_POD_NAME = re.compile(r"^(.*)-([0-9]+)$")


def parent_and_ordinal(pod: Obj) -> tuple[str, int]:
    """The set name and ordinal in a pod's name; ("", -1) when it has none."""
    found = _POD_NAME.match(str(meta(pod).get("name") or ""))
    if found is None:
        return "", -1
    number = int(found.group(2))
    return found.group(1), number if number < 2**31 else -1


def ordinal(pod: Obj) -> int:
    return parent_and_ordinal(pod)[1]


def name_of(sts: Obj) -> str:
    return str(meta(sts).get("name") or "")


def pod_name(sts: Obj, number: int) -> str:
    return f"{name_of(sts)}-{number}"


def replicas(sts: Obj) -> int:
    value = spec(sts).get("replicas")
    return 1 if not isinstance(value, int) else max(0, value)


def start_ordinal(sts: Obj) -> int:
    ordinals = spec(sts).get("ordinals")
    start = ordinals.get("start") if isinstance(ordinals, dict) else None
    return start if isinstance(start, int) and start > 0 else 0


def min_ready_seconds(sts: Obj) -> int:
    value = spec(sts).get("minReadySeconds")
    return value if isinstance(value, int) and value > 0 else 0


def is_member_of(sts: Obj, pod: Obj) -> bool:
    """Named `SET-N` for this set (`web-01` is not `web-1`: it is left alone)."""
    parent, number = parent_and_ordinal(pod)
    return number >= 0 and parent == name_of(sts) and meta(pod).get("name") == f"{parent}-{number}"


def revision_of(pod: Obj) -> str:
    return str((meta(pod).get("labels") or {}).get(REVISION_LABEL) or "")


def identity_matches(sts: Obj, pod: Obj) -> bool:
    parent, number = parent_and_ordinal(pod)
    labels = meta(pod).get("labels") or {}
    return (
        number >= 0
        and parent == name_of(sts)
        and meta(pod).get("namespace") == meta(sts).get("namespace")
        and labels.get(POD_NAME_LABEL) == meta(pod).get("name")
        and labels.get(POD_INDEX_LABEL) == str(number)
    )


def with_identity(sts: Obj, pod: Obj) -> Obj:
    """updateIdentity: a copy of `pod` with its pod-name and pod-index labels restored."""
    fixed = copy.deepcopy(pod)
    number = ordinal(pod)
    labels = fixed.setdefault("metadata", {}).setdefault("labels", {})
    labels[POD_NAME_LABEL] = pod_name(sts, number)
    labels[POD_INDEX_LABEL] = str(number)
    return fixed


def _claim_volumes(sts: Obj, number: int, volumes: list[Obj]) -> list[Obj]:
    claims = [
        c for c in spec(sts).get("volumeClaimTemplates") or [] if isinstance(c, dict) and meta(c)
    ]
    names = [str(meta(c).get("name") or "") for c in claims]
    added = [
        {"name": n, "persistentVolumeClaim": {"claimName": f"{n}-{name_of(sts)}-{number}"}}
        for n in names
        if n
    ]
    return added + [v for v in volumes if v.get("name") not in names]


def new_pod(sts: Obj, number: int, revision: str) -> Obj:
    """newStatefulSetPod from `sts` (already carrying the template of `revision`)."""
    template = spec(sts).get("template") or {}
    template_meta = template.get("metadata") or {}
    name = pod_name(sts, number)
    pod_meta: Obj = {"name": name, "generateName": f"{name_of(sts)}-"}
    if meta(sts).get("namespace"):
        pod_meta["namespace"] = meta(sts)["namespace"]
    for key in ("labels", "annotations", "finalizers"):
        if template_meta.get(key):
            pod_meta[key] = copy.deepcopy(template_meta[key])
    labels = pod_meta.setdefault("labels", {})
    labels[POD_NAME_LABEL] = name
    labels[POD_INDEX_LABEL] = str(number)
    labels[REVISION_LABEL] = revision
    pod_meta["ownerReferences"] = [new_controller_ref(sts, "apps/v1", "StatefulSet")]
    pod_spec = copy.deepcopy(template.get("spec") or {})
    volumes = [v for v in pod_spec.get("volumes") or [] if isinstance(v, dict)]
    volumes = _claim_volumes(sts, number, volumes)
    if volumes:
        pod_spec["volumes"] = volumes
    pod_spec["hostname"] = name
    if spec(sts).get("serviceName"):
        pod_spec["subdomain"] = spec(sts)["serviceName"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def is_created(pod: Obj) -> bool:
    return phase(pod) != ""


def is_failed(pod: Obj) -> bool:
    return phase(pod) == "Failed"


def is_succeeded(pod: Obj) -> bool:
    return phase(pod) == "Succeeded"


def is_terminating(pod: Obj) -> bool:
    return is_deleting(pod)


def is_running_and_ready(pod: Obj) -> bool:
    return phase(pod) == "Running" and is_pod_ready(pod)


def is_running_and_available(pod: Obj, min_ready: int, now: datetime) -> bool:
    return phase(pod) == "Running" and is_pod_available(pod, min_ready, now)


def is_healthy(pod: Obj) -> bool:
    return is_running_and_ready(pod) and not is_terminating(pod)
