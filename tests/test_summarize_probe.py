"""What a probe of ``memcore.summarize`` broke:

* ``summarize_group`` of a generator read it once to check it, and summarized nothing (``""``);
  ``None`` was a ``TypeError``;
* ``ExtractiveSummarizer(counter=5)`` or ``kernels=math`` was taken, then failed at the first
  summary with a ``TypeError`` or an ``AttributeError``;
* a counter that prices a text with an ellipsis lower than without made the lead's cut an
  ``IndexError``;
* ``group_similar_texts`` and ``word_count`` of no texts were a ``TypeError`` (or an
  ``AttributeError``, in one twin and not the other).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from memcore.errors import ValidationError
from memcore.summarize import ELLIPSIS, ExtractiveSummarizer, group_similar_texts, word_count

LONG = "The quick brown fox jumps over the lazy dog near cart.py line 42. " * 20


def test_a_group_given_as_a_generator_is_summarized_whole() -> None:
    summarizer = ExtractiveSummarizer()
    expected = summarizer.summarize_group([LONG, LONG], 0.5)
    assert expected
    assert summarizer.summarize_group((text for text in [LONG, LONG]), 0.5) == expected


@pytest.mark.parametrize("texts", [None, 5, b"abc", "abc", [None], [LONG, b"x"]], ids=repr)
def test_a_group_of_no_texts_is_a_validation_error(texts: Any) -> None:
    with pytest.raises(ValidationError, match="summarize_group needs a sequence of str"):
        ExtractiveSummarizer().summarize_group(texts, 0.5)


def test_a_summarizer_s_bad_counter_or_kernels_are_refused_when_made() -> None:
    with pytest.raises(ValidationError, match="token counter must be a callable"):
        ExtractiveSummarizer(counter=5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="pipeline kernel family"):
        ExtractiveSummarizer(kernels=math)


@pytest.mark.parametrize("text", ["a b c d", "abcdefgh"])
def test_a_counter_cheaper_with_the_ellipsis_cuts_nothing(text: str) -> None:
    def odd(piece: str) -> int:  # (the head with its ellipsis cheaper than without)
        return 1 if piece.endswith(ELLIPSIS) else 100

    summary = ExtractiveSummarizer(odd).summarize(text, 0.5)
    assert summary == text + ELLIPSIS


@pytest.mark.parametrize("texts", [None, [None], [b"x"], "ab"], ids=repr)
def test_grouping_no_texts_is_a_validation_error(texts: Any) -> None:
    with pytest.raises(ValidationError, match="group_similar_texts needs a sequence of str"):
        group_similar_texts(texts)
    with pytest.raises(ValidationError, match="pipeline kernel family"):
        group_similar_texts(["a"], kernels=math)


def test_grouping_a_generator_groups_its_texts() -> None:
    texts = ["alpha beta gamma delta", "alpha beta gamma delta", "something else entirely"]
    assert group_similar_texts(iter(texts)) == group_similar_texts(texts)


@pytest.mark.parametrize("text", [None, b"two words", 5], ids=repr)
def test_word_count_of_no_str_is_a_validation_error(text: Any) -> None:
    with pytest.raises(ValidationError, match="word_count needs a str"):
        word_count(text)


class LyingText(str):
    def strip(self, chars: str | None = None) -> str:
        return LyingText("")

    def __len__(self) -> int:
        return 1


def test_a_str_subclass_is_summarized_by_its_text() -> None:
    note = "The cart rounds totals wrongly. Decimal.quantize fixes it in src/cart.py line 42."
    summarizer = ExtractiveSummarizer()
    for text, ratio in ((note, 0.2), ("Fix cart rounding.", 0.5)):  # (both kept by the rules
        expected = summarizer.summarize(text, ratio)  # that read the text's own methods)
        assert expected.strip()
        assert summarizer.summarize(LyingText(text), ratio) == expected
        assert summarizer.summarize_group([LyingText(text)], ratio) == expected
