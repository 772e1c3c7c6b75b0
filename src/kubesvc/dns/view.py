"""What cluster DNS knows of the cluster: a read-only view with named indexes.

Pure. Kubernetes JSON objects are cut down at the edge (`service_from`, `slice_from`,
`pod_from`) into small frozen records holding only what DNS answers need, the way CoreDNS's
`object` package converts its informers' objects. `View` keeps them by key and maintains the
indexes the answers read:

- services by `(namespace, name)` and by ClusterIP (reverse lookups),
- EndpointSlices by the Service they belong to (label `kubernetes.io/service-name`) and by
  endpoint IP (reverse lookups, the NS record's own address),
- pods by IP (`pods verified`), and the set of namespaces.

The informers' handlers call `on_service(old, new)` and friends; an update whose cut-down record
is unchanged (a status write, a resourceVersion bump) changes nothing. Every real change bumps
`generation`, which the answer cache compares to drop stale answers, and sets `modified` (seconds,
from the injected clock) that the SOA serial reports, as CoreDNS does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True, slots=True, kw_only=True)
class Port:
    """A Service port or an EndpointSlice port: name (may be empty), protocol, number."""

    name: str
    protocol: str
    port: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    namespace: str
    name: str
    kind: str  # "ClusterIP" (any type with a VIP), "Headless" or "ExternalName"
    cluster_ips: tuple[str, ...] = ()
    external_name: str = ""
    ports: tuple[Port, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One ready address of an EndpointSlice (CoreDNS keeps only ready ones)."""

    ip: str
    hostname: str = ""  # the endpoint's `hostname` field (StatefulSet pods), may be empty

    @property
    def name(self) -> str:
        """The endpoint's DNS label: its hostname, else its IP with dashes (CoreDNS)."""
        if self.hostname:
            return self.hostname.lower()
        return self.ip.replace(".", "-").replace(":", "-")


