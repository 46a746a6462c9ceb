"""``DistributedMemoryManager.search`` kept current by writes and syncs, and the embedding hook."""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from memcore import DistributedMemoryManager, MemoryIndex, MemoryItem, SearchHit, ValidationError
from memcore.search import HybridRetriever, item_text, reciprocal_rank_fusion
from memcore.stores import Store, decode_entry, open_store
from memcore.stores.base import Entry, encode_entry, live_digest

FACTS = {
    "redis": "Redis Cluster keeps every key of one session in one hash slot",
    "sqlite": "The default store is an SQLite file under MEMCORE_HOME",
    "lz4": "Bundles are an lz4 frame after a small checksummed header",
    "pref": "The user prefers pytest with hypothesis for property tests",
}


def keys_of(hits: Sequence[SearchHit]) -> list[str]:
    return [hit.key for hit in hits]


async def test_search_follows_local_writes_and_deletes() -> None:
    manager = DistributedMemoryManager("memory://", replica_id="a")
    for key, text in FACTS.items():
        manager.set("s", key, {"content": text, "metadata": {"kind": "fact"}})
    assert manager._sessions["s"].recall is None  # never searched: no index kept
    hits = manager.search("s", "hash slot of a session")
    assert keys_of(hits)[0] == "redis"
    assert hits[0].item == MemoryItem.coerce(manager.get("s", "redis"))
    assert hits[0].item.metadata == {"kind": "fact"}
    assert hits[0].score > 0
    manager.set("s", "sqlite", {"content": "now it is about hash slots too"})
    assert set(keys_of(manager.search("s", "slot slots"))) == {"redis", "sqlite"}
    manager.delete("s", "redis")
    assert keys_of(manager.search("s", "cluster")) == []
    assert manager.search("empty-session", "anything") == []
    with pytest.raises(ValidationError):
        manager.search("s", "q", k=0)
    with pytest.raises(ValidationError):
        manager.search("s", 5)  # type: ignore[arg-type]
    await manager.close()


async def test_items_from_other_replicas_are_found_and_deleted_ones_are_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a = DistributedMemoryManager(url, replica_id="a")
    b = DistributedMemoryManager(url, replica_id="b")
    b.set("s", "own", {"content": "a note written on replica b about lz4"})
    assert keys_of(b.search("s", "redis")) == []  # b's index exists before anything arrives
    for key, text in FACTS.items():
        a.set("s", key, {"content": text})
    await a.sync_session_memory("s")
    assert keys_of(b.search("s", "redis cluster")) == []  # not synced yet
    await b.sync_session_memory("s")
    assert keys_of(b.search("s", "redis cluster")) == ["redis"]
    assert set(keys_of(b.search("s", "lz4"))) == {"lz4", "own"}
    a.delete("s", "redis")
    a.set("s", "lz4", {"content": "bundles now use zstd"})
    await a.sync_session_memory("s")
    await b.sync_session_memory("s")
    assert keys_of(b.search("s", "redis cluster")) == []
    assert keys_of(b.search("s", "zstd")) == ["lz4"]
    await b.resync_session("s")  # a whole refetch replaces the slots: the index rebuilds
    assert keys_of(b.search("s", "zstd")) == ["lz4"]
    assert keys_of(b.search("s", "replica")) == ["own"]
    await a.close()
    await b.close()


async def test_manager_search_equals_a_fresh_index_of_its_state() -> None:
    rng = random.Random(5)
    words = ["alpha", "beta", "gamma", "delta", "sync", "store", "redis", "été", "x9"]
    manager = DistributedMemoryManager("memory://", replica_id="r")
    for step in range(400):
        key = f"k{rng.randrange(40)}"
        if rng.random() < 0.25:
            manager.delete("s", key)
        else:
            text = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 12)))
            manager.set("s", key, {"content": text})
        if step % 50 == 0:
            manager.search("s", "alpha")  # the index lives through the churn
            await manager.sync_session_memory("s")
    fresh = MemoryIndex()
    for key, item in manager.state("s").items():
        fresh.add(key, item_text(MemoryItem.coerce(item)))
    for query in ["alpha", "beta gamma", "redis été sync", "unknown"]:
        got = [(hit.key, hit.score) for hit in manager.search("s", query, k=50)]
        assert got == fresh.search(query, k=50)
    await manager.close()


# --- embeddings --------------------------------------------------------------------------------


