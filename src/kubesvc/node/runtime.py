"""Containers as processes: start, log, stop.

A container is one process group started from an argv (already wrapped to enter the pod's
namespaces). Its stdout and stderr are copied line by line into the container's log file in the
CRI format the kubelet keeps (`2026-01-01T00:00:00.000000000Z stdout F text`), rotated at
`MAX_LOG_BYTES` (one previous file kept as `.1`). Stopping sends SIGTERM to the whole group,
then SIGKILL after the grace period, as a container runtime does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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


async def _copy(reader: asyncio.StreamReader, stream: str, log: LogWriter) -> None:
    while True:
        line = await reader.readline()
        if not line:
            return
        log.write(stream, line)


async def start(argv: list[str], env: dict[str, str], log_path: Path, cwd: str = "/") -> Process:
    """Start a container process in its own process group, its output going to `log_path`."""
    log = LogWriter(log_path)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
        limit=1024 * 1024,
    )
    assert proc.stdout is not None and proc.stderr is not None
    process = Process(proc=proc, log=log, started_at=datetime.now(UTC))
    process.copiers = [
        asyncio.create_task(_copy(proc.stdout, "stdout", log)),
        asyncio.create_task(_copy(proc.stderr, "stderr", log)),
    ]
    return process
