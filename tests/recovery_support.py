"""What the recovery tests share: stores of every kind, states written straight through
``Store.commit``, and damage done below the Store API."""

from __future__ import annotations

import contextlib
import inspect
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import msgpack
import pytest

from memcore.recovery import (
    create_backup,
    verify_session,
)
from memcore.stores import open_store
from memcore.stores.base import (
    Entry,
    JournalEntry,
    Store,
    decode_entry,
    encode_entry,
    live_digest,
)
from memcore.stores.memory import MemoryStore

SESSION = "sess-1"
DELETE = object()  # a change that deletes the key (writes a tombstone)

BACKENDS = ("memory", "sqlite", "redis", "redis-cluster")


# --- fixtures and helpers -----------------------------------------------------------------------


def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        pytest.importorskip("memcore.stores.sqlite")
        return f"sqlite:///{tmp_path / 'memory.db'}"
    pytest.importorskip("memcore.stores.redis")
    if backend == "redis-cluster":
        return str(request.getfixturevalue("redis_cluster_url"))
    return str(request.getfixturevalue("redis_url"))


# The fixtures ``url`` (one per backend) and ``store`` (opened on it, closed after): a test
# module imports them by these function names, so that its tests' parameters do not shadow them.
@pytest.fixture(params=BACKENDS, name="url")
def url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url(request.param, tmp_path, request)


@pytest.fixture(name="store")
async def store_fixture(url: str) -> AsyncIterator[Store]:
    opened = open_store(url)
    try:
        yield opened
    finally:
        await opened.close()


async def commit(store: Store, changes: Mapping[str, Any], session: str = SESSION) -> int:
    """Commit ``changes`` (value or DELETE per key) as one version, with the right digest."""
    snapshot = await store.read_snapshot(session)
    entries = {k: decode_entry(r) for k, r in snapshot.records.items()}
    stamp = snapshot.version * 100 + 1
    records: dict[str, bytes] = {}
    for key, value in changes.items():
        entry = (
            Entry(None, stamp, "writer", deleted=True)
            if value is DELETE
            else Entry(value, stamp, "writer")
        )
        entries[key] = entry
        records[key] = encode_entry(entry)
    version = await store.commit(session, snapshot.version, records, live_digest(entries))
    assert version == snapshot.version + 1
    return version


async def records_of(store: Store, session: str = SESSION) -> dict[str, bytes]:
    return {k: bytes(v) for k, v in (await store.read_snapshot(session)).records.items()}


def flip(record: bytes, index: int, mask: int = 0x01) -> bytes:
    if not record:  # nothing left to flip (an earlier cut): damage it differently
        return bytes([mask])
    data = bytearray(record)
    data[index % len(data)] ^= mask
    return bytes(data)


async def tamper(store: Store, key: str, record: bytes, session: str = SESSION) -> None:
    """Overwrite one stored item record in place, below the Store API (as disk rot would)."""
    hook = getattr(store, "_tamper", None)
    assert hook is not None, f"{type(store).__name__} has no _tamper test hook"
    outcome = hook(session, key, record)
    if inspect.isawaitable(outcome):
        await outcome


async def rewrite_backups(
    store: Store, change: Callable[[int, bytes], bytes], session: str = SESSION
) -> None:
    """Pass every backup (by position, 0 = newest) through ``change``, keeping their order."""
    listed = await store.list_backups(session)
    blobs = [(info, await store.get_backup(session, info.backup_id)) for info in listed]
    for info, _ in blobs:
        await store.delete_backup(session, info.backup_id)
    for position, (info, blob) in reversed(list(enumerate(blobs))):
        await store.put_backup(session, info.version, change(position, blob))


async def history(store: Store) -> dict[str, bytes]:
    """A session with overwrites and a deletion across five versions and a backup at v3."""
    await commit(store, {"a": "alpha", "b": {"n": 1}, "c": [1, 2, 3]})
    await commit(store, {"b": {"n": 2}, "d": 4.5})
    await commit(store, {"e": "echo"})
    await create_backup(SESSION, store)  # backup at version 3
    await commit(store, {"a": "alpha-2", "c": DELETE})
    await commit(store, {"f": None, "g": "golf"})
    return await records_of(store)


async def assert_intact(store: Store, expected: Mapping[str, bytes]) -> None:
    assert await records_of(store) == dict(expected)
    health = await verify_session(SESSION, store)
    assert health.state_ok, health.problems
    snapshot = await store.read_snapshot(SESSION)
    assert snapshot.digest == live_digest({k: decode_entry(r) for k, r in expected.items()})


async def damage_journal(store: Store, version: int) -> None:
    """Flip a byte in every journal record of one version, below the Store API."""
    hit = await damage_journal_where(store, lambda index, v: v == version, 10, 0x01)
    assert hit


async def damage_journal_where(
    store: Store, pick: Callable[[int, int], bool], byte: int, mask: int
) -> int:
    """Flip a byte of each journal record ``pick(position, version)`` selects, in the backend's
    own storage (memory internals, the SQLite file, the Redis list); returns how many."""
    hit = 0
    if isinstance(store, MemoryStore):
        session = store._sessions[SESSION]
        for i, e in enumerate(session.journal):
            if pick(i, e.version):
                session.journal[i] = JournalEntry(e.version, e.key, flip(e.record, byte, mask))
                hit += 1
    elif type(store).__name__ == "SQLiteStore":
        path = store.path  # type: ignore[attr-defined]
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            rows = conn.execute(
                "SELECT id, version, record FROM commits WHERE session = ? ORDER BY id",
                (SESSION,),
            ).fetchall()
            for i, (row_id, v, record) in enumerate(rows):
                if pick(i, v):
                    conn.execute(
                        "UPDATE commits SET record = ? WHERE id = ?",
                        (flip(record, byte, mask), row_id),
                    )
                    hit += 1
    else:
        from memcore.stores.redis import RedisStore, session_keys

        assert isinstance(store, RedisStore)
        with store.sync_client() as client:  # a server or a cluster
            name = session_keys(SESSION)["journal"]
            for i, packed in enumerate(client.lrange(name, 0, -1)):
                v, key, record = msgpack.unpackb(packed, raw=True)  # str types, binary inside
                if pick(i, v):
                    damaged = msgpack.packb([v, key, flip(record, byte, mask)], use_bin_type=False)
                    client.lset(name, i, damaged)
                    hit += 1
    return hit


async def commit_with_bad_key(store: MemoryStore, changes: Mapping[str, Any]) -> None:
    """A replica committing on top of a session whose stored ``a`` is damaged: it knows the
    right values (its own copy), so its digest is the true one."""
    journal = await store.read_journal(SESSION, 0)
    entries = {e.key: decode_entry(e.record) for e in journal}
    version = await store.version(SESSION)
    records = {k: encode_entry(Entry(v, 999, "other")) for k, v in changes.items()}
    entries.update({k: decode_entry(r) for k, r in records.items()})
    assert await store.commit(SESSION, version, records, live_digest(entries)) == version + 1
