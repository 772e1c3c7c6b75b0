"""The scheduler: binds pending pods to nodes, one pod at a time, through pods/binding.

A pod is ours when it has no `spec.nodeName`, is not being deleted, has no scheduling gates and
names `default-scheduler` (or no scheduler). Pod and node changes queue pods; a node change
queues every pending pod again (a node may have become Ready), and a pod that fits nowhere is
retried every `retry_interval` too. `sync(key)` runs `placement.place` over the cached nodes and
the pods already on them, plus the pods this scheduler bound but the cache does not show yet
("assumed", as kube-scheduler's cache keeps them), then POSTs the Binding; the API server sets
`spec.nodeName` and the PodScheduled condition. A pod that fits nowhere gets PodScheduled=False,
reason Unschedulable and the FitError text, through a strategic-merge patch of its status (so
the conditions the node agent writes are kept), and a FailedScheduling event when that text
changes. One worker: scheduling decisions are serial, as upstream's scheduling cycle is.
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.meta import now_rfc3339
from kubesvc.client import Client, key_of
from kubesvc.controllers.events import Recorder
from kubesvc.controllers.informers import RESOURCES, SharedInformers
from kubesvc.controllers.pods import condition, is_deleting, is_pod_terminal, meta, spec
from kubesvc.controllers.scheduler.placement import place
from kubesvc.controllers.worker import QueueWorker
from kubesvc.lib.runner import Clock, RealClock

Obj = dict[str, Any]

SCHEDULER_NAME = "default-scheduler"
SMP = "application/strategic-merge-patch+json"


def wants_scheduling(pod: Obj) -> bool:
    pod_spec = spec(pod)
    return (
        not pod_spec.get("nodeName")
        and not is_deleting(pod)
        and not is_pod_terminal(pod)
        and not pod_spec.get("schedulingGates")
        and (pod_spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
    )


class Scheduler:
    def __init__(
        self,
        client: Client,
        informers: SharedInformers,
        *,
        clock: Clock | None = None,
        retry_interval: float = 10.0,
    ) -> None:
        self.client = client
        self.informers = informers
        self.clock: Clock = clock or RealClock()
        self.retry_interval = retry_interval
        self.recorder = Recorder(client, SCHEDULER_NAME, self.clock)
        self.assumed: dict[str, tuple[str, Obj, float]] = {}  # pod key -> (node, pod, when)
        self.assume_ttl = 30.0
        self.worker = QueueWorker(
            "scheduler", self.sync, [informers.pods, informers.nodes], clock=self.clock
        )
        informers.pods.add_handler(self.on_pod)
        informers.nodes.add_handler(self.on_node)

    async def run(self) -> None:
        await self.worker.run(1)

    def on_pod(self, old: Obj | None, new: Obj | None) -> None:
        pod = new or old or {}
        key = key_of(pod)
        if new is None or spec(new).get("nodeName"):
            self.assumed.pop(key, None)
        if new is not None and wants_scheduling(new):
            self.worker.enqueue(key)

    def on_node(self, old: Obj | None, new: Obj | None) -> None:
        if old is not None and new is not None and _schedulable_view(old) == _schedulable_view(new):
            return
        for pod in self.informers.pods.cache.items():
            if wants_scheduling(pod):
                self.worker.enqueue(key_of(pod))

    def pods_by_node(self) -> dict[str, list[Obj]]:
        result: dict[str, list[Obj]] = {}
        for node_obj in self.informers.nodes.cache.items():
            name = str(meta(node_obj).get("name"))
            result[name] = [
                p
                for p in self.informers.pods.cache.by_index("node", name)
                if not is_pod_terminal(p)
            ]
        now = self.clock.monotonic()
        for key, (node, pod, when) in list(self.assumed.items()):
            cached = self.informers.pods.cache.get(key)
            if cached is None or now - when > self.assume_ttl:
                del self.assumed[key]
            elif not spec(cached).get("nodeName"):
                result.setdefault(node, []).append(pod)
        return result

    async def sync(self, key: str) -> float | None:
        pod = self.informers.pods.cache.get(key)
        if pod is None or not wants_scheduling(pod):
            return None
        by_node = self.pods_by_node()
        if key in self.assumed:
            return None
        nodes = sorted(self.informers.nodes.cache.items(), key=lambda n: str(meta(n).get("name")))
        placement = place(pod, nodes, by_node)
        namespace, name = str(meta(pod).get("namespace")), str(meta(pod).get("name"))
        if placement.node is None:
            await self._unschedulable(pod, placement.message)
            return self.retry_interval
        try:
            await self.client.bind(namespace, name, placement.node)
        except StatusError as exc:
            if exc.code in (404, 409):
                return None
            raise
        self.assumed[key] = (placement.node, pod, self.clock.monotonic())
        self.recorder.event(
            pod,
            "Normal",
            "Scheduled",
            f"Successfully assigned {namespace}/{name} to {placement.node}",
        )
        return None

    async def _unschedulable(self, pod: Obj, message: str) -> None:
        current = condition(pod, "PodScheduled")
        if (
            current is not None
            and current.get("status") == "False"
            and current.get("reason") == "Unschedulable"
            and current.get("message") == message
        ):
            return
        transition = now_rfc3339(self.clock.now())
        if current is not None and current.get("status") == "False":
            transition = current.get("lastTransitionTime") or transition
        cond = {
            "type": "PodScheduled",
            "status": "False",
            "lastProbeTime": None,
            "lastTransitionTime": transition,
            "reason": "Unschedulable",
            "message": message,
        }
        try:
            await self.client.patch(
                RESOURCES.pods,
                meta(pod).get("namespace"),
                meta(pod)["name"],
                {"status": {"conditions": [cond]}},
                patch_type=SMP,
                subresource="status",
            )
        except StatusError as exc:
            if exc.code == 404:
                return
            raise
        self.recorder.event(pod, "Warning", "FailedScheduling", message)


def _schedulable_view(node: Obj) -> tuple[Any, ...]:
    ready = condition(node, "Ready") or {}
    return (
        ready.get("status"),
        spec(node).get("unschedulable"),
        spec(node).get("taints"),
        meta(node).get("labels"),
    )
