"""The userspace proxy's data path: TCP and UDP relays on asyncio Protocols and Transports.

I/O. A relay listens on one local port and forwards to the endpoints a `Pick` callback names
(`pick(client_ip, tried) -> "ip:port"`, `tried` being the endpoints this connection already
failed on, raising `LookupError` when there are none; the proxier binds it to the Service
port's round-robin balancer). Protocol/Transport callbacks rather than Streams: no task and no
buffer copy of ours per chunk.

TCP (`TcpRelay`): an accepted client connection stops reading until a backend is connected
(whatever either side sends before the two are joined, bytes or EOF, is held and handed over:
uvloop starts reading right after `connection_made`, and a backend may speak first); the
connect tries up to four endpoints with growing timeouts (250 ms, 500 ms, 1 s, 2 s, as kube-proxy),
each retry asking for the next endpoint not yet tried, and closes the client when none answers.
Then bytes flow both ways as they arrive, with no Python code per chunk: each side's
`data_received` becomes the other transport's `write` (`_forward`). Half-close is forwarded: an
EOF read on one side becomes `write_eof()` on the other, which keeps sending; once both sides
have sent EOF both are closed. A reset on one side aborts the other. Backpressure: when one
side's write buffer passes its high mark (`pause_writing`), the other side stops reading until
it drains (`resume_writing`). Closing the listener stops accepting only; established
connections live on whatever happens to the Service's endpoints, as in kube-proxy.
Cheap connections: the dials' deadlines share one timer per relay (`_expire`: up to a fifth of
the shortest timeout late; a timer per dial cost as much as the rest of a connection's Python
code), and a closed connection leaves no reference cycle, so refcounting frees it at once.

UDP (`UdpRelay`): per client address a session, a connected UDP socket to the endpoint picked for
that client; replies go back to the client from the listening socket (so the NAT that steered the
client here rewrites them to come from the Service address). A session ends after `idle_timeout`
without traffic either way (kube-proxy's `--udp-timeout`, 250 ms by default) or when the backend
answers with ICMP port unreachable; the client's next datagram then opens a new session, picking
the next endpoint after a refusal. Closing the listener ends every session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("kubesvc.proxy.userspace")

Pick = Callable[[str, frozenset[str]], str]
DIAL_TIMEOUTS = (0.25, 0.5, 1.0, 2.0)
UDP_IDLE_TIMEOUT = 0.25


@dataclass(slots=True)
class RelayStats:
    """Counters a relay keeps (read by tests and benchmarks)."""

    accepted: int = 0
    active: int = 0
    dial_failures: int = 0
    unserved: int = 0  # clients closed because no endpoint answered
    sessions: int = 0  # UDP sessions opened


def _split(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


def listening_socket(kind: int, host: str, port: int) -> socket.socket:
    """A non-blocking socket bound to host:port (0: a random free port), listening for TCP."""
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(4096)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Side(asyncio.Protocol):
    """One end of a relayed TCP connection; `peer` is the other end once both are connected."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.peer: _Side | None = None
        self.pending: list[bytes] = []  # what arrived before the other side was there
        self.eof = False  # read EOF seen: never pause/resume reading again (it would re-read it)
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        # only until `_join` (then `_forward` replaces it); uvloop starts reading right after
        # connection_made
        peer = self.peer
        if peer is None:
            self.pending.append(data)
            self.transport.pause_reading()
        elif not peer.closed:
            peer.transport.write(data)

    def eof_received(self) -> bool:
        if self.eof:
            return True
        self.eof = True
        peer = self.peer
        if peer is not None and not peer.closed:
            if peer.eof:
                self.transport.close()
                peer.transport.close()
            else:
                peer.transport.write_eof()
        return True

    def pause_writing(self) -> None:
        peer = self.peer
        if peer is not None and not peer.eof and not peer.closed:
            peer.transport.pause_reading()

    def resume_writing(self) -> None:
        peer = self.peer
        if peer is not None and not peer.eof and not peer.closed:
            peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        peer, self.peer = self.peer, None  # no cycle left: refcounting frees the pair
        if peer is not None and not peer.closed:
            if exc is None:
                peer.transport.close()
            else:
                peer.transport.abort()


