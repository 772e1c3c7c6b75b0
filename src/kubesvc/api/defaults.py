"""Defaulting of Kubernetes objects as kube-apiserver applies it before validation.

`apply_defaults(kind, obj)` mutates a JSON object the way the v1 defaulters
(`pkg/apis/core/v1/defaults.go`, `apps/v1`, `discovery/v1`, `networking/v1`) do, plus the
create-time strategy steps whose result a user sees in `kubectl get -o yaml`: Service
`clusterIPs` synced from `clusterIP`, `status.loadBalancer: {}`, Namespace finalizer and
phase, Pod `status.phase: Pending` and QoS class, Secret `stringData` folded into `data`.
Every step only fills what is absent, so defaulting twice changes nothing, and a value of the
wrong type is left for validation to report: nothing here raises on malformed input.

Services get two more hooks the API server calls around IP allocation:
`prepare_service_update(new, old)` (the registry's patching of allocated values, clusterIPs
normalisation and dropping of type-dependent fields on update) and
`service_ip_families(obj, old)` (ipFamilyPolicy / ipFamilies as the allocator sets them on a
single-stack IPv4 cluster).
"""

from __future__ import annotations

import base64
from typing import Any

from kubesvc.api.defaults_statefulset import default_stateful_set
from kubesvc.api.validation import quantity
from kubesvc.api.validation.pod import JSON_VOLUME_NAMES
from kubesvc.api.validation.pod import VOLUME_SOURCES as POD_VOLUME_SOURCES
from kubesvc.api.validation.service_strategy import prepare_service_update, service_ip_families

Obj = dict[str, Any]

DEFAULT_AFFINITY_SECONDS = 10800
VOLUME_SOURCES = tuple(JSON_VOLUME_NAMES.get(name, name) for name in POD_VOLUME_SOURCES)


def _dict(parent: Any, name: str) -> Obj | None:
    value = parent.get(name) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else None


def _ensure(parent: Any, name: str) -> Obj | None:
    """parent[name] as a dict, created when absent; None when it holds something else."""
    if not isinstance(parent, dict):
        return None
    if parent.get(name) is None:
        parent[name] = {}
    value = parent[name]
    return value if isinstance(value, dict) else None


def _items(parent: Any, name: str) -> list[Obj]:
    value = parent.get(name) if isinstance(parent, dict) else None
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _fill(obj: Obj, name: str, value: Any) -> None:
    """Set obj[name] when it is absent, null or the empty string."""
    if obj.get(name) in (None, ""):
        obj[name] = value


# ----------------------------------------------------------------------------------- pods


def image_pull_policy(image: Any) -> str:
    """Always for `:latest` or no tag (and no digest), else IfNotPresent."""
    if not isinstance(image, str) or not image.strip() or image != image.strip():
        return "IfNotPresent"
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if ":" in last else ""
    path = name.split("/", 1)[1] if "/" in name and _is_domain(name.split("/", 1)[0]) else name
    if path.rsplit(":", 1)[0] != path.rsplit(":", 1)[0].lower():
        return "IfNotPresent"  # not a valid reference: ParseImageName fails, no tag
    if not tag and not digest:
        tag = "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _is_domain(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def _default_probe(probe: Obj | None) -> None:
    if probe is None:
        return
    for name, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if probe.get(name) in (None, 0):
            probe[name] = value
    _default_http_get(_dict(probe, "httpGet"))


def _default_http_get(action: Obj | None) -> None:
    if action is not None:
        _fill(action, "path", "/")
        _fill(action, "scheme", "HTTP")


