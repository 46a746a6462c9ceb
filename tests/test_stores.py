"""One conformance suite for every Store backend (memory, sqlite, redis, redis cluster): versions,
compare-and-set, deltas, the journal, backups and sessions. What only one backend can show is in
``test_stores_sqlite`` and ``test_stores_redis``; bad input, round trips, random operations and
forks in ``test_stores_inputs``. The fixtures and ``make_store`` are in ``tests.store_support``."""

from __future__ import annotations

import asyncio
import time

import pytest

from memcore.errors import NotFoundError
from memcore.stores import Store
from tests.store_support import (  # noqa: F401  (the fixtures store and twin)
    make_store,
    rec,
    store_fixture,
    twin_fixture,
)

# --- conformance: versions, compare-and-set, deltas, journal ----------------------------------


async def test_fresh_session_is_empty(store: Store) -> None:
    assert await store.version("s") == 0
    snap = await store.read_snapshot("s")
    assert (snap.version, snap.records, snap.digest) == (0, {}, None)
    delta = await store.read_changes("s", 0)
    assert (delta.version, delta.records) == (0, {})
    assert await store.read_journal("s") == []
    assert await store.list_backups("s") == []
    assert await store.list_sessions() == []


async def test_commit_is_compare_and_set(store: Store) -> None:
    assert await store.commit("s", 0, {"a": rec("a1"), "b": rec("b1")}, 11) == 1
    # stale, and ahead: both refused, nothing written
    assert await store.commit("s", 0, {"a": rec("lost"), "z": rec("lost")}, 99) is None
    assert await store.commit("s", 5, {"a": rec("lost")}, 99) is None
    snap = await store.read_snapshot("s")
    assert (snap.version, snap.records, snap.digest) == (1, {"a": b"a1", "b": b"b1"}, 11)
    assert [(e.version, e.key) for e in await store.read_journal("s")] == [(1, "a"), (1, "b")]
    assert await store.commit("s", 1, {"a": rec("a2")}, 22) == 2
    snap = await store.read_snapshot("s")
    assert (snap.version, snap.records, snap.digest) == (2, {"a": b"a2", "b": b"b1"}, 22)
    assert await store.version("s") == 2


async def test_empty_commit_still_bumps_the_version(store: Store) -> None:
    assert await store.commit("s", 0, {}, 5) == 1
    assert await store.version("s") == 1
    assert (await store.read_snapshot("s")).digest == 5
    assert await store.read_journal("s") == []


async def test_read_changes_returns_latest_records_changed_after_a_version(store: Store) -> None:
    await store.commit("s", 0, {"a": rec("a1"), "b": rec("b1")}, 1)
    await store.commit("s", 1, {"a": rec("a2")}, 2)
    await store.commit("s", 2, {"c": rec("c1")}, 3)
    assert (await store.read_changes("s", 0)).records == {"a": b"a2", "b": b"b1", "c": b"c1"}
    delta = await store.read_changes("s", 1)
    assert (delta.version, delta.records) == (3, {"a": b"a2", "c": b"c1"})
    assert (await store.read_changes("s", 2)).records == {"c": b"c1"}
    assert (await store.read_changes("s", 3)).records == {}
    far = await store.read_changes("s", 99)
    assert (far.version, far.records) == (3, {})


async def test_journal_keeps_every_write_in_order(store: Store) -> None:
    await store.commit("s", 0, {"b": rec("b1"), "a": rec("a1")}, 1)
    await store.commit("s", 1, {}, 1)
    await store.commit("s", 2, {"a": rec("a2"), "c": rec("c1")}, 2)
    await store.commit("s", 3, {"a": rec("a3")}, 3)
    journal = [(e.version, e.key, e.record) for e in await store.read_journal("s")]
    assert journal == [
        (1, "b", b"b1"),
        (1, "a", b"a1"),
        (3, "a", b"a2"),
        (3, "c", b"c1"),
        (4, "a", b"a3"),
    ]
    assert [(e.version, e.key) for e in await store.read_journal("s", 1)] == [
        (3, "a"),
        (3, "c"),
        (4, "a"),
    ]
    assert [(e.version, e.key) for e in await store.read_journal("s", 2)] == [
        (3, "a"),
        (3, "c"),
        (4, "a"),
    ]
    assert [(e.version, e.key) for e in await store.read_journal("s", 3)] == [(4, "a")]
    assert await store.read_journal("s", 4) == []
    assert await store.read_journal("s", 100) == []


