"""PredictiveMemoryPrefetcher: per-session prediction over string ids, the prefetch cache and its
hit rate, loaders (callables and objects with ``get``), failures, bounds and bad input.

These run on whichever kernels are selected (compiled by default, pure with
``MEMCORE_NO_EXTENSIONS=1``); the kernels' own equality is in ``test_patterns_kernels.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.errors import ValidationError
from memcore.prefetch import (
    CALIBRATION,
    CONTEXT_WEIGHT,
    RECENCY_PRIOR,
    RECENCY_PRIOR_WEIGHT,
    Calibration,
    PredictiveMemoryPrefetcher,
    calibrate,
    fit_calibration,
)

SESSION = "s-1"
names = st.sampled_from([f"item-{i}" for i in range(8)])


class CountingLoader:
    """An async loader that records its calls and can be told to fail on some items."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failing = failing

    async def __call__(self, session_id: str, item_id: str) -> str:
        self.calls.append((session_id, item_id))
        await asyncio.sleep(0)
        if item_id in self.failing:
            raise OSError(f"backend down for {item_id}")
        return f"value of {item_id}"


# confidences equal to the scores: tests of the cache's mechanics, apart from the shipped table
IDENTITY = ((0.0, 0.0), (1.0, 1.0))


def trained(loader: Any = None, **kwargs: Any) -> PredictiveMemoryPrefetcher:
    kwargs.setdefault("calibration", IDENTITY)
    prefetcher = PredictiveMemoryPrefetcher(window_size=5, loader=loader, **kwargs)
    # after a: b thirty times, then c once -> b is confidently next (above 0.6), c is not
    prefetcher.record_accesses(SESSION, ["a", "b"] * 30 + ["a", "c"])
    return prefetcher


def confidences(prefetcher: PredictiveMemoryPrefetcher, current: str) -> dict[str, float]:
    return dict(prefetcher.predict_next_accesses(SESSION, current))


def test_scores_blend_the_context_model_with_recency() -> None:
    prefetcher = PredictiveMemoryPrefetcher()
    prefetcher.record_accesses(SESSION, ["a", "b", "b"])
    # a was followed once: context weight 1 / (1 + CONTEXT_WEIGHT), the rest to recency, each
    # recent item by its rank's rate so far (one repeat in three accesses) and the prior
    weight = 1 / (1 + CONTEXT_WEIGHT)

    def share(rank: int, hits: int) -> float:
        prior = RECENCY_PRIOR[rank] * RECENCY_PRIOR_WEIGHT
        return (hits + prior) / (3 + RECENCY_PRIOR_WEIGHT)

    scored = prefetcher.score_next_accesses(SESSION, "a")
    assert [item for item, _ in scored] == ["b", "a"]
    assert scored[0][1] == pytest.approx(weight * 1.0 + (1 - weight) * share(0, 1))
    assert scored[1][1] == pytest.approx((1 - weight) * share(1, 0))


def test_confidences_are_the_calibrated_scores() -> None:
    prefetcher = trained(calibration=CALIBRATION)  # the shipped table
    scored = prefetcher.score_next_accesses(SESSION, "a")
    predicted = prefetcher.predict_next_accesses(SESSION, "a")
    assert [item for item, _ in predicted] == ["b", "a", "c"]
    assert predicted == [(item, calibrate(score)) for item, score in scored]
    assert predicted[0][1] > 0.6 > predicted[1][1]
    assert prefetcher.predict_next_accesses(SESSION, "a", n=1) == predicted[:1]
    assert prefetcher.predict_next_accesses(SESSION, "nothing-yet") == []
    assert prefetcher.predict_next_accesses("other", "a") == []
    assert prefetcher.export_counts(SESSION)["a"] == {"b": 30, "c": 1}
    assert prefetcher.export_counts("other") == {}


