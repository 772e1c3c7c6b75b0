"""Root tier: the userspace proxy's relays and proxier on real sockets, in a fresh network
namespace per test.

The test thread enters the namespace with setns(2) (so every socket the test and the relay open
lives there) and leaves it afterwards; the namespace is deleted even when the test fails. Traffic
stays on that namespace's loopback (127.0.0.x) and on addresses the test gives its own
interface (one end of a veth pair). Nothing here uses kubesvc's cluster topology, so no lock
is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib.util
import os
import secrets
import socket
import struct
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from kubesvc.lib import loops
from kubesvc.proxy.model import EndpointInfo, service_ports_from
from kubesvc.proxy.userspace import apply
from kubesvc.proxy.userspace.balancer import LoadBalancer
from kubesvc.proxy.userspace.proxier import UserspaceProxy
from kubesvc.proxy.userspace.relay import Pick, TcpRelay, UdpRelay

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
]

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
KEY = "default/echo:tcp"
NODE_IP = "172.31.255.1"  # the node address, on a veth inside the test's own namespace


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def netns() -> Iterator[str]:
    """A new network namespace with lo up, entered by this thread for the test's duration."""
    name = f"ks-ur{secrets.token_hex(4)}"
    _ip("netns", "add", name)
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            _ip("link", "set", "lo", "up")
            yield name
        finally:
            _setns(original)
    finally:
        os.close(original)
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30)


# --- backends -------------------------------------------------------------------------------


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo everything; on the client's EOF, say how much came and close."""
    total = 0
    while chunk := await reader.read(65536):
        total += len(chunk)
        writer.write(chunk)
        await writer.drain()
    writer.write(f"\nEOF after {total}\n".encode())
    await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def tcp_backend(
    host: str, handler: Callable[..., object] = _echo, port: int = 8080
) -> AsyncIterator[asyncio.Server]:
    server = await asyncio.start_server(handler, host, port)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.close()


def picker(lb: LoadBalancer, key: str = KEY) -> Pick:
    return lambda ip, tried: lb.next_endpoint(key, ip, tried)


def balancer(endpoints: list[str], affinity: int | None = None) -> LoadBalancer:
    lb = LoadBalancer(lambda: 0.0, shuffle=lambda items: None)
    lb.set_service(KEY, affinity)
    lb.set_endpoints(KEY, endpoints)
    return lb


async def exchange(port: int, payload: bytes, host: str = "127.0.0.1") -> bytes:
    """Send `payload`, half-close, read everything until the other side closes."""
    reader, writer = await asyncio.open_connection(host, port)

    async def send() -> None:
        writer.write(payload)
        await writer.drain()
        writer.write_eof()

    received, _ = await asyncio.gather(reader.read(), send())
    writer.close()
    return received


# --- TCP ------------------------------------------------------------------------------------


async def test_tcp_relay_5mb_byte_exact_with_half_close_both_ways(netns: str) -> None:
    payload = os.urandom(5 * 1024 * 1024)
    async with tcp_backend("127.0.0.2"):
        relay = TcpRelay(picker(balancer(["127.0.0.2:8080"])))
        port = await relay.start("127.0.0.1")
        try:
            received = await exchange(port, payload)
        finally:
            relay.close()
    # the echo is exact, and the trailer proves the backend saw our EOF only after all bytes
    assert received == payload + f"\nEOF after {len(payload)}\n".encode()
    assert relay.stats.accepted == 1 and relay.stats.dial_failures == 0


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop not installed")
def test_tcp_relay_on_uvloop_keeps_bytes_that_arrive_before_the_backend_is_connected(
    netns: str,
) -> None:
    # uvloop starts reading an accepted connection right after connection_made, so the
    # request is usually read before the backend connection exists: it must not be lost
    async def main() -> list[bytes]:
        async with tcp_backend("127.0.0.2"):
            relay = TcpRelay(picker(balancer(["127.0.0.3:8080", "127.0.0.2:8080"])))
            port = await relay.start("127.0.0.1")
            try:
                return [await exchange(port, f"request {i}".encode()) for i in range(4)]
            finally:
                relay.close()

    answers = loops.run(main, "uvloop")
    assert answers == [f"request {i}\nEOF after 9\n".encode() for i in range(4)]


