"""Commit first (issue 13): a replica that knows the store's exact state commits its pending keys
in one conditional transaction (``commit_if_unchanged``) and reads only when that fails.

* the store side: the commit lands only on exactly the expected version, stored digest,
  incarnation id and deletion count, and writes nothing otherwise;
* the sync side: with nothing changed remotely a sync is that one call; when another replica
  committed in between, the store lost its data, went back in time (same version, another
  digest) or the session was deleted, the conditional commit fails and the usual read, check and
  merge path converges exactly as before (conflicts reported, healing, deletions honoured);
* real processes on one SQLite file: nothing lost, every replica on the store's digest, and a
  writer alone on the store syncs in one call.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from memcore.errors import ValidationError
from memcore.model import MemoryItem
from memcore.recovery import verify_session
from memcore.stores import Store, open_store
from memcore.stores.base import (
    CONTENTION_WINDOW,
    CommitsIfUnchanged,
    Expected,
    Incarnation,
    commit_if_unchanged_of,
    commit_now_of,
    decode_entry,
    live_digest,
    read_and_commit_of,
)
from memcore.sync import DistributedMemoryManager
from tests.store_support import make_store
from tests.test_hardening_sync import (  # noqa: F401  (the lossy fixture)
    Lose,
    _copy_sqlite,
    lossy,
    remove_sqlite,
)
from tests.test_sync_processes import SESSION as LOOP_SESSION
from tests.test_sync_processes import bystander_process

SESSION = "s"


@pytest.fixture(params=["memory", "sqlite", "redis", "redis-cluster"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made = make_store(request.param, request, tmp_path)
    try:
        yield made
    finally:
        await made.close()


def conditional(store: Store) -> CommitsIfUnchanged:
    found = commit_if_unchanged_of(store)
    assert found is not None
    return found


def item(key: str, text: str) -> MemoryItem:
    return MemoryItem(key, text)


@contextmanager
def calls_to(store: Store) -> Iterator[list[str]]:
    """The store calls a sync makes (reads and commits of any kind), in order."""
    seen: list[str] = []
    names: tuple[str, ...] = ("read_changes", "commit", "commit_if_unchanged", "incarnation")
    if under_lock(store):
        names += ("read_and_commit",)
    originals = {name: getattr(store, name) for name in names}

    def spy(name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            result = await originals[name](*args, **kwargs)
            if name == "read_and_commit" and result is not None:
                # which way it went: the conditional commit landed, or it read and merged
                seen.append(f"{name}:{'first' if result[0] is None else 'read'}")
            else:
                seen.append(name)
            return result

        return call

    def spy_now(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            result = originals[name](*args, **kwargs)
            if result is not False:  # False: not tried (it would have had to wait)
                seen.append(name)
            return result

        return call

    for name in names:
        setattr(store, name, spy(name))
    if commit_now_of(store) is not None:
        originals["commit_now"] = store.commit_now  # type: ignore[attr-defined]
        setattr(store, "commit_now", spy_now("commit_now"))  # noqa: B010
        names += ("commit_now",)
    try:
        yield seen
    finally:
        for name in names:
            delattr(store, name)


def under_lock(store: Store) -> bool:
    """SQLite: a sync runs in one transaction under the write lock (``read_and_commit``),
    trying the conditional commit first inside it when the session is quiet."""
    return read_and_commit_of(store) is not None


def first_commit(store: Store) -> str:
    """The one call a sync on a quiet session makes."""
    if commit_now_of(store) is not None:
        return "commit_now"
    return "read_and_commit:first" if under_lock(store) else "commit_if_unchanged"


# --- the store side ------------------------------------------------------------------------------


async def test_it_lands_only_on_the_exact_expected_state(store: Store) -> None:
    assert await store.commit(SESSION, 0, {"a": b"a1"}, 11) == 1
    incarnation = await store.incarnation(SESSION)
    exact = Expected(1, 11, incarnation)
    wrong = [
        Expected(0, 11, incarnation),
        Expected(2, 11, incarnation),
        Expected(1, 12, incarnation),
        Expected(1, 11, Incarnation("another-store", incarnation.deletions)),
        Expected(1, 11, Incarnation(incarnation.store, incarnation.deletions + 1)),
    ]
    for expected in wrong:
        assert (
            await conditional(store).commit_if_unchanged(SESSION, expected, {"b": b"b"}, 2) is None
        )
    assert await store.version(SESSION) == 1
    assert (await store.read_changes(SESSION, 0)).records == {"a": b"a1"}
    assert [entry.key for entry in await store.read_journal(SESSION)] == ["a"]
    records = {"a": b"a2", "b": b"b1"}
    assert await conditional(store).commit_if_unchanged(SESSION, exact, records, 22) == 2
    delta = await store.read_changes(SESSION, 1)
    assert (delta.version, delta.records, delta.digest) == (2, records, 22)
    journal = await store.read_journal(SESSION, 1)
    assert sorted((e.version, e.key, e.record) for e in journal) == [
        (2, "a", b"a2"),
        (2, "b", b"b1"),
    ]
    # the same expectation again: the session has moved on
    assert await conditional(store).commit_if_unchanged(SESSION, exact, {"c": b"c"}, 3) is None
    assert await store.version(SESSION) == 2
    # one row (SQLite: one statement, its trigger writing the item and its journal entry)
    now = Expected(2, 22, incarnation)
    assert await conditional(store).commit_if_unchanged(SESSION, now, {"c": b"c1"}, 33) == 3
    delta = await store.read_changes(SESSION, 2)
    assert (delta.version, delta.records, delta.digest) == (3, {"c": b"c1"}, 33)
    assert [(e.version, e.key) for e in await store.read_journal(SESSION, 2)] == [(3, "c")]


async def test_a_session_deleted_and_made_again_is_not_the_expected_one(store: Store) -> None:
    await store.commit(SESSION, 0, {"a": b"a1"}, 11)
    before = await store.incarnation(SESSION)
    await store.delete_session(SESSION)
    await store.commit(SESSION, 0, {"a": b"a1"}, 11)  # same version, same digest, one deletion
    expected = Expected(1, 11, before)
    assert await conditional(store).commit_if_unchanged(SESSION, expected, {"b": b"b"}, 2) is None
    assert (await store.read_changes(SESSION, 0)).records == {"a": b"a1"}


async def test_bad_arguments_are_refused(store: Store) -> None:
    incarnation = Incarnation("x", 0)
    with pytest.raises(ValidationError):
        await conditional(store).commit_if_unchanged(SESSION, "v1", {}, 1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await conditional(store).commit_if_unchanged(SESSION, Expected(-1, 0, incarnation), {}, 1)
    with pytest.raises(ValidationError):
        await conditional(store).commit_if_unchanged(
            SESSION,
            Expected(0, 0, incarnation),
            {"k": "not bytes"},  # type: ignore[dict-item]
            1,
        )
    assert await store.version(SESSION) == 0


# --- the sync side -------------------------------------------------------------------------------


def _after_catch_ups(calls: list[str]) -> list[str]:
    """The calls of a sync after the reads it made while it waited for its turn at SQLite's
    lock (``writer_queue``: another replica keeps the turn until its loop's next moment)."""
    first = next((n for n, call in enumerate(calls) if call != "read_changes"), len(calls))
    return calls[first:]


def replicas(store: Store, *names: str) -> list[DistributedMemoryManager]:
    """Replicas on the store's data, each with its own store object where there is one."""
    return [
        DistributedMemoryManager(store if i == 0 else open_store(store.url), replica_id=name)
        if store.url != "memory://"
        else DistributedMemoryManager(store, replica_id=name)
        for i, name in enumerate(names)
    ]


async def close(*managers: DistributedMemoryManager) -> None:
    for manager in managers:
        if manager.store is not managers[0].store:
            await manager.store.close()


async def test_with_nothing_changed_remotely_a_sync_is_one_conditional_commit(
    store: Store,
) -> None:
    [a] = replicas(store, "a")
    a.set(SESSION, "k0", item("k0", "v0"))
    await a.sync_session_memory(SESSION)
    await a.sync_session_memory(SESSION)  # a Redis session has its incarnation id from now on
    with calls_to(store) as calls:
        for i in range(1, 4):
            a.set(SESSION, f"k{i}", item(f"k{i}", f"v{i}"))
            result = await a.sync_session_memory(SESSION)
            assert (result.success, result.synced_items, result.version) == (True, 1, 1 + i)
    assert calls == [first_commit(store)] * 3
    assert a.pending(SESSION) == frozenset()
    snapshot = await store.read_snapshot(SESSION)
    entries = {key: decode_entry(record) for key, record in snapshot.records.items()}
    assert a.metadata(SESSION).checksum == snapshot.digest == live_digest(entries)
    assert (await verify_session(SESSION, store)).ok


async def test_another_replicas_commit_makes_it_fail_and_the_sync_merges(store: Store) -> None:
    a, b = replicas(store, "a", "b")
    for manager in (a, b):
        manager.set(SESSION, f"own-{manager.replica_id}", item(f"own-{manager.replica_id}", "mine"))
        await manager.sync_session_memory(SESSION)
    for _ in range(2):  # the first merges b's commit, the second finds the session quiet
        await a.sync_session_memory(SESSION)
    b.set(SESSION, "both", item("both", "b's"))
    assert (await b.sync_session_memory(SESSION)).success
    a.set(SESSION, "both", item("both", "a's, later"))
    a.set(SESSION, "only-a", item("only-a", "a"))
    with calls_to(a.store) as calls:
        result = await a.sync_session_memory(SESSION, strategy="local-wins")
    if under_lock(store):  # the miss costs no retry: the read and merge follow in the lock
        # (before it, a sync waiting for the turn b keeps a moment reads what b committed; a
        # slow machine's turn may be let go first (its releaser's 2 ms of disuse), and then the
        # sync tries its commit at once and misses: one try, then the read in the lock)
        assert _after_catch_ups(calls) in (
            ["read_and_commit:read"],
            ["commit_now", "read_and_commit:read"],
        )
    else:
        assert calls[:2] == ["commit_if_unchanged", "read_changes"]
        assert "commit" in calls
    assert result.success
    assert [(c.key, c.winner) for c in result.conflicts] == [("both", "local")]
    await b.sync_session_memory(SESSION)  # merges a's commit: the session was not quiet
    b.set(SESSION, "after", item("after", "b"))
    with calls_to(b.store) as calls:  # so b reads first (and finds it quiet now)...
        assert (await b.sync_session_memory(SESSION)).success
    # (a's turn at SQLite's lock may outlast its sync on a loaded machine: b catches up first)
    if under_lock(store):
        assert _after_catch_ups(calls)[0] == "read_and_commit:read"
    else:
        assert calls[0] == "read_changes"
    assert "commit_if_unchanged" not in calls
    b.set(SESSION, "after", item("after", "b, again"))
    with calls_to(b.store) as calls:  # ...and commits first from then on
        assert (await b.sync_session_memory(SESSION)).success
    assert (_after_catch_ups(calls) if under_lock(store) else calls) == [first_commit(store)]
    await a.sync_session_memory(SESSION)
    for manager in (a, b):
        state = {key: value.content for key, value in manager.state(SESSION).items()}
        assert state == {
            "own-a": "mine",
            "own-b": "mine",
            "both": "a's, later",
            "only-a": "a",
            "after": "b, again",
        }
        assert manager.metadata(SESSION).checksum == a.metadata(SESSION).checksum
    assert (await verify_session(SESSION, store)).ok
    await close(a, b)


async def test_a_store_that_lost_its_data_is_not_committed_over(
    lossy: tuple[Store, Lose],  # noqa: F811
) -> None:
    """b merged version 3 and has a write pending; the store loses everything and a writer
    brings it back to version 3: b's conditional commit fails, and b heals the store."""
    store, lose = lossy
    a = DistributedMemoryManager(store, replica_id="a")
    b = DistributedMemoryManager(store, replica_id="b")
    for i in range(3):
        a.set(SESSION, f"k{i}", item(f"k{i}", "old"))
        await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    b.set(SESSION, "b-pending", item("b-pending", "b"))
    await lose()
    writer = DistributedMemoryManager(store, replica_id="w")
    for i in range(3):
        writer.set(SESSION, f"new{i}", item(f"new{i}", "new"))
        await writer.sync_session_memory(SESSION)
    assert await store.version(SESSION) == 3
    assert (await b.sync_session_memory(SESSION)).success
    expected = {"k0", "k1", "k2", "new0", "new1", "new2", "b-pending"}
    assert set(b.state(SESSION)) == expected
    assert b.sync_diagnostics(SESSION).went_back == 1
    for _ in range(2):
        for manager in (a, b, writer):
            assert (await manager.sync_session_memory(SESSION)).success
    for manager in (a, b, writer):
        assert set(manager.state(SESSION)) == expected
        assert manager.metadata(SESSION).checksum == b.metadata(SESSION).checksum
    assert (await verify_session(SESSION, store)).ok
    await store.close()


async def test_the_same_version_with_another_digest_is_not_committed_over(tmp_path: Path) -> None:
    """An SQLite file replaced by an older copy (same incarnation) and brought back to the version
    b merged, with other contents: only the digest tells, and b's commit must not land."""
    path, older = tmp_path / "memory.db", tmp_path / "older.db"
    url = f"sqlite:///{path}"
    a = DistributedMemoryManager(url, replica_id="a")
    b = DistributedMemoryManager(url, replica_id="b")
    a.set(SESSION, "k0", item("k0", "a"))
    await a.sync_session_memory(SESSION)
    await a.store.close()
    _copy_sqlite(path, older)
    for key in ("k1", "k2"):
        a.set(SESSION, key, item(key, "a"))
        await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)  # b merged version 3
    await b.sync_session_memory(SESSION)  # and found the session quiet since
    b.set(SESSION, "b-pending", item("b-pending", "b"))
    for manager in (a, b):
        await manager.store.close()
    remove_sqlite(path)
    _copy_sqlite(older, path)  # version 1 again, same incarnation
    other = DistributedMemoryManager(url, replica_id="c")
    for key in ("c1", "c2"):
        other.set(SESSION, key, item(key, "c"))
        await other.sync_session_memory(SESSION)
    assert await other.store.version(SESSION) == 3  # b's version, another digest
    with calls_to(b.store) as calls:
        assert (await b.sync_session_memory(SESSION)).success
    # the conditional commit misses; what the read finds is left to the sync's full loop
    assert _after_catch_ups(calls)[:2] == ["read_and_commit:read", "read_changes"]
    assert "another digest" in str(b.sync_diagnostics(SESSION).last_went_back)
    for _ in range(2):
        for manager in (a, b, other):
            assert (await manager.sync_session_memory(SESSION)).success
    for manager in (a, b, other):
        assert set(manager.state(SESSION)) == {"k0", "k1", "k2", "c1", "c2", "b-pending"}
    assert (await verify_session(SESSION, url)).ok
    for manager in (a, b, other):
        await manager.close()


