"""Repair of the ClusterIP and NodePort tables, as kube-apiserver's repair controllers do.

Level-driven and idempotent: each pass rebuilds what the table should hold from the Services
and compares it with what it holds.
- A Service whose address or port is missing from the table gets it back (a `…NotAllocated`
  warning Event on the Service).
- Two Services claiming one address or port, or a value outside the range, get a warning Event
  (`ClusterIPAlreadyAllocated`, `ClusterIPOutOfRange`, `PortAlreadyAllocated`, `PortOutOfRange`);
  nothing is changed for them, the user must recreate one.
- A table entry no Service claims is a suspected leak: it is freed only after it was seen
  unclaimed in `LEAK_PASSES` consecutive passes, so a write racing the pass is never freed.

`diff` is pure (Services and table keys in, actions out); `Repair.run_once` does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.meta import now_rfc3339
from kubesvc.api.resources import lookup
from kubesvc.apiserver import allocation
from kubesvc.apiserver.allocation import IP_PREFIX, PORT_PREFIX, Allocator
from kubesvc.apiserver.registry import Registry
from kubesvc.store import KeyExists, KeyNotFound, RevisionMismatch

log = logging.getLogger("kubesvc.repair")

LEAK_PASSES = 3
SERVICES = lookup("", "services")
EVENTS = lookup("", "events")


@dataclass(frozen=True, slots=True)
class RepairWarning:
    service: dict[str, Any]
    reason: str
    message: str


@dataclass(slots=True)
class Actions:
    restore: dict[str, bytes] = field(default_factory=dict)  # key → record to write back
    leaked: list[str] = field(default_factory=list)  # keys no Service claims
    warnings: list[RepairWarning] = field(default_factory=list)


def _ref(svc: dict[str, Any]) -> tuple[str, str]:
    meta = svc.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def diff(allocator: Allocator, services: list[dict[str, Any]], keys: set[str]) -> Actions:
    """What the table needs, from the Services and the table's keys."""
    actions = Actions()
    claimed: dict[str, dict[str, Any]] = {}
    for svc in sorted(
        services, key=lambda s: str((s.get("metadata") or {}).get("creationTimestamp"))
    ):
        ns, name = _ref(svc)
        if allocation.holds_ips(svc):
            for ip in allocation.cluster_ips(svc):
                _claim_ip(allocator, svc, ip, keys, claimed, actions)
        for port in allocation.node_ports(svc):
            key = allocation.port_key(port)
            if not allocator.port_range.contains(port):
                actions.warnings.append(
                    RepairWarning(
                        svc,
                        "PortOutOfRange",
                        (
                            f"Port {port} is not within the port range {allocator.port_range}; "
                            "please recreate service"
                        ),
                    )
                )
                continue
            if key in claimed:
                actions.warnings.append(
                    RepairWarning(
                        svc,
                        "PortAlreadyAllocated",
                        (f"Port {port} was assigned to multiple services; please recreate service"),
                    )
                )
                continue
            claimed[key] = svc
            if key not in keys:
                actions.restore[key] = allocation.port_record(port, ns, name)
                actions.warnings.append(
                    RepairWarning(
                        svc, "PortNotAllocated", (f"Port {port} is not allocated; repairing")
                    )
                )
    actions.leaked = sorted(keys - set(claimed))
    return actions


