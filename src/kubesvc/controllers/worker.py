"""The loop every queue-driven controller runs: wait for the caches, then sync keys.

A controller's informer handlers only `enqueue()` keys (namespace/name). `run(workers)` waits
until every informer it reads has synced (nothing acts on a partial cache), then runs that many
workers; each takes a key, awaits `sync(key)` and marks it done. A sync may return a delay to be
called again later (minReadySeconds, progress deadlines); one that raises is retried with
per-key exponential back-off up to `max_retries` times, as client-go controllers do, then
dropped until the next change enqueues the key again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from kubesvc.api.errors import StatusError
from kubesvc.client import Informer
from kubesvc.lib.runner import Clock, RealClock
from kubesvc.lib.workqueue import WorkQueue

Sync = Callable[[str], Awaitable[float | None]]


class StaleCache(Exception):
    """The cache does not show the controller's own last writes yet; retry shortly."""


class QueueWorker:
    max_retries = 15

    def __init__(
        self,
        name: str,
        sync: Sync,
        informers: Sequence[Informer],
        *,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.sync = sync
        self.informers = list(informers)
        self.clock: Clock = clock or RealClock()
        self.queue = WorkQueue(clock=self.clock)
        self.log = logging.getLogger(f"kubesvc.controllers.{name}")

    def enqueue(self, key: str) -> None:
        self.queue.add(key)

    def enqueue_after(self, key: str, delay: float) -> None:
        self.queue.add_after(key, delay)

    async def run(self, workers: int = 1) -> None:
        for informer in self.informers:
            await informer.wait_synced()
        self.log.info("caches synced; starting %d worker(s)", workers)
        tasks = [asyncio.create_task(self._work()) for _ in range(max(1, workers))]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.queue.shut_down()

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                again = await self.sync(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._retry(key, exc)
            else:
                self.queue.forget(key)
                if again is not None:
                    self.queue.add_after(key, again)
            finally:
                self.queue.done(key)

    def _retry(self, key: str, exc: Exception) -> None:
        if self.queue.num_requeues(key) >= self.max_retries:
            self.log.warning("dropping %s after %d retries: %s", key, self.max_retries, exc)
            self.queue.forget(key)
            return
        if isinstance(exc, StaleCache):
            self.log.debug("sync %s: %s; retrying", key, exc)
        elif isinstance(exc, StatusError):
            self.log.info("sync %s: %s; retrying", key, exc)
        else:
            self.log.error("sync %s failed; retrying", key, exc_info=exc)
        self.queue.add_rate_limited(key)