async def test_a_deleted_session_is_not_committed_over(store: Store) -> None:
    a, b = replicas(store, "a", "b")
    a.set(SESSION, "old", item("old", "a"))
    await a.sync_session_memory(SESSION)
    await a.sync_session_memory(SESSION)
    a.set(SESSION, "a-pending", item("a-pending", "a"))
    await store.delete_session(SESSION)
    b.set(SESSION, "new", item("new", "b"))
    await b.sync_session_memory(SESSION)  # version 1 again, one deletion later
    assert (await a.sync_session_memory(SESSION)).success
    await b.sync_session_memory(SESSION)
    assert set(a.state(SESSION)) == set(b.state(SESSION)) == {"new", "a-pending"}
    assert a.sync_diagnostics(SESSION).went_back == 0
    assert (await verify_session(SESSION, store)).ok
    await close(a, b)


async def test_group_commit_carries_every_task_in_one_conditional_commit(store: Store) -> None:
    [a] = replicas(store, "a")
    a.set(SESSION, "first", item("first", "x"))
    await a.sync_session_memory(SESSION)
    await a.sync_session_memory(SESSION)

    async def writer(index: int) -> int:
        a.set(SESSION, f"t{index}", item(f"t{index}", "x"))
        result = await a.sync_session_memory(SESSION)
        assert result.success
        return result.version

    with calls_to(store) as calls:
        versions = await asyncio.gather(*(writer(i) for i in range(4)))
    assert calls == [first_commit(store)]
    assert versions == [2, 2, 2, 2]
    assert a.pending(SESSION) == frozenset()


