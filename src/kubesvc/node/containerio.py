"""A running container's stdio, as the runtime holds it for `kubectl attach`.

A container whose spec says `stdin: true` keeps its stdin open: a pipe, or with `tty: true` a
pseudo-terminal (the process gets the slave as stdin, stdout and stderr and as its controlling
terminal; the agent keeps the master: `spawn_on_pty`, which exec uses too). Whatever the container
writes is cut into lines for the CRI log (`LineBuffer`: a line longer than 16 KiB is logged in
partial pieces, a last line without newline is logged whole at EOF, as containerd does) and, as it
comes, published to the clients attached at that moment (`Fanout`; an attach sees live output, not
what was written before it). `ContainerIO` is the handle an attach session uses: write stdin,
resize the terminal, and with `stdinOnce` close stdin when the first attached client detaches, as
the kubelet does.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import struct
import termios

MAX_LINE = 16 * 1024
QUEUE_LIMIT = 4096  # chunks a slow attached client may lag behind before it is dropped

Chunk = tuple[str, bytes]  # (stream, data): stream is "stdout" or "stderr"


class LineBuffer:
    """Bytes in, log records out: (text, complete) where complete means a newline ended it."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._pending = b""

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        self._pending += data
        out: list[tuple[bytes, bool]] = []
        while True:
            cut = self._pending.find(b"\n")
            if cut < 0:
                break
            line, self._pending = self._pending[:cut], self._pending[cut + 1 :]
            while len(line) > self.max_line:
                out.append((line[: self.max_line], False))
                line = line[self.max_line :]
            out.append((line, True))
        while len(self._pending) > self.max_line:
            out.append((self._pending[: self.max_line], False))
            self._pending = self._pending[self.max_line :]
        return out

    def finish(self) -> list[tuple[bytes, bool]]:
        """At EOF, an unterminated last line is logged as a complete one."""
        rest, self._pending = self._pending, b""
        return [(rest, True)] if rest else []


class Fanout:
    """Output chunks to every attached subscriber; None to each once the output ends."""

    def __init__(self) -> None:
        self._subscribers: list[asyncio.Queue[Chunk | None]] = []
        self.closed = False

    def subscribe(self) -> asyncio.Queue[Chunk | None]:
        queue: asyncio.Queue[Chunk | None] = asyncio.Queue()
        if self.closed:
            queue.put_nowait(None)
        else:
            self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Chunk | None]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    def publish(self, stream: str, data: bytes) -> None:
        for queue in list(self._subscribers):
            if queue.qsize() >= QUEUE_LIMIT:  # too slow: end that client's attach
                self.unsubscribe(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait((stream, data))

    def close(self) -> None:
        self.closed = True
        for queue in self._subscribers:
            queue.put_nowait(None)
        self._subscribers.clear()


class ContainerIO:
    """The attachable side of one container process."""

    def __init__(
        self,
        *,
        tty: bool = False,
        stdin_once: bool = False,
        stdin: asyncio.StreamWriter | None = None,
        master: int = -1,
    ) -> None:
        self.tty = tty
        self.stdin_once = stdin_once
        self.output = Fanout()
        self._stdin = stdin
        self._master = master  # the pty master (tty); owned by the runtime

    @property
    def stdin_open(self) -> bool:
        return self._stdin is not None

    async def write(self, data: bytes) -> None:
        if self._stdin is None or not data:
            return
        try:
            self._stdin.write(data)
            await self._stdin.drain()
        except (ConnectionError, RuntimeError):
            self._stdin = None

    def close_stdin(self) -> None:
        """EOF on the container's stdin (on a terminal: an end-of-file character)."""
        writer, self._stdin = self._stdin, None
        if writer is None:
            return
        with contextlib.suppress(ConnectionError, RuntimeError, OSError):
            if self.tty:
                writer.write(b"\x04")
            writer.close()

    def detached(self, had_stdin: bool) -> None:
        """An attached client went away; with stdinOnce its stdin was the only one."""
        if had_stdin and self.stdin_once:
            self.close_stdin()

    def resize(self, width: int, height: int) -> None:
        if self._master >= 0:
            with contextlib.suppress(OSError):
                size = struct.pack("HHHH", height, width, 0, 0)
                fcntl.ioctl(self._master, termios.TIOCSWINSZ, size)


def _take_terminal() -> None:  # in the child, a session leader: its stdin becomes its terminal
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def spawn_on_pty(
    argv: list[str], env: dict[str, str], cwd: str | None = None
) -> tuple[asyncio.subprocess.Process, int]:
    """Start `argv` in a new session on a new pseudo-terminal (the slave is its stdin, stdout,
    stderr and controlling terminal); returns the process and the master, which the caller
    owns. On failure nothing is left open."""
    master, slave = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    return proc, master


async def pty_streams(master: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Non-blocking reader and writer on a pty master (each on its own duplicate fd)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1024 * 1024)
    read_file = os.fdopen(os.dup(master), "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), read_file)
    write_file = os.fdopen(os.dup(master), "wb", buffering=0)
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(), write_file
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return reader, writer
