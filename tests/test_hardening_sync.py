"""Issue 14, items 2-4, as an adversary would try them.

* a store that went back in time (Redis flushed, a memory store that lost everything, an SQLite
  file deleted or replaced by an older copy): after every replica has synced, all hold the same
  state with every acknowledged write, the store verifies, and the event is in the diagnostics
  and the log;
* a record no replica can take (HLC stamp ``2**64 - 1``; metadata nested 300 levels, which
  msgpack accepts): the other keys sync on every replica, new ones included; ``verify`` reports
  it, ``create_backup`` names it in a ``CorruptedMemoryError``, recovery quarantines it;
* a flipped key byte in the items table of an SQLite file (its index entry left alone):
  recovery repairs it for real (``verify`` is then ok) or says it failed;
* ``memcore verify`` / ``memcore recover`` print no traceback for any of these.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memcore.backups import create_backup
from memcore.codec import entry_hash
from memcore.errors import CorruptedMemoryError
from memcore.model import MemoryItem
from memcore.quarantine import TAKEABLE_STAMP_LIMIT
from memcore.recovery import arecover_corrupted_memory, verify_session
from memcore.stores import open_store
from memcore.stores.base import Entry, Store, decode_entry, encode_entry, live_digest
from memcore.stores.memory import MemoryStore
from memcore.sync import DistributedMemoryManager
from tests.conftest import RedisServer

SESSION = "s"
Lose = Callable[[], Awaitable[None]]


def item(key: str, content: str = "x", **metadata: Any) -> MemoryItem:
    return MemoryItem(key, content, metadata=metadata)


async def write(manager: DistributedMemoryManager, *keys: str) -> None:
    for key in keys:
        manager.set(SESSION, key, item(key, f"{key} by {manager.replica_id}"))
        assert (await manager.sync_session_memory(SESSION)).success


async def sync_all(*managers: DistributedMemoryManager) -> None:
    for _ in range(2):  # twice: a later replica's commit reaches the earlier ones
        for manager in managers:
            assert (await manager.sync_session_memory(SESSION)).success


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def lossy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Lose]]:
    """A store and how it loses every byte: a memory store cleared, an SQLite file deleted, a
    Redis database flushed (FLUSHDB, as after a restart without persistence)."""
    if request.param == "memory":
        memory = MemoryStore()

        async def lose_memory() -> None:
            memory._lose_everything()

        yield memory, lose_memory
    elif request.param == "sqlite":
        path = tmp_path / "memory.db"
        sqlite = open_store(f"sqlite:///{path}")

        async def lose_file() -> None:
            await sqlite.close()
            remove_sqlite(path)

        yield sqlite, lose_file
    else:
        redis = pytest.importorskip("redis")
        server: RedisServer = request.getfixturevalue("redis_server")
        url = server.clean_url()
        store = open_store(url)

        async def flush() -> None:
            with redis.Redis.from_url(url) as client:
                client.flushdb()

        yield store, flush


# --- item 2: a store that went back in time ----------------------------------------------------


async def test_the_incarnation_survives_deletion_and_not_a_loss(lossy: tuple[Store, Lose]) -> None:
    store, lose = lossy
    await store.commit(SESSION, 0, {"k": encode_entry(Entry(item("k"), 1, "a"))}, 1)
    first = await store.incarnation(SESSION)
    assert first.store
    assert (first.deletions, await store.incarnation(SESSION)) == (0, first)
    await store.delete_session(SESSION)
    deleted = await store.incarnation(SESSION)
    assert (deleted.store, deleted.deletions) == (first.store, 1)
    await store.commit(SESSION, 0, {"k": encode_entry(Entry(item("k"), 2, "a"))}, 1)
    await lose()
    await store.commit(SESSION, 0, {"k": encode_entry(Entry(item("k"), 3, "a"))}, 1)
    assert (await store.incarnation(SESSION)).store not in ("", first.store)
    await store.close()


@pytest.mark.parametrize("writer_saw_the_old_store", [True, False])
async def test_a_store_that_lost_its_data_is_healed_from_the_replicas(
    lossy: tuple[Store, Lose], writer_saw_the_old_store: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's scenario: b merged version 3, the store is flushed, a writer commits new0..new4
    (versions 1-5 when it never saw the old store), b syncs: nothing is lost."""
    store, lose = lossy
    a = DistributedMemoryManager(store, replica_id="a")
    b = DistributedMemoryManager(store, replica_id="b")
    await write(a, "k0", "k1", "k2")
    await b.sync_session_memory(SESSION)
    assert b.metadata(SESSION).version == 3
    await lose()
    writer = a if writer_saw_the_old_store else DistributedMemoryManager(store, replica_id="w")
    caplog.set_level(logging.WARNING, logger="memcore.sync")
    await write(writer, *(f"new{i}" for i in range(5)))
    expected = {f"k{i}" for i in range(3)} | {f"new{i}" for i in range(5)}
    assert (await b.sync_session_memory(SESSION)).success
    assert set(b.state(SESSION)) == expected
    assert not b.sync_diagnostics(SESSION).stored_digest_mismatch
    assert (await verify_session(SESSION, store)).ok
    await sync_all(a, b, writer)
    for replica in (a, b, writer):
        assert set(replica.state(SESSION)) == expected, replica.replica_id
        assert replica.metadata(SESSION).checksum == a.metadata(SESSION).checksum
        assert not replica.sync_diagnostics(SESSION).stored_digest_mismatch
    diagnostics = b.sync_diagnostics(SESSION)
    assert diagnostics.went_back == 1
    assert diagnostics.last_went_back is not None
    assert "lost its data" in diagnostics.last_went_back
    assert any("healing it from this replica" in r.getMessage() for r in caplog.records)
    health = await verify_session(SESSION, store)
    assert health.ok, health.describe()
    assert health.live_items == len(expected)
    await store.close()


