"""`exec` and `attach` at the node agent: streams over a WebSocket (v5.channel.k8s.io).

Frames are binary, the first byte the channel: 0 stdin, 1 stdout, 2 stderr, 3 the final Status,
4 terminal size (`{"Width":W,"Height":H}`), 255 close (`[255, 0]`: stdin ended). The client's
frames are read for the whole session (kubectl's pings need a reader to be answered).

`run` (exec) starts a command: with `tty` on a pseudo-terminal (stderr merged into it) that
follows resize messages. The exit code goes back as the Status kubectl decodes: Success, or
NonZeroExitCode with an ExitCode cause. A client that leaves before the command ends takes it
along (SIGHUP, then SIGKILL to its process group): there is no container to reap it later.

`attach` joins a running container instead (`containerio`): its live output, stdin when the
container keeps one, resizes of its terminal. It ends with a Success Status when the container's
output ends (attach carries no exit code: `kubectl run` reads it from the pod status), or when
the client leaves; a stdinOnce container loses its stdin when the first client with stdin does.
Both share the input side: a `ContainerIO` writes stdin, sends EOF, applies resizes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from typing import Any

from aiohttp import WSMsgType, web

from kubesvc.node.containerio import ContainerIO, pty_streams, spawn_on_pty

PROTOCOL = "v5.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
HANGUP_GRACE = 2.0


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


def terminal_size(payload: bytes) -> tuple[int, int] | None:
    """(width, height) from a resize message; None when it is not one."""
    try:
        size = json.loads(payload)
        width, height = int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None
    return (width, height) if 0 <= width < 65536 and 0 <= height < 65536 else None


async def _send(ws: web.WebSocketResponse, channel: int, data: bytes) -> None:
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await ws.send_bytes(bytes([channel]) + data)


async def _read_input(ws: web.WebSocketResponse, io: ContainerIO, with_stdin: bool) -> None:
    """The client's frames until it closes: stdin, its end, resizes."""
    async for msg in ws:
        if msg.type != WSMsgType.BINARY or not msg.data:
            continue
        channel, payload = msg.data[0], msg.data[1:]
        if channel == STDIN and with_stdin:
            await io.write(payload)
        elif channel == RESIZE and io.tty:
            size = terminal_size(payload)
            if size is not None:
                io.resize(*size)
        elif channel == CLOSE and payload[:1] == bytes([STDIN]) and with_stdin:
            io.detached(True)  # exec: stdin ends; attach with stdinOnce: the container's does


async def _copy_out(
    ws: web.WebSocketResponse, reader: asyncio.StreamReader | None, channel: int
) -> None:
    while reader is not None:
        try:
            data = await reader.read(65536)
        except OSError:  # a pty master reports EIO once the command's side is closed
            return
        if not data:
            return
        await _send(ws, channel, data)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


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
            proc, master = await spawn_on_pty(argv, env)
            reader, writer = await pty_streams(master)
            io = ContainerIO(tty=True, stdin_once=True, stdin=writer, master=master)
            outputs: list[tuple[asyncio.StreamReader | None, int]] = [(reader, STDOUT)]
        else:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                start_new_session=True,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE if stderr else asyncio.subprocess.STDOUT,
            )
            io = ContainerIO(stdin_once=True, stdin=proc.stdin)  # one client: its EOF ends stdin
            outputs = [(proc.stdout, STDOUT), (proc.stderr, STDERR)]
    except OSError as exc:
        if master >= 0:
            os.close(master)
        await _send(ws, ERROR, json.dumps(error_status(str(exc))).encode())
        return
    pumps = [asyncio.create_task(_copy_out(ws, r, ch)) for r, ch in outputs]
    reader_task = asyncio.create_task(_read_input(ws, io, stdin))
    try:
        code = await _supervise(proc, reader_task, pumps)
    finally:  # also when the handler is cancelled: nothing outlives the session
        if proc.returncode is None:
            _signal_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(asyncio.CancelledError):
                await proc.wait()
        for task in [*pumps, reader_task]:
            task.cancel()
        await asyncio.gather(*pumps, reader_task, return_exceptions=True)
        io.close_stdin()
        if master >= 0:
            os.close(master)
    await _send(ws, ERROR, json.dumps(exit_status(code)).encode())


async def _supervise(
    proc: asyncio.subprocess.Process,
    reader_task: asyncio.Task[None],
    pumps: list[asyncio.Task[None]],
) -> int:
    """The exit code, once the output is copied; a client that leaves first hangs the command
    up (SIGHUP to its group, SIGKILL after a grace period)."""
    waiter = asyncio.ensure_future(proc.wait())
    await asyncio.wait({waiter, reader_task}, return_when=asyncio.FIRST_COMPLETED)
    if reader_task.done() and not waiter.done():
        _signal_group(proc.pid, signal.SIGHUP)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), HANGUP_GRACE)
        _signal_group(proc.pid, signal.SIGKILL)
    code = await waiter
    while not reader_task.done() and not all(pump.done() for pump in pumps):
        # all the output before the Status (unless the client leaves meanwhile)
        await asyncio.wait([*pumps, reader_task], return_when=asyncio.FIRST_COMPLETED)
    return code


SUCCESS = json.dumps({"metadata": {}, "status": "Success"}).encode()


async def attach(
    ws: web.WebSocketResponse, io: ContainerIO, *, stdin: bool, stdout: bool, stderr: bool
) -> None:
    """Attach `ws` to a running container until its output ends or the client leaves."""
    queue = io.output.subscribe()
    with_stdin = stdin and io.stdin_open
    reader = asyncio.create_task(_read_input(ws, io, with_stdin))
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():  # the client went away
                getter.cancel()
                return
            item = getter.result()
            if item is None:
                await _send(ws, ERROR, SUCCESS)
                return
            stream, data = item
            channel = STDERR if stream == "stderr" and not io.tty else STDOUT
            if stdout if channel == STDOUT else stderr:
                await _send(ws, channel, data)
    finally:
        io.output.unsubscribe(queue)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        io.detached(with_stdin)
