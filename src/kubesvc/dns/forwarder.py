"""Forwarding to upstream resolvers: UDP first, TCP when the answer comes back truncated.

`Forwarder.query(message)` sends the message with a fresh random ID (restored by the caller's
`Handler.resume`, which patches the client's ID in) to the upstreams in turn, starting with the
last one that answered, and returns the first reply whose ID and QR bit fit, or None when none
answered within `timeout` (the handler then answers SERVFAIL). A UDP reply with TC set is asked
again over TCP (2-byte length framing). Upstreams come from `--upstream` or, by default, from
the `nameserver` lines of /etc/resolv.conf (`parse_resolv_conf`); the server's own address is
left out so it cannot forward to itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import socket
import struct
from collections.abc import Callable

log = logging.getLogger("kubesvc.dns.forwarder")

Address = tuple[str, int]


def parse_address(text: str, default_port: int = 53) -> Address:
    """`IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address → (ip, port); ValueError if bad."""
    text = text.strip()
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"bad address {text!r}")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, number = text.partition(":")
        port = int(number)
    ip = ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"bad port in {text!r}")
    return str(ip), port


def parse_resolv_conf(text: str) -> list[Address]:
    """The `nameserver` addresses of a resolv.conf (zone indexes and bad lines skipped)."""
    found: list[Address] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            with contextlib.suppress(ValueError):
                found.append((str(ipaddress.ip_address(fields[1].split("%")[0])), 53))
    return found


def format_address(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Forwarder:
    def __init__(
        self,
        upstreams: list[Address],
        *,
        timeout: float = 2.0,
        observe: Callable[[str, int | None], None] | None = None,
    ) -> None:
        self.upstreams = upstreams
        self.timeout = timeout
        self.observe = observe
        self._preferred = 0

    async def query(self, message: bytes) -> bytes | None:
        """An upstream's reply to `message` (its ID is random), or None if none answered."""
        count = len(self.upstreams)
        for step in range(count):
            index = (self._preferred + step) % count
            upstream = self.upstreams[index]
            ident = secrets.randbits(16)
            query = struct.pack("!H", ident) + message[2:]
            try:
                reply = await asyncio.wait_for(self._udp(upstream, query, ident), self.timeout)
                if reply[2] & 0x02:  # TC: ask again over TCP
                    reply = await asyncio.wait_for(self._tcp(upstream, query, ident), self.timeout)
            except (OSError, TimeoutError, EOFError, asyncio.IncompleteReadError) as exc:
                log.debug("upstream %s failed: %s", format_address(upstream), exc)
                if self.observe is not None:
                    self.observe(format_address(upstream), None)
                continue
            self._preferred = index
            if self.observe is not None:
                self.observe(format_address(upstream), reply[3] & 0x0F)
            return reply
        return None

    @staticmethod
    def _fits(reply: bytes, ident: int) -> bool:
        return len(reply) >= 12 and reply[:2] == struct.pack("!H", ident) and bool(reply[2] & 0x80)

    async def _udp(self, upstream: Address, query: bytes, ident: int) -> bytes:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in upstream[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, upstream)
            await loop.sock_sendall(sock, query)
            while True:  # ignore stray datagrams until ours comes
                reply = await loop.sock_recv(sock, 65535)
                if self._fits(reply, ident):
                    return reply

    async def _tcp(self, upstream: Address, query: bytes, ident: int) -> bytes:
        reader, writer = await asyncio.open_connection(*upstream)
        try:
            writer.write(struct.pack("!H", len(query)) + query)
            await writer.drain()
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                reply = await reader.readexactly(length)
                if self._fits(reply, ident):
                    return reply
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
