"""API server latency and watch fan-out, one command: `python bench/api.py`.

Starts a real `kubesvc apiserver` on a temporary data dir and prints:
- p50/p99 latency of Service create and get at 1, 10 and 50 concurrent clients;
- the delay from a write to its event at 100 concurrent watchers;
next to the Kubernetes API SLOs (p99 <= 1 s for mutating calls) and our aims
(mutating p99 <= 50 ms at 50 clients, fan-out <= 100 ms).

The peer, measured in the same run with the same client: a bare aiohttp server that answers
every request with a fixed JSON body and does nothing else. It is the floor of this HTTP stack
on this machine: what kubesvc adds above it is decoding, validation, allocation and the store.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.conftest import start_apiserver  # noqa: E402

REQUESTS_PER_CLIENT = 40


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def measure(url: str, clients: int, prefix: str) -> tuple[list[float], list[float]]:
    creates: list[float] = []
    gets: list[float] = []
    base = f"{url}/api/v1/namespaces/default/services"

    async def worker(session: aiohttp.ClientSession, wid: int) -> None:
        for i in range(REQUESTS_PER_CLIENT):
            name = f"{prefix}-{wid}-{i}"
            body = {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name},
                "spec": {"ports": [{"port": 80}], "selector": {"app": name}},
            }
            start = time.perf_counter()
            async with session.post(base, json=body) as resp:
                await resp.read()
                assert resp.status == 201, resp.status
            creates.append(time.perf_counter() - start)
            start = time.perf_counter()
            async with session.get(f"{base}/{name}") as resp:
                await resp.read()
            gets.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, w) for w in range(clients)))
    return creates, gets


async def fanout(url: str, watchers: int, writes: int) -> list[float]:
    delays: list[float] = []
    sent: dict[str, float] = {}
    ready = asyncio.Event()
    started = 0

    async def watch(session: aiohttp.ClientSession) -> None:
        nonlocal started
        async with session.get(
            f"{url}/api/v1/namespaces/fan/configmaps?watch=true&resourceVersion=0"
        ) as resp:
            started += 1
            if started == watchers:
                ready.set()
            seen = 0
            async for line in resp.content:
                event = json.loads(line)
                name = event["object"]["metadata"]["name"]
                if name in sent:
                    delays.append(time.perf_counter() - sent[name])
                    seen += 1
                    if seen == writes:
                        return

    connector = aiohttp.TCPConnector(limit=watchers + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(f"{url}/api/v1/namespaces", json={"metadata": {"name": "fan"}}):
            pass
        tasks = [asyncio.create_task(watch(session)) for _ in range(watchers)]
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(0.5)
        for i in range(writes):
            name = f"cm-{i}"
            sent[name] = time.perf_counter()
            async with session.post(
                f"{url}/api/v1/namespaces/fan/configmaps",
                json={"metadata": {"name": name}, "data": {"k": "v"}},
            ) as r:
                await r.read()
            await asyncio.sleep(0.05)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return delays


PEER = """
import sys
from aiohttp import web
BODY = b'{"kind":"Service","apiVersion":"v1","metadata":{"name":"x"}}'
async def answer(request):
    await request.read()
    return web.Response(body=BODY, status=201 if request.method == "POST" else 200,
                        content_type="application/json")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def peer_rows() -> list[str]:
    from tests.conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", PEER, str(port)])
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        rows = []
        for clients in (1, 10, 50):
            creates, gets = asyncio.run(measure(f"http://127.0.0.1:{port}", clients, "p"))
            rows.append(
                f"{f'peer POST, {clients} clients':<34}{pct(creates, 0.5):>10.1f}"
                f"{pct(creates, 0.99):>10.1f}{'bare aiohttp':>22}"
            )
            rows.append(
                f"{f'peer GET, {clients} clients':<34}{pct(gets, 0.5):>10.1f}"
                f"{pct(gets, 0.99):>10.1f}{'bare aiohttp':>22}"
            )
        return rows
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_apiserver(Path(tmp))
        try:
            print(f"{'measurement':<34}{'p50 ms':>10}{'p99 ms':>10}{'aim / SLO':>22}")
            for clients in (1, 10, 50):
                creates, gets = asyncio.run(measure(server.url, clients, f"b{clients}"))
                print(
                    f"{f'create, {clients} clients':<34}{pct(creates, 0.5):>10.1f}"
                    f"{pct(creates, 0.99):>10.1f}{'p99 <= 50 / 1000':>22}"
                )
                print(
                    f"{f'get, {clients} clients':<34}{pct(gets, 0.5):>10.1f}"
                    f"{pct(gets, 0.99):>10.1f}{'p99 <= 1000':>22}"
                )
            delays = asyncio.run(fanout(server.url, 100, 20))
            print(
                f"{'write -> event, 100 watchers':<34}{pct(delays, 0.5):>10.1f}"
                f"{pct(delays, 0.99):>10.1f}{'p99 <= 100':>22}"
            )
        finally:
            server.stop()
    for row in peer_rows():
        print(row)
    print(f"\n{len(delays)} event deliveries, mean {statistics.mean(delays) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
