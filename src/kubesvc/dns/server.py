"""The DNS server's sockets: UDP and TCP listeners, and the HTTP health, ready and metrics ports.

Each datagram (UDP) or length-framed message (TCP: several per connection, answered as they
complete; closed after `tcp_idle_timeout` seconds without a query, or when a client leaves
more than 1 MiB of replies unread) goes to the sans-I/O `Handler`; a reply is sent at once, an
`Upstream` decision becomes a task that asks the `Forwarder` and sends what `Handler.resume`
makes of it. At most `max_forwards` such tasks run
at once; beyond that the query is answered SERVFAIL. Every answer is counted in `Metrics`.

HTTP (aiohttp): `/health` answers 200 while the process runs (CoreDNS `health`), `/ready` 200
only once `ready()` is true (the informers have synced, CoreDNS `ready`), else 503, `/metrics`
the Prometheus text. The three may share a port; a port of 0 turns that endpoint off.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web

from kubesvc.dns.forwarder import Forwarder
from kubesvc.dns.handler import Handler, Reply, Upstream
from kubesvc.dns.metrics import Metrics

log = logging.getLogger("kubesvc.dns")

MAX_TCP_BACKLOG = 1 << 20  # bytes of unread replies before a TCP client is cut off


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerOptions:
    host: str = "0.0.0.0"
    port: int = 53
    health_port: int = 8080
    ready_port: int = 8181
    metrics_port: int = 9153
    tcp_idle_timeout: float = 10.0
    max_forwards: int = 1000


class _Udp:
    """A UDP socket read with `add_reader`, draining up to `BATCH` datagrams per wake-up.

    asyncio's datagram transport costs one loop iteration per datagram; reading the socket
    dry in one callback and replying with a plain `sendto` roughly triples the queries per
    second. A reply the kernel cannot take at once (full send buffer) is dropped, as a busy
    UDP server does; the client retries.
    """

    BATCH = 64

    def __init__(self, server: DnsServer, sock: socket.socket, family: str) -> None:
        self.server, self.sock, self.family = server, sock, family
        self.closed = False

    def start(self) -> None:
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._readable)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()

    def _readable(self) -> None:
        handle, count = self.server.handler.handle, self.server.count
        for _ in range(self.BATCH):
            try:
                data, addr = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. an ICMP error queued on the socket
                continue
            started = time.perf_counter()
            result = handle(data, tcp=False)
            if result is None:
                continue
            if isinstance(result, Reply):
                self._sendto(result.data, addr)
                count(result, "udp", self.family, started)
            else:
                self.server.spawn(result, functools.partial(self._send, addr=addr, started=started))

    def _sendto(self, data: bytes, addr: Any) -> None:
        try:  # noqa: SIM105 - contextlib.suppress costs 0.2 us, a tenth of a query's Python time
            self.sock.sendto(data, addr)
        except OSError:  # a full send buffer, say: the reply is lost and the client retries
            pass

    def _send(self, reply: Reply, addr: Any, started: float) -> None:
        if not self.closed:
            self._sendto(reply.data, addr)
        self.server.count(reply, "udp", self.family, started)


class _Tcp(asyncio.Protocol):
    def __init__(self, server: DnsServer, family: str) -> None:
        self.server, self.family = server, family
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)
        self._touch()

    def _touch(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        loop = asyncio.get_running_loop()
        self.idle = loop.call_later(self.server.options.tcp_idle_timeout, self._close)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle is not None:
            self.idle.cancel()
        self.transport = None
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._touch()
        while len(self.buffer) >= 2:
            (length,) = struct.unpack_from("!H", self.buffer)
            if len(self.buffer) < 2 + length:
                break
            message = bytes(self.buffer[2 : 2 + length])
            del self.buffer[: 2 + length]
            self._query(message)

    def _query(self, message: bytes) -> None:
        started = time.perf_counter()
        result = self.server.handler.handle(message, tcp=True)
        if result is None:
            return
        if isinstance(result, Reply):
            self._send(result, started)
        else:
            self.server.spawn(result, lambda reply: self._send(reply, started))

    def _send(self, reply: Reply, started: float) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(struct.pack("!H", len(reply.data)) + reply.data)
            if self.transport.get_write_buffer_size() > MAX_TCP_BACKLOG:  # not reading replies
                self.transport.abort()
        self.server.count(reply, "tcp", self.family, started)


class DnsServer:
    def __init__(
        self,
        handler: Handler,
        forwarder: Forwarder,
        metrics: Metrics,
        options: ServerOptions,
        ready: Callable[[], bool],
    ) -> None:
        self.handler, self.forwarder, self.metrics = handler, forwarder, metrics
        self.options, self.ready = options, ready
        self._udp: list[_Udp] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._runners: list[web.AppRunner] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections: set[_Tcp] = set()
        self.port = options.port

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        host = self.options.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        label = "2" if family == socket.AF_INET6 else "1"
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((host, self.options.port))
        except OSError:
            sock.close()
            raise
        udp = _Udp(self, sock, label)
        udp.start()
        self._udp.append(udp)
        self.port = sock.getsockname()[1]
        server = await loop.create_server(
            lambda: _Tcp(self, label), host, self.port, family=family, reuse_address=True
        )
        self._servers.append(server)
        await self._start_http()
        log.info("serving DNS on %s port %d (udp, tcp)", host, self.port)

    async def _start_http(self) -> None:
        routes: dict[int, list[web.RouteDef]] = {}
        for port, path, view in (
            (self.options.health_port, "/health", self._health),
            (self.options.ready_port, "/ready", self._ready),
            (self.options.metrics_port, "/metrics", self._metrics),
        ):
            if port:
                routes.setdefault(port, []).append(web.get(path, view))
        wildcard = self.options.host in ("0.0.0.0", "::")
        http_host = None if wildcard else self.options.host
        for port, defs in routes.items():
            app = web.Application()
            app.add_routes(defs)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, http_host, port).start()
            self._runners.append(runner)

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def _ready(self, request: web.Request) -> web.Response:
        if self.ready():
            return web.Response(text="OK")
        return web.Response(status=503, text="not ready: the informers have not synced\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.metrics.render().encode(),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )

    def count(self, reply: Reply, proto: str, family: str, started: float) -> None:
        seconds = time.perf_counter() - started
        self.metrics.request(
            proto, family, reply.qtype, reply.rcode, reply.plugin, seconds, reply.data
        )

    def spawn(self, pending: Upstream, send: Callable[[Reply], None]) -> None:
        if len(self._tasks) >= self.options.max_forwards:
            send(self.handler.resume(pending, None))
            return
        task = asyncio.ensure_future(self._forward(pending, send))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forward(self, pending: Upstream, send: Callable[[Reply], None]) -> None:
        try:
            upstream = await self.forwarder.query(pending.query)
            reply = self.handler.resume(pending, upstream)
        except Exception:  # never let one query take the server down
            log.exception("forwarding failed")
            reply = self.handler.resume(pending, None)
        send(reply)

    async def close(self) -> None:
        for udp in self._udp:
            udp.close()
        for server in self._servers:
            server.close()
        for connection in list(self.connections):
            connection._close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for runner in self._runners:
            await runner.cleanup()
