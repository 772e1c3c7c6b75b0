"""`kubesvc proxy --proxy-mode userspace`: kube-proxy's userspace mode for one node.

Glue. `UserspaceProxier` runs the same two informers as the iptables mode (Services and
EndpointSlices; their handlers only ask the runner for a sync) and turns the caches into
`ServicePortInfo`/`EndpointInfo` with the shared `desired_state`. A sync hands them to
`UserspaceProxy`, which owns the data path:

- per TCP/UDP Service port a relay listening on a random port on `listen_ip` (0.0.0.0 in the
  node's network namespace), reopened when the port's addresses change, closed when the Service
  port goes (established TCP connections live on); a NodePort also gets a relay listening on
  0.0.0.0:NODEPORT itself, as kube-proxy held that port open;
- the round-robin balancer: each Service port's affinity setting and its ready endpoints;
- `rules()`: the portal rules for the listeners open now (`render`).

The proxier then applies the rules with one `iptables-restore --noflush` when they changed (and at
least every `sync_period`, with the jump rules re-checked). `rules_for_node` renders the same rules
for `kubesvc rules --mode userspace`, reading the proxy ports back from a node's `iptables-save`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubesvc.api.resources import lookup
from kubesvc.client import Client, Informer
from kubesvc.lib.runner import RealClock, Runner
from kubesvc.proxy.daemon import desired_state, run_daemon
from kubesvc.proxy.healthz import ProxierHealth
from kubesvc.proxy.metrics import ProxyMetrics
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo
from kubesvc.proxy.userspace import apply
from kubesvc.proxy.userspace.balancer import LoadBalancer
from kubesvc.proxy.userspace.relay import UDP_IDLE_TIMEOUT, Pick, TcpRelay, UdpRelay
from kubesvc.proxy.userspace.render import PROTOCOLS, Portal, proxy_ports_from_saved, render

log = logging.getLogger("kubesvc.proxy.userspace")

SERVICES = lookup("", "services")
SLICES = lookup("discovery.k8s.io", "endpointslices")
Obj = dict[str, Any]
Relay = TcpRelay | UdpRelay


def _addresses(info: ServicePortInfo) -> tuple[object, ...]:
    """What a listener and its rules depend on: a change here reopens the listener."""
    return (
        info.protocol,
        info.cluster_ip,
        info.port,
        info.node_port,
        info.external_ips,
        info.load_balancer_ips,
    )


@dataclass(slots=True, kw_only=True)
class _Listener:
    info: ServicePortInfo
    relay: Relay
    node_port_relay: Relay | None = None

    def close(self) -> None:
        self.relay.close()
        if self.node_port_relay is not None:
            self.node_port_relay.close()


class UserspaceProxy:
    """Listeners, balancer and rules for a set of Service ports (no API access, no iptables)."""

    def __init__(
        self,
        *,
        node_ip: str,
        listen_ip: str = "0.0.0.0",
        udp_timeout: float = UDP_IDLE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node_ip, self.listen_ip, self.udp_timeout = node_ip, listen_ip, udp_timeout
        self.balancer = LoadBalancer(clock)
        self.listeners: dict[str, _Listener] = {}

    def _pick(self, key: str) -> Pick:
        balancer = self.balancer

        def pick(client_ip: str, tried: frozenset[str]) -> str:
            return balancer.next_endpoint(key, client_ip, tried)

        return pick

    async def _relay(self, info: ServicePortInfo, port: int) -> Relay:
        pick = self._pick(info.key)
        relay: Relay
        if info.protocol == "UDP":
            relay = UdpRelay(pick, idle_timeout=self.udp_timeout)
        else:
            relay = TcpRelay(pick)
        await relay.start(self.listen_ip, port)
        return relay

    async def _open(self, info: ServicePortInfo) -> _Listener | None:
        try:
            listener = _Listener(info=info, relay=await self._relay(info, 0))
        except OSError as exc:
            log.error("cannot open a proxy port for %s: %s", info.key, exc)
            return None
        if info.node_port:
            try:
                listener.node_port_relay = await self._relay(info, info.node_port)
            except OSError as exc:
                log.error("cannot open node port %d for %s: %s", info.node_port, info.key, exc)
        log.info(
            "proxying %s %s:%d on port %d",
            info.key,
            info.cluster_ip,
            info.port,
            listener.relay.port,
        )
        return listener

    async def update(
        self, ports: Sequence[ServicePortInfo], endpoints: Mapping[str, Sequence[EndpointInfo]]
    ) -> None:
        """Make the listeners and the balancer match these Service ports and endpoints."""
        wanted = {p.key: p for p in ports if p.protocol in PROTOCOLS}
        for key in [k for k in self.listeners if k not in wanted]:
            log.info("stopping %s", key)
            self.listeners.pop(key).close()
            self.balancer.delete_service(key)
        for key, info in wanted.items():
            current = self.listeners.get(key)
            if current is not None and _addresses(current.info) == _addresses(info):
                current.info = info
            else:
                if current is not None:
                    self.listeners.pop(key).close()
                opened = await self._open(info)
                if opened is None:
                    continue
                self.listeners[key] = opened
            self.balancer.set_service(key, info.session_affinity_timeout)
            ready = [str(ep) for ep in endpoints.get(key, ()) if ep.ready]
            self.balancer.set_endpoints(key, ready)
        self.balancer.cleanup_stale_sessions()

    def portals(self) -> list[Portal]:
        return [
            Portal(service=lst.info, proxy_port=lst.relay.port) for lst in self.listeners.values()
        ]

    def rules(self) -> str:
        return render(self.portals(), host_ip=self.node_ip, listen_ip=self.listen_ip)

    def close(self) -> None:
        for listener in self.listeners.values():
            listener.close()
        self.listeners.clear()


class UserspaceProxier:
    """Informers → `UserspaceProxy` → `iptables-restore`, in the node's network namespace."""

    def __init__(
        self,
        client: Client,
        node: str,
        node_ip: str,
        *,
        udp_timeout: float = UDP_IDLE_TIMEOUT,
        min_sync_period: float = 0.2,
        sync_period: float = 30.0,
        healthz_address: tuple[str, int] | None = None,
        metrics_address: tuple[str, int] | None = None,
    ) -> None:
        assert SERVICES is not None and SLICES is not None
        self.node = node
        self.healthz_address, self.metrics_address = healthz_address, metrics_address
        self.clock = RealClock()
        self.metrics = ProxyMetrics("userspace")
        self.health = ProxierHealth(self.clock, 2 * sync_period, node)
        self.proxy = UserspaceProxy(node_ip=node_ip, udp_timeout=udp_timeout)
        self.services = Informer(client, SERVICES)
        self.slices = Informer(client, SLICES)
        self.runner = Runner(
            "userspace-proxy-sync",
            self.sync,
            min_interval=min_sync_period,
            max_interval=sync_period,
        )
        self.services.add_handler(
            lambda old, new: self._changed(self.metrics.service_changes_total)
        )
        self.slices.add_handler(lambda old, new: self._changed(self.metrics.endpoint_changes_total))
        self.sync_period = sync_period
        self.syncs = 0
        self._applied = ""
        self._applied_at = float("-inf")

    def _changed(self, counter: Any) -> None:
        counter.inc()
        self.health.queued_update()
        now = self.clock.now().timestamp()
        self.metrics.last_queued_timestamp.set(now, ip_family=self.metrics.family)
        self.runner.request()

    async def sync(self) -> None:
        started = self.clock.monotonic()
        ports, endpoints = desired_state(
            self.services.cache.items(), self.slices.cache.items(), self.node
        )
        await self.proxy.update(ports, endpoints)
        text = self.proxy.rules()
        now = time.monotonic()
        if text != self._applied or now - self._applied_at >= self.sync_period:
            await asyncio.to_thread(_apply, text)
            self._applied, self._applied_at = text, now
        self.syncs += 1
        self.metrics.observe_sync(self.clock.monotonic() - started)
        self.metrics.last_timestamp.set(self.clock.now().timestamp(), ip_family=self.metrics.family)
        self.health.updated()

    async def run(self) -> None:
        try:
            await run_daemon(
                (self.services, self.slices),
                (self.services, self.slices),
                self.health,
                self.metrics,
                (self.healthz_address, self.metrics_address),
                self.runner.run,
            )
        finally:
            self.proxy.close()


def _apply(text: str) -> None:
    apply.ensure_base()
    apply.restore(text)


def rules_for_node(
    services: list[Obj], slices: list[Obj], node: str, node_ip: str, saved_nat: str
) -> str:
    """What the userspace proxy of `node` installs, with the proxy ports its live rules use
    (`saved_nat`: that node's `iptables-save -t nat`); Service ports without one are listed as
    comments (no userspace proxy has opened them there)."""
    ports, _ = desired_state(services, slices, node)
    live = proxy_ports_from_saved(saved_nat)
    portals, missing = [], []
    for info in ports:
        if info.protocol not in PROTOCOLS:
            continue
        port = live.get((info.key, info.protocol))
        if port is None:
            missing.append(f"# {info.key} ({info.protocol}): no proxy port open on {node}")
        else:
            portals.append(Portal(service=info, proxy_port=port))
    text = render(portals, host_ip=node_ip)
    return "".join(f"{line}\n" for line in missing) + text
