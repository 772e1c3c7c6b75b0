"""The SQL layer of the SQLite store: schema, the group-commit write path, and the reads.

Everything here is synchronous and runs on the store's worker threads (see `sqlite.py`); nothing
here knows about asyncio.

Tables:
- `kv(key, value, create_revision, mod_revision)`: the current state, one row per live key.
- `log(id, revision, key, type, value, create_revision, prev_value, prev_mod_revision)`: one row
  per change, in commit order (`id` increases with `revision`; a txn writes several rows at one
  revision). A DELETE row keeps the last value in `prev_value` only. Watches replay from here.
- `meta(name, value)`: `revision` (newest revision written) and `compacted` (every log row at or
  below it is gone). Both only grow, so revisions are never reused across restarts.

`Writer.apply` takes a batch of requests (each a list of ops, i.e. a txn) and applies them in one
SQLite transaction. Each request is checked on its own against the state left by the requests
before it; a failed precondition fails that request only, and it consumes no revision. Then the
log is trimmed to the last `history` revisions and the transaction commits. The in-memory
position (revision, compacted, last log id) moves only once COMMIT has returned.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kubesvc.store.interface import (
    Create,
    Delete,
    Event,
    KeyExists,
    KeyNotFound,
    KeyValue,
    ListResult,
    Op,
    RevisionMismatch,
    StoreError,
)

SCHEMA_VERSION = 1
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY,
    revision INTEGER NOT NULL,
    key TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('PUT', 'DELETE')),
    value BLOB,
    create_revision INTEGER NOT NULL,
    prev_value BLOB,
    prev_mod_revision INTEGER
);
CREATE INDEX IF NOT EXISTS log_revision ON log (revision);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
"""

_LOG_COLUMNS = "id, revision, key, type, value, create_revision, prev_value, prev_mod_revision"
_INSERT_LOG = f"INSERT INTO log ({_LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"

LogEvent = tuple[int, Event]
"""An event with its log row id: the watch position that orders events inside a revision."""

_LogRow = tuple[int, int, str, str, bytes | None, int, bytes | None, int | None]


@dataclass(frozen=True, slots=True)
class Position:
    revision: int  # newest revision written
    compacted: int  # log rows with revision <= compacted are gone
    last_log_id: int


@dataclass(frozen=True, slots=True)
class BatchResult:
    outcomes: list[list[KeyValue] | StoreError]  # one per request, in order
    events: list[LogEvent]
    position: Position


@dataclass(frozen=True, slots=True)
class HistoryPage:
    events: list[LogEvent]
    compacted: int  # read in the same snapshot as the events