def test_the_shipped_calibration_is_monotone_and_in_range() -> None:
    assert [x for x, _ in CALIBRATION] == sorted({x for x, _ in CALIBRATION})
    values = [calibrate(score / 100) for score in range(101)]
    assert values == sorted(values)
    assert all(0.0 <= value <= 1.0 for value in values)
    with pytest.raises(ValidationError):
        PredictiveMemoryPrefetcher(calibration=((0.5, 0.2), (0.4, 0.3)))
    with pytest.raises(ValidationError):
        PredictiveMemoryPrefetcher(calibration=((0.5, 1.2),))
    with pytest.raises(ValidationError):
        PredictiveMemoryPrefetcher(calibration=())


def markov_sessions(seed: int, count: int, length: int) -> list[list[str]]:
    """Sessions from a chain with known transitions: from each state, the next one with
    probability 0.7, the one after with 0.2, a random one of ten with 0.1."""
    rng = random.Random(seed)
    sessions = []
    for _ in range(count):
        state = rng.randrange(10)
        sequence = []
        for _ in range(length):
            sequence.append(f"s{state}")
            draw = rng.random()
            state = (
                (state + 1) % 10
                if draw < 0.7
                else (state + 2) % 10
                if draw < 0.9
                else rng.randrange(10)
            )
        sessions.append(sequence)
    return sessions


def online_top1(
    sessions: list[list[str]], calibration: Calibration | None = None
) -> tuple[list[tuple[float, bool]], list[tuple[float, bool]]]:
    """Online, a fresh prefetcher per session: (raw score, hit) and (confidence, hit) of every
    top-1 prediction."""
    raw: list[tuple[float, bool]] = []
    stated: list[tuple[float, bool]] = []
    for sequence in sessions:
        prefetcher = PredictiveMemoryPrefetcher(calibration=calibration)
        prefetcher.record_access(SESSION, sequence[0])
        for current, following in itertools.pairwise(sequence):
            top = prefetcher.score_next_accesses(SESSION, current, 1)
            if top:
                raw.append((top[0][1], top[0][0] == following))
                ((item, confidence),) = prefetcher.predict_next_accesses(SESSION, current, 1)
                stated.append((confidence, item == following))
            prefetcher.record_access(SESSION, following)
    return raw, stated


def test_a_fitted_calibration_states_the_measured_hit_rate() -> None:
    """Fitted on sessions of a chain with known transitions, the confidence on fresh sessions of
    the same chain is the hit rate it turns out to have, overall and where it is high."""
    raw, _ = online_top1(markov_sessions(1, 40, 60))
    table = fit_calibration(raw)
    _, stated = online_top1(markov_sessions(2, 40, 60), table)
    mean_confidence = sum(confidence for confidence, _ in stated) / len(stated)
    hit_rate = sum(hit for _, hit in stated) / len(stated)
    assert abs(mean_confidence - hit_rate) <= 0.05
    confident = [hit for confidence, hit in stated if confidence > 0.6]
    assert len(confident) > 100
    assert sum(confident) / len(confident) > 0.6
    # the chain's own top transition is 0.7 likely: a well-learned context says about that
    assert 0.55 <= max(confidence for confidence, _ in stated) <= 0.85


def test_warm_start_teaches_a_new_session_its_project_habits() -> None:
    cold = PredictiveMemoryPrefetcher()
    cold.record_access(SESSION, "file:a.py")
    assert [item for item, _ in cold.predict_next_accesses(SESSION, "file:a.py")] == ["file:a.py"]
    warm = PredictiveMemoryPrefetcher()
    earlier = [["file:a.py", "cmd:pytest"] * 3, ["file:a.py", "cmd:pytest", "file:b.py"]]
    assert warm.warm_start(SESSION, earlier) == 9
    warm.record_access(SESSION, "file:a.py")
    assert warm.predict_next_accesses(SESSION, "file:a.py")[0][0] == "cmd:pytest"
    with pytest.raises(ValidationError):
        warm.warm_start(SESSION, "file:a.py")
    with pytest.raises(ValidationError):
        warm.warm_start(SESSION, [["ok", 3]])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        warm.warm_start(SESSION, [["new-item"], "abc"])
    assert "new-item" not in warm.export_counts(SESSION)  # a rejected call learned nothing
    assert warm.predict_next_accesses(SESSION, "new-item") == []


