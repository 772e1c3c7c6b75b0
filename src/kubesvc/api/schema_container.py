"""core/v1 containers and volumes, as Kubernetes 1.32 declares them (k8s.io/api core/v1).

Also the small references every kind shares (ObjectReference, LocalObjectReference). Fields
added after 1.32 (restartPolicyRules, stopSignal, fileKeyRef, volume `defaultUser`...) are
left out on purpose. Volume sources other than the common ones (emptyDir, configMap, secret,
hostPath, projected, downwardAPI, persistentVolumeClaim, nfs, csi) are `RAW`: accepted as any
JSON and not checked inside.
"""

from __future__ import annotations

from kubesvc.api.schema_types import (
    BOOL,
    INT32,
    INT64,
    INT_OR_STRING,
    LABEL_SELECTOR,
    QUANTITY,
    RAW,
    RESOURCE_LIST,
    STRING,
    STRING_MAP,
    STRINGS,
    UID,
    Struct,
    Type,
    extend,
    list_of,
    named,
    struct,
)

PROTOCOL = named("v1.Protocol")
CONDITION_STATUS = named("v1.ConditionStatus")

OBJECT_REFERENCE = struct(
    "ObjectReference",
    {
        "kind": STRING,
        "namespace": STRING,
        "name": STRING,
        "uid": UID,
        "apiVersion": STRING,
        "resourceVersion": STRING,
        "fieldPath": STRING,
    },
)
LOCAL_OBJECT_REFERENCE = struct("LocalObjectReference", {"name": STRING})
TYPED_LOCAL_OBJECT_REFERENCE = struct(
    "TypedLocalObjectReference", {"apiGroup": STRING, "kind": STRING, "name": STRING}
)

# ---- containers ------------------------------------------------------------------------------

OBJECT_FIELD_SELECTOR = struct("ObjectFieldSelector", {"apiVersion": STRING, "fieldPath": STRING})
RESOURCE_FIELD_SELECTOR = struct(
    "ResourceFieldSelector",
    {"containerName": STRING, "resource": STRING, "divisor": QUANTITY},
)


def _key_selector(name: str) -> Struct:
    return struct(name, {"name": STRING, "key": STRING, "optional": BOOL})


