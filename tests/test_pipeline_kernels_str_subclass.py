"""Text given as a ``str`` subclass (a ``MemoryItem`` takes one as its content) is read as its
characters by both twins: the compiled kernels' typed ``str`` arguments refused it with a
builtin ``TypeError`` that the pure twin never raised, so compressing, summarizing, counting or
fitting such items failed in the compiled build only; and the pure twin read one through the
methods it overrides (``__len__``, ``__getitem__``), which the compiled one never calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore import (
    HierarchicalMemoryCompressor,
    MemoryItem,
    SessionState,
    count_tokens,
    decompress_memory_hierarchy,
    handle_context_overflow,
)
from memcore.summarize import ExtractiveSummarizer

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
TEXT = "Fix the cart total in /src/cart.py. It is off by 3 cents! Dr. Jones, e.g. the lead, agreed."


class Text(str):
    """A str subclass whose ``__str__`` says something else: its characters are what count."""

    def __str__(self) -> str:
        return "something else"


class Liar(str):
    """A str subclass whose every reading method lies: the pure twin read its ``__len__`` and
    ``__getitem__`` (``count_tokens`` raised IndexError, where the compiled one counted 2)."""

    def __len__(self) -> int:
        return 99

    def __getitem__(self, index: object) -> str:
        return "z"

    def __iter__(self) -> Iterator[str]:
        return iter("zzz")

    def __contains__(self, part: object) -> bool:
        return False

    def __str__(self) -> str:
        return "zzz"

    def encode(self, *args: object, **kwargs: object) -> bytes:
        return b"zzz"

    def lower(self) -> str:
        return "zzz"

    def split(self, *args: object, **kwargs: object) -> list[str]:
        return ["zzz"]

    def isalnum(self) -> bool:
        return False


SUBCLASSES = [Text, Liar]


def _calls(text: str) -> dict[str, object]:
    return {
        "count_tokens": lambda k: k.count_tokens(text),
        "split_sentences": lambda k: k.split_sentences(text),
        "tokenize_words": lambda k: k.tokenize_words(text),
        "fact_tokens": lambda k: k.fact_tokens(text),
        "simhash": lambda k: k.simhash(text),
        "score_sentences": lambda k: k.score_sentences(text, k.split_sentences(str.__str__(text))),
        "pick_sentences": lambda k: k.pick_sentences(text, 12),
    }


@pytest.mark.parametrize("subclass", SUBCLASSES)
@pytest.mark.parametrize("name", sorted(_calls("")))
def test_a_str_subclass_reads_as_its_characters(
    pipeline_impl: ModuleType, name: str, subclass: type[str]
) -> None:
    plain = _calls(TEXT)[name]
    sub = _calls(subclass(TEXT))[name]
    assert sub(pipeline_impl) == plain(pipeline_impl)  # type: ignore[operator]


def test_count_tokens_reads_a_liar_by_its_characters(pipeline_impl: ModuleType) -> None:
    assert pipeline_impl.count_tokens(Liar("hello world")) == 2 == count_tokens(Liar("hello world"))


@pytest.mark.parametrize("name", sorted(_calls("")))
@pytest.mark.parametrize("value", [None, b"bytes", 3])
def test_what_is_no_str_is_a_type_error(
    pipeline_impl: ModuleType, name: str, value: object
) -> None:
    with pytest.raises(TypeError):
        _calls(value)[name](pipeline_impl)  # type: ignore[arg-type,operator]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.sampled_from(SUBCLASSES))
def test_the_twins_agree_on_subclasses(text: str, subclass: type[str]) -> None:
    from memcore._pure import pipeline as pure

    native = pytest.importorskip("memcore._native.pipeline")
    for name in ("count_tokens", "split_sentences", "tokenize_words", "fact_tokens", "simhash"):
        expected = getattr(pure, name)(text)
        assert getattr(native, name)(subclass(text)) == expected, name
        assert getattr(pure, name)(subclass(text)) == expected, name
    assert native.pick_sentences(subclass(text), 8) == pure.pick_sentences(text, 8)
    assert pure.pick_sentences(subclass(text), 8) == pure.pick_sentences(text, 8)
    spans = pure.split_sentences(text)
    assert pure.score_sentences(subclass(text), spans) == pure.score_sentences(text, spans)


def test_items_with_str_subclass_content_compress_summarize_and_fit() -> None:
    items = [
        MemoryItem(f"i{k}", Text(TEXT + f" Note {k}."), "normal", NOW - timedelta(hours=age))
        for k, age in enumerate([0.1, 5, 30, 50, 500])
    ]
    plain = [MemoryItem(i.id, str.__str__(i.content), i.priority, i.created_at) for i in items]
    assert count_tokens(items[0].content) == count_tokens(plain[0].content)
    blob, meta = HierarchicalMemoryCompressor(NOW).compress_memory_hierarchy(items)
    assert blob == HierarchicalMemoryCompressor(NOW).compress_memory_hierarchy(plain)[0]
    assert decompress_memory_hierarchy(blob).levels == meta.levels
    assert ExtractiveSummarizer().summarize(Text(TEXT), 0.5) == ExtractiveSummarizer().summarize(
        TEXT, 0.5
    )
    outcome = handle_context_overflow(SessionState(items, 40, now=NOW))
    assert outcome.final_token_count <= 32
