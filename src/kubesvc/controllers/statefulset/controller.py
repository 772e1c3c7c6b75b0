"""The StatefulSet controller: ordered, named pods `SET-0 … SET-(n-1)` for each StatefulSet.

Handlers (as upstream's): a set change queues it; a pod change queues its controlling set, or,
for an orphan, every set whose selector matches it. Every informer event also tells the
`WriteTracker` which version the cache now holds, so a sync never acts on a cache that does not
show the controller's own last writes (pods, revisions, the set's status): it raises StaleCache
and is retried shortly.

`sync(key)`: adopt orphaned ControllerRevisions and claim pods (selector match and a name
`SET-N`; orphans adopted after re-reading the set, owned pods that stop matching released);
find or make the update revision (`revision.choose`: create `SET-HASH`, probing the next
collision count when that name holds other data, or renumber an older equal revision); plan
with `reconciler.reconcile` and act: creates, deletes (with the pod's uid as precondition) and
identity updates in order, stopping at the first failure; with the Parallel policy each pod's
actions run concurrently with the other pods'. Then the status is written when it changed, and
revisions beyond `revisionHistoryLimit` that nothing uses are deleted. Every write is recorded
as an Event, worded as upstream's (`create Pod web-0 in StatefulSet web successful`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import Resource
from kubesvc.client import Client, key_of
from kubesvc.controllers.events import Recorder
from kubesvc.controllers.informers import RESOURCES, SharedInformers
from kubesvc.controllers.owners import adopt_patch, claim, controller_ref, release_patch
from kubesvc.controllers.owners import new_controller_ref as owner_ref
from kubesvc.controllers.pods import is_deleting, is_pod_ready, meta, selector_of, spec, uid_of
from kubesvc.controllers.statefulset import identity as ident
from kubesvc.controllers.statefulset import reconciler, revision
from kubesvc.controllers.tracker import WriteTracker
from kubesvc.controllers.worker import QueueWorker, StaleCache
from kubesvc.lib.runner import Clock, RealClock

log = logging.getLogger("kubesvc.controllers.statefulset")

Obj = dict[str, Any]
SMP = "application/strategic-merge-patch+json"
MAX_COLLISIONS = 10


def _track(res: Resource, obj: Obj) -> str:
    return f"{res.plural}/{key_of(obj)}"


def _version(obj: Obj | None) -> str | None:
    return None if obj is None else str(meta(obj).get("resourceVersion") or "")


class StatefulSetController:
    def __init__(
        self, client: Client, informers: SharedInformers, *, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.informers = informers
        self.clock: Clock = clock or RealClock()
        self.tracker = WriteTracker()
        self.recorder = Recorder(client, "statefulset-controller", self.clock)
        self.worker = QueueWorker(
            "statefulset",
            self.sync,
            [informers.statefulsets, informers.pods, informers.controllerrevisions],
            clock=self.clock,
        )
        informers.statefulsets.add_handler(self.on_statefulset)
        informers.pods.add_handler(self.on_pod)
        informers.controllerrevisions.add_handler(self.on_revision)

    async def run(self, workers: int = 1) -> None:
        await self.worker.run(workers)

    # ----------------------------------------------------------------- handlers

    def on_statefulset(self, old: Obj | None, new: Obj | None) -> None:
        obj = new or old or {}
        self.tracker.observe(_track(RESOURCES.statefulsets, obj), _version(new))
        if new is None:
            self.tracker.forget(key_of(obj))
        self.worker.enqueue(key_of(obj))

    def on_revision(self, old: Obj | None, new: Obj | None) -> None:
        obj = new or old or {}
        self.tracker.observe(_track(RESOURCES.controllerrevisions, obj), _version(new))

    def _owner(self, pod: Obj, ref: Obj | None) -> Obj | None:
        if ref is None or ref.get("kind") != "StatefulSet":
            return None
        key = f"{meta(pod).get('namespace')}/{ref.get('name')}"
        sts = self.informers.statefulsets.cache.get(key)
        return sts if sts is not None and uid_of(sts) == ref.get("uid") else None

    def _matching(self, pod: Obj) -> list[Obj]:
        labels = meta(pod).get("labels") or {}
        candidates = self.informers.statefulsets.cache.by_index(
            "namespace", str(meta(pod).get("namespace") or "")
        )
        return [s for s in candidates if selector_of(s).matches(labels)]

    def on_pod(self, old: Obj | None, new: Obj | None) -> None:
        pod = new or old or {}
        self.tracker.observe(_track(RESOURCES.pods, pod), _version(new))
        owners = [self._owner(p, controller_ref(p)) for p in (old, new) if p is not None]
        for sts in owners:
            if sts is not None:
                self.worker.enqueue(key_of(sts))
        if new is not None and controller_ref(new) is None and not is_deleting(new):
            changed = old is None or meta(old).get("labels") != meta(new).get("labels")
            if changed or controller_ref(old or {}) is not None:
                for sts in self._matching(new):
                    self.worker.enqueue(key_of(sts))
        if old is not None and new is not None and not is_pod_ready(old) and is_pod_ready(new):
            for sts in owners:
                if sts is not None and ident.min_ready_seconds(sts):
                    self.worker.enqueue_after(key_of(sts), ident.min_ready_seconds(sts) + 1.0)

    # ----------------------------------------------------------------- sync

    async def sync(self, key: str) -> float | None:
        sts = self.informers.statefulsets.cache.get(key)
        if sts is None:
            self.tracker.forget(key)
            return None
        if self.tracker.stale(key, self.clock.monotonic()):
            raise StaleCache(f"the pods or revisions of statefulset {key} are not cached yet")
        revisions = await self._claim_revisions(sts)
        pods = await self._claim_pods(sts)
        collision = (sts.get("status") or {}).get("collisionCount")
        collision = collision if isinstance(collision, int) else 0
        update, collision = await self._update_revision(sts, revisions, collision)
        current = revision.current_revision(sts, revisions, update)
        plan = reconciler.reconcile(sts, pods, current, update, collision, self.clock.now())
        if plan.waiting:
            log.debug("statefulset %s: %s", key, plan.waiting)
        await self._act(sts, plan.actions)
        if reconciler.status_changed(sts, plan.status):
            await self._update_status(sts, plan.status)
        live = {revision.name_of(current), revision.name_of(update)}
        live |= {ident.revision_of(p) for p in pods}
        await self._truncate(sts, revisions, live)
        return plan.requeue_after

    # ----------------------------------------------------------------- claiming

    async def _can_adopt(self, sts: Obj) -> bool:
        """RecheckDeletionTimestamp: adopt only for the live set of this uid."""
        res = RESOURCES.statefulsets
        fresh = await self.client.get(res, meta(sts).get("namespace"), ident.name_of(sts))
        return uid_of(fresh) == uid_of(sts) and not is_deleting(fresh)

    async def _claim(
        self, sts: Obj, res: Resource, candidates: list[Obj], member: Callable[[Obj], bool]
    ) -> list[Obj]:
        owned: list[Obj] = []
        adoptable: bool | None = None
        for obj in candidates:
            decision = claim(sts, obj, member)
            if decision == "owned":
                owned.append(obj)
            elif decision == "adopt":
                if adoptable is None:
                    adoptable = await self._can_adopt(sts)
                ref = owner_ref(sts, "apps/v1", "StatefulSet")
                if adoptable and await self._patch(res, obj, adopt_patch(ref, obj)):
                    owned.append(obj)
            elif decision == "release":
                await self._patch(res, obj, release_patch(uid_of(sts), obj))
        return owned

    async def _claim_pods(self, sts: Obj) -> list[Obj]:
        selector = selector_of(sts)

        def member(pod: Obj) -> bool:
            return selector.matches(meta(pod).get("labels")) and ident.is_member_of(sts, pod)

        namespace = str(meta(sts).get("namespace") or "")
        pods = self.informers.pods.cache.by_index("namespace", namespace)
        return await self._claim(sts, RESOURCES.pods, pods, member)

    async def _claim_revisions(self, sts: Obj) -> list[Obj]:
        selector = selector_of(sts)

        def member(rev: Obj) -> bool:
            return selector.matches(meta(rev).get("labels"))

        namespace = str(meta(sts).get("namespace") or "")
        revisions = self.informers.controllerrevisions.cache.by_index("namespace", namespace)
        return await self._claim(sts, RESOURCES.controllerrevisions, revisions, member)

    async def _patch(self, res: Resource, obj: Obj, body: Obj) -> bool:
        try:
            await self.client.patch(
                res, meta(obj).get("namespace"), meta(obj)["name"], body, patch_type=SMP
            )
        except StatusError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    # ----------------------------------------------------------------- revisions

    async def _update_revision(
        self, sts: Obj, revisions: list[Obj], collision: int
    ) -> tuple[Obj, int]:
        choice = revision.choose(sts, revisions, collision)
        if choice.action == "existing":
            return choice.revision, collision
        res, namespace = RESOURCES.controllerrevisions, meta(sts).get("namespace")
        if choice.action == "renumber":
            body = {**choice.revision, "revision": choice.number}
            updated = await self.client.update(res, namespace, body)
            self._wrote(sts, res, updated)
            return updated, collision
        wanted = choice.revision
        for _ in range(MAX_COLLISIONS):
            try:
                created = await self.client.create(res, namespace, wanted)
            except StatusError as exc:
                if exc.code != 409:
                    raise
                name = revision.name_of(wanted)
                existing = await self.client.get(res, namespace, name)
                if revision.equal_revision(existing, wanted):
                    return existing, collision
                collision += 1
                wanted = revision.new_revision(sts, revision.number_of(wanted), collision)
                continue
            self._wrote(sts, res, created)
            return created, collision
        raise RuntimeError(f"no free ControllerRevision name for {key_of(sts)}")

    async def _truncate(self, sts: Obj, revisions: list[Obj], live: set[str]) -> None:
        limit = spec(sts).get("revisionHistoryLimit")
        limit = limit if isinstance(limit, int) else 10
        res = RESOURCES.controllerrevisions
        for old in revision.to_truncate(limit, revisions, live):
            try:
                await self.client.delete(res, meta(old).get("namespace"), revision.name_of(old))
            except StatusError as exc:
                if exc.code != 404:
                    raise
            self._deleted(sts, res, old)

    # ----------------------------------------------------------------- acting

    def _cached(self, res: Resource, obj: Obj) -> Obj | None:
        informer = {
            RESOURCES.pods.plural: self.informers.pods,
            RESOURCES.statefulsets.plural: self.informers.statefulsets,
            RESOURCES.controllerrevisions.plural: self.informers.controllerrevisions,
        }[res.plural]
        return informer.cache.get(key_of(obj))

    def _wrote(self, sts: Obj, res: Resource, obj: Obj) -> None:
        """Record a write; the informer may have delivered it before the call returned."""
        version = str(meta(obj).get("resourceVersion") or "")
        now = self.clock.monotonic()
        cached = _version(self._cached(res, obj))
        self.tracker.wrote(key_of(sts), _track(res, obj), version, now, cached)

    def _deleted(self, sts: Obj, res: Resource, obj: Obj) -> None:
        still = self._cached(res, obj)
        cached = still is not None and uid_of(still) == uid_of(obj)
        self.tracker.deleted(key_of(sts), _track(res, obj), self.clock.monotonic(), cached)

    def _pod_event(self, sts: Obj, verb: str, pod: Obj, error: str | None) -> None:
        name, owner = meta(pod).get("name"), ident.name_of(sts)
        if error is None:
            message = f"{verb} Pod {name} in StatefulSet {owner} successful"
            self.recorder.event(sts, "Normal", f"Successful{verb.title()}", message)
        else:
            message = f"{verb} Pod {name} in StatefulSet {owner} failed error: {error}"
            self.recorder.event(sts, "Warning", f"Failed{verb.title()}", message)

    async def _act(self, sts: Obj, actions: tuple[reconciler.Action, ...]) -> None:
        if spec(sts).get("podManagementPolicy") != "Parallel":
            await self._run(sts, list(actions))
            return
        groups: dict[str, list[reconciler.Action]] = {}
        for action in actions:
            groups.setdefault(str(meta(action.pod).get("name")), []).append(action)
        results = await asyncio.gather(
            *(self._run(sts, group) for group in groups.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _run(self, sts: Obj, actions: list[reconciler.Action]) -> None:
        for action in actions:
            if action.event is not None:
                self.recorder.event(sts, "Warning", *action.event)
            await self._apply(sts, action)

    async def _apply(self, sts: Obj, action: reconciler.Action) -> None:
        res, pod = RESOURCES.pods, action.pod
        namespace, name = meta(sts).get("namespace"), str(meta(pod).get("name"))
        try:
            if action.verb == "create":
                done = await self.client.create(res, namespace, pod)
            elif action.verb == "update":
                done = await self.client.update(res, namespace, pod)
            else:
                done = await self.client.delete(res, namespace, name, uid=uid_of(pod))
        except StatusError as exc:
            if action.verb == "delete" and exc.code == 404:
                return
            if not (action.verb == "create" and exc.reason == "AlreadyExists"):
                self._pod_event(sts, action.verb, pod, exc.message)
            raise
        self._pod_event(sts, action.verb, pod, None)
        if action.verb == "delete" and not meta(done).get("deletionTimestamp"):
            self._deleted(sts, res, pod)
        else:
            self._wrote(sts, res, done)

    async def _update_status(self, sts: Obj, new_status: Obj) -> None:
        res, namespace = RESOURCES.statefulsets, meta(sts).get("namespace")
        current = sts
        for attempt in range(3):
            try:
                updated = await self.client.update(
                    res, namespace, {**current, "status": new_status}, "status"
                )
            except StatusError as exc:
                if exc.code != 409 or attempt == 2:
                    raise
                current = await self.client.get(res, namespace, ident.name_of(sts))
                continue
            self._wrote(sts, res, updated)
            return
