"""The Endpoints controller: one v1 Endpoints per selecting Service, named like the Service.

Handlers queue a Service when it changes, when a pod it selects changes in a way endpoints can
see, and when its Endpoints object is deleted (it is written again). At start, after the caches
sync, every existing Endpoints is queued once, so those whose Service went away while the
controller was down are removed (checkLeftoverEndpoints). `sync(key)`: no Service → delete the
Endpoints; ExternalName or no selector → leave it to the user; else build the subsets
(`subsets.build_subsets`), skip when nothing changed, otherwise create or update (labels = the
Service's plus `service.kubernetes.io/headless` for headless ones). An update the cache has not
shown yet makes the next sync wait (StaleCache) instead of writing from an old copy.
"""

from __future__ import annotations

import copy
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.client import Client, key_of
from kubesvc.controllers.endpoints import subsets as eps
from kubesvc.controllers.informers import RESOURCES, SharedInformers
from kubesvc.controllers.pods import meta
from kubesvc.controllers.services import (
    service_selector,
    services_to_resync,
)
from kubesvc.controllers.tracker import WriteTracker
from kubesvc.controllers.worker import QueueWorker, StaleCache
from kubesvc.lib.runner import Clock, RealClock

Obj = dict[str, Any]
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"


class EndpointsController:
    def __init__(
        self, client: Client, informers: SharedInformers, *, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.informers = informers
        self.clock: Clock = clock or RealClock()
        self.tracker = WriteTracker()
        self.worker = QueueWorker(
            "endpoints",
            self.sync,
            [informers.services, informers.pods, informers.endpoints],
            clock=self.clock,
        )
        informers.services.add_handler(self.on_service)
        informers.pods.add_handler(self.on_pod)
        informers.endpoints.add_handler(self.on_endpoints)

    async def run(self, workers: int = 1) -> None:
        await self.informers.endpoints.wait_synced()
        for endpoints in self.informers.endpoints.cache.items():
            if LEADER_ANNOTATION not in (meta(endpoints).get("annotations") or {}):
                self.worker.enqueue(key_of(endpoints))
        await self.worker.run(workers)

    def on_service(self, old: Obj | None, new: Obj | None) -> None:
        self.worker.enqueue(key_of(new or old or {}))

    def on_pod(self, old: Obj | None, new: Obj | None) -> None:
        namespace = str(meta(new or old or {}).get("namespace") or "")
        services = self.informers.services.cache.by_index("namespace", namespace)
        for key in services_to_resync(services, old, new):
            self.worker.enqueue(key)

    def on_endpoints(self, old: Obj | None, new: Obj | None) -> None:
        obj = new or old or {}
        self.tracker.observe(key_of(obj), meta(new).get("resourceVersion") if new else None)
        if new is None:
            self.worker.enqueue(key_of(obj))

    async def sync(self, key: str) -> float | None:
        namespace, _, name = key.partition("/")
        service = self.informers.services.cache.get(key)
        if service is None:
            try:
                await self.client.delete(RESOURCES.endpoints, namespace, name)
            except StatusError as exc:
                if exc.code != 404:
                    raise
            self.tracker.forget(key)
            return None
        selector = service_selector(service)
        if selector is None:
            return None
        pods = [
            pod
            for pod in self.informers.pods.cache.by_index("namespace", namespace)
            if selector.matches(meta(pod).get("labels") or {})
        ]
        subsets = eps.build_subsets(service, pods)
        current = self.informers.endpoints.cache.get(key)
        if self.tracker.stale(key, self.clock.monotonic()):
            raise StaleCache(f"endpoints {key} are not up to date in the cache")
        if current is not None and eps.up_to_date(current, service, subsets):
            return None
        await self._write(service, current, subsets)
        return None

    async def _write(self, service: Obj, current: Obj | None, subsets: list[Obj]) -> None:
        namespace, name = str(meta(service).get("namespace")), str(meta(service).get("name"))
        if current is None:
            endpoints: Obj = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": name, "namespace": namespace},
            }
        else:
            endpoints = copy.deepcopy(current)
        endpoints["subsets"] = subsets
        endpoint_meta = endpoints["metadata"]
        annotations = dict(endpoint_meta.get("annotations") or {})
        if eps.truncate(subsets):
            annotations[eps.OVER_CAPACITY] = "truncated"
        else:
            annotations.pop(eps.OVER_CAPACITY, None)
        if annotations:
            endpoint_meta["annotations"] = annotations
        else:
            endpoint_meta.pop("annotations", None)
        labels = eps.desired_labels(service)
        if labels:
            endpoint_meta["labels"] = labels
        else:
            endpoint_meta.pop("labels", None)
        if not subsets:
            endpoints.pop("subsets")
        if current is None:
            written = await self.client.create(RESOURCES.endpoints, namespace, endpoints)
        else:
            written = await self.client.update(RESOURCES.endpoints, namespace, endpoints)
        cached = self.informers.endpoints.cache.get(key_of(written))
        seen = str(meta(cached).get("resourceVersion") or "") if cached else None
        version = str(meta(written).get("resourceVersion") or "")
        self.tracker.wrote(key_of(written), key_of(written), version, self.clock.monotonic(), seen)
