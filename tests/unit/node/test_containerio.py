"""A container's stdio: log lines cut like containerd's, output fanned out to attached clients,
stdin and stdinOnce; then real processes through `runtime.start` (pipes and a pty)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kubesvc.node import logs, runtime
from kubesvc.node.containerio import ContainerIO, Fanout, LineBuffer

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    ("pieces", "records"),
    [
        ([b"one\ntwo\n"], [(b"one", True), (b"two", True)]),
        ([b"ab", b"c\n"], [(b"abc", True)]),
        ([b"abc"], [(b"abc", True)]),  # no newline at EOF: logged whole
        ([b"\n\n"], [(b"", True), (b"", True)]),
        ([b"x" * 10 + b"\n"], [(b"xxxx", False), (b"xxxx", False), (b"xx", True)]),
        ([b"y" * 9], [(b"yyyy", False), (b"yyyy", False), (b"y", True)]),
        ([b"# ", b"ls\n# "], [(b"# ls", True), (b"# ", True)]),
    ],
)
def test_line_buffer(pieces: list[bytes], records: list[tuple[bytes, bool]]) -> None:
    buffer = LineBuffer(max_line=4)
    got: list[tuple[bytes, bool]] = []
    for piece in pieces:
        got += buffer.feed(piece)
    got += buffer.finish()
    assert got == records


async def test_fanout_gives_each_subscriber_what_came_after_it() -> None:
    out = Fanout()
    out.publish("stdout", b"before anyone")
    first = out.subscribe()
    out.publish("stdout", b"a")
    second = out.subscribe()
    out.publish("stderr", b"b")
    out.unsubscribe(second)
    out.publish("stdout", b"c")
    out.close()
    assert [first.get_nowait() for _ in range(4)] == [
        ("stdout", b"a"),
        ("stderr", b"b"),
        ("stdout", b"c"),
        None,
    ]
    assert second.get_nowait() == ("stderr", b"b") and second.empty()
    late = out.subscribe()  # after the end: told at once
    assert late.get_nowait() is None


async def test_fanout_drops_a_client_that_falls_far_behind() -> None:
    out = Fanout()
    slow = out.subscribe()
    for n in range(5000):
        out.publish("stdout", b"%d" % n)
    items = [slow.get_nowait() for _ in range(slow.qsize())]
    assert items[-1] is None and len(items) == 4097


class FakeWriter:
    def __init__(self) -> None:
        self.data = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(("stdin_once", "closed"), [(True, True), (False, False)])
async def test_stdin_once_closes_when_the_first_client_detaches(
    stdin_once: bool, closed: bool
) -> None:
    writer = FakeWriter()
    io = ContainerIO(stdin_once=stdin_once, stdin=writer)  # type: ignore[arg-type]
    await io.write(b"hello\n")
    io.detached(had_stdin=False)  # a client without stdin changes nothing
    assert io.stdin_open
    io.detached(had_stdin=True)
    assert (writer.closed, not io.stdin_open) == (closed, closed)
    assert writer.data == b"hello\n"


async def test_tty_stdin_close_sends_end_of_file() -> None:
    writer = FakeWriter()
    io = ContainerIO(tty=True, stdin_once=True, stdin=writer)  # type: ignore[arg-type]
    io.close_stdin()
    assert writer.data == b"\x04" and writer.closed


# ---------------------------------------------------------------------- real processes


async def _collect(queue: asyncio.Queue[tuple[str, bytes] | None]) -> list[tuple[str, bytes]]:
    items: list[tuple[str, bytes]] = []
    while (item := await queue.get()) is not None:
        items.append(item)
    return items


async def test_pipe_container_with_stdin(tmp_path: Path) -> None:
    script = 'while read line; do echo "got $line"; echo "err $line" >&2; done; printf tail'
    process = await runtime.start(
        ["sh", "-c", script], {"PATH": "/usr/bin:/bin"}, tmp_path / "0.log", stdin=True
    )
    attached = process.io.output.subscribe()
    collector = asyncio.create_task(_collect(attached))
    await process.io.write(b"one\ntwo\n")
    process.io.close_stdin()
    assert await process.wait() == 0
    chunks = await collector
    joined = {s: b"".join(d for k, d in chunks if k == s) for s in ("stdout", "stderr")}
    assert joined == {"stdout": b"got one\ngot two\ntail", "stderr": b"err one\nerr two\n"}
    lines = logs.read_lines(tmp_path / "0.log")
    assert sorted((ln.stream, ln.text) for ln in lines) == [
        ("stderr", b"err one\n"),
        ("stderr", b"err two\n"),
        ("stdout", b"got one\n"),
        ("stdout", b"got two\n"),
        ("stdout", b"tail\n"),  # the unterminated last line, logged whole
    ]


async def test_container_without_stdin_reads_eof(tmp_path: Path) -> None:
    process = await runtime.start(["sh", "-c", "cat; echo done"], {}, tmp_path / "0.log")
    assert not process.io.stdin_open
    assert await process.wait() == 0
    assert [ln.text for ln in logs.read_lines(tmp_path / "0.log")] == [b"done\n"]


async def test_tty_container_gets_a_terminal_that_resizes(tmp_path: Path) -> None:
    script = "tty -s && echo is-a-tty; read size; stty size; exit 7"
    process = await runtime.start(
        ["sh", "-c", script],
        {"PATH": "/usr/bin:/bin"},
        tmp_path / "0.log",
        stdin=True,
        tty=True,
        stdin_once=True,
    )
    attached = process.io.output.subscribe()
    collector = asyncio.create_task(_collect(attached))
    process.io.resize(120, 40)
    await process.io.write(b"go\r")
    assert await process.wait() == 7
    chunks = await collector
    assert {stream for stream, _ in chunks} == {"stdout"}  # a terminal has one output
    output = b"".join(d for _, d in chunks)
    assert b"is-a-tty\r\n" in output and b"40 120\r\n" in output
    texts = [ln.text for ln in logs.read_lines(tmp_path / "0.log")]
    assert b"is-a-tty\r\n" in texts and b"40 120\r\n" in texts
    assert process.master == -1  # closed once the container ended
