"""The access-pattern kernels: counting against a plain-Python model, the Witten-Bell prediction
by hand, the bounds (contexts, successors, decay, memory), batch ingest, validation, and the
compiled twin equal to the pure one (state and every prediction, exactly).
"""

from __future__ import annotations

import array
import itertools
import random
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.errors import ValidationError

streams = st.lists(st.integers(min_value=-3, max_value=12), max_size=300)
wide_streams = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=6),
        st.sampled_from([-(2**63), 2**63 - 1, -1, 2**40]),
    ),
    max_size=200,
)


@st.composite
def parameters(draw: st.DrawFn) -> dict[str, int]:
    window = draw(st.integers(min_value=2, max_value=6))
    return {
        "window_size": window,
        "max_order": draw(st.integers(min_value=1, max_value=window - 1)),
        "max_contexts": draw(st.integers(min_value=1, max_value=40)),
        "max_successors": draw(st.integers(min_value=1, max_value=6)),
        "decay_at": draw(st.integers(min_value=2, max_value=30)),
    }


def unbounded(impl: ModuleType, max_order: int = 2) -> Any:
    return impl.PatternCounter(
        window_size=5,
        max_order=max_order,
        max_contexts=1 << 20,
        max_successors=1024,
        decay_at=1 << 60,
    )


def successor_model(stream: Sequence[int], order: int) -> dict[tuple[int, ...], Counter[int]]:
    """What an unbounded counter must hold: the successors of every run of ``order`` items."""
    model: dict[tuple[int, ...], Counter[int]] = defaultdict(Counter)
    for end in range(order, len(stream)):
        model[tuple(stream[end - order : end])][stream[end]] += 1
    return model


# --- counting ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    streams_=st.lists(wide_streams, min_size=1, max_size=4),
    params=parameters(),
    n=st.integers(min_value=1, max_value=8),
)
def test_native_equals_pure_across_broken_sequences(
    twins: tuple[ModuleType, ModuleType],
    streams_: list[list[int]],
    params: dict[str, int],
    n: int,
) -> None:
    """Sequences recorded apart (``break_sequence`` between them): the twins count alike, and
    no context spans two sequences."""
    native, pure = (impl.PatternCounter(**params) for impl in twins)
    for counter in (native, pure):
        for stream in streams_:
            counter.break_sequence()
            counter.record_many(stream)
        counter.break_sequence()
        assert counter.last() is None
    assert native.state() == pure.state()
    assert native.recent() == pure.recent()
    assert native.rank_hits() == pure.rank_hits()
    allowed = {tuple(s[i : i + k]) for s in streams_ for k in range(1, 9) for i in range(len(s))}
    assert {context for context, _, _ in native.state()} <= allowed
    for current in {x for s in streams_ for x in s} | {1000}:
        assert native.predict(current, n) == pure.predict(current, n)


@settings(max_examples=60, deadline=None)
@given(stream=streams)
def test_counts_match_a_plain_model(patterns_impl: ModuleType, stream: list[int]) -> None:
    counter = unbounded(patterns_impl, max_order=3)
    counter.record_many(stream)
    expected: dict[tuple[int, ...], dict[int, int]] = {}
    for order in (1, 2, 3):
        for context, counts in successor_model(stream, order).items():
            expected[context] = dict(sorted(counts.items()))
    held = {key: {i: c for i, c, _stamp in succ} for key, _total, succ in counter.state()}
    assert held == expected
    for _key, total, succ in counter.state():
        assert total == sum(c for _i, c, _s in succ)  # nothing evicted, nothing decayed
    assert counter.accesses == len(stream)
    assert counter.last() == (stream[-1] if stream else None)


