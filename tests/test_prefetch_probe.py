"""What a probe of ``memcore.prefetch`` and ``memcore.prefetch_kinds`` broke:

* an item or session id given as a ``str`` subclass was interned as that object, so its own
  ``__hash__`` and ``__eq__`` decided the item: recorded as ``Id("a")``, no prediction after
  ``"a"`` found it (and one after ``Id("zz")`` matched any item). Both kernel twins now intern
  a subclass as the plain ``str`` of its text, as recall's index does;
* ``check_kind_prior`` read a row given as a string (``"1"``) as the row ``(1.0,)``, and a rate
  past a float's range was a bare ``OverflowError``;
* ``fit_kind_prior`` took ``None``, item ids that are no ``str`` and parameters that are no
  ints, failing as a ``TypeError`` or learning nothing.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from memcore.errors import ValidationError
from memcore.prefetch import PredictiveMemoryPrefetcher
from memcore.prefetch_kinds import check_kind_prior, fit_kind_prior


class LyingId(str):
    """An id whose own hash and equality lie about its text."""

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False


def test_str_subclass_ids_are_their_text() -> None:
    prefetcher = PredictiveMemoryPrefetcher()
    for item in "abcabcabc":
        prefetcher.record_access(LyingId("s"), LyingId(item))
    prefetcher.record_accesses(LyingId("s"), [LyingId("a")])
    assert prefetcher.sessions() == ["s"]
    assert type(prefetcher.sessions()[0]) is str
    predicted = prefetcher.predict_next_accesses("s", "a")
    assert predicted
    assert predicted[0][0] == "b"
    assert all(type(item) is str for item, _ in predicted)
    assert prefetcher.predict_next_accesses(LyingId("s"), LyingId("a")) == predicted
    assert prefetcher.predict_next_accesses("s", LyingId("zz")) == []
    assert set(prefetcher.export_counts("s")) == {"a", "b", "c"}


def test_both_session_tables_intern_a_subclass_as_its_text(patterns_impl: ModuleType) -> None:
    table = patterns_impl.SessionTable({"window_size": 5})
    table.record(LyingId("s"), LyingId("a"))
    table.record("s", "a")
    table.record_many(LyingId("s"), [LyingId("b")])
    model = table.get("s")
    assert model is not None
    assert table.get(LyingId("s")) is model
    assert model.names == ["a", "b"]
    assert [type(name) for name in model.names] == [str, str]
    assert list(table.sessions()) == ["s"]
    table.forget(LyingId("s"))
    assert table.get("s") is None


async def _load(session_id: str, item_id: str) -> str:
    return item_id.upper()


async def test_the_cache_is_keyed_by_the_ids_text() -> None:
    prefetcher = PredictiveMemoryPrefetcher(loader=_load, threshold=0.0)
    for item in "abababab":
        prefetcher.record_access("s", item)
    assert await prefetcher.prefetch_predicted_items(LyingId("s"), "a") > 0
    assert prefetcher.get("s", "b") == "B"
    assert prefetcher.get(LyingId("s"), LyingId("b")) == "B"
    prefetcher.invalidate(LyingId("s"), LyingId("b"))
    assert prefetcher.get("s", "b") is None


@pytest.mark.parametrize(
    "row", ["1", b"1", [10**400], None, [float("nan")]], ids=["str", "bytes", "huge", "none", "nan"]
)
def test_a_kind_prior_row_of_no_rates_is_refused(row: Any) -> None:
    with pytest.raises(ValidationError, match="kind prior rows"):
        check_kind_prior({("file", "cmd"): row})
    with pytest.raises(ValidationError, match="kind prior rows"):
        PredictiveMemoryPrefetcher(kind_prior={("file", "cmd"): row})


@pytest.mark.parametrize(
    ("sequences", "options"),
    [
        (None, {}),
        ("file:a", {}),
        (["file:a"], {}),
        ([["file:a", None]], {}),
        ([["file:a", b"cmd:b"]], {}),
        ([["file:a"]], {"recency": None}),
        ([["file:a"]], {"ranks": 1.5}),
        ([["file:a"]], {"min_support": True}),
        ([["file:a"]], {"recency": 0}),
    ],
    ids=repr,
)
def test_fit_kind_prior_refuses_what_is_no_access_sequence(
    sequences: Any, options: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        fit_kind_prior(sequences, **options)


def test_fit_kind_prior_takes_generators() -> None:
    runs = [["file:a", "cmd:t", "file:a", "cmd:t"]] * 30
    assert fit_kind_prior(iter(runs), min_support=1) == fit_kind_prior(runs, min_support=1)


def test_a_session_named_by_a_subclass_is_forgotten_whole() -> None:
    prefetcher = PredictiveMemoryPrefetcher()
    assert prefetcher.warm_start(LyingId("s"), [["a", "b", "a", "b"]]) == 4
    for item in "abab":
        prefetcher.record_access("s", item)
    assert prefetcher.predict_next_accesses("s", "b")
    assert prefetcher.export_counts(LyingId("s")) == prefetcher.export_counts("s") != {}
    prefetcher.forget_session(LyingId("s"))
    assert prefetcher.sessions() == []
    assert len(prefetcher._outcomes) == 0
