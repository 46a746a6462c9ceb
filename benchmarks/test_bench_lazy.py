"""Opening a 100k-item session: the lazy view (``LazySession.open``) against a full load.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_lazy.py --benchmark-only -q``.
A full load is what an eager open must do: read the snapshot, check and decode every record
(XXH64, msgpack, ``MemoryItem``), drop tombstones. The lazy open reads the same snapshot and
decodes nothing; "open + read 20 items" is a typical turn. On SQLite the snapshot read is real
I/O (rows from a file in ``tmp_path``); on ``memory://`` it is a dict copy, so that group shows
the decoding cost alone. The design document claims 60-80 % less time to open; compare the means
within a group.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from memcore.lazy import LazySession
from memcore.model import MemoryItem
from memcore.stores import Entry, Store, decode_entry, encode_entry, live_digest, open_store

ITEMS = 100_000
SESSION = "bench-lazy"
WORDS = [
    "the",
    "user",
    "prefers",
    "tabs",
    "over",
    "spaces",
    "in",
    "python",
    "files",
    "and",
    "wants",
    "short",
    "commit",
    "messages",
    "run",
    "pytest",
    "before",
    "pushing",
    "read",
    "src/memcore/codec.py",
    "grep",
    "for",
    "state_checksum",
    "edit",
    "the",
    "README",
]
KINDS = ["preference", "shortcut", "task", "fact", "tool_result"]


def make_records(count: int, seed: int = 0) -> tuple[dict[str, bytes], int]:
    """Encoded entries of realistic items (~200 characters, metadata), 1 % tombstones."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    entries: dict[str, Entry] = {}
    for index in range(count):
        key = f"mem-{index:07d}"
        if index % 100 == 99:
            entries[key] = Entry(None, index, "replica-a", deleted=True)
            continue
        words: list[str] = []
        while sum(len(word) + 1 for word in words) < 200:
            words.append(rng.choice(WORDS))
        item = MemoryItem(
            key,
            " ".join(words)[:200],
            priority=rng.choice(["low", "normal", "high", "critical"]),
            created_at=start + timedelta(seconds=17 * index),
            metadata={"kind": rng.choice(KINDS), "confidence": round(rng.random(), 3)},
        )
        entries[key] = Entry(item, index, "replica-a")
    return {key: encode_entry(entry) for key, entry in entries.items()}, live_digest(entries)


def full_load(store: Store) -> dict[str, Any]:
    async def load() -> dict[str, Any]:
        snapshot = await store.read_snapshot(SESSION)
        entries = {key: decode_entry(record) for key, record in snapshot.records.items()}
        return {key: entry.value for key, entry in entries.items() if not entry.deleted}

    return asyncio.run(load())


def lazy_open(store: Store) -> LazySession:
    return asyncio.run(LazySession.open(store, SESSION))


def lazy_open_and_read(store: Store) -> list[Any]:
    view = lazy_open(store)
    keys = list(view)
    return [view[keys[index]] for index in range(0, len(keys), len(keys) // 20)][:20]


@pytest.fixture(scope="module", params=["sqlite", "memory"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('lazy') / 'bench.db'}"
    else:
        url = "memory://"
    opened = open_store(url)
    records, digest = make_records(ITEMS)

    async def fill() -> None:
        assert await opened.commit(SESSION, 0, records, digest) == 1

    asyncio.run(fill())
    yield opened
    asyncio.run(opened.close())


def group(benchmark: Any, store: Store) -> None:
    benchmark.group = f"open a 100k-item session ({store.url.split(':')[0]})"


def test_full_load(benchmark: Any, store: Store) -> None:
    group(benchmark, store)
    state = benchmark.pedantic(full_load, (store,), rounds=5, warmup_rounds=1)
    assert len(state) == ITEMS - ITEMS // 100


def test_lazy_open(benchmark: Any, store: Store) -> None:
    group(benchmark, store)
    view = benchmark.pedantic(lazy_open, (store,), rounds=5, warmup_rounds=1)
    assert len(view) == ITEMS - ITEMS // 100
    assert view.decoded_count == 0


def test_lazy_open_and_read_20(benchmark: Any, store: Store) -> None:
    group(benchmark, store)
    items = benchmark.pedantic(lazy_open_and_read, (store,), rounds=5, warmup_rounds=1)
    assert len(items) == 20
    assert all(isinstance(item, MemoryItem) for item in items)
