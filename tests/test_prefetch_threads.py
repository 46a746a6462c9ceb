"""The prefetcher and its pattern kernels used from several threads at once, on both twins.

A kernel call is to be atomic, as a compiled one is under the GIL while no Python code runs in
it. The pure twin's calls were not (threads recording into one table raised from inside it and
lost accesses); the compiled table ran Python code in places (a new session's id check, the log
line of a reset, the GC's finalizers when a model was made) and lost accesses there; and the
prediction bookkeeping of ``memcore.prefetch_outcomes`` and the prefetch cache raised on both.
The switch interval is made tiny so that threads interleave inside the calls; every assertion
is on counts, none on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from memcore import _kernels
from memcore.prefetch import PredictiveMemoryPrefetcher

THREADS = 4
SESSION = "s-1"


@pytest.fixture(autouse=True)
def tiny_switch_interval() -> Iterator[None]:
    """Threads switch every microsecond (the default 5 ms would rarely split a call)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.fixture
def prefetcher_on(
    patterns_impl: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., PredictiveMemoryPrefetcher]:
    """Prefetchers built on the twin under test (``patterns_impl``), whichever is selected."""

    def make(**kwargs: object) -> PredictiveMemoryPrefetcher:
        with monkeypatch.context() as patch:
            patch.setattr(_kernels, "patterns", patterns_impl, raising=False)
            return PredictiveMemoryPrefetcher(**kwargs)  # type: ignore[arg-type]

    return make


def run_threads(work: Callable[[int], None]) -> list[BaseException]:
    """``work(k)`` on ``THREADS`` threads started together; the exceptions they raised."""
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        start.wait()
        try:
            work(k)
        except BaseException as exc:  # (kept, to fail the test with it)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_threads_recording_and_predicting_in_one_session_never_raise(
    prefetcher_on: Callable[..., PredictiveMemoryPrefetcher],
) -> None:
    prefetcher = prefetcher_on()
    rounds = 3000

    def work(k: int) -> None:
        for i in range(rounds):
            item = f"item-{(i * (k + 1)) % 7}"
            prefetcher.record_access(SESSION, item)
            prefetcher.predict_next_accesses(SESSION, item)

    assert run_threads(work) == []
    model = prefetcher._table.get(SESSION)
    assert model is not None
    total = THREADS * rounds
    assert model.counter.accesses == total
    # each prediction settled at most once, its stated and achieved parts together
    stated, achieved = prefetcher._outcomes._tally.get(SESSION, [0.0, 0.0])
    assert 0.0 <= stated <= total
    assert achieved in range(total + 1)
    factor = prefetcher._outcomes.current(SESSION)
    assert 0.0 < factor <= 1.0
    # and the prefetcher goes on as one thread would use it
    prefetcher.record_access(SESSION, "item-1")
    assert prefetcher.predict_next_accesses(SESSION, "item-1")


def test_threads_recording_into_a_bounded_table_lose_no_access(
    patterns_impl: ModuleType,
) -> None:
    # few contexts and successors: every access evicts, the lists and dicts change under the
    # other threads (the pure twin raised RuntimeError, ValueError, IndexError and KeyError)
    table = patterns_impl.SessionTable(
        {"window_size": 5, "max_contexts": 32, "max_successors": 2}, max_sessions=3
    )
    rounds = 2000

    def work(k: int) -> None:
        for i in range(rounds):
            session = (i * 7 + k) % 5
            table.record(f"s{session}", f"item-{(i * (k + 3)) % 40}")
            if session == 0:
                table.sessions()

    assert run_threads(work) == []
    assert len(table) == 3
    for name in table.sessions():
        model = table.get(name)
        assert model.ids == {item: number for number, item in enumerate(model.names)}
        assert sum(model.counter.rank_hits()) <= model.counter.accesses
    # one session, never evicted: every access of every thread counted
    one = patterns_impl.SessionTable({"window_size": 5, "max_contexts": 32, "max_successors": 2})

    def into_one(k: int) -> None:
        for i in range(rounds):
            one.record(SESSION, f"item-{(i * (k + 3)) % 40}")

    assert run_threads(into_one) == []
    assert one.get(SESSION).counter.accesses == THREADS * rounds


