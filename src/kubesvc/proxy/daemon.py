"""What every proxy mode's daemon shares: the desired state from the caches, and where it serves.

`desired_state(services, slices, node)` is the pure cut of the informers' caches into Service
ports and their endpoints, which `kubesvc rules` and the userspace mode use.
`endpoints_of(node_ip, healthz, metrics)` reads `--healthz-bind-address` and
`--metrics-bind-address`: by default kube-proxy's ports (10256, 10249) on the node's IP, inside
the node's network namespace, so the host reaches them at 172.18.0.x. `run_daemon` is the life of
every mode's daemon (`iptables.proxier.IptablesProxier`, `userspace.proxier.UserspaceProxier`):
informers, wait for the caches, serve, run the sync loop, tear down. Proxy modes never import
each other, only this module.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from aiohttp import web

from kubesvc.client import Informer
from kubesvc.proxy.healthz import HEALTHZ_PORT, ProxierHealth, serve_endpoints
from kubesvc.proxy.metrics import METRICS_PORT, ProxyMetrics
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo, endpoints_from, service_ports_from

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


def bind_address(value: str | None, node_ip: str, port: int) -> tuple[str, int] | None:
    """A `--healthz-bind-address`/`--metrics-bind-address` value: None means the node's IP at
    kube-proxy's port, "" turns the endpoint off, `HOST:PORT` or `HOST` (kube-proxy's port)."""
    if value is None:
        return node_ip, port
    if not value:
        return None
    host, sep, number = value.rpartition(":")
    if not sep:
        return value, port
    if not number.isdigit() or not 0 <= int(number) <= 65535:
        raise ValueError(f"invalid bind address {value!r}: want HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(number)


def endpoints_of(
    node_ip: str, healthz: str | None, metrics: str | None
) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """Where `kubesvc proxy` serves healthz (10256) and metrics (10249)."""
    return bind_address(healthz, node_ip, HEALTHZ_PORT), bind_address(
        metrics, node_ip, METRICS_PORT
    )


Address = tuple[str, int] | None


async def run_daemon(
    informers: Sequence[Informer],
    synced: Sequence[Informer],
    health: ProxierHealth,
    metrics: ProxyMetrics,
    addresses: tuple[Address, Address],
    sync_loop: Callable[[], Coroutine[Any, Any, None]],
    beside: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
) -> None:
    """Run the informers; once `synced` have synced, serve `/healthz` and `/metrics` at
    `addresses`, count as healthy while the first sync runs (as upstream's SyncLoop), and run
    `sync_loop` with the `beside` loops next to it; stop everything when it ends or is
    cancelled."""
    tasks = [asyncio.create_task(informer.run()) for informer in informers]
    servers: list[web.AppRunner] = []
    try:
        for informer in synced:
            await informer.wait_synced()
        servers = await serve_endpoints(health, metrics, *addresses)
        health.updated()
        tasks += [asyncio.create_task(loop()) for loop in beside]
        await sync_loop()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in servers:
            with contextlib.suppress(Exception):
                await server.cleanup()
