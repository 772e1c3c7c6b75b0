"""Containers as processes: start, log, stop.

A container is one process group started from an argv (already wrapped to enter the pod's
namespaces). Its stdout and stderr are copied line by line into the container's log file in the
CRI format the kubelet keeps (`2026-01-01T00:00:00.000000000Z stdout F text`), rotated at
`MAX_LOG_BYTES` (one previous file kept as `.1`), and handed as they come to attached clients
(`containerio`). With `stdin` the process keeps an open stdin pipe; with `tty` it runs on a
pseudo-terminal (output as stdout). Stopping sends SIGTERM to the whole group, then SIGKILL
after the grace period, as a container runtime does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kubesvc.node.containerio import ContainerIO, Fanout, LineBuffer, pty_streams, spawn_on_pty

MAX_LOG_BYTES = 10 * 1024 * 1024


def cri_timestamp(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000:09d}Z"


class LogWriter:
    """Appends CRI-format lines to a file, rotating it when it grows too large."""

    def __init__(self, path: Path, max_bytes: int = MAX_LOG_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab")  # noqa: SIM115 - closed in close()

    def write(self, stream: str, data: bytes) -> None:
        partial = not data.endswith(b"\n")
        text = data.rstrip(b"\n")
        tag = b"P" if partial else b"F"
        self._file.write(f"{cri_timestamp()} {stream} ".encode() + tag + b" " + text + b"\n")
        self._file.flush()
        if self._file.tell() > self.max_bytes:
            self._file.close()
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
            self._file = open(self.path, "ab")  # noqa: SIM115

    def close(self) -> None:
        self._file.close()


@dataclass
class Process:
    """One running container process and the tasks copying its output."""

    proc: asyncio.subprocess.Process
    log: LogWriter
    started_at: datetime
    io: ContainerIO = field(default_factory=ContainerIO)
    master: int = -1  # the pty master of a tty container
    copiers: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    async def wait(self) -> int:
        code = await self.proc.wait()
        for task in self.copiers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.log.close()
        self.io.close_stdin()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        return code

    async def stop(self, grace: float) -> None:
        if self.proc.returncode is not None:
            return
        _signal_group(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), grace)
        except TimeoutError:
            _signal_group(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _copy(reader: asyncio.StreamReader, stream: str, log: LogWriter, out: Fanout) -> None:
    lines = LineBuffer()
    while True:
        try:
            data = await reader.read(65536)
        except OSError:  # a pty master reports EIO once the container's side is closed
            data = b""
        if not data:
            break
        out.publish(stream, data)
        for text, complete in lines.feed(data):
            log.write(stream, text + b"\n" if complete else text)
    for text, _ in lines.finish():
        log.write(stream, text + b"\n")


async def _copy_all(
    outputs: list[tuple[asyncio.StreamReader, str]], log: LogWriter, io: ContainerIO
) -> None:
    try:
        await asyncio.gather(*(_copy(reader, name, log, io.output) for reader, name in outputs))
    finally:
        io.output.close()  # attached clients learn that the container's output ended


async def start(
    argv: list[str],
    env: dict[str, str],
    log_path: Path,
    cwd: str = "/",
    *,
    stdin: bool = False,
    tty: bool = False,
    stdin_once: bool = False,
) -> Process:
    """Start a container process in its own process group, its output going to `log_path`."""
    log = LogWriter(log_path)
    if tty:
        proc, master = await spawn_on_pty(argv, env, cwd)
        reader, writer = await pty_streams(master)
        if not stdin:
            writer.close()
        io = ContainerIO(
            tty=True, stdin_once=stdin_once, stdin=writer if stdin else None, master=master
        )
        outputs = [(reader, "stdout")]
    else:
        master = -1
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            limit=1024 * 1024,
        )
        assert proc.stdout is not None and proc.stderr is not None
        io = ContainerIO(stdin_once=stdin_once, stdin=proc.stdin)
        outputs = [(proc.stdout, "stdout"), (proc.stderr, "stderr")]
    process = Process(proc=proc, log=log, started_at=datetime.now(UTC), io=io, master=master)
    process.copiers = [asyncio.create_task(_copy_all(outputs, log, io))]
    return process
