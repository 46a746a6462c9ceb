"""What a probe of ``memcore.tokens`` broke: a plugged-in counter's count past any text's
(``10**400``) passed its check and failed as a bare ``OverflowError`` in the budgets' float
arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from memcore import tokens
from memcore.compression import HierarchicalMemoryCompressor
from memcore.errors import ValidationError
from memcore.model import MemoryItem
from memcore.overflow import SessionState, handle_context_overflow
from memcore.summarize import ExtractiveSummarizer

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
ITEMS = [
    MemoryItem(f"k{n}", f"Note {n} about the cart. It rounds totals.", created_at=NOW - age)
    for n, age in enumerate([timedelta(hours=5), timedelta(days=3), timedelta(days=30)] * 2)
]


@pytest.mark.parametrize(
    "count", [10**400, 10**300, tokens.MAX_TOKEN_BUDGET + 1], ids=["1e400", "1e300", "max+1"]
)
def test_a_count_past_any_text_s_is_a_validation_error(count: int) -> None:
    def huge(text: str) -> int:
        return count

    with pytest.raises(ValidationError, match="token counter returned more than"):
        HierarchicalMemoryCompressor(NOW, counter=huge).compress_memory_hierarchy(ITEMS)
    with pytest.raises(ValidationError, match="token counter returned more than"):
        handle_context_overflow(SessionState(list(ITEMS), 100, counter=huge, now=NOW))
    with pytest.raises(ValidationError, match="token counter returned more than"):
        ExtractiveSummarizer(huge).summarize(ITEMS[0].content, 0.5)


def test_a_count_at_the_bound_is_taken() -> None:
    counter = tokens.checked_counter(lambda text: tokens.MAX_TOKEN_BUDGET)
    assert counter("x") == tokens.MAX_TOKEN_BUDGET