ENV_VAR = struct(
    "EnvVar",
    {
        "name": STRING,
        "value": STRING,
        "valueFrom": struct(
            "EnvVarSource",
            {
                "fieldRef": OBJECT_FIELD_SELECTOR,
                "resourceFieldRef": RESOURCE_FIELD_SELECTOR,
                "configMapKeyRef": _key_selector("ConfigMapKeySelector"),
                "secretKeyRef": _key_selector("SecretKeySelector"),
            },
        ),
    },
)
ENV_FROM_SOURCE = struct(
    "EnvFromSource",
    {
        "prefix": STRING,
        "configMapRef": struct("ConfigMapEnvSource", {"name": STRING, "optional": BOOL}),
        "secretRef": struct("SecretEnvSource", {"name": STRING, "optional": BOOL}),
    },
)
CONTAINER_PORT = struct(
    "ContainerPort",
    {
        "name": STRING,
        "hostPort": INT32,
        "containerPort": INT32,
        "protocol": PROTOCOL,
        "hostIP": STRING,
    },
)
RESOURCE_REQUIREMENTS = struct(
    "ResourceRequirements",
    {
        "limits": RESOURCE_LIST,
        "requests": RESOURCE_LIST,
        "claims": list_of(struct("ResourceClaim", {"name": STRING, "request": STRING})),
    },
)
VOLUME_MOUNT = struct(
    "VolumeMount",
    {
        "name": STRING,
        "readOnly": BOOL,
        "recursiveReadOnly": named("v1.RecursiveReadOnlyMode"),
        "mountPath": STRING,
        "subPath": STRING,
        "mountPropagation": named("v1.MountPropagationMode"),
        "subPathExpr": STRING,
    },
)
EXEC_ACTION = struct("ExecAction", {"command": STRINGS})
HTTP_GET_ACTION = struct(
    "HTTPGetAction",
    {
        "path": STRING,
        "port": INT_OR_STRING,
        "host": STRING,
        "scheme": named("v1.URIScheme"),
        "httpHeaders": list_of(struct("HTTPHeader", {"name": STRING, "value": STRING})),
    },
)
TCP_SOCKET_ACTION = struct("TCPSocketAction", {"port": INT_OR_STRING, "host": STRING})
PROBE = struct(
    "Probe",
    {
        "exec": EXEC_ACTION,
        "httpGet": HTTP_GET_ACTION,
        "tcpSocket": TCP_SOCKET_ACTION,
        "grpc": struct("GRPCAction", {"port": INT32, "service": STRING}),
        "initialDelaySeconds": INT32,
        "timeoutSeconds": INT32,
        "periodSeconds": INT32,
        "successThreshold": INT32,
        "failureThreshold": INT32,
        "terminationGracePeriodSeconds": INT64,
    },
)
LIFECYCLE_HANDLER = struct(
    "LifecycleHandler",
    {
        "exec": EXEC_ACTION,
        "httpGet": HTTP_GET_ACTION,
        "tcpSocket": TCP_SOCKET_ACTION,
        "sleep": struct("SleepAction", {"seconds": INT64}),
    },
)
SE_LINUX_OPTIONS = struct(
    "SELinuxOptions", {"user": STRING, "role": STRING, "type": STRING, "level": STRING}
)
WINDOWS_OPTIONS = struct(
    "WindowsSecurityContextOptions",
    {
        "gmsaCredentialSpecName": STRING,
        "gmsaCredentialSpec": STRING,
        "runAsUserName": STRING,
        "hostProcess": BOOL,
    },
)
SECCOMP_PROFILE = struct(
    "SeccompProfile",
    {"type": named("v1.SeccompProfileType"), "localhostProfile": STRING},
)
APP_ARMOR_PROFILE = struct(
    "AppArmorProfile",
    {"type": named("v1.AppArmorProfileType"), "localhostProfile": STRING},
)
SECURITY_CONTEXT = struct(
    "SecurityContext",
    {
        "capabilities": struct(
            "Capabilities",
            {"add": list_of(named("v1.Capability")), "drop": list_of(named("v1.Capability"))},
        ),
        "privileged": BOOL,
        "seLinuxOptions": SE_LINUX_OPTIONS,
        "windowsOptions": WINDOWS_OPTIONS,
        "runAsUser": INT64,
        "runAsGroup": INT64,
        "runAsNonRoot": BOOL,
        "readOnlyRootFilesystem": BOOL,
        "allowPrivilegeEscalation": BOOL,
        "procMount": named("v1.ProcMountType"),
        "seccompProfile": SECCOMP_PROFILE,
        "appArmorProfile": APP_ARMOR_PROFILE,
    },
)
CONTAINER = struct(
    "Container",
    {
        "name": STRING,
        "image": STRING,
        "command": STRINGS,
        "args": STRINGS,
        "workingDir": STRING,
        "ports": list_of(CONTAINER_PORT),
        "envFrom": list_of(ENV_FROM_SOURCE),
        "env": list_of(ENV_VAR),
        "resources": RESOURCE_REQUIREMENTS,
        "resizePolicy": list_of(
            struct(
                "ContainerResizePolicy",
                {
                    "resourceName": named("v1.ResourceName"),
                    "restartPolicy": named("v1.ResourceResizeRestartPolicy"),
                },
            )
        ),
        "restartPolicy": named("v1.ContainerRestartPolicy"),
        "volumeMounts": list_of(VOLUME_MOUNT),
        "volumeDevices": list_of(struct("VolumeDevice", {"name": STRING, "devicePath": STRING})),
        "livenessProbe": PROBE,
        "readinessProbe": PROBE,
        "startupProbe": PROBE,
        "lifecycle": struct(
            "Lifecycle", {"postStart": LIFECYCLE_HANDLER, "preStop": LIFECYCLE_HANDLER}
        ),
        "terminationMessagePath": STRING,
        "terminationMessagePolicy": named("v1.TerminationMessagePolicy"),
        "imagePullPolicy": named("v1.PullPolicy"),
        "securityContext": SECURITY_CONTEXT,
        "stdin": BOOL,
        "stdinOnce": BOOL,
        "tty": BOOL,
    },
)
EPHEMERAL_CONTAINER = extend("EphemeralContainer", CONTAINER, {"targetContainerName": STRING})