def toy_embed(texts: Sequence[str]) -> list[list[float]]:
    """A deterministic stand-in for a model: hashed character trigrams in 512 buckets."""
    vectors = []
    for text in texts:
        vector = [0.0] * 512
        padded = f"  {text.lower()}  "
        for i in range(len(padded) - 2):
            vector[zlib.crc32(padded[i : i + 3].encode()) % 512] += 1.0
        vectors.append(vector)
    return vectors


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=60)
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert [key for key, _ in fused] == ["a", "c", "b"]
    with pytest.raises(ValidationError):
        reciprocal_rank_fusion([["a"]], k=0)


@pytest.mark.parametrize(
    ("rankings", "said"),
    [
        (None, "rankings must be an iterable of rankings"),
        (5, "rankings must be an iterable of rankings"),
        ("ab", "rankings must be an iterable of rankings"),
        ([5], "a ranking must be an iterable of keys"),
        ([["a"], None], "a ranking must be an iterable of keys"),
        ([["a"], "ab"], "a ranking must be an iterable of keys"),
    ],
)
def test_reciprocal_rank_fusion_refuses_what_is_no_ranking(rankings: object, said: str) -> None:
    """Each was a builtin ``TypeError`` ('NoneType' object is not iterable), or a str ranking
    read as its characters."""
    with pytest.raises(ValidationError, match=said):
        reciprocal_rank_fusion(rankings)  # type: ignore[arg-type]


def test_hybrid_finds_what_keywords_miss() -> None:
    retriever = HybridRetriever(toy_embed)
    retriever.add_many(
        {
            "color": "the colour of the button is configurable",
            "theme": "dark theme settings",
            "other": "unrelated text about databases",
        }
    )
    assert retriever.index.search("color") == []  # no shared token: BM25 alone finds nothing
    hits = retriever.search("color", k=2)
    assert hits[0][0] == "color"
    dense = retriever.dense_search("color", k=3)
    assert dense[0][0] == "color"
    assert math.isclose(dense[0][1], max(score for _, score in dense))
    both = retriever.search("databases colour", k=3)
    assert {key for key, _ in both[:2]} == {"color", "other"}
    retriever.remove("color")
    assert "color" not in [key for key, _ in retriever.search("colour", k=3)]
    assert len(retriever) == 2


def test_hybrid_from_a_session_and_bad_embeddings() -> None:
    items = {k: MemoryItem(k, text) for k, text in FACTS.items()}
    retriever = HybridRetriever.from_items(items, toy_embed, depth=10)
    assert retriever.search("hash slot", k=1)[0][0] == "redis"
    with pytest.raises(ValidationError):
        HybridRetriever("not callable")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        HybridRetriever(lambda texts: [[1.0]] * (len(texts) + 1)).add("a", "text")
    with pytest.raises(ValidationError):
        HybridRetriever(lambda texts: [[math.nan] for _ in texts]).add("a", "text")
    mixed = HybridRetriever(lambda texts: [[1.0] * (len(t) % 3 + 1) for t in texts])
    mixed.add("a", "abc")
    with pytest.raises(ValidationError):
        mixed.add("b", "abcd")  # another dimension


async def commit_foreign(store: Store, session: str, key: str, value: object) -> None:
    """``value`` under ``key``, committed as another program would through the plain store
    API: a record that is no memory item."""
    snapshot = await store.read_snapshot(session)
    entries = {k: decode_entry(v) for k, v in snapshot.records.items()}
    entry = Entry(value, max(e.stamp for e in entries.values()) + 1, "other", False)
    entries[key] = entry
    await store.commit(session, snapshot.version, {key: encode_entry(entry)}, live_digest(entries))


async def test_a_record_that_is_no_item_is_left_out_of_search_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # (it made every search of the session a ValidationError; ``memcore search`` skipped it)
    store = open_store("memory://")
    writer = DistributedMemoryManager(store, replica_id="a")
    writer.set("s", "good", {"content": "alpha good item"})
    await writer.sync_session_memory("s")
    await commit_foreign(store, "s", "raw", {"foo": "alpha"})
    reader = DistributedMemoryManager(store, replica_id="b")
    assert (await reader.sync_session_memory("s")).success
    with caplog.at_level("WARNING", logger="memcore.search"):
        assert keys_of(reader.search("s", "alpha")) == ["good"]
        reader.set("s", "more", {"content": "alpha more"})
        assert set(keys_of(reader.search("s", "alpha"))) == {"good", "more"}
    assert sum("'raw'" in record.getMessage() for record in caplog.records) == 1
    await reader.close()
    await writer.close()
    await store.close()