# --- real processes on one SQLite file ---------------------------------------------------------

PROCESSES = 4
ROUNDS = 15


def _process(url: str, index: int, alone: Any, done: Any, queue: Any) -> None:
    async def main() -> None:
        manager = DistributedMemoryManager(url, replica_id=f"p{index}")
        store = manager.store
        counted = {"fast": 0}
        inner = store.read_and_commit  # type: ignore[attr-defined]

        async def counting(*args: Any, **kwargs: Any) -> Any:
            done = await inner(*args, **kwargs)
            counted["fast"] += done is not None and done[0] is None  # the first try landed
            return done

        store.read_and_commit = counting  # type: ignore[attr-defined]
        now = store.commit_now  # type: ignore[attr-defined]

        def counting_now(*args: Any) -> Any:
            landed = now(*args)
            counted["fast"] += landed is not None and landed is not False
            return landed

        store.commit_now = counting_now  # type: ignore[attr-defined]
        for n in range(ROUNDS):  # all at once: the conditional commits mostly fail, and merge
            manager.set(SESSION, f"p{index}-{n % 5}", item(f"p{index}-{n % 5}", f"{n}"))
            manager.set(SESSION, "shared", item("shared", f"p{index}/{n}"))
            assert (await manager.sync_session_memory(SESSION)).success
        fast_before = counted["fast"]
        done.wait()  # every process is through its contended rounds
        with alone:  # alone on the store: once the others' lost races are older than the
            # contention window, the first sync merges what the others committed, the second
            # finds the session quiet, and from the third on a sync commits first
            await asyncio.sleep(CONTENTION_WINDOW)
            for n in range(4):
                manager.set(SESSION, f"alone-{index}", item(f"alone-{index}", f"{n}"))
                assert (await manager.sync_session_memory(SESSION)).success
        alone_fast = counted["fast"] - fast_before
        queue.put((index, alone_fast))
        await manager.close()

    asyncio.run(main())


