"""Sync benchmarks: delta sync against the naive whole-session design, and syncs per second.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_sync.py --benchmark-only -q``.

* ``sync-10k-100changed-<backend>``: a 10,000-item session in which one replica changes 100 items
  and syncs, then another replica syncs and receives them. ``delta`` is memcore's design (the
  store's per-key version index: only the 100 records travel, the digest is kept incrementally).
  ``naive`` is the obvious alternative done honestly: the whole session as one checksummed msgpack
  blob under one key/row, read, decoded, merged, re-encoded and written back with the same
  compare-and-set, and read and decoded whole by the other replica. It talks to the database with
  plain synchronous clients (no thread hop, no event loop), which favours it. Read the ratio of
  the two means.
* ``sync-throughput-<backend>``: 1 and 4 replicas (one store connection each) in one event loop,
  each writing a key and syncing in every round, all at once; 4 contend on the compare-and-set.
  Syncs per second = writers / mean round time (``extra_info`` has the writer count).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import pytest

from memcore.codec import decode_record, encode_record
from memcore.model import MemoryItem, Priority
from memcore.stores import Store, open_store
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


# --- throughput ---------------------------------------------------------------------------------


@pytest.mark.parametrize("writers", [1, 4])
def test_syncs_per_second(
    benchmark: Any, backend_url: str, writers: int, loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = f"sync-throughput-{_backend_name(backend_url)}"
    benchmark.name = f"{writers}-writers"
    benchmark.extra_info["writers"] = writers
    stores: list[Store] = [open_store(backend_url) for _ in range(writers)]
    managers = [
        DistributedMemoryManager(storage_backend=store, replica_id=f"w{i}")
        for i, store in enumerate(stores)
    ]
    counter = [0]

    async def one_round() -> None:
        counter[0] += 1
        jobs: list[Awaitable[Any]] = []
        for i, manager in enumerate(managers):
            manager.set(SESSION, f"w{i}-{counter[0] % 50}", make_item(i, counter[0]))
            jobs.append(manager.sync_session_memory(SESSION))
        results = await asyncio.gather(*jobs)
        assert all(r.success for r in results)

    run: Callable[[], None] = lambda: loop.run_until_complete(one_round())  # noqa: E731
    benchmark.pedantic(run, rounds=40, warmup_rounds=2)
    mean = benchmark.stats.stats.mean
    benchmark.extra_info["syncs_per_second"] = round(writers / mean, 1)
    for store in stores:
        loop.run_until_complete(store.close())
