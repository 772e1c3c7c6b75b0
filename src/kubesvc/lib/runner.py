"""Clocks and the one sync runner every periodic or coalesced action goes through.

`Clock` is what time-dependent code receives instead of calling `time` or `asyncio.sleep`:
`monotonic()` for intervals, `now()` for timestamps written into objects, `sleep()` to wait.
`RealClock` is the system; `FakeClock` only moves when a test calls `advance()`, which wakes
every sleeper whose deadline has passed, so timing logic is tested without waiting.

`Runner` is kube-proxy's BoundedFrequencyRunner: `request()` asks for a run; runs are spaced at
least `min_interval` apart (requests in between coalesce into one run) and happen at least every
`max_interval` even when nobody asks. A run that raises is logged and retried after
`retry_interval`. `wait_for(event, timeout, clock)` waits for an event or a clock timeout,
whichever comes first; the work queue uses it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

log = logging.getLogger("kubesvc.runner")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that stands still until `advance()`; sleepers wake in deadline order."""

    def __init__(self, start: datetime | None = None) -> None:
        self._mono = 1000.0
        self._start = start or datetime(2024, 1, 1, tzinfo=UTC)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def monotonic(self) -> float:
        return self._mono

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._mono - 1000.0)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self._mono + seconds, self._seq, future))
        await future

    def sleepers(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        while self._sleepers and self._sleepers[0][0] <= self._mono:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


async def wait_for(event: asyncio.Event, timeout: float | None, clock: Clock) -> bool:
    """Wait until `event` is set (True) or `timeout` passes on `clock` (False)."""
    if event.is_set():
        return True
    if timeout is None:
        await event.wait()
        return True
    waiter = asyncio.ensure_future(event.wait())
    sleeper = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, sleeper):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return event.is_set()


class Runner:
    """Run `fn` on request, at most every `min_interval`, at least every `max_interval`."""

    def __init__(
        self,
        name: str,
        fn: Callable[[], Awaitable[None]],
        *,
        min_interval: float,
        max_interval: float,
        retry_interval: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.fn = fn
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.retry_interval = retry_interval
        self.clock: Clock = clock or RealClock()
        self.runs = 0
        self._requested = asyncio.Event()
        self._last: float | None = None

    def request(self) -> None:
        self._requested.set()

    async def run(self) -> None:
        """Loop until cancelled; the first run happens at once."""
        self._requested.set()
        while True:
            await wait_for(self._requested, self._until_due(), self.clock)
            if self._last is not None:
                wait = self._last + self.min_interval - self.clock.monotonic()
                if wait > 0:
                    await self.clock.sleep(wait)
            self._requested.clear()
            self._last = self.clock.monotonic()
            self.runs += 1
            try:
                await self.fn()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: run failed; retrying in %.1fs", self.name, self.retry_interval)
                self._last = self.clock.monotonic() + self.retry_interval - self.min_interval
                self._requested.set()

    def _until_due(self) -> float:
        if self._last is None:
            return 0.0
        return max(0.0, self._last + self.max_interval - self.clock.monotonic())