def test_sessions_are_counted_apart() -> None:
    prefetcher = PredictiveMemoryPrefetcher()
    prefetcher.record_accesses("one", ["a", "b", "a", "b"])
    prefetcher.record_accesses("two", ["a", "c", "a", "c"])
    assert prefetcher.predict_next_accesses("one", "a")[0][0] == "b"
    assert prefetcher.predict_next_accesses("two", "a")[0][0] == "c"
    assert "c" not in confidences(prefetcher, "a")  # session "one" has no c
    assert prefetcher.sessions() == ["one", "two"]


def test_counts_are_fresh_after_every_access() -> None:
    prefetcher = PredictiveMemoryPrefetcher()
    prefetcher.record_access(SESSION, "a")
    prefetcher.record_access(SESSION, "b")
    assert prefetcher.predict_next_accesses(SESSION, "a")[0][0] == "b"
    prefetcher.record_access(SESSION, "a")
    prefetcher.record_access(SESSION, "c")
    assert prefetcher.export_counts(SESSION)["a"] == {"b": 1, "c": 1}
    followers = [item for item, _ in prefetcher.predict_next_accesses(SESSION, "a")]
    assert set(followers[:2]) == {"b", "c"}  # both seen after a once, above the recency guesses


@settings(max_examples=60, deadline=None)
@given(stream=st.lists(names, max_size=120), n=st.integers(min_value=1, max_value=6))
def test_only_seen_successors_or_recent_items_sorted_in_range(stream: list[str], n: int) -> None:
    one_by_one = PredictiveMemoryPrefetcher(max_contexts=16, max_successors=3, decay_at=9)
    for item in stream:
        one_by_one.record_access(SESSION, item)
    batched = PredictiveMemoryPrefetcher(max_contexts=16, max_successors=3, decay_at=9)
    batched.record_accesses(SESSION, stream)
    followers: dict[str, set[str]] = defaultdict(set)
    for current, following in itertools.pairwise(stream):
        followers[current].add(following)
    recent = set(list(dict.fromkeys(reversed(stream)))[:8])
    for current in {*stream, "never"}:
        predicted = one_by_one.predict_next_accesses(SESSION, current, n)
        assert predicted == batched.predict_next_accesses(SESSION, current, n)
        assert len(predicted) <= n
        assert {item for item, _ in predicted} <= followers[current] | recent
        assert all(0.0 <= confidence <= 1.0 for _, confidence in predicted)
        confidences = [confidence for _, confidence in predicted]
        assert confidences == sorted(confidences, reverse=True)
        scores = [score for _, score in one_by_one.score_next_accesses(SESSION, current, n)]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 < score <= 1.0 + 1e-12 for score in scores)
        if current == "never":
            assert predicted == []


# --- prefetching and the cache -------------------------------------------------------------------


async def test_prefetch_loads_only_above_the_threshold_and_serves_hits() -> None:
    loader = CountingLoader()
    prefetcher = trained(loader)
    assert prefetcher.hit_rate == 0.0
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 1  # b only: c is below 0.6
    assert loader.calls == [(SESSION, "b")]
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 0  # cached already
    assert len(loader.calls) == 1
    assert prefetcher.get(SESSION, "b") == "value of b"
    assert prefetcher.get(SESSION, "c") is None
    assert prefetcher.get("s-2", "b") is None  # the cache is per session
    assert (prefetcher.hits, prefetcher.misses) == (1, 2)
    assert prefetcher.hit_rate == pytest.approx(1 / 3)


async def test_threshold_is_strict_and_adjustable() -> None:
    loader = CountingLoader()
    top = confidences(trained(), "a")["b"]
    prefetcher = trained(loader, threshold=top)
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 0  # not above itself
    prefetcher = trained(loader, threshold=0.02)
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 3  # b, a (recent) and c
    assert prefetcher.cached_count == 3


async def test_cache_is_bounded_lru() -> None:
    loader = CountingLoader()
    prefetcher = PredictiveMemoryPrefetcher(loader=loader, cache_size=2, threshold=0.25)
    prefetcher.record_accesses(SESSION, ["a", "1", "b", "2", "c", "3"] * 4)
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 1
    assert await prefetcher.prefetch_predicted_items(SESSION, "b") == 1
    assert await prefetcher.prefetch_predicted_items(SESSION, "c") == 1  # evicts "1"
    assert prefetcher.cached_count == 2
    assert prefetcher.get(SESSION, "1") is None
    assert prefetcher.get(SESSION, "2") == "value of 2"
    assert prefetcher.get(SESSION, "3") == "value of 3"


