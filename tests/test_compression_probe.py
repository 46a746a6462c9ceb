"""What a probe of ``memcore.compression`` broke: ``partition``, public, took neither what
``compress`` takes (MemoryItem-shaped dicts: an ``AttributeError``) nor its ``now`` in every
form (a naive datetime or an ISO string: a ``TypeError``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from memcore.compression import HierarchicalMemoryCompressor
from memcore.errors import ValidationError
from memcore.model import MemoryItem

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_partition_takes_dicts_as_compress_does() -> None:
    items = [
        MemoryItem("new", "fresh", created_at=NOW),
        MemoryItem("old", "stale", created_at=NOW - timedelta(days=30)),
    ]
    compressor = HierarchicalMemoryCompressor(NOW)
    levels = compressor.partition([item.to_dict() for item in items])
    assert [[item.id for item in level] for level in levels] == [["new"], [], [], ["old"]]
    iso: Any = "2026-01-01T00:00:00Z"
    assert compressor.partition(items, iso)[3] == [items[1]]


@pytest.mark.parametrize("now", [datetime(2026, 1, 1), "not a time", 5j], ids=repr)
def test_partition_refuses_a_now_that_is_no_time(now: Any) -> None:
    with pytest.raises(ValidationError):
        HierarchicalMemoryCompressor(NOW).partition([MemoryItem("a", "x", created_at=NOW)], now)


def test_partition_refuses_what_is_no_item() -> None:
    with pytest.raises(ValidationError):
        HierarchicalMemoryCompressor(NOW).partition([{"id": "a"}])
