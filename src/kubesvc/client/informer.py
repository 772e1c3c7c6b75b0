"""Informers: a list-then-watch cache of one resource, with named indexes and event handlers.

`run()` lists, replaces the cache, marks itself synced, then watches from the list's
resourceVersion; a stream the server ends is resumed from the last revision seen (bookmarks keep
that fresh), a 410 Expired starts over with a new list, a connection error is retried with
back-off. A relist reports only differences, so handlers see each change once. Handlers are
plain functions `(old, new)`; they should record the change and ask for a sync, nothing more.
Nothing should act on the cache before `has_synced()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import Resource
from kubesvc.client.rest import Client

log = logging.getLogger("kubesvc.informer")

Obj = dict[str, Any]
Handler = Callable[[Obj | None, Obj | None], None]  # (old, new); add: old None, delete: new None
IndexFunc = Callable[[Obj], list[str]]


def key_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name')}" if namespace else str(meta.get("name"))


@dataclass
class Cache:
    """Objects by `namespace/name`, plus named indexes (index name → value → keys)."""

    indexers: dict[str, IndexFunc] = field(default_factory=dict)
    objects: dict[str, Obj] = field(default_factory=dict)
    _indexes: dict[str, dict[str, set[str]]] = field(default_factory=dict)

    def get(self, key: str) -> Obj | None:
        return self.objects.get(key)

    def items(self) -> list[Obj]:
        return list(self.objects.values())

    def by_index(self, index: str, value: str) -> list[Obj]:
        keys = self._indexes.get(index, {}).get(value, set())
        return [self.objects[k] for k in sorted(keys)]

    def put(self, obj: Obj) -> Obj | None:
        key = key_of(obj)
        old = self.objects.get(key)
        if old is not None:
            self._unindex(key, old)
        self.objects[key] = obj
        for name, func in self.indexers.items():
            for value in func(obj):
                self._indexes.setdefault(name, {}).setdefault(value, set()).add(key)
        return old

    def remove(self, key: str) -> Obj | None:
        old = self.objects.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, func in self.indexers.items():
            for value in func(obj):
                bucket = self._indexes.get(name, {}).get(value)
                if bucket is not None:
                    bucket.discard(key)
                    if not bucket:
                        del self._indexes[name][value]


class Informer:
    def __init__(
        self,
        client: Client,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        indexers: dict[str, IndexFunc] | None = None,
        retry_delay: float = 1.0,
    ) -> None:
        self.client = client
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.cache = Cache(indexers=dict(indexers or {}))
        self.handlers: list[Handler] = []
        self.retry_delay = retry_delay
        self._synced = asyncio.Event()
        self._revision = ""

    def add_handler(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def _emit(self, old: Obj | None, new: Obj | None) -> None:
        for handler in self.handlers:
            try:
                handler(old, new)
            except Exception:
                log.exception("informer handler failed for %s", self.res.plural)

    async def relist(self) -> None:
        listed = await self.client.list(
            self.res,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        seen = set()
        for obj in listed["items"]:
            key = key_of(obj)
            seen.add(key)
            old = self.cache.get(key)
            if old is None or old["metadata"].get("resourceVersion") != obj["metadata"].get(
                "resourceVersion"
            ):
                self.cache.put(obj)
                self._emit(old, obj)
        for key in [k for k in self.cache.objects if k not in seen]:
            self._emit(self.cache.remove(key), None)
        self._revision = str(listed["metadata"]["resourceVersion"])
        self._synced.set()

    def _apply(self, kind: str, obj: Obj) -> None:
        revision = (obj.get("metadata") or {}).get("resourceVersion")
        if revision:
            self._revision = str(revision)
        if kind == "BOOKMARK":
            return
        if kind == "DELETED":
            old = self.cache.remove(key_of(obj))
            self._emit(old if old is not None else obj, None)
            return
        old = self.cache.put(obj)
        self._emit(old, obj)

    async def run(self) -> None:
        need_list = True
        while True:
            try:
                if need_list:
                    await self.relist()
                    need_list = False
                async for kind, obj in self.client.watch(
                    self.res,
                    self.namespace,
                    self._revision,
                    label_selector=self.label_selector,
                    field_selector=self.field_selector,
                ):
                    self._apply(kind, obj)
            except StatusError as exc:
                need_list = exc.code == 410 or need_list
                if exc.code != 410:
                    log.warning("watch %s failed: %s", self.res.plural, exc)
                    await asyncio.sleep(self.retry_delay)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("watch %s interrupted: %s; retrying", self.res.plural, exc)
                await asyncio.sleep(self.retry_delay)
