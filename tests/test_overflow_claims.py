"""handle_context_overflow lists only the actions whose result is in the items at the end: a
summary that a later eviction removed again is not claimed (``compress`` was listed when every
summarized item had been evicted), and a budget changed after the state was made is checked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from memcore.errors import ValidationError
from memcore.model import MemoryItem
from memcore.overflow import SessionState, handle_context_overflow

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def words(text: str) -> int:
    return len(text.split())


class FirstWords:
    """Summaries of the first three words (a summarizer plugged in, as an LLM would be)."""

    def summarize(self, text: str, ratio: float) -> str:
        return " ".join(text.split()[:3])

    def summarize_group(self, texts: Sequence[str], ratio: float) -> str:
        return self.summarize(" ".join(texts), ratio)


def _results(before: list[MemoryItem], after: list[MemoryItem]) -> dict[str, bool]:
    made = [item for item in after if not any(item is old for old in before)]
    kept = {item.id for item in after}
    for item in after:
        summarized = item.metadata.get("summarizes")
        kept.update(summarized if isinstance(summarized, list) else ())
    return {
        "compress": any(item.metadata.get("summarized") for item in made),
        "hierarchical_summarization": any(
            item.metadata.get("level") in ("level3", "level4") for item in made
        ),
        # (an item a group summary left stands for, "summarizes", was replaced, not evicted)
        "evict": any(item.id not in kept for item in before),
    }


def test_compress_not_claimed_when_every_summary_was_evicted() -> None:
    long_a = MemoryItem("a", " ".join(f"alpha{k}" for k in range(20)), "normal", NOW)
    long_b = MemoryItem("b", " ".join(f"beta{k}" for k in range(20)), "normal", NOW)
    short = MemoryItem("c", "keep this", "high", NOW)
    items = [long_a, long_b, short]
    state = SessionState(list(items), 5, counter=words, summarizer=FirstWords(), now=NOW)
    outcome = handle_context_overflow(state)
    # both long items were summarized (3 words each, 8 in all), then evicted: only "c" is left
    assert state.items == [short]
    assert outcome.actions_taken == ["evict"]
    assert outcome.final_token_count == 2


def test_hierarchical_not_claimed_when_its_summaries_were_evicted() -> None:
    old = [
        MemoryItem(
            f"o{k}",
            f"old note {k} " + " ".join(f"w{k}x{j}" for j in range(12)),
            "low",
            NOW - timedelta(days=30),
        )
        for k in range(4)
    ]
    fresh = MemoryItem("f", "recent words here", "high", NOW)
    state = SessionState([*old, fresh], 4, counter=words, summarizer=FirstWords(), now=NOW)
    outcome = handle_context_overflow(state)
    assert outcome.final_token_count <= 0.8 * 4
    claimed = set(outcome.actions_taken)
    for action, present in _results([*old, fresh], state.items).items():
        assert (action in claimed) == present, (action, outcome, state.items)


_TEXT = st.lists(
    st.sampled_from(["alpha", "beta", "gamma", "fix", "42", "/src/a.py", "cart.", "error!"]),
    min_size=0,
    max_size=40,
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            _TEXT,
            st.sampled_from(["low", "normal", "high"]),
            st.sampled_from([0.1, 5.0, 30.0, 500.0]),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([0.05, 0.2, 0.5, 0.8]),
)
@example(  # two old notes grouped into one summary: replaced, not evicted
    [
        ("alpha alpha alpha", "low", 30.0, False),
        ("alpha alpha alpha", "low", 30.0, False),
        (" ".join(["alpha"] * 10), "low", 0.1, False),
    ],
    0.5,
)
def test_claimed_actions_are_the_ones_in_the_result(
    shapes: list[tuple[str, str, float, bool]], share: float
) -> None:
    items = [
        MemoryItem(
            f"i{k}", text, priority, NOW - timedelta(hours=age), {"kind": "task"} if task else {}
        )
        for k, (text, priority, age, task) in enumerate(shapes)
    ]
    total = sum(words(item.content) for item in items)
    budget = max(1, int(total * share))
    state = SessionState(list(items), budget, counter=words, summarizer=FirstWords(), now=NOW)
    outcome = handle_context_overflow(state)
    if total <= 0.9 * budget:
        assert outcome.actions_taken == []
        return
    assert outcome.final_token_count <= 0.8 * budget
    claimed = set(outcome.actions_taken)
    for action, present in _results(items, state.items).items():
        assert (action in claimed) == present, (action, outcome)


@pytest.mark.parametrize("budget", [0, -5, True, 2.5, float("nan"), "100", None])
def test_a_budget_changed_after_the_state_was_made_is_checked(budget: object) -> None:
    items = [MemoryItem(f"i{k}", "word " * 30, "normal", NOW) for k in range(4)]
    state = SessionState(list(items), 100, now=NOW)
    with pytest.raises(ValidationError):
        state.token_budget = budget  # type: ignore[assignment]
    assert state.token_budget == 100
    handle_context_overflow(state)
    assert all(item.priority.value == "normal" for item in state.items)
