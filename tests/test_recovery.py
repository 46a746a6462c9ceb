"""Backups, verification and recovery on real stores: memory, SQLite files and a real Redis.

States are written straight through ``Store.commit`` with ``encode_entry`` records (no sync
layer), damaged byte by byte, and recovered; the checks compare the stored records with the
pre-damage bytes, not with anything recovery itself reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from memcore.codec import bundle_codec, decode_bundle, encode_bundle
from memcore.errors import CorruptedMemoryError, MemcoreError, ValidationError
from memcore.model import MemoryItem, RecoveryResult
from memcore.recovery import (
    MAX_ATTEMPTS,
    arecover_corrupted_memory,
    create_backup,
    recover_corrupted_memory,
    verify_session,
    verify_store,
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
from tests.conftest import RedisServer, free_port

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


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url(request.param, tmp_path, request)


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
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


# --- the state is fine ----------------------------------------------------------------------------


async def test_intact_state_needs_nothing(store: Store) -> None:
    before = await history(store)
    version = await store.version(SESSION)
    result = await arecover_corrupted_memory(SESSION, store)
    assert result == RecoveryResult(True, result.message, 0, False)
    assert "nothing to do" in result.message
    assert await store.version(SESSION) == version  # nothing written
    await assert_intact(store, before)


async def test_never_written_session_is_intact(store: Store) -> None:
    result = await arecover_corrupted_memory("empty", store)
    assert result.success
    assert result.updates_applied == 0
    assert not result.rebuild_required
    health = await verify_session("empty", store)
    assert health.ok
    assert health.records == 0


# --- damaged items ---------------------------------------------------------------------------


async def test_flipped_byte_detected_and_recovered_from_backup_and_journal(store: Store) -> None:
    before = await history(store)
    await tamper(store, "b", flip(before["b"], 12))
    health = await verify_session(SESSION, store)
    assert not health.state_ok
    assert health.bad_keys == ("b",)
    assert health.computed_digest is None
    assert any("checksum" in p for p in health.problems)

    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert not result.rebuild_required
    # the backup holds v3; v4 wrote 2 keys and v5 wrote 2 keys
    assert result.updates_applied == 4
    assert "backup" in result.message
    await assert_intact(store, before)


async def test_truncated_record_is_recovered(store: Store) -> None:
    before = await history(store)
    await tamper(store, "g", before["g"][:-3])
    health = await verify_session(SESSION, store)
    assert health.bad_keys == ("g",)
    assert any("length" in p or "short" in p for p in health.problems)
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert not result.rebuild_required
    await assert_intact(store, before)


async def test_newest_backup_corrupted_falls_back_to_older_backup(store: Store) -> None:
    await commit(store, {"a": 1, "b": 2})
    await create_backup(SESSION, store)  # v1
    await commit(store, {"a": 10, "c": 3})
    await create_backup(SESSION, store)  # v2
    await commit(store, {"d": 4})
    before = await records_of(store)
    await rewrite_backups(store, lambda pos, blob: flip(blob, len(blob) // 2) if pos == 0 else blob)
    await tamper(store, "a", flip(before["a"], 3))

    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert not result.rebuild_required
    assert result.updates_applied == 3  # v2 (a, c) and v3 (d) replayed on the v1 backup
    assert "unusable" in result.message  # the skipped newest backup is named
    await assert_intact(store, before)


async def test_newest_good_backup_is_the_base(store: Store) -> None:
    await commit(store, {"a": 1, "b": 2})
    await create_backup(SESSION, store)  # v1
    await commit(store, {"a": 10, "c": 3})
    newest = await create_backup(SESSION, store)  # v2
    await commit(store, {"d": 4})
    before = await records_of(store)
    await tamper(store, "b", before["b"][:5])
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert result.updates_applied == 1  # only v3 replayed on top of the v2 backup
    assert f"backup {newest.backup_id} (v2)" in result.message
    await assert_intact(store, before)


async def test_zstd_and_lz4_backups_both_serve_recovery(store: Store) -> None:
    await commit(store, {"a": "alpha " * 40, "b": 2})
    lz4_backup = await create_backup(SESSION, store)  # v1, lz4
    await commit(store, {"a": "beta " * 40, "c": 3})
    zstd_backup = await create_backup(SESSION, store, codec="zstd")  # v2, zstd
    assert bundle_codec(await store.get_backup(SESSION, lz4_backup.backup_id)) == "lz4"
    assert bundle_codec(await store.get_backup(SESSION, zstd_backup.backup_id)) == "zstd"
    await commit(store, {"d": 4})
    before = await records_of(store)
    await tamper(store, "b", before["b"][:5])
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert f"backup {zstd_backup.backup_id} (v2)" in result.message
    await assert_intact(store, before)
    # the zstd one damaged: the lz4 one underneath still serves
    await rewrite_backups(store, lambda pos, blob: flip(blob, len(blob) // 2) if pos == 0 else blob)
    await tamper(store, "c", flip(before["c"], 3))
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert "(v1)" in result.message  # rewrite_backups renumbered it: the lz4 one, at v1
    assert "unusable" in result.message
    await assert_intact(store, before)


@pytest.mark.parametrize("codec", ["gzip", None, 3])
async def test_bad_backup_codec_is_rejected(codec: Any) -> None:
    store = MemoryStore()
    await commit(store, {"a": 1})
    with pytest.raises(ValidationError):
        await create_backup(SESSION, store, codec=codec)
    assert await store.list_backups(SESSION) == []


async def test_backup_that_does_not_lead_to_the_digest_is_passed_over(store: Store) -> None:
    """A backup can be intact yet not this history's (here: v1 content labelled v2, as a copy
    from a diverged replica would be): replaying on it misses v2, so the digest rejects it."""
    await commit(store, {"a": 1})
    real = await create_backup(SESSION, store)  # v1
    await commit(store, {"a": 2, "b": 3})
    await commit(store, {"c": 4})
    payload = decode_bundle(await store.get_backup(SESSION, real.backup_id))
    payload["version"] = 2
    await store.put_backup(SESSION, 2, encode_bundle(payload))
    before = await records_of(store)
    await tamper(store, "c", flip(before["c"], 0))
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert "does not match the stored digest" in result.message
    assert result.updates_applied == 3  # v2 (a, b) and v3 (c) on the real v1 backup
    await assert_intact(store, before)


async def test_replay_never_skips_a_damaged_journal_entry(store: Store) -> None:
    """v2 rewrote ``a`` with the same value (a new stamp) and its journal record is damaged:
    skipping it would match the digest (values agree) with a stale record; stop instead."""
    await commit(store, {"a": "same"})
    await commit(store, {"a": "same"})
    before = await records_of(store)
    await damage_journal(store, version=2)
    await tamper(store, "a", flip(before["a"], 20))
    damaged = await records_of(store)
    result = await arecover_corrupted_memory(SESSION, store)
    assert not result.success
    assert "journal corrupted at v2" in result.message
    assert await records_of(store) == damaged


async def test_every_backup_corrupted_rebuilds_from_journal(store: Store) -> None:
    before = await history(store)
    await create_backup(SESSION, store)
    await rewrite_backups(store, lambda pos, blob: flip(blob, 60 + pos, 0x80))
    await tamper(store, "a", flip(before["a"], -1))
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert result.rebuild_required
    assert result.updates_applied == len(await store.read_journal(SESSION, 0)) == 10
    await assert_intact(store, before)


async def test_no_backup_rebuilds_from_journal(store: Store) -> None:
    await commit(store, {"x": "one"})
    await commit(store, {"x": "two", "y": DELETE})
    before = await records_of(store)
    await tamper(store, "x", b"")
    result = recover_corrupted_memory(SESSION, store)  # the synchronous form, no loop running
    assert result.success
    assert result.rebuild_required
    assert result.updates_applied == 3
    await assert_intact(store, before)


async def test_unrecoverable_session_is_left_untouched(store: Store) -> None:
    """Journal damaged before the only key's last write, no backup: report, write nothing."""
    await commit(store, {"k": "v1"})
    await commit(store, {"k": "v2"})
    before = await records_of(store)
    version = await store.version(SESSION)
    damaged = flip(before["k"], 9)
    await tamper(store, "k", damaged)
    # the journal's copy of the last write is damaged too: replay cannot reach the digest
    await damage_journal(store, version=2)

    result = await arecover_corrupted_memory(SESSION, store)
    assert not result.success
    assert result.rebuild_required
    assert result.updates_applied == 0
    assert "nothing was changed" in result.message
    assert await store.version(SESSION) == version
    assert await records_of(store) == {"k": damaged}