@settings(max_examples=60, deadline=None)
@given(stream=wide_streams, params=parameters())
def test_batch_ingest_equals_one_by_one(
    patterns_impl: ModuleType, stream: list[int], params: dict[str, int]
) -> None:
    single = patterns_impl.PatternCounter(**params)
    for item in stream:
        single.record(item)
    for batch in (stream, np.array(stream, dtype=np.int64), array.array("q", stream)):
        counter = patterns_impl.PatternCounter(**params)
        counter.record_many(batch)
        assert counter.state() == single.state()
    # split batches continue where the previous one stopped
    counter = patterns_impl.PatternCounter(**params)
    half = len(stream) // 2
    counter.record_many(np.array(stream[:half], dtype=np.int64))
    counter.record_many(stream[half:])
    assert counter.state() == single.state()


def test_batch_accepts_strided_and_other_int_arrays(patterns_impl: ModuleType) -> None:
    data = np.arange(40, dtype=np.int64) % 7
    expected = patterns_impl.PatternCounter()
    expected.record_many(data[::2].tolist())
    for batch in (data[::2], data[::2].astype(np.int32), tuple(data[::2].tolist())):
        counter = patterns_impl.PatternCounter()
        counter.record_many(batch)
        assert counter.state() == expected.state()


# --- prediction -------------------------------------------------------------------------------


def test_witten_bell_by_hand(patterns_impl: ModuleType) -> None:
    counter = unbounded(patterns_impl)
    counter.record_many([1, 2, 3, 9, 2, 4, 1, 2, 3, 7, 1, 2])
    # order 1, after 2: 3 twice, 4 once -> 2/3, 1/3. Order 2, after (1, 2): 3 twice, t=2, d=1.
    p3 = (2.0 + 1.0 * (2 / 3)) / 3.0
    p4 = (0.0 + 1.0 * (1 / 3)) / 3.0
    assert counter.predict(2, 5) == [(3, p3), (4, p4)]
    # 2 is not the last access any more: order 1 alone, plain frequencies.
    counter.record(5)
    assert counter.predict(2, 5) == [(3, 0.5), (4, 0.25), (5, 0.25)]
    assert counter.predict(2, 1) == [(3, 0.5)]
    assert counter.predict(42) == []


def test_ties_break_on_the_lower_id(patterns_impl: ModuleType) -> None:
    counter = unbounded(patterns_impl, max_order=1)
    counter.record_many([5, 9, 5, 3, 5, 7, 0])
    assert counter.predict(5) == [(3, 1 / 3), (7, 1 / 3), (9, 1 / 3)]


@settings(max_examples=60, deadline=None)
@given(stream=streams, params=parameters(), n=st.integers(min_value=1, max_value=8))
def test_predictions_are_seen_successors_with_honest_sorted_confidences(
    patterns_impl: ModuleType, stream: list[int], params: dict[str, int], n: int
) -> None:
    counter = patterns_impl.PatternCounter(**params)
    counter.record_many(stream)
    followers: dict[int, set[int]] = defaultdict(set)
    for current, following in itertools.pairwise(stream):
        followers[current].add(following)
    for current in set(stream) | {99}:
        predicted = counter.predict(current, n)
        assert len(predicted) <= n
        assert {item for item, _ in predicted} <= followers[current]
        assert all(0.0 < p <= 1.0 for _, p in predicted)
        assert sum(p for _, p in predicted) <= 1.0 + 1e-9
        assert predicted == sorted(predicted, key=lambda pair: (-pair[1], pair[0]))


@settings(max_examples=50, deadline=None)
@given(stream=streams)
def test_order_one_confidence_is_the_conditional_frequency(
    patterns_impl: ModuleType, stream: list[int]
) -> None:
    counter = unbounded(patterns_impl, max_order=1)
    counter.record_many(stream)
    for context, counts in successor_model(stream, 1).items():
        total = sum(counts.values())
        expected = sorted(
            ((item, count / total) for item, count in counts.items()),
            key=lambda pair: (-pair[1], pair[0]),
        )
        assert counter.predict(context[0], 100) == expected


# --- bounds -----------------------------------------------------------------------------------