def _claim_ip(
    allocator: Allocator,
    svc: dict[str, Any],
    ip: str,
    keys: set[str],
    claimed: dict[str, dict[str, Any]],
    actions: Actions,
) -> None:
    ns, name = _ref(svc)
    key = allocation.ip_key(ip)
    if not allocator.ip_range.contains(ip):
        actions.warnings.append(
            RepairWarning(
                svc,
                "ClusterIPOutOfRange",
                (
                    f"Cluster IP [IPv4]: {ip} is not within the configured Service CIDR "
                    f"{allocator.ip_range}; please recreate service"
                ),
            )
        )
        return
    if key in claimed:
        actions.warnings.append(
            RepairWarning(
                svc,
                "ClusterIPAlreadyAllocated",
                (
                    f"Cluster IP [IPv4]:{ip} was assigned to multiple services; please recreate "
                    "service"
                ),
            )
        )
        return
    claimed[key] = svc
    if key not in keys:
        created = str((svc.get("metadata") or {}).get("creationTimestamp") or "")
        actions.restore[key] = allocation.ip_record(ip, ns, name, created)
        actions.warnings.append(
            RepairWarning(
                svc,
                "ClusterIPNotAllocated",
                (f"Cluster IP [IPv4]:{ip} is not allocated; repairing"),
            )
        )


class Repair:
    def __init__(self, registry: Registry, interval: float = 180.0) -> None:
        self.registry = registry
        self.interval = interval
        self.suspects: dict[str, int] = {}  # key → consecutive passes seen unclaimed
        self.freed: list[str] = []

    async def run_once(self) -> Actions:
        store, allocator = self.registry.store, self.registry.allocator
        ip_keys = {kv.key for kv in (await store.list(IP_PREFIX)).items}
        port_keys = {kv.key for kv in (await store.list(PORT_PREFIX)).items}
        assert SERVICES is not None
        services, _, _ = await self.registry.list(SERVICES, None)
        actions = diff(allocator, services, ip_keys | port_keys)
        for key, record in actions.restore.items():
            with contextlib.suppress(KeyExists):
                await store.create(key, record)
        leaked = set(actions.leaked)
        self.suspects = {k: self.suspects.get(k, 0) + 1 for k in leaked}
        for key, passes in list(self.suspects.items()):
            if passes >= LEAK_PASSES:
                await self._free(key)
                del self.suspects[key]
        for warning in actions.warnings:
            await self._record(warning)
        ip_keys = {kv.key for kv in (await store.list(IP_PREFIX)).items}
        port_keys = {kv.key for kv in (await store.list(PORT_PREFIX)).items}
        allocator.reset(ip_keys, port_keys)
        return actions

    async def _free(self, key: str) -> None:
        kv = await self.registry.store.get(key)
        if kv is None:
            return
        try:
            await self.registry.store.delete(key, expected_revision=kv.mod_revision)
        except (KeyNotFound, RevisionMismatch):
            return
        self.freed.append(key)
        log.warning("repair freed leaked allocation %s: %s", key, kv.value.decode(errors="replace"))

    async def _record(self, warning: RepairWarning) -> None:
        ns, name = _ref(warning.service)
        log.warning("repair: %s %s/%s: %s", warning.reason, ns, name, warning.message)
        meta = warning.service.get("metadata") or {}
        now = now_rfc3339(datetime.now(UTC))
        event = {
            "metadata": {"name": f"{name}.{time.time_ns():x}", "namespace": ns},
            "involvedObject": {
                "kind": "Service",
                "apiVersion": "v1",
                "namespace": ns,
                "name": name,
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": warning.reason,
            "message": warning.message,
            "type": "Warning",
            "source": {"component": "ipallocator-repair-controller"},
            "reportingComponent": "ipallocator-repair-controller",
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        assert EVENTS is not None
        try:
            await self.registry.create(EVENTS, ns, event)
        except StatusError as exc:
            log.warning("repair could not record an event: %s", exc)

    def log_pass(self, actions: Actions) -> None:
        log.info(
            "repair pass restored=%d suspected_leaks=%d warnings=%d freed=%d",
            len(actions.restore),
            len(actions.leaked),
            len(actions.warnings),
            len(self.freed),
        )

    async def run(self) -> None:
        """Pass after pass, every `interval` seconds (the first pass is the caller's)."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                actions = await self.run_once()
            except Exception:
                log.exception("repair pass failed")
                continue
            if actions.leaked or actions.warnings or actions.restore:
                self.log_pass(actions)
