"""`exec` at the node agent: a command in a pod, its streams over a WebSocket (v5.channel.k8s.io).

Frames are binary, the first byte the channel: 0 stdin, 1 stdout, 2 stderr, 3 the final Status,
4 terminal size (`{"Width":W,"Height":H}`), 255 close (`[255, 0]`: stdin ended). With `tty` the
command gets a pseudo-terminal (stderr merged into it) that follows resize messages. The exit code
goes back as the Status kubectl decodes: Success, or NonZeroExitCode with an ExitCode cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pty
import struct
import termios
from typing import Any

from aiohttp import WSMsgType, web

PROTOCOL = "v5.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def exit_status(code: int) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: command terminated with exit "
        f"code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def error_status(message: str) -> dict[str, Any]:
    return {
        "metadata": {},
        "status": "Failure",
        "reason": "InternalError",
        "code": 500,
        "message": f"Internal error occurred: error executing command in container: {message}",
    }


def _resize(fd: int, payload: bytes) -> None:
    try:
        size = json.loads(payload)
        packed = struct.pack("HHHH", int(size["Height"]), int(size["Width"]), 0, 0)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, packed)
    except (ValueError, KeyError, TypeError, OSError):
        pass


async def _send(ws: web.WebSocketResponse, channel: int, data: bytes) -> None:
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await ws.send_bytes(bytes([channel]) + data)


async def run(
    ws: web.WebSocketResponse,
    argv: list[str],
    env: dict[str, str],
    *,
    tty: bool,
    stdin: bool,
    stderr: bool,
) -> None:
    """Run `argv` with its streams on `ws`; send the exit Status; leave closing to the caller."""
    master = -1
    try:
        if tty:
            master, slave = pty.openpty()
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
            )
            os.close(slave)
        else:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                start_new_session=True,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE if stderr else asyncio.subprocess.STDOUT,
            )
    except OSError as exc:
        await _send(ws, ERROR, json.dumps(error_status(str(exc))).encode())
        return
    pumps = [asyncio.create_task(_pump_out(ws, proc, master))]
    feeder = asyncio.create_task(_pump_in(ws, proc, master))
    code = await proc.wait()
    await asyncio.gather(*pumps, return_exceptions=True)
    feeder.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await feeder
    if master >= 0:
        os.close(master)
    await _send(ws, ERROR, json.dumps(exit_status(code)).encode())


async def _pump_out(ws: web.WebSocketResponse, proc: Any, master: int) -> None:
    if master >= 0:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await loop.run_in_executor(None, os.read, master, 65536)
            except OSError:  # EIO once the terminal's last writer is gone
                return
            if not data:
                return
            await _send(ws, STDOUT, data)

    async def copy(stream: asyncio.StreamReader | None, channel: int) -> None:
        while stream is not None:
            data = await stream.read(65536)
            if not data:
                return
            await _send(ws, channel, data)

    await asyncio.gather(copy(proc.stdout, STDOUT), copy(proc.stderr, STDERR))


async def _pump_in(ws: web.WebSocketResponse, proc: Any, master: int) -> None:
    async for msg in ws:
        if msg.type != WSMsgType.BINARY or not msg.data:
            continue
        channel, payload = msg.data[0], msg.data[1:]
        if channel == STDIN:
            if master >= 0:
                os.write(master, payload)
            elif proc.stdin is not None:
                proc.stdin.write(payload)
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    await proc.stdin.drain()
        elif channel == RESIZE and master >= 0:
            _resize(master, payload)
        elif channel == CLOSE and payload[:1] == bytes([STDIN]):
            if master >= 0:
                os.write(master, b"\x04")  # end of input on a terminal
            elif proc.stdin is not None:
                proc.stdin.close()