async def test_replace_state_makes_items_exactly_the_records(store: Store) -> None:
    await store.commit("s", 0, {"a": rec("a1"), "b": rec("b1")}, 1)
    await store.commit("s", 1, {"c": rec("c1")}, 2)
    journal_before = await store.read_journal("s")
    assert await store.replace_state("s", 1, {"x": rec("lost")}, 9) is None
    assert (await store.read_snapshot("s")).records == {"a": b"a1", "b": b"b1", "c": b"c1"}
    assert await store.replace_state("s", 2, {"b": rec("b2"), "d": rec("d1")}, 7) == 3
    snap = await store.read_snapshot("s")
    assert (snap.version, snap.records, snap.digest) == (3, {"b": b"b2", "d": b"d1"}, 7)
    # every surviving key is tagged with the new version, so every replica refetches it
    assert (await store.read_changes("s", 2)).records == {"b": b"b2", "d": b"d1"}
    assert await store.read_journal("s") == journal_before
    # and the session carries on normally
    assert await store.commit("s", 3, {"e": rec("e1")}, 8) == 4
    assert [(e.version, e.key) for e in await store.read_journal("s", 2)] == [(4, "e")]
    assert await store.replace_state("s", 4, {}, 0) == 5
    assert (await store.read_snapshot("s")).records == {}


async def test_concurrent_compare_and_set_loses_no_write(store: Store, twin: Store) -> None:
    """Tasks on two store objects race; each retries on None: every winner is a distinct
    version, the final version counts them, and every record landed."""
    tasks, per_task = 6, 8

    async def writer(idx: int, target: Store) -> list[int]:
        won: list[int] = []
        for n in range(per_task):
            while True:
                current = await target.version("race")
                new = await target.commit(
                    "race", current, {f"t{idx}-{n}": rec(f"{idx}:{n}"), "last": rec(str(idx))}, n
                )
                if new is not None:
                    won.append(new)
                    break
                await asyncio.sleep(0)
        return won

    results = await asyncio.gather(*(writer(i, store if i % 2 else twin) for i in range(tasks)))
    versions = sorted(v for won in results for v in won)
    assert versions == list(range(1, tasks * per_task + 1))
    snap = await store.read_snapshot("race")
    assert snap.version == tasks * per_task
    assert len(snap.records) == tasks * per_task + 1
    assert all(
        snap.records[f"t{i}-{n}"] == rec(f"{i}:{n}") for i in range(tasks) for n in range(per_task)
    )
    assert len(await twin.read_journal("race")) == 2 * tasks * per_task


async def test_deltas_carry_the_digest_and_the_last_replacement(store: Store) -> None:
    fresh = await store.read_changes("s", 0)
    assert (fresh.version, fresh.digest, fresh.replaced_at) == (0, None, 0)
    await store.commit("s", 0, {"a": rec("a1"), "b": rec("b1")}, 2**64 - 2)
    await store.commit("s", 1, {"c": rec("c1")}, 22)
    delta = await store.read_changes("s", 1)
    assert (delta.version, delta.records, delta.digest, delta.replaced_at) == (
        2,
        {"c": b"c1"},
        22,
        0,
    )
    assert await store.replace_state("s", 2, {"a": rec("a1"), "c": rec("c1")}, 33) == 3
    # the same delta read from before the replacement now holds every surviving key
    delta = await store.read_changes("s", 1)
    assert (delta.version, delta.records, delta.digest, delta.replaced_at) == (
        3,
        {"a": b"a1", "c": b"c1"},
        33,
        3,
    )
    assert await store.commit("s", 3, {"d": rec("d1")}, 44) == 4
    delta = await store.read_changes("s", 3)
    assert (delta.records, delta.digest, delta.replaced_at) == ({"d": b"d1"}, 44, 3)
    assert (await store.read_changes("s", 99)).digest == 44
    # a deleted session starts over with no replacement
    await store.delete_session("s")
    assert await store.commit("s", 0, {"a": rec("x")}, 5) == 1
    delta = await store.read_changes("s", 0)
    assert (delta.digest, delta.replaced_at) == (5, 0)


