"""Near-duplicate grouping of tasks: the groups of comparing every pair, found without doing so.

A save groups the session's requests on every digest it rebuilds: compared pair by pair, a
session of 8,000 prompts took 78 s to save, past the hooks' timeout.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore import transfer_items
from memcore.model import MemoryItem
from memcore.transfer import group_near_duplicates, group_tasks


def all_pairs(texts: Sequence[str], threshold: float = 0.6) -> list[list[int]]:
    """The grouping as it was, every pair compared: what the fast one must give."""
    words = [transfer_items.word_set(text) for text in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            union = words[i] | words[j]
            if union and len(words[i] & words[j]) / len(union) >= threshold:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


THRESHOLDS = (0.6, 0.5, 0.3, 0.75, 0.8, 0.9, 1.0, 1 / 3, 2 / 3, 0.25, 0.1, 0.0, -1.0, 1.5)
WORDS = st.sampled_from(["fix", "the", "Test", "test.", "cart", "a", "b", "c", "d", "e", "(x)"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(WORDS, max_size=12).map(" ".join), max_size=30),
    st.sampled_from(THRESHOLDS) | st.floats(0.01, 1.0),
)
def test_the_groups_of_comparing_every_pair(texts: list[str], threshold: float) -> None:
    """Same groups, same order (by first member), members in input order: overlaps that are
    exactly the threshold (3 of 5 words at 0.6) included."""
    assert group_near_duplicates(texts, threshold) == all_pairs(texts, threshold)


@pytest.mark.parametrize("threshold", [*THRESHOLDS, math.nan, math.inf])
def test_many_texts_of_a_few_words(threshold: float) -> None:
    rng = random.Random(5)
    vocab = [f"w{k}" for k in range(40)]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(0, 9))) for _ in range(300)]
    assert group_near_duplicates(texts, threshold) == all_pairs(texts, threshold)


def _count_comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the pairs the grouping compares (``transfer_items.near``)."""
    calls = [0]
    near = transfer_items.near

    def counted(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
        calls[0] += 1
        return near(a, b, threshold)

    monkeypatch.setattr(transfer_items, "near", counted)
    return calls


def test_distinct_prompts_are_not_compared_pair_by_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    """3,000 different requests sharing their common words (please, fix, the, in, and): only
    those that share a rare word are compared, a few each, not the 4.5 million pairs."""
    rng = random.Random(11)
    names = [f"name{k}" for k in range(2000)]
    texts = [
        f"please fix the {' '.join(rng.sample(names, 2))} in {rng.choice(names)} and "
        f"{rng.choice(names)}"
        for _ in range(3000)
    ]
    calls = _count_comparisons(monkeypatch)
    groups = group_near_duplicates(texts)
    assert calls[0] < 3000 * 20
    assert len(groups) > 2800  # (distinct: two names of four in common make a pair near)
    assert sorted(i for group in groups for i in group) == list(range(3000))
    assert all(group == sorted(group) for group in groups)
    assert [group[0] for group in groups] == sorted(group[0] for group in groups)


def test_one_request_asked_thousands_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe's session: every prompt near every other. A text already in the group is not
    compared with its other members again: a few comparisons a prompt, one group of all."""
    texts = [f"step {i}: run the tests for module m{i}" for i in range(1, 6001, 2)]
    calls = _count_comparisons(monkeypatch)
    assert group_near_duplicates(texts) == [list(range(3000))]
    assert calls[0] <= 2 * 3000
    start = datetime(2026, 2, 1, tzinfo=timezone.utc)
    tasks = [
        MemoryItem(f"t{i}", text, created_at=start + timedelta(seconds=i))
        for i, text in enumerate(texts)
    ]
    (common,) = group_tasks(tasks)
    assert (common.count, common.item.id) == (3000, "t2999")
