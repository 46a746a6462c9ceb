"""The MCP server's project index kept between calls (``ProjectRecall``) against the index
built afresh from what the replica holds: after any run of writes, deletes, items turned into
Claude Code's scaffolding and back, sessions left out of a refresh and taken in again, both give
the same hits with the same scores (a state machine; the kept index re-reads only the values
whose hash changed, so a missed change would show here as a stale or missing hit).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from memcore.claude_code.project_recall import ProjectRecall
from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.sync import DistributedMemoryManager

SESSIONS = ("a", "b", "c")
KEYS = tuple(f"k{n}" for n in range(6))
WORDS = ("cart", "rounds", "totals", "tax", "invoice", "lint", "fails", "parse_session")
QUERIES = ("cart", "tax invoice", "lint fails", "parse session", "totals rounds cart")

texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join)


def _hits(recall: ProjectRecall, query: str) -> list[tuple[str, str, str, float]]:
    return [(name, item.id, item.content, score) for name, item, score in recall.search(query, 4)]


class KeptAgainstFresh(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.manager = DistributedMemoryManager(
            storage_backend=open_store("memory://"), replica_id="r"
        )
        self.kept = ProjectRecall()
        self.wanted: tuple[str, ...] = SESSIONS

    @rule(
        session=st.sampled_from(SESSIONS),
        key=st.sampled_from(KEYS),
        text=texts,
        scaffolding=st.booleans(),
    )
    def write(self, session: str, key: str, text: str, scaffolding: bool) -> None:
        metadata: dict[str, Any] = {"kind": "scaffolding"} if scaffolding else {}
        self.manager.set(session, key, MemoryItem(key, text, metadata=metadata))

    @rule(session=st.sampled_from(SESSIONS), key=st.sampled_from(KEYS))
    def delete(self, session: str, key: str) -> None:
        self.manager.delete(session, key)

    @rule(
        wanted=st.lists(st.sampled_from(SESSIONS), min_size=1, max_size=3, unique=True).map(tuple)
    )
    def choose_sessions(self, wanted: tuple[str, ...]) -> None:
        self.wanted = wanted

    @invariant()
    def same_hits_as_an_index_built_afresh(self) -> None:
        self.kept.refresh(self.manager, self.wanted)
        fresh = ProjectRecall()
        fresh.refresh(self.manager, self.wanted)
        assert len(self.kept) == len(fresh)
        for query in QUERIES:
            assert _hits(self.kept, query) == _hits(fresh, query)

    def teardown(self) -> None:
        asyncio.run(self.manager.close())


KeptAgainstFresh.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_kept_index_against_fresh = KeptAgainstFresh.TestCase


async def test_a_record_that_is_no_item_is_left_out_of_recall_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A record another program committed through the plain store API (no memory item) made
    every ``recall`` of the project a ValidationError: it is left out, warned of once."""
    from tests.test_search_manager import commit_foreign

    store = open_store("memory://")
    manager = DistributedMemoryManager(storage_backend=store, replica_id="r")
    manager.set("a", "good", MemoryItem("good", "cart totals"))
    await manager.sync_session_memory("a")
    await commit_foreign(store, "a", "raw", {"foo": "cart"})
    assert (await manager.sync_session_memory("a")).success
    recall = ProjectRecall()
    with caplog.at_level("WARNING", logger="memcore.claude_code.project_recall"):
        recall.refresh(manager, ["a"])
        assert [item.id for _, item, _ in recall.ranked("cart", 5)] == ["good"]
        manager.set("a", "more", MemoryItem("more", "cart rounds"))
        recall.refresh(manager, ["a"])
        assert {item.id for _, item, _ in recall.ranked("cart", 5)} == {"good", "more"}
    assert sum("'raw'" in record.getMessage() for record in caplog.records) == 1
    await manager.close()
    await store.close()
