"""What a probe of ``memcore.transfer`` and ``memcore.transfer_items`` broke:

* ``mine_patterns``, ``group_near_duplicates`` and ``group_tasks`` took ``None``, ids or texts
  that are no ``str``, a ``str`` as its letters, and parameters that are no ints, failing as a
  ``TypeError``, an ``AttributeError`` or ``unhashable type`` (or mining ``(None, None)``);
  ``mine_patterns(max_length=10**7)`` counted ten million empty lengths, for seconds;
* an access pattern whose step holds a lone surrogate was a bare ``UnicodeEncodeError`` in
  ``transfer_knowledge``;
* ``SessionKnowledgeTransfer(prefetcher=5)`` was taken, then failed at the next extraction with
  an ``AttributeError``;
* transfers of the same knowledge racing into one target each reported every item as a
  conflict (the copies differ in their transfer provenance only), where a copy already there
  is left alone and no conflict, and each counted every item as transferred by it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from memcore import DistributedMemoryManager, MemoryItem, open_store
from memcore.errors import ValidationError
from memcore.transfer import (
    AccessPattern,
    SessionKnowledgeTransfer,
    group_near_duplicates,
    group_tasks,
    mine_patterns,
)

ACCESSES = ["a", "b", "c"] * 4


@pytest.mark.parametrize(
    ("accesses", "options"),
    [
        (None, {}),
        ("abcabc", {}),
        ([None, None, None], {}),
        ([["x"], ["x"], ["x"]], {}),
        (ACCESSES, {"max_length": None}),
        (ACCESSES, {"max_length": 2.5}),
        (ACCESSES, {"min_count": None}),
        (ACCESSES, {"min_count": 0}),
    ],
    ids=repr,
)
def test_mine_patterns_refuses_what_is_no_access_sequence(
    accesses: Any, options: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        mine_patterns(accesses, **options)


@pytest.mark.timeout(60)
def test_mine_patterns_looks_no_further_than_the_accesses() -> None:
    assert mine_patterns(ACCESSES, max_length=2**62) == mine_patterns(ACCESSES, max_length=12)
    assert mine_patterns(iter(ACCESSES)) == mine_patterns(ACCESSES)


@pytest.mark.parametrize(
    ("texts", "threshold"),
    [(None, 0.6), ("ab", 0.6), ([None], 0.6), ([b"a b"], 0.6), (["a b"], None), (["a"], "0.5")],
    ids=repr,
)
def test_group_near_duplicates_refuses_what_is_no_texts(texts: Any, threshold: Any) -> None:
    with pytest.raises(ValidationError):
        group_near_duplicates(texts, threshold)


def test_group_tasks_takes_items_as_coerce_items_does() -> None:
    tasks = [MemoryItem(f"t{n}", "run the whole test suite again") for n in range(3)]
    (common,) = group_tasks([task.to_dict() for task in tasks])
    assert common.count == 3
    assert isinstance(common.item, MemoryItem)
    with pytest.raises(ValidationError):
        group_tasks(None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        group_tasks(tasks, min_count=None)  # type: ignore[arg-type]


async def test_a_pattern_that_is_no_utf8_is_a_validation_error_and_writes_nothing() -> None:
    store = open_store("memory://")
    source = DistributedMemoryManager(store, replica_id="source")
    source.set("s1", "p", MemoryItem("p", "tabs", metadata={"kind": "preference"}))
    await source.sync_session_memory("s1")
    await source.close()
    transfer = SessionKnowledgeTransfer(store)
    knowledge = await transfer.extract_knowledge("s1")
    bad = dataclasses.replace(knowledge, patterns=[AccessPattern(("a", "\ud800"), 2, 0.9)])
    with pytest.raises(ValidationError, match="access pattern's sequence"):
        await transfer.transfer_knowledge(bad, "t1", "full")
    reader = DistributedMemoryManager(store, replica_id="reader")
    await reader.sync_session_memory("t1")
    assert reader.state("t1") == {}
    await reader.close()
    await transfer.close()


def test_a_prefetcher_that_is_no_prefetcher_is_refused() -> None:
    with pytest.raises(ValidationError, match="prefetcher must be a PredictiveMemoryPrefetcher"):
        SessionKnowledgeTransfer("memory://", prefetcher=5)  # type: ignore[arg-type]
    transfer = SessionKnowledgeTransfer("memory://")
    with pytest.raises(ValidationError, match="prefetcher must be a PredictiveMemoryPrefetcher"):
        transfer.attach_prefetcher("no")  # type: ignore[arg-type]
    assert transfer.prefetcher is None


async def test_racing_transfers_of_the_same_knowledge_report_no_conflicts() -> None:
    store = open_store("memory://")
    source = DistributedMemoryManager(store, replica_id="source")
    for n in range(3):
        source.set("s1", f"p{n}", MemoryItem(f"p{n}", f"pref {n}", metadata={"kind": "preference"}))
    await source.sync_session_memory("s1")
    await source.close()
    transfer = SessionKnowledgeTransfer(store)
    knowledge = await transfer.extract_knowledge("s1")
    results = await asyncio.gather(
        *(transfer.transfer_knowledge(knowledge, "t", "full") for _ in range(4))
    )
    assert all(result.success for result in results)
    assert [result.conflicts for result in results] == [[]] * 4
    assert sum(result.items_transferred for result in results) == 3  # (each item once)
    reader = DistributedMemoryManager(store, replica_id="reader")
    await reader.sync_session_memory("t")
    assert sorted(reader.state("t")) == ["p0", "p1", "p2"]
    await reader.close()
    await transfer.close()
