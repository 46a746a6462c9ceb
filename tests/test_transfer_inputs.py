"""Knowledge of the wrong shape (built or edited by hand) is refused up front with a
``ValidationError``, before the reviewer runs or anything is written; and a closed transfer
refuses to work rather than reopen the store it closed."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from memcore.access_log import ACCESS_LOG_SESSION, load_access_log, save_access_log
from memcore.errors import ValidationError
from memcore.model import MemoryItem, TransferableKnowledge
from memcore.stores import open_store
from memcore.stores.base import Store
from memcore.sync import DistributedMemoryManager
from memcore.transfer import AccessPattern, SessionKnowledgeTransfer
from memcore.transfer_items import CommonTask

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
PREFERENCE = MemoryItem(
    "pref", "Run pytest -q first.", created_at=T0, metadata={"kind": "preference"}
)


def knowledge(**fields: Any) -> TransferableKnowledge:
    base: dict[str, Any] = {
        "patterns": [AccessPattern(("file:a.py", "cmd:pytest"), 3, 0.9)],
        "preferences": [PREFERENCE],
        "shortcuts": [],
        "common_tasks": [],
        "source_session": "source",
        "extracted_at": T0,
        "pattern_count": 1,
    }
    base.update(fields)
    return TransferableKnowledge(**base)


TASK = CommonTask(MemoryItem("task", "Fix the cart", created_at=T0), 2, ("task", "t0"), 1.0)

BAD_KNOWLEDGE: list[tuple[str, dict[str, Any]]] = [
    # each was a TypeError or an AttributeError from deep inside the transfer
    ("preferences None", {"preferences": None}),
    ("a pattern that is a number", {"patterns": [1]}),
    ("a pattern of ints", {"patterns": [AccessPattern((1, 2), 1, 0.5)]}),  # type: ignore[arg-type]
    ("a pattern of one step", {"patterns": [AccessPattern(("a",), 1, 0.5)]}),
    ("a pattern's count a string", {"patterns": [AccessPattern(("a", "b"), "3", 0.5)]}),  # type: ignore[arg-type]
    ("a pattern's confidence a string", {"patterns": [AccessPattern(("a", "b"), 3, "high")]}),  # type: ignore[arg-type]
    ("a task that is a string", {"common_tasks": ["fix it"]}),
    ("a task without an item", {"common_tasks": [dataclasses.replace(TASK, item=None)]}),  # type: ignore[arg-type]
    ("a task's ids not strings", {"common_tasks": [dataclasses.replace(TASK, item_ids=(1,))]}),  # type: ignore[arg-type]
    ("shortcuts a string", {"shortcuts": "/commit"}),
    # and these were written as they were, or failed only when a clash came
    ("source session a number", {"source_session": 5}),
    ("source session empty", {"source_session": ""}),
    ("extracted_at a string", {"extracted_at": "yesterday"}),
    ("extracted_at naive", {"extracted_at": datetime(2026, 11, 20, 9, 0)}),
    ("written None", {"written": None}),
    ("written a string stamp", {"written": {"pref": "junk"}}),
    ("written a stamp too large", {"written": {"pref": (2**70, "replica")}}),
    ("written a replica not a string", {"written": {"pref": (5, 7)}}),
]


@pytest.fixture
def url() -> str:
    return f"sqlite:///{tempfile.mkdtemp()}/transfer.db"


async def state(url: str, session: str) -> dict[str, Any]:
    manager = DistributedMemoryManager(storage_backend=url, replica_id=f"reader-{session}")
    try:
        await manager.sync_session_memory(session)
        return manager.state(session)
    finally:
        await manager.close()


@pytest.mark.parametrize(("label", "fields"), BAD_KNOWLEDGE, ids=[b[0] for b in BAD_KNOWLEDGE])
async def test_knowledge_of_the_wrong_shape_is_refused_before_anything_is_written(
    url: str, label: str, fields: dict[str, Any]
) -> None:
    target = DistributedMemoryManager(storage_backend=url, replica_id="target")
    target.set("target", "pref", MemoryItem("pref", "Tabs, always.", created_at=T0))
    await target.sync_session_memory("target")
    await target.close()
    reviewed: list[object] = []

    async def review(candidates: list[MemoryItem], session: str) -> list[MemoryItem]:
        reviewed.append(candidates)
        return candidates

    engine = SessionKnowledgeTransfer(storage_backend=url)
    try:
        for strategy in ("full", "manual"):
            with pytest.raises(ValidationError, match=r"knowledge|pattern|task|item"):
                await engine.transfer_knowledge(
                    knowledge(**fields), "target", strategy, review=review
                )
        assert reviewed == []
        assert await engine.transfer_history() == []
    finally:
        await engine.close()
    held = await state(url, "target")
    assert list(held) == ["pref"]
    assert MemoryItem.coerce(held["pref"]).content == "Tabs, always."


async def test_well_formed_knowledge_built_by_hand_is_transferred(url: str) -> None:
    engine = SessionKnowledgeTransfer(storage_backend=url)
    try:
        result = await engine.transfer_knowledge(
            knowledge(common_tasks=[TASK], written={"pref": (5, "replica")}), "target", "full"
        )
    finally:
        await engine.close()
    assert result.success
    assert result.items_transferred == 3
    held = {k: MemoryItem.coerce(v) for k, v in (await state(url, "target")).items()}
    assert held["pref"].content == PREFERENCE.content
    assert held["task"].metadata["count"] == 2


async def test_a_task_given_as_a_mapping_is_taken_as_its_item(url: str) -> None:
    as_mapping = dataclasses.replace(TASK, item={"id": "task", "content": "Fix the cart"})  # type: ignore[arg-type]
    engine = SessionKnowledgeTransfer(storage_backend=url)
    try:
        result = await engine.transfer_knowledge(
            knowledge(common_tasks=[as_mapping]), "target", "full"
        )
    finally:
        await engine.close()
    assert result.items_transferred == 3


async def test_a_closed_transfer_refuses_to_work(tmp_path: Path) -> None:
    # It went on working: SQLite reopens on the first call after close(), so the transfer
    # opened a connection (and its worker thread) again that nothing would close.
    path = tmp_path / "closed.db"
    source = DistributedMemoryManager(storage_backend=f"sqlite:///{path}", replica_id="writer")
    source.set("source", "pref", PREFERENCE)
    await source.sync_session_memory("source")
    await source.close()
    engine = SessionKnowledgeTransfer(storage_backend=f"sqlite:///{path}")
    extracted = await engine.extract_knowledge("source")
    await engine.close()
    await engine.close()  # (again: nothing to do)
    with pytest.raises(ValidationError, match="closed"):
        await engine.transfer_knowledge(extracted, "target", "full")
    with pytest.raises(ValidationError, match="closed"):
        await engine.extract_knowledge("source")
    with pytest.raises(ValidationError, match="closed"):
        await engine.transfer_history()
    assert await state(f"sqlite:///{path}", "target") == {}


async def test_a_closed_transfer_refuses_even_on_a_store_it_does_not_own() -> None:
    store: Store = open_store("memory://")
    engine = SessionKnowledgeTransfer(storage_backend=store)
    await engine.close()
    with pytest.raises(ValidationError, match="closed"):
        await engine.transfer_knowledge(knowledge(), "target", "full")
    fresh = SessionKnowledgeTransfer(storage_backend=store)  # the store itself is still open
    try:
        result = await fresh.transfer_knowledge(knowledge(), "target", "full")
    finally:
        await fresh.close()
    assert result.items_transferred == 2


async def test_blank_accesses_are_no_part_of_the_log_nor_of_its_patterns() -> None:
    """Blank accesses made patterns of empty steps, which ``transfer_knowledge`` then refused:
    the whole transfer failed on what extraction had produced."""
    store = open_store("memory://")
    source = DistributedMemoryManager(storage_backend=store, replica_id="a")
    source.set("src", "pref", PREFERENCE)
    await source.sync_session_memory("src")
    await source.close()
    assert await save_access_log(store, "src", ["", "", "", ""]) == 0
    assert await save_access_log(store, "src", ["a", "", "b", "a", "", "b"]) == 4
    assert await load_access_log(store, "src") == ["a", "b", "a", "b"]
    for bad in (["a", 5], "ab", None):
        with pytest.raises(ValidationError, match="access"):
            await save_access_log(store, "src", bad)  # type: ignore[arg-type]
    assert await load_access_log(store, "src") == ["a", "b", "a", "b"]
    engine = SessionKnowledgeTransfer(storage_backend=store)
    try:
        extracted = await engine.extract_knowledge("src")
        assert [p.sequence for p in extracted.patterns] == [("a", "b")]
        result = await engine.transfer_knowledge(extracted, "dst", merge_strategy="full")
    finally:
        await engine.close()
    assert result.success


async def test_a_log_saved_with_blank_lines_loads_without_them() -> None:
    """A log written before blank accesses were left out still holds them."""
    store = open_store("memory://")
    writer = DistributedMemoryManager(storage_backend=store, replica_id="old")
    writer.set(ACCESS_LOG_SESSION, "src", MemoryItem("src", "\n\na\n\nb\n", created_at=T0))
    await writer.sync_session_memory(ACCESS_LOG_SESSION)
    await writer.close()
    assert await load_access_log(store, "src") == ["a", "b"]


@pytest.mark.parametrize("review", [5, "yes", [print]])
async def test_a_review_that_is_no_callable_is_refused_up_front(url: str, review: object) -> None:
    """It was a builtin ``TypeError`` ('int' object is not callable) from inside the transfer."""
    engine = SessionKnowledgeTransfer(storage_backend=url)
    try:
        for strategy in ("manual", "full"):
            with pytest.raises(ValidationError, match="review must be a callable"):
                await engine.transfer_knowledge(knowledge(), "target", strategy, review=review)  # type: ignore[arg-type]
        assert await engine.transfer_history() == []
    finally:
        await engine.close()
    assert await state(url, "target") == {}
