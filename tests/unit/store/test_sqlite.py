"""The SQLite store against the `Store` contract: CRUD, preconditions, txn, list, watch."""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubesvc.store import (
    Create,
    Delete,
    Event,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionMismatch,
    SQLiteStore,
    StoreClosed,
    StoreError,
    TooOldError,
    Update,
    open_store,
)
from kubesvc.store.sqlite_engine import HistoryPage, LogEvent, prefix_end
from kubesvc.store.sqlite_watch import WatchHub, WatchStream

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "store.db", synchronous="NORMAL")
    await s.start()
    yield s
    await s.close()


async def take(stream: AsyncIterator[Event], n: int, timeout: float = 5.0) -> list[Event]:
    async def collect() -> list[Event]:
        return [await anext(stream) for _ in range(n)]

    return await asyncio.wait_for(collect(), timeout)


async def nothing_more(stream: AsyncIterator[Event]) -> bool:
    try:
        await asyncio.wait_for(anext(stream), 0.02)
    except TimeoutError:
        return True
    return False


def summary(events: list[Event]) -> list[tuple[str, str, int]]:
    return [(e.type, e.kv.key, e.revision) for e in events]


# CRUD and preconditions


async def test_crud(store: SQLiteStore) -> None:
    assert store.revision == 0
    assert await store.get("/a") is None
    created = await store.create("/a", b"1")
    assert created == KeyValue("/a", b"1", 1, 1)
    assert await store.get("/a") == created
    updated = await store.update("/a", b"2", expected_revision=1)
    assert updated == KeyValue("/a", b"2", 1, 2)
    unconditional = await store.update("/a", b"3")
    assert unconditional == KeyValue("/a", b"3", 1, 3)
    deleted = await store.delete("/a", expected_revision=3)
    assert deleted == KeyValue("/a", b"3", 1, 4)
    assert await store.get("/a") is None
    assert store.revision == 4
    again = await store.create("/a", b"new")
    assert again == KeyValue("/a", b"new", 5, 5)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: s.create("/x", b"v"), KeyExists, "key exists: /x"),
        (lambda s: s.update("/y", b"v"), KeyNotFound, "key not found: /y"),
        (lambda s: s.update("/y", b"v", expected_revision=1), KeyNotFound, "key not found: /y"),
        (
            lambda s: s.update("/x", b"v", expected_revision=7),
            RevisionMismatch,
            "revision mismatch on /x: expected 7, have 1",
        ),
        (lambda s: s.delete("/y"), KeyNotFound, "key not found: /y"),
        (
            lambda s: s.delete("/x", expected_revision=2),
            RevisionMismatch,
            "revision mismatch on /x: expected 2, have 1",
        ),
    ],
)
async def test_preconditions(
    store: SQLiteStore, call: Any, error: type[StoreError], message: str
) -> None:
    await store.create("/x", b"orig")
    with pytest.raises(error) as info:
        await call(store)
    assert str(info.value) == message
    assert store.revision == 1  # a failed write consumes no revision
    assert await store.get("/x") == KeyValue("/x", b"orig", 1, 1)
    assert (await store.create("/z", b"")).mod_revision == 2


async def test_revision_mismatch_fields(store: SQLiteStore) -> None:
    await store.create("/x", b"")
    with pytest.raises(RevisionMismatch) as info:
        await store.update("/x", b"", expected_revision=9)
    assert (info.value.key, info.value.expected, info.value.actual) == ("/x", 9, 1)


async def test_batch_failures_are_per_request(store: SQLiteStore) -> None:
    """Concurrent creates of one key land in one batch: one wins, the others fail alone."""
    results = await asyncio.gather(
        *(store.create("/same", str(i).encode()) for i in range(30)),
        *(store.create(f"/other/{i}", b"") for i in range(30)),
        return_exceptions=True,
    )
    same, others = results[:30], results[30:]
    assert sum(isinstance(r, KeyValue) for r in same) == 1
    assert all(isinstance(r, KeyExists) for r in same if not isinstance(r, KeyValue))
    assert all(isinstance(r, KeyValue) for r in others)
    revisions = sorted(r.mod_revision for r in results if isinstance(r, KeyValue))
    assert revisions == list(range(1, 32))


# txn