# ---- volumes ---------------------------------------------------------------------------------

KEY_TO_PATH = struct("KeyToPath", {"key": STRING, "path": STRING, "mode": INT32})
DOWNWARD_API_FILE = struct(
    "DownwardAPIVolumeFile",
    {
        "path": STRING,
        "fieldRef": OBJECT_FIELD_SELECTOR,
        "resourceFieldRef": RESOURCE_FIELD_SELECTOR,
        "mode": INT32,
    },
)
_PROJECTION: dict[str, Type] = {"name": STRING, "items": list_of(KEY_TO_PATH), "optional": BOOL}
VOLUME_PROJECTION = struct(
    "VolumeProjection",
    {
        "secret": struct("SecretProjection", _PROJECTION),
        "downwardAPI": struct("DownwardAPIProjection", {"items": list_of(DOWNWARD_API_FILE)}),
        "configMap": struct("ConfigMapProjection", _PROJECTION),
        "serviceAccountToken": struct(
            "ServiceAccountTokenProjection",
            {"audience": STRING, "expirationSeconds": INT64, "path": STRING},
        ),
        "clusterTrustBundle": struct(
            "ClusterTrustBundleProjection",
            {
                "name": STRING,
                "signerName": STRING,
                "labelSelector": LABEL_SELECTOR,
                "optional": BOOL,
                "path": STRING,
            },
        ),
    },
)
_OTHER_VOLUME_SOURCES = [
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "ephemeral",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "gitRepo",
    "glusterfs",
    "image",
    "iscsi",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
]
VOLUME = struct(
    "Volume",
    {
        "name": STRING,
        "hostPath": struct(
            "HostPathVolumeSource", {"path": STRING, "type": named("v1.HostPathType")}
        ),
        "emptyDir": struct(
            "EmptyDirVolumeSource",
            {"medium": named("v1.StorageMedium"), "sizeLimit": QUANTITY},
        ),
        "secret": struct(
            "SecretVolumeSource",
            {
                "secretName": STRING,
                "items": list_of(KEY_TO_PATH),
                "defaultMode": INT32,
                "optional": BOOL,
            },
        ),
        "nfs": struct("NFSVolumeSource", {"server": STRING, "path": STRING, "readOnly": BOOL}),
        "persistentVolumeClaim": struct(
            "PersistentVolumeClaimVolumeSource", {"claimName": STRING, "readOnly": BOOL}
        ),
        "downwardAPI": struct(
            "DownwardAPIVolumeSource",
            {"items": list_of(DOWNWARD_API_FILE), "defaultMode": INT32},
        ),
        "configMap": struct("ConfigMapVolumeSource", {**_PROJECTION, "defaultMode": INT32}),
        "csi": struct(
            "CSIVolumeSource",
            {
                "driver": STRING,
                "readOnly": BOOL,
                "fsType": STRING,
                "volumeAttributes": STRING_MAP,
                "nodePublishSecretRef": LOCAL_OBJECT_REFERENCE,
            },
        ),
        "projected": struct(
            "ProjectedVolumeSource",
            {"sources": list_of(VOLUME_PROJECTION), "defaultMode": INT32},
        ),
        **dict.fromkeys(_OTHER_VOLUME_SOURCES, RAW),
    },
)