def test_least_recently_updated_context_is_evicted(patterns_impl: ModuleType) -> None:
    counter = patterns_impl.PatternCounter(window_size=2, max_order=1, max_contexts=2)
    counter.record_many([1, 2, 3])  # contexts (1,), (2,)
    counter.record(1)  # (3,) arrives: (1,) is the oldest and goes
    assert [key for key, _, _ in counter.state()] == [(2,), (3,)]
    assert counter.predict(1) == []
    assert counter.predict(2) == [(3, 1.0)]


def test_smallest_then_oldest_successor_is_replaced(patterns_impl: ModuleType) -> None:
    counter = patterns_impl.PatternCounter(window_size=2, max_order=1, max_successors=2)
    counter.record_many([0, 1, 0, 1, 0, 2, 0, 3])  # after 0: 1 twice, then 2, then 3 replaces 2
    assert counter.successors([0]) == {1: 2, 3: 1}
    state = dict((key, total) for key, total, _ in counter.state())
    assert state[(0,)] == 4  # the evicted count stays in the total: confidences stay honest
    assert counter.predict(0) == [(1, 0.5), (3, 0.25)]


def test_decay_halves_counts_and_drops_zeros(patterns_impl: ModuleType) -> None:
    counter = patterns_impl.PatternCounter(window_size=2, max_order=1, decay_at=4)
    counter.record_many([0, 1, 0, 1, 0, 1, 0, 2])  # the 4th count after 0 triggers the decay
    assert counter.successors([0]) == {1: 1}
    assert dict((k, t) for k, t, _ in counter.state())[(0,)] == 2


