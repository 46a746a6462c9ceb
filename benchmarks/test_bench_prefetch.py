"""Prefetch benchmarks: the ``patterns`` twins beside an idiomatic ``collections.Counter`` model,
and the read latency prefetching saves in front of a store with 1 ms reads.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_prefetch.py --benchmark-only -q``.

Input: a real access sequence, the Python call trace of ``benchmarks/prefetch_quality.py`` (the
functions called while memcore's own sources are tokenized, parsed, unparsed and diffed), interned
to ints. Compare within a group: ``c`` and ``py`` are the twins (same model, same results), the
``counter`` rows the same unbounded model written with ``defaultdict(Counter)`` (no eviction, no
decay: a lower bound on what Python dicts cost for this work).

The latency group replays the ``opens`` and ``calls`` sequences against an ``asyncio.sleep(0.001)``
loader with 2 ms of work between accesses: without prefetching every read waits for the loader;
with it, after each access the predictions above 0.6 load in the background and a read that
finds its item cached does not wait. With the default cache (256 items) an item prefetched
earlier may still be cached when it is read again much later, so the hit rate mixes prediction
and plain caching; a 4-item cache keeps little more than the latest predictions. ``extra_info``
holds the read-wait totals, the saving (``1 - with / without``) and the hit rate; the design
document claims a 40-60 % saving.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from benchmarks.prefetch_quality import (
    DEV_TRANSCRIPTS,
    call_sessions,
    claude_code_sessions,
    import_sessions,
)
from memcore.prefetch import PredictiveMemoryPrefetcher

RECORDS = 10_000  # accesses per round, one by one
ORDER = 4  # the prefetcher's default context length (window 5)


@pytest.fixture(scope="module")
def real_ids() -> np.ndarray:
    calls = call_sessions(RECORDS + 2_000)[0]
    numbers: dict[str, int] = {}
    return np.array([numbers.setdefault(name, len(numbers)) for name in calls], dtype=np.int64)


class CounterModel:
    """The same contexts and successor counts, written the obvious way (unbounded)."""

    def __init__(self, max_order: int = ORDER) -> None:
        self.max_order = max_order
        self.history: list[int] = []
        self.table: defaultdict[tuple[int, ...], Counter[int]] = defaultdict(Counter)

    def record(self, item: int) -> None:
        history = self.history
        for k in range(1, min(self.max_order, len(history)) + 1):
            self.table[tuple(history[-k:])][item] += 1
        history.append(item)
        if len(history) > self.max_order:
            del history[0]

    def predict(self, current: int, n: int = 5) -> list[tuple[int, float]]:
        counts = self.table.get((current,))
        if not counts:
            return []
        total = counts.total()
        return [(item, count / total) for item, count in counts.most_common(n)]


def _record_one_by_one(make: Callable[[], Any], ids: list[int]) -> Any:
    model = make()
    record = model.record
    for item in ids:
        record(item)
    return model


# --- counting --------------------------------------------------------------------------------


@pytest.mark.benchmark(group="PatternCounter.record one by one, 10k real accesses")
def test_record_one_by_one(benchmark: Any, patterns_impl: ModuleType, real_ids: np.ndarray) -> None:
    ids = real_ids[:RECORDS].tolist()
    model = benchmark.pedantic(
        _record_one_by_one, (patterns_impl.PatternCounter, ids), rounds=5, warmup_rounds=1
    )
    assert model.accesses == RECORDS


@pytest.mark.benchmark(group="PatternCounter.record one by one, 10k real accesses")
def test_record_one_by_one_counter(benchmark: Any, real_ids: np.ndarray) -> None:
    ids = real_ids[:RECORDS].tolist()
    model = benchmark.pedantic(_record_one_by_one, (CounterModel, ids), rounds=5, warmup_rounds=1)
    assert len(model.table) > 0


# --- record_access per call: the prefetcher's own path ----------------------------------------


@pytest.fixture(scope="module")
def claude_code_calls() -> list[tuple[str, str]]:
    """The real Claude Code accesses as ``(session id, item id)`` calls, each transcript its own
    session (about 2k calls)."""
    sessions = claude_code_sessions(DEV_TRANSCRIPTS)
    if not sessions:
        pytest.skip(f"no transcripts under {DEV_TRANSCRIPTS}")
    return [
        (f"cc-{number}", item)
        for number, session in enumerate(sessions)
        for item in session.accesses
    ]


def _record_calls(record: Callable[[str, str], None], calls: list[tuple[str, str]]) -> None:
    for session_id, item_id in calls:
        record(session_id, item_id)


PASSES = 5  # timed passes over the calls per round


def _per_call(benchmark: Any, make: Callable[[], Callable[[str, str], None]], calls: Any) -> None:
    """Time ``PASSES`` passes over ``calls`` through a fresh ``make()`` each round (made in the
    untimed setup); the per-call times go to ``extra_info``."""

    def setup() -> tuple[tuple[Any, list[tuple[str, str]]], dict[str, Any]]:
        return (make(), calls * PASSES), {}

    benchmark.pedantic(_record_calls, setup=setup, rounds=7, warmup_rounds=1)
    count = len(calls) * PASSES
    benchmark.extra_info["calls_per_round"] = count
    if benchmark.stats is None:  # --benchmark-disable
        return
    benchmark.extra_info["ns_per_call_min"] = round(benchmark.stats.stats.min / count * 1e9, 1)
    benchmark.extra_info["ns_per_call_median"] = round(
        benchmark.stats.stats.median / count * 1e9, 1
    )


def _table_record(impl: ModuleType, calls: list[tuple[str, str]], warm: bool) -> Any:
    table = impl.SessionTable({"window_size": 5, "max_contexts": 8192})
    if warm:
        _record_calls(table.record, calls)
    return table.record


@pytest.mark.benchmark(group="record_access per call, real Claude Code calls, from empty")
def test_record_access_per_call_from_empty(
    benchmark: Any, patterns_impl: ModuleType, claude_code_calls: list[tuple[str, str]]
) -> None:
    """The session table's ``record`` (what ``PredictiveMemoryPrefetcher.record_access`` is bound
    to: session lookup, interning, counting in one call), starting from empty tables: the timed
    calls create the sessions and grow their tables."""
    _per_call(
        benchmark, lambda: _table_record(patterns_impl, claude_code_calls, False), claude_code_calls
    )


@pytest.mark.benchmark(group="record_access per call, real Claude Code calls, grown")
def test_record_access_per_call_grown(
    benchmark: Any, patterns_impl: ModuleType, claude_code_calls: list[tuple[str, str]]
) -> None:
    """The same on tables that have seen the calls once (a long-running session's steady state)."""
    _per_call(
        benchmark, lambda: _table_record(patterns_impl, claude_code_calls, True), claude_code_calls
    )


@pytest.mark.benchmark(group="record_access per call, real Claude Code calls, grown")
def test_record_access_per_call_grown_prefetcher(
    benchmark: Any, claude_code_calls: list[tuple[str, str]]
) -> None:
    """``PredictiveMemoryPrefetcher.record_access`` itself, on the kernels in use."""

    def make() -> Callable[[str, str], None]:
        prefetcher = PredictiveMemoryPrefetcher()
        _record_calls(prefetcher.record_access, claude_code_calls)
        return prefetcher.record_access

    _per_call(benchmark, make, claude_code_calls)


def _record_batch(make: Callable[[], Any], batch: np.ndarray) -> Any:
    model = make()
    model.record_many(batch)
    return model


@pytest.mark.benchmark(group="batch ingest, 10k real accesses (numpy int64)")
def test_record_batch(benchmark: Any, patterns_impl: ModuleType, real_ids: np.ndarray) -> None:
    batch = np.ascontiguousarray(real_ids[:RECORDS])
    model = benchmark.pedantic(
        _record_batch, (patterns_impl.PatternCounter, batch), rounds=5, warmup_rounds=1
    )
    assert model.accesses == RECORDS


@pytest.mark.benchmark(group="batch ingest, 10k real accesses (numpy int64)")
def test_record_batch_counter(benchmark: Any, real_ids: np.ndarray) -> None:
    batch = real_ids[:RECORDS]
    model = benchmark.pedantic(
        _record_one_by_one, (CounterModel, batch.tolist()), rounds=5, warmup_rounds=1
    )
    assert len(model.table) > 0


# --- prediction ------------------------------------------------------------------------------


def _predict_all(model: Any, currents: list[int]) -> int:
    found = 0
    for current in currents:
        found += len(model.predict(current, 5))
    return found


@pytest.mark.benchmark(group="top-5 prediction, 1000 queries after 10k accesses")
def test_predict_top5(benchmark: Any, patterns_impl: ModuleType, real_ids: np.ndarray) -> None:
    model = patterns_impl.PatternCounter()
    model.record_many(np.ascontiguousarray(real_ids[:RECORDS]))
    currents = real_ids[RECORDS : RECORDS + 1000].tolist()
    assert benchmark(_predict_all, model, currents) > 0


@pytest.mark.benchmark(group="top-5 prediction, 1000 queries after 10k accesses")
def test_predict_top5_counter(benchmark: Any, real_ids: np.ndarray) -> None:
    model = _record_one_by_one(CounterModel, real_ids[:RECORDS].tolist())
    currents = real_ids[RECORDS : RECORDS + 1000].tolist()
    assert benchmark(_predict_all, model, currents) > 0


# --- the latency prefetching saves -----------------------------------------------------------

READ_SECONDS = 0.001
WORK_SECONDS = 0.002
REPLAYED = 400


@pytest.fixture(scope="module")
def replay_sequences() -> dict[str, list[str]]:
    _imports, opens = import_sessions()
    calls = call_sessions(4_000)[0]
    return {"opens": [p for session in opens for p in session], "calls": calls}


async def _load(session_id: str, item_id: str) -> str:
    await asyncio.sleep(READ_SECONDS)
    return item_id


async def _replay(sequence: list[str], prefetch: bool, cache_size: int = 256) -> dict[str, float]:
    """Train on what comes before the last ``REPLAYED`` accesses, then time the reads of those."""
    prefetcher = PredictiveMemoryPrefetcher(window_size=5, loader=_load, cache_size=cache_size)
    split = len(sequence) - REPLAYED
    prefetcher.record_accesses("bench", sequence[:split])
    waited = 0.0
    pending: asyncio.Task[int] | None = None
    for item in sequence[split:]:
        started = time.perf_counter()
        value = prefetcher.get("bench", item) if prefetch else None
        if value is None:
            value = await _load("bench", item)
        waited += time.perf_counter() - started
        assert value == item
        prefetcher.record_access("bench", item)
        if prefetch:
            pending = asyncio.ensure_future(prefetcher.prefetch_predicted_items("bench", item))
        await asyncio.sleep(WORK_SECONDS)  # the agent's own work between two reads
    if pending is not None:
        await pending
    return {"waited": waited, "hit_rate": prefetcher.hit_rate}


@pytest.mark.benchmark(group="read wait with a 1 ms store, 400 real accesses")
@pytest.mark.parametrize("cache_size", [4, 256])
@pytest.mark.parametrize("source", ["opens", "calls"])
def test_prefetch_latency_saving(
    benchmark: Any, replay_sequences: dict[str, list[str]], source: str, cache_size: int
) -> None:
    sequence = replay_sequences[source]
    without = asyncio.run(_replay(sequence, prefetch=False))
    result = benchmark.pedantic(
        lambda: asyncio.run(_replay(sequence, prefetch=True, cache_size=cache_size)),
        rounds=1,
        iterations=1,
    )
    saving = 1.0 - result["waited"] / without["waited"]
    benchmark.extra_info.update(
        {
            "read_wait_without_s": round(without["waited"], 4),
            "read_wait_with_s": round(result["waited"], 4),
            "saving": round(saving, 3),
            "hit_rate": round(result["hit_rate"], 3),
            "design_doc_claim": "40-60%",
        }
    )
    print(
        f"\n{source}, cache {cache_size}: read wait {without['waited']:.3f} s without prefetching, "
        f"{result['waited']:.3f} s with (hit rate {result['hit_rate']:.1%}): saving {saving:.1%}"
    )
    assert 0.0 <= result["hit_rate"] <= 1.0