@dataclass(frozen=True, slots=True, kw_only=True)
class Slice:
    namespace: str
    name: str
    service: str
    ports: tuple[Port, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Pod:
    namespace: str
    name: str
    ips: tuple[str, ...] = ()


def _ip(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _meta(obj: Obj) -> Obj:
    return _dict(obj.get("metadata"))


def _ports(raw: Any) -> tuple[Port, ...]:
    ports: list[Port] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            number = int(item.get("port") or 0)
        except (TypeError, ValueError):
            continue
        ports.append(
            Port(
                name=str(item.get("name") or "").lower(),
                protocol=str(item.get("protocol") or "TCP").lower(),
                port=number,
            )
        )
    return tuple(ports)


def service_from(obj: Obj) -> Service | None:
    """A Service as DNS sees it; None without a name."""
    meta = _meta(obj)
    name, namespace = meta.get("name"), meta.get("namespace") or "default"
    if not name:
        return None
    spec = _dict(obj.get("spec"))
    namespace, name = str(namespace).lower(), str(name).lower()
    if spec.get("type") == "ExternalName":
        target = str(spec.get("externalName") or "").rstrip(".").lower()
        return Service(namespace=namespace, name=name, kind="ExternalName", external_name=target)
    ports = _ports(spec.get("ports"))
    raw_ips = list(spec.get("clusterIPs") or []) or [spec.get("clusterIP") or ""]
    if raw_ips[0] == "None":
        return Service(namespace=namespace, name=name, kind="Headless", ports=ports)
    ips = tuple(ip for ip in (_ip(value) for value in raw_ips) if ip)
    return Service(namespace=namespace, name=name, kind="ClusterIP", cluster_ips=ips, ports=ports)


def slice_from(obj: Obj) -> Slice | None:
    """An EndpointSlice's ready IP endpoints; None for FQDN slices or without a Service label."""
    meta = _meta(obj)
    service = _dict(meta.get("labels")).get(SERVICE_NAME_LABEL)
    if not service or not meta.get("name") or obj.get("addressType") not in ("IPv4", "IPv6"):
        return None
    endpoints: list[Endpoint] = []
    raw = obj.get("endpoints")
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        if _dict(item.get("conditions")).get("ready") is False:  # unset means ready
            continue
        hostname = str(item.get("hostname") or "")
        addresses = item.get("addresses")
        for address in addresses if isinstance(addresses, list) else []:
            ip = _ip(address)
            if ip:
                endpoints.append(Endpoint(ip=ip, hostname=hostname))
    return Slice(
        namespace=str(meta.get("namespace") or "default").lower(),
        name=str(meta["name"]),
        service=str(service).lower(),
        ports=_ports(obj.get("ports")),
        endpoints=tuple(endpoints),
    )


def pod_from(obj: Obj) -> Pod | None:
    """A pod's IPs (none while it is being deleted or has finished)."""
    meta = _meta(obj)
    if not meta.get("name"):
        return None
    status = _dict(obj.get("status"))
    ips: list[str] = []
    if not meta.get("deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        listed = status.get("podIPs")
        listed = listed if isinstance(listed, list) else []
        raw = [p.get("ip") for p in listed if isinstance(p, dict)]
        for value in raw or [status.get("podIP")]:
            ip = _ip(value) if value else None
            if ip and ip not in ips:
                ips.append(ip)
    return Pod(
        namespace=str(meta.get("namespace") or "default").lower(),
        name=str(meta["name"]),
        ips=tuple(ips),
    )


Key = tuple[str, str]


def _index_add(index: dict[str, set[Key]], values: Iterable[str], key: Key) -> None:
    for value in values:
        index.setdefault(value, set()).add(key)


def _index_remove(index: dict[str, set[Key]], values: Iterable[str], key: Key) -> None:
    for value in values:
        bucket = index.get(value)
        if bucket is not None:
            bucket.discard(key)
            if not bucket:
                del index[value]


class View:
    """The records DNS answers from; mutated only through the `on_*` event methods."""

    def __init__(self, clock: Callable[[], float] = lambda: 0.0) -> None:
        self._clock = clock
        self.generation = 0
        self.modified = int(clock())
        self._services: dict[Key, Service] = {}
        self._slices: dict[Key, Slice] = {}
        self._pods: dict[Key, Pod] = {}
        self._namespaces: set[str] = set()
        self._service_by_ip: dict[str, set[Key]] = {}
        self._slices_by_service: dict[Key, set[Key]] = {}
        self._slice_by_ip: dict[str, set[Key]] = {}
        self._pod_by_ip: dict[str, set[Key]] = {}

    def _changed(self) -> None:
        self.generation += 1
        self.modified = int(self._clock())

    # -- events -------------------------------------------------------------------------------

    def on_service(self, old: Obj | None, new: Obj | None) -> None:
        record = service_from(new) if new is not None else None
        previous = service_from(old) if old is not None else None
        if previous is not None and (record is None or _key(previous) != _key(record)):
            self._remove_service(_key(previous))
        if record is not None and self._services.get(_key(record)) != record:
            self._remove_service(_key(record))
            self._services[_key(record)] = record
            _index_add(self._service_by_ip, record.cluster_ips, _key(record))
            self._changed()

    def _remove_service(self, key: Key) -> None:
        gone = self._services.pop(key, None)
        if gone is not None:
            _index_remove(self._service_by_ip, gone.cluster_ips, key)
            self._changed()

    def on_slice(self, old: Obj | None, new: Obj | None) -> None:
        record = slice_from(new) if new is not None else None
        previous = slice_from(old) if old is not None else None
        if previous is not None and (record is None or _key(previous) != _key(record)):
            self._remove_slice(_key(previous))
        if record is None and new is not None:  # e.g. its Service label was removed
            meta = _meta(new)
            namespace = str(meta.get("namespace") or "default").lower()
            self._remove_slice((namespace, str(meta.get("name"))))
        if record is not None and self._slices.get(_key(record)) != record:
            self._remove_slice(_key(record))
            key = _key(record)
            self._slices[key] = record
            self._slices_by_service.setdefault((record.namespace, record.service), set()).add(key)
            _index_add(self._slice_by_ip, (e.ip for e in record.endpoints), key)
            self._changed()

    def _remove_slice(self, key: Key) -> None:
        gone = self._slices.pop(key, None)
        if gone is None:
            return
        owner = (gone.namespace, gone.service)
        members = self._slices_by_service.get(owner)
        if members is not None:
            members.discard(key)
            if not members:
                del self._slices_by_service[owner]
        _index_remove(self._slice_by_ip, (e.ip for e in gone.endpoints), key)
        self._changed()

    def on_pod(self, old: Obj | None, new: Obj | None) -> None:
        record = pod_from(new) if new is not None else None
        previous = pod_from(old) if old is not None else None
        if previous is not None and (record is None or _key(previous) != _key(record)):
            self._remove_pod(_key(previous))
        if record is not None and self._pods.get(_key(record)) != record:
            self._remove_pod(_key(record))
            self._pods[_key(record)] = record
            _index_add(self._pod_by_ip, record.ips, _key(record))
            self._changed()

    def _remove_pod(self, key: Key) -> None:
        gone = self._pods.pop(key, None)
        if gone is not None:
            _index_remove(self._pod_by_ip, gone.ips, key)
            self._changed()

    def on_namespace(self, old: Obj | None, new: Obj | None) -> None:
        name = str(_meta(new or old or {}).get("name") or "").lower()
        if not name:
            return
        if new is None and name in self._namespaces:
            self._namespaces.discard(name)
            self._changed()
        elif new is not None and name not in self._namespaces:
            self._namespaces.add(name)
            self._changed()

    # -- reads (names are lower case) ---------------------------------------------------------

    def namespace_exists(self, namespace: str) -> bool:
        if namespace in self._namespaces:
            return True
        return any(key[0] == namespace for key in self._services)

    def service(self, namespace: str, name: str) -> Service | None:
        return self._services.get((namespace, name))

    def slices_of(self, namespace: str, name: str) -> list[Slice]:
        """The Service's EndpointSlices, by slice name (stable answer order)."""
        keys = sorted(self._slices_by_service.get((namespace, name), ()))
        return [self._slices[k] for k in keys]

    def services_by_ip(self, ip: str) -> list[Service]:
        return [self._services[k] for k in sorted(self._service_by_ip.get(ip, ()))]

    def slices_by_ip(self, ip: str) -> list[Slice]:
        return [self._slices[k] for k in sorted(self._slice_by_ip.get(ip, ()))]

    def pods_by_ip(self, ip: str) -> list[Pod]:
        return [self._pods[k] for k in sorted(self._pod_by_ip.get(ip, ()))]


def _key(record: Service | Slice | Pod) -> Key:
    return (record.namespace, record.name)
