"""A session's version lowered below its journal's, or its meta row lost, with records intact.

``UPDATE meta SET version = 1`` on a session at version 3 made every later commit fail with a
generic ``UNIQUE constraint failed: commits.id`` forever, while recovery said "intact" and
verification "healthy"; a deleted meta row, made again by the next commit, left journal rows
stray (versions 1, 2, 1, 2). Now a commit says which session is damaged and to run recovery,
verification reports both, and recovery repairs both without losing anything stored.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memcore.errors import CorruptedMemoryError
from memcore.recovery import arecover_corrupted_memory, verify_session
from memcore.stores import open_store
from memcore.stores.base import Store, decode_entry
from memcore.sync import DistributedMemoryManager
from tests.conftest import RedisServer
from tests.test_hardening_sync import SESSION, item, write


def sql(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def lower_version(store: Store, path: Path | None) -> None:
    """The tampering: the session's meta version set to 1, its items and journal untouched."""
    if path is not None:
        sql(path, f"UPDATE meta SET version = 1 WHERE session = '{SESSION}'")
    else:
        with store.sync_client() as client:  # type: ignore[attr-defined]
            client.hset(f"memcore:{{{SESSION}}}:meta", "version", 1)


@pytest.fixture(params=["sqlite", "redis"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path | None]:
    if request.param == "sqlite":
        path = tmp_path / "memory.db"
        return f"sqlite:///{path}", path
    pytest.importorskip("redis")
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.clean_url(), None


async def test_a_version_below_the_journal_is_reported_and_repaired(
    target: tuple[str, Path | None],
) -> None:
    url, path = target
    a = DistributedMemoryManager(url, replica_id="a")
    await write(a, "k0", "k1", "k2")  # version 3
    await a.close()
    store = open_store(url)
    lower_version(store, path)

    health = await verify_session(SESSION, store)  # not deep: the cheap check sees it
    assert not health.ok
    assert health.state_ok  # records and digest are intact
    assert (health.version, health.highest_stored_version) == (1, 3)
    assert any("below the highest version" in problem for problem in health.problems)

    b = DistributedMemoryManager(store, replica_id="b")
    assert (await b.sync_session_memory(SESSION)).success
    b.set(SESSION, "new", item("new", "new by b"))
    for _ in range(2):  # the same clear error each time, the write kept pending
        with pytest.raises(CorruptedMemoryError, match=rf"session '{SESSION}'.*recover"):
            await b.sync_session_memory(SESSION)
        assert b.pending(SESSION) == frozenset({"new"})

    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert "raised to 3" in result.message
    after = await verify_session(SESSION, store, deep=True)
    assert after.ok, after.describe()
    assert after.version == 3

    assert (await b.sync_session_memory(SESSION)).success  # writable again
    assert b.pending(SESSION) == frozenset()
    fresh = DistributedMemoryManager(store, replica_id="fresh")
    assert (await fresh.sync_session_memory(SESSION)).success
    assert set(fresh.state(SESSION)) == {"k0", "k1", "k2", "new"}
    assert (await verify_session(SESSION, store, deep=True)).ok
    for manager in (b, fresh):
        await manager.close()
    await store.close()


async def test_journal_rows_left_stray_by_a_lost_meta_row_are_put_back(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    url = f"sqlite:///{path}"
    old = DistributedMemoryManager(url, replica_id="old")
    await write(old, "k0", "k1")  # versions 1, 2 under the session's first number
    sql(path, f"DELETE FROM meta WHERE session = '{SESSION}'")
    new = DistributedMemoryManager(url, replica_id="new")
    assert (await new.sync_session_memory(SESSION)).success
    await write(new, "n0")  # the meta row made again: version 1 under another number
    await write(old, "o0")  # old saw the session go back: heals it, version 2
    for manager in (new, old):
        assert (await manager.sync_session_memory(SESSION)).success
    expected = {"k0", "k1", "n0", "o0"}
    assert set(old.state(SESSION)) == set(new.state(SESSION)) == expected

    health = await verify_session(SESSION, url)
    assert not health.ok
    assert health.stray_journal == 2

    result = await arecover_corrupted_memory(SESSION, url)
    assert result.success, result.message
    assert "put back" in result.message
    conn = sqlite3.connect(path)
    versions = [v for (v,) in conn.execute("SELECT version FROM commits ORDER BY id")]
    conn.close()
    assert versions == [1, 2, 3, 4]

    store = open_store(url)
    journal = await store.read_journal(SESSION, 0)
    rebuilt = {entry.key: decode_entry(entry.record) for entry in journal}
    snapshot = await store.read_snapshot(SESSION)
    assert set(rebuilt) == set(snapshot.records) == expected  # the journal rebuilds the state
    assert (await verify_session(SESSION, store, deep=True)).ok
    await store.close()
    for manager in (old, new):  # replicas go on from the moved-up version
        await write(manager, f"after-{manager.replica_id}")
        await manager.close()
    fresh = DistributedMemoryManager(url, replica_id="fresh")
    assert (await fresh.sync_session_memory(SESSION)).success
    assert set(fresh.state(SESSION)) == expected | {"after-old", "after-new"}
    await fresh.close()


async def test_a_redis_session_whose_meta_was_deleted_is_recovered_from_its_two_witnesses(
    redis_server: RedisServer,
) -> None:
    """The meta hash deleted outright (its version and digest gone, items and journal kept):
    commits are refused until recovery, which takes the records the whole journal agrees with
    and writes their digest again, so the session is writable and nothing is lost."""
    pytest.importorskip("redis")
    url = redis_server.clean_url()
    a = DistributedMemoryManager(url, replica_id="a")
    await write(a, "k0", "k1", "k2")
    store = open_store(url)
    with store.sync_client() as client:  # type: ignore[attr-defined]
        client.delete(f"memcore:{{{SESSION}}}:meta")
    a.set(SESSION, "new", item("new", "new by a"))
    with pytest.raises(CorruptedMemoryError, match="recover"):
        await a.sync_session_memory(SESSION)
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert "whole journal agrees" in result.message
    assert (await a.sync_session_memory(SESSION)).success
    fresh = DistributedMemoryManager(store, replica_id="fresh")
    assert (await fresh.sync_session_memory(SESSION)).success
    assert set(fresh.state(SESSION)) == {"k0", "k1", "k2", "new"}
    assert (await verify_session(SESSION, store, deep=True)).ok
    for manager in (a, fresh):
        await manager.close()
    await store.close()