async def journal_of(store: Store, since: int = 0) -> list[tuple[int, str]]:
    return [(e.version, e.key) for e in await store.read_journal("s", since)]


async def test_truncate_journal_drops_the_head_and_raises_the_floor(store: Store) -> None:
    assert await store.truncate_journal("s", 5) == 0  # nothing written: nothing to do
    assert await store.journal_floor("s") == 0
    assert await store.list_sessions() == []
    await store.commit("s", 0, {"a": rec("a1"), "b": rec("b1")}, 1)  # v1: 2 entries
    await store.commit("s", 1, {}, 1)  # v2: none
    await store.replace_state("s", 2, {"a": rec("a1")}, 2)  # v3: none (not journaled)
    await store.commit("s", 3, {"a": rec("a2"), "c": rec("c1")}, 3)  # v4: 2 entries
    await store.commit("s", 4, {"b": rec("b2")}, 4)  # v5: 1 entry
    assert await store.truncate_journal("s", 2) == 2
    assert await store.journal_floor("s") == 2
    assert await journal_of(store) == [(4, "a"), (4, "c"), (5, "b")]
    assert await journal_of(store, 1) == [(4, "a"), (4, "c"), (5, "b")]
    assert await journal_of(store, 4) == [(5, "b")]
    # the floor only rises: at or below it nothing happens
    assert await store.truncate_journal("s", 1) == 0
    assert await store.truncate_journal("s", 2) == 0
    assert await store.journal_floor("s") == 2
    assert await store.truncate_journal("s", 3) == 0  # v3 had no entries, the floor still rises
    assert await store.journal_floor("s") == 3
    assert await journal_of(store, 2) == [(4, "a"), (4, "c"), (5, "b")]
    assert await store.truncate_journal("s", 4) == 2
    assert await journal_of(store) == [(5, "b")]
    # past the current version: clamped to it, later commits are journaled as usual
    assert await store.truncate_journal("s", 99) == 1
    assert await store.journal_floor("s") == 5
    assert await store.read_journal("s") == []
    assert await store.commit("s", 5, {"d": rec("d1")}, 6) == 6
    assert await store.commit("s", 6, {"e": rec("e1"), "f": rec("f1")}, 7) == 7
    assert await journal_of(store) == [(6, "d"), (7, "e"), (7, "f")]
    assert await journal_of(store, 6) == [(7, "e"), (7, "f")]
    assert await journal_of(store, 7) == []
    assert await store.truncate_journal("s", 6) == 1
    assert [(e.version, e.key, e.record) for e in await store.read_journal("s")] == [
        (7, "e", b"e1"),
        (7, "f", b"f1"),
    ]
    # items, snapshots and deltas are untouched by compaction
    snap = await store.read_snapshot("s")
    assert snap.records == {"a": b"a2", "b": b"b2", "c": b"c1", "d": b"d1", "e": b"e1", "f": b"f1"}
    assert (await store.read_changes("s", 6)).records == {"e": b"e1", "f": b"f1"}
    # the floor belongs to the session: other sessions keep their journal, deletion resets it
    await store.commit("t", 0, {"x": rec("x")}, 1)
    assert await store.journal_floor("t") == 0
    assert await store.truncate_journal("t", 0) == 0
    assert [e.key for e in await store.read_journal("t")] == ["x"]
    await store.delete_session("s")
    assert await store.journal_floor("s") == 0
    assert await store.commit("s", 0, {"n": rec("n")}, 1) == 1
    assert await journal_of(store) == [(1, "n")]


async def test_truncate_journal_racing_commits_loses_no_later_entry(
    store: Store, twin: Store
) -> None:
    """Compaction on one store object while another commits: every entry above the final
    floor is still there, in order, and nothing at or below it is."""

    async def writer() -> None:
        n = 0
        while n < 40:
            current = await twin.version("s")
            if await twin.commit("s", current, {f"k{n}": rec(str(n))}, n) is not None:
                n += 1
            await asyncio.sleep(0)

    async def compactor() -> int:
        dropped = 0
        for _ in range(20):
            dropped += await store.truncate_journal("s", max(0, await store.version("s") - 3))
            await asyncio.sleep(0)
        return dropped

    _, dropped = await asyncio.gather(writer(), compactor())
    floor = await store.journal_floor("s")
    assert dropped == floor
    assert await journal_of(store) == [(v, f"k{v - 1}") for v in range(floor + 1, 41)]


