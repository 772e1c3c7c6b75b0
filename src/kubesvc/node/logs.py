"""Container logs as the kubelet serves them: read CRI-format files, select, render.

Each container's output lives in `POD_DIR/CONTAINER/N.log` (N = its restart count; `N.log.1` is the
rotated part), one CRI line per record: `TIME STREAM P|F TEXT` (P = partial, joined with what
follows). `read_lines` parses a file; `select` applies `sinceSeconds`/`sinceTime` and `tailLines`;
`render` adds timestamps. These are pure; the agent's server (`node/server.py`) reads the files
and follows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class LogLine:
    time: str  # RFC 3339 with nanoseconds, as written
    stream: str
    text: bytes  # the whole line, with its newline when it had one


def parse(data: bytes) -> tuple[list[LogLine], bytes]:
    """Complete records of `data`, and the unfinished tail (no newline yet) to keep."""
    lines: list[LogLine] = []
    pending = b""
    records = data.split(b"\n")
    rest = records.pop()
    for record in records:
        parts = record.split(b" ", 3)
        if len(parts) < 4:
            continue
        stamp, stream, tag, text = parts
        if tag == b"P":
            pending += text
            continue
        lines.append(LogLine(stamp.decode(), stream.decode(), pending + text + b"\n"))
        pending = b""
    return lines, rest


def _epoch(stamp: str) -> float:
    head, _, frac = stamp.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head + "+00:00").timestamp()
    return base + (float("0." + frac) if frac else 0.0)


def select(
    lines: list[LogLine], *, since: float | None = None, tail: int | None = None
) -> list[LogLine]:
    """Lines at or after `since` (epoch seconds), then the last `tail` of them."""
    if since is not None:
        lines = [line for line in lines if _epoch(line.time) >= since]
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    return lines


def render(lines: list[LogLine], *, timestamps: bool = False) -> bytes:
    if timestamps:
        return b"".join(line.time.encode() + b" " + line.text for line in lines)
    return b"".join(line.text for line in lines)


def log_files(container_dir: Path) -> list[Path]:
    """The container's log files, one per run, oldest run first."""
    runs = [p for p in container_dir.glob("*.log") if p.stem.isdigit()]
    return sorted(runs, key=lambda p: int(p.stem))


def read_lines(path: Path) -> list[LogLine]:
    data = b""
    rotated = path.with_name(path.name + ".1")
    for part in (rotated, path):
        try:
            data += part.read_bytes()
        except FileNotFoundError:
            continue
    return parse(data)[0]
