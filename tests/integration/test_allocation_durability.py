"""The allocation table under load, across restarts and `kill -9`, through the real server."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kubesvc.apiserver.allocation import IP_PREFIX, PORT_PREFIX
from kubesvc.store import open_store
from tests.conftest import ApiServer, start_apiserver

pytestmark = pytest.mark.integration

RANGE = ipaddress.IPv4Network("10.96.0.0/12")


def service(name: str, node_port: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": name}, "ports": [{"port": 80}]}
    if node_port:
        spec["type"] = "NodePort"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


async def create_many(url: str, names: list[str], clients: int) -> dict[str, dict[str, Any]]:
    created: dict[str, dict[str, Any]] = {}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for name in names:
        queue.put_nowait(name)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            name = queue.get_nowait()
            body = service(name, node_port=name.endswith("0"))
            async with session.post(f"{url}/api/v1/namespaces/default/services", json=body) as r:
                assert r.status == 201, await r.text()
                created[name] = await r.json()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(clients)))
    return created


async def delete_many(url: str, names: list[str]) -> None:
    async with aiohttp.ClientSession() as session:
        for name in names:
            async with session.delete(f"{url}/api/v1/namespaces/default/services/{name}") as r:
                assert r.status == 200, await r.text()


async def table_keys(data_dir: Path) -> tuple[set[str], set[int]]:
    store = open_store(data_dir)
    await store.start()
    try:
        ips = {kv.key.removeprefix(IP_PREFIX) for kv in (await store.list(IP_PREFIX)).items}
        ports = {
            int(kv.key.removeprefix(PORT_PREFIX)) for kv in (await store.list(PORT_PREFIX)).items
        }
    finally:
        await store.close()
    return ips, ports


def wait_for_log(server: ApiServer, text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server.log()
        if text in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in log:\n{server.log()[-3000:]}")


def test_concurrent_allocation_restart_and_repair(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path, "--repair-interval", "0.3")
    try:
        names = [f"svc-{i}" for i in range(2000)]
        created = asyncio.run(create_many(server.url, names, clients=20))
        ips = [obj["spec"]["clusterIP"] for obj in created.values()]
        assert len(set(ips)) == 2000
        assert all(ipaddress.IPv4Address(ip) in RANGE for ip in ips)
        assert "10.96.0.1" not in ips  # the kubernetes Service's address
        node_ports = [
            p["nodePort"] for o in created.values() for p in o["spec"]["ports"] if "nodePort" in p
        ]
        assert len(node_ports) == 200 and len(set(node_ports)) == 200
        asyncio.run(delete_many(server.url, names[::2]))
    finally:
        server.stop()
    kept = {name: created[name] for name in names[1::2]}
    ips_left, ports_left = asyncio.run(table_keys(tmp_path))
    expected_ips = {o["spec"]["clusterIP"] for o in kept.values()} | {"10.96.0.1"}
    assert ips_left == expected_ips
    assert ports_left == {
        p["nodePort"] for o in kept.values() for p in o["spec"]["ports"] if "nodePort" in p
    }

    # plant an entry no Service claims; repair frees it after several passes
    async def plant() -> None:
        store = open_store(tmp_path)
        await store.start()
        await store.create(f"{IP_PREFIX}10.96.0.77", b'{"planted":true}')
        await store.close()

    asyncio.run(plant())
    server.start()
    try:
        log = wait_for_log(server, "repair pass restored=0 suspected_leaks=1 warnings=0")
        assert "repair freed" not in log
        wait_for_log(server, f"repair freed leaked allocation {IP_PREFIX}10.96.0.77")
        claim = asyncio.run(_create_fixed(server.url, "reuse", "10.96.0.77"))
        assert claim == 201
    finally:
        server.stop()


async def _create_fixed(url: str, name: str, ip: str) -> int:
    body = service(name)
    body["spec"]["clusterIP"] = ip
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/api/v1/namespaces/default/services", json=body) as r,
    ):
        return r.status


def test_kill_9_keeps_acknowledged_creates(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path)
    acknowledged: list[str] = []

    async def burst() -> None:
        async def worker(session: aiohttp.ClientSession, worker_id: int) -> None:
            for i in range(100000):
                name = f"k{worker_id}-{i}"
                try:
                    async with session.post(
                        f"{server.url}/api/v1/namespaces/default/services", json=service(name)
                    ) as r:
                        if r.status == 201:
                            acknowledged.append(name)
                except aiohttp.ClientError:
                    return

        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(worker(session, w)) for w in range(10)]
            await asyncio.sleep(1.5)
            server.kill()  # SIGKILL mid-burst
            await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run(burst())
        assert len(acknowledged) > 50
        server.start()

        async def names() -> set[str]:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{server.url}/api/v1/namespaces/default/services") as r,
            ):
                body = json.loads(await r.text())
            return {item["metadata"]["name"] for item in body["items"]}

        present = asyncio.run(names())
        missing = [n for n in acknowledged if n not in present]
        assert missing == []
    finally:
        server.stop()
