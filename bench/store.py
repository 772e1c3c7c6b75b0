"""Benchmark of the SQLite store (synchronous=FULL, on a temporary directory).

    PYTHONPATH=src .venv/bin/python bench/store.py [--dir DIR]

Prints one table: sequential creates (one awaited at a time), 50 concurrent clients creating
(per-create latency and throughput, average group-commit batch), again with 10 clients
reading (get) as fast as they can,
and the watch fan-out delay to 100 watchers (from the create call to each watcher's receipt).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from kubesvc.store import Event, SQLiteStore

VALUE = b'{"kind":"Service","apiVersion":"v1","metadata":{"name":"web"}}' * 8  # ~500 bytes


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def sequential(store: SQLiteStore, n: int) -> list[tuple[str, str]]:
    start = time.perf_counter()
    for i in range(n):
        await store.create(f"/seq/{i}", VALUE)
    elapsed = time.perf_counter() - start
    return [("sequential create", f"{n / elapsed:,.0f} /s ({n} creates)")]


async def concurrent(
    store: SQLiteStore, clients: int, each: int, readers: int
) -> list[tuple[str, str]]:
    latencies: list[float] = []
    read_latencies: list[float] = []
    done = False
    tag = f"r{readers}"

    async def client(n: int) -> None:
        for i in range(each):
            t0 = time.perf_counter()
            await store.create(f"/conc/{tag}/{n}/{i}", VALUE)
            latencies.append(time.perf_counter() - t0)

    async def reader(n: int) -> None:
        while not done:
            t0 = time.perf_counter()
            await store.get(f"/conc/{tag}/{n}/0")
            read_latencies.append(time.perf_counter() - t0)

    commits = store.commits
    reading = [asyncio.create_task(reader(n)) for n in range(readers)]
    start = time.perf_counter()
    try:
        await asyncio.gather(*(client(n) for n in range(clients)))
    finally:
        elapsed = time.perf_counter() - start
        done = True
        await asyncio.gather(*reading)
    total = clients * each
    batch = total / max(1, store.commits - commits)
    title = f"{clients} concurrent creates" + (f" + {readers} readers" if readers else "")
    rows = [
        (title, f"{total / elapsed:,.0f} /s, avg batch {batch:.1f}"),
        ("  create latency p50 / p99", f"{ms(pct(latencies, 0.5))} / {ms(pct(latencies, 0.99))}"),
    ]
    if readers:
        value = f"{ms(pct(read_latencies, 0.5))} / {ms(pct(read_latencies, 0.99))}"
        rows.append(("  get latency p50 / p99", value))
        rows.append(("  gets", f"{len(read_latencies) / elapsed:,.0f} /s"))
    return rows


async def fan_out(store: SQLiteStore, watchers: int, events: int) -> list[tuple[str, str]]:
    sent: dict[str, float] = {}
    delays: list[float] = []
    after = store.revision
    streams = [store.watch("/fan/", after) for _ in range(watchers)]

    async def watch(stream: AsyncIterator[Event]) -> None:
        for _ in range(events):
            event = await anext(stream)
            delays.append(time.perf_counter() - sent[event.kv.key])

    await store.create("/warm", b"")  # let every watcher subscribe before timing
    tasks = [asyncio.create_task(watch(s)) for s in streams]
    await asyncio.sleep(0.1)
    start = time.perf_counter()
    for i in range(events):
        sent[f"/fan/{i}"] = time.perf_counter()
        await store.create(f"/fan/{i}", VALUE)
        await asyncio.sleep(0.002)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return [
        (f"watch fan-out to {watchers} watchers", f"{events} events in {elapsed:.2f} s"),
        ("  create call -> watcher p50", ms(pct(delays, 0.5))),
        ("  create call -> watcher p99 / max", f"{ms(pct(delays, 0.99))} / {ms(max(delays))}"),
    ]


async def main(directory: Path) -> None:
    async with SQLiteStore(directory / "bench.db", synchronous="FULL") as store:
        rows = await sequential(store, 3000)
        rows += await concurrent(store, 50, 200, readers=0)
        rows += await concurrent(store, 50, 200, readers=10)
        rows += await fan_out(store, 100, 200)
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print("(synchronous=FULL, WAL; latencies include the fsync of the group commit)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="where to put the database (default: a temp dir)")
    args = parser.parse_args()
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(main(args.dir))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(Path(tmp)))
