"""The embedded store: SQLite in WAL mode behind an asyncio API that never blocks the loop.

Two threads, each owning one connection (sqlite3 objects never cross threads):
- the writer takes every write request queued so far (up to `max_batch`) and applies them as one
  SQLite transaction (`Writer.apply`): group commit. Requests that arrive while a COMMIT (an
  fsync with synchronous=FULL) is in progress simply form the next batch. Each request still
  gets its own revision and its own precondition check.
- the reader serves get, list and watch-history reads, each in its own read transaction. WAL
  lets it read while the writer commits, so reads never wait for an fsync.

Each thread hands a whole batch of results back to the loop with one `call_soon_threadsafe`.
For the writer that callback runs after COMMIT returned: it advances `revision`, broadcasts the
batch's events to the watchers (`WatchHub`), then resolves the callers' futures. So a write is
acknowledged only once durable, and a read issued after the acknowledgement starts a new read
transaction that includes it (read-your-writes).

A write whose caller is cancelled may still be committed: cancellation only stops the waiting.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from kubesvc.store import sqlite_engine as engine
from kubesvc.store.interface import (
    Create,
    Delete,
    KeyValue,
    ListResult,
    Op,
    StoreClosed,
    Update,
)
from kubesvc.store.sqlite_watch import DEFAULT_BUFFER_LIMIT, WatchHub, WatchStream
from kubesvc.store.sqlite_worker import Job, Worker, deliver_all

T = TypeVar("T")


ReadFn = Callable[[sqlite3.Connection], object]  # runs on the reader thread with its connection


class SQLiteStore:
    """The `Store` protocol on one SQLite file. `await start()` before use, `close()` after.

    history: revisions kept in the log for watches (older ones are compacted away).
    synchronous: SQLite's synchronous pragma; FULL makes an acknowledged write survive power loss.
    max_batch: most requests in one group commit. watch_buffer: live events a watcher may have
    pending before it falls back to reading the log (see sqlite_watch).
    """

    def __init__(
        self,
        path: Path,
        *,
        history: int = 20000,
        synchronous: str = "FULL",
        max_batch: int = 1000,
        watch_buffer: int = DEFAULT_BUFFER_LIMIT,
    ) -> None:
        if history < 1:
            raise ValueError(f"history must be at least 1, got {history}")
        if synchronous.upper() not in engine.SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {engine.SYNCHRONOUS_MODES}")
        self.path = Path(path)
        self._history = history
        self._synchronous = synchronous.upper()
        self._max_batch = max_batch
        self._hub = WatchHub(buffer_limit=watch_buffer)
        self._writer: Worker[engine.Writer, Sequence[Op]] | None = None
        self._reader: Worker[sqlite3.Connection, ReadFn] | None = None
        self._open = False
        self._closing = False
        self._revision = 0
        self._compacted = 0
        self.commits = 0  # SQLite transactions committed by the writer (group commits)

    # lifecycle

    async def start(self) -> None:
        if self._writer is not None:
            raise RuntimeError("store already started")
        loop = asyncio.get_running_loop()
        self._writer = Worker(
            "sqlite-writer",
            loop,
            self._open_writer,
            self._handle_writes,
            lambda writer: writer.close(),
            self._max_batch,
        )
        self._writer.start()
        await self._writer.ready
        self._reader = Worker(
            "sqlite-reader",
            loop,
            lambda: engine.connect(self.path, writer=False),
            _handle_reads,
            lambda conn: conn.close(),
            self._max_batch,
        )
        self._reader.start()
        try:
            await self._reader.ready
        except BaseException:
            self._writer.stop()
            await self._writer.stopped
            raise
        self._open = True

    async def close(self) -> None:
        if not self._open or self._closing:
            return
        self._closing = True
        self._hub.close()
        workers = [w for w in (self._writer, self._reader) if w is not None]
        for worker in workers:
            worker.stop()  # queued jobs still run first
        await asyncio.gather(*(w.stopped for w in workers))
        self._open = False

    async def __aenter__(self) -> SQLiteStore:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def oldest_revision(self) -> int:
        """The oldest revision still in history; a watch may start after oldest_revision - 1."""
        return self._compacted + 1

    # reads

    async def get(self, key: str) -> KeyValue | None:
        return await self._read(functools.partial(engine.read_get, key=key))

    async def list(
        self, prefix: str, *, start_after: str | None = None, limit: int | None = None
    ) -> ListResult:
        """Keys under `prefix` in key order, after `start_after`, at most `limit` (0 or None:
        all), with the revision of the same read snapshot."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        return await self._read(
            functools.partial(
                engine.read_list, prefix=prefix, start_after=start_after, limit=limit or None
            )
        )

    def watch(self, prefix: str, after_revision: int) -> WatchStream:
        if after_revision < 0:
            raise ValueError(f"after_revision must not be negative, got {after_revision}")
        return WatchStream(
            self._hub, self._read_history, prefix, after_revision, is_open=self._is_usable
        )

    async def _read_history(
        self, prefix: str, min_revision: int, after_id: int, limit: int
    ) -> engine.HistoryPage:
        return await self._read(
            functools.partial(
                engine.read_history,
                prefix=prefix,
                min_revision=min_revision,
                after_id=after_id,
                limit=limit,
            )
        )

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        reader = self._reader
        if reader is None or not self._is_usable():
            raise StoreClosed("store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        reader.submit(Job(fn, future))
        return await future

    # writes

    async def create(self, key: str, value: bytes) -> KeyValue:
        return (await self._write((Create(key, value),)))[0]

    async def update(
        self, key: str, value: bytes, *, expected_revision: int | None = None
    ) -> KeyValue:
        return (await self._write((Update(key, value, expected_revision),)))[0]

    async def delete(self, key: str, *, expected_revision: int | None = None) -> KeyValue:
        return (await self._write((Delete(key, expected_revision),)))[0]

    async def txn(self, ops: Sequence[Op]) -> builtins.list[KeyValue]:
        keys = [op.key for op in ops]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate key given in txn request")
        if not ops:
            if not self._is_usable():
                raise StoreClosed("store is closed")
            return []
        return await self._write(tuple(ops))

    async def _write(self, ops: Sequence[Op]) -> builtins.list[KeyValue]:
        writer = self._writer
        if writer is None or not self._is_usable():
            raise StoreClosed("store is closed")
        future: asyncio.Future[builtins.list[KeyValue]] = asyncio.get_running_loop().create_future()
        writer.submit(Job(ops, future))
        return await future

    # thread side

    def _open_writer(self) -> engine.Writer:
        conn = engine.connect(self.path, synchronous=self._synchronous, writer=True)
        try:
            writer = engine.Writer(conn, self._history)
        except BaseException:
            conn.close()
            raise
        self._revision = writer.position.revision  # read by the loop once `ready` resolves
        self._compacted = writer.position.compacted
        return writer

    def _handle_writes(
        self, writer: engine.Writer, jobs: builtins.list[Job[Sequence[Op]]]
    ) -> Callable[[], None]:
        result = writer.apply([job.payload for job in jobs])
        return functools.partial(self._on_commit, jobs, result)

    def _on_commit(
        self, jobs: builtins.list[Job[Sequence[Op]]], result: engine.BatchResult
    ) -> None:
        self._revision = result.position.revision
        self._compacted = result.position.compacted
        self.commits += 1
        self._hub.broadcast(result.events)
        deliver_all(jobs, result.outcomes)

    def _is_usable(self) -> bool:
        return self._open and not self._closing


def _handle_reads(conn: sqlite3.Connection, jobs: builtins.list[Job[ReadFn]]) -> Callable[[], None]:
    outcomes: builtins.list[object] = []
    for job in jobs:
        try:
            outcomes.append(job.payload(conn))
        except Exception as exc:  # handed to the caller
            outcomes.append(exc)
    return functools.partial(deliver_all, jobs, outcomes)