async def test_the_backend_half_closing_first_still_gets_the_clients_data(netns: str) -> None:
    got: list[bytes] = []

    async def greet_then_listen(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello, then EOF from me\n")
        writer.write_eof()  # the backend is done talking but still listens
        got.append(await reader.read())
        writer.close()

    async with tcp_backend("127.0.0.2", greet_then_listen):
        relay = TcpRelay(picker(balancer(["127.0.0.2:8080"])))
        port = await relay.start("127.0.0.1")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.read() == b"hello, then EOF from me\n"  # EOF forwarded to us
        writer.write(b"client data after the backend's EOF")
        writer.write_eof()
        await writer.drain()
        while relay.connections:  # both sides sent EOF: the relay closes both connections
            await asyncio.sleep(0.01)
        writer.close()
        relay.close()
    assert got == [b"client data after the backend's EOF"]


async def test_a_slow_client_stops_the_backend_instead_of_filling_the_relay(netns: str) -> None:
    total, chunk = 64 * 1024 * 1024, b"x" * 65536
    progress = {"sent": 0}
    stalled = asyncio.Event()

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while progress["sent"] < total:
            writer.write(chunk)
            progress["sent"] += len(chunk)
            if writer.transport.get_write_buffer_size() > 65536:
                stalled.set()  # the relay stopped reading from us
            await writer.drain()
        writer.close()

    async with tcp_backend("127.0.0.2", flood):
        relay = TcpRelay(picker(balancer(["127.0.0.2:8080"])))
        port = await relay.start("127.0.0.1")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await stalled.wait()  # the client has read nothing yet
        for _ in range(200):
            await asyncio.sleep(0)
        (inbound,) = relay.connections
        buffered = inbound.transport.get_write_buffer_size()
        sent_while_stalled = progress["sent"]
        received = 0
        while data := await reader.read(1 << 20):
            received += len(data)
        writer.close()
        relay.close()
    assert buffered < 4 * 1024 * 1024  # bounded by the write buffer's high mark, not 64 MB
    assert sent_while_stalled < total
    assert received == total


async def test_a_refused_endpoint_is_retried_on_the_next_one(netns: str) -> None:
    # 127.0.0.3 refuses (nothing listens), 127.0.0.4 drops SYNs (connect times out)
    subprocess.run(
        ["iptables", "-w", "-A", "OUTPUT", "-d", "127.0.0.4", "-p", "tcp", "-j", "DROP"],
        check=True,
        capture_output=True,
    )
    lb = balancer(["127.0.0.3:8080", "127.0.0.4:8080", "127.0.0.2:8080"])
    async with tcp_backend("127.0.0.2"):
        relay = TcpRelay(picker(lb), dial_timeouts=(0.2, 0.2, 0.2, 0.2))
        port = await relay.start("127.0.0.1")
        answers = [await exchange(port, f"request {i}".encode()) for i in range(3)]
        relay.close()
    assert answers == [f"request {i}\nEOF after 9\n".encode() for i in range(3)]
    assert relay.stats.dial_failures >= 2  # the first connection met both dead endpoints
    assert relay.stats.unserved == 0


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop not installed")
def test_a_client_resetting_while_its_backend_is_dialled_ends_the_dial(netns: str) -> None:
    # 127.0.0.4 drops SYNs: the dial would time out after 0.3 s and count as a failure. uvloop
    # reads an accepted connection before its backend answers, so it sees the reset at once.
    subprocess.run(
        ["iptables", "-w", "-A", "OUTPUT", "-d", "127.0.0.4", "-p", "tcp", "-j", "DROP"],
        check=True,
        capture_output=True,
    )

    async def main() -> TcpRelay:
        relay = TcpRelay(picker(balancer(["127.0.0.4:8080"])), dial_timeouts=(0.3, 0.3))
        port = await relay.start("127.0.0.1")
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        while not relay.connections:
            await asyncio.sleep(0.01)
        sock = writer.get_extra_info("socket")  # a reset, not a half-close (after which the
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # client
        writer.transport.abort()  # may still wait for the answer)
        while relay.connections:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.8)  # past both deadlines: a dial still running would have failed
        relay.close()
        return relay

    relay = loops.run(main, "uvloop")
    assert (relay.stats.accepted, relay.stats.dial_failures, relay.stats.unserved) == (1, 0, 0)


