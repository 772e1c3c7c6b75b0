"""apps/v1 StatefulSet and ControllerRevision, as Kubernetes 1.32's k8s.io/api declares them.

A StatefulSet's `volumeClaimTemplates` are whole core/v1 PersistentVolumeClaims (TypeMeta,
ObjectMeta, spec, status); PersistentVolumeClaim is not a served kind here, so it is described
only as far as a template needs it. A ControllerRevision's `data` is a RawExtension: any JSON,
kept as is. `schema_kinds.SCHEMAS` registers both kinds.
"""

from __future__ import annotations

from kubesvc.api.schema_container import CONDITION_STATUS, TYPED_LOCAL_OBJECT_REFERENCE
from kubesvc.api.schema_pod import POD_TEMPLATE_SPEC
from kubesvc.api.schema_types import (
    INT32,
    INT64,
    INT_OR_STRING,
    LABEL_SELECTOR,
    RAW,
    RESOURCE_LIST,
    STRING,
    TIME,
    kind,
    list_of,
    named,
    struct,
)

_ACCESS_MODES = list_of(named("v1.PersistentVolumeAccessMode"))

PERSISTENT_VOLUME_CLAIM = kind(
    "PersistentVolumeClaim",
    {
        "spec": struct(
            "PersistentVolumeClaimSpec",
            {
                "accessModes": _ACCESS_MODES,
                "selector": LABEL_SELECTOR,
                "resources": struct(
                    "VolumeResourceRequirements",
                    {"limits": RESOURCE_LIST, "requests": RESOURCE_LIST},
                ),
                "volumeName": STRING,
                "storageClassName": STRING,
                "volumeMode": named("v1.PersistentVolumeMode"),
                "dataSource": TYPED_LOCAL_OBJECT_REFERENCE,
                "dataSourceRef": struct(
                    "TypedObjectReference",
                    {"apiGroup": STRING, "kind": STRING, "name": STRING, "namespace": STRING},
                ),
                "volumeAttributesClassName": STRING,
            },
        ),
        "status": struct(
            "PersistentVolumeClaimStatus",
            {
                "phase": named("v1.PersistentVolumeClaimPhase"),
                "accessModes": _ACCESS_MODES,
                "capacity": RESOURCE_LIST,
                "conditions": RAW,
                "allocatedResources": RESOURCE_LIST,
                "allocatedResourceStatuses": RAW,
                "currentVolumeAttributesClassName": STRING,
                "modifyVolumeStatus": RAW,
            },
        ),
    },
)

_RETENTION = named("v1.PersistentVolumeClaimRetentionPolicyType")

STATEFUL_SET = kind(
    "StatefulSet",
    {
        "spec": struct(
            "StatefulSetSpec",
            {
                "replicas": INT32,
                "selector": LABEL_SELECTOR,
                "template": POD_TEMPLATE_SPEC,
                "volumeClaimTemplates": list_of(PERSISTENT_VOLUME_CLAIM),
                "serviceName": STRING,
                "podManagementPolicy": named("v1.PodManagementPolicyType"),
                "updateStrategy": struct(
                    "StatefulSetUpdateStrategy",
                    {
                        "type": named("v1.StatefulSetUpdateStrategyType"),
                        "rollingUpdate": struct(
                            "RollingUpdateStatefulSetStrategy",
                            {"partition": INT32, "maxUnavailable": INT_OR_STRING},
                        ),
                    },
                ),
                "revisionHistoryLimit": INT32,
                "minReadySeconds": INT32,
                "persistentVolumeClaimRetentionPolicy": struct(
                    "StatefulSetPersistentVolumeClaimRetentionPolicy",
                    {"whenDeleted": _RETENTION, "whenScaled": _RETENTION},
                ),
                "ordinals": struct("StatefulSetOrdinals", {"start": INT32}),
            },
        ),
        "status": struct(
            "StatefulSetStatus",
            {
                "observedGeneration": INT64,
                "replicas": INT32,
                "readyReplicas": INT32,
                "currentReplicas": INT32,
                "updatedReplicas": INT32,
                "currentRevision": STRING,
                "updateRevision": STRING,
                "collisionCount": INT32,
                "conditions": list_of(
                    struct(
                        "StatefulSetCondition",
                        {
                            "type": named("v1.StatefulSetConditionType"),
                            "status": CONDITION_STATUS,
                            "lastTransitionTime": TIME,
                            "reason": STRING,
                            "message": STRING,
                        },
                    )
                ),
                "availableReplicas": INT32,
            },
        ),
    },
)

CONTROLLER_REVISION = kind("ControllerRevision", {"data": RAW, "revision": INT64})
