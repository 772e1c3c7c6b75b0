"""The iptables mode's sync: trackers in, one `iptables-restore` out, then the housekeeping.

Glue between the pure parts (trackers, `render_sync`, `flows`) and the I/O (`Iptables`,
`Conntrack`, the health and metrics state). Informer handlers call `on_service` / `on_slice`,
which record the change and say whether a sync is needed. `sync()` is upstream's
`syncProxyRules`, in order:

1. full or partial: full on the first sync, after a failed one, after the canaries vanished, and
   when the last full sync is older than `full_sync_period` (upstream's FullSyncPeriod, 1 h);
2. check out both trackers into `ProxyState`, which names the Services that changed;
3. on a full sync ensure the base chains and jumps and list the nat chains (`iptables-save -t
   nat`) so that chains nothing uses any more are deleted; a partial sync knows which chains the
   previous sync left (upstream runs `iptables-save` again at most once per `sync_period`,
   which takes 1.6 s at 10,000 Services);
4. render (a partial sync reuses the previous sync's rules for the unchanged Services) and
   restore: a full sync writes every chain (in one input, or in chunks in a large cluster:
   `restores.full_restores`), a partial one only what differs from the previous sync
   (`restores.partial_restore`); on failure count it, remember that the next sync must be full
   (the changes are checked out already) and raise, so the runner retries;
5. on success record the metrics (durations, rule counts, network programming latency from the
   slices' trigger times, Services with no local endpoint), tell the health state, and if a UDP
   Service changed, delete its stale conntrack flows.

`check_canaries()` is upstream's iptables Monitor, one check per call: it creates
KUBE-PROXY-CANARY in mangle, nat and filter, and when one it made before is gone it forces the
next sync to be full. The blocking calls run in a worker thread; the trackers and the state are
only touched on the event loop.

`IptablesProxier` is `kubesvc proxy` in iptables mode, run inside the node's network namespace:
three informers (Services and EndpointSlices, whose handlers only record the change and ask for a
sync; this node's Node, for the health answer); once both caches have synced, the sync runner
(`lib.runner.Runner`, upstream's BoundedFrequencyRunner: at most once per `min_sync_period`, at
least once an hour, a failed sync retried after `sync_period`), the canary runner (every
`sync_period`) and the `/healthz` (10256) and `/metrics` (10249) servers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from kubesvc.api.resources import lookup
from kubesvc.client import Client, Informer
from kubesvc.lib.runner import Clock, RealClock, Runner
from kubesvc.proxy.conntrack import Conntrack, ConntrackTool, clean_stale
from kubesvc.proxy.daemon import desired_state, run_daemon
from kubesvc.proxy.healthz import ProxierHealth
from kubesvc.proxy.iptables.apply import ApplyError, Iptables, IptablesTool
from kubesvc.proxy.iptables.jumps import CANARY, CANARY_TABLES
from kubesvc.proxy.iptables.render import Rendered, render, render_sync
from kubesvc.proxy.iptables.restores import CHUNK, full_restores, partial_restore
from kubesvc.proxy.metrics import ProxyMetrics
from kubesvc.proxy.tracker import EndpointsChangeTracker, ProxyState, ServiceChangeTracker

log = logging.getLogger("kubesvc.proxy.iptables")

FULL_SYNC_PERIOD = 3600.0
SERVICES = lookup("", "services")
SLICES = lookup("discovery.k8s.io", "endpointslices")
NODES = lookup("", "nodes")
T = TypeVar("T")
Obj = dict[str, Any]


class SyncError(RuntimeError):
    pass


async def _io(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


class IptablesSyncer:
    def __init__(
        self,
        *,
        node: str,
        node_ip: str,
        cluster_cidr: str | None,
        iptables: Iptables,
        conntrack: Conntrack,
        clock: Clock,
        metrics: ProxyMetrics,
        health: ProxierHealth,
        full_sync_period: float = FULL_SYNC_PERIOD,
        sync_period: float = 30.0,
    ) -> None:
        self.node, self.node_ip, self.cluster_cidr = node, node_ip, cluster_cidr
        self.iptables, self.conntrack = iptables, conntrack
        self.clock, self.metrics, self.health = clock, metrics, health
        self.full_sync_period, self.sync_period = full_sync_period, sync_period
        self.services = ServiceChangeTracker()
        self.endpoints = EndpointsChangeTracker(node, clock.now())
        self.state = ProxyState()
        self.need_full = True
        self.last_full: float | None = None
        self.last: Rendered | None = None
        self.syncs = 0
        self.full_syncs = 0
        self._canaries_made = False

    # -- events ------------------------------------------------------------------------------

    def on_service(self, old: Obj | None, new: Obj | None) -> bool:
        changed = self.services.update(old, new)
        if changed:
            self.metrics.service_changes_total.inc()
            self._queued()
        return changed

    def on_slice(self, old: Obj | None, new: Obj | None) -> bool:
        changed = self.endpoints.update(old, new)
        if changed:
            self.metrics.endpoint_changes_total.inc()
            self._queued()
        return changed

    def _queued(self) -> None:
        self.health.queued_update()
        family = self.metrics.family
        self.metrics.last_queued_timestamp.set(self.clock.now().timestamp(), ip_family=family)
        self.metrics.service_changes_pending.set(len(self.services.changes))
        self.metrics.endpoint_changes_pending.set(len(self.endpoints.changes))

    # -- the sync ----------------------------------------------------------------------------

    def _full_due(self, now: float) -> bool:
        return (
            self.need_full or self.last_full is None or now - self.last_full > self.full_sync_period
        )

    async def sync(self) -> None:
        started = self.clock.monotonic()
        full = self._full_due(started)
        result = self.state.update(self.services, self.endpoints)
        self.metrics.service_changes_pending.set(0)
        self.metrics.endpoint_changes_pending.set(0)
        ports, endpoints = self.state.ports(), self.state.endpoints_by_port_key()
        previous = None if full else self.last
        try:
            if full:
                await _io(self.iptables.ensure_base)
            rendered = render_sync(
                ports,
                endpoints,
                changed=None if full else result.updated,
                existing_nat_chains=(
                    await self._nat_chains() if previous is None else previous.active_nat_chains
                ),
                previous=previous,
                node_ip=self.node_ip,
                cluster_cidr=self.cluster_cidr,
            )
            if previous is None:
                nft = await _io(self.iptables.nf_tables)
                inputs = full_restores(rendered, CHUNK if nft else None)
                written = (rendered.filter_rules_written, rendered.nat_rules_written)
            else:
                restore = partial_restore(rendered, previous.top)
                inputs = [restore.text] if restore.text else []
                written = (restore.filter_rules, restore.nat_rules)
            for text in inputs:
                await _io(self.iptables.restore, text)
        except ApplyError as exc:
            family = self.metrics.family
            self.metrics.restore_failures.inc(ip_family=family)
            if not full:
                self.metrics.partial_restore_failures.inc(ip_family=family)
            self.need_full = True  # the changes are checked out: only a full sync is safe now
            raise SyncError(f"{'full' if full else 'partial'} sync failed: {exc}") from exc
        finally:
            self.metrics.observe_sync(self.clock.monotonic() - started, full=full)
        self.need_full = False
        if full:
            self.last_full = started
            self.full_syncs += 1
        self.syncs += 1
        self.last = rendered
        self._record(rendered, written, result.trigger_times)
        log.info(
            "%s sync: %d Service ports, %d Services changed, %d stale chains deleted",
            "full" if full else "partial",
            len(ports),
            len(result.updated),
            len(rendered.deleted_chains),
        )
        if result.conntrack_cleanup:
            try:
                await _io(clean_stale, self.conntrack, ports, endpoints)
            except Exception as exc:  # best effort, as upstream: the rules are in place
                log.warning("stale UDP conntrack clean-up failed: %s", exc)

    async def _nat_chains(self) -> set[str]:
        """The nat chains the kernel has (`iptables-save -t nat`), so that a full sync can delete
        the ones nothing uses any more. A partial sync knows them from the previous sync."""
        try:
            return await _io(self.iptables.chains, "nat")
        except ApplyError as exc:
            log.warning("iptables-save failed, stale chains are not deleted this time: %s", exc)
            return set()

    def _record(
        self, rendered: Rendered, written: tuple[int, int], trigger_times: tuple[Any, ...]
    ) -> None:
        m, family, now = self.metrics, self.metrics.family, self.clock.now()
        m.iptables_total.set(rendered.filter_rules, ip_family=family, table="filter")
        m.iptables_total.set(rendered.nat_rules, ip_family=family, table="nat")
        m.iptables_last.set(written[0], ip_family=family, table="filter")
        m.iptables_last.set(written[1], ip_family=family, table="nat")
        m.no_local_endpoints.set(
            rendered.no_local_internal, ip_family=family, traffic_policy="internal"
        )
        m.no_local_endpoints.set(
            rendered.no_local_external, ip_family=family, traffic_policy="external"
        )
        for when in trigger_times:
            m.network_programming.observe((now - when).total_seconds(), ip_family=family)
        m.last_timestamp.set(now.timestamp(), ip_family=family)
        self.health.updated()

    # -- canaries ----------------------------------------------------------------------------

    async def check_canaries(self) -> bool:
        """Make sure the canaries exist; True when one made earlier had vanished (a flush)."""
        missing = [
            table
            for table in CANARY_TABLES
            if not await _io(self.iptables.chain_exists, table, CANARY)
        ]
        flushed = self._canaries_made and bool(missing)
        if flushed:
            log.warning("iptables flush detected (%s gone from %s): full resync", CANARY, missing)
            self.need_full = True
        for table in missing:
            await _io(self.iptables.ensure_chain, table, CANARY)
        self._canaries_made = True
        return flushed


class IptablesProxier:
    def __init__(
        self,
        client: Client,
        node: str,
        node_ip: str,
        cluster_cidr: str,
        min_sync_period: float = 0.2,
        *,
        sync_period: float = 30.0,
        healthz_address: tuple[str, int] | None = None,
        metrics_address: tuple[str, int] | None = None,
        iptables: Iptables | None = None,
        conntrack: Conntrack | None = None,
        clock: Clock | None = None,
    ) -> None:
        assert SERVICES is not None and SLICES is not None and NODES is not None
        self.node, self.node_ip, self.cluster_cidr = node, node_ip, cluster_cidr
        self.min_sync_period, self.sync_period = min_sync_period, sync_period
        self.healthz_address = healthz_address
        self.metrics_address = metrics_address
        self.clock: Clock = clock or RealClock()
        self.metrics = ProxyMetrics("iptables")
        self.health = ProxierHealth(self.clock, 2 * sync_period, node)
        self.syncer = IptablesSyncer(
            node=node,
            node_ip=node_ip,
            cluster_cidr=cluster_cidr,
            iptables=iptables or IptablesTool(),
            conntrack=conntrack or ConntrackTool(),
            clock=self.clock,
            metrics=self.metrics,
            health=self.health,
            sync_period=sync_period,
        )
        self.services = Informer(client, SERVICES)
        self.slices = Informer(client, SLICES)
        self.nodes = Informer(client, NODES, field_selector=f"metadata.name={node}")
        self.runner = Runner(
            "iptables sync",
            self.syncer.sync,
            min_interval=min_sync_period,
            max_interval=FULL_SYNC_PERIOD,
            retry_interval=sync_period,
            clock=self.clock,
        )
        self.canaries = Runner(
            "iptables canary",
            self._check_canaries,
            min_interval=sync_period,
            max_interval=sync_period,
            clock=self.clock,
        )
        self.services.add_handler(lambda old, new: self._ask(self.syncer.on_service(old, new)))
        self.slices.add_handler(lambda old, new: self._ask(self.syncer.on_slice(old, new)))
        self.nodes.add_handler(lambda old, new: self.health.sync_node(new))

    @property
    def syncs(self) -> int:
        return self.syncer.syncs

    def _ask(self, changed: bool) -> None:
        if changed:
            self.runner.request()

    async def _check_canaries(self) -> None:
        if await self.syncer.check_canaries():
            self.runner.request()

    def rules(self) -> str:
        """The full rule set for the caches as they are now (on the event loop's thread)."""
        ports, endpoints = desired_state(
            self.services.cache.items(), self.slices.cache.items(), self.node
        )
        return render(ports, endpoints, node_ip=self.node_ip, cluster_cidr=self.cluster_cidr)

    async def run(self) -> None:
        await run_daemon(
            (self.services, self.slices, self.nodes),
            (self.services, self.slices),
            self.health,
            self.metrics,
            (self.healthz_address, self.metrics_address),
            self.runner.run,
            beside=(self.canaries.run,),
        )
