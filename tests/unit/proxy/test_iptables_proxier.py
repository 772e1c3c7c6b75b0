"""The iptables sync against an in-memory kernel: full, partial, failures, canaries, conntrack."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from proxy_churn import churn
from proxy_scenarios import (
    CLUSTER_CIDR,
    HTTP,
    HTTP_EP,
    NODE,
    NODE_IP,
    THREE,
    build,
    endpoint_slice,
    service,
)

from kubesvc.lib.runner import FakeClock
from kubesvc.proxy.conntrack import FakeConntrack
from kubesvc.proxy.flows import Flow
from kubesvc.proxy.healthz import ProxierHealth
from kubesvc.proxy.iptables import names
from kubesvc.proxy.iptables.apply import FakeIptables
from kubesvc.proxy.iptables.jumps import CANARY
from kubesvc.proxy.iptables.proxier import FULL_SYNC_PERIOD, IptablesSyncer, SyncError
from kubesvc.proxy.iptables.render import render
from kubesvc.proxy.iptables.restores import ORDER_FREE
from kubesvc.proxy.metrics import ProxyMetrics
from kubesvc.proxy.tracker import TRIGGER_TIME_ANNOTATION

DNS = [{"name": "dns", "protocol": "UDP", "port": 53}]
WEB_SVC = names.service_chain("default/web:http", "tcp")
API_SVC = names.service_chain("default/api:http", "tcp")


class Node:
    """One syncer on a fake kernel, with the informers' events played by hand."""

    def __init__(self, flows: list[Flow] | None = None) -> None:
        self.clock = FakeClock()
        self.kernel = FakeIptables()
        self.conntrack = FakeConntrack(flows or [])
        self.metrics = ProxyMetrics("iptables")
        self.health = ProxierHealth(self.clock, 60.0, NODE)
        self.syncer = IptablesSyncer(
            node=NODE,
            node_ip=NODE_IP,
            cluster_cidr=CLUSTER_CIDR,
            iptables=self.kernel,
            conntrack=self.conntrack,
            clock=self.clock,
            metrics=self.metrics,
            health=self.health,
        )
        self.objects: dict[str, dict[str, Any]] = {}

    def put(self, obj: dict[str, Any]) -> bool:
        key = f"{obj['kind']}/{obj['metadata']['name']}"
        old, self.objects[key] = self.objects.get(key), obj
        on = self.syncer.on_service if obj["kind"] == "Service" else self.syncer.on_slice
        return on(old, obj)

    def delete(self, kind: str, name: str) -> bool:
        old = self.objects.pop(f"{kind}/{name}")
        on = self.syncer.on_service if kind == "Service" else self.syncer.on_slice
        return on(old, None)

    def service_chains(self) -> dict[str, list[str]]:
        nat = self.kernel.tables["nat"]
        return {c: r for c, r in nat.items() if names.is_service_chain(c)}

    def fresh(self) -> FakeIptables:
        """A kernel that got one full sync of the same objects."""
        fresh = FakeIptables()
        fresh.ensure_base()
        objs = list(self.objects.values())
        fresh.restore(
            build(
                [o for o in objs if o["kind"] == "Service"],
                [o for o in objs if o["kind"] != "Service"],
            )
        )
        return fresh

    def expected_chains(self) -> dict[str, list[str]]:
        """What a fresh full sync of the same objects leaves in an empty kernel."""
        return {c: r for c, r in self.fresh().tables["nat"].items() if names.is_service_chain(c)}


def web() -> dict[str, Any]:
    return service("web", "10.96.0.10", HTTP)


def api() -> dict[str, Any]:
    return service("api", "10.96.0.11", [{**HTTP[0], "nodePort": 30080}], type="NodePort")


def slice_(
    svc: str, eps: list[tuple[str, str]], ports: list[dict[str, Any]] = HTTP_EP
) -> dict[str, Any]:
    return endpoint_slice(svc, ports, eps)


async def test_first_sync_is_full_later_ones_rewrite_only_changed_services() -> None:
    node = Node()
    for obj in (web(), api(), slice_("web", THREE), slice_("api", THREE[:2])):
        assert node.put(obj) is True
    await node.syncer.sync()
    assert node.kernel.base_ensured == 1 and node.syncer.full_syncs == 1
    assert node.service_chains() == node.expected_chains()
    assert node.kernel.tables["nat"]["PREROUTING"][0].endswith("-j KUBE-SERVICES")
    node.put(slice_("web", THREE[:2]))  # one web endpoint goes
    await node.syncer.sync()
    partial = node.kernel.restores[-1]
    assert f":{WEB_SVC} - [0:0]" in partial and f":{API_SVC} - [0:0]" not in partial
    assert node.kernel.base_ensured == 1 and node.syncer.full_syncs == 1
    sep = names.endpoint_chain("default/web:http", "tcp", "10.244.3.5:8080")
    assert f"-X {sep}" in partial and sep not in node.kernel.tables["nat"]
    assert node.service_chains() == node.expected_chains()
    assert node.metrics.partial_sync_duration.count(ip_family="IPv4") == 1
    assert node.metrics.full_sync_duration.count(ip_family="IPv4") == 1