async def test_a_deleted_session_is_not_brought_back(lossy: tuple[Store, Lose]) -> None:
    """``delete_session`` is deliberate: replicas drop their copies, even when the session was
    made again and went past the version they had merged."""
    store, _lose = lossy
    a = DistributedMemoryManager(store, replica_id="a")
    await write(a, "old0", "old1")
    await store.delete_session(SESSION)
    b = DistributedMemoryManager(store, replica_id="b")
    await write(b, "new0", "new1", "new2")
    await sync_all(a, b)
    assert set(a.state(SESSION)) == set(b.state(SESSION)) == {"new0", "new1", "new2"}
    assert a.sync_diagnostics(SESSION).went_back == 0
    assert (await verify_session(SESSION, store)).ok
    await store.close()


async def test_a_healed_key_keeps_the_later_write_without_a_conflict() -> None:
    store = MemoryStore()
    a = DistributedMemoryManager(store, replica_id="a", strategy="local-wins")
    await write(a, "k")
    store._lose_everything()
    later = DistributedMemoryManager(store, replica_id="z")
    await write(later, "k")  # a later write of the same key into the emptied store
    result = await a.sync_session_memory(SESSION)
    assert result.success
    assert result.conflicts == []
    assert a.get(SESSION, "k").content == "k by z"
    await sync_all(a, later)
    assert (await verify_session(SESSION, store)).ok


def _copy_sqlite(source: Path, target: Path) -> None:
    target.write_bytes(source.read_bytes())


async def test_an_sqlite_file_replaced_by_an_older_copy_is_healed(tmp_path: Path) -> None:
    path, older = tmp_path / "memory.db", tmp_path / "older.db"
    url = f"sqlite:///{path}"
    a = DistributedMemoryManager(url, replica_id="a")
    b = DistributedMemoryManager(url, replica_id="b")
    await write(a, "k0")
    await a.store.close()  # the last connection closing checkpoints the WAL into the file
    _copy_sqlite(path, older)
    await write(a, "k1", "k2")
    await b.sync_session_memory(SESSION)  # b merged version 3
    for manager in (a, b):
        await manager.store.close()
    remove_sqlite(path)
    _copy_sqlite(older, path)  # version 1 again, same incarnation
    await a.sync_session_memory(SESSION)  # went back from 3 to 1: a commits k1, k2 again (v2)
    await write(a, "k3")  # v3 again, with another digest than the v3 b merged
    await sync_all(b, a)
    for replica in (a, b):
        assert set(replica.state(SESSION)) == {"k0", "k1", "k2", "k3"}
        assert replica.sync_diagnostics(SESSION).went_back == 1
    assert "went back from version 3 to 1" in str(a.sync_diagnostics(SESSION).last_went_back)
    assert "another digest" in str(b.sync_diagnostics(SESSION).last_went_back)
    assert (await verify_session(SESSION, url)).ok
    for manager in (a, b):
        await manager.close()