@pytest.mark.parametrize("params", [{"max_contexts": 64, "max_successors": 4, "decay_at": 50}])
def test_memory_stays_bounded_on_a_long_random_stream(
    patterns_impl: ModuleType, params: dict[str, int]
) -> None:
    rng = random.Random(7)
    counter = patterns_impl.PatternCounter(window_size=5, max_order=4, **params)

    def feed(count: int) -> None:
        counter.record_many(np.array([rng.randrange(300) for _ in range(count)], dtype=np.int64))

    feed(5_000)  # past every cap: the structures have their final size
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10):
            feed(2_000)
            assert counter.context_count <= params["max_contexts"]
            assert all(len(s) <= params["max_successors"] for _, _, s in counter.state())
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert counter.context_count == params["max_contexts"]
    assert grown < 64 * 1024, f"{grown} bytes kept after 20000 more accesses"


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window_size": 1},
        {"window_size": 65},
        {"window_size": 3, "max_order": 3},
        {"max_order": 0},
        {"max_contexts": 0},
        {"max_successors": 0},
        {"decay_at": 1},
        {"window_size": 5.0},
        {"max_order": True},
    ],
)
def test_bad_parameters(patterns_impl: ModuleType, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        patterns_impl.PatternCounter(**kwargs)


@pytest.mark.parametrize("bad", ["1", 1.0, True, None, 2**63, -(2**63) - 1, b"x"])
def test_bad_item_ids(patterns_impl: ModuleType, bad: object) -> None:
    counter = patterns_impl.PatternCounter()
    with pytest.raises(ValidationError):
        counter.record(bad)
    with pytest.raises(ValidationError):
        counter.predict(bad)
    with pytest.raises(ValidationError):
        counter.record_many([1, 2, bad])
    assert counter.accesses == 0  # a bad batch records nothing


@pytest.mark.parametrize("bad", ["123", b"\x01\x02", bytearray(b"\x01"), 5, np.array([1.5])])
def test_bad_batches(patterns_impl: ModuleType, bad: object) -> None:
    counter = patterns_impl.PatternCounter()
    with pytest.raises(ValidationError):
        counter.record_many(bad)
    assert counter.accesses == 0


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_bad_n(patterns_impl: ModuleType, n: object) -> None:
    counter = patterns_impl.PatternCounter()
    counter.record_many([1, 2])
    with pytest.raises(ValidationError):
        counter.predict(1, n)


# --- the twins --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> tuple[ModuleType, ModuleType]:
    return native_kernels("patterns"), pure_kernels("patterns")


@settings(max_examples=100, deadline=None)
@given(stream=wide_streams, params=parameters(), n=st.integers(min_value=1, max_value=8))
def test_native_equals_pure(
    native_kernels: Callable[[str], ModuleType],
    pure_kernels: Callable[[str], ModuleType],
    stream: list[int],
    params: dict[str, int],
    n: int,
) -> None:
    native = native_kernels("patterns").PatternCounter(**params)
    pure = pure_kernels("patterns").PatternCounter(**params)
    half = len(stream) // 2
    for counter in (native, pure):
        counter.record_many(np.array(stream[:half], dtype=np.int64))
        for item in stream[half:]:
            counter.record(item)
    assert native.state() == pure.state()
    assert native.context_count == pure.context_count
    assert native.last() == pure.last()
    assert native.recent() == pure.recent()
    assert native.rank_hits() == pure.rank_hits()
    for current in {*stream, 1000}:
        assert native.predict(current, n) == pure.predict(current, n)  # ids and floats exactly
        assert native.successors([current]) == pure.successors([current])
        assert native.total([current]) == pure.total([current])


@settings(max_examples=60, deadline=None)
@given(stream=streams, recency=st.integers(min_value=0, max_value=32))
def test_recent_items_match_a_plain_model(
    twins: tuple[ModuleType, ModuleType], stream: list[int], recency: int
) -> None:
    expected = list(dict.fromkeys(reversed(stream)))[:recency]  # distinct, most recent first
    hits = [0] * recency
    recent: list[int] = []  # most recent first
    for item in stream:
        if item in recent:
            hits[recent.index(item)] += 1
            recent.remove(item)
        recent = [item, *recent][:recency]
    for impl in twins:
        counter = impl.PatternCounter(recency=recency)
        counter.record_many(stream)
        assert counter.recent() == expected
        assert counter.rank_hits() == hits
        assert counter.recency == recency


def test_total_counts_what_followed_a_context(patterns_impl: ModuleType) -> None:
    counter = patterns_impl.PatternCounter(window_size=3, decay_at=4)
    counter.record_many([1, 2, 1, 3, 1, 2])
    assert counter.total([1]) == 3
    assert counter.total([2, 1]) == 1
    assert counter.total([9]) == 0
    counter.record_many([1, 2])  # the 4th access after 1: decay halves the total
    assert counter.total([1]) == 2


class Name(str):
    """An application's own id type: the compiled twin refused these (the pure one counted)."""


def maybe_subclassed(names: list[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(names), st.booleans()).map(
        lambda pair: Name(pair[0]) if pair[1] else pair[0]
    )


sessions_ids = maybe_subclassed(["s1", "s2", "s3", "s-4"])
item_names = maybe_subclassed([f"file:{name}" for name in "abcdef"])


@settings(max_examples=60, deadline=None)
@given(
    calls=st.lists(st.tuples(sessions_ids, item_names), max_size=120),
    max_items=st.integers(min_value=1, max_value=7),
    max_sessions=st.integers(min_value=1, max_value=4),
)
def test_session_tables_are_twins(
    twins: tuple[ModuleType, ModuleType],
    calls: list[tuple[str, str]],
    max_items: int,
    max_sessions: int,
) -> None:
    args = {"window_size": 4, "max_contexts": 30, "max_successors": 3, "decay_at": 12}
    tables = [impl.SessionTable(args, max_items, max_sessions) for impl in twins]
    for index, (session, item) in enumerate(calls):
        for table in tables:
            if index % 3 == 2:
                table.record_many(session, [item, item])
            else:
                table.record(session, item)
    native, pure = tables
    assert native.sessions() == pure.sessions()
    assert len(native) == len(pure) <= max_sessions
    for session in native.sessions():
        left, right = native.get(session), pure.get(session)
        assert left.names == right.names
        assert left.ids == right.ids
        assert len(left.names) <= max_items
        assert left.counter.state() == right.counter.state()
        assert left.counter.recent() == right.counter.recent()
        assert left.counter.rank_hits() == right.counter.rank_hits()


def test_session_table_refuses_bad_ids_and_changes_nothing(patterns_impl: ModuleType) -> None:
    table = patterns_impl.SessionTable({"window_size": 5})
    table.record("s1", "a")
    for session, item in [("s1", ""), ("s1", 3), ("s1", None), ("bad:id", "a"), (7, "a")]:
        with pytest.raises(ValidationError):
            table.record(session, item)
    with pytest.raises(ValidationError):
        table.record_many("s1", ["b", 5])
    with pytest.raises(ValidationError):
        table.record_many("s1", "ab")
    assert table.sessions() == ["s1"]
    assert table.get("s1").names == ["a"]
    assert table.get("s1").counter.accesses == 1
    with pytest.raises(ValidationError):
        patterns_impl.SessionTable({"window_size": 1})
    with pytest.raises(ValidationError):
        patterns_impl.SessionTable({"window_size": 5}, max_sessions=0)


def test_session_table_resets_a_session_past_max_items(patterns_impl: ModuleType) -> None:
    table = patterns_impl.SessionTable({"window_size": 5}, max_items=2, max_sessions=2)
    table.record_many("s1", ["a", "b", "a"])
    table.record("s1", "c")  # a third item: the session starts afresh from c
    assert table.get("s1").names == ["c"]
    table.record("s2", "a")
    table.record("s1", "c")
    table.record("s3", "a")  # s2 is the least recently used
    assert table.sessions() == ["s1", "s3"]
    table.forget("s1")
    assert table.sessions() == ["s3"]


def test_both_twins_expose_the_same_names(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> None:
    native, pure = native_kernels("patterns"), pure_kernels("patterns")
    assert sorted(native.__all__) == sorted(pure.__all__)
    for name in pure.__all__:
        assert hasattr(native, name)
    public = {name for name in dir(pure.PatternCounter) if not name.startswith("_")}
    assert public <= set(dir(native.PatternCounter))
    public = {name for name in dir(pure.SessionTable) if not name.startswith("_")}
    assert public <= set(dir(native.SessionTable))
    for name in ("MAX_ORDER", "MAX_RECENCY", "MAX_WINDOW", "MAX_SUCCESSORS", "MAX_CONTEXTS"):
        assert getattr(native, name) == getattr(pure, name)


@pytest.mark.parametrize("max_contexts", [1000, 5000])
def test_native_equals_pure_through_growth_and_eviction(
    native_kernels: Callable[[str], ModuleType],
    pure_kernels: Callable[[str], ModuleType],
    max_contexts: int,
) -> None:
    # Enough distinct contexts that the compiled tables double several times, then evict.
    rng = random.Random(max_contexts)
    stream = np.array([rng.randrange(60) for _ in range(20_000)], dtype=np.int64)
    params = {"max_contexts": max_contexts, "max_successors": 5, "decay_at": 40}
    native = native_kernels("patterns").PatternCounter(**params)
    pure = pure_kernels("patterns").PatternCounter(**params)
    native.record_many(stream)
    pure.record_many(stream)
    assert native.context_count == pure.context_count == max_contexts
    assert native.state() == pure.state()
    for current in range(60):
        assert native.predict(current, 10) == pure.predict(current, 10)


def test_native_equals_pure_with_many_successors(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> None:
    # More candidates than the compiled twin scores on its stack: the heap path, same results.
    rng = random.Random(3)
    stream = [x for item in range(1, 400) for x in (0, item, rng.randrange(400))]
    stream += [0, 5, 7, 0, 5, 9, 0]
    params = {"max_successors": 500, "decay_at": 1 << 40}
    native = native_kernels("patterns").PatternCounter(**params)
    pure = pure_kernels("patterns").PatternCounter(**params)
    native.record_many(stream)
    pure.record_many(stream)
    predicted = native.predict(0, 1000)
    assert len(predicted) > 256
    assert predicted == pure.predict(0, 1000)