@pytest.mark.parametrize("event_loop", loops.EVENT_LOOPS)
def test_many_round_trips_then_half_close_on_each_loop(netns: str, event_loop: str) -> None:
    # once joined, each side's bytes go straight into the other side's write
    if event_loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        pytest.skip("uvloop not installed")

    async def main() -> tuple[list[bytes], bytes]:
        async with tcp_backend("127.0.0.2"):
            relay = TcpRelay(picker(balancer(["127.0.0.2:8080"])))
            port = await relay.start("127.0.0.1")
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            echoed = []
            for i in range(200):
                writer.write(b"ping %d;" % i)
                echoed.append(await reader.readexactly(len(b"ping %d;" % i)))
            writer.write_eof()
            trailer = await reader.read()
            writer.close()
            relay.close()
            return echoed, trailer

    echoed, trailer = loops.run(main, event_loop)
    sent = [b"ping %d;" % i for i in range(200)]
    assert echoed == sent
    assert trailer == f"\nEOF after {len(b''.join(sent))}\n".encode()


@pytest.mark.parametrize("event_loop", loops.EVENT_LOOPS)
def test_closed_connections_are_freed_without_the_cycle_collector(
    netns: str, event_loop: str
) -> None:
    if event_loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        pytest.skip("uvloop not installed")

    async def main() -> None:
        async with tcp_backend("127.0.0.2"):
            relay = TcpRelay(picker(balancer(["127.0.0.2:8080"])))
            port = await relay.start("127.0.0.1")
            for i in range(20):
                assert await exchange(port, b"x" * i) == b"x" * i + f"\nEOF after {i}\n".encode()
            while relay.connections:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # the backend sides' connection_lost
            relay.close()

    gc.collect()
    gc.disable()
    try:
        loops.run(main, event_loop)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        in_cycles = [obj for obj in gc.garbage if isinstance(obj, asyncio.BaseProtocol)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert [type(p).__name__ for p in in_cycles] == []


async def test_no_endpoint_answering_closes_the_client(netns: str) -> None:
    relay = TcpRelay(picker(balancer(["127.0.0.3:8080"])), dial_timeouts=(0.2, 0.2))
    port = await relay.start("127.0.0.1")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    with contextlib.suppress(ConnectionResetError):
        assert await reader.read() == b""
    writer.close()
    relay.close()
    assert (relay.stats.dial_failures, relay.stats.unserved) == (2, 1)


async def test_established_connections_survive_endpoint_removal_and_listener_close(
    netns: str,
) -> None:
    lb = balancer(["127.0.0.2:8080"])
    async with tcp_backend("127.0.0.2"):
        relay = TcpRelay(picker(lb))
        port = await relay.start("127.0.0.1")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"before;")
        assert await reader.readexactly(7) == b"before;"
        lb.set_endpoints(KEY, [])
        relay.close()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"after")
        writer.write_eof()
        assert await reader.read() == b"after\nEOF after 12\n"
        writer.close()


# --- UDP ------------------------------------------------------------------------------------


class _UdpEcho(asyncio.DatagramProtocol):
    def __init__(self, name: bytes) -> None:
        self.name = name

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(self.name + b":" + data, addr)


@contextlib.asynccontextmanager
async def udp_backends(*hosts: str, port: int = 5353) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    transports = []
    for host in hosts:
        transport, _ = await loop.create_datagram_endpoint(
            lambda h=host: _UdpEcho(h.encode()), local_addr=(host, port)
        )
        transports.append(transport)
    try:
        yield
    finally:
        for transport in transports:
            transport.close()


