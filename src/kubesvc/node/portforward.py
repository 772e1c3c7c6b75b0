"""Port forwarding at the node agent (the kubelet's /portForward), over kubectl's SPDY/3.1 session.

The API server relays kubectl's tunnel here as a WebSocket whose binary messages carry the raw
SPDY byte stream (subprotocol `SPDY/3.1+portforward.k8s.io`; messages split frames anywhere and
may be empty). For every local connection kubectl opens two streams, `streamtype: error` then
`streamtype: data`, both with `port` (the container port) and `requestid`; each gets its
SYN_REPLY at once, since kubectl waits for it before opening the next. When the data stream
arrives, the agent connects to 127.0.0.1:PORT with a socket made inside the pod's network
namespace and copies bytes both ways:

- target → kubectl: reads of up to 32 KiB become DATA frames; each send waits for the WebSocket
  (back-pressure). At the target's EOF the data stream gets its FIN, then the error stream does,
  which is what tells kubectl the connection is over.
- kubectl → target: written as it arrives; credit goes back (WINDOW_UPDATE) once the bytes are
  handed to the socket, and reading the tunnel pauses while a target's send buffer holds more
  than 1 MiB. kubectl's FIN half-closes the target; its RST_STREAM aborts the connection.

A failed connect writes the kubelet's message on the error stream, which kubectl prints (kubectl
1.32 then ends the whole session, as it does against a real kubelet), and finishes both streams.
The session echoes PINGs; everything ends when the tunnel closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import WSMsgType, web

from kubesvc.net import ip
from kubesvc.node.spdy import ProtocolError, RstStatus
from kubesvc.node.spdysession import (
    Connection,
    DataReceived,
    Event,
    StreamClosed,
    StreamOpened,
    StreamReset,
)

log = logging.getLogger("kubesvc.node")

PROTOCOL = "SPDY/3.1+portforward.k8s.io"
READ_SIZE = 32 * 1024
HIGH_WATER = 1024 * 1024
CONNECT_TIMEOUT = 10.0

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connect = Callable[[int], Awaitable[Streams]]


class Tunnel(Protocol):
    """The byte pipe the SPDY session runs on."""

    async def receive(self) -> bytes | None: ...  # None: closed

    async def send(self, data: bytes) -> None: ...


class WebSocketTunnel:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def receive(self) -> bytes | None:
        while True:
            msg = await self.ws.receive()
            if msg.type == WSMsgType.BINARY:
                return bytes(msg.data)  # b"" is a message like any other, not the end
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return None

    async def send(self, data: bytes) -> None:
        await self.ws.send_bytes(data)


@dataclass(eq=False)
class _Pair:
    """The error and data streams of one forwarded connection (one `requestid`)."""

    key: str
    port: int = 0
    error_id: int = 0
    data_id: int = 0
    writer: asyncio.StreamWriter | None = None
    pending: list[bytes] = field(default_factory=list)  # kubectl's bytes before the connect
    eof_pending: bool = False
    task: asyncio.Task[None] | None = None
    done: bool = False


class Forwarder:
    def __init__(
        self, tunnel: Tunnel, connect: Connect, describe: Callable[[int, str], str]
    ) -> None:
        self.tunnel = tunnel
        self.connect = connect
        self.describe = describe  # (port, error) → the message for the error stream
        self.conn = Connection(client=False)
        self._send_lock = asyncio.Lock()
        self._pairs: dict[str, _Pair] = {}
        self._streams: dict[int, _Pair] = {}
        self._closed = False

    async def run(self) -> None:
        try:
            while not self._closed and (data := await self.tunnel.receive()) is not None:
                try:
                    events = self.conn.receive_data(data)
                except ProtocolError as exc:
                    log.info("port-forward: ending a broken SPDY session: %s", exc)
                    await self._flush()
                    return
                for event in events:
                    await self._on_event(event)
                await self._flush()
        finally:
            self._closed = True
            tasks = [p.task for p in self._pairs.values() if p.task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _flush(self) -> None:
        async with self._send_lock:
            data = self.conn.data_to_send()
            if data and not self._closed:
                try:
                    await self.tunnel.send(data)
                except (ConnectionError, RuntimeError) as exc:
                    log.debug("port-forward tunnel closed: %s", exc)
                    self._closed = True

    # ------------------------------------------------------------------ events

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, StreamOpened):
            self._on_stream(event)
        elif isinstance(event, DataReceived):
            await self._on_data(event)
        elif isinstance(event, StreamReset):
            pair = self._streams.get(event.stream_id)
            if pair is not None and event.stream_id == pair.data_id and pair.task is not None:
                pair.task.cancel()

    def _on_stream(self, event: StreamOpened) -> None:
        sid = event.stream_id
        self.conn.reply(sid)  # at once: kubectl waits for it before its next stream
        headers = dict(event.headers)
        kind = headers.get("streamtype")
        if kind not in ("error", "data"):
            self.conn.reset(sid, RstStatus.PROTOCOL_ERROR)
            return
        key = headers.get("requestid") or str(sid if kind == "error" else sid - 2)
        pair = self._pairs.setdefault(key, _Pair(key))
        if (pair.error_id if kind == "error" else pair.data_id) != 0:
            self.conn.reset(sid, RstStatus.PROTOCOL_ERROR)
            return
        self._streams[sid] = pair
        if kind == "error":
            pair.error_id = sid
            if pair.done:
                self.conn.send_data(sid, b"", fin=True)
            return
        pair.data_id = sid
        pair.task = asyncio.create_task(self._forward(pair, headers.get("port", "")))

    async def _on_data(self, event: DataReceived) -> None:
        pair = self._streams.get(event.stream_id)
        if pair is None or event.stream_id != pair.data_id or pair.done:
            return  # the error stream carries nothing from kubectl but its FIN
        if pair.writer is None:
            pair.pending.append(event.data)
            pair.eof_pending = pair.eof_pending or event.fin
            return
        await self._write(pair, event.data, event.fin)

    async def _write(self, pair: _Pair, data: bytes, eof: bool) -> None:
        writer = pair.writer
        assert writer is not None
        try:
            if data:
                writer.write(data)
                self.conn.acknowledge(pair.data_id, len(data))
            if eof and writer.can_write_eof():
                writer.write_eof()
            if writer.transport.get_write_buffer_size() > HIGH_WATER:
                await writer.drain()
        except (ConnectionError, RuntimeError):
            pass  # the target is gone; its reader sees that and finishes the pair

    # ------------------------------------------------------------------ one connection

    async def _forward(self, pair: _Pair, port_text: str) -> None:
        try:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                await self._fail(pair, f"invalid port {port_text!r}")
                return
            pair.port = int(port_text)
            try:
                reader, pair.writer = await asyncio.wait_for(
                    self.connect(pair.port), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError) as exc:
                await self._fail(pair, self.describe(pair.port, _dial_error(pair.port, exc)))
                return
            pending, pair.pending = b"".join(pair.pending), []
            await self._write(pair, pending, pair.eof_pending)
            await self._copy_back(pair, reader)
        finally:
            await self._finish(pair)

    async def _copy_back(self, pair: _Pair, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError, StreamClosed, ValueError):
            while not self._closed:
                data = await reader.read(READ_SIZE)
                if not data or not self.conn.can_send(pair.data_id):
                    return
                self.conn.send_data(pair.data_id, data)
                await self._flush()

    async def _fail(self, pair: _Pair, message: str) -> None:
        log.info("port-forward: %s", message)
        if pair.error_id and self.conn.can_send(pair.error_id):
            self.conn.send_data(pair.error_id, message.encode())
        await self._flush()

    async def _finish(self, pair: _Pair) -> None:
        """FIN on the data stream, then on the error stream (kubectl's end-of-connection)."""
        if pair.done:
            return
        pair.done = True
        for sid in (pair.data_id, pair.error_id):
            if sid and self.conn.can_send(sid):
                self.conn.send_data(sid, b"", fin=True)
        if pair.writer is not None:
            pair.writer.close()
        if pair.error_id and pair.data_id:
            self._pairs.pop(pair.key, None)
            self._streams.pop(pair.error_id, None)
            self._streams.pop(pair.data_id, None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._flush()


def _dial_error(port: int, exc: BaseException) -> str:
    """Go's wording, which kubectl users know: `dial tcp4 127.0.0.1:80: connect: ...`."""
    errno = getattr(exc, "errno", None)
    reason = os.strerror(errno).lower() if errno else "i/o timeout"
    return f"dial tcp4 127.0.0.1:{port}: connect: {reason}"


def _socket_in(netns: str) -> socket.socket:
    made: list[socket.socket] = []
    ip.in_netns(netns, lambda: made.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM)))
    return made[0]


async def connect_in_netns(netns: str, port: int) -> Streams:
    """A TCP connection to 127.0.0.1:`port` inside the network namespace `netns`: the socket is
    made on a thread that entered it, and keeps that namespace when used from here."""
    sock = await asyncio.to_thread(_socket_in, netns)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


def kubelet_message(pod: str, uid: str, netns: str) -> Callable[[int, str], str]:
    def describe(port: int, error: str) -> str:
        return (
            f"error forwarding port {port} to pod {pod}, uid {uid}: failed to connect to "
            f'localhost:{port} inside namespace "{netns}", IPv4: {error}'
        )

    return describe
