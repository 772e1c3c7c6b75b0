"""The agent's port-forward session, driven as kubectl drives it: a client SPDY session through
an in-memory tunnel, targets that are real TCP servers on 127.0.0.1 (the agent's connect into a
pod's namespace replaced by a plain loopback connect)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from kubesvc.node import portforward
from kubesvc.node.spdy import GoAwayStatus
from kubesvc.node.spdysession import (
    Connection,
    DataReceived,
    GoAwayReceived,
    PingAcknowledged,
    StreamReplied,
    StreamReset,
)

pytestmark = pytest.mark.timeout(30)

BODY = os.urandom(3 * 1024 * 1024 + 17)


class MemoryTunnel:
    def __init__(self) -> None:
        self.to_agent: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.from_agent: asyncio.Queue[bytes] = asyncio.Queue()

    async def receive(self) -> bytes | None:
        return await self.to_agent.get()

    async def send(self, data: bytes) -> None:
        await self.from_agent.put(data)


@dataclass
class Kubectl:
    """The client end: kubectl's spdystream, as far as these tests need it."""

    tunnel: MemoryTunnel
    conn: Connection = field(default_factory=lambda: Connection(client=True))
    data: dict[int, bytearray] = field(default_factory=dict)
    fin: set[int] = field(default_factory=set)
    replied: set[int] = field(default_factory=set)
    resets: set[int] = field(default_factory=set)
    pongs: set[int] = field(default_factory=set)
    goaway: list[GoAwayReceived] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def flush(self, split: int = 7) -> None:
        out = self.conn.data_to_send()
        # kubectl's WebSocket messages cut frames anywhere, and some are empty
        for i in range(0, len(out), split):
            await self.tunnel.to_agent.put(out[i : i + split])
        await self.tunnel.to_agent.put(b"")

    async def pump(self) -> None:
        while True:
            data = await self.tunnel.from_agent.get()
            for event in self.conn.receive_data(data):
                if isinstance(event, StreamReplied):
                    self.replied.add(event.stream_id)
                elif isinstance(event, DataReceived):
                    self.data.setdefault(event.stream_id, bytearray()).extend(event.data)
                    if event.fin:
                        self.fin.add(event.stream_id)
                elif isinstance(event, StreamReset):
                    self.resets.add(event.stream_id)
                elif isinstance(event, PingAcknowledged):
                    self.pongs.add(event.ping_id)
                elif isinstance(event, GoAwayReceived):
                    self.goaway.append(event)
            self.changed.set()

    async def until(self, check: object) -> None:
        while not check():  # type: ignore[operator]
            self.changed.clear()
            await self.changed.wait()

    async def open_pair(self, port: int, request_id: int) -> tuple[int, int]:
        common = (("port", str(port)), ("requestid", str(request_id)))
        err = self.conn.open_stream((("streamtype", "error"), *common))
        await self.flush()
        await self.until(lambda: err in self.replied)  # as CreateStream waits for the reply
        self.conn.send_data(err, b"", fin=True)
        data = self.conn.open_stream((("streamtype", "data"), *common))
        await self.flush()
        await self.until(lambda: data in self.replied)
        return err, data


@dataclass
class Target:
    port: int = 0
    seen: list[bytes] = field(default_factory=list)  # request lines
    echoed: list[bytes] = field(default_factory=list)  # what 'echo' read until EOF


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    """A TCP server that answers a request line with BODY, or echoes after 'echo'."""
    state = Target()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        state.seen.append(line)
        if line.startswith(b"echo"):
            rest = await reader.read()  # until kubectl's FIN, or the agent's abort
            state.echoed.append(rest)
            writer.write(rest)
        else:
            writer.write(BODY)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    yield state
    server.close()
    await server.wait_closed()


@pytest.fixture
async def session() -> AsyncIterator[tuple[Kubectl, asyncio.Task[None]]]:
    tunnel = MemoryTunnel()

    async def connect(port: int) -> portforward.Streams:
        return await asyncio.open_connection("127.0.0.1", port)

    forwarder = portforward.Forwarder(
        tunnel, connect, portforward.kubelet_message("web", "uid-1", "ks-t-p-x")
    )
    agent = asyncio.create_task(forwarder.run())
    client = Kubectl(tunnel)
    pump = asyncio.create_task(client.pump())
    yield client, agent
    await tunnel.to_agent.put(None)
    await asyncio.wait_for(agent, 5)
    pump.cancel()