class Cycle:
    """Garbage that only the cyclic GC frees, with a finalizer: Python code, run inside whichever
    call makes the next object when the GC collects often."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        pass


@pytest.fixture
def collecting_often() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(1)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("garbage", [False, True], ids=["plain", "gc-finalizers"])
def test_sessions_that_threads_create_at_once_keep_every_access(
    patterns_impl: ModuleType, garbage: bool, collecting_often: None
) -> None:
    # A call of the compiled table is atomic only while no Python code runs in it, and some did:
    # the check of a new session's id, and the finalizers the cyclic GC may run when the new
    # model is made. Another thread created the same session there, and the table replaced
    # that model, losing its accesses.
    sessions = 3000
    table = patterns_impl.SessionTable({"window_size": 5}, max_sessions=sessions)
    together = threading.Barrier(THREADS)

    def work(k: int) -> None:  # (the threads create the same sessions, in step)
        for j in range(sessions):
            if j % 20 == 0:
                together.wait()
            if garbage:
                Cycle()
            table.record(f"s{j}", f"item-{k}")

    assert run_threads(work) == []
    counts = {table.get(f"s{j}").counter.accesses for j in range(sessions)}
    assert counts == {THREADS}


class Watcher(logging.Handler):
    """Calls ``look`` on each record of the prefetch log, without the handler's lock (so threads
    logging at once overlap, as they would in a slow handler)."""

    def __init__(self, look: Callable[[logging.LogRecord], None]) -> None:
        super().__init__(logging.INFO)
        self.look = look

    def handle(self, record: logging.LogRecord) -> bool:
        self.look(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() is enough
        self.look(record)


@contextlib.contextmanager
def watching(look: Callable[[logging.LogRecord], None]) -> Iterator[None]:
    logger = logging.getLogger("memcore.prefetch")
    handler, level = Watcher(look), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_reset_is_logged_once_the_table_is_whole_again(patterns_impl: ModuleType) -> None:
    # Past ``max_items`` a session's model is made afresh. The table logged that first, then
    # replaced the model: a log call runs Python code, where another thread may run, and one
    # that reset the same session meanwhile had its model deleted (its accesses lost) or found
    # the session gone (``KeyError``). Now the log comes once the access is counted.
    table = patterns_impl.SessionTable({"window_size": 3}, max_items=2)
    seen: list[tuple[list[str], int]] = []

    def look(record: logging.LogRecord) -> None:
        model = table.get(SESSION)
        seen.append((list(model.names), model.counter.accesses))

    with watching(look):
        for item in "abc":
            table.record(SESSION, item)
        table.record_many(SESSION, ["d", "e", "e"])
    assert seen == [(["c"], 1), (["e"], 2)]


def test_a_session_reset_by_threads_at_once_never_raises(patterns_impl: ModuleType) -> None:
    # (the threads reset the one session again and again, each log call letting the others in)
    table = patterns_impl.SessionTable({"window_size": 3}, max_items=3)
    resets = [0]

    def look(record: logging.LogRecord) -> None:
        resets[0] += 1
        time.sleep(0)  # (lets the other threads run in the middle of the log call)

    def work(k: int) -> None:
        for i in range(300):
            table.record(SESSION, f"item-{(i * (k + 1)) % 7}")
            table.record_many(SESSION, ["item-0", f"item-{k}"])

    with watching(look):
        assert run_threads(work) == []
    assert resets[0] > 0
    model = table.get(SESSION)
    assert len(model.names) <= 3
    assert model.ids == {item: number for number, item in enumerate(model.names)}


def test_threads_counting_one_counter_lose_no_access(patterns_impl: ModuleType) -> None:
    counter = patterns_impl.PatternCounter(window_size=4, max_contexts=16, max_successors=2)
    rounds = 2000

    def work(k: int) -> None:
        for i in range(rounds):
            counter.record((i * (k + 3)) % 23)
            if i % 10 == 0:
                counter.record_many([k, k + 1])
                counter.predict(k)
                counter.state()

    assert run_threads(work) == []
    assert counter.accesses == THREADS * (rounds + 2 * (rounds // 10))
    assert len(counter.recent()) == len(set(counter.recent())) == counter.recency
    assert counter.context_count <= 16


def test_threads_reading_and_dropping_the_cache_never_raise(
    prefetcher_on: Callable[..., PredictiveMemoryPrefetcher],
) -> None:
    async def load(session_id: str, item_id: str) -> str:
        return f"value of {item_id}"

    # more predictions than the cache holds: every prefetch evicts and loads again
    prefetcher = prefetcher_on(loader=load, threshold=0.0, cache_size=24)
    sessions = [f"s-{j}" for j in range(6)]
    items = [f"item-{i}" for i in range(8)]
    for session in sessions:
        prefetcher.record_accesses(session, items * 3)
    prefetched = threading.Event()
    lookups = [0] * THREADS

    async def prefetch() -> None:
        for i in range(300):
            for session in sessions:
                await prefetcher.prefetch_predicted_items(session, items[i % 8])

    def work(k: int) -> None:
        if k == 0:  # one thread prefetches (on its own event loop), the others read and drop
            asyncio.run(prefetch())
            prefetched.set()
            return
        i = 0
        while not prefetched.is_set():
            i += 1
            if k == 1:
                prefetcher.invalidate(sessions[i % 6])
            else:
                prefetcher.get(sessions[i % 6], items[i % 8])
                lookups[k] += 1

    assert run_threads(work) == []
    assert prefetcher.hits + prefetcher.misses == sum(lookups)
    assert prefetcher.cached_count <= 24


def test_state_and_successors_read_a_copy_while_a_finalizer_records(
    patterns_impl: ModuleType,
) -> None:
    """Making the objects of ``state()`` and ``successors()`` may run the cyclic GC, and with
    it a finalizer that records into the same counter and grows (moves) its arrays: what they
    return is read from a copy made before (the compiled twin read the moved arrays; the
    sanitizer run, ``scripts/run_sanitizers.sh``, catches such a read where this test may not)."""
    counter = patterns_impl.PatternCounter(window_size=3, max_contexts=100_000)
    for item in range(60):
        counter.record(item % 30)

    class Records:
        def __init__(self) -> None:
            self.cycle = self  # (freed by the cyclic GC only)

        def __del__(self) -> None:
            for item in range(4000):
                counter.record(1_000 + item)

    known = set(range(30)) | set(range(1_000, 5_000))
    before = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    try:
        for _ in range(3):
            Records()
        state = counter.state()
        for _ in range(3):
            Records()
        successors = counter.successors([5])
    finally:
        gc.set_threshold(*before)
        gc.collect()
    for key, total, entries in state:
        assert set(key) <= known
        assert total >= sum(count for _, count, _ in entries) > 0
        assert {item for item, _, _ in entries} <= known
    assert set(successors) <= known
    assert successors.get(6, 0) >= 1  # (5 was followed by 6, recorded before)
