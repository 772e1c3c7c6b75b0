"""ClusterIP and NodePort allocation, planned as store operations.

The allocation table lives in the store next to the Services: one key per allocated address
(`/registry/ipaddresses/10.96.0.10`, an IPAddress-like record naming its Service, as Kubernetes'
MultiCIDRServiceAllocator keeps them) and one per node port (`/registry/servicenodeports/30080`).
A Service write and its allocation keys go into one store transaction: the table is updated
together with the Service, or neither is written (seed 000).

`plan_service` is pure: given the new Service, the stored one (on update) and a hint of what is
in use, it fills in `clusterIP`/`clusterIPs`/`nodePort`s and returns which keys to create and
which to release. Random picks come from the upper ("dynamic") band of each range, as in
KEP-3070 / KEP-3668, so the lower band stays free for addresses users ask for by value. A random
pick that turns out taken (a stale hint) is retried by the caller; a requested value that is taken
or out of range is refused with Kubernetes' message.
"""

from __future__ import annotations

import ipaddress
import json
import random
import uuid
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubesvc.api.errors import FieldError, StatusError, internal_error, invalid, invalid_error

T = TypeVar("T")

IP_PREFIX = "/registry/ipaddresses/"
PORT_PREFIX = "/registry/servicenodeports/"

ALLOCATED = "provided IP is already allocated"
PORT_ALLOCATED = "provided port is already allocated"


def ip_key(ip: str) -> str:
    return f"{IP_PREFIX}{ip}"


def port_key(port: int) -> str:
    return f"{PORT_PREFIX}{port}"


