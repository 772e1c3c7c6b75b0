"""The node lifecycle controller: nodes whose agent went silent become NotReady (Unknown).

Every `monitor_period` (5 s, shorter when the grace period is short) a `Runner` pass checks each
cached Node against its Lease in kube-node-lease (`health.HealthMonitor`). A node past its grace
period gets its conditions set to Unknown (status subresource, with the cached
resourceVersion: a concurrent heartbeat wins and is seen next pass) and a NodeNotReady event.
When Ready stops being True, the pods bound to the node get Ready=False (MarkPodsNotReady), so
the endpoints controllers move them to not ready; while Ready is Unknown this is re-checked on
every pass, so a pod missed once (a conflict, a restart) is caught later. The node's condition
taints (not-ready / unreachable / unschedulable) are kept in step with its conditions.
"""

from __future__ import annotations

import logging
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.client import Client
from kubesvc.controllers.events import Recorder
from kubesvc.controllers.informers import NODE_LEASE_NAMESPACE, RESOURCES, SharedInformers
from kubesvc.controllers.nodelifecycle.health import HealthMonitor, taints_with_conditions
from kubesvc.controllers.pods import condition, meta, with_condition
from kubesvc.lib.runner import Clock, RealClock, Runner

log = logging.getLogger("kubesvc.controllers.nodelifecycle")

Obj = dict[str, Any]


class NodeLifecycleController:
    def __init__(
        self,
        client: Client,
        informers: SharedInformers,
        *,
        grace_period: float = 40.0,
        monitor_period: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.informers = informers
        self.clock: Clock = clock or RealClock()
        self.monitor = HealthMonitor(grace_period)
        self.recorder = Recorder(client, "node-controller", self.clock)
        self.runner = Runner(
            "nodelifecycle",
            self.monitor_once,
            min_interval=monitor_period,
            max_interval=monitor_period,
            retry_interval=monitor_period,
            clock=self.clock,
        )
        informers.nodes.add_handler(self.on_node)

    def on_node(self, old: Obj | None, new: Obj | None) -> None:
        if new is None and old is not None:
            self.monitor.forget(str(meta(old).get("name")))

    async def run(self) -> None:
        for informer in (self.informers.nodes, self.informers.leases, self.informers.pods):
            await informer.wait_synced()
        await self.runner.run()

    async def monitor_once(self) -> None:
        nodes = sorted(self.informers.nodes.cache.items(), key=lambda n: str(meta(n).get("name")))
        for node in nodes:
            try:
                await self._check(node)
            except StatusError as exc:
                log.info("node %s: %s; next pass retries", meta(node).get("name"), exc)

    async def _check(self, node: Obj) -> None:
        name = str(meta(node).get("name"))
        lease = self.informers.leases.cache.get(f"{NODE_LEASE_NAMESPACE}/{name}")
        verdict = self.monitor.check(node, lease, self.clock.monotonic(), self.clock.now())
        if verdict.node is not None:
            node = await self.client.update(RESOURCES.nodes, None, verdict.node, "status")
            was = (verdict.observed_ready or {}).get("status")
            if was == "True":
                self.recorder.event(
                    node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady"
                )
        taints = taints_with_conditions(node, self.clock.now())
        if taints is not None:
            body = {**node, "spec": {**(node.get("spec") or {}), "taints": taints}}
            if not taints:
                body["spec"].pop("taints")
            node = await self.client.update(RESOURCES.nodes, None, body)
        ready = (verdict.current_ready or {}).get("status")
        observed = (verdict.observed_ready or {}).get("status")
        transition = verdict.current_ready is not None and ready != "True" and observed == "True"
        if transition or ready == "Unknown":
            await self.mark_pods_not_ready(name)

    async def mark_pods_not_ready(self, node: str) -> None:
        for pod in self.informers.pods.cache.by_index("node", node):
            ready = condition(pod, "Ready")
            if ready is None or ready.get("status") != "True":
                continue
            updated = with_condition(pod, {**ready, "status": "False"}, self.clock.now())
            if updated is None:
                continue
            try:
                await self.client.update(
                    RESOURCES.pods, meta(pod).get("namespace"), updated, "status"
                )
            except StatusError as exc:
                if exc.code in (404, 409):
                    continue
                raise
            self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")
