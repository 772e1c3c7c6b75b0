"""Taking an HTTP connection over after `101 Switching Protocols` to a protocol aiohttp does not
know (`Upgrade: SPDY/3.1`, kubectl's fallback when a WebSocket dial fails).

aiohttp's parser upgrades only for `websocket`, so the request arrives as an ordinary one with
an empty body, and the client sends nothing more until it has read the 101. Before answering,
`relay` installs a sink as the connection's payload parser (the hook aiohttp's own WebSocket
uses): from then on every byte read from the socket lands in a queue. Reading is paused while
the queue is long. The bytes go to the node agent as binary WebSocket messages, and the agent's
messages are written back raw, so the SPDY session itself runs between kubectl and the agent.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from kubesvc.lib.tasks import until_first_done

PAUSE_AT, RESUME_AT = 64, 16  # queued chunks


class _Sink:
    """Stands in for aiohttp's payload parser: `feed_data` gets every later byte."""

    def __init__(self, queue: asyncio.Queue[bytes | None], transport: asyncio.Transport) -> None:
        self.queue = queue
        self.transport = transport

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.queue.put_nowait(bytes(data))
        if self.queue.qsize() >= PAUSE_AT:
            self.transport.pause_reading()
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(None)


async def relay(
    request: web.Request, upstream: aiohttp.ClientWebSocketResponse, version: str
) -> web.StreamResponse:
    """Answer 101 (`Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version: version`), then copy raw
    bytes between the client's connection and `upstream` until either side ends."""
    transport = request.transport
    assert transport is not None and request.protocol is not None
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    response = web.StreamResponse(
        status=101,
        headers={
            "Connection": "Upgrade",
            "Upgrade": "SPDY/3.1",
            "X-Stream-Protocol-Version": version,
        },
    )
    response.force_close()
    request.protocol.set_parser(_Sink(queue, transport))  # type: ignore[arg-type]
    await response.prepare(request)

    async def client_to_node() -> None:
        while (data := await queue.get()) is not None:
            if queue.qsize() <= RESUME_AT:
                transport.resume_reading()
            await upstream.send_bytes(data)

    async def node_to_client() -> None:
        async for msg in upstream:
            if msg.type == aiohttp.WSMsgType.BINARY and msg.data:
                await response.write(msg.data)

    try:
        await until_first_done(client_to_node(), node_to_client())
    finally:
        await upstream.close()
        transport.close()
    return response
