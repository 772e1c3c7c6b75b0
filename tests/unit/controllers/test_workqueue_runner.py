"""The work queue (dedup, in-flight re-adds, delays, back-off) and the runner, on a fake clock."""

from __future__ import annotations

import asyncio

from kubesvc.lib.runner import FakeClock, Runner, wait_for
from kubesvc.lib.workqueue import WorkQueue


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_keys_are_deduplicated_and_readded_after_done() -> None:
    queue = WorkQueue(clock=FakeClock())
    queue.add("a")
    queue.add("b")
    queue.add("a")
    assert len(queue) == 2
    first = await queue.get()
    assert first == "a"
    queue.add("a")  # while processing: not handed out twice
    assert await queue.get() == "b"
    assert len(queue) == 0
    queue.done("a")
    assert await queue.get() == "a"
    queue.done("a")
    queue.done("b")
    assert len(queue) == 0


async def test_delays_and_backoff_follow_the_clock() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock=clock, base_delay=1.0, max_delay=4.0)
    queue.add_after("late", 10)
    queue.add_after("late", 20)  # the earlier one wins
    await settle()
    clock.advance(9)
    await settle()
    assert len(queue) == 0
    clock.advance(1)
    await settle()
    assert await queue.get() == "late"
    queue.done("late")
    assert [queue.when("k") for _ in range(1)] == [1.0]
    queue.add_rate_limited("k")
    queue.add_rate_limited("k")
    queue.add_rate_limited("k")
    assert queue.num_requeues("k") == 3 and queue.when("k") == 4.0
    queue.forget("k")
    assert queue.when("k") == 1.0
    await queue.shut_down()
    assert await queue.get() is None


async def test_wait_for_event_or_clock() -> None:
    clock = FakeClock()
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_for(event, 5, clock))
    await settle()
    clock.advance(5)
    assert await waiter is False
    waiter = asyncio.create_task(wait_for(event, 5, clock))
    await settle()
    event.set()
    assert await waiter is True


async def test_runner_coalesces_requests_and_runs_periodically() -> None:
    clock = FakeClock()
    calls: list[float] = []

    async def fn() -> None:
        calls.append(clock.monotonic())
        if len(calls) == 3:
            raise RuntimeError("boom")

    runner = Runner("t", fn, min_interval=1, max_interval=10, retry_interval=2, clock=clock)
    task = asyncio.create_task(runner.run())
    await settle()
    assert calls == [1000.0]
    runner.request()
    runner.request()
    await settle()
    assert calls == [1000.0]  # within min_interval
    clock.advance(1)
    await settle()
    assert calls == [1000.0, 1001.0]
    clock.advance(10)
    await settle()
    assert calls == [1000.0, 1001.0, 1011.0]  # periodic; this run fails
    clock.advance(2)
    await settle()
    assert calls[-1] == 1013.0  # retried after retry_interval
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
