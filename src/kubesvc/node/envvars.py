"""A container's environment, built as the kubelet builds it.

`service_env` is the kubelet's getServiceEnvVarMap + envvars.FromServices: the Services of the
pod's namespace (when enableServiceLinks) and the master Service `default/kubernetes` (always),
skipping those without a cluster IP (headless, ExternalName). A Service of the pod's namespace
wins over the master Service of the same name, as in the kubelet. Each Service gives
`NAME_SERVICE_HOST`, `NAME_SERVICE_PORT` (first port), `NAME_SERVICE_PORT_<PORTNAME>` per named
port, then the Docker-link variables (`NAME_PORT`, `NAME_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]`).
The kubelet keeps these in a map, so its order is random; here Services come sorted by name and
each one's variables in FromServices order, so the result is stable.

`container_env` is the kubelet's makeEnvironmentVariables: envFrom first (later sources win,
invalid names skipped), then `env` in order, each value `$(VAR)`-expanded against the variables
defined so far and the service variables, or resolved from its `valueFrom` source (downward API
fieldRef/resourceFieldRef, ConfigMap and Secret keys through lookup callbacks). The result lists
the service variables not overridden by the container, then the container's own. A missing
required reference raises `EnvError` with the kubelet's message (the pod then shows
CreateContainerConfigError).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from kubesvc.api.gofmt import go_quote
from kubesvc.api.validation import quantity
from kubesvc.node.expand import expand_with

MASTER_NAMESPACE = "default"
MASTER_SERVICES = frozenset({"kubernetes"})
_ENV_VAR_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")

Lookup = Callable[[str], dict[str, Any] | None]


class EnvError(Exception):
    """A container's environment cannot be built (the kubelet's CreateContainerConfigError)."""


def _var_name(name: str) -> str:
    return name.replace("-", "_").upper()


def _has_cluster_ip(service: dict[str, Any]) -> bool:
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return False
    cluster_ip = spec.get("clusterIP") or ""
    return cluster_ip not in ("", "None")


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _service_vars(service: dict[str, Any]) -> list[tuple[str, str]]:
    """envvars.FromServices for one Service that has a cluster IP."""
    spec = service.get("spec") or {}
    prefix = _var_name(service["metadata"]["name"])
    ip: str = spec["clusterIP"]
    ports: list[dict[str, Any]] = spec.get("ports") or []
    if not ports:
        return []
    result = [
        (f"{prefix}_SERVICE_HOST", ip),
        (f"{prefix}_SERVICE_PORT", str(ports[0]["port"])),
    ]
    for port in ports:
        if port.get("name"):
            result.append((f"{prefix}_SERVICE_PORT_{_var_name(port['name'])}", str(port["port"])))
    for index, port in enumerate(ports):
        protocol = port.get("protocol") or "TCP"
        url = f"{protocol.lower()}://{_join_host_port(ip, port['port'])}"
        if index == 0:
            result.append((f"{prefix}_PORT", url))
        port_prefix = f"{prefix}_PORT_{port['port']}_{protocol.upper()}"
        result += [
            (port_prefix, url),
            (f"{port_prefix}_PROTO", protocol.lower()),
            (f"{port_prefix}_PORT", str(port["port"])),
            (f"{port_prefix}_ADDR", ip),
        ]
    return result


def service_env(
    services: list[dict[str, Any]], namespace: str, enable_service_links: bool = True
) -> list[tuple[str, str]]:
    """The Service environment variables a pod in `namespace` gets, from all Services."""
    chosen: dict[str, dict[str, Any]] = {}
    for service in services:
        if not _has_cluster_ip(service):
            continue
        meta = service.get("metadata") or {}
        name, svc_namespace = meta.get("name", ""), meta.get("namespace", "")
        if svc_namespace == MASTER_NAMESPACE and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif svc_namespace == namespace and enable_service_links:
            chosen[name] = service
    result: list[tuple[str, str]] = []
    for name in sorted(chosen):
        result += _service_vars(chosen[name])
    return result


def _go_format_map(values: Mapping[str, str]) -> str:
    """fieldpath.FormatMap: sorted `key="value"` lines."""
    return "\n".join(f"{key}={go_quote(values[key])}" for key in sorted(values))


_SUBSCRIPT = re.compile(r"(metadata\.(?:labels|annotations))\['(.*)'\]")


def field_ref_value(
    field_path: str,
    pod: dict[str, Any],
    *,
    pod_ips: Sequence[str],
    host_ips: Sequence[str],
    api_version: str = "v1",
) -> str:
    """The downward API value of a pod field, as podFieldSelectorRuntimeValue returns it."""
    if api_version not in ("", "v1"):
        raise EnvError(f"unsupported pod version: {api_version}")
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    subscript = _SUBSCRIPT.fullmatch(field_path)
    if subscript:
        table = meta.get(subscript.group(1).split(".")[1]) or {}
        return str(table.get(subscript.group(2), ""))
    simple: dict[str, Callable[[], str]] = {
        "metadata.name": lambda: str(meta.get("name", "")),
        "metadata.namespace": lambda: str(meta.get("namespace", "")),
        "metadata.uid": lambda: str(meta.get("uid", "")),
        "metadata.labels": lambda: _go_format_map(meta.get("labels") or {}),
        "metadata.annotations": lambda: _go_format_map(meta.get("annotations") or {}),
        "spec.nodeName": lambda: str(spec.get("nodeName", "")),
        "spec.serviceAccountName": lambda: str(spec.get("serviceAccountName", "")),
        "status.hostIP": lambda: host_ips[0] if host_ips else "",
        "status.hostIPs": lambda: ",".join(host_ips),
        "status.podIP": lambda: pod_ips[0] if pod_ips else "",
        "status.podIPs": lambda: ",".join(pod_ips),
    }
    if field_path not in simple:
        raise EnvError(f"field label not supported: {field_path}")
    return simple[field_path]()


def _quantity(value: Any, what: str) -> Decimal:
    parsed = quantity.parse(value)
    if parsed is None:
        raise EnvError(f"invalid quantity {value!r} for {what}")
    return parsed


def resource_field_value(
    ref: dict[str, Any],
    pod: dict[str, Any],
    container: dict[str, Any],
    allocatable: Mapping[str, str] | None = None,
) -> str:
    """containerResourceRuntimeValue: a request or limit, divided by the divisor, rounded up.

    Unset limits default to the node's allocatable amount (as the kubelet does); unset
    requests read as 0.
    """
    target = container
    if ref.get("containerName"):
        named = [
            c
            for c in (pod.get("spec") or {}).get("containers") or []
            if c.get("name") == ref["containerName"]
        ]
        if not named:
            raise EnvError(f"container {ref['containerName']} not found")
        target = named[0]
    resource = str(ref.get("resource", ""))
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise EnvError(f"unsupported container resource : {resource}")
    amounts = (target.get("resources") or {}).get(kind) or {}
    raw = amounts.get(name)
    if raw is None and kind == "limits":
        raw = (allocatable or {}).get(name)
    amount = _quantity(raw, resource) if raw is not None else Decimal(0)
    divisor = _quantity(ref.get("divisor") or "1", "divisor")
    if divisor <= 0:
        raise EnvError(f"invalid divisor {ref.get('divisor')!r}")
    if name == "cpu":
        millis, divisor_millis = math.ceil(amount * 1000), math.ceil(divisor * 1000)
        return str(math.ceil(Decimal(millis) / Decimal(divisor_millis)))
    return str(math.ceil(Decimal(math.ceil(amount)) / Decimal(math.ceil(divisor))))


class _Sources:
    """ConfigMaps and Secrets fetched once per container, as the kubelet caches them."""

    def __init__(
        self, namespace: str, lookup_configmap: Lookup | None, lookup_secret: Lookup | None
    ) -> None:
        self.namespace = namespace
        self._lookups = {"configmap": lookup_configmap, "secret": lookup_secret}
        self._cache: dict[tuple[str, str], dict[str, str] | None] = {}

    def data(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        """The object's data (Secret values decoded), None when missing and optional."""
        key = (kind, name)
        if key not in self._cache:
            lookup = self._lookups[kind]
            if lookup is None:
                label = "configMap" if kind == "configmap" else kind
                raise EnvError(
                    f"couldn't get {label} {self.namespace}/{name}, no kubeClient defined"
                )
            obj = lookup(name)
            self._cache[key] = None if obj is None else _object_data(kind, obj)
        found = self._cache[key]
        if found is None and not optional:
            raise EnvError(f'{kind} "{name}" not found')
        return found