async def test_backup_newer_than_damaged_journal_entry_is_enough(store: Store) -> None:
    await commit(store, {"k": "v1"})
    await commit(store, {"k": "v2", "m": "x"})
    await create_backup(SESSION, store)
    await commit(store, {"n": "y"})
    before = await records_of(store)
    await damage_journal(store, version=1)
    await tamper(store, "n", flip(before["n"], 5))
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success
    assert not result.rebuild_required
    assert result.updates_applied == 1
    await assert_intact(store, before)


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
                "SELECT id, version, record FROM journal WHERE session = ? ORDER BY id",
                (SESSION,),
            ).fetchall()
            for i, (row_id, v, record) in enumerate(rows):
                if pick(i, v):
                    conn.execute(
                        "UPDATE journal SET record = ? WHERE id = ?",
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


async def test_wrong_digest_with_intact_records_is_not_overwritten(store: Store) -> None:
    """Records fine but the digest disagrees: no rebuild matches, so nothing is written."""
    await commit(store, {"a": 1})
    snapshot = await store.read_snapshot(SESSION)
    await store.commit(SESSION, snapshot.version, {"b": encode_entry(Entry(2, 5, "w"))}, 12345)
    before = await records_of(store)
    health = await verify_session(SESSION, store)
    assert health.bad_keys == ()
    assert not health.digest_ok
    result = await arecover_corrupted_memory(SESSION, store)
    assert not result.success
    assert "the stored digest itself is off" in result.message
    assert await records_of(store) == before
    assert await store.version(SESSION) == 2


async def test_concurrent_commit_during_recovery_is_kept() -> None:
    """A commit landing between recovery's read and write makes the CAS fail; recovery retries
    on the new version and the concurrent write survives."""

    class RacingStore(MemoryStore):
        raced = False

        async def replace_state(
            self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
        ) -> int | None:
            if not self.raced:
                self.raced = True
                await commit_with_bad_key(self, {"late": "arrival"})
            return await super().replace_state(session_id, expected_version, records, digest)

    store = RacingStore()
    await commit(store, {"a": "x", "b": "y"})
    good = await records_of(store)
    store._tamper(SESSION, "a", flip(good["a"], 4))
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert store.raced
    final = await records_of(store)
    assert final["a"] == good["a"]
    assert final["b"] == good["b"]
    assert decode_entry(final["late"]).value == "arrival"
    assert (await verify_session(SESSION, store)).state_ok


async def test_recovery_gives_up_when_the_session_never_settles() -> None:
    class BusyStore(MemoryStore):
        async def replace_state(
            self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
        ) -> int | None:
            await commit_with_bad_key(self, {f"k{expected_version}": expected_version})
            return await super().replace_state(session_id, expected_version, records, digest)

    store = BusyStore()
    await commit(store, {"a": "x"})
    good = await records_of(store)
    store._tamper(SESSION, "a", flip(good["a"], 4))
    result = await arecover_corrupted_memory(SESSION, store)
    assert not result.success
    assert not result.rebuild_required
    assert "kept changing" in result.message
    assert result.updates_applied == 0
    after = await records_of(store)
    assert after["a"] == flip(good["a"], 4)  # recovery wrote nothing; the commits went in
    assert len(after) == 1 + MAX_ATTEMPTS


async def commit_with_bad_key(store: MemoryStore, changes: Mapping[str, Any]) -> None:
    """A replica committing on top of a session whose stored ``a`` is damaged: it knows the
    right values (its own copy), so its digest is the true one."""
    journal = await store.read_journal(SESSION, 0)
    entries = {e.key: decode_entry(e.record) for e in journal}
    version = await store.version(SESSION)
    records = {k: encode_entry(Entry(v, 999, "other")) for k, v in changes.items()}
    entries.update({k: decode_entry(r) for k, r in records.items()})
    assert await store.commit(SESSION, version, records, live_digest(entries)) == version + 1


# --- backups ------------------------------------------------------------------------------------


async def test_backups_rotate_to_keep(store: Store) -> None:
    ids = []
    for n in range(6):
        await commit(store, {"k": n})
        ids.append((await create_backup(SESSION, store, keep=3)).backup_id)
    listed = await store.list_backups(SESSION)
    assert [b.backup_id for b in listed] == ids[:-4:-1]
    assert [b.version for b in listed] == [6, 5, 4]
    newest = decode_bundle(await store.get_backup(SESSION, listed[0].backup_id))
    assert newest["version"] == 6
    assert newest["records"] == await records_of(store)


async def test_backup_refuses_a_corrupted_state(store: Store) -> None:
    before = await history(store)
    await tamper(store, "e", flip(before["e"], 7))
    with pytest.raises(CorruptedMemoryError, match="not backing it up"):
        await create_backup(SESSION, store)
    assert len(await store.list_backups(SESSION)) == 1  # the earlier good one is kept


@pytest.mark.parametrize("keep", [0, -1, 1.5, True])
async def test_bad_keep_is_rejected(keep: Any) -> None:
    with pytest.raises(ValidationError):
        await create_backup(SESSION, MemoryStore(), keep=keep)


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
async def test_backup_file_decompresses_with_the_stock_tool(codec: Any, tmp_path: Path) -> None:
    tool = shutil.which(codec)
    if tool is None:
        pytest.fail(f"the {codec} command-line tool is required (the test command installs it)")
    store = MemoryStore()
    await commit(store, {"a": "alpha " * 50, "b": {"nested": [1, 2, 3]}})
    info = await create_backup(SESSION, store, codec=codec)
    path = tmp_path / "backup.mcb"
    path.write_bytes(await store.get_backup(SESSION, info.backup_id))
    process = await asyncio.create_subprocess_exec(
        tool,
        "-d",
        "-c",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr
    payload = msgpack.unpackb(stdout, raw=False)
    assert payload["version"] == 1
    assert payload["session"] == SESSION
    assert payload["records"] == await records_of(store)
    assert payload["digest"] == (await store.read_snapshot(SESSION)).digest


# --- journal compaction ---------------------------------------------------------------------------


async def test_compaction_keeps_the_journal_every_kept_backup_needs(store: Store) -> None:
    await commit(store, {"a": 1, "b": 2})  # v1
    first = await create_backup(SESSION, store, keep=2, compact_journal=True)
    assert await store.journal_floor(SESSION) == 1  # the only backup is at v1
    assert [e.version for e in await store.read_journal(SESSION)] == []
    await commit(store, {"a": 10})  # v2
    await commit(store, {"c": 3})  # v3
    await create_backup(SESSION, store, keep=2, compact_journal=True)
    # kept: v3 and v1; the oldest kept (v1) still needs v2 and v3
    assert await store.journal_floor(SESSION) == 1
    assert [e.version for e in await store.read_journal(SESSION)] == [2, 3]
    await commit(store, {"d": 4})  # v4
    await create_backup(SESSION, store, keep=2, compact_journal=True)
    # first (v1) rotated out: the journal is cut through v3, the oldest kept backup
    assert first.backup_id not in [b.backup_id for b in await store.list_backups(SESSION)]
    assert await store.journal_floor(SESSION) == 3
    assert [(e.version, e.key) for e in await store.read_journal(SESSION)] == [(4, "d")]
    await commit(store, {"e": 5})  # v5
    await create_backup(SESSION, store, keep=2)  # no compaction asked: nothing cut
    assert await store.journal_floor(SESSION) == 3
    assert [e.version for e in await store.read_journal(SESSION)] == [4, 5]
    deep = await verify_session(SESSION, store, deep=True)
    assert deep.ok
    assert deep.journal_floor == 3
    assert deep.journal_checked == 2


async def test_compaction_then_corruption_recovers_from_the_newest_backup(store: Store) -> None:
    await commit(store, {"a": "alpha", "b": "bravo"})  # v1
    await create_backup(SESSION, store, keep=1, compact_journal=True)
    await commit(store, {"b": DELETE, "c": "charlie"})  # v2
    await commit(store, {"a": "alpha-2"})  # v3
    newest = await create_backup(SESSION, store, keep=1, compact_journal=True)
    assert await store.journal_floor(SESSION) == 3
    assert await store.read_journal(SESSION) == []
    await commit(store, {"d": "delta", "c": DELETE})  # v4
    await commit(store, {"a": "alpha-3"})  # v5
    before = await records_of(store)
    await tamper(store, "a", flip(before["a"], 7))
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert not result.rebuild_required
    assert result.updates_applied == 3  # v4 (d, c) and v5 (a) on the v3 backup
    assert f"backup {newest.backup_id} (v3)" in result.message
    await assert_intact(store, before)


async def test_compaction_then_newest_backup_corrupted_falls_back_to_an_older_one(
    store: Store,
) -> None:
    await commit(store, {"a": 1})  # v1
    await create_backup(SESSION, store, keep=2, compact_journal=True)
    await commit(store, {"a": 2, "b": 3})  # v2
    await create_backup(SESSION, store, keep=2, compact_journal=True)
    await commit(store, {"c": 4})  # v3
    assert await store.journal_floor(SESSION) == 1
    before = await records_of(store)
    await rewrite_backups(store, lambda pos, blob: flip(blob, len(blob) // 2) if pos == 0 else blob)
    await tamper(store, "b", flip(before["b"], 4))
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert not result.rebuild_required
    assert result.updates_applied == 3  # v2 (a, b) and v3 (c) on the v1 backup
    await assert_intact(store, before)


async def test_compaction_with_every_backup_corrupted_fails_clearly(store: Store) -> None:
    await commit(store, {"a": 1, "b": 2})
    await commit(store, {"a": 3})
    await create_backup(SESSION, store, keep=2, compact_journal=True)  # v2, journal cut
    await commit(store, {"c": 4})
    before = await records_of(store)
    version = await store.version(SESSION)
    await rewrite_backups(store, lambda pos, blob: flip(blob, 40, 0x10))
    damaged = flip(before["a"], 3)
    await tamper(store, "a", damaged)
    result = await arecover_corrupted_memory(SESSION, store)
    assert not result.success
    assert result.rebuild_required
    assert result.updates_applied == 0
    assert "journal-only rebuild is impossible" in result.message
    assert "compacted through v2" in result.message
    assert "nothing was changed" in result.message
    assert await store.version(SESSION) == version
    assert await records_of(store) == {**before, "a": damaged}
    # the journal that is left was not touched either
    assert [(e.version, e.key) for e in await store.read_journal(SESSION)] == [(3, "c")]


async def test_a_backup_below_the_journal_floor_is_never_a_base(store: Store) -> None:
    """The v3 backup + the journal past the floor (v6 only) misses v4-v5, which wrote and then
    deleted ``b``: the live digest still matches (tombstones are not digested), so only the
    floor rule stops recovery from writing a state that lost the tombstone."""
    await commit(store, {"a": "one"})  # v1
    await commit(store, {"x": "keep"})  # v2
    await commit(store, {"a": "three"})  # v3
    await create_backup(SESSION, store)  # at v3
    await commit(store, {"b": "briefly"})  # v4
    await commit(store, {"b": DELETE})  # v5
    await create_backup(SESSION, store)  # at v5
    assert await store.truncate_journal(SESSION, 5) == 5
    await commit(store, {"a": "six"})  # v6
    before = await records_of(store)
    await rewrite_backups(store, lambda pos, blob: flip(blob, 33, 0x04) if pos == 0 else blob)
    damaged = flip(before["a"], 2)
    await tamper(store, "a", damaged)
    result = await arecover_corrupted_memory(SESSION, store)
    assert not result.success, result.message
    assert result.rebuild_required
    assert "below the journal floor (v5)" in result.message
    assert await records_of(store) == {**before, "a": damaged}
    assert "b" in before  # the tombstone that a base below the floor would have lost


@pytest.mark.parametrize("compact", [1, "yes", None])
async def test_bad_compact_journal_is_rejected(compact: Any) -> None:
    store = MemoryStore()
    await commit(store, {"a": 1})
    with pytest.raises(ValidationError):
        await create_backup(SESSION, store, compact_journal=compact)
    assert await store.list_backups(SESSION) == []


# --- verification over a store, deep checks, URLs, errors -----------------------------------------


async def test_verify_store_names_the_corrupted_session(url: str) -> None:
    with_store = open_store(url)
    try:
        await commit(with_store, {"a": 1}, session="good")
        await commit(with_store, {"a": 1, "b": 2}, session="bad")
        records = await records_of(with_store, "bad")
        await tamper(with_store, "b", flip(records["b"], 2), session="bad")
        report = await verify_store(with_store)
        assert [s.session_id for s in report.sessions] == ["bad", "good"]
        assert report.corrupted == ("bad",)
        assert not report.ok
        assert report.sessions[1].describe().startswith("ok (1 items")
        assert "record 'b'" in report.sessions[0].describe()
    finally:
        await with_store.close()


async def test_deep_verify_reports_bad_backups_and_journal() -> None:
    store = MemoryStore()
    await commit(store, {"a": 1})
    await create_backup(SESSION, store)
    await commit(store, {"b": 2})
    await create_backup(SESSION, store)
    shallow = await verify_session(SESSION, store)
    deep = await verify_session(SESSION, store, deep=True)
    assert shallow.ok
    assert deep.ok
    assert deep.backups_checked == 2
    assert deep.journal_checked == 2
    await rewrite_backups(store, lambda pos, blob: flip(blob, 20) if pos == 1 else blob)
    await damage_journal(store, version=2)
    deep = await verify_session(SESSION, store, deep=True)
    oldest = (await store.list_backups(SESSION))[1].backup_id
    assert deep.state_ok
    assert not deep.ok
    assert deep.bad_backups == (oldest,)
    assert deep.bad_journal_versions == (2,)
    assert (await verify_session(SESSION, store)).ok  # the shallow check looks at items only


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_url_is_opened_and_closed(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = store_url(backend, tmp_path, request)
    writer = open_store(url)
    try:
        before = await history(writer)
        await tamper(writer, "d", flip(before["d"], 8))
    finally:
        await writer.close()
    assert not (await verify_session(SESSION, url)).ok
    info = await verify_store(url)
    assert info.corrupted == (SESSION,)
    result = await asyncio.to_thread(recover_corrupted_memory, SESSION, url)
    assert result.success, result.message
    assert not result.rebuild_required
    assert (await create_backup(SESSION, url)).version == 6
    reader = open_store(url)
    try:
        await assert_intact(reader, before)
    finally:
        await reader.close()


async def test_sync_form_works_inside_a_running_loop() -> None:
    store = MemoryStore()
    before = await history(store)
    store._tamper(SESSION, "a", flip(before["a"], 11))
    result = recover_corrupted_memory(SESSION, store)  # this test's loop is running
    assert result.success, result.message
    await assert_intact(store, before)


@pytest.mark.parametrize("session", ["", "a:b", "x*", "+lead", 7, None])
async def test_bad_session_ids_are_rejected(session: Any) -> None:
    store = MemoryStore()
    with pytest.raises(ValidationError):
        recover_corrupted_memory(session, store)
    with pytest.raises(ValidationError):
        await arecover_corrupted_memory(session, store)
    with pytest.raises(ValidationError):
        await create_backup(session, store)
    with pytest.raises(ValidationError):
        await verify_session(session, store)


async def test_a_store_that_is_not_a_store_is_rejected() -> None:
    with pytest.raises(ValidationError):
        await arecover_corrupted_memory(SESSION, object())  # type: ignore[arg-type]


async def test_unreachable_backend_raises_backend_error(tmp_path: Path) -> None:
    pytest.importorskip("memcore.stores.redis")
    from memcore.errors import BackendError

    with pytest.raises(BackendError):
        await arecover_corrupted_memory(SESSION, f"redis://127.0.0.1:{free_port()}/0")


# --- property: random states, random damage ---------------------------------------------------

keys = st.text(alphabet="abcdefgh", min_size=1, max_size=3)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.lists(st.integers(min_value=-(2**63), max_value=2**64 - 1), max_size=4),
    st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3),
)
changes = st.dictionaries(keys, st.one_of(values, st.just(DELETE)), min_size=1, max_size=4)
steps = st.lists(st.tuples(changes, st.booleans()), min_size=1, max_size=8)
damages = st.lists(
    st.tuples(
        st.sampled_from(["item", "cut", "backup", "journal"]),
        st.integers(min_value=0, max_value=10**6),  # which record (mod count)
        st.integers(min_value=0, max_value=10**6),  # which byte (mod length)
        st.integers(min_value=1, max_value=255),  # xor mask
    ),
    min_size=1,
    max_size=2,
)


def damage_one(victim: int, byte: int, mask: int) -> Callable[[int, bytes], bytes]:
    return lambda pos, blob: flip(blob, byte, mask) if pos == victim else blob


async def build_and_damage(
    store: Store, plan: list[tuple[dict[str, Any], bool]], damage: list[Any], compact: bool
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Write the plan, then damage items, backups or journal records byte by byte."""
    for change, backup in plan:
        await commit(store, change)
        if backup:
            await create_backup(SESSION, store, keep=2, compact_journal=compact)
    original = await records_of(store)
    journal_size = len(await store.read_journal(SESSION, 0))
    for target, which, byte, mask in damage:
        if target == "item":
            key = sorted(original)[which % len(original)]
            current = (await records_of(store))[key]
            await tamper(store, key, flip(current, byte, mask))
        elif target == "cut":
            key = sorted(original)[which % len(original)]
            current = (await records_of(store))[key]
            await tamper(store, key, current[: byte % max(len(current), 1)])
        elif target == "backup":
            listed = await store.list_backups(SESSION)
            if listed:
                await rewrite_backups(store, damage_one(which % len(listed), byte, mask))
        elif journal_size:
            chosen = which % journal_size
            await damage_journal_where(store, lambda i, _v: i == chosen, byte, mask)  # noqa: B023
    return original, await records_of(store)


async def recover_or_change_nothing(
    store: Store, plan: list[tuple[dict[str, Any], bool]], damage: list[Any], compact: bool = False
) -> None:
    """With ``compact`` every backup also compacts the journal: an intact journal plus the
    intact newest backup must still be enough, and a failure must name the compaction when
    the journal alone was no longer enough."""
    original, damaged = await build_and_damage(store, plan, damage, compact)
    version = await store.version(SESSION)
    try:
        result = await arecover_corrupted_memory(SESSION, store)
    except MemcoreError:  # allowed, but then nothing may have changed
        result = None
    event(f"outcome: {result and (result.success, result.rebuild_required)}")
    if result is None:
        assert await records_of(store) == damaged
        return
    after = await records_of(store)
    if result.success:
        assert after == original, result.message
        assert (await verify_session(SESSION, store)).state_ok
        assert await store.version(SESSION) == version + (damaged != original)
    else:
        assert after == damaged
        assert await store.version(SESSION) == version
        assert damaged != original  # an intact item set never needs (or fails) recovery
        if await store.journal_floor(SESSION) > 0:
            assert result.rebuild_required
            assert "journal was compacted" in result.message
    if {target for target, *_ in damage} <= {"item", "cut"}:  # journal intact: must succeed
        assert result.success, result.message
        assert result.updates_applied <= len(await store.read_journal(SESSION, 0))


PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(PROPERTY, max_examples=80)
@given(plan=steps, damage=damages)
def test_random_damage_memory(plan: list[tuple[dict[str, Any], bool]], damage: list[Any]) -> None:
    """Random histories, random byte damage: recovered exactly, or reported and left as is."""
    asyncio.run(recover_or_change_nothing(MemoryStore(), plan, damage))


@settings(PROPERTY, max_examples=60)
@given(plan=steps, damage=damages)
def test_random_damage_with_compaction_memory(
    plan: list[tuple[dict[str, Any], bool]], damage: list[Any]
) -> None:
    asyncio.run(recover_or_change_nothing(MemoryStore(), plan, damage, compact=True))


def on_store(
    url: str, plan: list[tuple[dict[str, Any], bool]], damage: list[Any], compact: bool = False
) -> None:
    """``recover_or_change_nothing`` on a store opened from ``url``, closed after."""

    async def scenario() -> None:
        store = open_store(url)
        try:
            await recover_or_change_nothing(store, plan, damage, compact)
        finally:
            await store.close()

    asyncio.run(scenario())


@settings(PROPERTY, max_examples=15)
@given(plan=steps, damage=damages)
def test_random_damage_with_compaction_redis(
    redis_server: RedisServer, plan: list[tuple[dict[str, Any], bool]], damage: list[Any]
) -> None:
    on_store(redis_server.clean_url(), plan, damage, compact=True)


@settings(PROPERTY, max_examples=25)
@given(plan=steps, damage=damages)
def test_random_damage_sqlite(
    tmp_path_factory: pytest.TempPathFactory,
    plan: list[tuple[dict[str, Any], bool]],
    damage: list[Any],
) -> None:
    path = tmp_path_factory.mktemp("prop") / "memory.db"
    on_store(f"sqlite:///{path}", plan, damage)


@settings(PROPERTY, max_examples=25)
@given(plan=steps, damage=damages)
def test_random_damage_redis(
    redis_server: RedisServer, plan: list[tuple[dict[str, Any], bool]], damage: list[Any]
) -> None:
    on_store(redis_server.clean_url(), plan, damage)


# --- recovery reports success only for what it read back ---------------------------------------


class DroppingWrites:
    """A store whose ``replace_state`` silently leaves one record out (as a damaged index made
    SQLite do): the write "succeeds", the state it leaves does not verify."""

    def __init__(self, inner: MemoryStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def replace_state(
        self, session_id: str, expected: int, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        kept = dict(sorted(records.items())[1:])
        return await self._inner.replace_state(session_id, expected, kept, digest)


async def test_recovery_reports_failure_when_its_write_does_not_read_back() -> None:
    inner = MemoryStore()
    entries = {k: Entry(MemoryItem(k, f"value of {k}"), i + 1, "w") for i, k in enumerate("abc")}
    records = {k: encode_entry(e) for k, e in entries.items()}
    assert await inner.commit(SESSION, 0, records, live_digest(entries)) == 1
    await create_backup(SESSION, inner)
    await tamper(inner, "b", flip(records["b"], 11))
    result = await arecover_corrupted_memory(SESSION, DroppingWrites(inner))
    assert not result.success
    assert "reading it back gives other records" in result.message
    assert "missing ['a']" in result.message
    assert not (await verify_session(SESSION, inner)).ok
    # the same repair through a store that writes what it is given does hold
    assert (await arecover_corrupted_memory(SESSION, inner)).success
    assert (await verify_session(SESSION, inner)).ok
