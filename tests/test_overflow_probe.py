"""What a probe of ``memcore.overflow`` broke: ``SessionState.items`` is a public attribute,
and what was put there after construction (a MemoryItem-shaped dict, ``None``) was an
``AttributeError`` or a ``TypeError`` inside ``handle_context_overflow``; a ``clock`` that is
no callable was taken, then failed there as a ``TypeError``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from memcore.errors import ValidationError
from memcore.model import MemoryItem
from memcore.overflow import SessionState, handle_context_overflow

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _items() -> list[MemoryItem]:
    text = "Sentence {} about cart.py totals and the rounding. Another sentence with more words."
    return [
        MemoryItem(f"i{k}", text.format(k), created_at=NOW - timedelta(hours=hours))
        for k, hours in enumerate([0.1] * 5 + [30] * 5)
    ]


def test_items_put_in_after_construction_are_taken_as_the_constructor_takes_them() -> None:
    state = SessionState(_items(), 120, now=NOW)
    state.items.append({"id": "late", "content": "A note added as a dict, later."})  # type: ignore[arg-type]
    assert state.token_count() > 0
    assert state.usage > 0.9
    outcome = handle_context_overflow(state)
    assert outcome.final_token_count <= 0.8 * 120
    assert all(isinstance(item, MemoryItem) for item in state.items)


def test_items_replaced_by_no_items_is_a_validation_error() -> None:
    state = SessionState(_items(), 120, now=NOW)
    state.items = None  # type: ignore[assignment]
    with pytest.raises(ValidationError, match=r"state\.items"):
        handle_context_overflow(state)


def test_a_clock_that_is_no_callable_is_refused_when_made() -> None:
    with pytest.raises(ValidationError, match="clock must be a callable"):
        SessionState(_items(), 120, clock=5)  # type: ignore[arg-type]


def test_item_value_takes_an_item_and_an_aware_time() -> None:
    from memcore.overflow import item_value

    item = _items()[0]
    assert item_value(item, NOW) > 0
    with pytest.raises(ValidationError, match="item_value takes"):
        item_value(item, datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="item_value takes"):
        item_value(item.to_dict(), NOW)  # type: ignore[arg-type]
