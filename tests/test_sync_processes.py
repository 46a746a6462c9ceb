"""Real processes (``spawn``) syncing through one SQLite file or one redis-server.

Writers interleave writes and syncs on distinct and shared keys; afterwards no write is lost, every
replica converges to the store's digest, and conflicts on the shared keys are reported. A writer
killed with SIGKILL in the middle of its write/sync loop loses nothing it had synced, and the store
it leaves behind is valid: every record decodes and the kept digest is the digest of the records.
"""

from __future__ import annotations

import asyncio
import importlib.util
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.stores.base import decode_entry, live_digest
from memcore.sync import DistributedMemoryManager

SESSION = "procs"
WRITERS = 4
ROUNDS = 6

pytestmark = pytest.mark.timeout(120)


def _item(key: str, text: str) -> MemoryItem:
    return MemoryItem(id=key, content=text)


async def _writer(url: str, index: int, barrier: Any, queue: Any) -> None:
    manager = DistributedMemoryManager(storage_backend=url, replica_id=f"writer-{index}")
    conflicts: list[tuple[str, str]] = []
    shared_writes: list[tuple[str, int, str, str]] = []  # (key, HLC stamp, replica, content)

    def write_shared(key: str, text: str) -> None:
        manager.set(SESSION, key, _item(key, text))
        entry = manager.entry(SESSION, key)
        assert entry is not None
        shared_writes.append((key, entry.stamp, entry.replica, text))

    try:
        rng = random.Random(index)
        for round_ in range(ROUNDS):
            manager.set(SESSION, f"w{index}-{round_}", _item(f"w{index}-{round_}", f"{round_}"))
            write_shared(f"shared-{round_ % 2}", f"w{index} r{round_}")
            if round_ % 2:
                manager.delete(SESSION, f"w{index}-{round_ - 1}")
            result = await manager.sync_session_memory(SESSION)
            assert result.success, result.error
            conflicts += [(c.key, c.winner) for c in result.conflicts]
            await asyncio.sleep(rng.uniform(0, 0.01))
        # a guaranteed conflict: everyone writes "contested" before anyone syncs it
        write_shared("contested", f"w{index}")
        await asyncio.to_thread(barrier.wait)
        result = await manager.sync_session_memory(SESSION)
        assert result.success, result.error
        conflicts += [(c.key, c.winner) for c in result.conflicts]
        await asyncio.to_thread(barrier.wait)  # everyone has committed
        await manager.sync_session_memory(SESSION)
        queue.put(
            {
                "index": index,
                "conflicts": conflicts,
                "shared_writes": shared_writes,
                "digest": manager.metadata(SESSION).checksum,
                "state": {k: v.content for k, v in manager.state(SESSION).items()},
                "pending": sorted(manager.pending(SESSION)),
            }
        )
    finally:
        await manager.close()


def writer_process(url: str, index: int, barrier: Any, queue: Any) -> None:
    asyncio.run(_writer(url, index, barrier, queue))


async def _doomed(url: str, progress: str) -> None:
    """Write and sync forever, logging each synced counter durably, until killed."""
    manager = DistributedMemoryManager(storage_backend=url, replica_id="doomed")
    with open(progress, "a", encoding="utf-8") as log:  # noqa: ASYNC230 - a child's own log
        n = 0
        while True:
            for _ in range(3):
                manager.set(SESSION, f"n{n}", _item(f"n{n}", str(n)))
                manager.set(SESSION, "counter", _item("counter", str(n)))
                n += 1
            result = await manager.sync_session_memory(SESSION)
            if result.success:
                log.write(f"{n}\n")
                log.flush()
                os.fsync(log.fileno())


def doomed_process(url: str, progress: str) -> None:
    asyncio.run(_doomed(url, progress))


async def _bystander(url: str, stop: Any) -> None:
    manager = DistributedMemoryManager(storage_backend=url, replica_id="bystander")
    try:
        i = 0
        while not stop.is_set():
            manager.set(SESSION, f"b{i % 5}", _item(f"b{i % 5}", str(i)))
            await manager.sync_session_memory(SESSION)
            i += 1
    finally:
        await manager.close()


