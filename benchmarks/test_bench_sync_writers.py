"""Writer benchmarks: syncs per second by one writer and by four, in one process and across
processes, on the stores of ``test_bench_sync`` (its fixtures and session).

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_sync_writers.py --benchmark-only -q``.

* ``writers-<store>``: 200 syncs, each of one fresh key, by 1 writer, by 4 writer tasks sharing
  one replica in one process (group commit: concurrent syncs join one compare-and-set), by 4
  replicas in one process (each its own store connection, taking turns at SQLite's lock), and by
  1 and 4 processes (200 syncs each). ``extra_info["syncs_per_second"]`` has the rate.
* ``writers-<store>-alternated``: 1 writer and 4 writer tasks on one replica, a round of each in
  turn (each on its own session of one store), ``ALTERNATED_ROUNDS`` times; and 1 process and 4
  processes the same way (``PROCESS_ROUNDS`` rounds of each); ``extra_info`` has the medians and
  the ratio of syncs per second, which a drift of the machine's speed between the layouts timed
  apart does not move.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from typing import Any

import pytest

from benchmarks import test_bench_sync
from benchmarks.test_bench_sync import SESSION, _backend_name
from memcore.model import MemoryItem
from memcore.sync import DistributedMemoryManager

loop = test_bench_sync.loop  # the fixtures: a fresh event loop, and the stores compared
store_url = test_bench_sync.store_url

# --- writers: syncs per second ------------------------------------------------------------------

SYNCS = 200


@pytest.mark.parametrize("layout", ["1-writer", "4-tasks-one-replica", "4-replicas"])
def test_writers_in_one_process(
    benchmark: Any, store_url: str, layout: str, loop: asyncio.AbstractEventLoop
) -> None:
    """``SYNCS`` syncs of one fresh key each, made by 1 or 4 concurrent writers."""
    benchmark.group = f"writers-{_backend_name(store_url)}"
    benchmark.name = layout
    writers = 1 if layout == "1-writer" else 4
    replicas = writers if layout == "4-replicas" else 1
    managers = [DistributedMemoryManager(store_url, replica_id=f"w{i}") for i in range(replicas)]
    counter = [0]

    async def writer(index: int, manager: DistributedMemoryManager) -> None:
        for _ in range(SYNCS // writers):
            counter[0] += 1
            key = f"w{index}-{counter[0] % 50}"
            manager.set(SESSION, key, MemoryItem(key, f"{index}/{counter[0]}"))
            result = await manager.sync_session_memory(SESSION)
            assert result.success

    async def run() -> None:
        await asyncio.gather(*(writer(i, managers[i % replicas]) for i in range(writers)))

    loop.run_until_complete(run())  # connections open, session there
    benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=5, warmup_rounds=1)
    if benchmark.stats is not None:  # None under --benchmark-disable (the CI's smoke run)
        benchmark.extra_info["syncs_per_second"] = round(SYNCS / benchmark.stats.stats.mean, 1)
    for manager in managers:
        loop.run_until_complete(manager.close())


#: Rounds of each layout in the alternated comparison.
ALTERNATED_ROUNDS = 20


def test_one_writer_and_four_tasks_alternated(
    benchmark: Any, store_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """A round of ``SYNCS`` syncs by 1 writer, then one by 4 tasks on one replica (what is
    timed as a whole is the pair); each round is also timed alone, and their medians and the
    ratio of syncs per second (4 tasks over 1 writer) go in ``extra_info``."""
    benchmark.group = f"writers-{_backend_name(store_url)}-alternated"
    manager = DistributedMemoryManager(store_url, replica_id="alternating")
    times: dict[int, list[float]] = {1: [], 4: []}
    counter = [0]

    async def round_of(writers: int) -> None:
        session = f"{SESSION}-{writers}"  # each layout its own session: nothing to merge

        async def writer(index: int) -> None:
            for _ in range(SYNCS // writers):
                counter[0] += 1
                key = f"w{index}-{counter[0] % 50}"
                manager.set(session, key, MemoryItem(key, f"{index}/{counter[0]}"))
                assert (await manager.sync_session_memory(session)).success

        await asyncio.gather(*(writer(i) for i in range(writers)))

    def both() -> None:
        for writers in (1, 4):
            start = time.perf_counter()
            loop.run_until_complete(round_of(writers))
            times[writers].append(time.perf_counter() - start)

    both()  # connections open, sessions there
    times[1].clear()
    times[4].clear()
    benchmark.pedantic(both, rounds=ALTERNATED_ROUNDS, iterations=1)
    one, four = statistics.median(times[1]), statistics.median(times[4])
    benchmark.extra_info.update(
        one_writer_median_ms=round(one * 1e3, 3),
        four_tasks_median_ms=round(four * 1e3, 3),
        four_tasks_to_one_writer=round(one / four, 3),  # syncs per second, 4 tasks over 1
    )
    loop.run_until_complete(manager.close())
    assert len(times[1]) == len(times[4]) >= 1  # (one round under --benchmark-disable)


def _process_writer(url: str, index: int, go: Any, ready: Any, done: Any) -> None:
    async def main() -> None:
        manager = DistributedMemoryManager(url, replica_id=f"p{index}")
        await manager.sync_session_memory(SESSION)
        ready.release()
        go.wait()
        for n in range(SYNCS):
            key = f"p{index}-{n % 50}"
            manager.set(SESSION, key, MemoryItem(key, f"{index}/{n}"))
            result = await manager.sync_session_memory(SESSION)
            if not result.success:
                raise SystemExit(1)
        done.release()  # the timed part ends here: not the close, nor the interpreter's exit
        await manager.close()

    asyncio.run(main())


def _start_writers(url: str, processes: int) -> tuple[Any, Any, list[Any]]:
    """``processes`` forked writers, each synced once and waiting for ``go``: the start event,
    the semaphore each releases after its last timed sync, and the processes."""
    context = multiprocessing.get_context("fork")
    go, ready, done = context.Event(), context.Semaphore(0), context.Semaphore(0)
    workers = [
        context.Process(target=_process_writer, args=(url, i, go, ready, done))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    return go, done, workers


def _run_writers(go: Any, done: Any, workers: list[Any]) -> None:
    """Start the writers together and wait for each one's last sync."""
    go.set()
    for _ in workers:
        assert done.acquire(timeout=120), "a writer process failed"