def _default_container(container: Obj) -> None:
    _fill(container, "imagePullPolicy", image_pull_policy(container.get("image")))
    _fill(container, "terminationMessagePath", "/dev/termination-log")
    _fill(container, "terminationMessagePolicy", "File")
    _ensure(container, "resources")
    for port in _items(container, "ports"):
        _fill(port, "protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(_dict(container, probe))
    lifecycle = _dict(container, "lifecycle")
    for hook in ("postStart", "preStop"):
        _default_http_get(_dict(_dict(lifecycle, hook), "httpGet"))
    for env in _items(container, "env"):
        field_ref = _dict(_dict(env, "valueFrom"), "fieldRef")
        if field_ref is not None:
            _fill(field_ref, "apiVersion", "v1")


def _default_volume(volume: Obj) -> None:
    if not any(volume.get(source) is not None for source in VOLUME_SOURCES):
        volume["emptyDir"] = {}
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        spec = _dict(volume, source)
        if spec is not None and spec.get("defaultMode") is None:
            spec["defaultMode"] = 420
    host_path = _dict(volume, "hostPath")
    if host_path is not None and host_path.get("type") is None:
        host_path["type"] = ""
    for projection in _items(_dict(volume, "projected"), "sources"):
        token = _dict(projection, "serviceAccountToken")
        if token is not None and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600


def _default_pod_spec(spec: Obj | None, is_pod: bool) -> None:
    if spec is None:
        return
    _fill(spec, "dnsPolicy", "ClusterFirst")
    _fill(spec, "restartPolicy", "Always")
    _ensure(spec, "securityContext")
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    _fill(spec, "schedulerName", "default-scheduler")
    for volume in _items(spec, "volumes"):
        _default_volume(volume)
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for container in _items(spec, group):
            _default_container(container)
    if not is_pod:
        return
    for group in ("containers", "initContainers"):
        for container in _items(spec, group):
            resources = _dict(container, "resources")
            limits = _dict(resources, "limits")
            if resources is not None and limits is not None:
                requests = _ensure(resources, "requests")
                for name, value in limits.items():
                    if requests is not None and name not in requests:
                        requests[name] = value
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        for group in ("containers", "initContainers"):
            for container in _items(spec, group):
                for port in _items(container, "ports"):
                    if port.get("hostPort") in (None, 0):
                        port["hostPort"] = port.get("containerPort")


def pod_qos_class(spec: Any) -> str:
    """qos.ComputePodQOS over cpu and memory of the regular and init containers."""
    containers = _items(spec, "containers") + _items(spec, "initContainers")
    requested = limited = False
    guaranteed = True
    for container in containers:
        resources = _dict(container, "resources")
        requests = {
            k: v for k, v in (_dict(resources, "requests") or {}).items() if k in ("cpu", "memory")
        }
        limits = {
            k: v for k, v in (_dict(resources, "limits") or {}).items() if k in ("cpu", "memory")
        }
        requests = {k: v for k, v in requests.items() if not quantity.is_zero(v)}
        limits = {k: v for k, v in limits.items() if not quantity.is_zero(v)}
        requested = requested or bool(requests)
        limited = limited or bool(limits)
        if set(limits) != {"cpu", "memory"}:
            guaranteed = False
        for name, value in requests.items():
            if name not in limits or not quantity.equal(value, limits[name]):
                guaranteed = False
    if not requested and not limited:
        return "BestEffort"
    return "Guaranteed" if guaranteed and limited else "Burstable"


def _default_pod(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _default_pod_spec(spec, is_pod=True)
    if not obj.get("status"):
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(spec)}


def _default_template(obj: Obj) -> None:
    _default_pod_spec(_dict(_dict(_dict(obj, "spec"), "template"), "spec"), is_pod=False)


def _default_deployment(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    if spec is not None:
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        strategy = _ensure(spec, "strategy")
        if strategy is not None:
            _fill(strategy, "type", "RollingUpdate")
            if strategy.get("type") == "RollingUpdate":
                rolling = _ensure(strategy, "rollingUpdate")
                if rolling is not None:
                    for name in ("maxUnavailable", "maxSurge"):
                        if rolling.get(name) is None:
                            rolling[name] = "25%"
        if spec.get("revisionHistoryLimit") is None:
            spec["revisionHistoryLimit"] = 10
        if spec.get("progressDeadlineSeconds") is None:
            spec["progressDeadlineSeconds"] = 600
    _default_template(obj)
    if "status" not in obj:
        obj["status"] = {}


def _default_replica_set(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    if spec is not None and spec.get("replicas") is None:
        spec["replicas"] = 1
    _default_template(obj)
    if "status" not in obj:
        obj["status"] = {}


def _default_stateful_set(obj: Obj) -> None:
    default_stateful_set(obj)
    _default_template(obj)


# ------------------------------------------------------------------------------- services


def externally_accessible(spec: Obj) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (
        kind == "ClusterIP" and bool(spec.get("externalIPs"))
    )


def _default_service(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    if spec is not None:
        _default_service_spec(spec)
    status = _ensure(obj, "status")
    if status is not None:
        _ensure(status, "loadBalancer")
    _default_service_status(obj)


def _default_service_spec(spec: Obj) -> None:
    _fill(spec, "sessionAffinity", "None")
    if spec.get("sessionAffinity") == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec.get("sessionAffinity") == "ClientIP":
        client_ip = _dict(_dict(spec, "sessionAffinityConfig"), "clientIP")
        if client_ip is None or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {
                "clientIP": {"timeoutSeconds": DEFAULT_AFFINITY_SECONDS}
            }
    _fill(spec, "type", "ClusterIP")
    for port in _items(spec, "ports"):
        _fill(port, "protocol", "TCP")
        number = port.get("port", 0)
        if port.get("targetPort") in (None, 0, "") and isinstance(number, int):
            port["targetPort"] = number
    if externally_accessible(spec):
        _fill(spec, "externalTrafficPolicy", "Cluster")
    if spec.get("internalTrafficPolicy") is None and spec.get("type") in (
        "NodePort",
        "LoadBalancer",
        "ClusterIP",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec.get("type") == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    cluster_ip = spec.get("clusterIP")
    if isinstance(cluster_ip, str) and cluster_ip and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [cluster_ip]


def _default_service_status(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    if spec is None or spec.get("type") != "LoadBalancer":
        return
    for ingress in _items(_dict(_dict(obj, "status"), "loadBalancer"), "ingress"):
        if ingress.get("ip") and ingress.get("ipMode") is None:
            ingress["ipMode"] = "VIP"


# ---------------------------------------------------------------------------- other kinds


def _default_namespace(obj: Obj) -> None:
    meta = _dict(obj, "metadata")
    name = meta.get("name") if meta is not None else None
    if isinstance(name, str) and name:
        labels = _ensure(meta, "labels")
        if labels is not None:
            labels["kubernetes.io/metadata.name"] = name
    spec = _ensure(obj, "spec")
    deleting = meta is not None and bool(meta.get("deletionTimestamp"))
    if spec is not None and spec.get("finalizers") is None and not deleting:
        spec["finalizers"] = ["kubernetes"]
    status = _ensure(obj, "status")
    if status is not None:
        _fill(status, "phase", "Active")


def _default_node(obj: Obj) -> None:
    status = _dict(obj, "status")
    if status is not None and status.get("allocatable") is None:
        capacity = _dict(status, "capacity")
        if capacity is not None:
            status["allocatable"] = dict(capacity)


def _default_endpoints(obj: Obj) -> None:
    for subset in _items(obj, "subsets"):
        for port in _items(subset, "ports"):
            _fill(port, "protocol", "TCP")


def _default_endpoint_slice(obj: Obj) -> None:
    for port in _items(obj, "ports"):
        if port.get("name") is None:
            port["name"] = ""
        if port.get("protocol") is None:
            port["protocol"] = "TCP"


def _default_secret(obj: Obj) -> None:
    _fill(obj, "type", "Opaque")
    string_data = obj.get("stringData")
    data = _ensure(obj, "data") if isinstance(string_data, dict) else None
    if data is None or not isinstance(string_data, dict):
        return
    for name, value in string_data.items():
        if isinstance(value, str):
            data[name] = base64.b64encode(value.encode()).decode()
    del obj["stringData"]


def _default_ingress(obj: Obj) -> None:
    status = _ensure(obj, "status")
    if status is not None:
        _ensure(status, "loadBalancer")


def _default_ingress_class(obj: Obj) -> None:
    parameters = _dict(_dict(obj, "spec"), "parameters")
    if parameters is not None and parameters.get("scope") is None:
        parameters["scope"] = "Cluster"


def _default_pod_template(obj: Obj) -> None:
    _default_pod_spec(_dict(_dict(obj, "template"), "spec"), is_pod=False)


_DEFAULTERS = {
    "Pod": _default_pod,
    "PodTemplate": _default_pod_template,
    "Deployment": _default_deployment,
    "ReplicaSet": _default_replica_set,
    "StatefulSet": _default_stateful_set,
    "Service": _default_service,
    "Namespace": _default_namespace,
    "Node": _default_node,
    "Endpoints": _default_endpoints,
    "EndpointSlice": _default_endpoint_slice,
    "Secret": _default_secret,
    "Ingress": _default_ingress,
    "IngressClass": _default_ingress_class,
}

__all__ = [
    "apply_defaults",
    "image_pull_policy",
    "pod_qos_class",
    "prepare_service_update",
    "service_ip_families",
]


def apply_defaults(kind: str, obj: dict[str, Any]) -> None:
    """Fill in what kube-apiserver's defaulting fills in for `kind`; other kinds are left."""
    if not isinstance(obj, dict):
        return
    defaulter = _DEFAULTERS.get(kind)
    if defaulter is not None:
        defaulter(obj)
