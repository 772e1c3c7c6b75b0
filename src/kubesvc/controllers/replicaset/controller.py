"""The ReplicaSet controller: keeps `spec.replicas` pods running for each ReplicaSet.

Handlers (as upstream's): a ReplicaSet change queues it; a pod change queues its controlling
ReplicaSet, or, for an orphan, every ReplicaSet whose selector matches it (one may adopt it).
Observed pod additions and deletions lower the expectations recorded before the controller's
own creates and deletes. `sync(key)`: claim the namespace's active pods (adopt orphans that
match, release owned pods that no longer match), then, if expectations are met, create missing
pods in slow-start batches (1, 2, 4, ...) or delete the lowest-ranked surplus, and always write
the status (`plan.calculate_status`) when it changed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.client import Client, key_of
from kubesvc.controllers.events import Recorder
from kubesvc.controllers.informers import RESOURCES, SharedInformers
from kubesvc.controllers.owners import (
    adopt_patch,
    claim,
    controller_ref,
    new_controller_ref,
    release_patch,
)
from kubesvc.controllers.pods import (
    is_deleting,
    is_pod_active,
    is_pod_ready,
    meta,
    selector_of,
    spec,
    uid_of,
)
from kubesvc.controllers.replicaset import plan
from kubesvc.controllers.tracker import Expectations
from kubesvc.controllers.worker import QueueWorker
from kubesvc.lib.runner import Clock, RealClock

Obj = dict[str, Any]

BURST_REPLICAS = 500
SMP = "application/strategic-merge-patch+json"


class ReplicaSetController:
    def __init__(
        self, client: Client, informers: SharedInformers, *, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.informers = informers
        self.clock: Clock = clock or RealClock()
        self.expectations = Expectations()
        self.recorder = Recorder(client, "replicaset-controller", self.clock)
        self.worker = QueueWorker(
            "replicaset", self.sync, [informers.replicasets, informers.pods], clock=self.clock
        )
        informers.replicasets.add_handler(self.on_replicaset)
        informers.pods.add_handler(self.on_pod)

    async def run(self, workers: int = 1) -> None:
        await self.worker.run(workers)

    # ----------------------------------------------------------------- handlers

    def on_replicaset(self, old: Obj | None, new: Obj | None) -> None:
        if new is None and old is not None:
            self.expectations.delete(key_of(old))
        self.worker.enqueue(key_of(new or old or {}))

    def _owner(self, pod: Obj, ref: Obj | None) -> Obj | None:
        if ref is None or ref.get("kind") != "ReplicaSet":
            return None
        rs = self.informers.replicasets.cache.get(f"{meta(pod).get('namespace')}/{ref.get('name')}")
        return rs if rs is not None and uid_of(rs) == ref.get("uid") else None

    def _matching(self, pod: Obj) -> list[Obj]:
        labels = meta(pod).get("labels") or {}
        candidates = self.informers.replicasets.cache.by_index(
            "namespace", str(meta(pod).get("namespace") or "")
        )
        return [
            rs
            for rs in candidates
            if not selector_of(rs).empty() and selector_of(rs).matches(labels)
        ]

    def on_pod(self, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            if old is not None:
                self._pod_gone(old)
            return
        if old is None:
            if is_deleting(new):
                self._pod_gone(new)
                return
            rs = self._owner(new, controller_ref(new))
            if rs is not None:
                self.expectations.creation_observed(key_of(rs))
                self.worker.enqueue(key_of(rs))
            elif controller_ref(new) is None:
                for candidate in self._matching(new):
                    self.worker.enqueue(key_of(candidate))
            return
        self._pod_updated(old, new)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        labels_changed = meta(old).get("labels") != meta(new).get("labels")
        if is_deleting(new):
            self._pod_gone(new)
            if labels_changed:
                self._pod_gone(old)
            return
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref != new_ref and old_ref is not None:
            previous = self._owner(old, old_ref)
            if previous is not None:
                self.worker.enqueue(key_of(previous))
        if new_ref is not None:
            rs = self._owner(new, new_ref)
            if rs is None:
                return
            self.worker.enqueue(key_of(rs))
            min_ready = int(spec(rs).get("minReadySeconds") or 0)
            if not is_pod_ready(old) and is_pod_ready(new) and min_ready > 0:
                self.worker.enqueue_after(key_of(rs), min_ready + 1.0)
            return
        if labels_changed or old_ref != new_ref:
            for candidate in self._matching(new):
                self.worker.enqueue(key_of(candidate))

    def _pod_gone(self, pod: Obj) -> None:
        rs = self._owner(pod, controller_ref(pod))
        if rs is not None:
            self.expectations.deletion_observed(key_of(rs), key_of(pod))
            self.worker.enqueue(key_of(rs))

    # ----------------------------------------------------------------- sync

    async def sync(self, key: str) -> float | None:
        rs = self.informers.replicasets.cache.get(key)
        if rs is None:
            self.expectations.delete(key)
            return None
        needs_sync = self.expectations.satisfied(key, self.clock.monotonic())
        pods = await self._claim_pods(rs)
        manage_error: str | None = None
        if needs_sync and not is_deleting(rs):
            manage_error = await self._manage_replicas(rs, pods)
        now = self.clock.now()
        new_status = plan.calculate_status(rs, pods, manage_error, now)
        updated = await self._update_status(rs, new_status)
        if manage_error is not None:
            raise RuntimeError(manage_error)
        min_ready = int(spec(updated).get("minReadySeconds") or 0)
        st = updated.get("status") or {}
        wanted = plan.replicas(updated)
        if min_ready > 0 and st.get("readyReplicas", 0) == wanted != st.get("availableReplicas", 0):
            return float(min_ready)
        return None

    async def _claim_pods(self, rs: Obj) -> list[Obj]:
        selector = selector_of(rs)
        namespace = str(meta(rs).get("namespace") or "")
        owned: list[Obj] = []
        for pod in self.informers.pods.cache.by_index("namespace", namespace):
            if not is_pod_active(pod):
                continue
            decision = claim(rs, pod, lambda p: selector.matches(meta(p).get("labels")))
            if decision == "owned" or (decision == "adopt" and await self._adopt(rs, pod)):
                owned.append(pod)
            elif decision == "release":
                await self._patch_pod(pod, release_patch(uid_of(rs), pod))
        return owned

    async def _adopt(self, rs: Obj, pod: Obj) -> bool:
        fresh = await self.client.get(
            RESOURCES.replicasets, meta(rs).get("namespace"), meta(rs)["name"]
        )
        if uid_of(fresh) != uid_of(rs) or is_deleting(fresh):
            return False
        ref = new_controller_ref(rs, "apps/v1", "ReplicaSet")
        return await self._patch_pod(pod, adopt_patch(ref, pod))

    async def _patch_pod(self, pod: Obj, body: Obj) -> bool:
        try:
            await self.client.patch(
                RESOURCES.pods, meta(pod).get("namespace"), meta(pod)["name"], body, patch_type=SMP
            )
        except StatusError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    async def _manage_replicas(self, rs: Obj, pods: list[Obj]) -> str | None:
        key = key_of(rs)
        diff = len(pods) - plan.replicas(rs)
        if diff < 0:
            count = min(-diff, BURST_REPLICAS)
            self.expectations.expect_creations(key, count, self.clock.monotonic())
            return await self._create_pods(rs, count)
        if diff > 0:
            count = min(diff, BURST_REPLICAS)
            related = self._related_pods(rs)
            victims = plan.pods_to_delete(pods, related, count, self.clock.now())
            self.expectations.expect_deletions(
                key, [key_of(p) for p in victims], self.clock.monotonic()
            )
            results = await asyncio.gather(*(self._delete_pod(rs, p) for p in victims))
            errors = [r for r in results if r is not None]
            return errors[0] if errors else None
        return None

    async def _create_pods(self, rs: Obj, count: int) -> str | None:
        """slowStartBatch: batches of 1, 2, 4, ... until one fails; the rest are skipped."""
        key, namespace = key_of(rs), meta(rs).get("namespace")
        done, batch = 0, 1
        while done < count:
            size = min(batch, count - done)
            results = await asyncio.gather(*(self._create_pod(rs, namespace) for _ in range(size)))
            failures = [r for r in results if r is not None]
            done += size
            if failures:
                for _ in range(len(failures) + count - done):
                    self.expectations.creation_observed(key)
                return failures[0]
            batch *= 2
        return None

    async def _create_pod(self, rs: Obj, namespace: str | None) -> str | None:
        try:
            created = await self.client.create(
                RESOURCES.pods, namespace, plan.pod_from_template(rs)
            )
        except StatusError as exc:
            self.recorder.event(rs, "Warning", "FailedCreate", f"Error creating: {exc.message}")
            return exc.message
        self.recorder.event(
            rs, "Normal", "SuccessfulCreate", f"Created pod: {meta(created).get('name')}"
        )
        return None

    async def _delete_pod(self, rs: Obj, pod: Obj) -> str | None:
        try:
            await self.client.delete(RESOURCES.pods, meta(pod).get("namespace"), meta(pod)["name"])
        except StatusError as exc:
            self.expectations.deletion_observed(key_of(rs), key_of(pod))
            if exc.code == 404:
                return None
            self.recorder.event(rs, "Warning", "FailedDelete", f"Error deleting: {exc.message}")
            return exc.message
        self.recorder.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}")
        return None

    def _related_pods(self, rs: Obj) -> list[Obj]:
        ref = controller_ref(rs)
        if ref is None:
            return []
        seen: dict[str, Obj] = {}
        for sibling in self.informers.replicasets.cache.by_index("controller", str(ref.get("uid"))):
            for pod in self.informers.pods.cache.by_index("controller", uid_of(sibling)):
                seen.setdefault(uid_of(pod), pod)
        return list(seen.values())

    async def _update_status(self, rs: Obj, new_status: Obj) -> Obj:
        if plan.status_unchanged(rs, new_status):
            return rs
        new_status = {**new_status, "observedGeneration": meta(rs).get("generation")}
        current = rs
        for attempt in range(2):
            body = {**current, "status": new_status}
            try:
                return await self.client.update(
                    RESOURCES.replicasets, meta(rs).get("namespace"), body, "status"
                )
            except StatusError as exc:
                if exc.code != 409 or attempt == 1:
                    raise
                current = await self.client.get(
                    RESOURCES.replicasets, meta(rs).get("namespace"), meta(rs)["name"]
                )
        return rs
