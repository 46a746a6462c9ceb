"""A manager's life: leaving ``async with`` keeps the block's writes; a closed manager refuses
to write or sync (such a write could never reach the store) and still answers reads.

Real stores only: SQLite files in ``tmp_path``; the failing store is a real store wrapped to fail
on demand (``tests.sync_support.Wrapped``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from memcore.errors import BackendError, ValidationError
from memcore.model import MemoryItem
from memcore.stores.sqlite import SQLiteStore
from memcore.sync import DistributedMemoryManager
from tests.sync_support import SESSION, Wrapped


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


async def _stored(url: str) -> dict[str, str]:
    reader = DistributedMemoryManager(url, replica_id="reader")
    try:
        await reader.sync_session_memory(SESSION)
        return {key: item.content for key, item in reader.state(SESSION).items()}
    finally:
        await reader.close()


async def test_leaving_the_block_syncs_what_is_pending(tmp_path: Path) -> None:
    url = _url(tmp_path)
    async with DistributedMemoryManager(url, replica_id="a") as manager:
        manager.set(SESSION, "k", MemoryItem("k", "kept on exit"))
        manager.set("other", "j", MemoryItem("j", "and here"))
    assert manager.pending(SESSION) == frozenset()
    assert await _stored(url) == {"k": "kept on exit"}


async def test_a_closed_manager_refuses_writes_and_syncs_but_reads(tmp_path: Path) -> None:
    manager = DistributedMemoryManager(_url(tmp_path), replica_id="a")
    manager.set(SESSION, "k", MemoryItem("k", "synced"))
    await manager.sync_session_memory(SESSION)
    await manager.close()
    with pytest.raises(ValidationError, match="closed"):
        manager.set(SESSION, "k2", MemoryItem("k2", "lost"))
    with pytest.raises(ValidationError, match="closed"):
        manager.delete(SESSION, "k")
    with pytest.raises(ValidationError, match="closed"):
        await manager.sync_session_memory(SESSION)
    with pytest.raises(ValidationError, match="closed"):
        await manager.resync_session(SESSION)
    assert manager.get(SESSION, "k").content == "synced"
    assert manager.pending(SESSION) == frozenset()


async def _leave_block(manager: DistributedMemoryManager, store: Wrapped, error: bool) -> None:
    """Write in an ``async with`` block whose flush will fail; ``error``: the block raises."""
    async with manager:
        manager.set(SESSION, "k", MemoryItem("k", "x"))
        store.fail = BackendError("store unreachable")
        if error:
            raise RuntimeError("the agent's own failure")


async def test_a_failed_flush_raises_after_closing(tmp_path: Path) -> None:
    store = Wrapped(SQLiteStore(_url(tmp_path)))
    manager = DistributedMemoryManager(store, replica_id="a")
    with pytest.raises(BackendError, match=r"not synced on leaving the block.*unreachable"):
        await _leave_block(manager, store, error=False)
    assert manager.pending(SESSION) == {"k"}  # not dropped: still there to read or re-save
    with pytest.raises(ValidationError, match="closed"):
        manager.set(SESSION, "j", MemoryItem("j", "y"))


async def test_a_failed_flush_does_not_mask_the_blocks_own_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Wrapped(SQLiteStore(_url(tmp_path)))
    manager = DistributedMemoryManager(store, replica_id="a")
    caplog.set_level(logging.ERROR, logger="memcore.sync")
    with pytest.raises(RuntimeError, match="the agent's own failure"):
        await _leave_block(manager, store, error=True)
    assert "not synced on leaving the block" in caplog.text