async def test_a_deleted_service_loses_its_chains_and_a_noop_event_asks_for_nothing() -> None:
    node = Node()
    for obj in (web(), api(), slice_("web", THREE), slice_("api", THREE[:2])):
        node.put(obj)
    await node.syncer.sync()
    relabelled = copy.deepcopy(node.objects["Service/api"])
    relabelled["metadata"]["labels"] = {"tier": "x"}
    assert node.put(relabelled) is False
    node.delete("Service", "api")
    await node.syncer.sync()
    assert API_SVC not in node.kernel.tables["nat"]
    assert not any("default/api" in r for rules in node.service_chains().values() for r in rules)
    assert node.service_chains() == node.expected_chains()


async def test_a_failed_restore_is_counted_and_the_next_sync_is_full() -> None:
    node = Node()
    node.put(web())
    node.put(slice_("web", THREE))
    await node.syncer.sync()
    node.put(slice_("web", THREE[:1]))
    node.kernel.fail_next = 1
    with pytest.raises(SyncError, match="partial sync failed"):
        await node.syncer.sync()
    assert node.metrics.restore_failures.value(ip_family="IPv4") == 1
    assert node.metrics.partial_restore_failures.value(ip_family="IPv4") == 1
    assert node.syncer.need_full
    await node.syncer.sync()
    assert node.syncer.full_syncs == 2 and node.service_chains() == node.expected_chains()


async def test_a_full_sync_comes_back_once_the_full_sync_period_has_passed() -> None:
    node = Node()
    node.put(web())
    await node.syncer.sync()
    await node.syncer.sync()
    assert node.syncer.full_syncs == 1
    node.clock.advance(FULL_SYNC_PERIOD + 1)
    await node.syncer.sync()
    assert node.syncer.full_syncs == 2


async def test_vanished_canaries_force_a_full_sync_that_puts_everything_back() -> None:
    node = Node()
    node.put(web())
    node.put(slice_("web", THREE))
    assert await node.syncer.check_canaries() is False  # made now
    assert all(node.kernel.chain_exists(t, CANARY) for t in ("mangle", "nat", "filter"))
    await node.syncer.sync()
    assert await node.syncer.check_canaries() is False
    node.kernel.flush_all()  # `iptables -F; iptables -X` by someone else
    assert await node.syncer.check_canaries() is True
    assert node.kernel.chain_exists("nat", CANARY)
    await node.syncer.sync()  # no event since: the canary alone makes it full
    assert node.syncer.full_syncs == 2
    assert node.kernel.tables["nat"]["PREROUTING"][0].endswith("-j KUBE-SERVICES")
    assert node.service_chains() == node.expected_chains()


def udp(src: str, dst: str, dport: int, reply_src: str) -> Flow:
    return Flow(
        protocol="udp",
        orig_src=src,
        orig_dst=dst,
        orig_sport=40000,
        orig_dport=dport,
        reply_src=reply_src,
        reply_dst=src,
        reply_sport=53,
        reply_dport=40000,
    )


async def test_udp_flows_to_a_removed_endpoint_are_deleted_after_the_sync() -> None:
    stale = udp("10.244.1.9", "10.96.0.53", 53, "10.244.2.5")
    good = udp("10.244.1.8", "10.96.0.53", 53, "10.244.1.5")
    node = Node([stale, good])
    node.put(service("dns", "10.96.0.53", DNS))
    node.put(slice_("dns", THREE[:2], DNS))
    await node.syncer.sync()
    assert node.conntrack.flows == [stale, good]  # both endpoints serve: nothing stale
    node.put(slice_("dns", THREE[:1], DNS))  # 10.244.2.5 goes away
    await node.syncer.sync()
    assert node.conntrack.flows == [good]
    assert [f.argv() for f in node.conntrack.deleted] == [
        ["-D", "-p", "udp", "--orig-dst", "10.96.0.53", "--orig-port-dst", "53",
         "--reply-src", "10.244.2.5"]
    ]  # fmt: skip


async def test_tcp_changes_leave_conntrack_alone() -> None:
    node = Node([udp("10.244.1.9", "10.96.0.10", 80, "10.244.9.9")])
    node.put(web())
    node.put(slice_("web", THREE))
    await node.syncer.sync()
    assert node.conntrack.deleted == []


async def test_metrics_and_health_follow_the_syncs() -> None:
    node = Node()
    assert node.health.healthy()
    node.put(web())
    node.put(api())
    late = slice_("web", THREE)
    when = node.clock.now() + timedelta(seconds=1)
    late["metadata"]["annotations"] = {TRIGGER_TIME_ANNOTATION: when.isoformat()}
    node.put(late)
    node.clock.advance(61)  # nothing synced for longer than the health timeout
    assert not node.health.healthy() and node.health.answer()[0] == 503
    await node.syncer.sync()
    assert node.health.healthy() and node.health.answer()[0] == 200
    m = node.metrics
    assert m.service_changes_total.value() == 2 and m.endpoint_changes_total.value() == 1
    assert m.network_programming.count(ip_family="IPv4") == 1
    nat = node.kernel.restores[-1].split("*nat")[1]
    assert m.iptables_total.value(ip_family="IPv4", table="nat") == nat.count("\n-A ")
    # api has no endpoints: its REJECT rules are in filter
    assert m.iptables_total.value(ip_family="IPv4", table="filter") == 6
    text = m.registry.expose()
    assert 'kubeproxy_sync_proxy_rules_iptables_total{ip_family="IPv4",table="nat"}' in text
    assert "kubeproxy_sync_full_proxy_rules_duration_seconds_count" in text


