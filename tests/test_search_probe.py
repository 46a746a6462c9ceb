"""What a probe of ``memcore.search`` broke: an embedding given as a string (``"12"``) or a
mapping was read as its characters or its keys, a vector of digits; ``wide_bigrams(None)`` and
``item_text`` of a MemoryItem-shaped dict were an ``AttributeError``."""

from __future__ import annotations

from typing import Any

import pytest

from memcore.errors import ValidationError
from memcore.model import MemoryItem
from memcore.search import HybridRetriever, item_text, wide_bigrams


@pytest.mark.parametrize("vector", ["12", b"12", {1.0: 2.0}], ids=repr)
def test_an_embedding_that_is_a_string_or_a_mapping_is_refused(vector: Any) -> None:
    retriever = HybridRetriever(lambda texts: [vector for _ in texts])
    with pytest.raises(ValidationError, match="an embedding must be a sequence of numbers"):
        retriever.add("a", "some text")
    assert len(retriever) == 0


@pytest.mark.parametrize("text", [None, b"x", 5], ids=repr)
def test_wide_bigrams_of_no_str_is_a_validation_error(text: Any) -> None:
    with pytest.raises(ValidationError, match="text must be a str"):
        wide_bigrams(text)


def test_item_text_takes_an_item_s_dict() -> None:
    item = MemoryItem("a", "call parse_session on 四舍五入")
    assert item_text(item.to_dict()) == item_text(item)
    with pytest.raises(ValidationError):
        item_text({"id": "a"})


def test_from_items_names_an_option_it_does_not_take() -> None:
    """(An unknown keyword was a plain TypeError from the constructor.)"""
    with pytest.raises(ValidationError, match="depth_of_field"):
        HybridRetriever.from_items(
            {"a": "text"}, lambda texts: [[1.0] for _ in texts], depth_of_field=3
        )
    made = HybridRetriever.from_items({"a": "text"}, lambda texts: [[1.0] for _ in texts], depth=5)
    assert len(made) == 1
