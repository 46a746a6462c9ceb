"""``stop_auto_sync`` called from another thread than the auto-sync task's loop.

It used to call ``Task.cancel`` there directly: not thread-safe, and the loop, asleep until the
task's next tick, never woke for it, so auto-sync went on until then (an hour, at an hour's
``sync_interval``). It now cancels on the task's own loop, as ``close`` does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from memcore.model import MemoryItem
from memcore.sync import DistributedMemoryManager

#: Far beyond the test's waits: the task reaches no tick on its own.
HOUR = 3600.0
#: A bound on a wait that must not hang (never reached when the fix holds).
DEADLOCK_BOUND = 60.0


@pytest.fixture
def loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own, stopped and closed afterwards."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(DEADLOCK_BOUND)
        loop.close()


def test_stop_auto_sync_from_another_thread_ends_the_task_at_once(
    tmp_path: Path, loop_thread: asyncio.AbstractEventLoop
) -> None:
    manager = DistributedMemoryManager(
        storage_backend=f"sqlite:///{tmp_path / 'auto.db'}", replica_id="a", sync_interval=HOUR
    )
    ended: concurrent.futures.Future[bool] = concurrent.futures.Future()

    async def start() -> None:
        manager.set("s", "k", MemoryItem("k", "v"))
        manager.start_auto_sync()
        task = manager._auto_task
        assert task is not None
        # registered before the stop: nothing else may wake the loop for the cancel
        task.add_done_callback(lambda done: ended.set_result(done.cancelled()))

    asyncio.run_coroutine_threadsafe(start(), loop_thread).result(DEADLOCK_BOUND)
    manager.stop_auto_sync()  # from this thread, while the task sleeps on the other's loop
    assert not manager.auto_sync_running
    assert ended.result(DEADLOCK_BOUND) is True  # cancelled, not an hour later
    assert set(manager.pending("s")) == {"k"}  # nothing pending was lost (nor synced)
    asyncio.run(manager.close())


async def test_stop_auto_sync_on_its_own_loop_still_cancels(tmp_path: Path) -> None:
    manager = DistributedMemoryManager(
        storage_backend=f"sqlite:///{tmp_path / 'auto.db'}", replica_id="a", sync_interval=HOUR
    )
    try:
        manager.start_auto_sync()
        task = manager._auto_task
        assert task is not None
        manager.stop_auto_sync()
        await asyncio.wait((task,))
        assert task.cancelled()
        assert not manager.auto_sync_running
    finally:
        await manager.close()
