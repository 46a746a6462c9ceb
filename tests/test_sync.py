"""DistributedMemoryManager on every store backend: local operations, sync and conflicts, rejected
writes and group commit.

The same suite runs on ``memory://``, a SQLite file in ``tmp_path``, a real redis-server and a
real three-node Redis Cluster (the ``backend`` fixture, ``tests.sync_support``). The only test
doubles are thin wrappers around a real store that count what it returns, make it yield to the
event loop (so replicas in one loop really interleave) or make it fail on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from memcore.codec import state_checksum
from memcore.errors import BackendError, CorruptedMemoryError, ValidationError
from memcore.hlc import HybridLogicalClock
from memcore.model import MemoryItem
from memcore.stores.base import decode_entry
from memcore.stores.memory import MemoryStore
from memcore.sync import DistributedMemoryManager
from tests.sync_support import (
    SESSION,
    Backend,
    FakeWall,
    Wrapped,
    content,
    contents,
    item,
    stored_state,
)

# --- local operations ------------------------------------------------------------------------


async def test_local_writes_reads_and_pending_without_touching_the_store() -> None:
    store = Wrapped(MemoryStore())
    manager = DistributedMemoryManager(storage_backend=store, replica_id="solo")
    manager.set(SESSION, "a", item("a", "alpha", kind="fact"))
    manager.set(SESSION, "b", {"id": "b", "content": "beta", "priority": "high"})
    got = manager.get(SESSION, "b")
    assert isinstance(got, MemoryItem)
    assert got.content == "beta"
    assert got.priority == "high"
    assert manager.get(SESSION, "missing") is None
    assert contents(manager) == {"a": "alpha", "b": "beta"}
    manager.delete(SESSION, "a")
    assert manager.get(SESSION, "a") is None
    assert contents(manager) == {"b": "beta"}
    assert manager.pending(SESSION) == {"a", "b"}
    entry = manager.entry(SESSION, "a")
    assert entry is not None
    assert entry.deleted
    assert entry.replica == "solo"
    assert store.records_fetched == []
    assert store.commits == 0
    # the local digest is the checksum of the live state
    assert manager.metadata(SESSION).checksum == state_checksum(manager.state(SESSION))
    assert manager.metadata(SESSION).last_sync is None


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("set", ("bad:session", "k", {"id": "k", "content": "x"})),
        ("set", (SESSION, "", {"id": "k", "content": "x"})),
        ("set", (SESSION, "k", "not an item")),
        ("set", (SESSION, "k", {"id": "k"})),
        ("set", (SESSION, "k", {"id": "k", "content": "x", "surprise": 1})),
        ("delete", (SESSION, "bad\nkey")),
        ("get", ("", "k")),
    ],
)
def test_bad_input_raises_validation_error(call: str, args: tuple[Any, ...]) -> None:
    manager = DistributedMemoryManager(storage_backend=MemoryStore(), replica_id="solo")
    with pytest.raises(ValidationError):
        getattr(manager, call)(*args)
    assert manager.pending(SESSION) == frozenset()


@pytest.mark.parametrize(
    "options",
    [
        {"strategy": "newest"},
        {"sync_interval": 0},
        {"sync_interval": float("nan")},
        {"replica_id": ""},
        {"storage_backend": 42},
        {"storage_backend": "ftp://nowhere"},
        {"max_attempts": 0},
    ],
)
def test_bad_constructor_arguments(options: dict[str, Any]) -> None:
    options.setdefault("storage_backend", "memory://")
    with pytest.raises(ValidationError):
        DistributedMemoryManager(**options)


async def test_invalid_strategy_on_sync_is_a_validation_error() -> None:
    manager = DistributedMemoryManager(storage_backend=MemoryStore())
    manager.set(SESSION, "a", item("a", "alpha"))
    with pytest.raises(ValidationError, match="strategy"):
        await manager.sync_session_memory(SESSION, strategy="random")
    assert manager.pending(SESSION) == {"a"}


def test_sync_module_is_loaded_lazily_from_the_package() -> None:
    import memcore

    assert memcore.DistributedMemoryManager is DistributedMemoryManager


# --- sync on every backend -------------------------------------------------------------------


async def test_one_sided_changes_are_taken_and_never_conflicts(backend: Backend) -> None:
    left, right = backend.manager("left"), backend.manager("right")
    left.set(SESSION, "l1", item("l1", "from left"))
    right.set(SESSION, "r1", item("r1", "from right"))
    first = await left.sync_session_memory(SESSION)
    assert first.success
    assert first.synced_items == 1
    second = await right.sync_session_memory(SESSION)
    assert (second.conflicts_resolved, second.synced_items) == (0, 2)  # pulled l1, pushed r1
    await left.sync_session_memory(SESSION)
    # one side edits an existing key, the other side adds a key: still no conflict
    left.set(SESSION, "r1", item("r1", "edited on left"))
    right.set(SESSION, "r2", item("r2", "more from right"))
    results = [await m.sync_session_memory(SESSION) for m in (left, right, left)]
    assert all(r.success and r.conflicts == [] for r in results)
    expected = {"l1": "from left", "r1": "edited on left", "r2": "more from right"}
    assert contents(left) == contents(right) == expected
    live, digest = await stored_state(backend.open())
    assert {k: v.content for k, v in live.items()} == expected
    assert left.metadata(SESSION).checksum == right.metadata(SESSION).checksum == digest


@pytest.mark.parametrize(
    ("strategy", "later_writer", "winner"),
    [
        ("remote-wins", "right", "remote"),
        ("remote-wins", "left", "remote"),
        ("local-wins", "right", "local"),
        ("local-wins", "left", "local"),
        ("timestamp", "left", "remote"),  # the remote (left) write is the later one
        ("timestamp", "right", "local"),
    ],
)
async def test_conflicts_are_settled_by_the_strategy(
    backend: Backend, strategy: str, later_writer: str, winner: str
) -> None:
    walls = {"left": FakeWall(1_000_000), "right": FakeWall(1_000_000)}
    left, right = (
        backend.manager(name, strategy=strategy, clock=HybridLogicalClock(walls[name]))
        for name in ("left", "right")
    )
    left.set(SESSION, "shared", item("shared", "base"))
    await left.sync_session_memory(SESSION)
    await right.sync_session_memory(SESSION)
    walls["left"].ms = walls["right"].ms = 2_000_000
    walls[later_writer].ms += 5_000
    left.set(SESSION, "shared", item("shared", "left edit"))
    right.set(SESSION, "shared", item("shared", "right edit"))
    right.set(SESSION, "only-right", item("only-right", "right alone"))
    pushed = await left.sync_session_memory(SESSION)
    assert pushed.conflicts == []
    result = await right.sync_session_memory(SESSION)
    assert result.success
    assert result.conflicts_resolved == 1
    (conflict,) = result.conflicts
    assert conflict.key == "shared"
    assert content(conflict.local) == "right edit"
    assert content(conflict.remote) == "left edit"
    assert conflict.winner == winner
    await left.sync_session_memory(SESSION)
    expected = "right edit" if winner == "local" else "left edit"
    assert contents(left) == contents(right) == {"shared": expected, "only-right": "right alone"}
    live, digest = await stored_state(backend.open())
    assert {k: v.content for k, v in live.items()} == contents(left)
    assert left.metadata(SESSION).checksum == right.metadata(SESSION).checksum == digest


async def test_timestamp_ties_are_broken_by_replica_id(backend: Backend) -> None:
    wall = FakeWall()
    a, b = (backend.manager(name, clock=HybridLogicalClock(wall)) for name in ("a", "b"))
    a.set(SESSION, "k", item("k", "from a"))
    b.set(SESSION, "k", item("k", "from b"))
    entry_a, entry_b = a.entry(SESSION, "k"), b.entry(SESSION, "k")
    assert entry_a is not None
    assert entry_b is not None
    assert entry_a.stamp == entry_b.stamp  # same wall clock, same counter: a true tie
    await b.sync_session_memory(SESSION)
    result = await a.sync_session_memory(SESSION)
    assert [c.winner for c in result.conflicts] == ["remote"]  # "b" > "a"
    await b.sync_session_memory(SESSION)
    assert contents(a) == contents(b) == {"k": "from b"}


async def test_a_write_made_after_seeing_another_wins_under_timestamp(backend: Backend) -> None:
    """Causality beats skewed wall clocks: the HLC moves past every stamp a replica has seen."""
    fast, slow = FakeWall(9_000_000), FakeWall(1_000_000)
    ahead = backend.manager("ahead", clock=HybridLogicalClock(fast))
    behind = backend.manager("behind", clock=HybridLogicalClock(slow))
    ahead.set(SESSION, "k", item("k", "first"))
    await ahead.sync_session_memory(SESSION)
    await behind.sync_session_memory(SESSION)
    behind.set(SESSION, "k", item("k", "second, written after seeing the first"))
    ahead.set(SESSION, "other", item("other", "x"))
    # behind's write is causally later although its wall clock is far behind
    await behind.sync_session_memory(SESSION)
    await ahead.sync_session_memory(SESSION)
    assert content(ahead.get(SESSION, "k")) == "second, written after seeing the first"


async def test_deletes_propagate_and_do_not_resurrect(backend: Backend) -> None:
    a, b = backend.manager("a"), backend.manager("b")
    a.set(SESSION, "doomed", item("doomed", "soon gone"))
    a.set(SESSION, "kept", item("kept", "stays"))
    await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    assert content(b.get(SESSION, "doomed")) == "soon gone"
    a.delete(SESSION, "doomed")
    await a.sync_session_memory(SESSION)
    b.set(SESSION, "new", item("new", "from b"))  # b still holds "doomed" as it was
    result = await b.sync_session_memory(SESSION)
    assert result.conflicts == []
    assert b.get(SESSION, "doomed") is None
    await a.sync_session_memory(SESSION)
    fresh = backend.manager("fresh")
    await fresh.sync_session_memory(SESSION)
    for replica in (a, b, fresh):
        assert contents(replica) == {"kept": "stays", "new": "from b"}
    live, digest = await stored_state(backend.open())
    assert set(live) == {"kept", "new"}
    snapshot = await backend.open().read_snapshot(SESSION)
    assert decode_entry(snapshot.records["doomed"]).deleted  # the tombstone is kept
    assert fresh.metadata(SESSION).checksum == digest


async def test_delete_against_a_concurrent_edit_is_a_conflict(backend: Backend) -> None:
    wall_a, wall_b = FakeWall(1_000), FakeWall(1_000)
    a = backend.manager("a", clock=HybridLogicalClock(wall_a))
    b = backend.manager("b", clock=HybridLogicalClock(wall_b))
    a.set(SESSION, "k", item("k", "v1"))
    await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    wall_b.ms = 5_000
    wall_a.ms = 9_000
    b.set(SESSION, "k", item("k", "edited by b"))
    a.delete(SESSION, "k")  # the later write: the delete wins under timestamp
    await b.sync_session_memory(SESSION)
    result = await a.sync_session_memory(SESSION)
    (conflict,) = result.conflicts
    assert conflict.local is None
    assert content(conflict.remote) == "edited by b"
    assert conflict.winner == "local"
    await b.sync_session_memory(SESSION)
    assert a.get(SESSION, "k") is None
    assert b.get(SESSION, "k") is None


async def test_delta_sync_reads_only_the_changed_keys(backend: Backend) -> None:
    writer = backend.manager("writer")
    for i in range(300):
        writer.set(SESSION, f"k{i:03d}", item(f"k{i:03d}", f"value {i}"))
    await writer.sync_session_memory(SESSION)
    store = backend.wrapped()
    reader = backend.manager("reader", store=store)
    first = await reader.sync_session_memory(SESSION)
    assert store.records_fetched == [300]
    assert first.synced_items == 300
    for i in range(0, 300, 60):
        writer.set(SESSION, f"k{i:03d}", item(f"k{i:03d}", f"changed {i}"))
    writer.delete(SESSION, "k299")
    await writer.sync_session_memory(SESSION)
    second = await reader.sync_session_memory(SESSION)
    assert store.records_fetched == [300, 6]
    assert second.synced_items == 6
    # a sync with nothing new fetches nothing; the replica's own commit is not fetched back
    reader.set(SESSION, "mine", item("mine", "reader's"))
    await reader.sync_session_memory(SESSION)
    await reader.sync_session_memory(SESSION)
    assert store.records_fetched == [300, 6, 0, 0]
    assert len(reader.state(SESSION)) == 300
    assert content(reader.get(SESSION, "k060")) == "changed 60"
    _live, digest = await stored_state(backend.open())
    assert reader.metadata(SESSION).checksum == digest


async def test_compare_and_set_retries_under_concurrent_syncs(backend: Backend) -> None:
    stores = [backend.wrapped(yield_each_call=True) for _ in range(5)]
    managers = [backend.manager(f"r{i}", store=s) for i, s in enumerate(stores)]
    for round_ in range(3):
        for i, manager in enumerate(managers):
            manager.set(SESSION, f"own-{i}-{round_}", item(f"own-{i}-{round_}", f"{i}/{round_}"))
            manager.set(SESSION, "shared", item("shared", f"{i}/{round_}"))
        results = await asyncio.gather(*(m.sync_session_memory(SESSION) for m in managers))
        assert all(r.success for r in results)
        assert all(m.pending(SESSION) == frozenset() for m in managers)
    for manager in managers:
        await manager.sync_session_memory(SESSION)
    states = [contents(m) for m in managers]
    assert all(s == states[0] for s in states)
    assert {k for k in states[0] if k.startswith("own-")} == {
        f"own-{i}-{r}" for i in range(5) for r in range(3)
    }
    assert sum(s.commits for s in stores) == 15  # every pending batch committed exactly once
    if backend.name == "memory":  # with yields between read and commit, the races are certain
        assert sum(s.lost_races for s in stores) >= 4
    live, digest = await stored_state(backend.open())
    assert all(m.metadata(SESSION).checksum == digest for m in managers)
    assert {k: v.content for k, v in live.items()} == states[0]


async def test_losing_every_race_reports_failure_and_keeps_changes_pending() -> None:
    shared = MemoryStore()
    fast = DistributedMemoryManager(storage_backend=Wrapped(shared, yield_each_call=True))
    slow_store = Wrapped(shared, yield_each_call=True)
    slow = DistributedMemoryManager(storage_backend=slow_store, max_attempts=1)
    fast.set(SESSION, "f", item("f", "fast"))
    slow.set(SESSION, "s", item("s", "slow"))
    won, lost = await asyncio.gather(
        fast.sync_session_memory(SESSION), slow.sync_session_memory(SESSION)
    )
    assert won.success
    assert not lost.success
    assert lost.error is not None
    assert "compare-and-set" in lost.error
    assert slow_store.lost_races == 1
    assert slow.pending(SESSION) == {"s"}
    retried = await slow.sync_session_memory(SESSION)
    assert retried.success
    assert contents(slow) == {"f": "fast", "s": "slow"}


async def test_a_write_during_the_commit_round_trip_stays_pending(backend: Backend) -> None:
    store = backend.wrapped()
    manager = backend.manager("a", store=store)
    manager.set(SESSION, "k", item("k", "first"))
    store.before_commit = lambda: manager.set(SESSION, "k", item("k", "second"))
    result = await manager.sync_session_memory(SESSION)
    assert result.success
    store.before_commit = None
    live, _ = await stored_state(backend.open())
    assert live["k"].content == "first"
    assert manager.pending(SESSION) == {"k"}  # the newer local write was not committed yet
    assert content(manager.get(SESSION, "k")) == "second"
    await manager.sync_session_memory(SESSION)
    assert manager.pending(SESSION) == frozenset()
    live, digest = await stored_state(backend.open())
    assert live["k"].content == "second"
    assert manager.metadata(SESSION).checksum == digest


async def test_backend_errors_propagate_and_keep_changes_pending(backend: Backend) -> None:
    store = backend.wrapped()
    manager = backend.manager("a", store=store)
    manager.set(SESSION, "k", item("k", "precious"))
    store.fail = BackendError("store unreachable")
    with pytest.raises(BackendError, match="unreachable"):
        await manager.sync_session_memory(SESSION)
    assert manager.pending(SESSION) == {"k"}
    assert content(manager.get(SESSION, "k")) == "precious"
    store.fail = None
    result = await manager.sync_session_memory(SESSION)
    assert result.success
    assert manager.pending(SESSION) == frozenset()
    other = backend.manager("b")
    await other.sync_session_memory(SESSION)
    assert contents(other) == {"k": "precious"}


async def test_a_lost_acknowledgement_is_not_a_conflict(backend: Backend) -> None:
    """The commit applied but its reply was lost: the next sync recognises its own records."""
    store = backend.wrapped()
    manager = backend.manager("a", store=store)
    manager.set(SESSION, "k", item("k", "once"))
    store.fail_after_commit = True
    with pytest.raises(BackendError):
        await manager.sync_session_memory(SESSION)
    assert manager.pending(SESSION) == {"k"}
    store.fail_after_commit = False
    result = await manager.sync_session_memory(SESSION)
    assert result.success
    assert result.conflicts == []
    assert manager.pending(SESSION) == frozenset()
    assert store.commits == 1  # not written twice
    _live, digest = await stored_state(backend.open())
    assert manager.metadata(SESSION).checksum == digest


async def test_digests_and_metadata_after_sync(backend: Backend) -> None:
    a, b = backend.manager("a"), backend.manager("b")
    for i in range(20):
        (a if i % 2 else b).set(SESSION, f"k{i}", item(f"k{i}", f"v{i}", n=i))
    a.delete(SESSION, "k3")
    await a.sync_session_memory(SESSION)
    last = await b.sync_session_memory(SESSION)
    await a.sync_session_memory(SESSION)
    store = backend.open()
    live, digest = await stored_state(store)
    meta_a, meta_b = a.metadata(SESSION), b.metadata(SESSION)
    assert meta_a.session_id == SESSION
    assert meta_a.version == meta_b.version == last.version == await store.version(SESSION)
    assert meta_a.checksum == meta_b.checksum == digest == state_checksum(live)
    assert state_checksum(a.state(SESSION)) == digest
    assert meta_a.last_sync is not None
    assert meta_a.last_sync.tzinfo is not None
    assert len(live) == 19


async def test_corrupted_records_are_reported_and_nothing_is_applied() -> None:
    store = MemoryStore()
    writer = DistributedMemoryManager(storage_backend=store, replica_id="w")
    writer.set(SESSION, "good", item("good", "fine"))
    writer.set(SESSION, "bad", item("bad", "will rot"))
    await writer.sync_session_memory(SESSION)
    snapshot = await store.read_snapshot(SESSION)
    rotten = bytearray(snapshot.records["bad"])
    rotten[-12] ^= 0xFF
    store._tamper(SESSION, "bad", bytes(rotten))
    reader = DistributedMemoryManager(storage_backend=store, replica_id="r")
    reader.set(SESSION, "mine", item("mine", "pending"))
    with pytest.raises(CorruptedMemoryError, match=r"'bad'.*recover_corrupted_memory"):
        await reader.sync_session_memory(SESSION)
    assert contents(reader) == {"mine": "pending"}
    assert reader.metadata(SESSION).version == 0
    assert reader.pending(SESSION) == {"mine"}


async def test_a_deleted_session_is_refetched_and_pending_changes_survive() -> None:
    store = MemoryStore()
    a = DistributedMemoryManager(storage_backend=store, replica_id="a")
    a.set(SESSION, "old", item("old", "before"))
    await a.sync_session_memory(SESSION)
    a.set(SESSION, "again", item("again", "after"))
    await a.sync_session_memory(SESSION)
    await store.delete_session(SESSION)
    b = DistributedMemoryManager(storage_backend=store, replica_id="b")
    b.set(SESSION, "new", item("new", "fresh start"))
    await b.sync_session_memory(SESSION)
    a.set(SESSION, "pending", item("pending", "kept"))
    await a.sync_session_memory(SESSION)  # store version 1 < a's 2: a refetches
    assert contents(a) == {"new": "fresh start", "pending": "kept"}
    _live, digest = await stored_state(store)
    assert a.metadata(SESSION).checksum == digest


# --- rejected writes, keys and ids (issue 14 items 1 and 17) ----------------------------------


async def test_a_rejected_write_changes_nothing_and_later_syncs_work(backend: Backend) -> None:
    """A value that cannot be encoded raises ``ValidationError`` before anything is marked
    pending: the replica, its digest and its later syncs are as if the write never happened."""
    manager = backend.manager("a")
    manager.set(SESSION, "a", item("a", "kept"))
    await manager.sync_session_memory(SESSION)
    before = (manager.state(SESSION), manager.metadata(SESSION).checksum)
    with pytest.raises(ValidationError):
        manager.set(SESSION, "b", MemoryItem("b", "x", metadata={"obj": object()}))
    with pytest.raises(ValidationError):
        manager.set(SESSION, "a", MemoryItem("a", "x", metadata={"big": 1 << 70}))
    assert manager.pending(SESSION) == frozenset()
    assert (manager.state(SESSION), manager.metadata(SESSION).checksum) == before
    manager.set(SESSION, "c", item("c", "after"))
    result = await manager.sync_session_memory(SESSION)
    assert result.success
    assert contents(manager) == {"a": "kept", "c": "after"}
    live, digest = await stored_state(backend.open())
    assert set(live) == {"a", "c"}
    assert digest == manager.metadata(SESSION).checksum


def test_a_mapping_without_id_takes_its_key() -> None:
    manager = DistributedMemoryManager("memory://", replica_id="a")
    manager.set(SESSION, "k1", {"content": "from a mapping", "priority": "high"})
    held = manager.get(SESSION, "k1")
    assert isinstance(held, MemoryItem)
    assert (held.id, held.content, held.priority.value) == ("k1", "from a mapping", "high")


@pytest.mark.parametrize(
    "value",
    [
        MemoryItem("other-id", "an item filed under another key"),
        {"id": "other-id", "content": "a mapping naming another id"},
    ],
)
def test_an_id_that_differs_from_its_key_is_refused(value: Any) -> None:
    manager = DistributedMemoryManager("memory://", replica_id="a")
    with pytest.raises(ValidationError, match="differs from its key"):
        manager.set(SESSION, "k1", value)
    assert manager.pending(SESSION) == frozenset()
    assert manager.state(SESSION) == {}


@pytest.mark.parametrize(
    "value",
    [
        MemoryItem("k1", "cut emoji \ud83d"),
        MemoryItem("k1", "x", metadata={"note": ["\udfff"]}),
        MemoryItem("k1", "x", metadata={"obj": object()}),
    ],
)
def test_a_value_refused_by_the_encoder_is_named_by_its_key(value: MemoryItem) -> None:
    """A lone surrogate deep in an item's metadata was refused with the codec's words alone
    ("cannot encode value: ... surrogates not allowed"): which of a batch of writes it was,
    the caller could not tell."""
    manager = DistributedMemoryManager("memory://", replica_id="a")
    with pytest.raises(ValidationError, match=r"^key 'k1': cannot encode"):
        manager.set(SESSION, "k1", value)
    assert manager.pending(SESSION) == frozenset()


@pytest.mark.parametrize("control", ["\x1b", "\x7f", "\x85", "\x9b"])
def test_a_key_with_a_control_character_is_refused(control: str) -> None:
    """C1 controls too (``\x9b`` is CSI to some terminals), as the README says of keys."""
    manager = DistributedMemoryManager("memory://", replica_id="a")
    with pytest.raises(ValidationError, match="control characters are not allowed"):
        manager.set(SESSION, f"a{control}b", {"content": "x"})
    assert manager.pending(SESSION) == frozenset()


# --- group commit --------------------------------------------------------------------------------


async def test_concurrent_syncs_of_one_session_share_commits(backend: Backend) -> None:
    """Eight tasks of one replica, each writing its own key and syncing at once: they join the
    commit in flight (or the next one) instead of each committing, every caller gets its own
    successful result, and every key reaches the store."""
    store = backend.wrapped(yield_each_call=True)
    manager = backend.manager("a", store=store)
    await manager.sync_session_memory(SESSION)

    async def writer(index: int) -> Any:
        manager.set(SESSION, f"k{index}", item(f"k{index}", str(index)))
        return await manager.sync_session_memory(SESSION)

    results = await asyncio.gather(*(writer(i) for i in range(8)))
    assert all(r.success for r in results)
    assert len({id(r) for r in results}) == 8  # each caller its own SyncResult
    assert store.commits <= 2
    assert store.lost_races == 0
    assert manager.pending(SESSION) == frozenset()
    live, digest = await stored_state(backend.open())
    assert {k: v.content for k, v in live.items()} == {f"k{i}": str(i) for i in range(8)}
    assert digest == manager.metadata(SESSION).checksum


async def test_a_failed_group_commit_keeps_every_callers_keys_pending(backend: Backend) -> None:
    store = backend.wrapped(yield_each_call=True)
    manager = backend.manager("a", store=store)
    store.fail = BackendError("the store went away")

    async def writer(index: int) -> Any:
        manager.set(SESSION, f"k{index}", item(f"k{index}", str(index)))
        return await manager.sync_session_memory(SESSION)

    outcomes = await asyncio.gather(*(writer(i) for i in range(4)), return_exceptions=True)
    assert all(isinstance(o, BackendError) for o in outcomes)
    assert manager.pending(SESSION) == frozenset(f"k{i}" for i in range(4))
    store.fail = None
    assert (await manager.sync_session_memory(SESSION)).success
    assert manager.pending(SESSION) == frozenset()
    live, _ = await stored_state(backend.open())
    assert set(live) == {f"k{i}" for i in range(4)}


async def test_a_cancelled_group_leader_leaves_its_followers_to_sync(backend: Backend) -> None:
    """Cancelling the task that runs a group's sync must not strand the callers waiting on it:
    they run the sync themselves, and their keys are committed."""
    store = backend.wrapped(yield_each_call=True)
    manager = backend.manager("a", store=store)
    manager.set(SESSION, "k0", item("k0", "0"))
    leader = asyncio.ensure_future(manager.sync_session_memory(SESSION))
    await asyncio.sleep(0)
    manager.set(SESSION, "k1", item("k1", "1"))
    follower = asyncio.ensure_future(manager.sync_session_memory(SESSION))
    await asyncio.sleep(0)
    leader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await leader
    result = await follower
    assert result.success
    assert manager.pending(SESSION) == frozenset()
    live, _ = await stored_state(backend.open())
    assert set(live) == {"k0", "k1"}
