"""Sync benchmarks: memcore's sync path side by side with what it is built from.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_sync.py --benchmark-only -q``; read the
ratio of the means within each group.

* ``pull-10k-<store>``: a fresh replica syncing a 10,000-item session (``memcore``) against
  ``raw``: ``SELECT key, record FROM items`` and ``msgpack.unpackb`` of each record's payload
  (no extension hook, no checksum, no merge: the floor for reading those bytes at all).
* ``commit-1key-<store>``: 100 rounds of ``set`` one key + ``sync_session_memory`` on a synced
  replica (``memcore``: nothing else changes the session, so each sync commits first, one
  conditional transaction) against 100 raw one-row ``BEGIN IMMEDIATE`` / ``INSERT`` / ``COMMIT``
  transactions on a table of the same shape, same pragmas (WAL, synchronous=NORMAL) (``raw``);
  and, to show where the time goes, ``Store.commit`` alone, and memcore's own commit statements
  on memcore's schema through plain sqlite3.
* ``writers-<store>``: syncs per second by 1 and 4 writers, in ``test_bench_sync_writers.py``.
* ``session-100k-<store>``: a 100,000-item session: its first sync (one commit of 100k keys),
  a fresh replica's pull, and a 100-key delta (one replica commits 100 changes, another pulls
  them).
* ``sync-10k-100changed-<backend>``: delta sync against the naive design (the whole session as
  one checksummed blob, read, decoded, merged, re-encoded and written back with the same
  compare-and-set, through plain synchronous clients).

``store_url`` is the fixture the comparisons run on: add a store to its params (and a ``raw``
reader for it) to put it in the same tables.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import msgpack
import pytest

from memcore.codec import decode_record, encode_record
from memcore.model import MemoryItem, Priority
from memcore.stores import open_store
from memcore.sync import DistributedMemoryManager

SESSION = "bench-sync"
ITEMS = 10_000
CHANGED = 100
_TEXT = (
    "the user prefers tabs over spaces in python files and wants short commit messages run "
    "pytest before pushing read src/memcore/codec.py grep for state_checksum edit the README"
)
WORDS = _TEXT.split(" ")


PRIORITIES = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


def make_item(index: int, revision: int = 0) -> MemoryItem:
    words = [WORDS[(index * 7 + j * 3 + revision) % len(WORDS)] for j in range(30)]
    return MemoryItem(
        id=f"mem-{index:06d}",
        content=" ".join(words)[:200],
        priority=PRIORITIES[index % 4],
        created_at=START + timedelta(minutes=index),
        metadata={"kind": ("fact", "task", "preference")[index % 3], "revision": revision},
    )


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    made = asyncio.new_event_loop()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(params=["sqlite", "redis"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bench.db'}"
    url: str = request.getfixturevalue("redis_url")
    return url


def _backend_name(url: str) -> str:
    return url.split(":", 1)[0]


@pytest.fixture(params=["sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The stores the side-by-side comparisons run on (one fresh database per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bench.db'}"
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///") :]


def _fill(loop: asyncio.AbstractEventLoop, url: str, count: int, session: str = SESSION) -> None:
    async def go() -> None:
        writer = DistributedMemoryManager(url, replica_id="filler")
        for index in range(count):
            writer.set(session, f"mem-{index:06d}", make_item(index))
        result = await writer.sync_session_memory(session)
        assert result.success
        await writer.close()

    loop.run_until_complete(go())


# --- the naive design: one blob per session ----------------------------------------------------


class BlobStore(Protocol):
    def read(self) -> tuple[int, bytes | None]: ...
    def write(self, expected: int, blob: bytes) -> bool: ...
    def close(self) -> None: ...


class SQLiteBlob:
    """The session as one row: (version, blob); writes compare-and-set on the version."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS blobs"
            " (session TEXT PRIMARY KEY, version INTEGER, data BLOB)"
        )

    def read(self) -> tuple[int, bytes | None]:
        row = self.db.execute(
            "SELECT version, data FROM blobs WHERE session = ?", (SESSION,)
        ).fetchone()
        return (0, None) if row is None else (int(row[0]), bytes(row[1]))

    def write(self, expected: int, blob: bytes) -> bool:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute(
                "SELECT version FROM blobs WHERE session = ?", (SESSION,)
            ).fetchone()
            if (0 if row is None else row[0]) != expected:
                self.db.execute("ROLLBACK")
                return False
            self.db.execute(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)", (SESSION, expected + 1, blob)
            )
            self.db.execute("COMMIT")
            return True
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()


