"""One item object repeated in a session counts once per place it holds, not once in all."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.errors import ContextBudgetError
from memcore.model import MemoryItem, Priority
from memcore.overflow import SessionState, handle_context_overflow
from tests.test_overflow import NOW, notes, tokens_of


def test_a_note_repeated_ten_times_is_ten_notes() -> None:
    note = MemoryItem("n", "A note about the billing refactor and the rounding bug in cart.py.")
    state = SessionState([note] * 10, token_budget=50)
    before = state.token_count()
    assert before == 10 * tokens_of([note])
    outcome = handle_context_overflow(state)
    assert outcome.final_token_count == state.token_count() <= 0.8 * 50
    assert outcome.tokens_saved == before - outcome.final_token_count
    assert outcome.actions_taken


def test_repeats_at_both_ends_never_report_a_negative_count() -> None:
    pool = [item for item in notes(40, seed=3) if item.priority is not Priority.CRITICAL]
    big = max(pool, key=lambda item: tokens_of([item]))
    items = [big, *pool[:8], big, big]
    budget = tokens_of(items) // 2
    state = SessionState(items, budget, now=NOW)
    outcome = handle_context_overflow(state)
    assert 0 <= outcome.final_token_count == state.token_count() <= 0.8 * budget


@settings(max_examples=25, deadline=None)
@given(
    picks=st.lists(st.integers(0, 9), min_size=1, max_size=40),
    share=st.floats(0.1, 1.2),
    seed=st.integers(0, 3),
)
def test_repeated_objects_fare_as_distinct_copies(
    picks: list[int], share: float, seed: int
) -> None:
    pool = notes(10, seed)
    repeated = [pool[k] for k in picks]  # the same objects, some of them many times
    distinct = [copy.copy(pool[k]) for k in picks]
    before = tokens_of(repeated)
    budget = max(1, int(before * share))
    shared = SessionState(repeated, budget, now=NOW)
    apart = SessionState(distinct, budget, now=NOW)
    try:
        expected = handle_context_overflow(apart)
    except ContextBudgetError:
        with pytest.raises(ContextBudgetError):
            handle_context_overflow(shared)
        assert shared.items == repeated
        return
    outcome = handle_context_overflow(shared)
    assert outcome == expected
    assert shared.items == apart.items
    assert outcome.final_token_count == shared.token_count() == tokens_of(shared.items)
    assert outcome.tokens_saved == before - outcome.final_token_count
    if before > 0.9 * budget:
        assert outcome.final_token_count <= 0.8 * budget
    else:
        assert outcome.actions_taken == []
        assert shared.items == repeated


def _old_notes(seed: int, ids: Callable[[int], str]) -> list[MemoryItem]:
    """Short notes (kept whole by the compress step, so that the old ones are grouped under
    summaries), all old enough for levels 3 and 4 in turn, each at a time of its own (no tie in
    value or age is broken by id)."""
    pool = [item for item in notes(60, seed) if item.priority in (Priority.NORMAL, Priority.LOW)]
    return [
        MemoryItem(
            ids(k),
            " ".join(item.content.split()[:12]),
            item.priority,
            NOW - timedelta(hours=(30 + 7 * k) if k % 2 else (200 + 7 * k)),
            dict(item.metadata),
        )
        for k, item in enumerate(pool)
    ]


def test_items_sharing_an_id_at_levels_3_and_4_are_summarized() -> None:
    # the level-4 item was dropped as "grouped" (its id was a level-3 item's): an IndexError
    items = [
        MemoryItem("note", "Cart rounding broken.", "normal", NOW - timedelta(hours=30)),
        MemoryItem("note", "Tax table stale.", "normal", NOW - timedelta(hours=500)),
    ]
    state = SessionState(items, token_budget=tokens_of(items), now=NOW)
    outcome = handle_context_overflow(state)
    assert outcome.final_token_count == state.token_count() <= 0.8 * state.token_budget


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 5),
    share=st.integers(15, 65).map(lambda p: p / 100),
    kinds=st.integers(1, 3),
)
def test_items_sharing_ids_fare_as_items_of_their_own(seed: int, share: float, kinds: int) -> None:
    # same-id items were merged into one: two groups' summaries met in one slot (one was lost,
    # the other group's items stayed whole), or a summary stood for no item at all
    apart = SessionState(_old_notes(seed, lambda k: f"note:{k}"), 1, now=NOW)
    apart.token_budget = max(1, int(apart.token_count() * share))
    shared = SessionState(_old_notes(seed, lambda k: f"note:{k % kinds}"), 1, now=NOW)
    shared.token_budget = apart.token_budget
    expected = handle_context_overflow(apart)
    assert "hierarchical_summarization" in expected.actions_taken
    assert handle_context_overflow(shared) == expected
    assert [item.content for item in shared.items] == [item.content for item in apart.items]
    assert [len(item.metadata.get("summarizes", ())) for item in shared.items] == [
        len(item.metadata.get("summarizes", ())) for item in apart.items
    ]
