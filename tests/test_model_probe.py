"""What a probe of ``memcore.model`` broke: a ``MemoryItem`` is a mutable dataclass, and an item
whose fields were assigned after it was made (``item.priority = "high"``, ``item.content =
None``, a naive ``created_at``) failed deep inside whatever read it, as an ``AttributeError``
or a ``TypeError``. ``coerce_items`` (what the compressor, the overflow handling, recall and
knowledge transfer take items through) now takes such an item as ``MemoryItem()`` would:
normalized, or refused with a ``ValidationError``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from memcore.compression import HierarchicalMemoryCompressor, decompress_memory_hierarchy
from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority, coerce_items
from memcore.overflow import SessionState, handle_context_overflow
from memcore.search import HybridRetriever

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _items() -> list[MemoryItem]:
    return [
        MemoryItem(f"i{k}", f"Sentence {k} about things. More words here {k}.", created_at=at)
        for k, at in enumerate(NOW - timedelta(hours=20 * k) for k in range(12))
    ]


def _embed(texts: list[str]) -> list[list[float]]:
    return [[1.0, float(len(text))] for text in texts]


def _uses(items: list[MemoryItem]) -> list[Any]:
    blob, _ = HierarchicalMemoryCompressor(NOW).compress_memory_hierarchy(items)
    overflow = handle_context_overflow(SessionState(items, 60, now=NOW))
    retriever = HybridRetriever.from_items(items, _embed)
    by_key = HybridRetriever.from_items({item.id: item for item in items}, _embed)
    return [decompress_memory_hierarchy(blob).levels, overflow, len(retriever), len(by_key)]


BAD = [
    ("content", None),
    ("content", 5),
    ("priority", None),
    ("priority", "urgent"),
    ("created_at", datetime(2020, 1, 1)),
    ("created_at", "yesterday"),
    ("metadata", [1]),
    ("id", None),
    ("id", ""),
]


@pytest.mark.parametrize(("field", "value"), BAD, ids=repr)
def test_an_item_broken_after_it_was_made_is_a_validation_error(field: str, value: Any) -> None:
    items = _items()
    setattr(items[3], field, value)
    with pytest.raises(ValidationError):
        coerce_items(items)
    with pytest.raises(ValidationError):
        HierarchicalMemoryCompressor(NOW).compress_memory_hierarchy(items)
    with pytest.raises(ValidationError):
        handle_context_overflow(SessionState(items, 60, now=NOW))
    with pytest.raises(ValidationError):
        HybridRetriever.from_items(items, _embed)
    if field == "content":  # (by key, recall reads an item's content only)
        with pytest.raises(ValidationError):
            HybridRetriever.from_items({f"k{n}": item for n, item in enumerate(items)}, _embed)


GOOD = [
    ("priority", "HIGH", Priority.HIGH),
    ("created_at", "2025-12-31T00:00:00Z", datetime(2025, 12, 31, tzinfo=timezone.utc)),
    ("metadata", None, {}),
]


@pytest.mark.parametrize(("field", "value", "normal"), GOOD, ids=repr)
def test_an_item_changed_to_a_value_init_takes_is_normalized(
    field: str, value: Any, normal: Any
) -> None:
    items = _items()
    setattr(items[3], field, value)
    coerced = coerce_items(items)
    assert getattr(coerced[3], field) == normal
    assert coerced[:3] == items[:3]
    assert all(a is b for a, b in zip(coerced[:3], items, strict=False))
    clean = _items()
    setattr(clean[3], field, normal)
    assert _uses(items) == _uses(clean)


class LyingText(str):
    """Text whose own methods lie about it (as a str subclass's may)."""

    def strip(self, chars: str | None = None) -> str:
        return LyingText("")

    def __len__(self) -> int:
        return 1


NOTE = "The cart rounds totals wrongly. Decimal.quantize fixes it in src/cart.py line 42."


def test_an_item_s_text_is_plain_str() -> None:
    item = MemoryItem(LyingText("a"), LyingText(NOTE))
    assert type(item.id) is str
    assert type(item.content) is str
    assert item.content == NOTE
    mutated = MemoryItem("b", "x")
    mutated.content = LyingText(NOTE)
    assert type(coerce_items([mutated])[0].content) is str


def test_a_lying_text_keeps_its_words_through_the_overflow() -> None:
    """Its ``strip`` said it was blank and its ``__len__`` that it was not: the summarizer kept
    an empty summary in the place of each whole note."""
    items = [
        MemoryItem(f"i{k}", LyingText(NOTE), created_at=NOW - timedelta(hours=5)) for k in range(6)
    ]
    state = SessionState(items, 40, now=NOW)
    handle_context_overflow(state)
    assert state.items
    assert all(str.strip(item.content) for item in state.items)
    retriever = HybridRetriever.from_items(items, _embed)  # (the compiled kernel: str only)
    assert retriever.search("cart totals", k=1)


class LyingDict(dict):  # type: ignore[type-arg]
    """A dict subclass whose own methods deny and refuse what it holds."""

    def __contains__(self, key: object) -> bool:
        return key == "id"

    def get(self, key: Any, default: Any = None) -> Any:
        raise KeyError(key)

    def __getitem__(self, key: Any) -> Any:
        raise KeyError(key)


def test_an_item_s_dict_subclass_is_read_by_its_entries() -> None:
    data = LyingDict(id="a", content="text", priority="high", metadata={"kind": "task"})
    item = MemoryItem.from_dict(data)
    assert (item.id, item.content, item.priority, item.metadata) == (
        "a",
        "text",
        Priority.HIGH,
        {"kind": "task"},
    )
    assert coerce_items([data])[0].content == "text"