async def test_txn_one_revision(store: SQLiteStore) -> None:
    await store.create("/b", b"b0")
    await store.create("/c", b"c0")
    kvs = await store.txn([Create("/a", b"a1"), Update("/b", b"b1", 1), Delete("/c")])
    assert kvs == [
        KeyValue("/a", b"a1", 3, 3),
        KeyValue("/b", b"b1", 1, 3),
        KeyValue("/c", b"c0", 2, 3),
    ]
    assert store.revision == 3
    listed = await store.list("/")
    assert listed.items == kvs[:2] and listed.revision == 3


@pytest.mark.parametrize(
    ("ops", "error"),
    [
        ([Create("/new", b""), Create("/b", b"")], KeyExists("/b")),
        ([Update("/b", b"x", 2), Delete("/missing")], RevisionMismatch("/b", 2, 1)),
        ([Create("/new", b""), Delete("/missing"), Create("/b", b"")], KeyNotFound("/missing")),
    ],
)
async def test_failed_txn_writes_nothing(
    store: SQLiteStore, ops: list[Any], error: StoreError
) -> None:
    await store.create("/b", b"b0")
    watch = store.watch("/", 1)
    with pytest.raises(type(error)) as info:
        await store.txn(ops)
    assert str(info.value) == str(error)
    assert store.revision == 1
    listed = await store.list("/")
    assert listed.items == [KeyValue("/b", b"b0", 1, 1)] and listed.revision == 1
    assert await nothing_more(watch)
    assert (await store.create("/after", b"")).mod_revision == 2


async def test_txn_edge_cases(store: SQLiteStore) -> None:
    assert await store.txn([]) == []
    assert store.revision == 0
    with pytest.raises(ValueError, match="duplicate key"):
        await store.txn([Create("/a", b""), Update("/a", b"")])


# list


