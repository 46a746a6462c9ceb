"""A prefetcher reading a store sees what other replicas committed after it cached an item: an
update replaces the cached value, a deletion evicts it (both used to be served for good, as the
prefetch skipped every cached prediction).

Real stores: an SQLite file, written by a real ``DistributedMemoryManager``; the failing store
is that store seen through ``tests.sync_support.Wrapped``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from memcore.errors import BackendError
from memcore.prefetch import PredictiveMemoryPrefetcher
from memcore.stores import Store, open_store
from memcore.sync import DistributedMemoryManager
from tests.sync_support import Wrapped

SESSION = "s-1"


@pytest.fixture
async def stored(tmp_path: Path) -> AsyncIterator[tuple[Store, DistributedMemoryManager]]:
    """A store holding "a" and "b", and the replica that wrote them (writing on)."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    store = open_store(url)
    writer = DistributedMemoryManager(url, replica_id="writer")
    writer.set(SESSION, "a", {"content": "A"})
    writer.set(SESSION, "b", {"content": "B, first"})
    await writer.sync_session_memory(SESSION)
    try:
        yield store, writer
    finally:
        await writer.close()
        await store.close()


def trained(loader: Any) -> PredictiveMemoryPrefetcher:
    """After "a", "b" is next with certainty; "a" itself (recent) is predicted too."""
    prefetcher = PredictiveMemoryPrefetcher(loader=loader, threshold=0.0)
    prefetcher.record_accesses(SESSION, ["a", "b"] * 10)
    return prefetcher


def content(prefetcher: PredictiveMemoryPrefetcher, item_id: str) -> str | None:
    value = prefetcher.get(SESSION, item_id)
    return None if value is None else str(value.content)


async def test_an_update_replaces_the_cached_value_and_a_deletion_evicts_it(
    stored: tuple[Store, DistributedMemoryManager],
) -> None:
    store, writer = stored
    prefetcher = trained(store)
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 2  # b and a
    assert content(prefetcher, "b") == "B, first"
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 0  # nothing changed
    writer.set(SESSION, "b", {"content": "B, updated"})
    await writer.sync_session_memory(SESSION)
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 1  # b changed
    assert content(prefetcher, "b") == "B, updated"
    writer.delete(SESSION, "b")
    await writer.sync_session_memory(SESSION)
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 0
    assert prefetcher.get(SESSION, "b") is None  # evicted: a miss, read from the source
    assert content(prefetcher, "a") == "A"
    assert prefetcher.cached_count == 1
    assert prefetcher.load_errors == 0


async def test_a_failed_recheck_keeps_the_cache_and_counts_only_what_it_could_not_load(
    stored: tuple[Store, DistributedMemoryManager], caplog: pytest.LogCaptureFixture
) -> None:
    store, writer = stored
    wrapped = Wrapped(store)
    prefetcher = PredictiveMemoryPrefetcher(loader=wrapped, threshold=0.0)
    prefetcher.record_accesses(SESSION, ["a", "b"] * 10 + ["a", "c"] * 10)
    writer.set(SESSION, "c", {"content": "C"})
    await writer.sync_session_memory(SESSION)
    prefetcher.invalidate(SESSION)
    await prefetcher.prefetch_predicted_items(SESSION, "b")  # after b: a
    assert content(prefetcher, "a") == "A"
    wrapped.fail = BackendError("store unreachable")
    with caplog.at_level(logging.WARNING, logger="memcore.prefetch"):
        assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 0
    assert "store unreachable" in caplog.text
    assert content(prefetcher, "a") == "A"  # a failed check learned nothing: kept as it was
    assert prefetcher.load_errors == 2  # b and c, not yet cached; a was
    wrapped.fail = None
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 2
    assert content(prefetcher, "c") == "C"


async def test_other_loaders_keep_cached_values_until_invalidated() -> None:
    """A loader that cannot say what changed is not asked again for a cached prediction (that
    would read every prediction on every prefetch); ``invalidate`` is how a writer tells it."""
    source = {"a": "A", "b": "B, first"}
    calls: list[str] = []

    async def load(session_id: str, item_id: str) -> str | None:
        calls.append(item_id)
        return source.get(item_id)

    prefetcher = trained(load)
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 2
    source["b"] = "B, updated"
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 0
    assert prefetcher.get(SESSION, "b") == "B, first"
    prefetcher.invalidate(SESSION, "b")
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 1
    assert prefetcher.get(SESSION, "b") == "B, updated"
    assert sorted(calls) == ["a", "b", "b"]
