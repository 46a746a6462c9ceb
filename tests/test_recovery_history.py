"""Recovery of an intact session whose history is damaged: a backup or a journal entry that
fails its checks. ``verify --deep`` named it and said "repair it with `memcore recover`", which
found the state intact and did nothing: every later deep check failed the same way. Now the
damaged backup is deleted and a good one written from the state, and the damaged journal entry
is moved aside (a marker in its place), on an SQLite file, a Redis server and a cluster."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgpack

from memcore import DistributedMemoryManager, create_backup
from memcore.recovery import recover_corrupted_memory, verify_session
from memcore.stores import open_store
from memcore.stores.redis import session_keys
from tests.recovery_support import flip
from tests.redis_support import store_client
from tests.test_sqlite_journal_aside import _sql


def _fill(url: str) -> None:
    """Session ``s``: ``k0``..``k3`` one commit each (versions 1-4), a backup after the
    third."""

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        for n in range(4):
            manager.set("s", f"k{n}", {"content": f"lint rule {n}"})
            await manager.sync_session_memory("s")
            if n == 2:
                await create_backup("s", url)
        await manager.close()

    asyncio.run(fill())


def _state(url: str) -> dict[str, bytes]:
    async def read() -> dict[str, bytes]:
        async with open_store(url) as store:
            return {k: bytes(v) for k, v in (await store.read_snapshot("s")).records.items()}

    return asyncio.run(read())


def _verify(url: str) -> Any:
    return asyncio.run(verify_session("s", url, deep=True))


def _add_damaged_backup(url: str) -> int:
    """A second backup whose bytes fail their checks (the first's, one byte flipped): its id."""

    async def add() -> int:
        async with open_store(url) as store:
            (info,) = await store.list_backups("s")
            blob = await store.get_backup("s", info.backup_id)
            return (await store.put_backup("s", info.version, flip(blob, 60, 0xFF))).backup_id

    return asyncio.run(add())


def _backup_ids(url: str) -> list[int]:
    async def ids() -> list[int]:
        async with open_store(url) as store:
            return sorted(info.backup_id for info in await store.list_backups("s"))

    return asyncio.run(ids())


def _recovered_clean(url: str, said: str) -> None:
    """Deep verification fails, recovery says ``said`` and leaves the state as it was, deep
    verification passes, and a second recovery has nothing to do."""
    before = _state(url)
    health = _verify(url)
    assert not health.ok
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert said in result.message, result.message
    assert _state(url) == before
    assert _verify(url).ok, _verify(url).problems
    again = recover_corrupted_memory("s", url)
    assert "is intact" in again.message
    assert "nothing to do" in again.message


def test_a_damaged_backup_of_an_intact_sqlite_session_is_replaced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    _fill(url)
    damaged = _add_damaged_backup(url)
    _recovered_clean(url, f"backup {damaged} (bundle payload checksum mismatch): deleted, and")
    assert len(_backup_ids(url)) == 2  # (as many as before: the first and a new one)
    assert damaged not in _backup_ids(url)


def test_a_damaged_journal_record_of_an_intact_sqlite_session_is_moved_aside(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    _fill(url)
    ((record,),) = _sql(url, "SELECT record FROM commits WHERE session = 's' AND version = 2")
    _sql(url, "UPDATE commits SET record = ? WHERE version = 2", flip(record, 30))
    _recovered_clean(url, "1 damaged journal row (of version 2) moved to the table damaged_commits")
    moved = _sql(url, "SELECT at_version, key FROM damaged_commits")
    assert moved == [(2, "k1")]


def test_a_damaged_journal_record_of_an_intact_redis_session_is_moved_aside(
    any_redis_url: str,
) -> None:
    url = any_redis_url
    _fill(url)
    journal = session_keys("s")["journal"]
    with store_client(url) as raw:
        for index, packed in enumerate(raw.lrange(journal, 0, -1)):
            version, key, record = msgpack.unpackb(packed, raw=True)
            if version == 2:
                raw.lset(journal, index, msgpack.packb([version, key, flip(record, 30)]))
    _recovered_clean(url, "1 damaged journal entry (of version 2) moved to memcore:{s}:damaged")


def test_a_damaged_backup_of_an_intact_redis_session_is_replaced(any_redis_url: str) -> None:
    _fill(any_redis_url)
    damaged = _add_damaged_backup(any_redis_url)
    _recovered_clean(any_redis_url, f"backup {damaged} (bundle payload checksum mismatch)")