def connect(path: Path, *, synchronous: str = "FULL", writer: bool) -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are explicit)."""
    conn = sqlite3.connect(path, isolation_level=None, cached_statements=64)
    conn.execute("PRAGMA busy_timeout = 10000")
    if writer:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    else:
        conn.execute("PRAGMA query_only = ON")
    return conn


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no bound)."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored as UTF-8
            code = 0xE000
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


def _range_clause(prefix: str, column: str = "key") -> tuple[str, list[object]]:
    end = prefix_end(prefix)
    if end is None:
        return f"{column} >= ?", [prefix]
    return f"{column} >= ? AND {column} < ?", [prefix, end]


class Writer:
    """Owns the writing connection and the write position; used by one thread only."""

    def __init__(self, conn: sqlite3.Connection, history: int) -> None:
        if history < 1:
            raise ValueError(f"history must be at least 1, got {history}")
        self._conn = conn
        self._history = history
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"store schema {version} is newer than this kubesvc ({SCHEMA_VERSION})"
            )
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        except BaseException:
            _rollback(conn)
            raise
        revision, compacted = _read_meta(conn)
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM log").fetchone()[0]
        self.position = Position(revision, compacted, last_id)
        if revision - history > compacted:  # history shrank since the last run
            conn.execute("BEGIN IMMEDIATE")
            compacted = self._compact(revision, compacted)
            conn.execute("COMMIT")
            self.position = Position(revision, compacted, last_id)

    def close(self) -> None:
        self._conn.close()

    def apply(self, requests: Sequence[Sequence[Op]]) -> BatchResult:
        """Apply each request (a txn) at its own revision, all in one SQLite transaction."""
        conn = self._conn
        revision, compacted, log_id = (
            self.position.revision,
            self.position.compacted,
            self.position.last_log_id,
        )
        outcomes: list[list[KeyValue] | StoreError] = []
        rows: list[_LogRow] = []
        events: list[LogEvent] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for ops in requests:
                try:
                    current = self._check(ops)
                except StoreError as err:
                    outcomes.append(err)
                    continue
                revision += 1
                kvs: list[KeyValue] = []
                for op, prev in zip(ops, current, strict=True):
                    log_id += 1
                    event = self._write(op, prev, revision)
                    rows.append(_log_row(log_id, event))
                    events.append((log_id, event))
                    kvs.append(event.kv)
                outcomes.append(kvs)
            if rows:
                conn.executemany(_INSERT_LOG, rows)
                conn.execute("UPDATE meta SET value = ? WHERE name = 'revision'", (revision,))
                compacted = self._compact(revision, compacted)
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        self.position = Position(revision, compacted, log_id)
        return BatchResult(outcomes, events, self.position)

    def _check(self, ops: Sequence[Op]) -> list[KeyValue | None]:
        """Every op's current key state; raise the first failing op's error."""
        current: list[KeyValue | None] = []
        for op in ops:
            kv = read_get(self._conn, op.key)
            if isinstance(op, Create):
                if kv is not None:
                    raise KeyExists(op.key)
            elif kv is None:
                raise KeyNotFound(op.key)
            elif op.expected_revision is not None and op.expected_revision != kv.mod_revision:
                raise RevisionMismatch(op.key, op.expected_revision, kv.mod_revision)
            current.append(kv)
        return current

    def _write(self, op: Op, prev: KeyValue | None, revision: int) -> Event:
        conn = self._conn
        if isinstance(op, Delete):
            assert prev is not None
            conn.execute("DELETE FROM kv WHERE key = ?", (op.key,))
            kv = KeyValue(op.key, prev.value, prev.create_revision, revision)
            return Event("DELETE", kv, prev)
        if prev is None:
            conn.execute(
                "INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?)",
                (op.key, op.value, revision, revision),
            )
            return Event("PUT", KeyValue(op.key, op.value, revision, revision), None)
        conn.execute(
            "UPDATE kv SET value = ?, mod_revision = ? WHERE key = ?", (op.value, revision, op.key)
        )
        return Event("PUT", KeyValue(op.key, op.value, prev.create_revision, revision), prev)

    def _compact(self, revision: int, compacted: int) -> int:
        """Drop log revisions older than the last `history`; return the new compacted revision."""
        target = revision - self._history
        if target <= compacted:
            return compacted
        self._conn.execute("DELETE FROM log WHERE revision <= ?", (target,))
        self._conn.execute("UPDATE meta SET value = ? WHERE name = 'compacted'", (target,))
        return target


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _read_meta(conn: sqlite3.Connection) -> tuple[int, int]:
    values = dict(conn.execute("SELECT name, value FROM meta").fetchall())
    return int(values["revision"]), int(values["compacted"])


def read_get(conn: sqlite3.Connection, key: str) -> KeyValue | None:
    row = conn.execute(
        "SELECT value, create_revision, mod_revision FROM kv WHERE key = ?", (key,)
    ).fetchone()
    return None if row is None else KeyValue(key, row[0], row[1], row[2])


def read_list(
    conn: sqlite3.Connection, prefix: str, start_after: str | None, limit: int | None
) -> ListResult:
    """Keys under `prefix` after `start_after`, and the revision, from one read snapshot."""
    where, params = _range_clause(prefix)
    if start_after is not None:
        where += " AND key > ?"
        params.append(start_after)
    params.append(-1 if limit is None else limit + 1)
    conn.execute("BEGIN")
    try:
        revision = _read_meta(conn)[0]
        rows = conn.execute(
            "SELECT key, value, create_revision, mod_revision FROM kv"
            f" WHERE {where} ORDER BY key LIMIT ?",
            params,
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    more = limit is not None and len(rows) > limit
    if more:
        del rows[limit:]
    return ListResult([KeyValue(*row) for row in rows], revision, more)


def read_history(
    conn: sqlite3.Connection, prefix: str, min_revision: int, after_id: int, limit: int
) -> HistoryPage:
    """Up to `limit` logged changes under `prefix` with revision >= min_revision and id >
    after_id, in commit order, and the compacted revision from the same snapshot."""
    where, params = _range_clause(prefix)
    conn.execute("BEGIN")
    try:
        compacted = _read_meta(conn)[1]
        rows: list[_LogRow] = conn.execute(
            f"SELECT {_LOG_COLUMNS} FROM log WHERE revision >= ? AND id > ? AND {where}"
            " ORDER BY revision, id LIMIT ?",
            [min_revision, after_id, *params, limit],
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    return HistoryPage([(row[0], _event(row)) for row in rows], compacted)


def _log_row(log_id: int, event: Event) -> _LogRow:
    kv, prev = event.kv, event.prev
    value = None if event.type == "DELETE" else kv.value  # a DELETE's value is prev_value
    prev_value, prev_mod = (None, None) if prev is None else (prev.value, prev.mod_revision)
    return (
        log_id,
        kv.mod_revision,
        kv.key,
        event.type,
        value,
        kv.create_revision,
        prev_value,
        prev_mod,
    )


def _event(row: _LogRow) -> Event:
    _, revision, key, kind, value, create_revision, prev_value, prev_mod = row
    prev = None
    if prev_value is not None and prev_mod is not None:
        prev = KeyValue(key, prev_value, create_revision, prev_mod)
    if kind == "DELETE":
        assert prev is not None
        return Event("DELETE", KeyValue(key, prev.value, create_revision, revision), prev)
    assert value is not None
    return Event("PUT", KeyValue(key, value, create_revision, revision), prev)
