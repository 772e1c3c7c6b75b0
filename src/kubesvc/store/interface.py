"""The store: one interface, several backends (SQLite embedded, etcd later).

Keys are strings in Kubernetes' layout (`/registry/services/specs/default/web`), values are
bytes (JSON documents). Every successful write advances one global revision; that revision is
the resourceVersion the API server hands out. A write is acknowledged only once it is durable.

Semantics follow etcd v3, so an etcd backend fits without changing callers:
- `create` fails with `KeyExists` when the key is present.
- `update` and `delete` take an optional `expected_revision` (the key's mod_revision); a
  mismatch raises `RevisionMismatch`, an absent key raises `KeyNotFound`.
- `txn` applies a list of operations atomically: all preconditions hold and every op is
  applied at one new revision, or nothing is written and the first failing op's error is raised.
- `watch(prefix, after_revision)` yields every change with revision > after_revision, in order,
  then live changes. If history at or before `after_revision + 1` was compacted, `TooOldError`.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True, slots=True)
class Event:
    """One change. `kv` is the new state (for DELETE: the key with the deletion's revision
    as mod_revision and the last value); `prev` is the state before (None on create)."""

    type: Literal["PUT", "DELETE"]
    kv: KeyValue
    prev: KeyValue | None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


class StoreError(Exception):
    pass


class KeyExists(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key exists: {key}")
        self.key = key


class KeyNotFound(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class RevisionMismatch(StoreError):
    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"revision mismatch on {key}: expected {expected}, have {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


class TooOldError(StoreError):
    """The requested revision was compacted away (the API answers 410 Gone)."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class StoreClosed(StoreError):
    pass


@dataclass(frozen=True, slots=True)
class Create:
    key: str
    value: bytes


@dataclass(frozen=True, slots=True)
class Update:
    key: str
    value: bytes
    expected_revision: int | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    key: str
    expected_revision: int | None = None


Op = Create | Update | Delete


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[KeyValue]
    revision: int  # the store revision the list reflects
    more: bool = False  # True when `limit` cut the list short


class WatchStream(Protocol):
    """An async iterator of Events that can be closed deterministically."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def __anext__(self) -> Event: ...

    async def aclose(self) -> None: ...


class Store(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def revision(self) -> int:
        """The newest revision written (0 for an empty store)."""
        ...

    async def get(self, key: str) -> KeyValue | None: ...

    async def list(
        self, prefix: str, *, start_after: str | None = None, limit: int | None = None
    ) -> ListResult:
        """Keys under `prefix` in key order, after `start_after` if given, at most `limit`."""
        ...

    async def create(self, key: str, value: bytes) -> KeyValue: ...

    async def update(
        self, key: str, value: bytes, *, expected_revision: int | None = None
    ) -> KeyValue: ...

    async def delete(self, key: str, *, expected_revision: int | None = None) -> KeyValue:
        """Delete and return the key's last state (mod_revision = the deletion's revision)."""
        ...

    async def txn(self, ops: Sequence[Op]) -> builtins.list[KeyValue]:
        """Apply all ops atomically at one revision; return one KeyValue per op (as above)."""
        ...

    def watch(self, prefix: str, after_revision: int) -> WatchStream:
        """Changes under `prefix` with revision > after_revision, then live ones, until
        the iterator is closed. Raises TooOldError (on first iteration) if compacted."""
        ...

    @property
    def oldest_revision(self) -> int:
        """The oldest revision still in history; a watch may start after oldest - 1."""
        ...
