"""kube-proxy's /healthz and /metrics: the health rules, the exposition text, and the servers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiohttp
import pytest

from kubesvc.lib.runner import FakeClock
from kubesvc.proxy.healthz import ProxierHealth, go_time, serve_healthz
from kubesvc.proxy.metrics import (
    NETWORK_PROGRAMMING_BUCKETS,
    SYNC_BUCKETS,
    Counter,
    Histogram,
    ProxyMetrics,
    Registry,
    serve_metrics,
)
from tests.conftest import free_port


def test_go_time_prints_like_go() -> None:
    assert go_time(datetime(2024, 1, 1, 12, 0, 0, 500000, tzinfo=UTC)) == (
        "2024-01-01 12:00:00.5 +0000 UTC"
    )
    assert go_time(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01 00:00:00 +0000 UTC"
    assert go_time(None) == "0001-01-01 00:00:00 +0000 UTC"


def test_health_is_lost_only_when_a_queued_update_waits_past_the_timeout() -> None:
    clock = FakeClock()
    health = ProxierHealth(clock, 60.0, "node-1")
    assert health.answer()[0] == 200  # starting up
    health.queued_update()
    clock.advance(59)
    health.queued_update()  # the oldest one counts
    assert health.healthy()
    clock.advance(2)
    status, body = health.answer()
    assert status == 503
    assert json.loads(body) == {
        "lastUpdated": "0001-01-01 00:00:00 +0000 UTC",
        "currentTime": go_time(clock.now()),
        "nodeName": "node-1",
        "nodeEligible": True,
        "nodeHealthy": False,
    }
    health.updated()
    status, body = health.answer()
    assert status == 200 and json.loads(body)["lastUpdated"] == go_time(clock.now())


def test_a_node_being_deleted_or_drained_fails_healthz_but_not_livez() -> None:
    health = ProxierHealth(FakeClock(), 60.0, "node-1")
    health.sync_node({"metadata": {"name": "node-1"}, "spec": {"taints": [
        {"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule"}]}})  # fmt: skip
    assert health.answer()[0] == 503 and health.answer(live=True)[0] == 200
    health.sync_node({"metadata": {"name": "node-1"}, "spec": {}})
    assert health.answer()[0] == 200
    health.sync_node({"metadata": {"name": "node-1", "deletionTimestamp": "2024-01-01T00:00:00Z"}})
    assert health.answer()[0] == 503


def test_exposition_format() -> None:
    registry = Registry()
    plain = registry.add(Counter("demo_total", "Things"))
    labelled = registry.add(Counter("demo_codes_total", "Codes", ("code",)))
    hist = registry.add(Histogram("demo_seconds", "Time", (0.1, 1.0), ("ip_family",)))
    plain.inc()
    labelled.inc(code="200")
    hist.observe(0.05, ip_family="IPv4")
    hist.observe(0.5, ip_family="IPv4")
    assert registry.expose() == (
        "# HELP demo_codes_total [ALPHA] Codes\n"
        "# TYPE demo_codes_total counter\n"
        'demo_codes_total{code="200"} 1\n'
        "# HELP demo_seconds [ALPHA] Time\n"
        "# TYPE demo_seconds histogram\n"
        'demo_seconds_bucket{ip_family="IPv4",le="0.1"} 1\n'
        'demo_seconds_bucket{ip_family="IPv4",le="1"} 2\n'
        'demo_seconds_bucket{ip_family="IPv4",le="+Inf"} 2\n'
        'demo_seconds_sum{ip_family="IPv4"} 0.55\n'
        'demo_seconds_count{ip_family="IPv4"} 2\n'
        "# HELP demo_total [ALPHA] Things\n"
        "# TYPE demo_total counter\n"
        "demo_total 1\n"
    )
    with pytest.raises(ValueError, match="takes labels"):
        labelled.inc()


def test_kube_proxy_metric_names_and_buckets() -> None:
    metrics = ProxyMetrics("iptables")
    names = set(metrics.registry.metrics)
    for name in (
        "kubeproxy_sync_proxy_rules_duration_seconds",
        "kubeproxy_sync_full_proxy_rules_duration_seconds",
        "kubeproxy_sync_partial_proxy_rules_duration_seconds",
        "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
        "kubeproxy_network_programming_duration_seconds",
        "kubeproxy_sync_proxy_rules_iptables_total",
        "kubeproxy_sync_proxy_rules_iptables_restore_failures_total",
        "kubeproxy_sync_proxy_rules_endpoint_changes_total",
        "kubeproxy_sync_proxy_rules_service_changes_total",
        "kubeproxy_sync_proxy_rules_no_local_endpoints_total",
    ):
        assert name in names
    assert (
        "kubeproxy_sync_full_proxy_rules_duration_seconds"
        not in ProxyMetrics("userspace").registry.metrics
    )
    assert SYNC_BUCKETS[0] == 0.001 and SYNC_BUCKETS[-1] == pytest.approx(16.384)
    assert NETWORK_PROGRAMMING_BUCKETS[:4] == (0.0, 0.25, 0.5, 1.0)
    assert NETWORK_PROGRAMMING_BUCKETS[-1] == 300.0 and len(NETWORK_PROGRAMMING_BUCKETS) == 81
    metrics.observe_sync(0.003, full=True)
    text = metrics.registry.expose()
    assert (
        'kubeproxy_sync_full_proxy_rules_duration_seconds_bucket{ip_family="IPv4",le="0.004"} 1'
        in text
    )
    assert "kubeproxy_sync_proxy_rules_endpoint_changes_total 0" in text


async def test_the_servers_answer_over_http() -> None:
    clock = FakeClock()
    metrics = ProxyMetrics("iptables")
    health = ProxierHealth(clock, 60.0, "node-1")
    hport, mport = free_port(), free_port()
    servers = [
        await serve_healthz(health, "127.0.0.1", hport, metrics),
        await serve_metrics(metrics, "127.0.0.1", mport),
    ]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{hport}/healthz") as reply:
                assert reply.status == 200 and reply.content_type == "application/json"
                assert (await reply.json())["nodeName"] == "node-1"
            async with session.get(f"http://127.0.0.1:{mport}/metrics") as reply:
                text = await reply.text()
                assert reply.status == 200 and reply.content_type == "text/plain"
            assert 'kubeproxy_proxy_healthz_total{code="200"} 1' in text
            async with session.get(f"http://127.0.0.1:{mport}/proxyMode") as reply:
                assert await reply.text() == "iptables"
    finally:
        for server in servers:
            await server.cleanup()
