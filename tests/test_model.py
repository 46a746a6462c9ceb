"""The data model and error hierarchy: MemoryItem validation, Priority ordering, plain forms."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from memcore import errors
from memcore.errors import MemcoreError, ValidationError
from memcore.model import MemoryItem, Priority, to_utc_datetime
from tests.param_ids import value_id

WHEN = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


def test_error_hierarchy() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, MemcoreError)
    assert issubclass(ValidationError, ValueError)
    assert issubclass(errors.NotFoundError, KeyError)
    assert not issubclass(errors.CorruptedMemoryError, ValueError)


# --- Priority -----------------------------------------------------------------------------------


def test_priority_order_is_by_rank_not_alphabet() -> None:
    assert Priority.CRITICAL > Priority.HIGH > Priority.NORMAL > Priority.LOW
    assert sorted([Priority.HIGH, Priority.LOW, Priority.CRITICAL, Priority.NORMAL]) == [
        Priority.LOW,
        Priority.NORMAL,
        Priority.HIGH,
        Priority.CRITICAL,
    ]
    assert max(Priority) is Priority.CRITICAL
    assert Priority.HIGH >= Priority.HIGH
    assert Priority.LOW <= Priority.LOW
    assert not Priority.LOW > Priority.LOW


def test_priority_compares_with_names() -> None:
    assert Priority.HIGH > "normal"
    assert Priority.LOW < "CRITICAL"
    assert str.__eq__(Priority.NORMAL, "normal")  # a str enum
    with pytest.raises(TypeError):
        _ = Priority.HIGH < 3
    with pytest.raises(TypeError):
        _ = Priority.HIGH < "urgent"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("low", Priority.LOW), ("HIGH", Priority.HIGH), ("Critical", Priority.CRITICAL),
     (Priority.NORMAL, Priority.NORMAL)],
)  # fmt: skip
def test_priority_parse(given: Any, expected: Priority) -> None:
    assert Priority.parse(given) is expected


@pytest.mark.parametrize("bad", ["urgent", "", None, 1, 2.0])
def test_priority_parse_refuses(bad: Any) -> None:
    with pytest.raises(ValidationError):
        Priority.parse(bad)


def test_priority_text_forms() -> None:
    assert str(Priority.HIGH) == "high"
    assert f"{Priority.LOW}" == "low"
    assert [p.rank for p in (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)] == [
        0,
        1,
        2,
        3,
    ]


# --- MemoryItem ---------------------------------------------------------------------------------


def test_defaults() -> None:
    before = datetime.now(timezone.utc)
    item = MemoryItem("id-1", "content")
    after = datetime.now(timezone.utc)
    assert item.priority is Priority.NORMAL
    assert before <= item.created_at <= after
    assert item.created_at.tzinfo is not None
    assert item.metadata == {}
    assert MemoryItem("a", "b").metadata is not MemoryItem("c", "d").metadata


def test_normalization() -> None:
    source_meta = {"kind": "task"}
    item = MemoryItem(
        "x",
        "y",
        priority="HIGH",
        created_at=datetime(2025, 6, 1, 14, tzinfo=timezone(timedelta(hours=2))),
        metadata=source_meta,
    )
    assert item.priority is Priority.HIGH
    assert item.created_at == WHEN
    assert item.created_at.utcoffset() == timedelta(0)
    assert item.metadata == source_meta
    assert item.metadata is not source_meta


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id": ""},
        {"id": 5},
        {"id": None},
        {"content": None},
        {"content": b"bytes"},
        {"priority": "urgent"},
        {"created_at": datetime(2025, 1, 1)},  # naive
        {"created_at": "yesterday"},
        {"created_at": math.nan},
        {"created_at": True},
        {"created_at": 1e20},
        {"created_at": [2025]},
        {"metadata": ["not", "a", "mapping"]},
        {"metadata": {1: "non-str key"}},
        # in range, but not once in UTC
        {"created_at": datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5)))},
        {"created_at": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))},
        {"created_at": "0001-01-01T01:00:00+05:00"},
    ],
    ids=value_id,
)
def test_invalid_items_raise_validation_error(kwargs: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"id": "ok", "content": "ok", **kwargs}
    with pytest.raises(ValidationError):
        MemoryItem(**fields)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2025-06-01T12:00:00Z", WHEN),
        ("2025-06-01T12:00:00z", WHEN),
        ("2025-06-01T14:00:00+02:00", WHEN),
        ("2025-06-01T12:00:00", WHEN),  # ISO without a zone is read as UTC
        (WHEN.timestamp(), WHEN),
        (int(WHEN.timestamp()), WHEN),
        (WHEN, WHEN),
    ],
)
def test_timestamps_normalize_to_utc(given: Any, expected: datetime) -> None:
    result = to_utc_datetime(given)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


def test_to_dict_and_from_dict_round_trip() -> None:
    item = MemoryItem(
        "id-9", "text", priority=Priority.CRITICAL, created_at=WHEN, metadata={"tags": ["a"]}
    )
    plain = item.to_dict()
    assert plain == {
        "id": "id-9",
        "content": "text",
        "priority": "critical",
        "created_at": WHEN,
        "metadata": {"tags": ["a"]},
    }
    assert type(plain["priority"]) is str
    assert MemoryItem.from_dict(plain) == item
    assert MemoryItem.from_dict({**plain, "created_at": "2025-06-01T12:00:00Z"}) == item
    assert MemoryItem.coerce(plain) == item
    assert MemoryItem.coerce(item) is item


def test_from_dict_fills_defaults() -> None:
    item = MemoryItem.from_dict({"id": "a", "content": "b", "created_at": None, "metadata": None})
    assert item.priority is Priority.NORMAL
    assert item.metadata == {}
    assert item.created_at.tzinfo is not None
    # a falsy timestamp is a timestamp: 0 is the epoch, not "now"
    epoch = MemoryItem.from_dict({"id": "a", "content": "b", "created_at": 0})
    assert epoch.created_at == datetime(1970, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "data",
    [
        {"content": "no id"},
        {"id": "no content"},
        {"id": "a", "content": "b", "colour": "unknown field"},
        ["id", "content"],
        "id=a",
        {"id": "a", "content": "b", "priority": "urgent"},
        {"id": "a", "content": "b", "metadata": []},  # falsy is no "absent"
        {"id": "a", "content": "b", "metadata": ""},
    ],
    ids=value_id,
)
def test_from_dict_refuses(data: Any) -> None:
    with pytest.raises(ValidationError):
        MemoryItem.from_dict(data)
    with pytest.raises(ValidationError):
        MemoryItem.coerce(data)


def test_items_compare_by_value() -> None:
    one = MemoryItem("a", "b", created_at=WHEN)
    two = MemoryItem("a", "b", created_at=WHEN.astimezone(timezone(timedelta(hours=-3))))
    assert one == two
    assert one != MemoryItem("a", "c", created_at=WHEN)