async def test_processes_converge_and_a_lone_writer_commits_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'procs.db'}"
    setup = DistributedMemoryManager(url, replica_id="setup")
    setup.set(SESSION, "seed", item("seed", "s"))
    await setup.sync_session_memory(SESSION)
    context = multiprocessing.get_context("spawn")
    alone, done, queue = context.Lock(), context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_process, args=(url, i, alone, done, queue))
        for i in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        await asyncio.to_thread(worker.join, 60)
        assert worker.exitcode == 0
    reports = dict(queue.get(timeout=5) for _ in workers)
    assert all(fast >= 2 for fast in reports.values()), reports
    await setup.sync_session_memory(SESSION)
    state = {key: value.content for key, value in setup.state(SESSION).items()}
    for i in range(PROCESSES):
        assert state[f"alone-{i}"] == "3"
        for k in range(5):
            assert state[f"p{i}-{k}"] == str(max(n for n in range(ROUNDS) if n % 5 == k))
    assert state["shared"].endswith(f"/{ROUNDS - 1}")
    health = await verify_session(SESSION, url)
    assert health.ok, health.describe()
    snapshot = await setup.store.read_snapshot(SESSION)
    assert setup.metadata(SESSION).checksum == snapshot.digest
    await setup.close()


# --- fairness: a writer that lost a race is not starved by one that commits first ---------------

