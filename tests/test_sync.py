"""DistributedMemoryManager and the hybrid logical clock, on every store backend.

The same suite runs on ``memory://``, a SQLite file in ``tmp_path``, a real redis-server and a
real three-node Redis Cluster. The only test doubles are thin wrappers around a real store that
count what it returns, make it yield to the event loop (so replicas in one loop really
interleave) or make it fail on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from memcore import hlc
from memcore.codec import state_checksum
from memcore.errors import BackendError, CorruptedMemoryError, ValidationError
from memcore.hlc import HybridLogicalClock
from memcore.model import MemoryItem
from memcore.stores import Store, open_store
from memcore.stores.base import Delta, Expected, commit_if_unchanged_of, decode_entry, live_digest
from memcore.stores.memory import MemoryStore
from memcore.sync import DistributedMemoryManager

SESSION = "sync-test"
BACKENDS = ("memory", "sqlite", "redis", "redis-cluster")
T0 = datetime(2025, 6, 1, tzinfo=timezone.utc)


def item(key: str, content: str, **metadata: Any) -> MemoryItem:
    return MemoryItem(id=key, content=content, created_at=T0, metadata=metadata)


def content(value: Any) -> str | None:
    return None if value is None else MemoryItem.coerce(value).content


def contents(manager: DistributedMemoryManager, session: str = SESSION) -> dict[str, str]:
    return {k: MemoryItem.coerce(v).content for k, v in manager.state(session).items()}


class FakeWall:
    """A wall clock in ms that only moves when told to."""

    def __init__(self, ms: int = 1_700_000_000_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


# --- store wrappers --------------------------------------------------------------------------


class Wrapped:
    """A real store seen through a wrapper: counts deltas and commits, can yield and fail."""

    def __init__(self, inner: Store, *, yield_each_call: bool = False) -> None:
        self.inner = inner
        self.url = inner.url
        self.yield_each_call = yield_each_call
        self.fail: BackendError | None = None
        self.fail_after_commit = False
        self.before_commit: Callable[[], None] | None = None
        self.records_fetched: list[int] = []
        self.commits = 0
        self.lost_races = 0
        self.unchanged_misses = 0  # commit-first attempts that found the store changed
        self.closed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def _gate(self) -> None:
        if self.yield_each_call:
            await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail

    async def read_changes(self, session_id: str, since_version: int) -> Delta:
        await self._gate()
        delta = await self.inner.read_changes(session_id, since_version)
        self.records_fetched.append(len(delta.records))
        return delta

    async def _committing(
        self, write: Callable[[], Awaitable[int | None]], conditional: bool
    ) -> int | None:
        """A commit of either kind through the gate and the hooks, counted."""
        await self._gate()
        if self.before_commit is not None:
            self.before_commit()
        version = await write()
        if version is not None:
            self.commits += 1
        elif conditional:
            self.unchanged_misses += 1
        else:
            self.lost_races += 1
        if self.fail_after_commit:
            raise BackendError("connection lost after the commit was applied")
        return version

    async def commit(
        self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        return await self._committing(
            lambda: self.inner.commit(session_id, expected_version, records, digest),
            conditional=False,
        )

    async def commit_if_unchanged(
        self, session_id: str, expected: Expected, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        """The commit-first path, through the same gate and hooks as ``commit``."""
        inner = commit_if_unchanged_of(self.inner)
        if inner is None:
            return None
        return await self._committing(
            lambda: inner.commit_if_unchanged(session_id, expected, records, digest),
            conditional=True,
        )

    async def close(self) -> None:
        self.closed += 1


@dataclass
class Backend:
    """Opens stores on one shared backing: several replicas, one database."""

    name: str
    url: str
    shared: MemoryStore | None = None
    opened: list[Store] = field(default_factory=list)

    def open(self) -> Store:
        if self.shared is not None:
            return self.shared
        store = open_store(self.url)
        self.opened.append(store)
        return store

    def wrapped(self, **options: Any) -> Wrapped:
        return Wrapped(self.open(), **options)

    def manager(
        self, replica: str, *, store: Store | Wrapped | None = None, **options: Any
    ) -> DistributedMemoryManager:
        backend = store if store is not None else self.open()
        return DistributedMemoryManager(storage_backend=backend, replica_id=replica, **options)

    async def close(self) -> None:
        for store in self.opened:
            await store.close()


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not written yet")


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    name = request.param
    if name == "memory":
        made = Backend(name, "memory://", shared=MemoryStore())
    elif name == "sqlite":
        _require("memcore.stores.sqlite")
        made = Backend(name, f"sqlite:///{tmp_path / 'sync.db'}")
    else:
        _require("memcore.stores.redis")
        fixture = "redis_cluster_url" if name == "redis-cluster" else "redis_url"
        made = Backend(name, request.getfixturevalue(fixture))
    try:
        yield made
    finally:
        await made.close()


async def stored_state(store: Store, session: str = SESSION) -> tuple[dict[str, Any], int | None]:
    """(live values by key, kept digest) as the store holds them; checks every record decodes."""
    snapshot = await store.read_snapshot(session)
    entries = {key: decode_entry(record) for key, record in snapshot.records.items()}
    assert snapshot.digest == live_digest(entries)
    live = {key: e.value for key, e in entries.items() if not e.deleted}
    return live, snapshot.digest


# --- the hybrid logical clock ----------------------------------------------------------------


def test_hlc_now_is_strictly_increasing_when_the_wall_clock_stalls_or_goes_back() -> None:
    wall = FakeWall(5_000)
    clock = HybridLogicalClock(wall)
    first = clock.now()
    assert hlc.unpack(first) == (5_000, 0)
    second = clock.now()
    assert hlc.unpack(second) == (5_000, 1)
    wall.ms = 4_000  # the wall clock steps back: stamps keep increasing
    third = clock.now()
    assert third > second
    assert hlc.unpack(third) == (5_000, 2)
    wall.ms = 6_000
    assert hlc.unpack(clock.now()) == (6_000, 0)


def test_hlc_counter_overflow_carries_into_the_wall_time() -> None:
    clock = HybridLogicalClock(FakeWall(10), last=hlc.pack(10, hlc.COUNTER_MASK))
    stamp = clock.now()
    assert stamp > hlc.pack(10, hlc.COUNTER_MASK)
    assert hlc.unpack(stamp) == (11, 0)


def test_hlc_observe_moves_past_a_remote_stamp_ahead_of_the_wall_clock() -> None:
    clock = HybridLogicalClock(FakeWall(1_000))
    remote = hlc.pack(9_000, 7)
    observed = clock.observe(remote)
    assert observed > remote
    assert clock.now() > observed
    # a remote stamp behind the local wall clock leaves physical time in charge
    late = HybridLogicalClock(FakeWall(50_000))
    assert hlc.unpack(late.observe(hlc.pack(1_000, 3))) == (50_000, 0)


def test_hlc_drift_limit_refuses_stamps_from_the_far_future() -> None:
    clock = HybridLogicalClock(FakeWall(1_000), max_drift_ms=500)
    clock.observe(hlc.pack(1_400))
    with pytest.raises(ValidationError, match="ahead"):
        clock.observe(hlc.pack(1_600))


@pytest.mark.parametrize("bad", [-1, 1 << 64, 1.5, "7", True, None])
def test_hlc_rejects_invalid_stamps(bad: Any) -> None:
    with pytest.raises(ValidationError):
        HybridLogicalClock(FakeWall()).observe(bad)
    with pytest.raises(ValidationError):
        hlc.unpack(bad)


def test_hlc_pack_bounds_and_tiebreak_order() -> None:
    assert hlc.unpack(hlc.pack(hlc.MAX_WALL_MS, hlc.COUNTER_MASK)) == (
        hlc.MAX_WALL_MS,
        hlc.COUNTER_MASK,
    )
    with pytest.raises(ValidationError):
        hlc.pack(hlc.MAX_WALL_MS + 1)
    with pytest.raises(ValidationError):
        hlc.pack(0, hlc.COUNTER_MASK + 1)
    assert hlc.is_newer(5, "b", 5, "a")
    assert not hlc.is_newer(5, "a", 5, "b")
    assert hlc.is_newer(6, "a", 5, "z")


def test_hlc_rejects_a_broken_wall_clock() -> None:
    with pytest.raises(ValidationError, match="wall clock"):
        HybridLogicalClock(lambda: -5).now()


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


async def test_returned_values_are_copies() -> None:
    manager = DistributedMemoryManager(storage_backend=MemoryStore(), replica_id="solo")
    manager.set(SESSION, "a", item("a", "alpha", tags=["x"]))
    got = manager.get(SESSION, "a")
    got.metadata["tags"].append("mutated")
    got.content = "changed"
    assert manager.get(SESSION, "a").metadata == {"tags": ["x"]}
    assert contents(manager) == {"a": "alpha"}
    assert manager.metadata(SESSION).checksum == state_checksum(manager.state(SESSION))


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


# --- auto-sync and lifecycle -----------------------------------------------------------------


async def wait_for(predicate: Callable[[], Any], seconds: float = 10.0) -> None:
    """Poll until ``predicate()`` is true (a deadline for hangs, not a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        outcome = predicate()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


async def test_auto_sync_retries_failures_and_keeps_changes_pending(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    store = backend.wrapped()
    store.fail = BackendError("down for maintenance")
    manager = backend.manager("auto", store=store, sync_interval=0.02)
    observer = backend.manager("observer")
    caplog.set_level(logging.WARNING, logger="memcore.sync")
    async with manager:
        assert manager.auto_sync_running
        manager.set(SESSION, "k", item("k", "eventually stored"))
        await wait_for(lambda: "down for maintenance" in caplog.text)
        assert manager.pending(SESSION) == {"k"}
        store.fail = None
        await wait_for(lambda: not manager.pending(SESSION))

        async def observed() -> bool:
            await observer.sync_session_memory(SESSION)
            return contents(observer) == {"k": "eventually stored"}

        await wait_for(observed)
        # remote changes are pulled by the background task too
        observer.set(SESSION, "back", item("back", "from observer"))
        await observer.sync_session_memory(SESSION)
        await wait_for(lambda: manager.get(SESSION, "back") is not None)
    assert not manager.auto_sync_running
    assert store.closed == 0  # a store handed in is the caller's to close
    manager.set(SESSION, "after", item("after", "not synced"))
    commits = store.commits
    await asyncio.sleep(0.1)  # several intervals: nothing runs any more
    assert store.commits == commits
    assert manager.pending(SESSION) == {"after"}


async def test_start_and_stop_auto_sync() -> None:
    store = Wrapped(MemoryStore())
    manager = DistributedMemoryManager(storage_backend=store, sync_interval=0.01)
    manager.set(SESSION, "k", item("k", "v"))
    manager.start_auto_sync()
    manager.start_auto_sync()  # idempotent
    await wait_for(lambda: store.commits == 1)
    manager.stop_auto_sync()
    assert not manager.auto_sync_running
    manager.set(SESSION, "j", item("j", "w"))
    await asyncio.sleep(0.05)
    assert store.commits == 1
    manager.start_auto_sync()
    await wait_for(lambda: store.commits == 2)
    await manager.close()
    assert not manager.auto_sync_running
    with pytest.raises(ValidationError, match="closed"):
        manager.start_auto_sync()


async def test_close_releases_only_a_store_opened_from_a_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import memcore.stores

    opened: list[Wrapped] = []

    def fake_open(url: str | None) -> Wrapped:
        opened.append(Wrapped(MemoryStore(url or "memory://")))
        return opened[-1]

    monkeypatch.setattr(memcore.stores, "open_store", fake_open)  # what resolve_store opens with
    owned = DistributedMemoryManager(storage_backend="memory://")
    await owned.close()
    await owned.close()  # twice is harmless
    assert [s.closed for s in opened] == [1]
    lent = Wrapped(MemoryStore())
    borrower = DistributedMemoryManager(storage_backend=lent)
    await borrower.close()
    assert lent.closed == 0


async def test_manager_opens_stores_from_urls(tmp_path: Path) -> None:
    _require("memcore.stores.sqlite")
    url = f"sqlite:///{tmp_path / 'owned.db'}"
    writer = DistributedMemoryManager(storage_backend=url, replica_id="w")
    writer.set(SESSION, "k", item("k", "persisted"))
    await writer.sync_session_memory(SESSION)
    await writer.close()
    reader = DistributedMemoryManager(storage_backend=url, replica_id="r")
    try:
        await reader.sync_session_memory(SESSION)
        assert contents(reader) == {"k": "persisted"}
    finally:
        await reader.close()


async def test_a_real_redis_outage_keeps_changes_pending_until_it_is_back(
    redis_server: Any, redis_url: str
) -> None:
    _require("memcore.stores.redis")
    store = open_store(redis_url)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="through-outage")
    try:
        manager.set(SESSION, "before", item("before", "stored before the outage"))
        await manager.sync_session_memory(SESSION)
        redis_server.stop()
        manager.set(SESSION, "during", item("during", "written while redis was down"))
        with pytest.raises(BackendError):
            await manager.sync_session_memory(SESSION)
        assert manager.pending(SESSION) == {"during"}
        redis_server.start()
        result = await manager.sync_session_memory(SESSION)
        assert result.success
        assert manager.pending(SESSION) == frozenset()
        live, digest = await stored_state(store)
        assert {k: v.content for k, v in live.items()} == contents(manager)
        assert set(live) == {"before", "during"}
        assert manager.metadata(SESSION).checksum == digest
    finally:
        await manager.close()
        await store.close()


async def keep_only(store: Store, *keys: str) -> int | None:
    """What recovery does to a session: ``replace_state`` with only ``keys`` and their digest."""
    snapshot = await store.read_snapshot(SESSION)
    kept = {key: snapshot.records[key] for key in keys}
    digest = live_digest({key: decode_entry(record) for key, record in kept.items()})
    return await store.replace_state(SESSION, snapshot.version, kept, digest)


async def test_resync_after_a_recovery_drops_keys(backend: Backend) -> None:
    a, b = backend.manager("a"), backend.manager("b")
    for key in ("keep", "drop"):
        a.set(SESSION, key, item(key, key))
    await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    store = backend.open()
    version = await store.version(SESSION)
    assert await keep_only(store, "keep") == version + 1
    b.set(SESSION, "mine", item("mine", "pending on b"))
    b.set(SESSION, "keep", item("keep", "edited on b"))
    # the refetch brings "keep" back unchanged: not a conflict, even when remote would win
    result = await b.resync_session(SESSION, strategy="remote-wins")
    assert result.success
    assert result.conflicts == []
    assert b.pending(SESSION) == frozenset()
    assert contents(b) == {"keep": "edited on b", "mine": "pending on b"}
    _live, digest = await stored_state(store)
    assert b.metadata(SESSION).checksum == digest
    with pytest.raises(ValidationError):
        await b.resync_session(SESSION, strategy="nope")


# --- stale replicas after replace_state ------------------------------------------------------


def inject_item(backend: Backend, key: str, record: bytes) -> None:
    """Add an item record below the Store API (a stray write, as rot or a foreign tool would
    leave), tagged with the session's current version: deltas of replicas already there miss it,
    and the kept digest no longer matches the records."""
    if backend.shared is not None:
        held = backend.shared._sessions[SESSION]
        held.items[key] = (record, held.version)
    elif backend.name == "sqlite":
        import sqlite3

        path = backend.url[len("sqlite:///") :]
        with contextlib.closing(sqlite3.connect(path)) as raw, raw:
            raw.execute(
                "INSERT INTO items (session, key, record, version) "
                "SELECT session, ?, ?, version FROM meta WHERE session = ?",
                (key, record, SESSION),
            )
    else:
        from memcore.stores.redis import RedisStore, session_keys

        names = session_keys(SESSION)
        with RedisStore(backend.url).sync_client() as raw:  # a server or a cluster
            version = int(raw.hget(names["meta"], "version") or 0)
            raw.hset(names["items"], key, record)
            raw.zadd(names["index"], {key: version})


async def test_a_replica_that_missed_a_replace_converges_on_a_plain_sync(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """replace_state drops a key: the other replica's next plain sync drops it too, keeps its
    pending changes without false conflicts (even under remote-wins), and commits them with
    the right digest; a third replica that never held the key sees the same state."""
    a, b = backend.manager("a"), backend.manager("b")
    for key in ("keep", "drop", "edited"):
        a.set(SESSION, key, item(key, key))
    await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    assert contents(b) == {"keep": "keep", "drop": "drop", "edited": "edited"}
    store = backend.open()
    snapshot = await store.read_snapshot(SESSION)
    kept = {k: snapshot.records[k] for k in ("keep", "edited")}
    digest = live_digest({k: decode_entry(r) for k, r in kept.items()})
    replaced = await store.replace_state(SESSION, snapshot.version, kept, digest)
    assert replaced == snapshot.version + 1
    b.set(SESSION, "edited", item("edited", "edited on b"))
    b.set(SESSION, "mine", item("mine", "pending on b"))
    caplog.set_level(logging.INFO, logger="memcore.sync")
    result = await b.sync_session_memory(SESSION, strategy="remote-wins")
    assert result.success
    assert result.conflicts == []
    assert b.pending(SESSION) == frozenset()
    expected = {"keep": "keep", "edited": "edited on b", "mine": "pending on b"}
    assert contents(b) == expected
    assert "replaced at version" in caplog.text
    diagnostics = b.sync_diagnostics(SESSION)
    assert diagnostics.refetches == 1
    assert diagnostics.last_refetch == f"replace_state at version {replaced}"
    assert not diagnostics.stored_digest_mismatch
    live, stored_digest = await stored_state(store)
    assert {k: v.content for k, v in live.items()} == expected
    assert b.metadata(SESSION).checksum == stored_digest
    # the replica that wrote the dropped key had nothing pending: a plain sync drops it too
    await a.sync_session_memory(SESSION)
    assert contents(a) == expected
    assert a.metadata(SESSION).checksum == stored_digest
    assert a.sync_diagnostics(SESSION).refetches == 1
    # once caught up, further syncs are plain deltas again
    a.set(SESSION, "later", item("later", "after"))
    await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    assert contents(b) == {**expected, "later": "after"}
    assert b.sync_diagnostics(SESSION).refetches == 1
    fresh = backend.manager("c")
    await fresh.sync_session_memory(SESSION)
    assert contents(fresh) == contents(b)
    assert fresh.sync_diagnostics(SESSION).refetches == 0


async def test_a_pending_edit_of_a_dropped_key_is_kept(backend: Backend) -> None:
    """A write made on a replica to a key recovery then dropped is a real local change: it is
    committed (the key comes back with that value), not lost and not a conflict."""
    a, b = backend.manager("a"), backend.manager("b")
    a.set(SESSION, "drop", item("drop", "original"))
    a.set(SESSION, "keep", item("keep", "keep"))
    await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    store = backend.open()
    await keep_only(store, "keep")
    b.set(SESSION, "drop", item("drop", "rewritten on b"))
    result = await b.sync_session_memory(SESSION)
    assert result.success
    assert result.conflicts == []
    assert contents(b) == {"drop": "rewritten on b", "keep": "keep"}
    await a.sync_session_memory(SESSION)
    assert contents(a) == contents(b)
    _live, digest = await stored_state(store)
    assert a.metadata(SESSION).checksum == b.metadata(SESSION).checksum == digest


async def test_recovery_that_drops_a_stray_key_reaches_every_replica(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """End to end with the real recovery: a stray record makes the stored digest disagree; a
    replica that fetched it flags the mismatch (its refetch cannot fix the store), recovery
    rewrites the session without it, and the replica's next plain sync converges."""
    from memcore.recovery import arecover_corrupted_memory, create_backup

    a = backend.manager("a")
    a.set(SESSION, "real", item("real", "committed"))
    await a.sync_session_memory(SESSION)
    store = backend.open()
    await create_backup(SESSION, store)
    stray = (await store.read_snapshot(SESSION)).records["real"]
    inject_item(backend, "stray", stray)
    caplog.set_level(logging.WARNING, logger="memcore.sync")
    b = backend.manager("b")
    result = await b.sync_session_memory(SESSION)
    assert result.success
    assert set(contents(b)) == {"real", "stray"}  # what the store holds, flagged as such
    assert b.sync_diagnostics(SESSION).stored_digest_mismatch
    assert "does not match the stored records" in caplog.text
    recovered = await arecover_corrupted_memory(SESSION, store)
    assert recovered.success, recovered.message
    assert "stray" not in (await store.read_snapshot(SESSION)).records
    b.set(SESSION, "real", item("real", "edited on b"))
    result = await b.sync_session_memory(SESSION, strategy="remote-wins")
    assert result.success
    assert result.conflicts == []
    assert contents(b) == {"real": "edited on b"}
    assert not b.sync_diagnostics(SESSION).stored_digest_mismatch
    _live, digest = await stored_state(store)
    assert b.metadata(SESSION).checksum == digest
    await a.sync_session_memory(SESSION)
    assert contents(a) == {"real": "edited on b"}


class NoReplacementInfo(Wrapped):
    """A store that does not report replacements (as one written by an older memcore would
    not): only the digest can tell a replica that its delta left keys behind."""

    async def read_changes(self, session_id: str, since_version: int) -> Delta:
        delta = await super().read_changes(session_id, since_version)
        return Delta(delta.version, delta.records, delta.digest)


async def test_a_digest_mismatch_with_nothing_pending_refetches_the_session(
    backend: Backend,
) -> None:
    a = backend.manager("a")
    b_store = NoReplacementInfo(backend.open())
    b = backend.manager("b", store=b_store)
    a.set(SESSION, "keep", item("keep", "keep"))
    a.set(SESSION, "drop", item("drop", "drop"))
    await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    store = backend.open()
    await keep_only(store, "keep")
    b_store.records_fetched.clear()
    result = await b.sync_session_memory(SESSION)
    assert result.success
    assert contents(b) == {"keep": "keep"}
    assert b_store.records_fetched == [1, 1]  # the delta, then the whole session
    diagnostics = b.sync_diagnostics(SESSION)
    assert diagnostics.refetches == 1
    assert diagnostics.last_refetch is not None
    assert diagnostics.last_refetch.startswith("digest mismatch")
    assert not diagnostics.stored_digest_mismatch
    _live, digest = await stored_state(store)
    assert b.metadata(SESSION).checksum == digest
    # matching digests cost nothing more: one delta per sync
    b_store.records_fetched.clear()
    await b.sync_session_memory(SESSION)
    assert b_store.records_fetched == [0]


async def test_a_store_digest_that_disagrees_with_its_records_is_flagged_once_per_sync(
    backend: Backend,
) -> None:
    """A writer that commits a wrong digest: a reader refetches once, still disagrees, flags it
    and carries on (the records are what the store holds); a correct commit clears the flag."""
    a = backend.manager("a")
    a.set(SESSION, "k", item("k", "v"))
    await a.sync_session_memory(SESSION)
    store = backend.open()
    version = await store.version(SESSION)
    bogus = (a.metadata(SESSION).checksum + 1) % 2**64
    assert await store.commit(SESSION, version, {}, bogus) == version + 1
    wrapped = backend.wrapped()
    reader = backend.manager("reader", store=wrapped)
    result = await reader.sync_session_memory(SESSION)
    assert result.success
    assert contents(reader) == {"k": "v"}
    assert wrapped.records_fetched == [1, 1]  # no refetch loop
    assert reader.sync_diagnostics(SESSION).stored_digest_mismatch
    a.set(SESSION, "k2", item("k2", "w"))
    await a.sync_session_memory(SESSION)  # a has a change pending: it commits its digest
    assert a.sync_diagnostics(SESSION).refetches == 0
    await reader.sync_session_memory(SESSION)
    assert not reader.sync_diagnostics(SESSION).stored_digest_mismatch
    assert contents(reader) == {"k": "v", "k2": "w"}
    _live, digest = await stored_state(store)
    assert reader.metadata(SESSION).checksum == digest


async def test_a_refetch_that_fails_leaves_the_replica_as_it_was(backend: Backend) -> None:
    """Dropping what a replica held happens only once the whole session is read and decoded:
    a corrupted record in a replaced session, or a backend failing on the refetch, leaves the
    replica's merged state, version and pending changes as they were."""
    a, b_store = backend.manager("a"), FailOnSecondRead(backend.open())
    b = backend.manager("b", store=b_store)
    a.set(SESSION, "k", item("k", "v"))
    a.set(SESSION, "j", item("j", "w"))
    await a.sync_session_memory(SESSION)
    await b.sync_session_memory(SESSION)
    held, version = contents(b), b.metadata(SESSION).version
    store = backend.open()
    snapshot = await store.read_snapshot(SESSION)
    rotten = bytearray(snapshot.records["k"])
    rotten[-3] ^= 0x40
    await store.replace_state(SESSION, snapshot.version, {"k": bytes(rotten)}, 0)
    b.set(SESSION, "mine", item("mine", "pending"))
    with pytest.raises(CorruptedMemoryError):
        await b.sync_session_memory(SESSION)
    assert contents(b) == {**held, "mine": "pending"}
    assert b.metadata(SESSION).version == version
    assert b.pending(SESSION) == {"mine"}
    # a digest mismatch whose refetch fails: the delta is merged, nothing is dropped
    other = "other-session"
    a.set(other, "k", item("k", "v"))
    a.set(other, "j", item("j", "w"))
    await a.sync_session_memory(other)
    c_store = FailOnSecondRead(NoReplacementInfo(backend.open()))
    c = backend.manager("c", store=c_store)
    await c.sync_session_memory(other)
    snapshot = await store.read_snapshot(other)
    j_only = {"j": snapshot.records["j"]}
    await store.replace_state(
        other, snapshot.version, j_only, live_digest({"j": decode_entry(j_only["j"])})
    )
    a.set(other, "n", item("n", "new"))
    await a.sync_session_memory(other)
    c_store.arm()
    with pytest.raises(BackendError):
        await c.sync_session_memory(other)
    assert contents(c, other) == {"j": "w", "k": "v", "n": "new"}
    assert c.pending(other) == frozenset()
    c_store.armed = False
    result = await c.sync_session_memory(other)
    assert result.success
    assert contents(c, other) == contents(a, other) == {"j": "w", "n": "new"}


class FailOnSecondRead(Wrapped):
    """Once armed, the second ``read_changes`` fails (in one sync: the refetch, if any)."""

    def __init__(self, inner: Store | Wrapped) -> None:
        super().__init__(inner)
        self.armed = False
        self.reads = 0

    def arm(self) -> None:
        self.armed, self.reads = True, 0

    async def read_changes(self, session_id: str, since_version: int) -> Delta:
        self.reads += 1
        if self.armed and self.reads == 2:
            raise BackendError("connection lost during the refetch")
        return await super().read_changes(session_id, since_version)


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
