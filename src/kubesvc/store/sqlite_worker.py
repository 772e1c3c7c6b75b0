"""A thread that owns one resource (a SQLite connection) and serves jobs from the event loop.

`submit` queues a job (payload + asyncio future) from the loop thread. The thread takes the first
job waiting, then every job already queued (up to `max_batch`), and passes the batch to `handle`,
which runs on the thread and returns one callback; that callback goes back to the loop with a
single `call_soon_threadsafe` and resolves the batch's futures there. Jobs run in submission
order; `stop` queues a marker, so jobs submitted before it still run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

S = TypeVar("S")
P = TypeVar("P")


@dataclass(slots=True)
class Job(Generic[P]):
    payload: P
    future: asyncio.Future[Any]


def resolve(future: asyncio.Future[Any], outcome: object) -> None:
    if future.done():  # cancelled by its caller
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class Worker(threading.Thread, Generic[S, P]):
    """One thread owning one state (a connection); jobs run in FIFO order, in drained batches.

    `handle(state, jobs)` runs on the thread and returns the callback to run on the loop."""

    def __init__(
        self,
        name: str,
        loop: asyncio.AbstractEventLoop,
        setup: Callable[[], S],
        handle: Callable[[S, list[Job[P]]], Callable[[], None]],
        teardown: Callable[[S], None],
        max_batch: int,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._loop = loop
        self._setup = setup
        self._handle = handle
        self._teardown = teardown
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Job[P] | None] = queue.SimpleQueue()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.stopped: asyncio.Future[None] = loop.create_future()

    def submit(self, job: Job[P]) -> None:
        self._queue.put(job)

    def stop(self) -> None:
        self._queue.put(None)  # the stop marker

    def run(self) -> None:
        try:
            state = self._setup()
        except BaseException as exc:
            self._post(functools.partial(resolve, self.ready, exc))
            self._post(functools.partial(resolve, self.stopped, None))
            return
        self._post(functools.partial(resolve, self.ready, None))
        try:
            self._serve(state)
        finally:
            self._teardown(state)
            self._post(functools.partial(resolve, self.stopped, None))

    def _serve(self, state: S) -> None:
        stopping = False
        while not stopping:
            jobs: list[Job[P]] = []
            item = self._queue.get()
            while True:
                if item is None:
                    stopping = True
                    break
                jobs.append(item)
                if len(jobs) >= self._max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if jobs:
                try:
                    deliver = self._handle(state, jobs)
                except Exception as exc:  # the callers get the error
                    deliver = functools.partial(fail_all, jobs, exc)
                self._post(deliver)

    def _post(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self._loop.call_soon_threadsafe(callback)


def fail_all(jobs: Sequence[Job[Any]], exc: Exception) -> None:
    for job in jobs:
        resolve(job.future, exc)


def deliver_all(jobs: Sequence[Job[Any]], outcomes: Sequence[object]) -> None:
    for job, outcome in zip(jobs, outcomes, strict=True):
        resolve(job.future, outcome)