FAIR_SYNCS = 20
FAIR_SECONDS = 20.0


def _merger(url: str, queue: Any) -> None:
    """``FAIR_SYNCS`` syncs of three new keys each (so each must merge the loop's changes
    first), within ``FAIR_SECONDS``: reports how many landed and whether anything stayed pending."""

    async def main() -> None:
        manager = DistributedMemoryManager(url, replica_id="merger")
        deadline = time.monotonic() + FAIR_SECONDS
        synced = 0
        for n in range(FAIR_SYNCS):
            if time.monotonic() > deadline:
                break
            for k in range(3):
                manager.set(LOOP_SESSION, f"m{n}-{k}", item(f"m{n}-{k}", str(n)))
            synced += (await manager.sync_session_memory(LOOP_SESSION)).success
        queue.put((synced, len(manager.pending(LOOP_SESSION))))
        await manager.close()

    asyncio.run(main())


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_writer_is_not_starved_by_another_committing_first_in_a_tight_loop(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A process syncing in a tight loop commits first, one transaction a sync; a replica that
    must merge its changes first needs a read, a merge and a commit, and would nearly always find
    the session moved again. Its lost race marks the session contended, so the loop reads first
    too, and both make progress. (Without the mark the two can lock into step: in some runs on
    SQLite the merger landed no sync at all in 8 seconds.)"""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fair.db'}"
    else:
        url = request.getfixturevalue("redis_url")
    context = multiprocessing.get_context("spawn")
    stop, queue = context.Event(), context.Queue()
    loop_writer = context.Process(target=bystander_process, args=(url, stop))
    loop_writer.start()
    try:
        time.sleep(1.0)  # the loop writer is up and committing first
        merger = context.Process(target=_merger, args=(url, queue))
        merger.start()
        merger.join(FAIR_SECONDS + 30)
        assert merger.exitcode == 0
        synced, pending = queue.get(timeout=5)
    finally:
        stop.set()
        loop_writer.join(30)
    assert loop_writer.exitcode == 0
    # every write landed, and nearly every sync: a sync can still lose all its compare-and-set
    # rounds to a loop that does nothing but commit (seen once in a few runs, pure twins)
    assert pending == 0
    assert synced >= FAIR_SYNCS - 2, f"{synced} of {FAIR_SYNCS} syncs landed"
