"""core/v1 kinds other than Pod, as Kubernetes 1.32 declares them (k8s.io/api core/v1).

Service, Endpoints, Node, Event, ConfigMap, Secret, ServiceAccount and Namespace; Pod itself is
assembled here from `schema_pod`. Fields added after 1.32 (NodeSystemInfo.swap,
NodeStatus.declaredFeatures...) are left out on purpose.
"""

from __future__ import annotations

from kubesvc.api.schema_container import (
    CONDITION_STATUS,
    LOCAL_OBJECT_REFERENCE,
    OBJECT_REFERENCE,
    PROTOCOL,
)
from kubesvc.api.schema_pod import POD_SPEC, POD_STATUS
from kubesvc.api.schema_types import (
    BOOL,
    BYTES,
    CONDITION,
    INT32,
    INT64,
    INT_OR_STRING,
    MICRO_TIME,
    RESOURCE_LIST,
    STRING,
    STRING_MAP,
    STRINGS,
    TIME,
    UID,
    kind,
    list_of,
    map_of,
    named,
    struct,
)

# ---- core/v1 ---------------------------------------------------------------------------------

SERVICE_PORT = struct(
    "ServicePort",
    {
        "name": STRING,
        "protocol": PROTOCOL,
        "appProtocol": STRING,
        "port": INT32,
        "targetPort": INT_OR_STRING,
        "nodePort": INT32,
    },
)
SERVICE_SPEC = struct(
    "ServiceSpec",
    {
        "ports": list_of(SERVICE_PORT),
        "selector": STRING_MAP,
        "clusterIP": STRING,
        "clusterIPs": STRINGS,
        "type": named("v1.ServiceType"),
        "externalIPs": STRINGS,
        "sessionAffinity": named("v1.ServiceAffinity"),
        "loadBalancerIP": STRING,
        "loadBalancerSourceRanges": STRINGS,
        "externalName": STRING,
        "externalTrafficPolicy": named("v1.ServiceExternalTrafficPolicy"),
        "healthCheckNodePort": INT32,
        "publishNotReadyAddresses": BOOL,
        "sessionAffinityConfig": struct(
            "SessionAffinityConfig",
            {"clientIP": struct("ClientIPConfig", {"timeoutSeconds": INT32})},
        ),
        "ipFamilies": list_of(named("v1.IPFamily")),
        "ipFamilyPolicy": named("v1.IPFamilyPolicy"),
        "allocateLoadBalancerNodePorts": BOOL,
        "loadBalancerClass": STRING,
        "internalTrafficPolicy": named("v1.ServiceInternalTrafficPolicy"),
        "trafficDistribution": STRING,
    },
)
_PORT_STATUS = {"port": INT32, "protocol": PROTOCOL, "error": STRING}
SERVICE_STATUS = struct(
    "ServiceStatus",
    {
        "loadBalancer": struct(
            "LoadBalancerStatus",
            {
                "ingress": list_of(
                    struct(
                        "LoadBalancerIngress",
                        {
                            "ip": STRING,
                            "hostname": STRING,
                            "ipMode": named("v1.LoadBalancerIPMode"),
                            "ports": list_of(struct("PortStatus", _PORT_STATUS)),
                        },
                    )
                )
            },
        ),
        "conditions": list_of(CONDITION),
    },
)
SERVICE = kind("Service", {"spec": SERVICE_SPEC, "status": SERVICE_STATUS})

ENDPOINT_ADDRESS = struct(
    "EndpointAddress",
    {"ip": STRING, "hostname": STRING, "nodeName": STRING, "targetRef": OBJECT_REFERENCE},
)
ENDPOINTS = kind(
    "Endpoints",
    {
        "subsets": list_of(
            struct(
                "EndpointSubset",
                {
                    "addresses": list_of(ENDPOINT_ADDRESS),
                    "notReadyAddresses": list_of(ENDPOINT_ADDRESS),
                    "ports": list_of(
                        struct(
                            "EndpointPort",
                            {
                                "name": STRING,
                                "port": INT32,
                                "protocol": PROTOCOL,
                                "appProtocol": STRING,
                            },
                        )
                    ),
                },
            )
        )
    },
)

POD = kind("Pod", {"spec": POD_SPEC, "status": POD_STATUS})