async def test_three_concurrent_downloads_are_byte_exact(
    session: tuple[Kubectl, asyncio.Task[None]], target: Target
) -> None:
    client, _ = session
    port, seen = target.port, target.seen
    pairs = [await client.open_pair(port, n) for n in range(3)]
    for _, data in pairs:
        client.conn.send_data(data, b"GET /\n")
    await client.flush()
    await client.until(lambda: all(e in client.fin and d in client.fin for e, d in pairs))
    digest = hashlib.sha256(BODY).hexdigest()
    for err, data in pairs:
        assert hashlib.sha256(client.data[data]).hexdigest() == digest
        assert client.data.get(err, b"") == b""  # nothing on the error streams, just FIN
    assert seen == [b"GET /\n"] * 3


async def test_half_close_reaches_the_target(
    session: tuple[Kubectl, asyncio.Task[None]], target: Target
) -> None:
    client, _ = session
    port = target.port
    err, data = await client.open_pair(port, 0)
    client.conn.send_data(data, b"echo\nround trip", fin=True)  # FIN: the local side's EOF
    await client.flush(split=3)
    await client.until(lambda: err in client.fin)
    assert bytes(client.data[data]) == b"round trip"


async def test_connect_failure_writes_the_kubelet_error(
    session: tuple[Kubectl, asyncio.Task[None]], target: Target
) -> None:
    client, _ = session
    port = target.port
    closed = portforward.socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    err, data = await client.open_pair(dead_port, 0)
    await client.until(lambda: err in client.fin and data in client.fin)
    message = bytes(client.data[err]).decode()
    assert message.startswith(
        f"error forwarding port {dead_port} to pod web, uid uid-1: failed to connect to "
        f'localhost:{dead_port} inside namespace "ks-t-p-x", IPv4: '
    )
    assert message.endswith(f"dial tcp4 127.0.0.1:{dead_port}: connect: connection refused")
    # the session is still usable for the next connection
    err2, data2 = await client.open_pair(port, 1)
    client.conn.send_data(data2, b"GET /\n")
    await client.flush()
    await client.until(lambda: err2 in client.fin)
    assert len(client.data[data2]) == len(BODY)


async def test_bad_port_header_is_an_error_on_the_error_stream(
    session: tuple[Kubectl, asyncio.Task[None]],
) -> None:
    client, _ = session
    err = client.conn.open_stream((("streamtype", "error"), ("port", "x"), ("requestid", "4")))
    data = client.conn.open_stream((("streamtype", "data"), ("port", "x"), ("requestid", "4")))
    await client.flush()
    await client.until(lambda: err in client.fin and data in client.fin)
    assert bytes(client.data[err]) == b"invalid port 'x'"


async def test_reset_aborts_the_target_and_pings_are_echoed(
    session: tuple[Kubectl, asyncio.Task[None]], target: Target
) -> None:
    client, _ = session
    port = target.port
    err, data = await client.open_pair(port, 0)
    client.conn.send_data(data, b"echo\nsome")
    await client.flush()
    while target.seen != [b"echo\n"]:
        await asyncio.sleep(0.01)
    client.conn.reset(data)  # kubectl is done with this connection
    ping = client.conn.ping()
    await client.flush()
    await client.until(lambda: ping in client.pongs and err in client.fin)
    while not target.echoed:  # the agent closed the target connection
        await asyncio.sleep(0.01)
    assert target.echoed == [b"some"]
    assert data not in client.fin  # reset, not finished


async def test_broken_input_ends_the_session_with_goaway(
    session: tuple[Kubectl, asyncio.Task[None]],
) -> None:
    client, agent = session
    await client.tunnel.to_agent.put(b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01")
    await asyncio.wait_for(agent, 5)
    await client.until(lambda: client.goaway)
    assert client.goaway == [GoAwayReceived(0, GoAwayStatus.PROTOCOL_ERROR)]