# --- conformance: backups, sessions ------------------------------------------------------------


async def test_backups_round_trip_newest_first(store: Store) -> None:
    before = time.time()
    first = await store.put_backup("s", 0, b"\x00snapshot-one")
    second = await store.put_backup("s", 3, b"two" * 1000)
    after = time.time()
    assert second.backup_id > first.backup_id
    assert (first.version, first.size, second.version, second.size) == (0, 13, 3, 3000)
    assert before - 1 <= first.created_at <= after + 1
    assert await store.list_backups("s") == [second, first]
    assert await store.get_backup("s", first.backup_id) == b"\x00snapshot-one"
    assert await store.get_backup("s", second.backup_id) == b"two" * 1000
    await store.delete_backup("s", second.backup_id)
    with pytest.raises(NotFoundError):
        await store.get_backup("s", second.backup_id)
    with pytest.raises(KeyError):  # NotFoundError is a KeyError too
        await store.get_backup("s", 12345)
    # ids are never reused, even after the newest was deleted
    third = await store.put_backup("s", 4, b"three")
    assert third.backup_id > second.backup_id
    assert [b.backup_id for b in await store.list_backups("s")] == [
        third.backup_id,
        first.backup_id,
    ]
    await store.delete_backup("s", 999)  # deleting what is not there is not an error
    assert await store.list_backups("other") == []
    with pytest.raises(NotFoundError):
        await store.get_backup("other", first.backup_id)


async def test_list_and_delete_sessions(store: Store) -> None:
    await store.commit("s1", 0, {"k": rec("1")}, 1)
    await store.commit("s2", 0, {"k": rec("2")}, 2)
    backup = await store.put_backup("s3", 0, b"only a backup")
    await store.version("read-only")  # reading does not create a session
    assert await store.list_sessions() == ["s1", "s2", "s3"]
    await store.put_backup("s1", 1, b"b")
    await store.delete_session("s1")
    assert await store.list_sessions() == ["s2", "s3"]
    assert await store.version("s1") == 0
    assert (await store.read_snapshot("s1")).records == {}
    assert await store.read_journal("s1") == []
    assert await store.list_backups("s1") == []
    # a deleted session starts over from version 0
    assert await store.commit("s1", 0, {"k": rec("new")}, 3) == 1
    assert [(e.version, e.record) for e in await store.read_journal("s1")] == [(1, b"new")]
    # a session that only had backups disappears with its last backup
    await store.delete_backup("s3", backup.backup_id)
    assert await store.list_sessions() == ["s1", "s2"]
    await store.delete_session("never-existed")
    assert (await store.read_snapshot("s2")).records == {"k": b"2"}


async def test_sessions_are_isolated(store: Store) -> None:
    await store.commit("alpha", 0, {"shared": rec("A"), "only-a": rec("A")}, 1)
    await store.commit("beta", 0, {"shared": rec("B")}, 2)
    await store.commit("beta", 1, {"shared": rec("B2")}, 3)
    await store.put_backup("alpha", 1, b"alpha backup")
    assert (await store.read_snapshot("alpha")).records == {"shared": b"A", "only-a": b"A"}
    assert (await store.read_snapshot("beta")).records == {"shared": b"B2"}
    assert (await store.read_changes("alpha", 0)).version == 1
    assert [e.record for e in await store.read_journal("beta")] == [b"B", b"B2"]
    assert await store.list_backups("beta") == []
    # a session named like the store's own bookkeeping is just another session
    await store.commit("sessions", 0, {"x": rec("x")}, 4)
    assert await store.list_sessions() == ["alpha", "beta", "sessions"]
    # keys that look like key names or patterns are plain data
    tricky = {"beta:items": rec("t1"), "memcore:beta:meta": rec("t2"), "*": rec("t3")}
    await store.commit("alpha", 1, tricky, 5)
    assert (await store.read_snapshot("beta")).records == {"shared": b"B2"}
    await store.delete_session("alpha")
    assert (await store.read_snapshot("beta")).records == {"shared": b"B2"}
    assert await store.list_sessions() == ["beta", "sessions"]