class RedisBlob:
    """The session as one Redis hash {version, data}; writes CAS with WATCH/MULTI/EXEC."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.key = f"naive:{SESSION}"

    def read(self) -> tuple[int, bytes | None]:
        version, data = self.client.hmget(self.key, ["version", "data"])
        if version is None or not isinstance(data, bytes):
            return 0, None
        return int(version), data

    def write(self, expected: int, blob: bytes) -> bool:
        import redis

        with self.client.pipeline() as pipe:
            try:
                pipe.watch(self.key)  # type: ignore[no-untyped-call]
                current = pipe.hget(self.key, "version")
                if int(current or 0) != expected:
                    return False
                pipe.multi()
                pipe.hset(self.key, mapping={"version": expected + 1, "data": blob})
                pipe.execute()
                return True
            except redis.WatchError:
                return False

    def close(self) -> None:
        self.client.close()


def open_blob(url: str) -> BlobStore:
    if url.startswith("sqlite:///"):
        return SQLiteBlob(url[len("sqlite:///") :])
    return RedisBlob(url)


class NaiveReplica:
    """Holds the whole session; a sync reads, decodes, merges and rewrites the whole blob."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.state: dict[str, MemoryItem] = {}
        self.pending: dict[str, MemoryItem] = {}

    def set(self, key: str, value: MemoryItem) -> None:
        self.state[key] = value
        self.pending[key] = value

    def sync(self) -> None:
        while True:
            version, blob = self.blobs.read()
            stored: dict[str, MemoryItem] = {} if blob is None else decode_record(blob)
            stored.update(self.pending)
            self.state = stored
            if not self.pending or self.blobs.write(version, encode_record(stored)):
                self.pending.clear()
                return


# --- delta sync against the naive design --------------------------------------------------------


