"""Knowledge transfer between sessions: extraction, merge strategies, conflicts, history."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from memcore.errors import ValidationError
from memcore.model import MemoryItem, TransferableKnowledge
from memcore.transfer import (
    ACCESS_LOG_SESSION,
    HISTORY_SESSION,
    AccessPattern,
    SessionKnowledgeTransfer,
    group_near_duplicates,
    group_tasks,
    knowledge_items,
    load_access_log,
    mine_patterns,
    save_access_log,
)
from memcore.transfer_items import _confidence
from tests.param_ids import value_id


def manager_class() -> Any:
    """The manager class the store-backed tests drive."""
    from memcore.sync import DistributedMemoryManager

    return DistributedMemoryManager


T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def item(item_id: str, content: str, kind: str, minutes: int = 0, **meta: object) -> MemoryItem:
    return MemoryItem(
        id=item_id,
        content=content,
        priority="high" if kind in ("preference", "task") else "normal",
        created_at=T0 + timedelta(minutes=minutes),
        metadata={"kind": kind, **meta},
    )


SOURCE_ITEMS = [
    item(
        "pref-tests",
        "Always run pytest -q before saying something is done.",
        "preference",
        confidence=0.95,
    ),
    item("pref-tabs", "I prefer tabs in the Makefile.", "preference", 1, confidence=0.7),
    item("pref-default", "Never push to main directly.", "preference", 2),
    item("sc-commit", "/commit -m 'message'", "shortcut", 3, confidence=0.9),
    item("sc-weak", "/review", "shortcut", 4, confidence=0.5),
    item("task-1", "Fix the failing test in tests/test_cart.py", "task", 5),
    item("task-2", "fix the failing test in tests/test_cart.py", "task", 30),
    item("task-3", "Fix the failing tests in tests/test_cart.py", "task", 60),
    item("task-other", "Write release notes for version 2.0 of the shop", "task", 70),
    item("fact-1", "cart.py computes totals with round()", "fact", 80),
]
ACCESSES = ["file:cart.py", "search:round", "file:cart.py", "cmd:pytest -q"] * 3 + ["tool:Glob"]


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    manager_class()
    return f"sqlite:///{tmp_path}/transfer.db"


async def write_session(url: str, session: str, items: Sequence[MemoryItem]) -> None:
    manager = manager_class()(storage_backend=url, replica_id=f"writer-{session}")
    try:
        await manager.sync_session_memory(session)
        for one in items:
            manager.set(session, one.id, one)
        result = await manager.sync_session_memory(session)
        assert result.success
    finally:
        await manager.close()


async def read_session(url: str, session: str) -> dict[str, MemoryItem]:
    manager = manager_class()(storage_backend=url, replica_id=f"reader-{session}")
    try:
        await manager.sync_session_memory(session)
        return {k: MemoryItem.coerce(v) for k, v in manager.state(session).items()}
    finally:
        await manager.close()


@pytest.fixture
async def source(store_url: str) -> str:
    await write_session(store_url, "source", SOURCE_ITEMS)
    await save_access_log(store_url, "source", ACCESSES)
    return "source"


@pytest.fixture
async def transfer(store_url: str) -> AsyncIterator[SessionKnowledgeTransfer]:
    engine = SessionKnowledgeTransfer(storage_backend=store_url)
    yield engine
    await engine.close()


def test_mine_patterns_counts_and_confidence() -> None:
    patterns = {p.sequence: p for p in mine_patterns(ACCESSES)}
    pair = patterns[("file:cart.py", "search:round")]
    assert pair.count == 3
    # cart.py was followed 6 times: 3 by the search, 3 by pytest
    assert pair.confidence == pytest.approx(0.5)
    assert patterns[("search:round", "file:cart.py")].confidence == pytest.approx(1.0)
    assert patterns[("file:cart.py", "search:round", "file:cart.py")].count == 3
    assert ("cmd:pytest -q", "tool:Glob") not in patterns  # seen once
    with pytest.raises(ValidationError):
        mine_patterns(ACCESSES, max_length=1)


async def test_access_log_round_trip(store_url: str) -> None:
    assert await load_access_log(store_url, "nobody") == []
    assert await save_access_log(store_url, "s", ["a", "b"]) == 2
    assert await save_access_log(store_url, "s", ["c"]) == 3
    assert await load_access_log(store_url, "s") == ["a", "b", "c"]
    assert await save_access_log(store_url, "s", ["z"], append=False) == 1
    assert await load_access_log(store_url, "s") == ["z"]


async def test_extract_gathers_every_kind(source: str, transfer: SessionKnowledgeTransfer) -> None:
    knowledge = await transfer.extract_knowledge(source)
    assert knowledge.source_session == "source"
    assert {p.id for p in knowledge.preferences} == {"pref-tests", "pref-tabs", "pref-default"}
    assert {s.id for s in knowledge.shortcuts} == {"sc-commit", "sc-weak"}
    assert len(knowledge.common_tasks) == 1
    common = knowledge.common_tasks[0]
    assert common.count == 3
    assert set(common.item_ids) == {"task-1", "task-2", "task-3"}
    assert common.item.id == "task-3"  # the most recent stands for the group
    assert knowledge.pattern_count == len(knowledge.patterns) > 0
    assert all(isinstance(p, AccessPattern) for p in knowledge.patterns)
    assert knowledge.extracted_at.tzinfo is not None


def test_extract_from_synchronous_code(store_url: str) -> None:
    import asyncio

    asyncio.run(write_session(store_url, "sync-source", SOURCE_ITEMS[:3]))
    engine = SessionKnowledgeTransfer(storage_backend=store_url)
    try:
        knowledge = engine.extract_transferable_knowledge("sync-source")
        assert isinstance(knowledge, TransferableKnowledge)
        assert len(knowledge.preferences) == 3
        assert knowledge.patterns == []
    finally:
        asyncio.run(engine.close())


async def test_selective_transfers_only_confident_items(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str
) -> None:
    knowledge = await transfer.extract_knowledge(source)
    result = await transfer.transfer_knowledge(knowledge, "target", merge_strategy="selective")
    assert result.success
    assert result.merge_strategy == "selective"
    assert result.conflicts_resolved == 0
    target = await read_session(store_url, "target")
    assert {"pref-tests", "pref-default", "sc-commit", "task-3"} <= set(target)
    assert "pref-tabs" not in target  # 0.7
    assert "sc-weak" not in target  # 0.5
    confident = [c for c in knowledge_items(knowledge) if c.metadata.get("confidence", 1.0) > 0.8]
    assert result.items_transferred == len(confident) == len(target)
    moved = target["pref-tests"]
    assert moved.metadata["transferred_from"] == "source"
    assert moved.content == SOURCE_ITEMS[0].content
    assert target["task-3"].metadata["count"] == 3


async def test_full_transfers_everything_and_is_idempotent(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str
) -> None:
    knowledge = await transfer.extract_knowledge(source)
    first = await transfer.transfer_knowledge(knowledge, "target", merge_strategy="full")
    assert first.items_transferred == len(knowledge_items(knowledge))
    again = await transfer.transfer_knowledge(knowledge, "target", merge_strategy="full")
    assert again.items_transferred == 0
    assert again.conflicts_resolved == 0
    # extracted again from the unchanged source (its patterns stamped with a later time): the
    # same knowledge, not a rewrite of every pattern reported as a conflict
    later = await transfer.extract_knowledge(source)
    assert later.patterns
    assert later.extracted_at >= knowledge.extracted_at
    third = await transfer.transfer_knowledge(later, "target", merge_strategy="full")
    assert third.items_transferred == 0
    assert third.conflicts_resolved == 0


async def test_manual_lets_the_reviewer_decide(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str
) -> None:
    seen: list[tuple[list[str], str]] = []

    async def review(candidates: list[MemoryItem], target: str) -> list[MemoryItem]:
        seen.append(([c.id for c in candidates], target))
        return [c for c in candidates if c.metadata.get("kind") == "shortcut"]

    knowledge = await transfer.extract_knowledge(source)
    result = await transfer.transfer_knowledge(knowledge, "target", "manual", review=review)
    assert seen[0][1] == "target"
    assert len(seen[0][0]) == len(knowledge_items(knowledge))
    assert result.items_transferred == 2
    assert set(await read_session(store_url, "target")) == {"sc-commit", "sc-weak"}


async def test_manual_rejects_bad_reviewers(
    source: str, transfer: SessionKnowledgeTransfer
) -> None:
    knowledge = await transfer.extract_knowledge(source)
    with pytest.raises(ValidationError, match="review callback"):
        await transfer.transfer_knowledge(knowledge, "target", "manual")

    async def invent(candidates: list[MemoryItem], target: str) -> list[MemoryItem]:
        return [MemoryItem(id="made-up", content="x")]

    with pytest.raises(ValidationError, match="not offered"):
        await transfer.transfer_knowledge(knowledge, "target", "manual", review=invent)
    with pytest.raises(ValidationError, match="merge_strategy"):
        await transfer.transfer_knowledge(knowledge, "target", "greedy")


@pytest.mark.parametrize(
    ("strategy", "target_first", "target_minutes", "winner"),
    [
        # timestamp: the copy written last wins, by the sync layer's stamps, not created_at
        ("timestamp", True, +600, "local"),  # the target's copy was written before the source's
        ("timestamp", False, -60, "remote"),  # written after it: it stays
        ("local-wins", False, +600, "local"),
        ("remote-wins", True, -60, "remote"),
    ],
)
async def test_clashes_are_settled_by_the_sync_strategies(
    store_url: str, strategy: str, target_first: bool, target_minutes: int, winner: str
) -> None:
    theirs = item(
        "pref-tests",
        "Run the whole suite, not just -q.",
        "preference",
        target_minutes,
        confidence=1.0,
    )
    if target_first:
        await write_session(store_url, "target", [theirs])
    await write_session(store_url, "source", SOURCE_ITEMS)
    if not target_first:
        await write_session(store_url, "target", [theirs])
    engine = SessionKnowledgeTransfer(storage_backend=store_url, conflict_strategy=strategy)
    try:
        knowledge = await engine.extract_knowledge("source")
        result = await engine.transfer_knowledge(knowledge, "target", "full")
    finally:
        await engine.close()
    assert result.conflicts_resolved == 1
    (conflict,) = result.conflicts
    assert conflict.key == "pref-tests"
    assert conflict.winner == winner
    kept = (await read_session(store_url, "target"))["pref-tests"]
    expected = SOURCE_ITEMS[0].content if winner == "local" else theirs.content
    assert kept.content == expected


async def test_target_replica_sees_items_after_its_next_sync(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str
) -> None:
    agent = manager_class()(storage_backend=store_url, replica_id="target-agent")
    try:
        await agent.sync_session_memory("target")
        assert agent.state("target") == {}
        knowledge = await transfer.extract_knowledge(source)
        await transfer.transfer_knowledge(knowledge, "target", "selective")
        assert agent.state("target") == {}  # not before its sync
        await agent.sync_session_memory("target")
        assert "pref-tests" in agent.state("target")
    finally:
        await agent.close()


async def test_transfer_history_is_kept_in_the_store(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str
) -> None:
    knowledge = await transfer.extract_knowledge(source)
    await transfer.transfer_knowledge(knowledge, "target-a", "selective")
    await transfer.transfer_knowledge(knowledge, "target-b", "full")
    other = SessionKnowledgeTransfer(storage_backend=store_url)  # a fresh reader
    try:
        history = await other.transfer_history()
        assert [(h["target"], h["merge_strategy"]) for h in history] == [
            ("target-a", "selective"),
            ("target-b", "full"),
        ]
        assert history[1]["items_transferred"] == len(knowledge_items(knowledge))
        assert [h["target"] for h in await other.transfer_history("target-b")] == ["target-b"]
        assert set(await read_session(store_url, HISTORY_SESSION)) == {h["id"] for h in history}
    finally:
        await other.close()


async def test_an_entry_of_the_history_no_transfer_wrote_is_passed_over(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str
) -> None:
    """The history is a session of the shared store: an item another writer put there (not a
    transfer's JSON record) is left out of the history, not an error of every reader."""
    knowledge = await transfer.extract_knowledge(source)
    await transfer.transfer_knowledge(knowledge, "target-a", "selective")
    writer = manager_class()(store_url, replica_id="stray-writer")
    try:
        await writer.sync_session_memory(HISTORY_SESSION)
        for key, content in (("not-json", "{broken"), ("a-list", "[1, 2]")):
            writer.set(HISTORY_SESSION, key, MemoryItem(key, content))
        assert (await writer.sync_session_memory(HISTORY_SESSION)).success
    finally:
        await writer.close()
    other = SessionKnowledgeTransfer(storage_backend=store_url)
    try:
        assert [h["target"] for h in await other.transfer_history()] == ["target-a"]
    finally:
        await other.close()


async def test_patterns_from_an_attached_prefetcher(
    store_url: str, transfer: SessionKnowledgeTransfer
) -> None:
    from memcore import prefetch

    await write_session(store_url, "live", SOURCE_ITEMS[:3])
    prefetcher = prefetch.PredictiveMemoryPrefetcher(window_size=5)
    for access in ["pref-tests", "pref-tabs", "pref-default"] * 4:
        prefetcher.record_access("live", access)
    transfer.attach_prefetcher(prefetcher)
    knowledge = await transfer.extract_knowledge("live")
    sequences = {p.sequence: p for p in knowledge.patterns}
    best = sequences[("pref-tests", "pref-tabs")]
    assert best.confidence == max(
        p.confidence for p in knowledge.patterns if p.sequence[0] == "pref-tests"
    )
    assert best.count == 0  # learned by the prefetcher, never logged


async def test_patterns_of_accesses_that_are_no_keys_and_only_pairs_that_happened(
    store_url: str, transfer: SessionKnowledgeTransfer
) -> None:
    """The prefetcher counted ``file:x.py`` then ``cmd:pytest``, ids that are no key of the
    session: their patterns transfer (none did); and no pair the session never made (the
    prefetcher fills its list with recent items, "a" after "a" among them)."""
    from memcore import prefetch

    await write_session(store_url, "ids", SOURCE_ITEMS[:2])
    prefetcher = prefetch.PredictiveMemoryPrefetcher()
    for _ in range(10):
        for access in ("file:x.py", "cmd:pytest"):
            prefetcher.record_access("ids", access)
    transfer.attach_prefetcher(prefetcher)
    knowledge = await transfer.extract_knowledge("ids")
    assert {p.sequence for p in knowledge.patterns} == {
        ("file:x.py", "cmd:pytest"),
        ("cmd:pytest", "file:x.py"),
    }


async def test_extract_inside_a_running_loop(
    source: str, transfer: SessionKnowledgeTransfer
) -> None:
    knowledge = transfer.extract_transferable_knowledge(source)
    assert isinstance(knowledge, TransferableKnowledge)
    assert len(knowledge.preferences) == 3


def test_near_duplicate_grouping() -> None:
    texts = [
        "Fix the failing test in tests/test_cart.py",
        "Write release notes for 2.0",
        "fix the failing test in tests/test_cart.py",
        "Fix the failing tests in tests/test_cart.py",
    ]
    groups = sorted(sorted(g) for g in group_near_duplicates(texts))
    assert groups == [[0, 2, 3], [1]]
    tasks = [item(f"t{i}", text, "task", i, confidence=0.9) for i, text in enumerate(texts)]
    (common,) = group_tasks(tasks)
    assert common.count == 3
    assert common.item.id == "t3"
    assert common.confidence == pytest.approx(0.9)
    assert group_tasks(tasks, min_count=1)[-1].count == 1


def test_bad_arguments() -> None:
    with pytest.raises(ValidationError, match="conflict_strategy"):
        SessionKnowledgeTransfer(storage_backend="memory://", conflict_strategy="coin-flip")


@pytest.mark.parametrize(
    ("stated", "read"),
    [
        (None, 1.0),  # none stated: trusted, as the module says
        (0.1, 0.1),
        ("0.1", 0.1),  # a number written as text is read
        ("high", 0.0),  # no number: no confidence, never "fully confident"
        ([1], 0.0),
        (float("nan"), 0.0),
        (float("inf"), 0.0),  # no amount either: not "fully confident"
        (float("-inf"), 0.0),
        ("inf", 0.0),
        (10**400, 0.0),  # too big for a float
        (True, 0.0),
        (7, 1.0),  # clamped into 0..1
    ],
    ids=value_id,
)
def test_confidence_that_is_no_number_is_not_trusted(stated: Any, read: float) -> None:
    metadata = {"kind": "preference"} if stated is None else {"confidence": stated}
    assert _confidence(MemoryItem("p", "Use tabs.", metadata=metadata)) == pytest.approx(read)


async def edit_in(url: str, session: str, key: str, content: str) -> None:
    """A replica of ``session`` edits ``key``'s content, keeping its created_at."""
    replica = manager_class()(storage_backend=url, replica_id=f"editor-{session}")
    try:
        await replica.sync_session_memory(session)
        held = MemoryItem.coerce(replica.get(session, key))
        replica.set(session, key, dataclasses.replace(held, content=content))
        assert (await replica.sync_session_memory(session)).success
    finally:
        await replica.close()


@pytest.mark.parametrize("kind", ["preference", "shortcut", "task", "pattern"])
async def test_an_edit_in_the_target_outlives_the_same_knowledge_sent_again(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str, kind: str
) -> None:
    """'timestamp' settled by created_at, a tie going to the transferred copy: an edit in the
    target (same created_at) was overwritten by the older knowledge sent again."""
    knowledge = await transfer.extract_knowledge(source)
    await transfer.transfer_knowledge(knowledge, "target", "full")
    key = next(c.id for c in knowledge_items(knowledge) if c.metadata.get("kind") == kind)
    await edit_in(store_url, "target", key, "Edited in the target since.")
    again = await transfer.transfer_knowledge(knowledge, "target", "full")
    assert [(c.key, c.winner) for c in again.conflicts] == [(key, "remote")]
    assert again.items_transferred == 0
    assert (await read_session(store_url, "target"))[key].content == "Edited in the target since."


async def test_a_later_edit_in_the_source_wins_over_the_targets_copy(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str
) -> None:
    await transfer.transfer_knowledge(await transfer.extract_knowledge(source), "target", "full")
    await edit_in(store_url, "target", "pref-tests", "Edited in the target.")
    await edit_in(store_url, source, "pref-tests", "Edited in the source, later.")
    result = await transfer.transfer_knowledge(
        await transfer.extract_knowledge(source), "target", "full"
    )
    assert {c.key: c.winner for c in result.conflicts}["pref-tests"] == "local"
    kept = (await read_session(store_url, "target"))["pref-tests"]
    assert kept.content == "Edited in the source, later."


async def test_a_nan_confidence_sent_again_is_no_conflict(
    store_url: str, transfer: SessionKnowledgeTransfer
) -> None:
    """NaN != NaN made every identical re-transfer a conflict and a new version."""
    nan = item("pref-nan", "Prefers tabs.", "preference", confidence=float("nan"))
    await write_session(store_url, "nan-source", [nan, SOURCE_ITEMS[2]])
    knowledge = await transfer.extract_knowledge("nan-source")
    first = await transfer.transfer_knowledge(knowledge, "target", "full")
    assert first.items_transferred == 2
    for _ in range(2):
        again = await transfer.transfer_knowledge(knowledge, "target", "full")
        assert (again.items_transferred, again.conflicts_resolved) == (0, 0)


async def test_an_infinite_confidence_is_not_taken_by_selective(
    store_url: str, transfer: SessionKnowledgeTransfer
) -> None:
    sure = item("pref-sure", "Prefers tabs.", "preference", confidence=0.9)
    wild = item("pref-wild", "Prefers spaces.", "preference", 1, confidence=float("inf"))
    await write_session(store_url, "wild-source", [sure, wild])
    knowledge = await transfer.extract_knowledge("wild-source")
    result = await transfer.transfer_knowledge(knowledge, "target", "selective")
    assert result.items_transferred == 1
    assert set(await read_session(store_url, "target")) == {"pref-sure"}


async def test_a_reviewer_picking_one_item_twice_transfers_it_once(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str
) -> None:
    async def twice(candidates: list[MemoryItem], target: str) -> list[MemoryItem]:
        return [candidates[1], candidates[1]]

    async def two_versions(candidates: list[MemoryItem], target: str) -> list[MemoryItem]:
        return [candidates[1], dataclasses.replace(candidates[1], content="Another version.")]

    knowledge = await transfer.extract_knowledge(source)
    with pytest.raises(ValidationError, match="two different items"):
        await transfer.transfer_knowledge(knowledge, "target", "manual", review=two_versions)
    assert await read_session(store_url, "target") == {}  # nothing written
    result = await transfer.transfer_knowledge(knowledge, "target", "manual", review=twice)
    assert result.items_transferred == 1
    assert len(await read_session(store_url, "target")) == 1


@pytest.mark.parametrize("bad", ["x", None, 0, -1, 1.5, True])
@pytest.mark.parametrize("name", ["min_task_count", "min_pattern_count"])
def test_count_limits_are_checked_up_front(name: str, bad: object) -> None:
    """They were taken as given and failed at extraction with a TypeError."""
    limits: dict[str, Any] = {name: bad}
    with pytest.raises(ValidationError, match=name):
        SessionKnowledgeTransfer(storage_backend="memory://", **limits)


@pytest.mark.parametrize("reserved", [HISTORY_SESSION, ACCESS_LOG_SESSION])
async def test_no_transfer_into_a_session_memcore_keeps(
    source: str, transfer: SessionKnowledgeTransfer, store_url: str, reserved: str
) -> None:
    knowledge = await transfer.extract_knowledge(source)
    before = await read_session(store_url, reserved)
    with pytest.raises(ValidationError, match="keeps for itself"):
        await transfer.transfer_knowledge(knowledge, reserved, "full")
    assert await read_session(store_url, reserved) == before


async def test_selective_takes_the_sure_patterns_of_an_attached_prefetcher(
    store_url: str, transfer: SessionKnowledgeTransfer
) -> None:
    """The calibration stopped at 0.6482, below the 0.8 cut: no pattern ever went."""
    from memcore import prefetch

    await write_session(store_url, "live", SOURCE_ITEMS[:2])
    prefetcher = prefetch.PredictiveMemoryPrefetcher()
    prefetcher.record_accesses("live", ["pref-tests", "pref-tabs"] * 500)
    transfer.attach_prefetcher(prefetcher)
    knowledge = await transfer.extract_knowledge("live")
    assert max(p.confidence for p in knowledge.patterns) > 0.8
    await transfer.transfer_knowledge(knowledge, "target", "selective")
    kinds = [i.metadata.get("kind") for i in (await read_session(store_url, "target")).values()]
    assert "pattern" in kinds


async def test_output_the_user_pasted_twice_is_no_common_task(
    store_url: str, transfer: SessionKnowledgeTransfer
) -> None:
    """An error the user pasted in two turns grouped as a task done twice, at full confidence,
    and went over ahead of the session's real preferences."""
    pasted = 'unknown command "session" for "entire"\n\nDid you mean this?\n        version'
    items = [
        *SOURCE_ITEMS,
        item("paste-1", pasted, "task", 90),
        item("paste-2", pasted, "task", 95),
    ]
    await write_session(store_url, "pasting", items)
    knowledge = await transfer.extract_knowledge("pasting")
    texts = [task.item.content for task in knowledge.common_tasks]
    assert pasted not in texts
    assert any("failing test" in text for text in texts)
