"""Reading, selecting and rendering CRI-format container logs."""

from __future__ import annotations

from pathlib import Path

from kubesvc.node import logs

DATA = (
    b"2026-01-01T00:00:00.000000001Z stdout F one\n"
    b"2026-01-01T00:00:01.500000000Z stderr P tw\n"
    b"2026-01-01T00:00:01.600000000Z stderr F o\n"
    b"2026-01-01T00:00:02.000000000Z stdout F three\n"
    b"2026-01-01T00:00:03.000000000Z stdout F unfini"
)


def test_parse_joins_partials_and_keeps_the_unfinished_tail() -> None:
    lines, rest = logs.parse(DATA)
    assert [line.text for line in lines] == [b"one\n", b"two\n", b"three\n"]
    assert [line.stream for line in lines] == ["stdout", "stderr", "stdout"]
    assert rest.endswith(b"unfini")


def test_select_and_render() -> None:
    lines, _ = logs.parse(DATA)
    assert logs.render(logs.select(lines, tail=2)) == b"two\nthree\n"
    assert logs.render(logs.select(lines, tail=0)) == b""
    since = logs.select(lines, since=1767225601.0)  # 2026-01-01T00:00:01Z
    assert logs.render(since) == b"two\nthree\n"
    assert logs.render(lines[:1], timestamps=True) == b"2026-01-01T00:00:00.000000001Z one\n"


def test_runs_are_ordered_and_rotation_is_read_first(tmp_path: Path) -> None:
    for run in ("0", "1", "10", "2"):
        (tmp_path / f"{run}.log").write_bytes(b"")
    assert [p.stem for p in logs.log_files(tmp_path)] == ["0", "1", "2", "10"]
    current = tmp_path / "10.log"
    (tmp_path / "10.log.1").write_bytes(b"2026-01-01T00:00:00.0Z stdout F old\n")
    current.write_bytes(b"2026-01-01T00:00:05.0Z stdout F new\n")
    assert [line.text for line in logs.read_lines(current)] == [b"old\n", b"new\n"]