@dataclass(frozen=True, slots=True)
class IPRange:
    network: ipaddress.IPv4Network

    @classmethod
    def parse(cls, cidr: str) -> IPRange:
        return cls(ipaddress.IPv4Network(cidr, strict=True))

    @property
    def first(self) -> int:
        return int(self.network.network_address) + 1

    @property
    def last(self) -> int:
        return int(self.network.broadcast_address) - 1

    @property
    def static_size(self) -> int:
        size = self.last - self.first + 1
        return min(max(16, size // 16), 256, size)

    def contains(self, ip: str) -> bool:
        try:
            value = int(ipaddress.IPv4Address(ip))
        except ValueError:
            return False
        return self.first <= value <= self.last

    def nth(self, offset: int) -> str:
        return str(ipaddress.IPv4Address(self.first + offset))

    def pick(self, used: Container[str], rng: random.Random) -> str | None:
        size = self.last - self.first + 1
        dynamic = (self.static_size, size)
        static = (0, self.static_size)
        for lo, hi in (dynamic, static):
            ip = _probe(lo, hi, rng, lambda off: self.nth(off), used)
            if ip is not None:
                return ip
        return None

    def __str__(self) -> str:
        return str(self.network)


@dataclass(frozen=True, slots=True)
class PortRange:
    base: int
    size: int

    @classmethod
    def parse(cls, text: str) -> PortRange:
        lo, _, hi = text.partition("-")
        low, high = int(lo), int(hi or lo)
        if not 0 < low <= high <= 65535:
            raise ValueError(f"invalid port range {text!r}")
        return cls(low, high - low + 1)

    @property
    def static_size(self) -> int:
        return min(max(16, self.size // 32), 128, self.size)

    def contains(self, port: int) -> bool:
        return self.base <= port < self.base + self.size

    def pick(self, used: Container[int], rng: random.Random) -> int | None:
        for lo, hi in ((self.static_size, self.size), (0, self.static_size)):
            port = _probe(lo, hi, rng, lambda off: self.base + off, used)
            if port is not None:
                return port
        return None

    def __str__(self) -> str:
        return f"{self.base}-{self.base + self.size - 1}"


def _probe(
    lo: int, hi: int, rng: random.Random, at: Callable[[int], T], used: Container[T]
) -> T | None:
    """A random start in [lo, hi), then a linear scan that wraps around (AllocateNext)."""
    if hi <= lo:
        return None
    count = hi - lo
    start = rng.randrange(count)
    for step in range(count):
        value = at(lo + (start + step) % count)
        if value not in used:
            return value
    return None


def ip_record(ip: str, namespace: str, name: str, created: str = "") -> bytes:
    """The IPAddress object of an allocated ClusterIP, as Kubernetes' allocator writes it
    (`kubectl get ipaddresses` reads the table); `created` is its Service's creation time."""
    metadata: dict[str, Any] = {
        "name": ip,
        "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"kubesvc/ipaddresses/{ip}/{created}")),
        "labels": {"ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"},
    }
    if created:
        metadata["creationTimestamp"] = created
    record = {
        "kind": "IPAddress",
        "apiVersion": "networking.k8s.io/v1",
        "metadata": metadata,
        "spec": {
            "parentRef": {"group": "", "resource": "services", "namespace": namespace, "name": name}
        },
    }
    return json.dumps(record, separators=(",", ":")).encode()


def port_record(port: int, namespace: str, name: str) -> bytes:
    record = {"port": port, "service": {"namespace": namespace, "name": name}}
    return json.dumps(record, separators=(",", ":")).encode()


@dataclass(slots=True)
class Plan:
    """Keys the write must create (with their values) and keys it releases."""

    create: dict[str, bytes] = field(default_factory=dict)
    release: list[str] = field(default_factory=list)
    # keys that hold a value the user asked for, mapped to the error to raise if taken
    requested: dict[str, FieldError] = field(default_factory=dict)


def _spec(svc: dict[str, Any]) -> dict[str, Any]:
    spec = svc.get("spec")
    return spec if isinstance(spec, dict) else {}


def service_type(svc: dict[str, Any]) -> str:
    return str(_spec(svc).get("type") or "ClusterIP")


def cluster_ips(svc: dict[str, Any]) -> list[str]:
    spec = _spec(svc)
    ips = spec.get("clusterIPs")
    if isinstance(ips, list) and ips:
        return [str(ip) for ip in ips if ip]
    ip = spec.get("clusterIP")
    return [str(ip)] if ip else []


def holds_ips(svc: dict[str, Any]) -> bool:
    ips = cluster_ips(svc)
    return service_type(svc) != "ExternalName" and bool(ips) and ips[0] != "None"


def node_ports(svc: dict[str, Any]) -> list[int]:
    ports = []
    for port in _spec(svc).get("ports") or []:
        if isinstance(port, dict) and isinstance(port.get("nodePort"), int) and port["nodePort"]:
            ports.append(int(port["nodePort"]))
    hc = _spec(svc).get("healthCheckNodePort")
    if isinstance(hc, int) and hc and needs_health_check(svc):
        ports.append(hc)
    return sorted(set(ports))


def needs_health_check(svc: dict[str, Any]) -> bool:
    spec = _spec(svc)
    return service_type(svc) == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _wants_node_ports(svc: dict[str, Any]) -> bool:
    kind = service_type(svc)
    if kind == "NodePort":
        return True
    if kind == "LoadBalancer":
        return _spec(svc).get("allocateLoadBalancerNodePorts", True) is not False
    return False


class Allocator:
    """Plans allocations for Service writes; keeps a hint of what is in use."""

    def __init__(self, ip_range: IPRange, port_range: PortRange, seed: int | None = None) -> None:
        self.ip_range = ip_range
        self.port_range = port_range
        self.used_ips: set[str] = set()
        self.used_ports: set[int] = set()
        self._rng = random.Random(seed)

    # -------------------------------------------------------------- bookkeeping

    def committed(self, plan: Plan) -> None:
        for key in plan.create:
            self._mark(key, True)
        for key in plan.release:
            self._mark(key, False)

    def reset(self, ip_keys: Iterable[str], port_keys: Iterable[str]) -> None:
        self.used_ips = {k.removeprefix(IP_PREFIX) for k in ip_keys}
        self.used_ports = {int(k.removeprefix(PORT_PREFIX)) for k in port_keys}

    def _mark(self, key: str, used: bool) -> None:
        if key.startswith(IP_PREFIX):
            ip = key.removeprefix(IP_PREFIX)
            (self.used_ips.add if used else self.used_ips.discard)(ip)
        elif key.startswith(PORT_PREFIX):
            port = int(key.removeprefix(PORT_PREFIX))
            (self.used_ports.add if used else self.used_ports.discard)(port)

    # -------------------------------------------------------------- planning

    def plan(self, svc: dict[str, Any], old: dict[str, Any] | None) -> Plan:
        """Fill in allocated values on `svc` (mutated) and say which keys change.

        Raises StatusError (422) for a requested value that is out of range, 500 when a
        range is exhausted.
        """
        plan = Plan()
        namespace = str(svc["metadata"].get("namespace", ""))
        name = str(svc["metadata"].get("name", ""))
        self._plan_ips(svc, old, plan, namespace, name)
        self._plan_ports(svc, old, plan, namespace, name)
        return plan

    def release_all(self, svc: dict[str, Any]) -> Plan:
        plan = Plan()
        if holds_ips(svc):
            plan.release.extend(ip_key(ip) for ip in cluster_ips(svc))
        plan.release.extend(port_key(p) for p in node_ports(svc))
        return plan

    def _plan_ips(
        self, svc: dict[str, Any], old: dict[str, Any] | None, plan: Plan, ns: str, name: str
    ) -> None:
        spec = svc["spec"]
        old_held = old is not None and holds_ips(old)
        if service_type(svc) == "ExternalName":
            if old_held and old is not None:
                plan.release.extend(ip_key(ip) for ip in cluster_ips(old))
            return
        if old_held and old is not None:
            return  # clusterIPs are immutable; validation refused any change
        if old is not None and cluster_ips(old)[:1] == ["None"]:
            return
        requested = cluster_ips(svc)
        if requested[:1] == ["None"]:
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
            return
        if requested:
            ip = requested[0]
            if not self.ip_range.contains(ip):
                detail = (
                    f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid "
                    f"range. The range of valid IPs is {self.ip_range}"
                )
                raise invalid_error(
                    "Service", "", name, [invalid("spec.clusterIPs", requested, detail)]
                )
            plan.requested[ip_key(ip)] = invalid(
                "spec.clusterIPs", requested, f"failed to allocate IP {ip}: {ALLOCATED}"
            )
        else:
            picked = self.ip_range.pick(_Either(self.used_ips, _ips_in(plan)), self._rng)
            if picked is None:
                raise internal_error("failed to allocate a serviceIP: range is full")
            ip = picked
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        created = str(svc["metadata"].get("creationTimestamp") or "")
        plan.create[ip_key(ip)] = ip_record(ip, ns, name, created)

    def _plan_ports(
        self, svc: dict[str, Any], old: dict[str, Any] | None, plan: Plan, ns: str, name: str
    ) -> None:
        spec = svc["spec"]
        ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
        old_ports = set(node_ports(old)) if old is not None else set()
        wants = _wants_node_ports(svc)
        if service_type(svc) not in ("NodePort", "LoadBalancer"):
            # no node ports for these types: validation refuses any that were asked for
            plan.release.extend(port_key(p) for p in sorted(old_ports))
            return
        by_service_port: dict[int, int] = {}
        taken: set[int] = set()
        for index, port in enumerate(ports):
            number = port.get("nodePort") or 0
            if not number and not wants:
                continue
            if not number:
                number = by_service_port.get(int(port.get("port") or 0), 0)
            if not number:
                picked = self.port_range.pick(
                    _Either(self.used_ports, taken | old_ports), self._rng
                )
                if picked is None:
                    raise internal_error("failed to allocate a nodePort: range is full")
                number = picked
            elif number not in old_ports and number not in taken:
                self._request_port(plan, index, int(number), name)
            port["nodePort"] = number
            by_service_port[int(port.get("port") or 0)] = int(number)
            if number not in old_ports:
                taken.add(int(number))
                plan.create[port_key(int(number))] = port_record(int(number), ns, name)
        self._plan_health_check(svc, plan, ns, name, old_ports | taken)
        new_ports = set(node_ports(svc))
        plan.release.extend(port_key(p) for p in sorted(old_ports - new_ports))

    def _request_port(self, plan: Plan, index: int, number: int, name: str) -> None:
        path = f"spec.ports[{index}].nodePort"
        if not self.port_range.contains(number):
            detail = (
                "provided port is not in the valid range. "
                f"The range of valid ports is {self.port_range}"
            )
            raise invalid_error("Service", "", name, [invalid(path, number, detail)])
        plan.requested[port_key(number)] = invalid(path, number, PORT_ALLOCATED)

    def _plan_health_check(
        self, svc: dict[str, Any], plan: Plan, ns: str, name: str, held: set[int]
    ) -> None:
        spec = svc["spec"]
        if not needs_health_check(svc):
            return  # a value here is refused by validation
        number = spec.get("healthCheckNodePort") or 0
        if number in held:
            return
        if not number:
            picked = self.port_range.pick(_Either(self.used_ports, held), self._rng)
            if picked is None:
                raise internal_error("failed to allocate a HealthCheck NodePort: range is full")
            number = picked
        elif not self.port_range.contains(int(number)):
            raise internal_error(
                f"failed to allocate requested HealthCheck NodePort {number}: provided port is "
                f"not in the valid range. The range of valid ports is {self.port_range}"
            )
        else:
            plan.requested[port_key(int(number))] = invalid(
                "spec.healthCheckNodePort", number, PORT_ALLOCATED
            )
        spec["healthCheckNodePort"] = number
        plan.create[port_key(int(number))] = port_record(int(number), ns, name)


class _Either(Container[T]):
    """Membership in either of two sets, without copying the large one for every pick."""

    def __init__(self, big: Container[T], small: Container[T]) -> None:
        self.big, self.small = big, small

    def __contains__(self, value: object) -> bool:
        return value in self.small or value in self.big


def _ips_in(plan: Plan) -> set[str]:
    return {k.removeprefix(IP_PREFIX) for k in plan.create if k.startswith(IP_PREFIX)}


def taken_error(name: str, error: FieldError) -> StatusError:
    return invalid_error("Service", "", name, [error])