NODE_CONFIG_SOURCE = struct(
    "NodeConfigSource",
    {
        "configMap": struct(
            "ConfigMapNodeConfigSource",
            {
                "namespace": STRING,
                "name": STRING,
                "uid": UID,
                "resourceVersion": STRING,
                "kubeletConfigKey": STRING,
            },
        )
    },
)
NODE_SPEC = struct(
    "NodeSpec",
    {
        "podCIDR": STRING,
        "podCIDRs": STRINGS,
        "providerID": STRING,
        "unschedulable": BOOL,
        "taints": list_of(
            struct(
                "Taint",
                {
                    "key": STRING,
                    "value": STRING,
                    "effect": named("v1.TaintEffect"),
                    "timeAdded": TIME,
                },
            )
        ),
        "configSource": NODE_CONFIG_SOURCE,
        "externalID": STRING,
    },
)
_NODE_INFO = [
    "machineID",
    "systemUUID",
    "bootID",
    "kernelVersion",
    "osImage",
    "containerRuntimeVersion",
    "kubeletVersion",
    "kubeProxyVersion",
    "operatingSystem",
    "architecture",
]
NODE_STATUS = struct(
    "NodeStatus",
    {
        "capacity": RESOURCE_LIST,
        "allocatable": RESOURCE_LIST,
        "phase": named("v1.NodePhase"),
        "conditions": list_of(
            struct(
                "NodeCondition",
                {
                    "type": named("v1.NodeConditionType"),
                    "status": CONDITION_STATUS,
                    "lastHeartbeatTime": TIME,
                    "lastTransitionTime": TIME,
                    "reason": STRING,
                    "message": STRING,
                },
            )
        ),
        "addresses": list_of(
            struct("NodeAddress", {"type": named("v1.NodeAddressType"), "address": STRING})
        ),
        "daemonEndpoints": struct(
            "NodeDaemonEndpoints",
            {"kubeletEndpoint": struct("DaemonEndpoint", {"Port": INT32})},
        ),
        "nodeInfo": struct("NodeSystemInfo", dict.fromkeys(_NODE_INFO, STRING)),
        "images": list_of(struct("ContainerImage", {"names": STRINGS, "sizeBytes": INT64})),
        "volumesInUse": list_of(named("v1.UniqueVolumeName")),
        "volumesAttached": list_of(
            struct(
                "AttachedVolume",
                {"name": named("v1.UniqueVolumeName"), "devicePath": STRING},
            )
        ),
        "config": struct(
            "NodeConfigStatus",
            {
                "assigned": NODE_CONFIG_SOURCE,
                "active": NODE_CONFIG_SOURCE,
                "lastKnownGood": NODE_CONFIG_SOURCE,
                "error": STRING,
            },
        ),
        "runtimeHandlers": list_of(
            struct(
                "NodeRuntimeHandler",
                {
                    "name": STRING,
                    "features": struct(
                        "NodeRuntimeHandlerFeatures",
                        {"recursiveReadOnlyMounts": BOOL, "userNamespaces": BOOL},
                    ),
                },
            )
        ),
        "features": struct("NodeFeatures", {"supplementalGroupsPolicy": BOOL}),
    },
)
NODE = kind("Node", {"spec": NODE_SPEC, "status": NODE_STATUS})

EVENT = kind(
    "Event",
    {
        "involvedObject": OBJECT_REFERENCE,
        "reason": STRING,
        "message": STRING,
        "source": struct("EventSource", {"component": STRING, "host": STRING}),
        "firstTimestamp": TIME,
        "lastTimestamp": TIME,
        "count": INT32,
        "type": STRING,
        "eventTime": MICRO_TIME,
        "series": struct("EventSeries", {"count": INT32, "lastObservedTime": MICRO_TIME}),
        "action": STRING,
        "related": OBJECT_REFERENCE,
        "reportingComponent": STRING,
        "reportingInstance": STRING,
    },
)
CONFIG_MAP = kind(
    "ConfigMap",
    {"immutable": BOOL, "data": STRING_MAP, "binaryData": map_of(BYTES)},
)
SECRET = kind(
    "Secret",
    {
        "immutable": BOOL,
        "data": map_of(BYTES),
        "stringData": STRING_MAP,
        "type": named("v1.SecretType"),
    },
)
SERVICE_ACCOUNT = kind(
    "ServiceAccount",
    {
        "secrets": list_of(OBJECT_REFERENCE),
        "imagePullSecrets": list_of(LOCAL_OBJECT_REFERENCE),
        "automountServiceAccountToken": BOOL,
    },
)
NAMESPACE = kind(
    "Namespace",
    {
        "spec": struct("NamespaceSpec", {"finalizers": list_of(named("v1.FinalizerName"))}),
        "status": struct(
            "NamespaceStatus",
            {
                "phase": named("v1.NamespacePhase"),
                "conditions": list_of(
                    struct(
                        "NamespaceCondition",
                        {
                            "type": named("v1.NamespaceConditionType"),
                            "status": CONDITION_STATUS,
                            "lastTransitionTime": TIME,
                            "reason": STRING,
                            "message": STRING,
                        },
                    )
                ),
            },
        ),
    },
)