def _object_data(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    data: dict[str, Any] = obj.get("data") or {}
    if kind == "configmap":
        return {str(k): str(v) for k, v in data.items()}
    decoded: dict[str, str] = {}
    for key, value in data.items():
        try:
            decoded[str(key)] = base64.b64decode(str(value), validate=True).decode(
                "utf-8", "replace"
            )
        except (binascii.Error, ValueError):
            decoded[str(key)] = str(value)
    return decoded


def _env_from(container: dict[str, Any], sources: _Sources, env: dict[str, str]) -> None:
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for field, kind in (("configMapRef", "configmap"), ("secretRef", "secret")):
            ref = source.get(field)
            if ref is None:
                continue
            data = sources.data(kind, ref.get("name", ""), bool(ref.get("optional")))
            for key in sorted(data or {}):
                name = prefix + key
                if _ENV_VAR_NAME.fullmatch(name):
                    env[name] = (data or {})[key]
            break


def _key_ref(
    ref: dict[str, Any], kind: str, label: str, sources: _Sources
) -> tuple[str | None, bool]:
    """(value, found) for a configMapKeyRef/secretKeyRef; (None, False) means skip the var."""
    name, key, optional = ref.get("name", ""), ref.get("key", ""), bool(ref.get("optional"))
    data = sources.data(kind, name, optional)
    if data is None:
        return None, False
    if key not in data:
        if optional:
            return None, False
        raise EnvError(f"couldn't find key {key} in {label} {sources.namespace}/{name}")
    return data[key], True


def container_env(
    pod: dict[str, Any],
    container: dict[str, Any],
    service_env: list[tuple[str, str]],
    *,
    lookup_configmap: Lookup | None = None,
    lookup_secret: Lookup | None = None,
    pod_ips: Sequence[str] | None = None,
    host_ips: Sequence[str] | None = None,
    allocatable: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The full environment of `container`: service variables, then the container's own.

    `pod_ips`/`host_ips` default to the pod's status; lookups return the ConfigMap or Secret
    object of the pod's namespace by name, or None when it does not exist.
    """
    status = pod.get("status") or {}
    if pod_ips is None:
        pod_ips = [p["ip"] for p in status.get("podIPs") or [] if p.get("ip")] or (
            [status["podIP"]] if status.get("podIP") else []
        )
    if host_ips is None:
        host_ips = [p["ip"] for p in status.get("hostIPs") or [] if p.get("ip")] or (
            [status["hostIP"]] if status.get("hostIP") else []
        )
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    sources = _Sources(namespace, lookup_configmap, lookup_secret)
    services = dict(service_env)
    env: dict[str, str] = {}
    _env_from(container, sources, env)

    def lookup(name: str) -> str | None:
        return env[name] if name in env else services.get(name)

    for var in container.get("env") or []:
        name = var["name"]
        value: str | None = var.get("value") or ""
        source = var.get("valueFrom")
        if value:
            value = expand_with(value, lookup)
        elif source:
            value = _value_from(source, pod, container, sources, pod_ips, host_ips, allocatable)
            if value is None:
                continue
        env[name] = value or ""
    kept = [(name, value) for name, value in service_env if name not in env]
    return kept + list(env.items())


def _value_from(
    source: dict[str, Any],
    pod: dict[str, Any],
    container: dict[str, Any],
    sources: _Sources,
    pod_ips: Sequence[str],
    host_ips: Sequence[str],
    allocatable: Mapping[str, str] | None,
) -> str | None:
    if "fieldRef" in source:
        ref = source["fieldRef"]
        return field_ref_value(
            ref.get("fieldPath", ""),
            pod,
            pod_ips=pod_ips,
            host_ips=host_ips,
            api_version=ref.get("apiVersion", "v1"),
        )
    if "resourceFieldRef" in source:
        return resource_field_value(source["resourceFieldRef"], pod, container, allocatable)
    if "configMapKeyRef" in source:
        value, found = _key_ref(source["configMapKeyRef"], "configmap", "ConfigMap", sources)
        return value if found else None
    if "secretKeyRef" in source:
        value, found = _key_ref(source["secretKeyRef"], "secret", "Secret", sources)
        return value if found else None
    return ""
