"""exec's WebSocket v5 session on 127.0.0.1 with real commands (no pod namespace): exit codes,
stdin and its end, a terminal with resizes, and a client that leaves mid-command."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import yarl
from aiohttp import web

from kubesvc.node import execstream

pytestmark = pytest.mark.timeout(30)

ENV = {"PATH": "/usr/bin:/bin"}


async def handler(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=(execstream.PROTOCOL,))
    await ws.prepare(request)
    flag = {k: request.query.get(k) == "true" for k in ("tty", "stdin", "stderr")}
    await execstream.run(ws, ["sh", "-c", request.query["script"]], ENV, **flag)
    await ws.close()
    return ws


@dataclass
class Server:
    url: yarl.URL


@pytest.fixture(params=[False, True], ids=["kept", "cancelled"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    """The agent keeps a handler whose client left; the API server cancels it: both covered."""
    app = web.Application()
    app.router.add_get("/exec", handler)
    runner = web.AppRunner(app, handler_cancellation=request.param)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield Server(yarl.URL(f"http://127.0.0.1:{port}/exec"))
    await runner.cleanup()


async def session(
    server: Server, script: str, send: list[bytes], **flags: bool
) -> list[tuple[int, bytes]]:
    query = {"script": script, **{k: "true" for k, v in flags.items() if v}}
    async with aiohttp.ClientSession() as client:
        ws = await client.ws_connect(server.url.with_query(query), protocols=(execstream.PROTOCOL,))
        for frame in send:
            await ws.send_bytes(frame)
        got = [(m.data[0], m.data[1:]) async for m in ws]
        assert ws.close_code == 1000
    return got


def joined(got: list[tuple[int, bytes]], channel: int) -> bytes:
    return b"".join(d for c, d in got if c == channel)


async def test_exit_code_and_streams(server: Server) -> None:
    got = await session(server, "echo out; echo err >&2; exit 3", [], stderr=True)
    assert (joined(got, 1), joined(got, 2)) == (b"out\n", b"err\n")
    status = json.loads(got[-1][1])
    assert got[-1][0] == 3 and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


async def test_stdin_and_its_end(server: Server) -> None:
    got = await session(server, "cat", [b"\x00abc\n", b"\x00def\n", b"\xff\x00"], stdin=True)
    assert joined(got, 1) == b"abc\ndef\n"
    assert json.loads(got[-1][1]) == {"metadata": {}, "status": "Success"}


async def test_terminal_with_resize(server: Server) -> None:
    frames = [b'\x04{"Width":100,"Height":30}\n', b"\x00stty size; tty -s && exit 5\r"]
    got = await session(server, 'read line; eval "$line"', frames, tty=True, stdin=True)
    assert b"30 100\r\n" in joined(got, 1)
    assert json.loads(got[-1][1])["details"]["causes"][0]["message"] == "5"


async def test_a_client_that_leaves_ends_the_command(server: Server, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"echo $$ > {pid_file}; exec sleep 600"
    query = {"script": script, "stdin": "true"}
    async with aiohttp.ClientSession() as client:
        ws = await client.ws_connect(server.url.with_query(query), protocols=(execstream.PROTOCOL,))
        while not pid_file.exists() or not pid_file.read_text().strip():
            await asyncio.sleep(0.05)
        pid = int(pid_file.read_text())
        await ws.close()
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the command {pid} outlived its client")
