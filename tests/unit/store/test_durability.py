"""A write acknowledged by the SQLite store survives kill -9 of the process that made it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import kubesvc
from kubesvc.store import KeyValue, SQLiteStore

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

# 20 concurrent clients create keys until killed; each key is printed once its create returned.
WRITER = """
import asyncio, sys
from pathlib import Path
from kubesvc.store import KeyValue, SQLiteStore

async def client(store, n):
    i = 0
    while True:
        kv = await store.create(f"/burst/{n}/{i}", b"x" * 200)
        sys.stdout.write(f"{kv.key} {kv.mod_revision}\\n")
        sys.stdout.flush()
        i += 1

async def main():
    store = SQLiteStore(Path(sys.argv[1]), synchronous="FULL")
    await store.start()
    await asyncio.gather(*(client(store, n) for n in range(20)))

asyncio.run(main())
"""

ACKNOWLEDGED_BEFORE_KILL = 2000


def test_acknowledged_creates_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    src = str(Path(kubesvc.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if len(lines) >= ACKNOWLEDGED_BEFORE_KILL:
                proc.send_signal(signal.SIGKILL)  # mid-burst: 20 creates are in flight
                break
        lines.extend(proc.stdout)  # whatever was printed before the kill landed
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    acknowledged = [line.split() for line in lines if line.endswith("\n")]
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL

    stored, revision, next_kv = asyncio.run(reopen(path))
    assert [key for key, _ in acknowledged if key not in stored] == []
    assert all(stored[key] == int(rev) for key, rev in acknowledged)
    assert revision >= max(int(rev) for _, rev in acknowledged)
    assert next_kv.mod_revision == revision + 1  # numbering continues, nothing reused


async def reopen(path: Path) -> tuple[dict[str, int], int, KeyValue]:
    async with SQLiteStore(path) as store:
        stored = {kv.key: kv.mod_revision for kv in (await store.list("/burst/")).items}
        revision = store.revision
        return stored, revision, await store.create("/after-restart", b"")
