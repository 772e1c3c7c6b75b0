"""core/v1 PodSpec, PodTemplateSpec and PodStatus, as Kubernetes 1.32 declares them.

Scheduling (affinity, tolerations, topology spread), the pod security context and the
status types live here; containers and volumes are in `schema_container`. Fields added after
1.32 (hostnameOverride, PodStatus.observedGeneration, pod-level allocatedResources...) are
left out on purpose.
"""

from __future__ import annotations

from kubesvc.api.schema_container import (
    APP_ARMOR_PROFILE,
    CONDITION_STATUS,
    CONTAINER,
    EPHEMERAL_CONTAINER,
    LOCAL_OBJECT_REFERENCE,
    RESOURCE_REQUIREMENTS,
    SE_LINUX_OPTIONS,
    SECCOMP_PROFILE,
    VOLUME,
    WINDOWS_OPTIONS,
)
from kubesvc.api.schema_types import (
    BOOL,
    INT32,
    INT64,
    LABEL_SELECTOR,
    OBJECT_META,
    RESOURCE_LIST,
    STRING,
    STRING_MAP,
    STRINGS,
    TIME,
    list_of,
    named,
    struct,
)

# ---- scheduling ------------------------------------------------------------------------------

NODE_SELECTOR_REQUIREMENTS = list_of(
    struct(
        "NodeSelectorRequirement",
        {"key": STRING, "operator": named("v1.NodeSelectorOperator"), "values": STRINGS},
    )
)
NODE_SELECTOR_TERM = struct(
    "NodeSelectorTerm",
    {"matchExpressions": NODE_SELECTOR_REQUIREMENTS, "matchFields": NODE_SELECTOR_REQUIREMENTS},
)
POD_AFFINITY_TERM = struct(
    "PodAffinityTerm",
    {
        "labelSelector": LABEL_SELECTOR,
        "namespaces": STRINGS,
        "topologyKey": STRING,
        "namespaceSelector": LABEL_SELECTOR,
        "matchLabelKeys": STRINGS,
        "mismatchLabelKeys": STRINGS,
    },
)
_POD_AFFINITY = {
    "requiredDuringSchedulingIgnoredDuringExecution": list_of(POD_AFFINITY_TERM),
    "preferredDuringSchedulingIgnoredDuringExecution": list_of(
        struct("WeightedPodAffinityTerm", {"weight": INT32, "podAffinityTerm": POD_AFFINITY_TERM})
    ),
}
AFFINITY = struct(
    "Affinity",
    {
        "nodeAffinity": struct(
            "NodeAffinity",
            {
                "requiredDuringSchedulingIgnoredDuringExecution": struct(
                    "NodeSelector", {"nodeSelectorTerms": list_of(NODE_SELECTOR_TERM)}
                ),
                "preferredDuringSchedulingIgnoredDuringExecution": list_of(
                    struct(
                        "PreferredSchedulingTerm",
                        {"weight": INT32, "preference": NODE_SELECTOR_TERM},
                    )
                ),
            },
        ),
        "podAffinity": struct("PodAffinity", _POD_AFFINITY),
        "podAntiAffinity": struct("PodAntiAffinity", _POD_AFFINITY),
    },
)
TOLERATION = struct(
    "Toleration",
    {
        "key": STRING,
        "operator": named("v1.TolerationOperator"),
        "value": STRING,
        "effect": named("v1.TaintEffect"),
        "tolerationSeconds": INT64,
    },
)
TOPOLOGY_SPREAD_CONSTRAINT = struct(
    "TopologySpreadConstraint",
    {
        "maxSkew": INT32,
        "topologyKey": STRING,
        "whenUnsatisfiable": named("v1.UnsatisfiableConstraintAction"),
        "labelSelector": LABEL_SELECTOR,
        "minDomains": INT32,
        "nodeAffinityPolicy": named("v1.NodeInclusionPolicy"),
        "nodeTaintsPolicy": named("v1.NodeInclusionPolicy"),
        "matchLabelKeys": STRINGS,
    },
)
POD_SECURITY_CONTEXT = struct(
    "PodSecurityContext",
    {
        "seLinuxOptions": SE_LINUX_OPTIONS,
        "windowsOptions": WINDOWS_OPTIONS,
        "runAsUser": INT64,
        "runAsGroup": INT64,
        "runAsNonRoot": BOOL,
        "supplementalGroups": list_of(INT64),
        "supplementalGroupsPolicy": named("v1.SupplementalGroupsPolicy"),
        "fsGroup": INT64,
        "sysctls": list_of(struct("Sysctl", {"name": STRING, "value": STRING})),
        "fsGroupChangePolicy": named("v1.PodFSGroupChangePolicy"),
        "seccompProfile": SECCOMP_PROFILE,
        "appArmorProfile": APP_ARMOR_PROFILE,
        "seLinuxChangePolicy": named("v1.PodSELinuxChangePolicy"),
    },
)

