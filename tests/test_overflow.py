"""handle_context_overflow: trigger above 90 %, end at or below 80 %, critical items stay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memcore
from memcore.demo_corpus import stdlib_notes
from memcore.errors import ContextBudgetError, ValidationError
from memcore.model import MemoryItem, Priority
from memcore.overflow import SessionState, handle_context_overflow, item_value
from memcore.tokens import count_tokens

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def notes(n: int = 120, seed: int = 1) -> list[MemoryItem]:
    return stdlib_notes(n, seed=seed, now=NOW)


def tokens_of(items: list[MemoryItem]) -> int:
    return sum(count_tokens(i.content) for i in items)


def test_public_exports() -> None:
    assert memcore.SessionState is SessionState
    assert memcore.handle_context_overflow is handle_context_overflow


def test_below_trigger_nothing_happens() -> None:
    items = notes(30)
    total = tokens_of(items)
    state = SessionState(items, token_budget=int(total / 0.9) + 1, now=NOW)
    outcome = handle_context_overflow(state)
    assert outcome == memcore.OverflowStrategy([], 0, total)
    assert state.items == items


@settings(max_examples=12, deadline=None)
@given(share=st.floats(0.05, 1.05), seed=st.integers(0, 5))
def test_invariants(share: float, seed: int) -> None:
    items = notes(60, seed)
    before = tokens_of(items)
    budget = max(1, int(before * share))
    critical = [i for i in items if i.priority is Priority.CRITICAL]
    state = SessionState(items, budget, now=NOW)
    if tokens_of(critical) > budget:
        with pytest.raises(ContextBudgetError, match="critical"):
            handle_context_overflow(state)
        assert state.items == items  # nothing changed
        return
    outcome = handle_context_overflow(state)
    after = tokens_of(state.items)
    assert outcome.final_token_count == after == state.token_count()
    assert outcome.tokens_saved == before - after
    assert all(c in state.items for c in critical)  # untouched, never evicted
    if before <= 0.9 * budget:
        assert outcome.actions_taken == []
        return
    if tokens_of(critical) <= 0.8 * budget:
        assert after <= 0.8 * budget
    assert outcome.actions_taken
    assert set(outcome.actions_taken) <= {"compress", "hierarchical_summarization", "evict"}
    order = ["compress", "hierarchical_summarization", "evict"]
    assert outcome.actions_taken == [a for a in order if a in outcome.actions_taken]


def test_only_actions_taken_are_listed() -> None:
    items = notes(80)
    total = tokens_of(items)
    mild = SessionState(list(items), int(total / 0.95), now=NOW)  # ~95 %: compression suffices
    outcome = handle_context_overflow(mild)
    assert outcome.actions_taken == ["compress"]
    assert {i.id for i in mild.items} == {i.id for i in items}
    assert outcome.final_token_count <= 0.8 * mild.token_budget
    summarized = [i for i in mild.items if i.metadata.get("summarized")]
    assert summarized
    assert all(i.priority is not Priority.CRITICAL for i in summarized)

    harsh = SessionState(list(items), total // 10, now=NOW)
    outcome = handle_context_overflow(harsh)
    assert outcome.actions_taken[-1] == "evict"
    assert len(harsh.items) < len(items)


def test_eviction_takes_least_valuable_first() -> None:
    text = "Plain filler sentence without facts. " * 20
    items = [
        MemoryItem("old-low", text, "low", NOW - timedelta(days=30)),
        MemoryItem("new-high", text, "high", NOW - timedelta(minutes=5)),
        MemoryItem("crit", text, "critical", NOW - timedelta(days=90)),
        MemoryItem("used", text, "low", NOW - timedelta(days=30), {"access_count": 50}),
    ]
    assert item_value(items[3], NOW) > item_value(items[0], NOW)

    def one_word(t: str, ratio: float) -> str:
        return t  # a summarizer that cannot shorten, so eviction must act

    class NoSummary:
        def summarize(self, t: str, ratio: float) -> str:
            return one_word(t, ratio)

        def summarize_group(self, texts: Sequence[str], ratio: float) -> str:
            return "\n\n".join(texts)

    state = SessionState(items, tokens_of(items) // 2, now=NOW, summarizer=NoSummary())
    outcome = handle_context_overflow(state)
    assert outcome.actions_taken == ["evict"]
    kept = [i.id for i in state.items]
    assert "crit" in kept
    assert "old-low" not in kept
    assert outcome.final_token_count <= 0.8 * state.token_budget


def test_critical_items_over_budget_is_an_error() -> None:
    items = [
        MemoryItem(f"c{k}", f"Critical fact number {k} is here.", "critical") for k in range(20)
    ]
    state = SessionState(items, token_budget=10)
    with pytest.raises(ContextBudgetError, match="critical items alone"):
        handle_context_overflow(state)
    assert state.items == items


def test_bad_budget() -> None:
    for budget in (0, -5, 1.5, True):
        with pytest.raises(ValidationError):
            SessionState([], budget)  # type: ignore[arg-type]


def test_pluggable_counter() -> None:
    items = notes(20)
    state = SessionState(items, token_budget=100, counter=len, now=NOW)
    outcome = handle_context_overflow(state)
    assert outcome.final_token_count == sum(len(i.content) for i in state.items)
    assert outcome.final_token_count <= 80
