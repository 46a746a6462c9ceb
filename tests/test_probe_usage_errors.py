"""What a probe of the library's API found, each held here (both twins: CI runs this file with
``MEMCORE_NO_EXTENSIONS=1`` too): usage errors said as ``ValidationError``, about the argument
that is wrong, and a refused call that changes nothing.

* ``session_digests(items, 100)`` was a bare ``TypeError`` from ``list(100)``;
* ``HybridRetriever.add_many`` kept the texts before one its index refused, and dropped those
  after it;
* ``decompress_memory_hierarchy(None)`` said the bytes were corrupted;
* a threshold of ``1e300`` hours was said not to be finite;
* ``transfer_history("bad/")`` matched nothing, where every other API refuses that id;
* ``set("s", "", value)`` named the value, not the empty key;
* a counter set on a ``SessionState`` later, or a ``Mock``, put numpy's ints in the results.
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import Mock

import numpy as np
import pytest

from memcore import (
    DistributedMemoryManager,
    MemoryIndex,
    MemoryItem,
    SessionKnowledgeTransfer,
    session_digest,
    session_digests,
)
from memcore.compression import (
    HOURS_LIMIT,
    HierarchicalMemoryCompressor,
    compress_memory_hierarchy,
    decompress_memory_hierarchy,
)
from memcore.errors import CorruptedMemoryError, ValidationError
from memcore.overflow import SessionState, handle_context_overflow
from memcore.search import HybridRetriever

ITEMS = [MemoryItem("a", "Fix the parser in `src/parse.py`: it drops the last line.")]


@pytest.mark.parametrize("budgets", [100, None, 1.5, "100", b"\x64"], ids=repr)
def test_token_budgets_that_are_no_sequence_of_ints_are_a_validation_error(
    budgets: Any,
) -> None:
    with pytest.raises(ValidationError, match="token_budgets must be a sequence of ints"):
        session_digests(ITEMS, budgets)


def test_token_budgets_from_any_iterable_still_work() -> None:
    one = session_digest(ITEMS, 100)
    assert session_digests(ITEMS, iter([100])) == session_digests(ITEMS, [100]) == [one]


def _vectors(texts: list[str]) -> list[list[float]]:
    return [[1.0, float(len(text))] for text in texts]


def _tokenizer(text: str) -> Any:
    if "raise" in text:
        raise ValidationError("this tokenizer refuses the text")
    return [5] if "bad" in text else text.split()


@pytest.mark.parametrize("refused", ["bad text", "raise here"])
def test_a_batch_the_index_refuses_is_not_half_added(refused: str) -> None:
    retriever = HybridRetriever(_vectors, index=MemoryIndex(tokenizer=_tokenizer))
    retriever.add_many({"x": "old words", "w": "kept words"})
    before = (retriever.search("words"), retriever.dense_search("old words"))
    with pytest.raises(ValidationError):
        # ``x`` is replaced and ``z`` new, on either side of the refused text
        retriever.add_many({"x": "fine text", "y": refused, "z": "more"})
    assert len(retriever) == 2
    assert "y" not in retriever.index
    assert "z" not in retriever.index
    assert (retriever.search("words"), retriever.dense_search("old words")) == before
    assert retriever.index.search("fine") == []


def test_a_first_batch_refused_by_the_index_fixes_no_dimension() -> None:
    retriever = HybridRetriever(
        lambda texts: [[1.0] * (3 if "bad" in t else 2) for t in texts],
        index=MemoryIndex(tokenizer=_tokenizer),
    )
    with pytest.raises(ValidationError):
        retriever.add_many({"y": "bad text"})  # (its vector has 3 numbers; the index refuses it)
    retriever.add_many({"x": "good text"})  # (2 numbers: the refused batch set no dimension)
    assert "x" in retriever.index
    assert retriever.dense_search("good")[0][0] == "x"


@pytest.mark.parametrize("blob", [None, "bundle", 5, [1, 2]], ids=repr)
def test_decompressing_what_is_no_bytes_is_a_validation_error(blob: Any) -> None:
    with pytest.raises(ValidationError, match="takes the bytes of a bundle"):
        decompress_memory_hierarchy(blob)
    with pytest.raises(ValidationError, match="takes the bytes of a bundle"):
        HierarchicalMemoryCompressor().decompress_memory_hierarchy(blob)


def test_bytes_that_are_no_bundle_are_still_corrupted() -> None:
    blob, _ = compress_memory_hierarchy(ITEMS)
    assert decompress_memory_hierarchy(blob).level1.items == ITEMS
    with pytest.raises(CorruptedMemoryError):
        decompress_memory_hierarchy(b"not a bundle at all, not at all")
    with pytest.raises(CorruptedMemoryError):
        decompress_memory_hierarchy(blob[:-1])


@pytest.mark.parametrize(
    ("largest", "said"),
    [(1e302, "1e+302"), (HOURS_LIMIT, str(HOURS_LIMIT)), (10**400, "a huge int")],
    ids=["float", "limit", "huge-int"],
)
def test_a_threshold_too_large_for_a_timedelta_says_so(largest: float, said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        HierarchicalMemoryCompressor(thresholds=(1, 2, largest))
    assert str(caught.value) == (
        f"threshold must be under {HOURS_LIMIT:,} hours, the most a timedelta holds (got {said})"
    )
    HierarchicalMemoryCompressor(thresholds=(1, 2, HOURS_LIMIT - 1))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=repr)
def test_a_threshold_that_is_not_finite_says_so(bad: float) -> None:
    with pytest.raises(ValidationError, match="must be a finite number of hours"):
        HierarchicalMemoryCompressor(thresholds=(1, 2, bad))
    with pytest.raises(ValidationError, match="must not be negative"):
        HierarchicalMemoryCompressor(thresholds=(-1e300, 2, 3))


@pytest.mark.parametrize("session", ["bad/", "", 5, "+x"], ids=repr)
def test_transfer_history_refuses_an_impossible_session_id(session: Any) -> None:
    async def run() -> None:
        transfer = SessionKnowledgeTransfer("memory://")
        try:
            with pytest.raises(ValidationError, match="invalid session id"):
                await transfer.transfer_history(session)
            assert await transfer.transfer_history("fine") == []
            assert await transfer.transfer_history() == []
        finally:
            await transfer.close()

    asyncio.run(run())


@pytest.mark.parametrize(
    "value", ["x", {"content": "x"}, MemoryItem("other", "x")], ids=["str", "dict", "item"]
)
def test_an_empty_key_is_said_before_the_value(value: Any) -> None:
    manager = DistributedMemoryManager("memory://")
    try:
        manager.set("s", "k", {"content": "kept"})
        with pytest.raises(ValidationError, match="invalid key '': keys are non-empty strings"):
            manager.set("s", "", value)
        assert {k: v.content for k, v in manager.state("s").items()} == {"k": "kept"}
        with pytest.raises(ValidationError, match="session values are MemoryItems"):
            manager.set("s", "k", "x")  # type: ignore[arg-type]  # (a good key: the value is what is wrong)
    finally:
        asyncio.run(manager.close())


def _numpy_count(text: str) -> Any:
    return np.int64(len(text.split()))


OVERFLOWING = [
    MemoryItem(str(i), "Fix the parser bug in foo.py now please. " * 5) for i in range(20)
]


@pytest.mark.parametrize("budget", [200, 2000], ids=["overflow", "room"])
def test_a_counter_set_later_gives_plain_ints(budget: int) -> None:
    state = SessionState(OVERFLOWING, budget)
    state.count = _numpy_count
    result = handle_context_overflow(state)
    assert type(result.final_token_count) is int
    assert type(result.tokens_saved) is int
    assert type(state.count("two words")) is int
    state.count = lambda text: 1.5  # type: ignore[assignment,return-value]
    with pytest.raises(ValidationError, match="must return a whole number"):
        state.token_count()


def test_a_mock_counter_is_checked_too() -> None:
    counter = Mock(side_effect=_numpy_count)
    assert type(session_digest(ITEMS, 100, counter=counter).tokens) is int
    result = handle_context_overflow(SessionState(OVERFLOWING, 200, counter=counter))
    assert type(result.final_token_count) is int
    with pytest.raises(ValidationError, match="must return a whole number"):
        session_digest(ITEMS, 100, counter=Mock(return_value=2.5))


@pytest.mark.parametrize("replica", ["a\nb", "tab\there", "x" * 201, "\x00"])
def test_a_replica_id_that_is_no_printable_name_of_200_characters_at_most_is_refused(
    replica: str,
) -> None:
    """It is written into every record the replica makes: a pasted line, a control character
    or 5,000 characters were taken."""
    with pytest.raises(ValidationError, match="replica_id must be 1-200 printable characters"):
        DistributedMemoryManager("memory://", replica_id=replica)


def test_a_replica_id_of_any_printable_letters_is_taken() -> None:
    for replica in ("laptop", "Ann's laptop", "r\u00e9plica-\u4e00", "x" * 200):
        assert DistributedMemoryManager("memory://", replica_id=replica).replica_id == replica
