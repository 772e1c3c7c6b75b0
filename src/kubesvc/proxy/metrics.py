"""kube-proxy's metrics, in Prometheus text format, and the server that exposes them.

A `Registry` holds counters, gauges and histograms, each with fixed label names; `expose()`
writes the Prometheus text exposition format (0.0.4): `# HELP` (with Kubernetes' `[ALPHA]`
stability prefix), `# TYPE`, one sample per label set; histograms as cumulative `_bucket{le=..}`
samples plus `_sum` and `_count`. A metric without labels always shows (0 until used); one with
labels shows only the label sets that were used, as client_golang does.

`ProxyMetrics(mode)` registers upstream's set for a proxy mode (pkg/proxy/metrics), with the
same names, help texts, label names and histogram buckets: sync durations (all, full, partial),
last sync and last queued timestamps, network programming latency, Service and endpoint change
counters and pending gauges, iptables rule counts per table, restore failures, Services with a
Local policy and no local endpoint, and the healthz answer counter. The userspace mode uses the
same class with `mode="userspace"` (without the iptables-only metrics).

`serve_metrics(metrics, host, port)` serves `/metrics`, `/healthz` ("ok") and `/proxyMode` on
aiohttp, as kube-proxy's metrics server (default port 10249) does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

from aiohttp import web

METRICS_PORT = 10249
SYNC_BUCKETS = tuple(0.001 * 2**i for i in range(15))  # ExponentialBuckets(0.001, 2, 15)
NETWORK_PROGRAMMING_BUCKETS = (
    0.0,
    0.25,
    0.5,
    *(float(s) for s in range(1, 60)),
    *(float(s) for s in range(60, 120, 5)),
    *(float(s) for s in range(120, 330, 30)),
)
LabelSet = tuple[str, ...]


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{v}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


class Metric:
    kind = ""

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.label_names = name, help, tuple(labels)

    def _key(self, labels: dict[str, str]) -> LabelSet:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {sorted(labels)}")
        return tuple(labels[n] for n in self.label_names)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} [ALPHA] {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(Metric):
    kind = "counter"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help, labels)
        self.values: dict[LabelSet, float] = {} if labels else {(): 0.0}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self.values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        return [
            f"{self.name}{_labels(self.label_names, key)} {_number(value)}"
            for key, value in sorted(self.values.items())
        ]


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        self.values[self._key(labels)] = value


class Histogram(Metric):
    kind = "histogram"

    def __init__(
        self, name: str, help: str, buckets: Sequence[float], labels: Sequence[str] = ()
    ) -> None:
        super().__init__(name, help, labels)
        self.buckets = tuple(buckets)
        self.series: dict[LabelSet, tuple[list[int], list[float]]] = {}
        if not labels:
            self.series[()] = ([0] * len(self.buckets), [0.0, 0.0])

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        counts, totals = self.series.setdefault(key, ([0] * len(self.buckets), [0.0, 0.0]))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
        totals[0] += value
        totals[1] += 1

    def count(self, **labels: str) -> int:
        series = self.series.get(self._key(labels))
        return int(series[1][1]) if series else 0

    def samples(self) -> list[str]:
        out = []
        for key, (counts, (total, count)) in sorted(self.series.items()):
            for bound, n in zip(self.buckets, counts, strict=True):
                le = f'le="{_number(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {n}")
            inf = _labels(self.label_names, key, 'le="+Inf"')
            out.append(f"{self.name}_bucket{inf} {_number(count)}")
            out.append(f"{self.name}_sum{_labels(self.label_names, key)} {_number(total)}")
            out.append(f"{self.name}_count{_labels(self.label_names, key)} {_number(count)}")
        return out


M = TypeVar("M", bound=Metric)


class Registry:
    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}

    def add(self, metric: M) -> M:
        self.metrics[metric.name] = metric
        return metric

    def expose(self) -> str:
        lines: list[str] = []
        for name in sorted(self.metrics):
            metric = self.metrics[name]
            samples = metric.samples()
            if samples:
                lines += [*metric.header(), *samples]
        return "\n".join(lines) + "\n"


class ProxyMetrics:
    """kube-proxy's metric set for one proxy mode, IPv4."""

    def __init__(self, mode: str = "iptables", ip_family: str = "IPv4") -> None:
        self.mode, self.family = mode, ip_family
        r = self.registry = Registry()
        fam = ("ip_family",)
        sub = "kubeproxy_"
        self.sync_duration = r.add(
            Histogram(
                sub + "sync_proxy_rules_duration_seconds",
                "SyncProxyRules latency in seconds",
                SYNC_BUCKETS,
                fam,
            )
        )
        self.last_timestamp = r.add(
            Gauge(
                sub + "sync_proxy_rules_last_timestamp_seconds",
                "The last time proxy rules were successfully synced",
                fam,
            )
        )
        self.last_queued_timestamp = r.add(
            Gauge(
                sub + "sync_proxy_rules_last_queued_timestamp_seconds",
                "The last time a sync of proxy rules was queued",
                fam,
            )
        )
        self.network_programming = r.add(
            Histogram(
                sub + "network_programming_duration_seconds",
                "In Cluster Network Programming Latency in seconds",
                NETWORK_PROGRAMMING_BUCKETS,
                fam,
            )
        )
        self.endpoint_changes_pending = r.add(
            Gauge(
                sub + "sync_proxy_rules_endpoint_changes_pending",
                "Pending proxy rules Endpoint changes",
            )
        )
        self.endpoint_changes_total = r.add(
            Counter(
                sub + "sync_proxy_rules_endpoint_changes_total",
                "Cumulative proxy rules Endpoint changes",
            )
        )
        self.service_changes_pending = r.add(
            Gauge(
                sub + "sync_proxy_rules_service_changes_pending",
                "Pending proxy rules Service changes",
            )
        )
        self.service_changes_total = r.add(
            Counter(
                sub + "sync_proxy_rules_service_changes_total",
                "Cumulative proxy rules Service changes",
            )
        )
        self.no_local_endpoints = r.add(
            Gauge(
                sub + "sync_proxy_rules_no_local_endpoints_total",
                "Number of services with a Local traffic policy and no endpoints",
                ("ip_family", "traffic_policy"),
            )
        )
        self.healthz_total = r.add(
            Counter(sub + "proxy_healthz_total", "Cumulative proxy healthz HTTP status", ("code",))
        )
        if mode == "iptables":
            self._add_iptables(r, sub, fam)

    def _add_iptables(self, r: Registry, sub: str, fam: tuple[str, ...]) -> None:
        self.full_sync_duration = r.add(
            Histogram(
                sub + "sync_full_proxy_rules_duration_seconds",
                "SyncProxyRules latency in seconds for full resyncs",
                SYNC_BUCKETS,
                fam,
            )
        )
        self.partial_sync_duration = r.add(
            Histogram(
                sub + "sync_partial_proxy_rules_duration_seconds",
                "SyncProxyRules latency in seconds for partial resyncs",
                SYNC_BUCKETS,
                fam,
            )
        )
        self.restore_failures = r.add(
            Counter(
                sub + "sync_proxy_rules_iptables_restore_failures_total",
                "Cumulative proxy iptables restore failures",
                fam,
            )
        )
        self.partial_restore_failures = r.add(
            Counter(
                sub + "sync_proxy_rules_iptables_partial_restore_failures_total",
                "Cumulative proxy iptables partial restore failures",
                fam,
            )
        )
        self.iptables_total = r.add(
            Gauge(
                sub + "sync_proxy_rules_iptables_total",
                "Total number of iptables rules owned by kube-proxy",
                ("ip_family", "table"),
            )
        )
        self.iptables_last = r.add(
            Gauge(
                sub + "sync_proxy_rules_iptables_last",
                "Number of iptables rules written by kube-proxy in last sync",
                ("ip_family", "table"),
            )
        )

    def observe_sync(self, seconds: float, *, full: bool | None = None) -> None:
        """One sync's duration; `full` also files it as a full or partial iptables sync."""
        self.sync_duration.observe(seconds, ip_family=self.family)
        if full is not None and self.mode == "iptables":
            which = self.full_sync_duration if full else self.partial_sync_duration
            which.observe(seconds, ip_family=self.family)


async def serve_metrics(metrics: ProxyMetrics, host: str, port: int) -> web.AppRunner:
    """Start kube-proxy's metrics server; the caller cleans the runner up."""

    async def exposition(_: web.Request) -> web.Response:
        return web.Response(
            text=metrics.registry.expose(),
            content_type="text/plain",
            headers={"X-Content-Type-Options": "nosniff"},
            charset="utf-8",
        )

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def proxy_mode(_: web.Request) -> web.Response:
        return web.Response(text=metrics.mode)

    app = web.Application()
    app.router.add_get("/metrics", exposition)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/proxyMode", proxy_mode)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
