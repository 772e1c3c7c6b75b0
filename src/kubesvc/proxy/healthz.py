"""kube-proxy's health: `/healthz` and `/livez` on port 10256.

`ProxierHealth` is upstream's ProxyHealthServer state with an injected clock: the proxier calls
`queued_update()` when an event asks for a sync and `updated()` after a successful one. It is
healthy while nothing is queued, or while the oldest queued update is younger than the timeout
(upstream passes 2 × the iptables sync period). `/healthz` also needs the node to be eligible
(not being deleted, not tainted ToBeDeletedByClusterAutoscaler, set with `sync_node`); `/livez`
ignores the node. Both answer 200 or 503 with a JSON body whose times are printed as Go prints a
`time.Time`: `{"lastUpdated": ..., "currentTime": ..., "nodeName": ..., "nodeEligible": ...,
"nodeHealthy": ...}` (upstream prints lastUpdated, currentTime and nodeEligible; lastUpdated is
the current time while healthy, as upstream keeps it for older clients).

`serve_healthz(health, host, port, metrics)` serves both paths on aiohttp and counts the answers
in `kubeproxy_proxy_healthz_total{code}`; `serve_endpoints` starts it and the metrics server for
either proxy mode.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from kubesvc.lib.runner import Clock
from kubesvc.proxy.metrics import ProxyMetrics, serve_metrics

log = logging.getLogger("kubesvc.proxy")

HEALTHZ_PORT = 10256
TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler"


def go_time(when: datetime | None) -> str:
    """A time as Go's `time.Time.String()` prints it (UTC): `2024-01-01 12:00:00.5 +0000 UTC`."""
    if when is None:
        return "0001-01-01 00:00:00 +0000 UTC"
    when = when.astimezone(UTC)
    fraction = f"{when.microsecond:06d}".rstrip("0")
    return when.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + " +0000 UTC"


class ProxierHealth:
    def __init__(self, clock: Clock, timeout: float, node_name: str = "") -> None:
        self.clock = clock
        self.timeout = timeout
        self.node_name = node_name
        self.node_eligible = True
        self.last_updated: datetime | None = None
        self._oldest_queued: float | None = None

    def queued_update(self) -> None:
        if self._oldest_queued is None:
            self._oldest_queued = self.clock.monotonic()

    def updated(self) -> None:
        self._oldest_queued = None
        self.last_updated = self.clock.now()

    def healthy(self) -> bool:
        queued = self._oldest_queued
        return queued is None or self.clock.monotonic() - queued < self.timeout

    def sync_node(self, node: dict[str, Any] | None) -> None:
        """Follow this node's object: a deleted or draining node is not eligible."""
        if node is None or (node.get("metadata") or {}).get("deletionTimestamp"):
            self.node_eligible = False
            return
        taints = (node.get("spec") or {}).get("taints") or []
        self.node_eligible = not any(t.get("key") == TO_BE_DELETED_TAINT for t in taints)

    def answer(self, *, live: bool = False) -> tuple[int, str]:
        """(HTTP status, JSON body) for `/healthz`, or `/livez` with `live`."""
        now = self.clock.now()
        proxier = self.healthy()
        healthy = proxier if live else proxier and self.node_eligible
        last = now if healthy else self.last_updated
        body: dict[str, Any] = {"lastUpdated": go_time(last), "currentTime": go_time(now)}
        if not live:
            body.update(
                nodeName=self.node_name, nodeEligible=self.node_eligible, nodeHealthy=healthy
            )
        return (200 if healthy else 503), json.dumps(body)


async def serve_healthz(
    health: ProxierHealth, host: str, port: int, metrics: ProxyMetrics | None = None
) -> web.AppRunner:
    """Start the health server; the caller cleans the runner up."""

    def handler(live: bool) -> Any:
        async def handle(_: web.Request) -> web.Response:
            status, body = health.answer(live=live)
            if metrics is not None and not live:
                metrics.healthz_total.inc(code=str(status))
            return web.Response(
                status=status,
                text=body,
                content_type="application/json",
                headers={"X-Content-Type-Options": "nosniff"},
            )

        return handle

    app = web.Application()
    app.router.add_get("/healthz", handler(False))
    app.router.add_get("/livez", handler(True))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def serve_endpoints(
    health: ProxierHealth,
    metrics: ProxyMetrics,
    healthz_address: tuple[str, int] | None,
    metrics_address: tuple[str, int] | None,
) -> list[web.AppRunner]:
    """Start /healthz and /metrics where asked; a port that cannot be bound is logged and
    left out, as kube-proxy goes on without it. The caller cleans the runners up."""
    servers = []
    try:
        if healthz_address is not None:
            host, port = healthz_address
            servers.append(await serve_healthz(health, host, port, metrics))
        if metrics_address is not None:
            host, port = metrics_address
            servers.append(await serve_metrics(metrics, host, port))
    except OSError as exc:
        log.error("cannot serve healthz/metrics: %s", exc)
    return servers
