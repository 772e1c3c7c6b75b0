"""The store: the `Store` interface and its backends, behind one import.

`open_store(data_dir)` gives the embedded SQLite store on `DATA_DIR/store.db`; the caller
still awaits `start()` before use (or uses it as `async with`) and `close()` after.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    Store,
    StoreClosed,
    StoreError,
    TooOldError,
    Update,
)
from kubesvc.store.sqlite import SQLiteStore

STORE_FILE = "store.db"


def open_store(data_dir: Path, **kw: Any) -> Store:
    """The store kept in `data_dir` (created if missing); keyword arguments go to the backend
    (`SQLiteStore`: history, synchronous). Not started yet: `await store.start()`."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(data_dir / STORE_FILE, **kw)


__all__ = [
    "STORE_FILE",
    "Create",
    "Delete",
    "Event",
    "KeyExists",
    "KeyNotFound",
    "KeyValue",
    "ListResult",
    "Op",
    "RevisionMismatch",
    "SQLiteStore",
    "Store",
    "StoreClosed",
    "StoreError",
    "TooOldError",
    "Update",
    "open_store",
]
