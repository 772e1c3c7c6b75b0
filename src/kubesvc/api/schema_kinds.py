"""Every served kind's Go type, by (apiVersion, kind), as Kubernetes 1.32 declares it.

The core/v1 kinds come from `schema_core`; apps, autoscaling, discovery, networking and
coordination kinds are described here.

`schema_for` is the one lookup the decoder uses. DeleteOptions is accepted under any
apiVersion, as every group version registers it. Fields added after 1.32 (EndpointHints.forNodes,
terminatingReplicas, NodeSystemInfo.swap, PodCondition.observedGeneration, ...) are left out.
"""

from __future__ import annotations

from kubesvc.api.schema_container import (
    CONDITION_STATUS,
    OBJECT_REFERENCE,
    PROTOCOL,
    TYPED_LOCAL_OBJECT_REFERENCE,
)
from kubesvc.api.schema_core import (
    CONFIG_MAP,
    ENDPOINTS,
    EVENT,
    NAMESPACE,
    NODE,
    POD,
    SECRET,
    SERVICE,
    SERVICE_ACCOUNT,
)
from kubesvc.api.schema_pod import POD_TEMPLATE_SPEC
from kubesvc.api.schema_statefulset import CONTROLLER_REVISION, STATEFUL_SET
from kubesvc.api.schema_types import (
    BOOL,
    DELETE_OPTIONS,
    INT32,
    INT64,
    INT_OR_STRING,
    LABEL_SELECTOR,
    MICRO_TIME,
    STRING,
    STRING_MAP,
    STRINGS,
    TIME,
    Struct,
    Type,
    kind,
    list_of,
    named,
    struct,
)

_PORT_STATUS = {"port": INT32, "protocol": PROTOCOL, "error": STRING}

# ---- apps/v1, autoscaling/v1 -----------------------------------------------------------------


def _condition(name: str, *, update_time: bool = False) -> Struct:
    fields: dict[str, Type] = {"type": named(f"v1.{name}Type"), "status": CONDITION_STATUS}
    if update_time:
        fields["lastUpdateTime"] = TIME
    return struct(name, {**fields, "lastTransitionTime": TIME, "reason": STRING, "message": STRING})


DEPLOYMENT = kind(
    "Deployment",
    {
        "spec": struct(
            "DeploymentSpec",
            {
                "replicas": INT32,
                "selector": LABEL_SELECTOR,
                "template": POD_TEMPLATE_SPEC,
                "strategy": struct(
                    "DeploymentStrategy",
                    {
                        "type": named("v1.DeploymentStrategyType"),
                        "rollingUpdate": struct(
                            "RollingUpdateDeployment",
                            {"maxUnavailable": INT_OR_STRING, "maxSurge": INT_OR_STRING},
                        ),
                    },
                ),
                "minReadySeconds": INT32,
                "revisionHistoryLimit": INT32,
                "paused": BOOL,
                "progressDeadlineSeconds": INT32,
            },
        ),
        "status": struct(
            "DeploymentStatus",
            {
                "observedGeneration": INT64,
                "replicas": INT32,
                "updatedReplicas": INT32,
                "readyReplicas": INT32,
                "availableReplicas": INT32,
                "unavailableReplicas": INT32,
                "conditions": list_of(_condition("DeploymentCondition", update_time=True)),
                "collisionCount": INT32,
            },
        ),
    },
)
REPLICA_SET = kind(
    "ReplicaSet",
    {
        "spec": struct(
            "ReplicaSetSpec",
            {
                "replicas": INT32,
                "minReadySeconds": INT32,
                "selector": LABEL_SELECTOR,
                "template": POD_TEMPLATE_SPEC,
            },
        ),
        "status": struct(
            "ReplicaSetStatus",
            {
                "replicas": INT32,
                "fullyLabeledReplicas": INT32,
                "readyReplicas": INT32,
                "availableReplicas": INT32,
                "observedGeneration": INT64,
                "conditions": list_of(_condition("ReplicaSetCondition")),
            },
        ),
    },
)
SCALE = kind(
    "Scale",
    {
        "spec": struct("ScaleSpec", {"replicas": INT32}),
        "status": struct("ScaleStatus", {"replicas": INT32, "selector": STRING}),
    },
)

# ---- discovery, networking, coordination -----------------------------------------------------