def _forward(side: _Side, to: _Side) -> None:
    """From now on what `side` reads goes straight into `to`'s `write`, no Python in between.

    `data_received`'s check is not needed: `to` gets `write_eof` only after `side` read EOF (and
    stopped reading), and it is closed only after both read EOF or, from `connection_lost`,
    together with `side`, whose reading stops at once on both loops. `set_protocol` makes
    uvloop look `data_received` up again; on a transport that is reading it also re-registers
    the socket, which the client's side (paused while it held the request) mostly avoids."""
    side.data_received = to.transport.write  # type: ignore[method-assign]
    side.transport.set_protocol(side)


def _join(inbound: _Side, outbound: _Side) -> None:
    """Join the two sides; hand over what each received (bytes, EOF, close) meanwhile."""
    inbound.peer, outbound.peer = outbound, inbound
    for side, other in ((inbound, outbound), (outbound, inbound)):
        if not other.closed:
            for chunk in side.pending:
                other.transport.write(chunk)
        side.pending.clear()
    for side, other in ((inbound, outbound), (outbound, inbound)):
        if side.closed or other.closed:
            if not side.closed:
                side.transport.close()
        elif side.eof:
            side.eof = False
            side.eof_received()
        else:
            _forward(side, other)
            side.transport.resume_reading()


class _Inbound(_Side):
    """The client's connection: holds its bytes until `TcpRelay._connect` found a backend."""

    def __init__(self, relay: TcpRelay) -> None:
        super().__init__()
        self.relay = relay
        self.connecting: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        relay = self.relay
        relay.stats.accepted += 1
        relay.stats.active += 1
        relay.connections.add(self)
        transport.pause_reading()  # type: ignore[attr-defined]
        self.connecting = relay.loop.create_task(relay._connect(self))

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay.stats.active -= 1
        self.relay.connections.discard(self)
        if self.connecting is not None and not self.connecting.done():
            self.connecting.cancel()
        self.connecting = None
        super().connection_lost(exc)


class TcpRelay:
    """Accept TCP connections on one port and relay each to an endpoint from `pick`."""

    def __init__(self, pick: Pick, *, dial_timeouts: Sequence[float] = DIAL_TIMEOUTS) -> None:
        self.pick = pick
        self.dial_timeouts = tuple(dial_timeouts)
        self.stats = RelayStats()
        self.port = 0
        self.connections: set[_Inbound] = set()  # the clients' side of each live connection
        self.loop: asyncio.AbstractEventLoop  # set by `start`
        self._server: asyncio.AbstractServer | None = None
        # dials in flight → when each gives up; one timer sweeps them (see `_expire`)
        self._dials: dict[asyncio.Task[None], float] = {}
        self._sweep: asyncio.TimerHandle | None = None
        self._tick = min(self.dial_timeouts, default=1.0) / 5

    async def start(self, host: str = "0.0.0.0", port: int = 0) -> int:
        """Listen on host:port (0: a random port); returns the port."""
        sock = listening_socket(socket.SOCK_STREAM, host, port)
        self.port = int(sock.getsockname()[1])
        self.loop = loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(lambda: _Inbound(self), sock=sock)
        except BaseException:
            sock.close()
            raise
        return self.port

    def close(self) -> None:
        """Stop accepting; established connections carry on."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _connect(self, inbound: _Inbound) -> None:
        loop = self.loop
        task = asyncio.current_task(loop)
        assert task is not None
        peername = inbound.transport.get_extra_info("peername") or ("", 0)
        client_ip = str(peername[0])
        tried: frozenset[str] = frozenset()
        for timeout in self.dial_timeouts:
            try:
                endpoint = self.pick(client_ip, tried)
            except LookupError as exc:
                log.debug("no endpoint for a client of port %d: %s", self.port, exc)
                break
            host, port = _split(endpoint)
            self._dials[task] = loop.time() + timeout
            if self._sweep is None:
                self._sweep = loop.call_later(self._tick, self._expire)
            try:
                _, outbound = await loop.create_connection(_Side, host, port)
            except asyncio.CancelledError:
                if task in self._dials or inbound.closed:
                    raise  # the client went away: not our timeout
                task.uncancel()
                self._failed(endpoint, "timeout")
            except OSError as exc:
                self._failed(endpoint, str(exc))
            else:
                if inbound.closed:
                    outbound.transport.close()
                    return
                _join(inbound, outbound)
                return
            finally:
                self._dials.pop(task, None)
            tried |= {endpoint}
        self.stats.unserved += 1
        inbound.transport.close()

    def _failed(self, endpoint: str, why: str) -> None:
        self.stats.dial_failures += 1
        log.info("dial %s failed (%s); trying the next endpoint", endpoint, why)

    def _expire(self) -> None:
        """Cancel the dials past their deadline (at most one tick late); re-arm while any
        remain. One timer per relay instead of one per dial: a timer costs as much as the
        rest of a connection's Python code."""
        now = self.loop.time()
        for late in [task for task, deadline in self._dials.items() if deadline <= now]:
            del self._dials[late]
            late.cancel()
        self._sweep = self.loop.call_later(self._tick, self._expire) if self._dials else None


