"""An SQLite file deleted, or replaced by an older copy, while replicas still have it open.

SQLite goes on using the file it opened: without a check, a replica kept committing into a
deleted file (or the one an older copy replaced), its syncs succeeded, and no other replica nor
any later process ever saw those writes. The store now notices (the path names another file, or
none) and opens the path again with a new incarnation id, so every replica heals the store from
what it holds (``memcore.store_health``). Run under the compiled kernels and, with
``MEMCORE_NO_EXTENSIONS=1``, the pure ones.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from memcore.errors import NotFoundError
from memcore.recovery import verify_session
from memcore.stores import open_store
from memcore.stores.base import Entry, encode_entry
from memcore.stores.sqlite import SQLiteStore
from memcore.sync import DistributedMemoryManager
from tests.test_hardening_sync import SESSION, item, sync_all, write

# what an SQLite store leaves beside its file (the WAL, its index, the writer queue)
SIDE_FILES = ("-wal", "-shm", "-writers", "-waiters")


def older_copy(path: Path, copy: Path) -> None:
    """A consistent copy of the file as it is now (the WAL's commits included), as a backup
    tool makes one: same incarnation id."""
    source, target = sqlite3.connect(path), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def tamper(path: Path, how: str, copy: Path) -> None:
    """Delete the file and its side files; for ``replaced``, put the older copy in its place."""
    for suffix in ("", *SIDE_FILES):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if how == "replaced":
        os.rename(copy, path)


@pytest.mark.parametrize("how", ["deleted", "replaced"])
@pytest.mark.parametrize("lent", [False, True], ids=["own-stores", "lent-store"])
async def test_every_acknowledged_write_survives_a_file_swapped_under_open_replicas(
    tmp_path: Path, how: str, lent: bool
) -> None:
    path, copy = tmp_path / "memory.db", tmp_path / "older.db"
    url = f"sqlite:///{path}"
    shared = open_store(url) if lent else None
    a = DistributedMemoryManager(shared or url, replica_id="a")
    b = DistributedMemoryManager(shared or url, replica_id="b")
    await write(a, "a1")
    await write(b, "b1")
    await sync_all(a, b)
    older_copy(path, copy)  # holds a1, b1
    await write(a, "a2")
    await write(b, "b2")
    await sync_all(a, b)
    tamper(path, how, copy)
    await write(a, "a3")  # acknowledged: each sync said success
    await write(b, "b3")
    await sync_all(a, b)
    expected = {f"{who}{n}": f"{who}{n} by {who}" for who in "ab" for n in (1, 2, 3)}
    for replica in (a, b):
        state = {key: value.content for key, value in replica.state(SESSION).items()}
        assert state == expected, replica.replica_id
        assert replica.sync_diagnostics(SESSION).went_back >= 1, replica.replica_id
        assert "lost its data" in str(replica.sync_diagnostics(SESSION).last_went_back)
    for manager in (a, b):
        await manager.close()
    if shared is not None:
        await shared.close()
    fresh = DistributedMemoryManager(url, replica_id="fresh")  # a later process, as it were
    assert (await fresh.sync_session_memory(SESSION)).success
    assert {key: v.content for key, v in fresh.state(SESSION).items()} == expected
    await fresh.close()
    health = await verify_session(SESSION, url)
    assert health.ok, health.describe()


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_the_swapped_file_gets_a_new_incarnation_id(tmp_path: Path, how: str) -> None:
    """Even an older copy with the same id: whatever replaced the file is not what they merged."""
    path, copy = tmp_path / "memory.db", tmp_path / "older.db"
    store = SQLiteStore(f"sqlite:///{path}")
    record = encode_entry(Entry(item("k"), 1, "a"))
    assert await store.commit(SESSION, 0, {"k": record}, 1) == 1
    before = await store.incarnation(SESSION)
    older_copy(path, copy)
    tamper(path, how, copy)
    after = await store.incarnation(SESSION)
    assert after.store not in ("", before.store)
    expected_version = 1 if how == "replaced" else 0
    assert await store.version(SESSION) == expected_version  # what the file at the path holds
    assert await store.commit(SESSION, expected_version, {"k": record}, 1) == expected_version + 1
    assert (await store.incarnation(SESSION)) == after  # noticed once, not at every call
    await store.close()


async def test_a_store_that_may_not_create_its_file_says_it_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    record = encode_entry(Entry(item("k"), 1, "a"))
    maker = SQLiteStore(f"sqlite:///{path}")
    await maker.commit(SESSION, 0, {"k": record}, 1)
    await maker.close()
    store = SQLiteStore(f"sqlite:///{path}", create=False)
    assert await store.version(SESSION) == 1
    tamper(path, "deleted", path)
    with pytest.raises(NotFoundError):
        await store.commit(SESSION, 1, {"k": record}, 1)
    assert not path.exists()
    await store.close()