POD_SPEC = struct(
    "PodSpec",
    {
        "volumes": list_of(VOLUME),
        "initContainers": list_of(CONTAINER),
        "containers": list_of(CONTAINER),
        "ephemeralContainers": list_of(EPHEMERAL_CONTAINER),
        "restartPolicy": named("v1.RestartPolicy"),
        "terminationGracePeriodSeconds": INT64,
        "activeDeadlineSeconds": INT64,
        "dnsPolicy": named("v1.DNSPolicy"),
        "nodeSelector": STRING_MAP,
        "serviceAccountName": STRING,
        "serviceAccount": STRING,
        "automountServiceAccountToken": BOOL,
        "nodeName": STRING,
        "hostNetwork": BOOL,
        "hostPID": BOOL,
        "hostIPC": BOOL,
        "shareProcessNamespace": BOOL,
        "securityContext": POD_SECURITY_CONTEXT,
        "imagePullSecrets": list_of(LOCAL_OBJECT_REFERENCE),
        "hostname": STRING,
        "subdomain": STRING,
        "affinity": AFFINITY,
        "schedulerName": STRING,
        "tolerations": list_of(TOLERATION),
        "hostAliases": list_of(struct("HostAlias", {"ip": STRING, "hostnames": STRINGS})),
        "priorityClassName": STRING,
        "priority": INT32,
        "dnsConfig": struct(
            "PodDNSConfig",
            {
                "nameservers": STRINGS,
                "searches": STRINGS,
                "options": list_of(struct("PodDNSConfigOption", {"name": STRING, "value": STRING})),
            },
        ),
        "readinessGates": list_of(
            struct("PodReadinessGate", {"conditionType": named("v1.PodConditionType")})
        ),
        "runtimeClassName": STRING,
        "enableServiceLinks": BOOL,
        "preemptionPolicy": named("v1.PreemptionPolicy"),
        "overhead": RESOURCE_LIST,
        "topologySpreadConstraints": list_of(TOPOLOGY_SPREAD_CONSTRAINT),
        "setHostnameAsFQDN": BOOL,
        "os": struct("PodOS", {"name": named("v1.OSName")}),
        "hostUsers": BOOL,
        "schedulingGates": list_of(struct("PodSchedulingGate", {"name": STRING})),
        "resourceClaims": list_of(
            struct(
                "PodResourceClaim",
                {
                    "name": STRING,
                    "resourceClaimName": STRING,
                    "resourceClaimTemplateName": STRING,
                },
            )
        ),
        "resources": RESOURCE_REQUIREMENTS,
    },
)

POD_TEMPLATE_SPEC = struct("PodTemplateSpec", {"metadata": OBJECT_META, "spec": POD_SPEC})

# ---- status ----------------------------------------------------------------------------------

CONTAINER_STATE = struct(
    "ContainerState",
    {
        "waiting": struct("ContainerStateWaiting", {"reason": STRING, "message": STRING}),
        "running": struct("ContainerStateRunning", {"startedAt": TIME}),
        "terminated": struct(
            "ContainerStateTerminated",
            {
                "exitCode": INT32,
                "signal": INT32,
                "reason": STRING,
                "message": STRING,
                "startedAt": TIME,
                "finishedAt": TIME,
                "containerID": STRING,
            },
        ),
    },
)
CONTAINER_STATUS = struct(
    "ContainerStatus",
    {
        "name": STRING,
        "state": CONTAINER_STATE,
        "lastState": CONTAINER_STATE,
        "ready": BOOL,
        "restartCount": INT32,
        "image": STRING,
        "imageID": STRING,
        "containerID": STRING,
        "started": BOOL,
        "allocatedResources": RESOURCE_LIST,
        "resources": RESOURCE_REQUIREMENTS,
        "volumeMounts": list_of(
            struct(
                "VolumeMountStatus",
                {
                    "name": STRING,
                    "mountPath": STRING,
                    "readOnly": BOOL,
                    "recursiveReadOnly": named("v1.RecursiveReadOnlyMode"),
                },
            )
        ),
        "user": struct(
            "ContainerUser",
            {
                "linux": struct(
                    "LinuxContainerUser",
                    {"uid": INT64, "gid": INT64, "supplementalGroups": list_of(INT64)},
                )
            },
        ),
        "allocatedResourcesStatus": list_of(
            struct(
                "ResourceStatus",
                {
                    "name": named("v1.ResourceName"),
                    "resources": list_of(
                        struct(
                            "ResourceHealth",
                            {
                                "resourceID": named("v1.ResourceID"),
                                "health": named("v1.ResourceHealthStatus"),
                            },
                        )
                    ),
                },
            )
        ),
    },
)
POD_STATUS = struct(
    "PodStatus",
    {
        "phase": named("v1.PodPhase"),
        "conditions": list_of(
            struct(
                "PodCondition",
                {
                    "type": named("v1.PodConditionType"),
                    "status": CONDITION_STATUS,
                    "lastProbeTime": TIME,
                    "lastTransitionTime": TIME,
                    "reason": STRING,
                    "message": STRING,
                },
            )
        ),
        "message": STRING,
        "reason": STRING,
        "nominatedNodeName": STRING,
        "hostIP": STRING,
        "hostIPs": list_of(struct("HostIP", {"ip": STRING})),
        "podIP": STRING,
        "podIPs": list_of(struct("PodIP", {"ip": STRING})),
        "startTime": TIME,
        "initContainerStatuses": list_of(CONTAINER_STATUS),
        "containerStatuses": list_of(CONTAINER_STATUS),
        "qosClass": named("v1.PodQOSClass"),
        "ephemeralContainerStatuses": list_of(CONTAINER_STATUS),
        "resize": named("v1.PodResizeStatus"),
        "resourceClaimStatuses": list_of(
            struct("PodResourceClaimStatus", {"name": STRING, "resourceClaimName": STRING})
        ),
    },
)