# --- item 3: a record no replica can take ---------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"x": value}
    return value


def poisoned_entry(kind: str) -> Entry:
    if kind == "stamp":
        return Entry(item("p", "poison"), 2**64 - 1, "evil")
    return Entry(item("p", "poison", deep=nested(300)), 1, "evil")


async def inject(store: Store, kind: str) -> bytes:
    """Commit the poisoned record straight into the store, with the digest its writer would
    keep (the digest of the rest when no digest can take the value)."""
    snapshot = await store.read_snapshot(SESSION)
    entries = {k: decode_entry(r) for k, r in snapshot.records.items()}
    poisoned = poisoned_entry(kind)
    record = encode_entry(poisoned)
    digest = live_digest({**entries, "p": poisoned}) if kind == "stamp" else live_digest(entries)
    assert await store.commit(SESSION, snapshot.version, {"p": record}, digest) is not None
    return record


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore()
    return open_store(f"sqlite:///{tmp_path / 'memory.db'}")


@pytest.mark.parametrize("kind", ["stamp", "nesting"])
async def test_a_record_no_replica_can_take_never_blocks_syncing(store: Store, kind: str) -> None:
    a = DistributedMemoryManager(store, replica_id="a")
    await write(a, "good0")
    record = await inject(store, kind)
    b = DistributedMemoryManager(store, replica_id="b")
    await write(b, "good1")  # the first sync of a new replica, with a write of its own
    await write(a, "good2")
    c = DistributedMemoryManager(store, replica_id="c")
    await sync_all(a, b, c)
    for replica in (a, b, c):
        assert set(replica.state(SESSION)) == {"good0", "good1", "good2"}
        diagnostics = replica.sync_diagnostics(SESSION)
        assert diagnostics.set_aside == ("p",)
        assert not diagnostics.stored_digest_mismatch
    health = await verify_session(SESSION, store)
    assert not health.ok
    assert health.bad_keys == ("p",)
    assert "cannot be taken by a replica" in health.describe()
    with pytest.raises(CorruptedMemoryError, match="'p'"):
        await create_backup(SESSION, store)
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert "quarantined 1 record" in result.message
    assert (await verify_session(SESSION, store)).ok
    journal = await store.read_journal(SESSION)
    assert any(e.key == "p" and e.record == record for e in journal)  # kept for inspection
    await sync_all(a, b, c)
    for replica in (a, b, c):
        assert set(replica.state(SESSION)) == {"good0", "good1", "good2"}
        assert replica.sync_diagnostics(SESSION).set_aside == ()
    await create_backup(SESSION, store)
    await store.close()


async def test_a_local_write_replaces_a_record_no_replica_can_take() -> None:
    store = MemoryStore()
    a = DistributedMemoryManager(store, replica_id="a")
    await write(a, "good")
    await inject(store, "stamp")
    await write(a, "p")
    assert a.sync_diagnostics(SESSION).set_aside == ()
    assert (await verify_session(SESSION, store)).ok


async def test_a_stamp_just_under_the_limit_cannot_push_the_clock_over_it() -> None:
    store = MemoryStore()
    a = DistributedMemoryManager(store, replica_id="a")
    await write(a, "good")
    snapshot = await store.read_snapshot(SESSION)
    high = Entry(item("h", "far future"), TAKEABLE_STAMP_LIMIT - 1, "skewed")
    state = {k: decode_entry(r) for k, r in snapshot.records.items()} | {"h": high}
    await store.commit(SESSION, 1, {"h": encode_entry(high)}, live_digest(state))
    await write(a, "after")  # takes "h", then stamps a write of its own
    entry = a.entry(SESSION, "after")
    assert entry is not None
    assert entry.stamp < TAKEABLE_STAMP_LIMIT
    b = DistributedMemoryManager(store, replica_id="b")
    await sync_all(b)
    assert set(b.state(SESSION)) == {"good", "h", "after"}
    assert b.sync_diagnostics(SESSION).set_aside == ()


# --- item 4: recovery verifies what it wrote ----------------------------------------------------


def flip_key_byte(path: Path, key: str, mask: int) -> None:
    """Flip one byte of ``key`` where the items table keeps it (the index keeps its own copy)."""
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'items'").fetchone()
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    start = (root[0] - 1) * page_size
    at = data.find(key.encode(), start, start + page_size)
    assert at >= 0, f"{key!r} is not in the items table's root page"
    data[at] ^= mask
    path.write_bytes(bytes(data))


