"""One item object repeated in a session counts once per place it holds, not once in all."""

from __future__ import annotations

import copy

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