async def udp_ask(
    host: str, port: int, data: bytes, tries: int = 5
) -> tuple[bytes, tuple[str, int]]:
    """Send until an answer comes (UDP may lose the first datagram to a refused backend)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("", 0))
    try:
        for _ in range(tries):
            await loop.sock_sendto(sock, data, (host, port))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    answer, source = await loop.sock_recvfrom(sock, 65535)
                    return answer, source
    finally:
        sock.close()
    raise AssertionError(f"no UDP answer from {host}:{port}")


async def test_udp_relay_sessions_per_client_replies_from_the_service_port(netns: str) -> None:
    lb = balancer(["127.0.0.2:5353", "127.0.0.5:5353"])
    async with udp_backends("127.0.0.2", "127.0.0.5"):
        relay = UdpRelay(picker(lb), idle_timeout=0.3)
        port = await relay.start("127.0.0.1")
        first, source = await udp_ask("127.0.0.1", port, b"one")
        second, _ = await udp_ask("127.0.0.1", port, b"two")
        assert source == ("127.0.0.1", port)  # the answer comes back from the listening port
        assert {first, second} == {b"127.0.0.2:one", b"127.0.0.5:two"}  # round robin per client
        assert relay.stats.sessions == 2
        while relay.sessions():  # idle sessions end
            await asyncio.sleep(0.05)
        relay.close()


async def test_udp_refused_backend_moves_the_client_to_the_next_endpoint(netns: str) -> None:
    lb = balancer(["127.0.0.3:5353", "127.0.0.2:5353"])
    async with udp_backends("127.0.0.2"):
        relay = UdpRelay(picker(lb), idle_timeout=5)
        port = await relay.start("127.0.0.1")
        answer, _ = await udp_ask("127.0.0.1", port, b"ping")
        relay.close()
    assert answer == b"127.0.0.2:ping"
    assert relay.stats.sessions >= 2  # the refused session was dropped and a new one opened


# --- the proxy: listeners, balancer and real portal rules ----------------------------------


def _service(**spec: object) -> dict[str, object]:
    ports = [
        {"name": "tcp", "protocol": "TCP", "port": 80, "nodePort": 30080},
        {"name": "udp", "protocol": "UDP", "port": 53},
    ]
    return {
        "metadata": {"name": "echo", "namespace": "default"},
        "spec": {
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "type": "NodePort",
            "ports": ports,
            **spec,
        },
    }


async def _hostname(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(writer.get_extra_info("sockname")[0].encode())
    await writer.drain()
    writer.close()


async def _ask(host: str, port: int) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    answer = await reader.read()
    writer.close()
    return answer.decode()


async def _sync(proxy: UserspaceProxy, service: dict[str, object], ips: list[str]) -> None:
    ports = service_ports_from(service)
    endpoints = {
        p.key: [EndpointInfo(ip=ip, port=8080 if p.protocol == "TCP" else 5353) for ip in ips]
        for p in ports
    }
    await proxy.update(ports, endpoints)
    await asyncio.to_thread(apply.ensure_base)
    await asyncio.to_thread(apply.restore, proxy.rules())


async def test_proxy_serves_the_cluster_ip_and_node_port_through_its_rules(netns: str) -> None:
    _ip("link", "add", "node0", "type", "veth", "peer", "name", "node1")
    _ip("addr", "add", f"{NODE_IP}/24", "dev", "node0")
    _ip("link", "set", "node0", "up")
    _ip("link", "set", "node1", "up")
    _ip("route", "add", "10.96.0.0/12", "dev", "node0")
    proxy = UserspaceProxy(node_ip=NODE_IP, udp_timeout=0.3)
    backends = ["127.0.0.2", "127.0.0.3"]
    async with (
        tcp_backend("127.0.0.2", _hostname),
        tcp_backend("127.0.0.3", _hostname),
        udp_backends(*backends),
    ):
        try:
            await _sync(proxy, _service(), backends)
            assert sorted({await _ask("10.96.0.10", 80) for _ in range(4)}) == backends
            assert await _ask("127.0.0.1", 30080) in backends  # localhost:NODEPORT on the node
            answer, source = await udp_ask("10.96.0.10", 53, b"q")
            assert answer in (b"127.0.0.2:q", b"127.0.0.3:q") and source == ("10.96.0.10", 53)

            sticky = _service(sessionAffinity="ClientIP")
            await _sync(proxy, sticky, backends)
            assert len({await _ask("10.96.0.10", 80) for _ in range(6)}) == 1

            old = proxy.listeners["default/echo:tcp"].relay
            cluster_ip = _service(type="ClusterIP")
            cluster_ip["spec"]["ports"][0].pop("nodePort")  # type: ignore[index]
            await _sync(proxy, cluster_ip, [])
            assert proxy.listeners["default/echo:tcp"].relay is not old  # reopened
            with pytest.raises(ConnectionRefusedError):
                await _ask("127.0.0.1", 30080)  # the node port is closed with it
            assert "--dport 30080" not in proxy.rules()
        finally:
            proxy.close()