async def damaged_file(tmp_path: Path, key: str, mask: int) -> str:
    path = tmp_path / "memory.db"
    url = f"sqlite:///{path}"
    manager = DistributedMemoryManager(url, replica_id="a")
    await write(manager, *(f"{letter}-key" for letter in "afkpu"))
    await create_backup(SESSION, url)
    await write(manager, "z-key")
    await manager.close()  # checkpoints the WAL into the file
    flip_key_byte(path, key, mask)
    assert not (await verify_session(SESSION, url)).ok
    return url


@pytest.mark.parametrize(
    ("key", "mask"),
    [("k-key", 0x01), ("k-key", 0x0F)],  # "j-key" keeps the table's order; "d-key" breaks it
    ids=["order-kept", "order-broken"],
)
async def test_recovery_of_a_flipped_key_byte_repairs_for_real_or_fails(
    tmp_path: Path, key: str, mask: int
) -> None:
    url = await damaged_file(tmp_path, key, mask)
    for _ in range(2):
        result = await arecover_corrupted_memory(SESSION, url)
        health = await verify_session(SESSION, url)
        if result.success:
            assert health.ok, f"recovery said {result.message!r}, verify says {health.describe()}"
        else:
            assert not health.ok
    if mask == 0x01:  # a damaged index only: REINDEX, then the backup + journal repair it
        assert result.success
        assert health.live_items == 6


# --- the command line: no traceback --------------------------------------------------------------


def memcore(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memcore", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MEMCORE_HOME": os.environ.get("MEMCORE_HOME", "/nonexistent")},
    )


def assert_no_traceback(run: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    assert run.returncode in (0, 1), (run.returncode, run.stderr)


async def test_verify_and_recover_print_no_traceback(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    poisoned = f"sqlite:///{tmp_path / 'poisoned.db'}"
    store = open_store(poisoned)
    await write(DistributedMemoryManager(store, replica_id="a"), "good")
    await inject(store, "stamp")
    await store.close()
    flipped = await damaged_file(tmp_path / "flipped", "k-key", 0x01)
    redis = pytest.importorskip("redis")
    flushed = redis_server.clean_url()
    replica = DistributedMemoryManager(flushed, replica_id="a")
    await write(replica, "k0")
    with redis.Redis.from_url(flushed) as client:
        client.flushdb()
    await replica.close()
    for url, fixed in ((poisoned, True), (flipped, True), (flushed, False)):
        before = memcore("verify", "--store", url, SESSION)
        assert_no_traceback(before)
        assert before.returncode == 1
        repaired = memcore("recover", "--store", url, SESSION)
        assert_no_traceback(repaired)
        after = memcore("verify", "--store", url, SESSION)
        assert_no_traceback(after)
        assert (after.returncode == 0) == fixed, after.stdout + after.stderr


def test_entry_hash_refuses_what_quarantine_refuses() -> None:
    """The nesting case is real: msgpack takes the value, the digest does not."""
    with pytest.raises(ValueError, match="nested deeper"):
        entry_hash("p", item("p", "poison", deep=nested(300)))


@pytest.mark.parametrize("apart", [0.0, 0.005], ids=["same millisecond", "5 ms apart"])
async def test_two_replicas_sharing_an_id_keep_the_newer_write_and_say_so(
    caplog: pytest.LogCaptureFixture, apart: float
) -> None:
    """Misuse, but not silent loss: a write under this replica's id that is newer than its own
    latest write of the key (or as new, with other content) cannot be its own; it is settled as
    a conflict (the newer write kept under ``timestamp``, the remote one on a tie) and logged,
    instead of being overwritten as an "older write" or taken for an acknowledgement."""
    store = MemoryStore()
    first = DistributedMemoryManager(store, replica_id="same")
    second = DistributedMemoryManager(store, replica_id="same")
    second.set(SESSION, "x", item("x", "second, written first"))
    await asyncio.sleep(apart)
    first.set(SESSION, "x", item("x", "first, written later"))
    await first.sync_session_memory(SESSION)
    caplog.set_level(logging.WARNING, logger="memcore.sync")
    result = await second.sync_session_memory(SESSION)
    assert result.conflicts_resolved == 1
    reader = DistributedMemoryManager(store, replica_id="reader")
    await reader.sync_session_memory(SESSION)
    assert reader.get(SESSION, "x").content == "first, written later"
    assert "must never share an id" in caplog.text
