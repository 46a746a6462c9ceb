"""The SQLite store's sync under its write lock (``read_and_commit``) and its writer queue.

* the contract: ``first`` lands only on the exact expected state; otherwise the delta is read and
  ``plan`` decides, all in one transaction (nothing written when it declines or raises);
* waiting: another connection holding the lock never blocks the event loop, the call goes on
  when it lets go, and gives up with ``BackendError`` after the store's timeout;
* the queue: a cancelled or timed-out waiter gives back a turn its thread got later;
* ``synchronous=full`` declines (the sync's loop runs), and a sync still works there.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from memcore.errors import BackendError
from memcore.model import MemoryItem
from memcore.stores.base import Delta, Expected
from memcore.stores.sqlite import SQLiteStore
from memcore.stores.writer_queue import WriterQueue
from memcore.sync import DistributedMemoryManager
from memcore.sync_commit import UNDER_LOCK_MAX_PENDING

SESSION = "s"


async def opened_store(tmp_path: Path) -> SQLiteStore:
    """A store whose ``SESSION`` holds ``a`` at version 1 (digest 11), incarnation id made."""
    made = SQLiteStore(f"sqlite:///{tmp_path / 'm.db'}?timeout=1")
    assert await made.commit(SESSION, 0, {"a": b"a1"}, 11) == 1
    await made.incarnation(SESSION)  # the file's incarnation id exists from now on
    return made


@pytest.fixture
async def store(tmp_path: Path) -> SQLiteStore:
    return await opened_store(tmp_path)


def plan_writing(records: Mapping[str, bytes], digest: int, seen: list[Delta]) -> object:
    def plan(delta: Delta) -> tuple[Mapping[str, bytes], int]:
        seen.append(delta)
        return records, digest

    return plan


async def test_first_lands_only_on_the_expected_state(store: SQLiteStore) -> None:
    incarnation = await store.incarnation(SESSION)
    seen: list[Delta] = []
    plan = plan_writing({"b": b"b-planned"}, 33, seen)
    first = (Expected(1, 11, incarnation), {"b": b"b-first"}, 22)
    assert await store.read_and_commit(SESSION, 1, plan, first) == (None, 2)  # type: ignore[arg-type]
    assert seen == []
    snapshot = await store.read_snapshot(SESSION)
    assert (snapshot.version, snapshot.digest, snapshot.records["b"]) == (2, 22, b"b-first")
    # the same expectation again: the state moved, so the delta is read and the plan commits
    done = await store.read_and_commit(SESSION, 1, plan, first)  # type: ignore[arg-type]
    assert done is not None
    delta, version = done
    assert version == 3
    assert delta is not None
    assert delta.version == 2
    assert delta.records == {"b": b"b-first"}
    assert delta.incarnation == incarnation
    assert [d.version for d in seen] == [2]
    snapshot = await store.read_snapshot(SESSION)
    assert (snapshot.version, snapshot.digest, snapshot.records["b"]) == (3, 33, b"b-planned")
    journal = await store.read_journal(SESSION)
    assert [(e.version, e.key) for e in journal] == [(1, "a"), (2, "b"), (3, "b")]
    await store.close()


async def test_a_plan_that_declines_or_raises_writes_nothing(store: SQLiteStore) -> None:
    done = await store.read_and_commit(SESSION, 0, lambda delta: None)
    assert done is not None
    assert done[1] is None
    assert done[0] is not None
    assert done[0].records == {"a": b"a1"}

    def failing(delta: Delta) -> tuple[dict[str, bytes], int]:
        raise RuntimeError("the merge failed")

    with pytest.raises(RuntimeError, match="merge failed"):
        await store.read_and_commit(SESSION, 0, failing)
    snapshot = await store.read_snapshot(SESSION)
    assert (snapshot.version, snapshot.records) == (1, {"a": b"a1"})
    # and the store is usable: the transaction was rolled back, not left open
    assert await store.commit(SESSION, 1, {"c": b"c"}, 44) == 2
    await store.close()


def _hold_lock(path: Path, held: threading.Event, release: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    held.set()
    release.wait(10)
    conn.execute("COMMIT")
    conn.close()


async def test_waiting_for_another_connection_never_blocks_the_loop(
    store: SQLiteStore, tmp_path: Path
) -> None:
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(tmp_path / "m.db", held, release))
    holder.start()
    await asyncio.to_thread(held.wait, 5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not release.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    asyncio.get_running_loop().call_later(0.3, release.set)
    done = await store.read_and_commit(SESSION, 1, plan_writing({"w": b"w"}, 5, []))  # type: ignore[arg-type]
    await ticking
    holder.join(5)
    assert done is not None
    assert done[1] == 2
    assert ticks >= 10  # the loop went on while the other connection held the lock
    await store.close()


async def test_it_gives_up_after_the_timeout(store: SQLiteStore, tmp_path: Path) -> None:
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(tmp_path / "m.db", held, release))
    holder.start()
    await asyncio.to_thread(held.wait, 5)
    try:
        with pytest.raises(BackendError, match="locked"):
            await store.read_and_commit(SESSION, 1, plan_writing({"w": b"w"}, 5, []))  # type: ignore[arg-type]
    finally:
        release.set()
        holder.join(5)
    assert (await store.read_snapshot(SESSION)).version == 1
    await store.close()


async def test_a_waiter_that_gives_up_hands_back_the_turn_it_gets_later(tmp_path: Path) -> None:
    database = str(tmp_path / "q.db")
    holder, waiter, later = WriterQueue(database), WriterQueue(database), WriterQueue(database)
    assert await holder.take(1)
    with pytest.raises(BackendError, match="no turn"):
        await waiter.take(0.2)  # times out; its thread still waits for the turn
    holder.give_back()  # the waiting thread takes it, and gives it back at once
    assert await later.take(2)
    later.give_back()
    task = asyncio.create_task(waiter.take(5))
    await asyncio.sleep(0)
    assert await task
    waiter.give_back()
    for queue in (holder, waiter, later):
        queue.close()


async def test_synchronous_full_declines_and_a_sync_still_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}?synchronous=full"
    store = SQLiteStore(url)
    assert await store.read_and_commit(SESSION, 0, lambda delta: None) is None
    manager = DistributedMemoryManager(store, replica_id="a")
    manager.set(SESSION, "k", MemoryItem("k", "v"))
    result = await manager.sync_session_memory(SESSION)
    assert (result.success, result.version) == (True, 1)
    await store.close()


async def test_closing_while_a_thread_waits_leaves_its_descriptor_alone(tmp_path: Path) -> None:
    """A descriptor closed under a thread blocked on it could be reused by another file, and
    the thread would then lock that one: the last waiter closes it instead."""
    database = str(tmp_path / "q.db")
    holder, waiter = WriterQueue(database), WriterQueue(database)
    assert await holder.take(1)
    task = asyncio.create_task(waiter.take(5))
    await asyncio.sleep(0.1)  # its thread is blocked on the file now
    waiter.close()
    assert waiter._fd is not None  # still open: the thread is on it
    holder.give_back()
    assert await task
    waiter.give_back()
    waiter.close()
    assert waiter._fd is None
    assert await waiter.take(1)  # opened again
    waiter.give_back()
    for queue in (holder, waiter):
        queue.close()


async def test_many_pending_keys_commit_off_the_event_loop(tmp_path: Path) -> None:
    """The transaction under the lock runs on the event loop's thread: a sync of more pending
    keys than ``UNDER_LOCK_MAX_PENDING`` (a first sync, an import) takes the loop, whose large
    commits run on the store's worker thread, and the loop is never stalled for long."""
    store = SQLiteStore(f"sqlite:///{tmp_path / 'big.db'}")
    manager = DistributedMemoryManager(store, replica_id="a")
    calls: list[int] = []
    inner = store.read_and_commit

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await inner(*args, **kwargs)

    store.read_and_commit = counting  # type: ignore[method-assign]
    now = store.commit_now

    def counting_now(*args: Any) -> Any:
        landed = now(*args)
        calls.extend([1] if landed is not False else [])
        return landed

    store.commit_now = counting_now  # type: ignore[method-assign,assignment]
    for n in range(UNDER_LOCK_MAX_PENDING + 1):
        manager.set(SESSION, f"k{n}", MemoryItem(f"k{n}", "v"))
    assert (await manager.sync_session_memory(SESSION)).success
    assert calls == []
    manager.set(SESSION, "one", MemoryItem("one", "v"))
    assert (await manager.sync_session_memory(SESSION)).success
    assert calls == [1]  # a small one goes under the lock (one key: at once, commit_now)
    assert len(manager.state(SESSION)) == UNDER_LOCK_MAX_PENDING + 2
    await store.close()
