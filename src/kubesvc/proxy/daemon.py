"""`kubesvc proxy`: kube-proxy's iptables mode for one node.

Run inside the node's network namespace (`kubesvc up` starts it with `ip netns exec`). Two
informers (Services, EndpointSlices) feed the desired state; their handlers only mark it dirty.
A sync turns the caches into `ServicePortInfo`/`EndpointInfo`, renders the full rule set and
applies it with one `iptables-restore`, at most once per `min_sync_period`. This build always does
full syncs; partial syncs (KEP-3453) and conntrack clean-up are left for later.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from kubesvc.api.resources import lookup
from kubesvc.client import Client, Informer
from kubesvc.proxy.iptables import apply
from kubesvc.proxy.iptables.render import render
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo, endpoints_from, service_ports_from

log = logging.getLogger("kubesvc.proxy")

SERVICES = lookup("", "services")
SLICES = lookup("discovery.k8s.io", "endpointslices")
Obj = dict[str, Any]


def desired_state(
    services: list[Obj], slices: list[Obj], node: str
) -> tuple[list[ServicePortInfo], dict[str, list[EndpointInfo]]]:
    """What the rules must say, from the informers' caches (pure)."""
    by_service: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    for slice_ in slices:
        meta = slice_.get("metadata") or {}
        name = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if name:
            by_service[(str(meta.get("namespace")), str(name))].append(slice_)
    ports: list[ServicePortInfo] = []
    endpoints: dict[str, list[EndpointInfo]] = {}
    for service in services:
        for port in service_ports_from(service):
            ports.append(port)
            owned = by_service.get((port.namespace, port.name), [])
            endpoints[port.key] = endpoints_from(owned, port, node)
    return ports, endpoints


class IptablesProxier:
    def __init__(
        self,
        client: Client,
        node: str,
        node_ip: str,
        cluster_cidr: str,
        min_sync_period: float = 0.2,
    ) -> None:
        assert SERVICES is not None and SLICES is not None
        self.node, self.node_ip, self.cluster_cidr = node, node_ip, cluster_cidr
        self.min_sync_period = min_sync_period
        self.services = Informer(client, SERVICES)
        self.slices = Informer(client, SLICES)
        self._dirty = asyncio.Event()
        for informer in (self.services, self.slices):
            informer.add_handler(lambda old, new: self._dirty.set())
        self.syncs = 0

    def rules(self) -> str:
        """The full rule set for the caches as they are now (on the event loop's thread)."""
        ports, endpoints = desired_state(
            self.services.cache.items(), self.slices.cache.items(), self.node
        )
        return render(ports, endpoints, node_ip=self.node_ip, cluster_cidr=self.cluster_cidr)

    async def run(self) -> None:
        tasks = [asyncio.create_task(i.run()) for i in (self.services, self.slices)]
        try:
            await self.services.wait_synced()
            await self.slices.wait_synced()
            await asyncio.to_thread(apply.ensure_base)
            self._dirty.set()
            while True:
                await self._dirty.wait()
                self._dirty.clear()
                try:
                    await asyncio.to_thread(apply.restore, self.rules())
                    self.syncs += 1
                except apply.ApplyError as exc:
                    log.error("sync failed: %s", exc)
                    self._dirty.set()
                await asyncio.sleep(self.min_sync_period)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
