"""StatefulSet defaulting, as apps/v1 `SetDefaults_StatefulSet` and the registry strategy do it.

`default_stateful_set(obj)` fills what is absent: `podManagementPolicy: OrderedReady`, an
`updateStrategy` of type RollingUpdate with `rollingUpdate.partition: 0` (a strategy given
with only its type keeps no rollingUpdate, as upstream), `replicas: 1`,
`revisionHistoryLimit: 10`, `persistentVolumeClaimRetentionPolicy` Retain/Retain (the
StatefulSetAutoDeletePVC gate is on in 1.32), and for each volume claim template the
PersistentVolumeClaim defaults a stored set shows (`apiVersion: v1`, `kind`, `volumeMode:
Filesystem`, `status.phase: Pending`). `rollingUpdate.maxUnavailable` belongs to the alpha
MaxUnavailableStatefulSet gate, off in 1.32, so the strategy drops it. The pod template's own
defaults are applied by `defaults`, as for Deployments. Values of the wrong type are left for
validation to report; nothing here raises.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

RETAIN = "Retain"


def _dict(parent: Any, name: str) -> Obj | None:
    value = parent.get(name) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else None


def _ensure(parent: Obj, name: str) -> Obj | None:
    if parent.get(name) is None:
        parent[name] = {}
    value = parent[name]
    return value if isinstance(value, dict) else None


def _default_update_strategy(spec: Obj) -> None:
    strategy = _ensure(spec, "updateStrategy")
    if strategy is None:
        return
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        if strategy.get("rollingUpdate") is None:
            strategy["rollingUpdate"] = {}
    rolling = _dict(strategy, "rollingUpdate")
    if strategy.get("type") == "RollingUpdate" and rolling is not None:
        if rolling.get("partition") is None:
            rolling["partition"] = 0
        rolling.pop("maxUnavailable", None)


def _default_claim_template(claim: Obj) -> None:
    if not claim.get("apiVersion"):
        claim["apiVersion"] = "v1"
    if not claim.get("kind"):
        claim["kind"] = "PersistentVolumeClaim"
    spec = _ensure(claim, "spec")
    if spec is not None and spec.get("volumeMode") is None:
        spec["volumeMode"] = "Filesystem"
    status = _ensure(claim, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Pending"


def default_stateful_set(obj: Obj) -> None:
    """Fill the StatefulSet-specific defaults of `obj` (its pod template excepted)."""
    spec = _dict(obj, "spec")
    if spec is not None:
        if not spec.get("podManagementPolicy"):
            spec["podManagementPolicy"] = "OrderedReady"
        _default_update_strategy(spec)
        policy = _ensure(spec, "persistentVolumeClaimRetentionPolicy")
        if policy is not None:
            for name in ("whenDeleted", "whenScaled"):
                if not policy.get(name):
                    policy[name] = RETAIN
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        if spec.get("revisionHistoryLimit") is None:
            spec["revisionHistoryLimit"] = 10
        claims = spec.get("volumeClaimTemplates")
        if isinstance(claims, list):
            for claim in claims:
                if isinstance(claim, dict):
                    _default_claim_template(claim)
    if "status" not in obj:
        obj["status"] = {"replicas": 0, "availableReplicas": 0}
