"""``commit_now``: a writer's commit on a quiet SQLite session, made at once.

* it lands only on the exact expected state (None and nothing written otherwise), journal and
  all, several keys in one transaction, as the conditional commit of ``read_and_commit`` does;
* it is never tried where it would wait (False, nothing written): no connection yet, another
  writer's turn, SQLite's lock held by another connection;
* a sync whose ``commit_now`` misses (another replica committed) reads, merges and commits as
  usual, and loses nothing; with other tasks about to sync, the group commit carries them all.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from memcore.model import MemoryItem
from memcore.stores.base import Expected
from memcore.stores.sqlite import SQLiteStore
from memcore.stores.writer_queue import WriterQueue
from memcore.sync import DistributedMemoryManager
from tests.test_sqlite_locked import SESSION, opened_store


@pytest.fixture
async def store(tmp_path: Path) -> SQLiteStore:
    return await opened_store(tmp_path)


async def test_it_lands_only_on_the_exact_expected_state(store: SQLiteStore) -> None:
    incarnation = await store.incarnation(SESSION)
    wrong = [Expected(0, 11, incarnation), Expected(1, 12, incarnation)]
    for expected in wrong:
        assert store.commit_now(SESSION, expected, {"b": b"b1"}, 22) is None
    assert await store.version(SESSION) == 1
    assert store.commit_now(SESSION, Expected(1, 11, incarnation), {"b": b"b1"}, 22) == 2
    snapshot = await store.read_snapshot(SESSION)
    assert (snapshot.version, snapshot.digest, snapshot.records) == (
        2,
        22,
        {"a": b"a1", "b": b"b1"},
    )
    journal = await store.read_journal(SESSION, 1)
    assert [(e.version, e.key, e.record) for e in journal] == [(2, "b", b"b1")]
    await store.close()


async def test_several_keys_land_in_one_transaction_or_not_at_all(store: SQLiteStore) -> None:
    incarnation = await store.incarnation(SESSION)
    records = {"b": b"b1", "c": b"c1"}
    assert store.commit_now(SESSION, Expected(1, 12, incarnation), records, 22) is None
    assert (await store.read_snapshot(SESSION)).records == {"a": b"a1"}
    assert await store.read_journal(SESSION, 1) == []
    assert store.commit_now(SESSION, Expected(1, 11, incarnation), records, 22) == 2
    assert (await store.read_snapshot(SESSION)).records == {"a": b"a1", **records}
    journal = await store.read_journal(SESSION, 1)
    assert sorted((e.version, e.key) for e in journal) == [(2, "b"), (2, "c")]
    await store.close()


@pytest.mark.parametrize("rows", [2, 5, 64, 65])
async def test_several_keys_of_any_text_land_whole_and_typed(store: SQLiteStore, rows: int) -> None:
    """A commit of several rows (one multi-row statement up to 64 of them, a statement a row
    beyond): multi-byte keys, a key already stored, records of every length come back exactly,
    as text keys and blob records, journaled at the commit's version. A miss writes none."""
    incarnation = await store.incarnation(SESSION)
    names = ["a", "é", "日本語", "\U0001f600 emoji", "x" * 300, "tab\u00a0nbsp"]
    records = {
        f"{names[i % len(names)]}-{i}" if i else "a": bytes([i % 256]) * (i * 7 % 50 + 1)
        for i in range(rows)
    }
    assert store.commit_now(SESSION, Expected(1, 12, incarnation), records, 22) is None
    assert (await store.read_snapshot(SESSION)).records == {"a": b"a1"}
    assert store.commit_now(SESSION, Expected(1, 11, incarnation), records, 22) == 2
    snapshot = await store.read_snapshot(SESSION)
    assert (snapshot.version, snapshot.digest, snapshot.records) == (2, 22, records)
    journal = await store.read_journal(SESSION, 1)
    assert {e.key: e.record for e in journal} == records
    assert {e.version for e in journal} == {2}
    with sqlite3.connect(store.path) as conn:
        types = set(conn.execute("SELECT typeof(key), typeof(record) FROM items"))
    assert types == {("text", "blob")}
    await store.close()


async def test_it_is_not_tried_where_it_would_wait(tmp_path: Path, store: SQLiteStore) -> None:
    incarnation = await store.incarnation(SESSION)
    expected = Expected(1, 11, incarnation)
    # no connection yet on this thread's side (a store just opened): opening it may wait
    fresh = SQLiteStore(f"sqlite:///{tmp_path / 'm.db'}")
    assert fresh.commit_now(SESSION, expected, {"b": b"b1"}, 22) is False
    await fresh.close()
    # another writer's turn (another process's, as far as the file lock can tell)
    other = WriterQueue(str(tmp_path / "m.db"))
    assert other.try_take()
    assert store.commit_now(SESSION, expected, {"b": b"b1"}, 22) is False
    other.give_back()
    other.close()
    # SQLite's write lock held by another connection
    holder = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    assert store.commit_now(SESSION, expected, {"b": b"b1"}, 22) is False
    holder.execute("ROLLBACK")
    holder.close()
    assert await store.version(SESSION) == 1  # nothing was written by any of them
    assert store.commit_now(SESSION, expected, {"b": b"b1"}, 22) == 2
    await store.close()


def _spy_now(store: SQLiteStore, seen: list[object]) -> None:
    now = store.commit_now

    def spy(*args: Any) -> Any:
        landed = now(*args)
        seen.append(landed)
        return landed

    store.commit_now = spy  # type: ignore[method-assign,assignment]


