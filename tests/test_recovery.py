"""Recovery on real stores (memory, SQLite files, a real Redis and Redis Cluster): a state that
is fine needs nothing; damaged items are recovered from backups and the journal, or left
untouched when they cannot be; commits made during a recovery are kept.

States are written straight through ``Store.commit`` with ``encode_entry`` records (no sync
layer), damaged byte by byte, and recovered; the checks compare the stored records with the
pre-damage bytes, not with anything recovery itself reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from memcore.codec import bundle_codec, decode_bundle, encode_bundle
from memcore.errors import ValidationError
from memcore.model import RecoveryResult
from memcore.recovery import (
    MAX_ATTEMPTS,
    arecover_corrupted_memory,
    create_backup,
    recover_corrupted_memory,
    verify_session,
)
from memcore.stores.base import (
    Entry,
    Store,
    decode_entry,
    encode_entry,
)
from memcore.stores.memory import MemoryStore
from tests.recovery_support import (  # noqa: F401  (the fixtures store and url)
    DELETE,
    SESSION,
    assert_intact,
    commit,
    commit_with_bad_key,
    damage_journal,
    flip,
    history,
    records_of,
    rewrite_backups,
    store_fixture,
    tamper,
    url_fixture,
)

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


async def test_a_damaged_journal_entry_is_bridged_by_its_key_s_intact_record(
    store: Store,
) -> None:
    """v4's journal records (``a`` rewritten, ``c`` deleted) are damaged and so is the item
    ``g`` written at v5: the backup at v3, the journal's readable v5, and the intact stored
    records of ``a`` and ``c`` (each its key's last write) give the kept digest."""
    before = await history(store)
    await damage_journal(store, version=4)
    await tamper(store, "g", flip(before["g"], 7))
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert not result.rebuild_required
    # (a backend that keeps a commit's records in one row may lose only one of them to a flip)
    assert "damaged journal entries bridged" in result.message or (
        "1 damaged journal entry bridged" in result.message
    )
    await assert_intact(store, before)


async def test_a_damaged_journal_entry_is_bridged_in_a_rebuild_from_the_journal(
    store: Store,
) -> None:
    await commit(store, {"x": "one", "y": "why"})
    await commit(store, {"x": "two"})
    await commit(store, {"z": "zed"})
    before = await records_of(store)
    await damage_journal(store, version=2)
    await tamper(store, "y", flip(before["y"], 3))
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert result.rebuild_required
    assert "the journal alone" in result.message
    assert "1 damaged journal entry" in result.message
    await assert_intact(store, before)


async def test_a_damaged_journal_entry_of_a_damaged_item_is_not_bridged(store: Store) -> None:
    """The damaged entry is ``h``'s last write and ``h``'s item is damaged too: nothing tells
    its value, so nothing is written."""
    await history(store)
    await commit(store, {"h": "hotel"})
    before = await records_of(store)
    await damage_journal(store, version=6)
    await tamper(store, "h", flip(before["h"], 7))
    damaged = await records_of(store)
    result = await arecover_corrupted_memory(SESSION, store)
    assert not result.success
    assert "journal corrupted at v6" in result.message
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


async def test_a_wrong_digest_that_records_and_journal_both_contradict_is_rewritten(
    store: Store,
) -> None:
    """Every record decodes and the whole journal rebuilds exactly them, but the kept digest
    disagrees: of the three, the one value is the damaged one. It is written again from the
    records (it was left as it was, and no command could repair the session: ``verify`` kept
    failing); the records stay as they are."""
    await commit(store, {"a": 1})
    snapshot = await store.read_snapshot(SESSION)
    await store.commit(SESSION, snapshot.version, {"b": encode_entry(Entry(2, 5, "w"))}, 12345)
    before = await records_of(store)
    health = await verify_session(SESSION, store)
    assert health.bad_keys == ()
    assert not health.digest_ok
    result = await arecover_corrupted_memory(SESSION, store)
    assert result.success, result.message
    assert "the stored digest was off" in result.message
    assert (result.updates_applied, result.rebuild_required) == (0, False)
    assert await records_of(store) == before
    assert (await verify_session(SESSION, store)).ok
    again = await arecover_corrupted_memory(SESSION, store)
    assert again.success
    assert "nothing to do" in again.message


async def test_a_wrong_digest_is_not_rewritten_when_the_journal_says_otherwise(
    store: Store,
) -> None:
    """The records and the journal disagree as well: there is no second witness for the
    records, so nothing is written."""
    await commit(store, {"a": 1})
    snapshot = await store.read_snapshot(SESSION)
    await store.commit(SESSION, snapshot.version, {"b": encode_entry(Entry(2, 5, "w"))}, 12345)
    await tamper(store, "b", encode_entry(Entry(3, 6, "w")))  # (decodes; the journal has 2)
    before = await records_of(store)
    result = await arecover_corrupted_memory(SESSION, store)
    assert not result.success
    assert await records_of(store) == before


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


def test_a_url_that_names_no_store_is_not_found_and_nothing_is_made(tmp_path: Path) -> None:
    """A mistyped path was made (folders and file) and its session reported intact."""
    from memcore import recover_corrupted_memory
    from memcore.errors import NotFoundError

    missing = tmp_path / "does" / "not" / "exist.db"
    with pytest.raises(NotFoundError, match="no memcore store"):
        recover_corrupted_memory("s", store=f"sqlite:///{missing}")
    assert list(tmp_path.iterdir()) == []
