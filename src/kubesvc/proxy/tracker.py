"""kube-proxy's change trackers: Service and EndpointSlice events turned into pending changes.

Pure. Informer handlers call `ServiceChangeTracker.update(old, new)` and
`EndpointsChangeTracker.update(old, new)`; each converts the objects at the edge into what the
rules need (a Service's `ServicePortInfo`s; a Service's endpoints per `(port name, protocol)`)
and records, per Service (`namespace/name`), the value before the first pending change and the
latest one. When a later event brings a Service back to where it was at the last sync, the change
is dropped, so an update that changes nothing the rules use (a label, a resourceVersion, a
status condition kube-proxy ignores) asks for no sync and rewrites no chain.

The endpoints tracker keeps its own copy of each Service's slices (kube-proxy's
EndpointSliceCache), so it can compute a Service's endpoints before and after one slice changes.
It also keeps the `endpoints.kubernetes.io/last-change-trigger-time` annotations of the slices
that changed after it started, for the network programming latency metric.

`ProxyState` is what the last sync programmed. `update(services, endpoints)` checks out both
trackers, applies the changes and says which Services changed (the chains a partial sync
rewrites) and whether stale UDP conntrack entries may need deleting (some changed Service had or
has a UDP port).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from kubesvc.proxy.model import (
    SERVICE_NAME_LABEL,
    EndpointInfo,
    PortKey,
    ServicePortInfo,
    endpoints_by_port,
    service_ports_from,
)

TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"

Obj = dict[str, Any]
V = TypeVar("V")
ServicePorts = tuple[ServicePortInfo, ...]
PortEndpoints = tuple[tuple[PortKey, tuple[EndpointInfo, ...]], ...]


@dataclass(frozen=True, slots=True)
class Change(Generic[V]):
    """A Service's value at the last checkout and now."""

    previous: V
    current: V


class ChangeTracker(Generic[V]):
    """Pending changes per key; a change that ends where it started is dropped."""

    def __init__(self) -> None:
        self._pending: dict[str, Change[V]] = {}

    def record(self, key: str, previous: V, current: V) -> bool:
        """Note that `key` went from `previous` to `current`; True if a change is now pending."""
        earlier = self._pending.get(key)
        first = earlier.previous if earlier is not None else previous
        if first == current:
            self._pending.pop(key, None)
            return False
        self._pending[key] = Change(first, current)
        return True

    def checkout(self) -> dict[str, Change[V]]:
        pending, self._pending = self._pending, {}
        return pending

    def __len__(self) -> int:
        return len(self._pending)


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"


def _ports(service: Obj | None) -> ServicePorts:
    return tuple(service_ports_from(service)) if service is not None else ()


class ServiceChangeTracker:
    """Services by `namespace/name`, as the tuple of their ports."""

    def __init__(self) -> None:
        self.changes: ChangeTracker[ServicePorts] = ChangeTracker()
        self.seen = 0  # events that left a change pending (the service_changes_total metric)

    def update(self, old: Obj | None, new: Obj | None) -> bool:
        obj = new if new is not None else old
        if obj is None:
            return False
        pending = self.changes.record(_key(obj), _ports(old), _ports(new))
        self.seen += pending
        return pending


def _service_of(slice_: Obj | None) -> str | None:
    if slice_ is None:
        return None
    meta = slice_.get("metadata") or {}
    name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return f"{meta.get('namespace') or 'default'}/{name}" if name else None