ENDPOINT_SLICE = kind(
    "EndpointSlice",
    {
        "addressType": named("v1.AddressType"),
        "endpoints": list_of(
            struct(
                "Endpoint",
                {
                    "addresses": STRINGS,
                    "conditions": struct(
                        "EndpointConditions",
                        {"ready": BOOL, "serving": BOOL, "terminating": BOOL},
                    ),
                    "hostname": STRING,
                    "targetRef": OBJECT_REFERENCE,
                    "deprecatedTopology": STRING_MAP,
                    "nodeName": STRING,
                    "zone": STRING,
                    "hints": struct(
                        "EndpointHints",
                        {"forZones": list_of(struct("ForZone", {"name": STRING}))},
                    ),
                },
            )
        ),
        "ports": list_of(
            struct(
                "EndpointPort",
                {"name": STRING, "protocol": PROTOCOL, "port": INT32, "appProtocol": STRING},
            )
        ),
    },
)

INGRESS_BACKEND = struct(
    "IngressBackend",
    {
        "service": struct(
            "IngressServiceBackend",
            {
                "name": STRING,
                "port": struct("ServiceBackendPort", {"name": STRING, "number": INT32}),
            },
        ),
        "resource": TYPED_LOCAL_OBJECT_REFERENCE,
    },
)
INGRESS_RULE = struct(
    "IngressRule",
    {
        "host": STRING,
        "http": struct(
            "HTTPIngressRuleValue",
            {
                "paths": list_of(
                    struct(
                        "HTTPIngressPath",
                        {
                            "path": STRING,
                            "pathType": named("v1.PathType"),
                            "backend": INGRESS_BACKEND,
                        },
                    )
                )
            },
        ),
    },
)
INGRESS = kind(
    "Ingress",
    {
        "spec": struct(
            "IngressSpec",
            {
                "ingressClassName": STRING,
                "defaultBackend": INGRESS_BACKEND,
                "tls": list_of(struct("IngressTLS", {"hosts": STRINGS, "secretName": STRING})),
                "rules": list_of(INGRESS_RULE),
            },
        ),
        "status": struct(
            "IngressStatus",
            {
                "loadBalancer": struct(
                    "IngressLoadBalancerStatus",
                    {
                        "ingress": list_of(
                            struct(
                                "IngressLoadBalancerIngress",
                                {
                                    "ip": STRING,
                                    "hostname": STRING,
                                    "ports": list_of(struct("IngressPortStatus", _PORT_STATUS)),
                                },
                            )
                        )
                    },
                )
            },
        ),
    },
)
INGRESS_CLASS = kind(
    "IngressClass",
    {
        "spec": struct(
            "IngressClassSpec",
            {
                "controller": STRING,
                "parameters": struct(
                    "IngressClassParametersReference",
                    {
                        "apiGroup": STRING,
                        "kind": STRING,
                        "name": STRING,
                        "scope": STRING,
                        "namespace": STRING,
                    },
                ),
            },
        )
    },
)
LEASE = kind(
    "Lease",
    {
        "spec": struct(
            "LeaseSpec",
            {
                "holderIdentity": STRING,
                "leaseDurationSeconds": INT32,
                "acquireTime": MICRO_TIME,
                "renewTime": MICRO_TIME,
                "leaseTransitions": INT32,
                "strategy": named("v1.CoordinatedLeaseStrategy"),
                "preferredHolder": STRING,
            },
        )
    },
)

SCHEMAS: dict[tuple[str, str], Struct] = {
    ("v1", "Namespace"): NAMESPACE,
    ("v1", "Service"): SERVICE,
    ("v1", "Endpoints"): ENDPOINTS,
    ("v1", "Pod"): POD,
    ("v1", "Node"): NODE,
    ("v1", "Event"): EVENT,
    ("v1", "ConfigMap"): CONFIG_MAP,
    ("v1", "Secret"): SECRET,
    ("v1", "ServiceAccount"): SERVICE_ACCOUNT,
    ("apps/v1", "Deployment"): DEPLOYMENT,
    ("apps/v1", "ReplicaSet"): REPLICA_SET,
    ("apps/v1", "StatefulSet"): STATEFUL_SET,
    ("apps/v1", "ControllerRevision"): CONTROLLER_REVISION,
    ("autoscaling/v1", "Scale"): SCALE,
    ("discovery.k8s.io/v1", "EndpointSlice"): ENDPOINT_SLICE,
    ("networking.k8s.io/v1", "Ingress"): INGRESS,
    ("networking.k8s.io/v1", "IngressClass"): INGRESS_CLASS,
    ("coordination.k8s.io/v1", "Lease"): LEASE,
}


def schema_for(api_version: str, kind_name: str) -> Struct | None:
    """The Go type a body of this apiVersion and kind decodes into, or None if not served."""
    if kind_name == "DeleteOptions":
        return DELETE_OPTIONS
    return SCHEMAS.get((api_version, kind_name))