async def test_a_miss_reads_merges_and_commits_as_usual(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    a = DistributedMemoryManager(url, replica_id="a")
    b = DistributedMemoryManager(url, replica_id="b")
    for manager in (a, b):
        key = f"own-{manager.replica_id}"
        manager.set(SESSION, key, MemoryItem(key, "mine"))
        assert (await manager.sync_session_memory(SESSION)).success
    for _ in range(2):  # a merges b's commit, then finds the session quiet
        assert (await a.sync_session_memory(SESSION)).success
    b.set(SESSION, "from-b", MemoryItem("from-b", "b"))
    assert (await b.sync_session_memory(SESSION)).success
    await asyncio.sleep(0.01)  # b's event loop lets its writer's turn go (see writer_queue)
    seen: list[object] = []
    _spy_now(a.store, seen)  # type: ignore[arg-type]
    a.set(SESSION, "from-a", MemoryItem("from-a", "a"))
    result = await a.sync_session_memory(SESSION)
    assert result.success
    assert result.synced_items == 2  # b's key merged, a's committed
    assert seen == [None]  # tried at once, missed: the usual path read and committed
    assert a.pending(SESSION) == frozenset()
    assert set(a.state(SESSION)) == {"own-a", "own-b", "from-a", "from-b"}
    assert (await b.sync_session_memory(SESSION)).success
    assert a.state(SESSION) == b.state(SESSION)
    a.set(SESSION, "again", MemoryItem("again", "a"))  # quiet again only after a read found so
    assert (await a.sync_session_memory(SESSION)).success
    a.set(SESSION, "again", MemoryItem("again", "a, later"))
    assert (await a.sync_session_memory(SESSION)).success
    assert isinstance(seen[-1], int)
    assert seen[-1] > 0
    await a.close()
    await b.close()


async def _quiet_manager(tmp_path: Path) -> DistributedMemoryManager:
    """A replica that has synced twice: the session is quiet, its next sync commits first."""
    manager = DistributedMemoryManager(f"sqlite:///{tmp_path / 'm.db'}", replica_id="a")
    manager.set(SESSION, "first", MemoryItem("first", "x"))
    for _ in range(2):
        assert (await manager.sync_session_memory(SESSION)).success
    return manager


async def test_tasks_about_to_sync_share_one_commit_instead(tmp_path: Path) -> None:
    manager = await _quiet_manager(tmp_path)
    seen: list[object] = []
    _spy_now(manager.store, seen)  # type: ignore[arg-type]

    async def writer(index: int) -> int:
        manager.set(SESSION, f"t{index}", MemoryItem(f"t{index}", "x"))
        return (await manager.sync_session_memory(SESSION)).version

    assert await asyncio.gather(*(writer(i) for i in range(3))) == [2, 2, 2]
    assert seen == [2]  # the others were ready to join: one commit carried the three keys
    await manager.close()


async def test_a_failing_store_keeps_the_key_pending(tmp_path: Path) -> None:
    from memcore.errors import BackendError

    manager = await _quiet_manager(tmp_path)
    store: Any = manager.store
    now = store.commit_now

    def failing(*args: Any) -> Any:
        raise BackendError("disk I/O error")

    store.commit_now = failing
    manager.set(SESSION, "k", MemoryItem("k", "v"))
    with pytest.raises(BackendError):
        await manager.sync_session_memory(SESSION)
    assert manager.pending(SESSION) == frozenset({"k"})
    store.commit_now = now
    assert (await manager.sync_session_memory(SESSION)).success
    assert manager.pending(SESSION) == frozenset()
    assert (await store.read_snapshot(SESSION)).records.keys() == {"first", "k"}
    await manager.close()


async def test_a_sync_that_meets_the_checkpoint_restart_waits_for_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint's second step (``RESTART``) holds SQLite's write lock: a sync that finds
    the lock taken then goes on the moment the step ends, not after a polling pause (here 60 s:
    a sync that polled would not finish in time)."""
    from concurrent.futures import Future

    import memcore.stores.sqlite_locked as sqlite_locked

    manager = await _quiet_manager(tmp_path)
    store: Any = manager.store
    monkeypatch.setattr(sqlite_locked, "_LOCK_PAUSE", 60.0)
    restart: Future[None] = Future()
    store._restarting = restart  # the worker's checkpoint, in its second step
    holder = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # (the lock that step holds)
    manager.set(SESSION, "k", MemoryItem("k", "v"))
    sync = asyncio.create_task(manager.sync_session_memory(SESSION))
    for _ in range(20):
        await asyncio.sleep(0.005)
    assert not sync.done()  # the lock is still held: it waits
    holder.execute("ROLLBACK")
    holder.close()
    store._restarting = None
    restart.set_result(None)  # as the worker does when the step ends
    result = await asyncio.wait_for(sync, 10)
    assert result.success
    assert manager.pending(SESSION) == frozenset()
    assert await store.version(SESSION) == 2
    assert await store._restart_over(1.0) is False  # no step runs now: nothing to wait for
    await manager.close()


async def test_a_lone_writer_that_awaits_between_syncs_commits_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer queue's look at its turn, ready after any await that follows a sync, is no
    other task about to sync: a lone writer's syncs do not yield for it (the group path)."""
    manager = await _quiet_manager(tmp_path)
    led = 0
    lead = manager._lead

    async def counting_lead(*args: Any) -> Any:
        nonlocal led
        led += 1
        return await lead(*args)

    monkeypatch.setattr(manager, "_lead", counting_lead)
    for n in range(20):
        manager.set(SESSION, f"k{n}", MemoryItem(f"k{n}", "x"))
        assert (await manager.sync_session_memory(SESSION)).success
        await asyncio.sleep(0)  # the agent does something else in between
    assert led == 0
    await manager.close()