def test_delta_sync_10k_items_100_changed(
    benchmark: Any, backend_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = f"sync-10k-{CHANGED}changed-{_backend_name(backend_url)}"
    benchmark.name = "delta"
    stores = [open_store(backend_url) for _ in range(2)]
    writer = DistributedMemoryManager(storage_backend=stores[0], replica_id="writer")
    reader = DistributedMemoryManager(storage_backend=stores[1], replica_id="reader")
    for index in range(ITEMS):
        writer.set(SESSION, f"mem-{index:06d}", make_item(index))
    loop.run_until_complete(writer.sync_session_memory(SESSION))
    loop.run_until_complete(reader.sync_session_memory(SESSION))
    revision = [0]

    async def one_round() -> None:
        revision[0] += 1
        for index in range(0, ITEMS, ITEMS // CHANGED):
            writer.set(SESSION, f"mem-{index:06d}", make_item(index, revision[0]))
        pushed = await writer.sync_session_memory(SESSION)
        pulled = await reader.sync_session_memory(SESSION)
        assert pushed.synced_items == CHANGED
        assert pulled.synced_items == CHANGED

    benchmark.pedantic(lambda: loop.run_until_complete(one_round()), rounds=20, warmup_rounds=1)
    assert reader.metadata(SESSION).checksum == writer.metadata(SESSION).checksum
    for store in stores:
        loop.run_until_complete(store.close())


def test_naive_sync_10k_items_100_changed(benchmark: Any, backend_url: str) -> None:
    benchmark.group = f"sync-10k-{CHANGED}changed-{_backend_name(backend_url)}"
    benchmark.name = "naive"
    blobs = [open_blob(backend_url) for _ in range(2)]
    writer, reader = NaiveReplica(blobs[0]), NaiveReplica(blobs[1])
    for index in range(ITEMS):
        writer.set(f"mem-{index:06d}", make_item(index))
    writer.sync()
    reader.sync()
    revision = [0]

    def one_round() -> None:
        revision[0] += 1
        for index in range(0, ITEMS, ITEMS // CHANGED):
            writer.set(f"mem-{index:06d}", make_item(index, revision[0]))
        writer.sync()
        reader.sync()

    benchmark.pedantic(one_round, rounds=15, warmup_rounds=1)  # ~0.1 s a round: 15 tame the noise
    assert reader.state == writer.state
    for blob in blobs:
        blob.close()


# --- pull: a fresh replica takes a 10k-item session ---------------------------------------------


def _bench_pull(
    benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop, count: int, rounds: int
) -> None:
    """A fresh replica on one open store syncs a ``count``-item session, every round."""
    _fill(loop, store_url, count)
    store = open_store(store_url)

    async def pull() -> None:
        reader = DistributedMemoryManager(storage_backend=store, replica_id="reader")
        result = await reader.sync_session_memory(SESSION)
        assert result.synced_items == count

    benchmark.pedantic(lambda: loop.run_until_complete(pull()), rounds=rounds, warmup_rounds=1)
    loop.run_until_complete(store.close())


def test_pull_10k(benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop) -> None:
    benchmark.group = f"pull-10k-{_backend_name(store_url)}"
    benchmark.name = "memcore"
    _bench_pull(benchmark, store_url, loop, ITEMS, rounds=15)


def test_pull_10k_raw(benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop) -> None:
    benchmark.group = f"pull-10k-{_backend_name(store_url)}"
    benchmark.name = "raw"
    if not store_url.startswith("sqlite"):
        pytest.skip("the raw reader of this store is not written")
    _fill(loop, store_url, ITEMS)
    db = sqlite3.connect(_sqlite_path(store_url))

    def raw() -> None:
        rows = db.execute("SELECT key, record FROM items").fetchall()
        decoded = {key: msgpack.unpackb(memoryview(record)[7:-8]) for key, record in rows}
        assert len(decoded) == ITEMS

    benchmark.pedantic(raw, rounds=15, warmup_rounds=2)
    db.close()


# --- a one-key commit -------------------------------------------------------------------------

COMMITS = 100


def test_commit_one_key(benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop) -> None:
    benchmark.group = f"commit-1key-{_backend_name(store_url)}"
    benchmark.name = f"memcore ({COMMITS} syncs)"
    manager = DistributedMemoryManager(store_url, replica_id="writer")
    # the items are made beforehand (as in test_bench_redis): the time is set + sync, not the
    # benchmark's own item factory; each set still encodes and stamps a changed item
    items = [make_item(1, revision) for revision in range(16)]
    revision = [0]

    async def commits() -> None:
        for _ in range(COMMITS):
            revision[0] += 1
            manager.set(SESSION, "mem-000001", items[revision[0] % 16])
            result = await manager.sync_session_memory(SESSION)
            assert result.synced_items == 1

    loop.run_until_complete(commits())  # the session exists and the connection is open
    benchmark.pedantic(lambda: loop.run_until_complete(commits()), rounds=20, warmup_rounds=2)
    loop.run_until_complete(manager.close())


def test_commit_one_key_raw(benchmark: Any, store_url: str) -> None:
    benchmark.group = f"commit-1key-{_backend_name(store_url)}"
    benchmark.name = f"raw ({COMMITS} transactions)"
    if not store_url.startswith("sqlite"):
        pytest.skip("the raw writer of this store is not written")
    db = sqlite3.connect(_sqlite_path(store_url), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "CREATE TABLE items (session TEXT NOT NULL, key TEXT NOT NULL, record BLOB NOT NULL, "
        "version INTEGER NOT NULL, PRIMARY KEY (session, key)) WITHOUT ROWID"
    )
    record = encode_record(make_item(1).to_dict())
    version = [0]

    def transactions() -> None:
        for _ in range(COMMITS):
            version[0] += 1
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?)",
                (SESSION, "mem-000001", record, version[0]),
            )
            db.execute("COMMIT")

    benchmark.pedantic(transactions, rounds=20, warmup_rounds=2)
    db.close()


def test_commit_one_key_store_only(
    benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """Where the time goes: ``Store.commit`` alone (no merge, no encoding, no read), and..."""
    benchmark.group = f"commit-1key-{_backend_name(store_url)}"
    benchmark.name = f"store.commit only ({COMMITS})"
    store = open_store(store_url)
    record = encode_record(make_item(1).to_dict())
    version = [0]

    async def commits() -> None:
        for _ in range(COMMITS):
            new = await store.commit(SESSION, version[0], {"mem-000001": record}, version[0])
            assert new is not None
            version[0] = new

    loop.run_until_complete(commits())
    benchmark.pedantic(lambda: loop.run_until_complete(commits()), rounds=20, warmup_rounds=2)
    loop.run_until_complete(store.close())


def test_commit_one_key_raw_same_statements(
    benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """...the writes of memcore's commit (meta, the item, its journal row) on memcore's schema,
    as three plain statements through sqlite3: what the schema (meta, items, journal: three
    B-trees) costs. (memcore runs them as one statement, a TEMP trigger's
    body: ``_COMMIT_ONE_OBJECTS`` in ``memcore.stores.sqlite_schema``.)"""
    benchmark.group = f"commit-1key-{_backend_name(store_url)}"
    benchmark.name = f"raw, memcore's writes ({COMMITS})"
    if not store_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    store = open_store(store_url)  # creates the schema, then gets out of the way
    loop.run_until_complete(store.commit(SESSION, 0, {}, 0))
    loop.run_until_complete(store.close())
    db = sqlite3.connect(_sqlite_path(store_url), isolation_level=None)
    db.execute("PRAGMA synchronous = NORMAL")
    record = encode_record(make_item(1).to_dict())
    version = [1]

    def transactions() -> None:
        for _ in range(COMMITS):
            new = version[0] + 1
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "UPDATE meta SET version = ?, digest = ? WHERE session = ? AND version = ?",
                (new, new, SESSION, version[0]),
            )
            db.execute(
                "INSERT INTO items (session, key, record, version) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (session, key) DO UPDATE "
                "SET record = excluded.record, version = excluded.version",
                (SESSION, "mem-000001", record, new),
            )
            db.execute(  # the journal row's id: the session's number << 40, plus the version
                "INSERT INTO commits (id, session, version, key, record) "
                "SELECT (number << 40) + ?2, ?1, ?2, ?3, ?4 FROM meta WHERE session = ?1",
                (SESSION, new, "mem-000001", record),
            )
            db.execute("COMMIT")
            version[0] = new

    benchmark.pedantic(transactions, rounds=20, warmup_rounds=2)
    db.close()


# --- a 100k-item session ------------------------------------------------------------------------

BIG = 100_000
BIG_CHANGED = 100


def test_session_100k_first_sync(
    benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = f"session-100k-{_backend_name(store_url)}"
    benchmark.name = "first-sync"
    items = [make_item(index) for index in range(BIG)]
    store = open_store(store_url)
    round_ = [0]
    managers: list[DistributedMemoryManager] = []

    def setup() -> None:
        round_[0] += 1
        manager = DistributedMemoryManager(storage_backend=store, replica_id="writer")
        for item in items:
            manager.set(f"big-{round_[0]}", item.id, item)
        managers[:] = [manager]

    def run() -> None:
        result = loop.run_until_complete(managers[0].sync_session_memory(f"big-{round_[0]}"))
        assert result.synced_items == BIG

    benchmark.pedantic(run, setup=setup, rounds=3)
    loop.run_until_complete(store.close())


def test_session_100k_pull(benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop) -> None:
    benchmark.group = f"session-100k-{_backend_name(store_url)}"
    benchmark.name = "pull"
    _bench_pull(benchmark, store_url, loop, BIG, rounds=3)


def test_session_100k_delta(
    benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = f"session-100k-{_backend_name(store_url)}"
    benchmark.name = f"delta-{BIG_CHANGED}"
    _fill(loop, store_url, BIG)
    writer = DistributedMemoryManager(store_url, replica_id="writer")
    reader = DistributedMemoryManager(store_url, replica_id="reader")
    loop.run_until_complete(writer.sync_session_memory(SESSION))
    loop.run_until_complete(reader.sync_session_memory(SESSION))
    revision = [0]

    async def one_round() -> None:
        revision[0] += 1
        for index in range(0, BIG, BIG // BIG_CHANGED):
            writer.set(SESSION, f"mem-{index:06d}", make_item(index, revision[0]))
        assert (await writer.sync_session_memory(SESSION)).synced_items == BIG_CHANGED
        assert (await reader.sync_session_memory(SESSION)).synced_items == BIG_CHANGED

    benchmark.pedantic(lambda: loop.run_until_complete(one_round()), rounds=10, warmup_rounds=1)
    for manager in (writer, reader):
        loop.run_until_complete(manager.close())
