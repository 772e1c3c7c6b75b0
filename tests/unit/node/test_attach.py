"""The agent's /attach endpoint on 127.0.0.1: real container processes, a real WebSocket client
speaking v5.channel.k8s.io as kubectl does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from kubesvc.node import runtime
from kubesvc.node.server import ERROR_HEADER, KubeletServer

pytestmark = pytest.mark.timeout(30)

PROTOCOL = "v5.channel.k8s.io"


@dataclass
class FakeLife:
    process: runtime.Process | None


@dataclass
class FakeWorker:
    pod: dict[str, Any]
    lives: dict[str, FakeLife] = field(default_factory=dict)


@pytest.fixture
async def agent(tmp_path: Path) -> AsyncIterator[tuple[TestServer, dict[str, FakeWorker]]]:
    workers: dict[str, FakeWorker] = {}
    server = TestServer(KubeletServer(tmp_path, workers).app(), host="127.0.0.1")  # type: ignore[arg-type]
    await server.start_server()
    yield server, workers
    await server.close()


async def start(
    workers: dict[str, FakeWorker], tmp_path: Path, script: str, **stdio: bool
) -> runtime.Process:
    process = await runtime.start(
        ["sh", "-c", script], {"PATH": "/usr/bin:/bin"}, tmp_path / "c" / "0.log", **stdio
    )
    workers["uid"] = FakeWorker(
        pod={"metadata": {"namespace": "default", "name": "box"}},
        lives={"c": FakeLife(process)},
    )
    return process


async def frames(ws: aiohttp.ClientWebSocketResponse) -> list[tuple[int, bytes]]:
    got = []
    async for msg in ws:
        assert msg.type == aiohttp.WSMsgType.BINARY
        got.append((msg.data[0], msg.data[1:]))
    return got


async def test_attach_with_stdin_once(
    agent: tuple[TestServer, dict[str, FakeWorker]], tmp_path: Path
) -> None:
    server, workers = agent
    script = 'while read l; do echo "out $l"; echo "err $l" >&2; done; exit 3'
    process = await start(workers, tmp_path, script, stdin=True, stdin_once=True)
    url = server.make_url("/attach/default/box/c?stdin=true&stdout=true&stderr=true")
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, protocols=(PROTOCOL,))
        assert ws.protocol == PROTOCOL
        await ws.send_bytes(b"\x00hello\n")
        await asyncio.sleep(0.3)  # output of the first line, before stdin ends
        await ws.send_bytes(b"\xff\x00")  # kubectl: stdin ended → stdinOnce closes it
        got = await frames(ws)
        assert ws.close_code == 1000
    assert await process.wait() == 3
    by_channel = {ch: b"".join(d for c, d in got if c == ch) for ch in (1, 2)}
    assert by_channel == {1: b"out hello\n", 2: b"err hello\n"}
    assert got[-1] == (3, json.dumps({"metadata": {}, "status": "Success"}).encode())


async def test_two_clients_see_live_output_and_stdin_stays_open(
    agent: tuple[TestServer, dict[str, FakeWorker]], tmp_path: Path
) -> None:
    server, workers = agent
    process = await start(workers, tmp_path, 'while read l; do echo "got $l"; done', stdin=True)
    url = server.make_url("/attach/default/box/c?stdin=true&stdout=true&stderr=true")
    async with aiohttp.ClientSession() as session:
        first = await session.ws_connect(url, protocols=(PROTOCOL,))
        second = await session.ws_connect(
            server.make_url("/attach/default/box/c?stdout=true"), protocols=(PROTOCOL,)
        )
        await asyncio.sleep(0.2)
        await first.send_bytes(b"\x00one\n")
        await first.send_bytes(b"\xff\x00")  # no stdinOnce: the container's stdin stays open
        msg = await second.receive(timeout=5)
        assert msg.data == b"\x01got one\n"
        await first.close()  # detach
        assert process.io.stdin_open
        process.io.close_stdin()
        rest = await frames(second)
    assert await process.wait() == 0
    assert rest == [(3, b'{"metadata": {}, "status": "Success"}')]


async def test_attach_to_a_stopped_container_is_refused_before_the_upgrade(
    agent: tuple[TestServer, dict[str, FakeWorker]], tmp_path: Path
) -> None:
    server, workers = agent
    process = await start(workers, tmp_path, "exit 0")
    await process.wait()
    async with aiohttp.ClientSession() as session:
        for path in ("/attach/default/box/c?stdout=true", "/attach/default/other/c"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
                await session.ws_connect(server.make_url(path), protocols=(PROTOCOL,))
            assert caught.value.status == 400
            assert caught.value.headers is not None
            assert caught.value.headers[ERROR_HEADER].endswith("is not running")


async def test_tty_attach_merges_output_and_resizes(
    agent: tuple[TestServer, dict[str, FakeWorker]], tmp_path: Path
) -> None:
    server, workers = agent
    script = "read x; stty size; echo err >&2"
    process = await start(workers, tmp_path, script, stdin=True, tty=True, stdin_once=True)
    url = server.make_url("/attach/default/box/c?stdin=true&stdout=true&tty=true")
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, protocols=(PROTOCOL,))
        await ws.send_bytes(b'\x04{"Width":101,"Height":31}\n')  # kubectl's first two resizes
        await ws.send_bytes(b'\x04{"Width":100,"Height":30}\n')
        await ws.send_bytes(b"\x04not json")  # ignored
        await ws.send_bytes(b"\x00go\r")
        got = await frames(ws)
    assert await process.wait() == 0
    output = b"".join(d for c, d in got if c == 1)
    assert b"30 100\r\n" in output and b"err\r\n" in output
    assert {c for c, _ in got} == {1, 3}