def _trigger_time(slice_: Obj) -> datetime | None:
    value = ((slice_.get("metadata") or {}).get("annotations") or {}).get(TRIGGER_TIME_ANNOTATION)
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class EndpointsChangeTracker:
    """Each Service's endpoints per port, from its own copy of the Service's slices."""

    def __init__(self, node: str, started: datetime) -> None:
        self.node = node
        self.started = started
        self.changes: ChangeTracker[PortEndpoints] = ChangeTracker()
        self.seen = 0
        self._slices: dict[str, dict[str, Obj]] = {}
        self._trigger_times: dict[str, list[datetime]] = {}

    def endpoints(self, service: str) -> PortEndpoints:
        slices = list(self._slices.get(service, {}).values())
        return tuple(endpoints_by_port(slices, self.node).items())

    def update(self, old: Obj | None, new: Obj | None) -> bool:
        """Record a slice event; True if some Service's endpoints now differ from the last sync."""
        pending = False
        before, after = _service_of(old), _service_of(new)
        if before is not None and old is not None and before != after:
            pending |= self._apply(before, _key(old), None)  # the slice left that Service
        if after is not None and new is not None:
            pending |= self._apply(after, _key(new), new)
        return pending

    def _apply(self, service: str, name: str, slice_: Obj | None) -> bool:
        previous = self.endpoints(service)
        slices = self._slices.setdefault(service, {})
        if slice_ is None:
            slices.pop(name, None)
        else:
            slices[name] = slice_
        if not slices:
            del self._slices[service]
        pending = self.changes.record(service, previous, self.endpoints(service))
        if not pending:
            self._trigger_times.pop(service, None)
            return False
        self.seen += 1
        when = _trigger_time(slice_) if slice_ is not None else None
        if when is not None and when > self.started:
            self._trigger_times.setdefault(service, []).append(when)
        return True

    def checkout(self) -> tuple[dict[str, Change[PortEndpoints]], list[datetime]]:
        times = [t for service in sorted(self._trigger_times) for t in self._trigger_times[service]]
        self._trigger_times = {}
        return self.changes.checkout(), times


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateResult:
    """What one sync's checkout changed."""

    updated: frozenset[str]  # Services (`namespace/name`) whose ports or endpoints changed
    conntrack_cleanup: bool  # a changed Service had or has a UDP port
    trigger_times: tuple[datetime, ...] = ()


def _has_udp(value: PortEndpoints) -> bool:
    return any(protocol == "UDP" for (_, protocol), _ in value)


@dataclass(slots=True)
class ProxyState:
    """The Services and endpoints the last sync programmed.

    The sorted port list and the endpoints by port key (what `render` takes) are kept between
    syncs and redone only for the Services that changed: at 10,000 Services, rebuilding them
    for every sync cost more than rendering the change.
    """

    services: dict[str, ServicePorts] = field(default_factory=dict)
    endpoints: dict[str, PortEndpoints] = field(default_factory=dict)
    _ports: list[ServicePortInfo] | None = None
    _by_key: dict[str, tuple[EndpointInfo, ...]] = field(default_factory=dict)
    _keys_of: dict[str, list[str]] = field(default_factory=dict)  # Service → its port keys

    def update(
        self, services: ServiceChangeTracker, endpoints: EndpointsChangeTracker
    ) -> UpdateResult:
        service_changes = services.changes.checkout()
        endpoint_changes, times = endpoints.checkout()
        for key, svc_change in service_changes.items():
            if svc_change.current:
                self.services[key] = svc_change.current
            else:
                self.services.pop(key, None)
        cleanup = False
        for key, ep_change in endpoint_changes.items():
            if ep_change.current:
                self.endpoints[key] = ep_change.current
            else:
                self.endpoints.pop(key, None)
            cleanup = cleanup or _has_udp(ep_change.previous) or _has_udp(ep_change.current)
        if service_changes:
            self._ports = None
        updated = frozenset(service_changes) | frozenset(endpoint_changes)
        for key in updated:
            for port_key in self._keys_of.pop(key, ()):
                self._by_key.pop(port_key, None)
            ports = self.services.get(key, ())
            self._keys_of[key] = [port.key for port in ports]
            for port in ports:
                self._by_key[port.key] = self.endpoints_of(port)
        return UpdateResult(
            updated=updated,
            conntrack_cleanup=cleanup,
            trigger_times=tuple(times),
        )

    def ports(self) -> list[ServicePortInfo]:
        if self._ports is None:
            self._ports = [port for key in sorted(self.services) for port in self.services[key]]
        return self._ports

    def endpoints_of(self, port: ServicePortInfo) -> tuple[EndpointInfo, ...]:
        by_port = dict(self.endpoints.get(f"{port.namespace}/{port.name}", ()))
        return by_port.get((port.port_name, port.protocol), ())

    def endpoints_by_port_key(self) -> Mapping[str, tuple[EndpointInfo, ...]]:
        """Endpoints keyed by `ServicePortInfo.key`, the form `render` takes (read-only)."""
        return self._by_key