async def test_failed_loads_are_logged_counted_and_not_cached(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loader = CountingLoader(failing=frozenset({"b"}))
    prefetcher = trained(loader, threshold=0.02)
    with caplog.at_level(logging.WARNING, logger="memcore.prefetch"):
        assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 2  # b fails
    assert prefetcher.load_errors == 1
    assert "backend down for b" in caplog.text
    assert prefetcher.get(SESSION, "b") is None
    assert prefetcher.get(SESSION, "c") == "value of c"
    # the failure is not remembered as a value: a later prefetch tries again
    loader.failing = frozenset()
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 1
    assert prefetcher.get(SESSION, "b") == "value of b"


async def test_cancellation_is_not_swallowed() -> None:
    async def stuck(session_id: str, item_id: str) -> str:
        await asyncio.sleep(3600)
        return item_id

    prefetcher = trained(stuck)
    task = asyncio.ensure_future(prefetcher.prefetch_predicted_items(SESSION, "a"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert prefetcher.cached_count == 0


async def test_loader_objects_with_get_sync_or_async() -> None:
    class AsyncSource:
        async def get(self, session_id: str, key: str) -> Any:
            return {"id": key, "session": session_id}

    class SyncSource:
        def get(self, session_id: str, key: str) -> Any:
            return None if key == "c" else key.upper()

    prefetcher = trained(AsyncSource(), threshold=0.02)
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 3
    assert prefetcher.get(SESSION, "b") == {"id": "b", "session": SESSION}
    prefetcher = trained(SyncSource(), threshold=0.02)
    assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 2  # None is not cached
    assert prefetcher.get(SESSION, "b") == "B"
    assert prefetcher.get(SESSION, "c") is None


async def test_a_distributed_memory_manager_as_the_loader(tmp_path: Path) -> None:
    from memcore import DistributedMemoryManager

    url = f"sqlite:///{tmp_path / 'memory.db'}"
    async with DistributedMemoryManager(storage_backend=url, replica_id="writer") as writer:
        writer.set(SESSION, "b", {"id": "b", "content": "the file b"})
        await writer.sync_session_memory(SESSION)
    async with DistributedMemoryManager(storage_backend=url, replica_id="reader") as reader:
        await reader.sync_session_memory(SESSION)
        prefetcher = trained(reader, threshold=0.02)
        assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 1  # c is not stored
        value = prefetcher.get(SESSION, "b")
        assert value is not None
        assert value.content == "the file b"
        assert prefetcher.get(SESSION, "c") is None


async def test_a_store_as_the_loader_sees_what_replicas_commit(tmp_path: Path) -> None:
    """A bare store is read through a replica of the prefetcher's own: what another replica
    commits after the first load is found by the next one (a delta, not a snapshot)."""
    from memcore import DistributedMemoryManager
    from memcore.stores import open_store

    url = f"sqlite:///{tmp_path / 'memory.db'}"
    store = open_store(url)
    writer = DistributedMemoryManager(storage_backend=url, replica_id="writer")
    try:
        writer.set(SESSION, "b", {"id": "b", "content": "the file b"})
        await writer.sync_session_memory(SESSION)
        prefetcher = trained(store, threshold=0.02)
        assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 1  # c is not stored
        value = prefetcher.get(SESSION, "b")
        assert value is not None
        assert value.content == "the file b"
        writer.set(SESSION, "c", {"id": "c", "content": "the file c, committed later"})
        await writer.sync_session_memory(SESSION)
        assert await prefetcher.prefetch_predicted_items(SESSION, "a") == 1  # b is cached
        later = prefetcher.get(SESSION, "c")
        assert later is not None
        assert later.content == "the file c, committed later"
    finally:
        await writer.close()
        await store.close()


async def test_invalidate_and_forget() -> None:
    prefetcher = trained(CountingLoader(), threshold=0.02)
    await prefetcher.prefetch_predicted_items(SESSION, "a")
    prefetcher.invalidate(SESSION, "b")
    assert prefetcher.get(SESSION, "b") is None
    assert prefetcher.get(SESSION, "c") == "value of c"
    prefetcher.forget_session(SESSION)
    assert prefetcher.cached_count == 0
    assert prefetcher.predict_next_accesses(SESSION, "a") == []


async def test_prefetch_without_a_loader_is_an_error() -> None:
    with pytest.raises(ValidationError):
        await trained().prefetch_predicted_items(SESSION, "a")


# --- bounds ----------------------------------------------------------------------------------


def test_sessions_are_bounded() -> None:
    prefetcher = PredictiveMemoryPrefetcher(max_sessions=2)
    for session in ("one", "two", "three"):
        prefetcher.record_accesses(session, ["a", "b"])
    assert prefetcher.sessions() == ["two", "three"]
    assert prefetcher.predict_next_accesses("one", "a") == []


def test_distinct_items_are_bounded_per_session() -> None:
    prefetcher = PredictiveMemoryPrefetcher(max_items=3)
    prefetcher.record_accesses(SESSION, ["a", "b", "c", "a", "b"])
    assert prefetcher.predict_next_accesses(SESSION, "a")[0][0] == "b"
    prefetcher.record_access(SESSION, "d")  # a fourth item: the model starts afresh from d
    prefetcher.record_access(SESSION, "a")
    assert [item for item, _ in prefetcher.predict_next_accesses(SESSION, "d")] == ["a", "d"]
    assert prefetcher.predict_next_accesses(SESSION, "b") == []
    assert set(prefetcher.export_counts(SESSION)) == {"d"}


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("item", [1, None, b"a", ""])
def test_bad_item_ids(item: object) -> None:
    prefetcher = trained()
    with pytest.raises(ValidationError):
        prefetcher.record_access(SESSION, item)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        prefetcher.predict_next_accesses(SESSION, item)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        prefetcher.get(SESSION, item)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        prefetcher.record_accesses(SESSION, ["a", item])  # type: ignore[list-item]
    assert prefetcher.predict_next_accesses(SESSION, "a") == trained().predict_next_accesses(
        SESSION, "a"
    )  # nothing was counted


@pytest.mark.parametrize("session", [1, None, "", "a:b", "x" * 201])
def test_bad_session_ids(session: object) -> None:
    prefetcher = trained()
    with pytest.raises(ValidationError):
        prefetcher.record_access(session, "a")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        prefetcher.predict_next_accesses(session, "a")  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, -3, 1.0, True, "5"])
def test_bad_n(n: object) -> None:
    with pytest.raises(ValidationError):
        trained().predict_next_accesses(SESSION, "a", n)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch", ["abc", 5, None])
def test_record_accesses_refuses_non_sequences(batch: object) -> None:
    with pytest.raises(ValidationError):
        trained().record_accesses(SESSION, batch)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window_size": 1},
        {"window_size": "5"},
        {"cache_size": 0},
        {"threshold": 1.5},
        {"threshold": "high"},
        {"max_contexts": 0},
        {"max_sessions": 0},
        {"loader": object()},
    ],
)
def test_bad_parameters(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PredictiveMemoryPrefetcher(**kwargs)


@pytest.mark.parametrize("window_size", [0, 1, 65, 1000, -1, 2.0, True, "5", None])
def test_a_bad_window_size_is_told_the_valid_range(window_size: object) -> None:
    """One message for every bad value (0, 1 and 1000 had three, two without the range)."""
    message = f"window_size must be an int in [2, 64] (got {window_size!r})"
    with pytest.raises(ValidationError) as raised:
        PredictiveMemoryPrefetcher(window_size=window_size)  # type: ignore[arg-type]
    assert str(raised.value) == message


@pytest.mark.parametrize("window_size", [2, 64])
def test_the_window_size_bounds_are_valid(window_size: int) -> None:
    assert PredictiveMemoryPrefetcher(window_size=window_size).window_size == window_size
