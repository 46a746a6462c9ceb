"""An SQLite file memcore did not make is refused before anything is written into it: the check
of whose file it is comes before the journal mode, page size and schema are set. It switched a
file holding a table named ``items`` or ``meta`` to WAL (in its header, for good) and only then
refused it, through a sync, recovery and ``verify_store``, whose docstring says it never writes.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from memcore import DistributedMemoryManager, MemoryItem
from memcore.errors import BackendError, MemcoreError
from memcore.recovery import recover_corrupted_memory, verify_session, verify_store
from memcore.stores import open_store
from memcore.stores.sqlite_schema import _APPLICATION_ID, _SCHEMA, _SCHEMA_VERSION


def _foreign(path: Path, *statements: str, wal: bool = False) -> None:
    """Another program's file: its statements, in its journal mode (rollback unless ``wal``)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        if wal:
            conn.execute("PRAGMA journal_mode = WAL")
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


FOREIGN = {
    "a table named items": ("CREATE TABLE items (a, b)", "INSERT INTO items VALUES (1, 'x')"),
    "a table named meta": ("CREATE TABLE meta (k TEXT PRIMARY KEY, v)",),
    "memcore's table names": ("CREATE TABLE meta (x)", "CREATE TABLE items (y)"),
    "only a view": ("CREATE VIEW v AS SELECT 1 AS one",),
    "another application id": ("PRAGMA application_id = 42", "CREATE TABLE t (x)"),
}


async def _sync(url: str) -> None:
    manager = DistributedMemoryManager(url, replica_id="r")
    try:
        manager.set("s", "k", MemoryItem(id="k", content="a fact"))
        await manager.sync_session_memory("s")
    finally:
        await manager.close()


async def _recover(url: str) -> None:
    await asyncio.to_thread(recover_corrupted_memory, "s", url)


async def _list(url: str) -> None:
    store = open_store(url)
    try:
        await store.list_sessions()
    finally:
        await store.close()


ENTRY_POINTS: dict[str, Callable[[str], Awaitable[object]]] = {
    "a manager's sync": _sync,
    "recover_corrupted_memory": _recover,
    "verify_store": verify_store,
    "verify_session": lambda url: verify_session("s", url),
    "a store's first read": _list,
}


@pytest.mark.parametrize("wal", [False, True], ids=["rollback journal", "WAL"])
@pytest.mark.parametrize("made_of", sorted(FOREIGN))
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
async def test_a_foreign_file_is_refused_and_left_byte_for_byte(
    tmp_path: Path, entry: str, made_of: str, wal: bool
) -> None:
    path = tmp_path / "other.db"
    _foreign(path, *FOREIGN[made_of], wal=wal)
    before = path.read_bytes()
    with pytest.raises(BackendError, match=r"not made by memcore|not a memcore store"):
        await ENTRY_POINTS[entry](f"sqlite:///{path}?timeout=5")
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["other.db"]  # (no -wal, -shm nor -journal left)


def _memcore_tables(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA:
        conn.execute(statement)


async def test_memcore_s_tables_without_its_id_wait_for_the_lock_their_maker_holds(
    tmp_path: Path,
) -> None:
    """A file with memcore's tables but not its id, whose maker holds the write lock: no verdict
    (locked) while it does, memcore's once the id is in, and nothing written meanwhile."""
    path = tmp_path / "memory.db"
    maker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    maker.execute("PRAGMA journal_mode = WAL")
    maker.execute("BEGIN IMMEDIATE")
    _memcore_tables(maker)
    maker.execute("COMMIT")
    maker.execute("BEGIN IMMEDIATE")  # (the id still to come)
    try:
        before = path.read_bytes()
        with pytest.raises(BackendError, match="database is locked"):
            await _list(f"sqlite:///{path}?timeout=0.2")
        assert path.read_bytes() == before

        def finish() -> None:
            maker.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
            maker.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            maker.execute("COMMIT")

        later = threading.Timer(0.3, finish)
        later.start()
        try:
            await _sync(f"sqlite:///{path}?timeout=30")
        finally:
            later.join()
    finally:
        if maker.in_transaction:
            maker.execute("ROLLBACK")
        maker.close()
    report = await verify_store(f"sqlite:///{path}")
    assert [(s.session_id, s.ok, s.live_items) for s in report.sessions] == [("s", True, 1)]


async def test_memcore_s_tables_left_without_its_id_are_refused_untouched(
    tmp_path: Path,
) -> None:
    """Once no maker holds the lock, memcore's tables without its id are no file it made."""
    path = tmp_path / "memory.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _memcore_tables(conn)
    finally:
        conn.close()
    before = path.read_bytes()
    with pytest.raises(BackendError, match="not made by memcore"):
        await _sync(f"sqlite:///{path}")
    assert path.read_bytes() == before


@pytest.mark.parametrize("existing", [False, True], ids=["no file", "an empty file"])
async def test_a_new_store_is_made_in_wal_mode_as_before(tmp_path: Path, existing: bool) -> None:
    path = tmp_path / "memory.db"
    if existing:
        path.touch()
    await _sync(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == _APPLICATION_ID
    finally:
        conn.close()
    assert (await verify_store(f"sqlite:///{path}")).ok


async def test_verify_leaves_a_store_byte_for_byte_and_nothing_beside_it(tmp_path: Path) -> None:
    """``verify_store`` and ``verify_session`` open a URL read-only: a missing file is not made,
    and a store is left as it was, with no ``-wal``/``-shm`` file beside it."""
    path = tmp_path / "memory.db"
    await _sync(f"sqlite:///{path}")
    before, beside = path.read_bytes(), sorted(os.listdir(tmp_path))
    assert "memory.db-wal" not in beside  # (removed as the sync's store closed)
    assert (await verify_store(f"sqlite:///{path}")).ok
    assert (await verify_session("s", f"sqlite:///{path}", deep=True)).ok
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == beside
    missing = tmp_path / "missing" / "memory.db"
    with pytest.raises(MemcoreError, match="no memcore store"):
        await verify_store(f"sqlite:///{missing}")
    with pytest.raises(MemcoreError, match="no memcore store"):
        await verify_session("s", f"sqlite:///{missing}")
    assert not missing.parent.exists()
