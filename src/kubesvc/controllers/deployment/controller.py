"""The Deployment controller: glue between the caches, `planner.plan` and the API.

Handlers queue a Deployment when it changes, when one of its ReplicaSets changes (an orphan
ReplicaSet queues every Deployment whose selector matches its labels) and, for Recreate, when
one of its pods goes. `sync(key)` claims the namespace's ReplicaSets (adopting matching orphans,
releasing owned ones that no longer match), plans, then applies the plan's writes in order:
ReplicaSet creates, updates (each carrying the resourceVersion of the previous write to the same
object, so a stale cache is a 409 and a retry), deletes; the Deployment's revision annotation
(a merge patch: our status subresource keeps metadata, unlike upstream's) and its status.
A create that meets an existing ReplicaSet of another template is a hash collision: the
Deployment's `status.collisionCount` goes up and the next sync hashes again.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.client import Client, key_of
from kubesvc.controllers.deployment import util as du
from kubesvc.controllers.deployment.planner import Action, plan
from kubesvc.controllers.events import Recorder
from kubesvc.controllers.informers import RESOURCES, SharedInformers
from kubesvc.controllers.owners import (
    adopt_patch,
    claim,
    controller_ref,
    new_controller_ref,
    release_patch,
)
from kubesvc.controllers.pods import is_deleting, meta, selector_of, spec, uid_of
from kubesvc.controllers.tracker import WriteTracker
from kubesvc.controllers.worker import QueueWorker, StaleCache
from kubesvc.lib.runner import Clock, RealClock

Obj = dict[str, Any]
SMP = "application/strategic-merge-patch+json"


class DeploymentController:
    def __init__(
        self, client: Client, informers: SharedInformers, *, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.informers = informers
        self.clock: Clock = clock or RealClock()
        self.recorder = Recorder(client, "deployment-controller", self.clock)
        self.tracker = WriteTracker()
        self.worker = QueueWorker(
            "deployment",
            self.sync,
            [informers.deployments, informers.replicasets, informers.pods],
            clock=self.clock,
        )
        informers.deployments.add_handler(self.on_deployment)
        informers.replicasets.add_handler(self.on_replicaset)
        informers.pods.add_handler(self.on_pod)

    async def run(self, workers: int = 1) -> None:
        await self.worker.run(workers)

    # ----------------------------------------------------------------- handlers

    def on_deployment(self, old: Obj | None, new: Obj | None) -> None:
        key = key_of(new or old or {})
        self.tracker.observe(key, meta(new).get("resourceVersion") if new else None)
        self.worker.enqueue(key)

    def _owner(self, obj: Obj, ref: Obj | None) -> Obj | None:
        if ref is None or ref.get("kind") != "Deployment":
            return None
        key = f"{meta(obj).get('namespace')}/{ref.get('name')}"
        d = self.informers.deployments.cache.get(key)
        return d if d is not None and uid_of(d) == ref.get("uid") else None

    def _enqueue_matching(self, rs: Obj) -> None:
        labels = meta(rs).get("labels") or {}
        namespace = str(meta(rs).get("namespace") or "")
        for d in self.informers.deployments.cache.by_index("namespace", namespace):
            selector = selector_of(d)
            if not selector.empty() and selector.matches(labels):
                self.worker.enqueue(key_of(d))

    def on_replicaset(self, old: Obj | None, new: Obj | None) -> None:
        current = new or old
        if current is None:
            return
        old_ref = controller_ref(old) if old is not None else None
        new_ref = controller_ref(new) if new is not None else None
        if old is not None and old_ref != new_ref:
            previous = self._owner(old, old_ref)
            if previous is not None:
                self.worker.enqueue(key_of(previous))
        ref = new_ref if new is not None else old_ref
        if ref is not None:
            owner = self._owner(current, ref)
            if owner is not None:
                self.worker.enqueue(key_of(owner))
            return
        if new is not None and (
            old is None or meta(old).get("labels") != meta(new).get("labels") or old_ref
        ):
            self._enqueue_matching(new)

    def on_pod(self, old: Obj | None, new: Obj | None) -> None:
        if new is not None or old is None:
            return
        ref = controller_ref(old)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.informers.replicasets.cache.get(f"{meta(old).get('namespace')}/{ref.get('name')}")
        d = self._owner(rs, controller_ref(rs)) if rs is not None else None
        if d is not None and not du.is_rolling_update(d):
            self.worker.enqueue(key_of(d))

    # ----------------------------------------------------------------- sync

    async def sync(self, key: str) -> float | None:
        d = self.informers.deployments.cache.get(key)
        if d is None:
            self.tracker.forget(key)
            return None
        if self.tracker.stale(key, self.clock.monotonic()):
            return None  # our last write is on its way to the cache, and will queue us again
        rss = await self._claim_replica_sets(d)
        selector = selector_of(d)
        pods_by_rs = {
            uid_of(rs): [
                pod
                for pod in self.informers.pods.cache.by_index("controller", uid_of(rs))
                if selector.matches(meta(pod).get("labels"))
            ]
            for rs in rss
        }
        result = plan(d, rss, pods_by_rs, self.clock.now())
        for kind, reason, message in result.events:
            self.recorder.event(d, kind, reason, message)
        versions: dict[str, str] = {}
        for action in result.actions:
            await self._apply(d, action, versions)
            if action.event is not None:
                self.recorder.event(d, *action.event)
        return result.requeue_after

    async def _claim_replica_sets(self, d: Obj) -> list[Obj]:
        selector = selector_of(d)
        namespace = str(meta(d).get("namespace") or "")
        owned: list[Obj] = []
        fresh_checked = False
        for rs in self.informers.replicasets.cache.by_index("namespace", namespace):
            decision = claim(d, rs, lambda o: selector.matches(meta(o).get("labels")))
            if decision == "owned":
                owned.append(rs)
            elif decision == "adopt":
                if not fresh_checked:
                    fresh = await self.client.get(RESOURCES.deployments, namespace, meta(d)["name"])
                    if uid_of(fresh) != uid_of(d) or is_deleting(fresh):
                        continue
                    fresh_checked = True
                ref = new_controller_ref(d, "apps/v1", "Deployment")
                adopted = await self._patch_rs(rs, adopt_patch(ref, rs))
                if adopted is not None:
                    owned.append(adopted)
            elif decision == "release":
                await self._patch_rs(rs, release_patch(uid_of(d), rs))
        return owned

    async def _patch_rs(self, rs: Obj, body: Obj) -> Obj | None:
        try:
            return await self.client.patch(
                RESOURCES.replicasets,
                meta(rs).get("namespace"),
                meta(rs)["name"],
                body,
                patch_type=SMP,
            )
        except StatusError as exc:
            if exc.code == 404:
                return None
            raise

    async def _apply(self, d: Obj, action: Action, versions: dict[str, str]) -> None:
        namespace = meta(d).get("namespace")
        obj = copy.deepcopy(action.obj)
        name = str(meta(obj).get("name"))
        if action.verb == "create":
            await self._create(d, obj)
        elif action.verb == "update":
            if name in versions:
                obj["metadata"]["resourceVersion"] = versions[name]
            updated = await self.client.update(RESOURCES.replicasets, namespace, obj)
            versions[name] = str(meta(updated).get("resourceVersion"))
        elif action.verb == "delete":
            try:
                await self.client.delete(RESOURCES.replicasets, namespace, name)
            except StatusError as exc:
                if exc.code != 404:
                    raise
        elif action.verb == "annotate":
            revision = (meta(obj).get("annotations") or {}).get(du.REVISION)
            patch = {"metadata": {"annotations": {du.REVISION: revision}}}
            patched = await self.client.patch(RESOURCES.deployments, namespace, name, patch)
            self._wrote_deployment(patched, versions)
        elif action.verb == "status":
            if f"deployment/{name}" in versions:
                obj["metadata"]["resourceVersion"] = versions[f"deployment/{name}"]
            updated = await self.client.update(RESOURCES.deployments, namespace, obj, "status")
            self._wrote_deployment(updated, versions)

    def _wrote_deployment(self, written: Obj, versions: dict[str, str]) -> None:
        version = str(meta(written).get("resourceVersion"))
        versions[f"deployment/{meta(written).get('name')}"] = version
        cached = self.informers.deployments.cache.get(key_of(written))
        seen = str(meta(cached).get("resourceVersion") or "") if cached else None
        self.tracker.wrote(key_of(written), key_of(written), version, self.clock.monotonic(), seen)

    async def _create(self, d: Obj, rs: Obj) -> None:
        namespace = meta(d).get("namespace")
        try:
            await self.client.create(RESOURCES.replicasets, namespace, rs)
            return
        except StatusError as exc:
            if exc.code != 409:
                await self._create_failed(d, rs, exc)
                raise
        existing = await self.client.get(RESOURCES.replicasets, namespace, meta(rs)["name"])
        ref = controller_ref(existing)
        ours = ref is not None and ref.get("uid") == uid_of(d)
        if ours and du.equal_ignore_hash(spec(existing).get("template"), spec(d).get("template")):
            raise StaleCache(f"replica set {meta(rs)['name']} exists; waiting for the cache")
        status = copy.deepcopy(d.get("status") or {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self.client.update(
            RESOURCES.deployments, namespace, {**d, "status": status}, "status"
        )
        raise StaleCache(f"hash collision for replica set {meta(rs)['name']}")

    async def _create_failed(self, d: Obj, rs: Obj, exc: StatusError) -> None:
        message = f'Failed to create new replica set "{meta(rs)["name"]}": {exc.message}'
        self.recorder.event(d, "Warning", du.FAILED_RS_CREATE, message)
        if not du.has_progress_deadline(d):
            return
        status = copy.deepcopy(d.get("status") or {})
        du.set_condition(
            status,
            du.new_condition(
                "Progressing", "False", du.FAILED_RS_CREATE, message, self.clock.now()
            ),
        )
        with contextlib.suppress(StatusError):
            await self.client.update(
                RESOURCES.deployments, meta(d).get("namespace"), {**d, "status": status}, "status"
            )
