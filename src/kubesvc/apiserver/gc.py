"""Garbage collection by ownerReferences, and the `orphan` / `foregroundDeletion` finalizers.

What kube-controller-manager's garbage collector does, in a simple level-driven form:
- a dependent all of whose owners are gone is deleted (background propagation);
- an owner being deleted with `foregroundDeletion` has its dependents deleted first, and its
  finalizer is removed once nothing refers to it;
- an owner being deleted with `orphan` has its reference removed from every dependent, then its
  finalizer is removed.

`plan` is pure: objects in, actions out. `GarbageCollector` runs a pass whenever the registry
reports a deletion (and every `interval` seconds as a safety net), at most one pass per
`min_gap` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import RESOURCES, Resource
from kubesvc.apiserver.registry import Registry

log = logging.getLogger("kubesvc.gc")

Ref = tuple[Resource, str | None, str]  # resource, namespace, name


@dataclass(slots=True)
class Actions:
    delete: list[Ref] = field(default_factory=list)
    orphan: list[tuple[Ref, str]] = field(default_factory=list)  # dependent, owner uid to drop
    finalize: list[tuple[Ref, str]] = field(default_factory=list)  # owner, finalizer to remove


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _owner_uids(obj: dict[str, Any]) -> list[str]:
    refs = _meta(obj).get("ownerReferences") or []
    return [str(r.get("uid")) for r in refs if isinstance(r, dict) and r.get("uid")]


def plan(objects: list[tuple[Resource, dict[str, Any]]]) -> Actions:
    actions = Actions()
    by_uid = {str(_meta(o).get("uid")): o for _, o in objects}
    referenced: set[str] = set()
    for res, obj in objects:
        meta = _meta(obj)
        ref: Ref = (res, meta.get("namespace"), str(meta.get("name")))
        owners = _owner_uids(obj)
        if not owners:
            continue
        referenced.update(owners)
        live = [by_uid[u] for u in owners if u in by_uid]
        if not live:
            if not meta.get("deletionTimestamp"):
                actions.delete.append(ref)
            continue
        for owner in live:
            owner_meta = _meta(owner)
            if not owner_meta.get("deletionTimestamp"):
                continue
            finalizers = owner_meta.get("finalizers") or []
            if "orphan" in finalizers:
                actions.orphan.append((ref, str(owner_meta.get("uid"))))
            elif "foregroundDeletion" in finalizers and not meta.get("deletionTimestamp"):
                actions.delete.append(ref)
    for res, obj in objects:
        meta = _meta(obj)
        if not meta.get("deletionTimestamp") or str(meta.get("uid")) in referenced:
            continue
        for name in ("orphan", "foregroundDeletion"):
            if name in (meta.get("finalizers") or []):
                ref = (res, meta.get("namespace"), str(meta.get("name")))
                actions.finalize.append((ref, name))
    return actions


class GarbageCollector:
    def __init__(self, registry: Registry, interval: float = 30.0, min_gap: float = 0.5) -> None:
        self.registry = registry
        self.interval = interval
        self.min_gap = min_gap

    async def snapshot(self) -> list[tuple[Resource, dict[str, Any]]]:
        objects: list[tuple[Resource, dict[str, Any]]] = []
        for res in RESOURCES:
            items, _, _ = await self.registry.list(res, None)
            objects.extend((res, item) for item in items)
        return objects

    async def run_once(self) -> Actions:
        actions = plan(await self.snapshot())
        for res, ns, name in actions.delete:
            options = {"propagationPolicy": "Background"}
            await self._quietly(self.registry.delete(res, ns, name, options))
        for (res, ns, name), uid in actions.orphan:
            await self._edit(res, ns, name, lambda m, uid=uid: _drop_owner(m, uid))
        for (res, ns, name), finalizer in actions.finalize:
            await self._edit(res, ns, name, lambda m, f=finalizer: _drop_finalizer(m, f))
        return actions

    async def _edit(self, res: Resource, ns: str | None, name: str, change: Any) -> None:
        async def attempt() -> None:
            current = await self.registry.get(res, ns, name)
            updated = copy.deepcopy(current)
            change(_meta(updated))
            await self.registry.update(res, ns, name, updated)

        await self._quietly(attempt())

    @staticmethod
    async def _quietly(work: Any) -> None:
        try:
            await work
        except StatusError as exc:
            if exc.code not in (404, 409):
                log.warning("garbage collection step failed: %s", exc)

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.registry.deletions.wait(), self.interval)
            self.registry.deletions.clear()
            try:
                for _ in range(10):  # cascades settle in a few passes; never spin
                    actions = await self.run_once()
                    if not (actions.delete or actions.orphan or actions.finalize):
                        break
            except Exception:
                log.exception("garbage collection pass failed")
            await asyncio.sleep(self.min_gap)


def _drop_owner(meta: dict[str, Any], uid: str) -> None:
    refs = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != uid]
    if refs:
        meta["ownerReferences"] = refs
    else:
        meta.pop("ownerReferences", None)


def _drop_finalizer(meta: dict[str, Any], name: str) -> None:
    meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != name]
    if not meta["finalizers"]:
        del meta["finalizers"]