def bystander_process(url: str, stop: Any) -> None:
    asyncio.run(_bystander(url, stop))


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not written yet")


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        _require("memcore.stores.sqlite")
        return f"sqlite:///{tmp_path / 'shared.db'}"
    _require("memcore.stores.redis")
    fixture = "redis_cluster_url" if request.param == "redis-cluster" else "redis_url"
    url: str = request.getfixturevalue(fixture)
    return url


async def _stored(url: str) -> tuple[dict[str, Any], int | None, int]:
    """Live values, kept digest and version, after checking every record and the digest."""
    store = open_store(url)
    try:
        snapshot = await store.read_snapshot(SESSION)
    finally:
        await store.close()
    entries = {key: decode_entry(record) for key, record in snapshot.records.items()}
    assert snapshot.digest == live_digest(entries)
    live = {k: e.value.content for k, e in entries.items() if not e.deleted}
    return live, snapshot.digest, snapshot.version


def test_processes_converge_without_losing_writes(store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=writer_process, args=(store_url, i, barrier, queue))
        for i in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    reports = [queue.get(timeout=90) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    live, digest, _ = asyncio.run(_stored(store_url))
    expected_own = {
        f"w{i}-{r}": str(r) for i in range(WRITERS) for r in range(ROUNDS) if r % 2 == 1
    }
    assert {k: v for k, v in live.items() if k.startswith("w")} == expected_own
    assert set(live) == set(expected_own) | {"shared-0", "shared-1", "contested"}
    for report in reports:
        assert report["pending"] == []
        assert report["digest"] == digest
        assert report["state"] == live
    contested = [c for r in reports for c in r["conflicts"] if c[0] == "contested"]
    assert len(contested) >= WRITERS - 1  # everyone after the first committer saw a conflict
    # timestamp strategy: each shared key holds its last write by (HLC stamp, replica id)
    latest: dict[str, tuple[int, str, str]] = {}
    for report in reports:
        for key, stamp, replica, text in report["shared_writes"]:
            if key not in latest or (stamp, replica) > latest[key][:2]:
                latest[key] = (stamp, replica, text)
    assert {key: text for key, (_, _, text) in latest.items()} == {
        key: live[key] for key in ("shared-0", "shared-1", "contested")
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_a_writer_killed_mid_sync_loses_nothing_it_synced(
    store_url: str, seed: int, tmp_path: Path
) -> None:
    ctx = multiprocessing.get_context("spawn")
    progress = tmp_path / "progress.log"
    stop = ctx.Event()
    bystander = ctx.Process(target=bystander_process, args=(store_url, stop))
    doomed = ctx.Process(target=doomed_process, args=(store_url, str(progress)))
    bystander.start()
    doomed.start()
    try:
        deadline = time.monotonic() + 60
        while not (progress.exists() and progress.read_text().count("\n") >= 3):
            assert time.monotonic() < deadline, "the writer never synced"
            assert doomed.exitcode is None, "the writer died on its own"
            time.sleep(0.02)
        time.sleep(random.Random(seed).uniform(0.05, 0.6))
        assert doomed.pid is not None
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.join(timeout=10)
        assert doomed.exitcode == -signal.SIGKILL
    finally:
        stop.set()
        bystander.join(timeout=30)
        if doomed.is_alive():
            doomed.kill()
    assert bystander.exitcode == 0
    synced = int(progress.read_text().split()[-1])
    live, digest, version = asyncio.run(_stored(store_url))
    for n in range(synced):
        assert live[f"n{n}"] == str(n)
    assert int(live["counter"]) >= synced - 1

    async def carry_on() -> None:
        # the store is still usable: a new replica syncs, writes and commits
        survivor = DistributedMemoryManager(storage_backend=store_url, replica_id="survivor")
        try:
            await survivor.sync_session_memory(SESSION)
            assert survivor.metadata(SESSION).checksum == digest
            survivor.set(SESSION, "after", _item("after", "kill"))
            result = await survivor.sync_session_memory(SESSION)
            assert result.success
            assert result.version == version + 1
        finally:
            await survivor.close()

    asyncio.run(carry_on())
    live_after, _, _ = asyncio.run(_stored(store_url))
    assert live_after["after"] == "kill"