class _UdpFront(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.relay._from_client(data, (str(addr[0]), int(addr[1])))


class _UdpSession(asyncio.DatagramProtocol):
    """One client's flow: a socket connected to its endpoint, and the idle timer."""

    def __init__(self, relay: UdpRelay, client: tuple[str, int]) -> None:
        self.relay = relay
        self.client = client
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: list[bytes] = []
        self.closed = False
        self.endpoint = ""
        loop = asyncio.get_running_loop()
        self.last = loop.time()
        self.timer = loop.call_later(relay.idle_timeout, self._check_idle)
        self.opening: asyncio.Task[None] = loop.create_task(self._open())

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        refused = self.relay._refused.pop(self.client, None)
        tried = frozenset([refused] if refused else [])
        for _ in range(len(DIAL_TIMEOUTS)):
            try:
                endpoint = self.relay.pick(self.client[0], tried)
            except LookupError:
                break
            try:
                await loop.create_datagram_endpoint(lambda: self, remote_addr=_split(endpoint))
            except OSError as exc:
                log.info("udp to %s failed (%s); trying the next endpoint", endpoint, exc)
                tried |= {endpoint}
                continue
            self.endpoint = endpoint
            return
        self.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.closed:
            transport.close()
            return
        for data in self.pending:
            self.transport.sendto(data)  # type: ignore[union-attr]
        self.pending.clear()

    def send(self, data: bytes) -> None:
        self.last = asyncio.get_running_loop().time()
        if self.transport is None:
            self.pending.append(data)
        else:
            self.transport.sendto(data)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.last = asyncio.get_running_loop().time()
        self.relay._to_client(data, self.client)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, ConnectionRefusedError):
            self.relay._refused[self.client] = self.endpoint
            self.close()

    def _check_idle(self) -> None:
        loop = asyncio.get_running_loop()
        idle = loop.time() - self.last
        if idle >= self.relay.idle_timeout:
            self.close()
        else:
            self.timer = loop.call_later(self.relay.idle_timeout - idle, self._check_idle)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.timer.cancel()
        if not self.opening.done() and self.opening is not asyncio.current_task():
            self.opening.cancel()
        if self.transport is not None:
            self.transport.close()
        self.relay._forget(self)


class UdpRelay:
    """Relay UDP datagrams on one port, one session per client address (see the docstring)."""

    def __init__(self, pick: Pick, *, idle_timeout: float = UDP_IDLE_TIMEOUT) -> None:
        self.pick = pick
        self.idle_timeout = idle_timeout
        self.stats = RelayStats()
        self.port = 0
        self._front: asyncio.DatagramTransport | None = None
        self._sessions: dict[tuple[str, int], _UdpSession] = {}
        self._refused: dict[tuple[str, int], str] = {}  # client → the endpoint that refused it

    async def start(self, host: str = "0.0.0.0", port: int = 0) -> int:
        sock = listening_socket(socket.SOCK_DGRAM, host, port)
        self.port = int(sock.getsockname()[1])
        loop = asyncio.get_running_loop()
        try:
            self._front, _ = await loop.create_datagram_endpoint(lambda: _UdpFront(self), sock=sock)
        except BaseException:
            sock.close()
            raise
        return self.port

    def sessions(self) -> int:
        return len(self._sessions)

    def close(self) -> None:
        for session in list(self._sessions.values()):
            session.close()
        if self._front is not None:
            self._front.close()
            self._front = None

    def _from_client(self, data: bytes, client: tuple[str, int]) -> None:
        session = self._sessions.get(client)
        if session is None:
            session = _UdpSession(self, client)
            self._sessions[client] = session
            self.stats.sessions += 1
            self.stats.active += 1
        session.send(data)

    def _to_client(self, data: bytes, client: tuple[str, int]) -> None:
        if self._front is not None:
            with contextlib.suppress(OSError):
                self._front.sendto(data, client)

    def _forget(self, session: _UdpSession) -> None:
        if self._sessions.get(session.client) is session:
            del self._sessions[session.client]
            self.stats.active -= 1