def _join_writers(workers: list[Any]) -> None:
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0


def _processes_round(url: str, processes: int) -> float:
    """One round of ``SYNCS`` syncs by each of ``processes`` processes: the time from their
    shared start to the last one's last sync (start-up and exit left out)."""
    go, done, workers = _start_writers(url, processes)
    start = time.perf_counter()
    _run_writers(go, done, workers)
    elapsed = time.perf_counter() - start
    _join_writers(workers)
    return elapsed


#: Rounds of each layout in the alternated comparison of processes.
PROCESS_ROUNDS = 8


def test_one_process_and_four_alternated(benchmark: Any, store_url: str) -> None:
    """A round of 1 process, then one of 4 processes (``SYNCS`` syncs each, one session), in
    turn: ``extra_info`` has the medians and the ratio of syncs per second (4 over 1)."""
    benchmark.group = f"writers-{_backend_name(store_url)}-alternated"
    benchmark.name = "1-and-4-processes"
    times: dict[int, list[float]] = {1: [], 4: []}

    def both() -> None:
        for processes in (1, 4):
            times[processes].append(_processes_round(store_url, processes))

    both()  # the session there, the file made
    times[1].clear()
    times[4].clear()
    benchmark.pedantic(both, rounds=PROCESS_ROUNDS, iterations=1)
    one, four = statistics.median(times[1]), statistics.median(times[4])
    benchmark.extra_info.update(
        one_process_median_ms=round(one * 1e3, 3),
        four_processes_median_ms=round(four * 1e3, 3),
        four_processes_to_one=round(4 * one / four, 3),  # syncs per second, 4 over 1
    )
    assert len(times[1]) == len(times[4]) >= 1  # (one round under --benchmark-disable)


@pytest.mark.parametrize("processes", [1, 4])
def test_writers_across_processes(benchmark: Any, store_url: str, processes: int) -> None:
    """``SYNCS`` syncs per process, by 1 or 4 processes at once: timed from a shared start to
    the last process's last sync (process start-up and exit, the same for 1 or 4 processes
    but for the last connection's closing checkpoint, are left out)."""
    benchmark.group = f"writers-{_backend_name(store_url)}"
    benchmark.name = f"{processes}-processes"
    started: list[Any] = []

    def finish() -> None:
        if started:
            _join_writers(started[2])
            started.clear()

    def setup() -> None:
        finish()
        started[:] = _start_writers(store_url, processes)

    def run() -> None:
        _run_writers(*started)

    benchmark.pedantic(run, setup=setup, rounds=5)
    finish()
    total = processes * SYNCS
    if benchmark.stats is not None:
        benchmark.extra_info["syncs_per_second"] = round(total / benchmark.stats.stats.mean, 1)
