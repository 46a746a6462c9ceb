"""DistributedMemoryManager's life: auto-sync, closing, stores opened from URLs, a real Redis
outage, a resync after recovery dropped keys, leaving ``async with`` when a store raises an
error of its own, and auto-sync outliving a store's stray ``BaseException``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memcore.errors import BackendError, ValidationError
from memcore.stores import open_store
from memcore.stores.memory import MemoryStore
from memcore.sync import DistributedMemoryManager
from tests.sync_support import (
    SESSION,
    Backend,
    Wrapped,
    _require,
    contents,
    item,
    keep_only,
    stored_state,
)

# --- auto-sync and lifecycle -----------------------------------------------------------------


async def wait_for(predicate: Callable[[], Any], seconds: float = 10.0) -> None:
    """Poll until ``predicate()`` is true (a deadline for hangs, not a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        outcome = predicate()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


async def test_auto_sync_retries_failures_and_keeps_changes_pending(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    store = backend.wrapped()
    store.fail = BackendError("down for maintenance")
    manager = backend.manager("auto", store=store, sync_interval=0.02)
    observer = backend.manager("observer")
    caplog.set_level(logging.WARNING, logger="memcore.sync")
    async with manager:
        assert manager.auto_sync_running
        manager.set(SESSION, "k", item("k", "eventually stored"))
        await wait_for(lambda: "down for maintenance" in caplog.text)
        assert manager.pending(SESSION) == {"k"}
        store.fail = None
        await wait_for(lambda: not manager.pending(SESSION))

        async def observed() -> bool:
            await observer.sync_session_memory(SESSION)
            return contents(observer) == {"k": "eventually stored"}

        await wait_for(observed)
        # remote changes are pulled by the background task too
        observer.set(SESSION, "back", item("back", "from observer"))
        await observer.sync_session_memory(SESSION)
        await wait_for(lambda: manager.get(SESSION, "back") is not None)
    assert not manager.auto_sync_running
    assert store.closed == 0  # a store handed in is the caller's to close
    with pytest.raises(ValidationError, match="closed"):  # a write now could never sync
        manager.set(SESSION, "after", item("after", "not synced"))
    commits = store.commits
    await asyncio.sleep(0.1)  # several intervals: nothing runs any more
    assert store.commits == commits
    assert manager.pending(SESSION) == frozenset()


async def test_start_and_stop_auto_sync() -> None:
    store = Wrapped(MemoryStore())
    manager = DistributedMemoryManager(storage_backend=store, sync_interval=0.01)
    manager.set(SESSION, "k", item("k", "v"))
    manager.start_auto_sync()
    manager.start_auto_sync()  # idempotent
    await wait_for(lambda: store.commits == 1)
    manager.stop_auto_sync()
    assert not manager.auto_sync_running
    manager.set(SESSION, "j", item("j", "w"))
    await asyncio.sleep(0.05)
    assert store.commits == 1
    manager.start_auto_sync()
    await wait_for(lambda: store.commits == 2)
    await manager.close()
    assert not manager.auto_sync_running
    with pytest.raises(ValidationError, match="closed"):
        manager.start_auto_sync()


async def test_close_releases_only_a_store_opened_from_a_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import memcore.stores

    opened: list[Wrapped] = []

    def fake_open(url: str | None) -> Wrapped:
        opened.append(Wrapped(MemoryStore(url or "memory://")))
        return opened[-1]

    monkeypatch.setattr(memcore.stores, "open_store", fake_open)  # what resolve_store opens with
    owned = DistributedMemoryManager(storage_backend="memory://")
    await owned.close()
    await owned.close()  # twice is harmless
    assert [s.closed for s in opened] == [1]
    lent = Wrapped(MemoryStore())
    borrower = DistributedMemoryManager(storage_backend=lent)
    await borrower.close()
    assert lent.closed == 0


async def test_manager_opens_stores_from_urls(tmp_path: Path) -> None:
    _require("memcore.stores.sqlite")
    url = f"sqlite:///{tmp_path / 'owned.db'}"
    writer = DistributedMemoryManager(storage_backend=url, replica_id="w")
    writer.set(SESSION, "k", item("k", "persisted"))
    await writer.sync_session_memory(SESSION)
    await writer.close()
    reader = DistributedMemoryManager(storage_backend=url, replica_id="r")
    try:
        await reader.sync_session_memory(SESSION)
        assert contents(reader) == {"k": "persisted"}
    finally:
        await reader.close()


async def test_a_real_redis_outage_keeps_changes_pending_until_it_is_back(
    redis_server: Any, redis_url: str
) -> None:
    _require("memcore.stores.redis")
    store = open_store(redis_url)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="through-outage")
    try:
        manager.set(SESSION, "before", item("before", "stored before the outage"))
        await manager.sync_session_memory(SESSION)
        redis_server.stop()
        manager.set(SESSION, "during", item("during", "written while redis was down"))
        with pytest.raises(BackendError):
            await manager.sync_session_memory(SESSION)
        assert manager.pending(SESSION) == {"during"}
        redis_server.start()
        result = await manager.sync_session_memory(SESSION)
        assert result.success
        assert manager.pending(SESSION) == frozenset()
        live, digest = await stored_state(store)
        assert {k: v.content for k, v in live.items()} == contents(manager)
        assert set(live) == {"before", "during"}
        assert manager.metadata(SESSION).checksum == digest
    finally:
        await manager.close()
        await store.close()


async def test_resync_after_a_recovery_drops_keys(backend: Backend) -> None:
    a, b = backend.manager("a"), backend.manager("b")
    for key in ("keep", "drop"):
        a.set(SESSION, key, item(key, key))
    await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    store = backend.open()
    version = await store.version(SESSION)
    assert await keep_only(store, "keep") == version + 1
    b.set(SESSION, "mine", item("mine", "pending on b"))
    b.set(SESSION, "keep", item("keep", "edited on b"))
    # the refetch brings "keep" back unchanged: not a conflict, even when remote would win
    result = await b.resync_session(SESSION, strategy="remote-wins")
    assert result.success
    assert result.conflicts == []
    assert b.pending(SESSION) == frozenset()
    assert contents(b) == {"keep": "edited on b", "mine": "pending on b"}
    _live, digest = await stored_state(store)
    assert b.metadata(SESSION).checksum == digest
    with pytest.raises(ValidationError):
        await b.resync_session(SESSION, strategy="nope")


# --- a store raising errors of its own ------------------------------------------------------


class Throwing(Wrapped):
    """A real store that raises ``throw`` (any exception, not only a ``BackendError``) from its
    next ``times`` reads and commits, and holds them while ``release`` is set and not yet set."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.throw: BaseException | None = None
        self.times = 0
        self.release: asyncio.Event | None = None
        self.held = asyncio.Event()

    async def _gate(self) -> None:
        if self.release is not None and not self.release.is_set():
            self.held.set()
            await self.release.wait()
        if self.throw is not None and self.times:
            self.times -= 1
            raise self.throw
        await super()._gate()


async def test_a_flush_failing_with_a_stores_own_error_does_not_mask_the_blocks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store's OSError used to replace the block's own error (README: "logged and not
    masked")."""
    store = Throwing(MemoryStore())
    manager = DistributedMemoryManager(store, replica_id="a")
    caplog.set_level(logging.ERROR, logger="memcore.sync")

    async def block() -> None:
        async with manager:
            manager.set(SESSION, "k", item("k", "x"))
            store.throw, store.times = OSError("disk gone"), 1000
            raise ZeroDivisionError("the agent's own failure")

    with pytest.raises(ZeroDivisionError, match="the agent's own failure"):
        await block()
    assert "not synced on leaving the block" in caplog.text
    assert "disk gone" in caplog.text
    assert manager.pending(SESSION) == {"k"}  # kept, to read or save elsewhere
    with pytest.raises(ValidationError, match="closed"):
        manager.set(SESSION, "j", item("j", "y"))


async def test_a_normal_exit_tries_every_session_and_raises_the_stores_own_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store's own error is raised as a sync raises it (not wrapped), once every session
    was tried (the first one's used to stop the flush: the second was never tried)."""
    store = Throwing(MemoryStore())
    manager = DistributedMemoryManager(store, replica_id="a")
    caplog.set_level(logging.ERROR, logger="memcore.sync")

    async def block() -> None:
        async with manager:
            manager.set("one", "k", item("k", "x"))
            manager.set("two", "k", item("k", "y"))
            store.throw, store.times = OSError("disk gone"), 1000

    with pytest.raises(OSError, match="disk gone"):
        await block()
    assert "'one': OSError('disk gone')" in caplog.text
    assert "'two': OSError('disk gone')" in caplog.text
    assert manager.pending("one") == manager.pending("two") == {"k"}
    with pytest.raises(ValidationError, match="closed"):
        await manager.sync_session_memory("one")


class StoreBug(BaseException):
    """What a buggy store might raise: no Exception, and no cancellation either."""


@pytest.mark.parametrize(
    "stray",
    [
        pytest.param(
            asyncio.CancelledError("raised by the store, no task was cancelled"),
            marks=pytest.mark.skipif(
                sys.version_info < (3, 11), reason="3.10 cannot tell it from a cancellation"
            ),
            id="CancelledError",
        ),
        pytest.param(StoreBug("a store's own BaseException"), id="BaseException"),
    ],
)
async def test_auto_sync_outlives_a_stray_base_exception_from_the_store(
    stray: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    """It ended the task without a word: the change stayed pending for good."""
    store = Throwing(MemoryStore())
    manager = DistributedMemoryManager(store, replica_id="a", sync_interval=0.01)
    caplog.set_level(logging.ERROR, logger="memcore.sync")
    store.throw, store.times = stray, 2
    manager.set(SESSION, "k", item("k", "stored at a later tick"))
    manager.start_auto_sync()
    try:
        await wait_for(lambda: not manager.pending(SESSION))
        assert manager.auto_sync_running
        assert type(stray).__name__ in caplog.text
        assert "changes stay pending" in caplog.text
    finally:
        await manager.close()
    assert store.commits == 1


async def test_sync_all_lets_a_real_cancellation_through() -> None:
    store = Throwing(MemoryStore())
    store.release = asyncio.Event()
    manager = DistributedMemoryManager(store, replica_id="a")
    manager.set(SESSION, "k", item("k", "pending"))
    task = asyncio.create_task(manager.sync_all())
    await store.held.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert manager.pending(SESSION) == {"k"}
    store.release.set()
    await manager.close()


# --- one manager, several event loops ---------------------------------------------------------


class _SlowCommits(MemoryStore):
    """A memory store whose commits take a while (the sync is under way meanwhile)."""

    async def commit(self, *args: Any) -> Any:
        await asyncio.sleep(0.3)
        return await super().commit(*args)

    async def commit_if_unchanged(self, *args: Any) -> Any:
        await asyncio.sleep(0.3)
        return await super().commit_if_unchanged(*args)


def test_a_session_syncing_on_one_loop_is_refused_on_another_and_taken_over_after() -> None:
    """Two threads, each with its own event loop, syncing one manager's session at once: the
    second is a ``ValidationError`` that says why (it was asyncio's "attached to a different
    loop" in one thread and a wait for good in the other); once the first is over, another
    loop syncs the session as usual."""
    import threading

    manager = DistributedMemoryManager(_SlowCommits(), replica_id="r")
    manager.set(SESSION, "a", item("a", "one"))
    asyncio.run(manager.sync_session_memory(SESSION))
    outcome: dict[str, object] = {}
    started = threading.Event()

    def first() -> None:
        async def sync() -> None:
            manager.set(SESSION, "b", item("b", "two"))
            task = asyncio.ensure_future(manager.sync_session_memory(SESSION))
            await asyncio.sleep(0.05)
            started.set()
            outcome["first"] = (await task).success

        asyncio.run(sync())

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(30)
    with pytest.raises(ValidationError, match="syncing on another event loop"):
        asyncio.run(manager.sync_session_memory(SESSION))
    thread.join(30)
    assert outcome == {"first": True}
    manager.set(SESSION, "c", item("c", "three"))
    assert asyncio.run(manager.sync_session_memory(SESSION)).success
    assert set(manager.state(SESSION)) == {"a", "b", "c"}
    asyncio.run(manager.close())