def _meaning(tables: dict[str, dict[str, list[str]]]) -> dict[tuple[str, str], list[str]]:
    """Each chain's rules; sorted where the order means nothing (see restores.ORDER_FREE)."""
    return {
        (table, chain): sorted(rules) if (table, chain) in ORDER_FREE else rules
        for table, chains in tables.items()
        for chain, rules in chains.items()
    }


@pytest.mark.parametrize("seed", range(6))
async def test_partial_syncs_leave_the_kernel_as_a_full_sync_would(seed: int) -> None:
    """Sixty random changes, a sync after each: the kernel always means what one full sync of
    the same objects means, KUBE-NODEPORTS stays the last jump, and most syncs are partial."""
    node = Node()
    for step, (kind, name, obj) in enumerate(churn(seed, 60)):
        if obj is None:
            node.delete(kind, name)
        else:
            node.put(obj)
        await node.syncer.sync()
        assert _meaning(node.kernel.tables) == _meaning(node.fresh().tables), f"step {step}"
        assert node.kernel.tables["nat"]["KUBE-SERVICES"][-1].endswith("-j KUBE-NODEPORTS")
    assert node.syncer.full_syncs == 1 and node.kernel.saves == 1
    assert any("\n-I KUBE-SERVICES 1 " in text for text in node.kernel.restores)
    assert any("\n-D KUBE-SERVICES " in text for text in node.kernel.restores)


async def test_an_endpoint_change_leaves_the_top_level_chains_alone() -> None:
    node = Node()
    for obj in (web(), api(), slice_("web", THREE), slice_("api", THREE[:2])):
        node.put(obj)
    await node.syncer.sync()
    node.put(slice_("web", THREE[:2]))
    await node.syncer.sync()
    partial = node.kernel.restores[-1]
    assert "KUBE-SERVICES" not in partial and "*filter" not in partial
    assert partial.startswith("*nat\n") and f":{WEB_SVC} - [0:0]" in partial
    m = node.metrics
    assert m.iptables_last.value(ip_family="IPv4", table="nat") == partial.count("\n-A ")
    assert m.iptables_last.value(ip_family="IPv4", table="filter") == 0


async def test_a_partial_sync_with_nothing_to_write_runs_no_restore() -> None:
    node = Node()
    node.put(web())
    node.put(slice_("web", THREE))
    await node.syncer.sync()
    node.put(service("web", "10.96.0.10", HTTP, sessionAffinity="None"))  # same rules
    await node.syncer.sync()
    assert len(node.kernel.restores) == 1 and node.syncer.syncs == 2


def test_the_fake_kernel_refuses_what_iptables_restore_refuses() -> None:
    kernel = FakeIptables()
    text = render([], {})
    kernel.restore(text)
    before = copy.deepcopy(kernel.tables)
    with pytest.raises(Exception, match="no target KUBE-SVC-NOPE"):
        kernel.restore("*nat\n:KUBE-X - [0:0]\n-A KUBE-X -j KUBE-SVC-NOPE\nCOMMIT\n")
    assert kernel.tables == before  # all or nothing
    kernel.restore("*nat\n:KUBE-SVC-A - [0:0]\n-A KUBE-SERVICES -j KUBE-SVC-A\nCOMMIT\n")
    with pytest.raises(Exception, match="still referenced"):
        kernel.restore("*nat\n-X KUBE-SVC-A\nCOMMIT\n")


async def test_only_full_syncs_list_the_kernels_chains_and_partial_ones_delete_at_once() -> None:
    """Upstream lists the nat chains (`iptables-save`) on every sync, above 1000 endpoints once
    per sync period; here a partial sync knows the chains from the previous one."""
    node = Node()
    many = [(f"10.244.{i // 200}.{i % 200 + 2}", "node-2") for i in range(1003)]
    node.put(web())
    node.put(slice_("web", many))
    await node.syncer.sync()
    assert node.kernel.saves == 1
    node.put(slice_("web", many[:-1]))
    await node.syncer.sync()
    gone = names.endpoint_chain("default/web:http", "tcp", f"{many[-1][0]}:8080")
    assert node.kernel.saves == 1 and gone not in node.kernel.tables["nat"]
    assert node.service_chains() == node.expected_chains()
    node.clock.advance(FULL_SYNC_PERIOD + 1)
    node.put(slice_("web", many[:-2]))
    await node.syncer.sync()  # the hourly full sync looks again
    assert node.kernel.saves == 2 and node.service_chains() == node.expected_chains()