async def test_list_order_prefix_and_pages(store: SQLiteStore) -> None:
    names = [f"/reg/svc/{n}" for n in ("b", "a", "c/1", "c", "e", "d")]
    random.Random(1).shuffle(names)
    for name in names:
        await store.create(name, name.encode())
    for sibling in ("/reg/svcx", "/reg/sv", "/reg/svc"):
        await store.create(sibling, b"")
    everything = await store.list("/reg/svc/")
    keys = [kv.key for kv in everything.items]
    assert keys == sorted(names)
    assert everything.revision == store.revision == 9 and not everything.more
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        page = await store.list("/reg/svc/", start_after=after, limit=2)
        pages.append([kv.key for kv in page.items])
        assert page.revision == 9
        if not page.more:
            break
        after = page.items[-1].key
    assert pages == [keys[0:2], keys[2:4], keys[4:6]]
    assert (await store.list("/reg/svc/", limit=0)).items == everything.items
    assert (await store.list("/reg/svc/", limit=6)).more is False
    assert [kv.key for kv in (await store.list("")).items] == sorted(
        [*names, "/reg/svcx", "/reg/sv", "/reg/svc"]
    )


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("/a/", "/a0"),
        ("", None),
        ("a\U0010ffff", "b"),
        ("\U0010ffff", None),
        ("x\ud7ff", "x\ue000"),
    ],
)
def test_prefix_end(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end


async def test_list_revision_matches_items(store: SQLiteStore) -> None:
    """Under concurrent writes, a list at revision R holds exactly the keys created by R."""
    created: dict[str, int] = {}

    async def write() -> None:
        for i in range(150):
            kv = await store.create(f"/k/{i:04d}", b"")
            created[kv.key] = kv.create_revision

    writer = asyncio.create_task(write())
    results = []
    while not writer.done():
        results.append(await store.list("/k/"))
    await writer
    assert len(results) > 3
    for result in results:
        expected = sorted(k for k, rev in created.items() if rev <= result.revision)
        assert [kv.key for kv in result.items] == expected


async def test_read_your_writes(store: SQLiteStore) -> None:
    async def client(n: int) -> None:
        for i in range(20):
            kv = await store.create(f"/c{n}/{i}", str(i).encode())
            assert await store.get(kv.key) == kv
            assert (await store.list(f"/c{n}/")).revision >= kv.mod_revision

    await asyncio.gather(*(client(n) for n in range(10)))


# watch


async def test_watch_replay_then_live(store: SQLiteStore) -> None:
    await store.create("/w/a", b"1")
    await store.update("/w/a", b"2")
    await store.create("/other", b"")
    stream = store.watch("/w/", 0)
    replay = await take(stream, 2)
    assert replay == [
        Event("PUT", KeyValue("/w/a", b"1", 1, 1), None),
        Event("PUT", KeyValue("/w/a", b"2", 1, 2), KeyValue("/w/a", b"1", 1, 1)),
    ]
    await store.delete("/w/a")
    await store.create("/other2", b"")
    await store.txn([Create("/w/b", b"b"), Create("/w/c", b"c"), Create("/x", b"")])
    live = await take(stream, 3)
    assert live[0] == Event("DELETE", KeyValue("/w/a", b"2", 1, 4), KeyValue("/w/a", b"2", 1, 2))
    assert summary(live[1:]) == [("PUT", "/w/b", 6), ("PUT", "/w/c", 6)]
    assert await nothing_more(stream)


async def test_watch_from_current_and_middle(store: SQLiteStore) -> None:
    for i in range(5):
        await store.create(f"/k{i}", b"")
    from_now = store.watch("/", store.revision)
    from_middle = store.watch("/", 3)
    assert await nothing_more(from_now)
    await store.create("/k5", b"")
    assert summary(await take(from_now, 1)) == [("PUT", "/k5", 6)]
    assert [e.revision for e in await take(from_middle, 3)] == [4, 5, 6]


async def test_watch_from_future_revision(store: SQLiteStore) -> None:
    stream = store.watch("/", 2)
    assert await nothing_more(stream)  # subscribed: revisions 1 and 2 arrive live
    for i in range(4):
        await store.create(f"/k{i}", b"")
    assert [e.revision for e in await take(stream, 2)] == [3, 4]


@pytest.mark.parametrize("seed", range(3))
async def test_watch_no_gap_under_concurrent_writes(store: SQLiteStore, seed: int) -> None:
    """Watchers started at random points while writers run each see exactly every revision
    after their start, once, in order."""
    rng = random.Random(seed)
    total = 400

    async def writer(n: int) -> None:
        for i in range(total // 4):
            await store.create(f"/r/{n}/{i}", b"")
            if rng.random() < 0.3:
                await asyncio.sleep(0)

    async def watcher() -> tuple[int, list[int]]:
        await asyncio.sleep(rng.random() * 0.05)
        start = max(0, store.revision - rng.randrange(0, 30))
        stream = store.watch("/r/", start)
        seen = [e.revision for e in await take(stream, total - start, timeout=10)]
        return start, seen

    watchers = [asyncio.create_task(watcher()) for _ in range(8)]
    await asyncio.gather(*(writer(n) for n in range(4)))
    for start, seen in await asyncio.gather(*watchers):
        assert seen == list(range(start + 1, total + 1))


async def test_too_old_after_compaction(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "s.db", history=5) as store:
        assert store.oldest_revision == 1
        for i in range(20):
            await store.create(f"/k{i}", b"")
        assert store.oldest_revision == 16
        with pytest.raises(TooOldError) as info:
            await anext(store.watch("/", 14))
        assert (info.value.requested, info.value.oldest) == (14, 16)
        assert str(info.value) == "too old resource version: 14 (16)"
        assert [e.revision for e in await take(store.watch("/", 15), 5)] == [16, 17, 18, 19, 20]


async def test_restart_keeps_data_and_numbering(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SQLiteStore(path, history=3) as store:
        await store.create("/a", b"1")
        await store.txn([Create("/b", b"2"), Create("/c", b"3")])
        await store.delete("/c")
        await store.update("/a", b"4")
        await store.create("/gone", b"")
        await store.delete("/gone")
        before = await store.list("/")
    async with SQLiteStore(path, history=3) as store:
        assert store.revision == 6 and store.oldest_revision == 4
        assert await store.list("/") == before
        replay = await take(store.watch("/", 3), 3)
        assert summary(replay) == [("PUT", "/a", 4), ("PUT", "/gone", 5), ("DELETE", "/gone", 6)]
        assert (await store.create("/gone", b"")).create_revision == 7
    async with SQLiteStore(path, history=1) as store:  # a shorter history compacts at once
        assert store.revision == 7 and store.oldest_revision == 7


async def test_many_watchers_receive_everything(store: SQLiteStore) -> None:
    streams = [store.watch("/m/", 0) for _ in range(120)]
    # half subscribed before the writes, half replay
    assert all(await asyncio.gather(*(nothing_more(s) for s in streams[:60])))
    await asyncio.gather(*(store.create(f"/m/{i}", b"") for i in range(50)))
    results = await asyncio.gather(*(take(s, 50) for s in streams))
    for events in results:
        assert [e.revision for e in events] == list(range(1, 51))


async def test_concurrent_writers_unique_revisions(store: SQLiteStore) -> None:
    async def writer(n: int) -> list[int]:
        revisions = []
        for i in range(25):
            kv = await store.create(f"/w/{n}/{i}", b"")
            revisions.append(kv.mod_revision)
            kv = await store.update(kv.key, b"x", expected_revision=kv.mod_revision)
            revisions.append(kv.mod_revision)
        return revisions

    per_writer = await asyncio.gather(*(writer(n) for n in range(20)))
    revisions = [rev for revs in per_writer for rev in revs]
    assert sorted(revisions) == list(range(1, 1001))
    assert all(revs == sorted(revs) for revs in per_writer)


async def test_slow_watcher_catches_up_from_the_log(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "s.db", watch_buffer=10) as store:
        slow = store.watch("/", 0)
        assert await nothing_more(slow)
        for i in range(100):
            await store.create(f"/k{i}", b"")
        assert [e.revision for e in await take(slow, 100)] == list(range(1, 101))


async def test_slow_watcher_past_compaction_is_too_old(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "s.db", watch_buffer=10, history=20) as store:
        slow = store.watch("/", 0)
        assert await nothing_more(slow)
        for i in range(100):
            await store.create(f"/k{i}", b"")
        with pytest.raises(TooOldError):
            await anext(slow)


async def test_closing_a_watch_unsubscribes(store: SQLiteStore) -> None:
    hub = store._hub
    stream = store.watch("/", 0)
    await store.create("/a", b"")
    assert summary(await take(stream, 1)) == [("PUT", "/a", 1)]
    assert hub.watcher_count == 1
    await stream.aclose()
    assert hub.watcher_count == 0
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    async for _ in store.watch("/", 0):
        break
    assert hub.watcher_count == 0  # dropped after break


async def test_close_ends_watchers_and_calls(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    await store.start()
    stream = store.watch("/", 0)
    waiting = asyncio.create_task(take(stream, 1))
    await asyncio.sleep(0.05)
    write = asyncio.create_task(store.create("/queued", b""))
    await asyncio.sleep(0)
    await store.close()
    assert (await write).key == "/queued"  # queued before close: still written
    with pytest.raises(StopAsyncIteration):
        await waiting
    for call in (store.get("/a"), store.create("/a", b""), store.list("/")):
        with pytest.raises(StoreClosed):
            await call
    with pytest.raises(StoreClosed):
        await anext(store.watch("/", 0))
    await store.close()  # idempotent


async def test_open_store(tmp_path: Path) -> None:
    store = open_store(tmp_path / "data", history=10)
    assert isinstance(store, SQLiteStore)
    await store.start()
    try:
        assert (await store.create("/a", b"")).mod_revision == 1
    finally:
        await store.close()
    assert (tmp_path / "data" / "store.db").exists()


# a model check: random write sequences, submitted all at once, against a dict


KEYS = ("/k/a", "/k/b", "/k/c")
single_op = st.tuples(
    st.sampled_from(["create", "update", "delete"]),
    st.sampled_from(KEYS),
    st.sampled_from(["none", "current", "stale"]),
)
request = st.one_of(
    single_op.map(lambda op: [op]),
    st.lists(single_op, min_size=1, max_size=3, unique_by=lambda op: op[1]),
)


class Model:
    """The expected store: applies requests in order with etcd semantics."""

    def __init__(self) -> None:
        self.kv: dict[str, KeyValue] = {}
        self.revision = 0
        self.events: list[tuple[str, str, int]] = []

    def op(self, kind: str, key: str, expect: str, n: int) -> Any:
        value = f"v{n}".encode()
        current = self.kv.get(key)
        expected = None
        if expect != "none":
            base = current.mod_revision if current else 99
            expected = base if expect == "current" else base - 1
        if kind == "create":
            return Create(key, value)
        return Update(key, value, expected) if kind == "update" else Delete(key, expected)

    def apply(self, ops: list[Any]) -> list[KeyValue] | StoreError:
        for op in ops:
            current = self.kv.get(op.key)
            if isinstance(op, Create):
                if current is not None:
                    return KeyExists(op.key)
            elif current is None:
                return KeyNotFound(op.key)
            elif op.expected_revision not in (None, current.mod_revision):
                return RevisionMismatch(op.key, op.expected_revision, current.mod_revision)
        self.revision += 1
        results = []
        for op in ops:
            current = self.kv.get(op.key)
            if isinstance(op, Delete):
                assert current is not None
                results.append(
                    KeyValue(op.key, current.value, current.create_revision, self.revision)
                )
                del self.kv[op.key]
                self.events.append(("DELETE", op.key, self.revision))
            else:
                created = current.create_revision if current else self.revision
                self.kv[op.key] = KeyValue(op.key, op.value, created, self.revision)
                results.append(self.kv[op.key])
                self.events.append(("PUT", op.key, self.revision))
        return results


async def check_against_model(path: Path, requests: list[list[tuple[str, str, str]]]) -> None:
    model = Model()
    batches: list[list[Any]] = []
    expected: list[list[KeyValue] | StoreError] = []
    for n, request_ops in enumerate(requests):
        # Expected revisions are chosen from the model state the store will see at that point.
        ops = [model.op(kind, key, expect, n) for kind, key, expect in request_ops]
        batches.append(ops)
        expected.append(model.apply(ops))
    async with SQLiteStore(path, synchronous="OFF") as store:
        stream = store.watch("/k/", 0)
        results = await asyncio.gather(*(store.txn(ops) for ops in batches), return_exceptions=True)
        for got, want in zip(results, expected, strict=True):
            if isinstance(want, StoreError):
                assert type(got) is type(want) and str(got) == str(want)
            else:
                assert got == want
        assert store.revision == model.revision
        assert (await store.list("/k/")).items == [model.kv[k] for k in sorted(model.kv)]
        assert summary(await take(stream, len(model.events))) == model.events


@given(requests=st.lists(request, max_size=25))
@settings(max_examples=40, deadline=None, database=None)
def test_random_writes_match_model(requests: list[list[tuple[str, str, str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(check_against_model(Path(tmp) / "s.db", requests))


# the watch stream alone, with a scripted log


def logged(log_id: int, revision: int, key: str) -> LogEvent:
    return (log_id, Event("PUT", KeyValue(key, b"", revision, revision), None))


# ids 1..7; revision 3 is a txn of three keys, revision 5 one of two
LOG = [
    logged(1, 1, "/a"),
    logged(2, 2, "/b"),
    logged(3, 3, "/c"),
    logged(4, 3, "/d"),
    logged(5, 3, "/e"),
    logged(6, 4, "/f"),
    logged(7, 5, "/g"),
    logged(8, 5, "/h"),
]


@pytest.mark.parametrize("page_size", [1, 2, 3, 100])
@pytest.mark.parametrize("committed_before_subscribe", [0, 3, 5, 8])
@pytest.mark.parametrize("after_revision", [0, 2, 3])
async def test_stream_merges_history_and_live_exactly_once(
    page_size: int, committed_before_subscribe: int, after_revision: int
) -> None:
    """Events committed before the history read are also broadcast after the subscription
    (the broadcast lags the commit); pages may end inside a txn's revision."""
    hub = WatchHub()
    committed = committed_before_subscribe
    broadcast_done = 0

    async def read_history(prefix: str, min_rev: int, after_id: int, limit: int) -> HistoryPage:
        nonlocal broadcast_done
        if broadcast_done < committed:  # the lagging broadcast lands while we read
            hub.broadcast(LOG[broadcast_done:committed])
            broadcast_done = committed
        rows = [e for e in LOG[:committed] if e[1].revision >= min_rev and e[0] > after_id]
        return HistoryPage(rows[:limit], 0)

    stream = WatchStream(
        hub, read_history, "/", after_revision, is_open=lambda: True, page_size=page_size
    )
    expected = [e.kv.key for _, e in LOG if e.revision > after_revision]
    ready = sum(1 for _, e in LOG[:committed] if e.revision > after_revision)
    got = [e.kv.key for e in await take(stream, ready)]
    hub.broadcast(LOG[committed:])  # committed and broadcast at once
    committed = broadcast_done = len(LOG)
    got += [e.kv.key for e in await take(stream, len(expected) - len(got))]
    assert got == expected
    assert await nothing_more(stream)
