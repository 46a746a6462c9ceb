"""A backup with a cell no read can take (SQLite: its bytes stored as text, a version or time
that is no number; Redis: a record that is no msgpack: a hand edit). Recovery raised
``CorruptedMemoryError`` at it and repaired nothing, though an older backup and the journal
could; a deep verification raised as well. Such a backup is now passed over with a note, as one
whose bytes fail their checks is."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
from pathlib import Path

import pytest

from memcore import DistributedMemoryManager, MemoryItem, create_backup
from memcore.recovery import recover_corrupted_memory, verify_session
from memcore.stores import open_store
from memcore.stores.redis import RedisStore, every_key

T = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def _backed_up(url: str) -> None:
    """Session ``s``: three items and backup 1 at version 1, then ``k0`` rewritten and
    backup 2 at version 2."""

    async def build() -> None:
        manager = DistributedMemoryManager(storage_backend=url, replica_id="A")
        for n in range(3):
            manager.set("s", f"k{n}", MemoryItem(f"k{n}", f"c{n}", created_at=T))
        await manager.sync_session_memory("s")
        await create_backup("s", store=url)
        manager.set("s", "k0", MemoryItem("k0", "v2", created_at=T))
        await manager.sync_session_memory("s")
        await create_backup("s", store=url)
        await manager.close()

    asyncio.run(build())


def _flip(record: bytes) -> bytes:
    data = bytearray(record)
    data[-12] ^= 0x40
    return bytes(data)


def _contents(url: str) -> dict[str, str]:
    async def read() -> dict[str, str]:
        manager = DistributedMemoryManager(storage_backend=url, replica_id="reader")
        await manager.sync_session_memory("s")
        state = manager.state("s")
        await manager.close()
        return {key: str(item.content) for key, item in state.items()}

    return asyncio.run(read())


@pytest.mark.parametrize(
    ("edit", "bad_id", "named", "said"),
    [
        ("blob = 'x'", 2, "backup 2", "backup 2 of session 's' is not a blob (found str)"),
        ("version = 'two'", 2, "backup 2", "its version is not an integer (found str)"),
        ("version = 2.5", 2, "backup 2", "its version is not an integer (found float)"),
        ("created_at = 'noon'", 2, "backup 2", "its creation time is not a number"),
        ("backup_id = 'two'", 0, "a backup", "its id is not an integer (found str)"),
    ],
)
def test_a_backup_with_a_cell_no_read_can_take_is_passed_over(
    tmp_path: Path, edit: str, bad_id: int, named: str, said: str
) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite:///{path}"
    _backed_up(url)
    conn = sqlite3.connect(path)
    conn.create_function("flip", 1, _flip)
    with conn:
        conn.execute(f"UPDATE backups SET {edit} WHERE backup_id = 2")
        conn.execute("UPDATE items SET record = flip(record) WHERE key = 'k1'")
    conn.close()
    health = asyncio.run(verify_session("s", url, deep=True))
    assert health.bad_keys == ("k1",)
    assert health.bad_backups == (bad_id,)
    assert f"{named}: {said}" in health.problems
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert "restored from backup 1 (v1) + 1 journal updates" in result.message
    assert f"(skipped: {named} unusable: {said})" in result.message
    assert _contents(url) == {"k0": "v2", "k1": "c1", "k2": "c2"}
    after = asyncio.run(verify_session("s", url, deep=True))
    assert after.state_ok
    assert after.bad_backups == (bad_id,)  # (left as it was, as a backup failing its checks is)


@pytest.mark.parametrize("where", ["redis_url", "redis_cluster_url"])
def test_a_redis_backup_whose_record_is_unreadable_is_passed_over(
    where: str, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue(where))
    _backed_up(url)
    store = open_store(url)
    assert isinstance(store, RedisStore)
    keys = every_key("s")
    with store.sync_client() as raw:
        raw.hset(keys["backups"], "2", b"\xc1")  # (no msgpack)
        raw.hset(keys["items"], "k1", _flip(raw.hget(keys["items"], "k1")))
    asyncio.run(store.close())
    health = asyncio.run(verify_session("s", url, deep=True))
    assert health.bad_keys == ("k1",)
    assert health.bad_backups == (2,)
    assert any(p.startswith("backup 2: its record is unreadable") for p in health.problems)
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert "restored from backup 1 (v1) + 1 journal updates" in result.message
    assert "(skipped: backup 2 unusable: its record is unreadable" in result.message
    assert _contents(url) == {"k0": "v2", "k1": "c1", "k2": "c2"}


@pytest.mark.parametrize("edit", ["version = 'two'", "backup_id = 'two'", "created_at = 'noon'"])
def test_a_new_backup_rotates_past_a_backup_row_no_read_can_take(tmp_path: Path, edit: str) -> None:
    """``create_backup`` wrote its backup, then raised at the rotation's listing: every later
    backup of the session failed the same way. The damaged row is passed over, as recovery
    passes it over, and the readable ones rotate."""
    path = tmp_path / "m.db"
    url = f"sqlite:///{path}"
    _backed_up(url)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"UPDATE backups SET {edit} WHERE backup_id = 2")
    conn.close()
    for _ in range(3):
        asyncio.run(create_backup("s", store=url, keep=2))
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT count(*) FROM backups WHERE session = 's'").fetchone()[0]
    conn.close()
    assert rows == 3  # two readable ones kept, the damaged one left as it was
    assert recover_corrupted_memory("s", url).success
