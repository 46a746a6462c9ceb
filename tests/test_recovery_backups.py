"""Backups (rotation, refusal of a corrupted state, the stock tools open them) and journal
compaction (what every kept backup needs stays; recovery after it).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import msgpack
import pytest

from memcore.codec import decode_bundle
from memcore.errors import CorruptedMemoryError, NotFoundError, ValidationError
from memcore.recovery import (
    arecover_corrupted_memory,
    create_backup,
    verify_session,
)
from memcore.stores.base import (
    Store,
)
from memcore.stores.memory import MemoryStore
from tests.recovery_support import (  # noqa: F401  (the fixtures store and url)
    DELETE,
    SESSION,
    assert_intact,
    commit,
    flip,
    history,
    records_of,
    rewrite_backups,
    store_fixture,
    tamper,
    url_fixture,
)

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


async def test_backup_of_a_session_never_written_creates_nothing(
    store: Store, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match="nothing to back up"):
        await create_backup("typo", store)
    assert "typo" not in await store.list_sessions()
    assert await store.list_backups("typo") == []
    missing = tmp_path / "no-such" / "memory.db"  # a URL naming no store: none is made
    with pytest.raises(NotFoundError):
        await create_backup(SESSION, f"sqlite:///{missing}")
    assert not missing.exists()
    assert not missing.parent.exists()


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
