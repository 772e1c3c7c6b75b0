"""A rate-limited work queue of keys, as client-go's `workqueue.RateLimitingInterface`.

A key is queued at most once however often it is added (`dirty`); a key being processed is not
handed to a second worker: adding it again marks it dirty and it is queued once more when the
worker calls `done()`. So handlers can add freely and every change is seen by a later sync.

`add_after(key, delay)` queues the key after a delay on the queue's clock (the earliest pending
delay wins); `add_rate_limited(key)` backs off per key exponentially (`base * 2**failures`,
capped) until `forget(key)` resets it after a successful sync. `get()` waits for a key and
returns None once `shut_down()` was called.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from kubesvc.lib.runner import Clock, RealClock


class WorkQueue:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        base_delay: float = 0.005,
        max_delay: float = 60.0,
    ) -> None:
        self.clock: Clock = clock or RealClock()
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._waiting: dict[str, float] = {}
        self._timers: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._wake.set()

    async def get(self) -> str | None:
        while not self._queue:
            if self._shutting_down:
                return None
            self._wake.clear()
            await self._wake.wait()
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake.set()

    def add_after(self, key: str, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        due = self.clock.monotonic() + delay
        if key in self._waiting and self._waiting[key] <= due:
            return
        self._waiting[key] = due
        task = asyncio.get_running_loop().create_task(self._later(key, delay, due))
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _later(self, key: str, delay: float, due: float) -> None:
        await self.clock.sleep(delay)
        if self._waiting.get(key) == due:
            del self._waiting[key]
        self.add(key)

    def when(self, key: str) -> float:
        """The back-off for the next rate-limited add of `key`."""
        failures = self._failures.get(key, 0)
        return float(min(self.max_delay, self.base_delay * 2.0**failures))

    def add_rate_limited(self, key: str) -> None:
        delay = self.when(key)
        self._failures[key] = self._failures.get(key, 0) + 1
        self.add_after(key, delay)

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    async def shut_down(self) -> None:
        self._shutting_down = True
        self._wake.set()
        for task in list(self._timers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
