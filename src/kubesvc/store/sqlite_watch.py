"""Watch fan-out: one broadcast per commit, one bounded buffer per watcher, replay from the log.

Runs on the event loop thread only. `WatchHub.broadcast` gets the events of one committed batch
(in commit order) and appends, for each distinct watched prefix, the matching events to every
subscriber's buffer, then wakes it. Writers never wait for watchers.

`WatchStream` is the iterator a caller gets. On its first `__anext__` it subscribes *first* and
only then reads history from the log: an event committed before the subscription is in the
history read, one broadcast after it is in the buffer, and some may be in both. Every event
carries its log row id, and the stream keeps its position (revision, id) so it skips what it
already produced: no gap, no duplicate. History is read in pages; the stream turns to its live
buffer once a page comes back short.

A slow watcher: when a subscriber's buffer would exceed `buffer_limit` events, the hub drops the
buffer and flags it `overflowed`. The stream then re-arms the subscription and goes back to paging
through the log from its own position, so it still sees every event, and memory stays bounded.
Only if the log was compacted past its position does it end with `TooOldError` (what Kubernetes
answers with 410 Gone). The same check guards the start: a watch after a revision older than
`compacted` (i.e. after_revision < oldest_revision - 1) raises `TooOldError` on first iteration.

`WatchHub.close` ends every stream: they stop iterating (StopAsyncIteration). Leaving a stream
(`aclose()`, or dropping it after `break`) unsubscribes it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from kubesvc.store.interface import Event, StoreClosed, TooOldError
from kubesvc.store.sqlite_engine import HistoryPage, LogEvent

DEFAULT_BUFFER_LIMIT = 10_000
HISTORY_PAGE = 1_000

HistoryReader = Callable[[str, int, int, int], Awaitable[HistoryPage]]
"""(prefix, min_revision, after_id, limit) -> a page of the log, see `read_history`."""


class Subscription:
    """A watcher's live buffer, filled by the hub."""

    __slots__ = ("closed", "overflowed", "pending", "prefix", "wake")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.pending: deque[LogEvent] = deque()
        self.wake = asyncio.Event()
        self.overflowed = False
        self.closed = False


class WatchHub:
    def __init__(self, *, buffer_limit: int = DEFAULT_BUFFER_LIMIT) -> None:
        self.buffer_limit = buffer_limit
        self._by_prefix: dict[str, set[Subscription]] = {}
        self.closed = False

    def subscribe(self, prefix: str) -> Subscription:
        sub = Subscription(prefix)
        if self.closed:
            sub.closed = True
        else:
            self._by_prefix.setdefault(prefix, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._by_prefix.get(sub.prefix)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_prefix[sub.prefix]

    @property
    def watcher_count(self) -> int:
        return sum(len(subs) for subs in self._by_prefix.values())

    def broadcast(self, events: Sequence[LogEvent]) -> None:
        if not events:
            return
        # Snapshots: a stream dropped by the garbage collector may unsubscribe meanwhile.
        for prefix, subs in tuple(self._by_prefix.items()):
            matched = [item for item in events if item[1].kv.key.startswith(prefix)]
            if not matched:
                continue
            for sub in tuple(subs):
                if sub.overflowed:
                    continue
                if len(sub.pending) + len(matched) > self.buffer_limit:
                    sub.pending.clear()
                    sub.overflowed = True
                else:
                    sub.pending.extend(matched)
                sub.wake.set()

    def close(self) -> None:
        self.closed = True
        for subs in tuple(self._by_prefix.values()):
            for sub in tuple(subs):
                sub.closed = True
                sub.pending.clear()
                sub.wake.set()
        self._by_prefix.clear()


class WatchStream:
    """Changes under `prefix` with revision > after_revision: history, then live."""

    def __init__(
        self,
        hub: WatchHub,
        read_history: HistoryReader,
        prefix: str,
        after_revision: int,
        *,
        is_open: Callable[[], bool],
        page_size: int = HISTORY_PAGE,
    ) -> None:
        self._hub = hub
        self._read_history = read_history
        self._prefix = prefix
        self._is_open = is_open
        self._page_size = page_size
        # Position: the next event must have revision >= _min_revision and id > _last_id.
        self._min_revision = after_revision + 1
        self._last_id = 0
        self._sub: Subscription | None = None
        self._catching_up = True
        self._ready: deque[Event] = deque()
        self._finished = False

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._ready:
                return self._ready.popleft()
            if self._finished:
                raise StopAsyncIteration
            sub = self._sub
            if sub is None:
                if not self._is_open():
                    self._finished = True
                    raise StoreClosed("store is closed")
                sub = self._sub = self._hub.subscribe(self._prefix)
            if sub.closed:
                self._finish()
            elif self._catching_up or sub.overflowed:
                sub.overflowed = False  # re-arm before reading, so nothing falls in between
                await self._next_page(sub)
            else:
                await self._take_live(sub)

    async def aclose(self) -> None:
        self._finish()
        self._ready.clear()

    def __del__(self) -> None:
        if self._sub is not None:
            self._hub.unsubscribe(self._sub)

    def _finish(self) -> None:
        self._finished = True
        if self._sub is not None:
            self._hub.unsubscribe(self._sub)
            self._sub.pending.clear()

    async def _next_page(self, sub: Subscription) -> None:
        # If the caller is cancelled while the read runs, the position stays where it was and
        # the next __anext__ reads the same page again.
        try:
            page = await self._read_history(
                self._prefix, self._min_revision, self._last_id, self._page_size
            )
        except StoreClosed:
            self._finish()
            return
        except Exception:
            self._finish()
            raise
        if sub.closed:
            self._finish()
            return
        if self._min_revision <= page.compacted:
            self._finish()
            raise TooOldError(self._min_revision - 1, page.compacted + 1)
        self._stage(page.events)
        self._catching_up = len(page.events) >= self._page_size

    async def _take_live(self, sub: Subscription) -> None:
        if not sub.pending:
            sub.wake.clear()
            await sub.wake.wait()
            return  # re-check closed / overflowed first
        items = list(sub.pending)
        sub.pending.clear()
        self._stage(items)

    def _stage(self, items: Sequence[LogEvent]) -> None:
        """Queue events not produced yet and advance the position past them."""
        min_revision, last_id = self._min_revision, self._last_id
        for log_id, event in items:
            if log_id > last_id and event.kv.mod_revision >= min_revision:
                self._ready.append(event)
                min_revision, last_id = event.kv.mod_revision, log_id
        self._min_revision, self._last_id = min_revision, last_id
