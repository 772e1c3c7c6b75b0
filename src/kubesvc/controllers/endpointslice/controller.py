"""The EndpointSlice controller: glue between the caches, `reconciler.reconcile` and the API.

Handlers queue a Service when it changes, when a pod it selects changes in a way endpoints can
see, when one of its managed slices changes (someone else's edit is undone), and all Services
when the set of nodes changes (pods on an unknown node are skipped until it appears). `sync`
leaves Services without a selector (and ExternalName ones) to their users, waits until the slice
cache shows this controller's own last writes (`WriteTracker`; else StaleCache and a retry), then
applies the reconciler's creates, updates (with the cached resourceVersion, so a concurrent
change is a 409 and a retry) and deletes. A Service being deleted gets no new slices; its slices
go with it through their ownerReference (the garbage collector).
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.client import Client, key_of
from kubesvc.controllers.endpointslice.reconciler import reconcile
from kubesvc.controllers.endpointslice.triggertime import ANNOTATION, TriggerTimes
from kubesvc.controllers.informers import RESOURCES, SERVICE_NAME_LABEL, SharedInformers
from kubesvc.controllers.pods import is_deleting, meta
from kubesvc.controllers.services import (
    service_selector,
    services_to_resync,
)
from kubesvc.controllers.tracker import WriteTracker
from kubesvc.controllers.worker import QueueWorker, StaleCache
from kubesvc.lib.runner import Clock, RealClock

Obj = dict[str, Any]


class EndpointSliceController:
    def __init__(
        self,
        client: Client,
        informers: SharedInformers,
        *,
        clock: Clock | None = None,
        max_endpoints_per_slice: int = 100,
    ) -> None:
        self.client = client
        self.informers = informers
        self.clock: Clock = clock or RealClock()
        self.max_endpoints = max_endpoints_per_slice
        self.tracker = WriteTracker()
        self.trigger_times = TriggerTimes()
        self.worker = QueueWorker(
            "endpointslice",
            self.sync,
            [informers.services, informers.pods, informers.nodes, informers.endpointslices],
            clock=self.clock,
        )
        informers.services.add_handler(self.on_service)
        informers.pods.add_handler(self.on_pod)
        informers.endpointslices.add_handler(self.on_slice)
        informers.nodes.add_handler(self.on_node)

    async def run(self, workers: int = 1) -> None:
        await self.worker.run(workers)

    def on_service(self, old: Obj | None, new: Obj | None) -> None:
        self.worker.enqueue(key_of(new or old or {}))

    def on_pod(self, old: Obj | None, new: Obj | None) -> None:
        namespace = str(meta(new or old or {}).get("namespace") or "")
        services = self.informers.services.cache.by_index("namespace", namespace)
        for key in services_to_resync(services, old, new):
            self.worker.enqueue(key)

    def on_slice(self, old: Obj | None, new: Obj | None) -> None:
        obj = new or old or {}
        self.tracker.observe(key_of(obj), meta(new).get("resourceVersion") if new else None)
        service = (meta(obj).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if service:
            self.worker.enqueue(f"{meta(obj).get('namespace')}/{service}")

    def on_node(self, old: Obj | None, new: Obj | None) -> None:
        if old is not None and new is not None:
            return
        for service in self.informers.services.cache.items():
            self.worker.enqueue(key_of(service))

    async def sync(self, key: str) -> float | None:
        service = self.informers.services.cache.get(key)
        if service is None:
            self.tracker.forget(key)
            self.trigger_times.forget(key)
            return None
        selector = service_selector(service)
        if selector is None:
            return None
        now = self.clock.monotonic()
        if self.tracker.stale(key, now):
            raise StaleCache(f"endpoint slices of {key} are not up to date in the cache")
        namespace = str(meta(service).get("namespace") or "")
        pods = [
            pod
            for pod in self.informers.pods.cache.by_index("namespace", namespace)
            if selector.matches(meta(pod).get("labels") or {})
        ]
        slices = self.informers.endpointslices.cache.by_index("service", key)
        nodes = {str(meta(n).get("name")): n for n in self.informers.nodes.cache.items()}
        changes = reconcile(service, pods, slices, nodes, self.max_endpoints)
        # the first change behind this update, for kube-proxy's network programming latency
        trigger = self.trigger_times.compute(key, service, pods)
        for slice_ in [*changes.create, *changes.update]:
            annotations = slice_["metadata"].setdefault("annotations", {})
            if trigger:
                annotations[ANNOTATION] = trigger
            else:  # an update with no new trigger must not carry the old one forward
                annotations.pop(ANNOTATION, None)
            if not annotations:
                del slice_["metadata"]["annotations"]
        res = RESOURCES.endpointslices
        if not is_deleting(service):
            for slice_ in changes.create:
                created = await self.client.create(res, namespace, slice_)
                self._wrote(key, created)
        for slice_ in changes.update:
            updated = await self.client.update(res, namespace, slice_)
            self._wrote(key, updated)
        for slice_ in changes.delete:
            try:
                await self.client.delete(res, namespace, str(meta(slice_).get("name")))
            except StatusError as exc:
                if exc.code != 404:
                    raise
            cached = self.informers.endpointslices.cache.get(key_of(slice_)) is not None
            self.tracker.deleted(key, key_of(slice_), self.clock.monotonic(), cached)
        return None

    def _wrote(self, owner: str, obj: Obj) -> None:
        version = str(meta(obj).get("resourceVersion") or "")
        cached = self.informers.endpointslices.cache.get(key_of(obj))
        seen = str(meta(cached).get("resourceVersion") or "") if cached else None
        self.tracker.wrote(owner, key_of(obj), version, self.clock.monotonic(), seen)
