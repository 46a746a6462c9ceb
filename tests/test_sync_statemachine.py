"""Three replicas on ``memory://`` doing random writes, deletes and syncs, against a plain model.

``resync_session`` (refetch the whole session) must settle exactly like a delta sync.

The model is a dict per replica plus a dict for the store, with the rules written out directly:
a sync takes every key the store changed since the replica's last sync, settles keys that are
also pending locally by the strategy, then commits what is left pending as one new version.
After every step each replica's state must equal its model view and each sync must report the
conflicts the model predicts; after syncing everyone twice around all replicas agree with each
other, with the store and its digest. Under ``timestamp`` the converged state must also be the
last write per key by (HLC stamp, replica id) over every write ever made, a check that does not
depend on the order of syncs at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from memcore.hlc import HybridLogicalClock
from memcore.model import MemoryItem
from memcore.stores.base import decode_entry, live_digest
from memcore.stores.memory import MemoryStore
from memcore.sync import DistributedMemoryManager

SESSION = "machine"
REPLICAS = ("r0", "r1", "r2")
KEYS = ("a", "b", "c", "d")
CONTENTS = ("x", "y", "z")

# (content or None for a tombstone, HLC stamp, writer)
Write = tuple[str | None, int, str]


@dataclass
class ReplicaModel:
    base: int = 0
    view: dict[str, Write] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)

    def live(self) -> dict[str, str]:
        return {k: w[0] for k, w in self.view.items() if w[0] is not None}


class SyncMachine(RuleBasedStateMachine):
    strategy = "timestamp"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store = MemoryStore()
        self.wall = 1_000_000
        self.skew = dict.fromkeys(REPLICAS, 0)
        self.managers = {
            name: DistributedMemoryManager(
                storage_backend=self.store,
                replica_id=name,
                strategy=self.strategy,
                clock=HybridLogicalClock(self._wall_of(name)),
            )
            for name in REPLICAS
        }
        self.models = {name: ReplicaModel() for name in REPLICAS}
        self.stored: dict[str, tuple[Write, int]] = {}  # key -> (latest write, version)
        self.version = 0
        self.writes: list[tuple[str, Write]] = []

    def _wall_of(self, name: str) -> Callable[[], int]:
        """The shared fake wall clock in ms, as seen by one replica with its own skew."""
        return lambda: self.wall + self.skew[name]

    @initialize(skews=st.lists(st.integers(-50, 50), min_size=3, max_size=3))
    def set_skews(self, skews: list[int]) -> None:
        self.skew = dict(zip(REPLICAS, skews, strict=True))

    def _record_write(self, replica: str, key: str, text: str | None) -> None:
        entry = self.managers[replica].entry(SESSION, key)
        assert entry is not None
        assert entry.replica == replica
        write: Write = (text, entry.stamp, replica)
        self.models[replica].view[key] = write
        self.models[replica].pending.add(key)
        self.writes.append((key, write))

    @rule(
        replica=st.sampled_from(REPLICAS), key=st.sampled_from(KEYS), text=st.sampled_from(CONTENTS)
    )
    def write(self, replica: str, key: str, text: str) -> None:
        self.managers[replica].set(SESSION, key, MemoryItem(id=key, content=text))
        self._record_write(replica, key, text)

    @rule(replica=st.sampled_from(REPLICAS), key=st.sampled_from(KEYS))
    def delete(self, replica: str, key: str) -> None:
        self.managers[replica].delete(SESSION, key)
        self._record_write(replica, key, None)

    @rule(ms=st.integers(0, 3))
    def tick(self, ms: int) -> None:
        self.wall += ms

    def _model_sync(self, replica: str) -> set[tuple[str, str]]:
        """The model's sync; returns the expected conflicts as (key, winner)."""
        model = self.models[replica]
        conflicts = set()
        for key, (remote, version) in self.stored.items():
            if version <= model.base:
                continue
            if key in model.pending:
                local = model.view[key]
                if self.strategy == "remote-wins":
                    winner = "remote"
                elif self.strategy == "local-wins":
                    winner = "local"
                else:
                    winner = "local" if local[1:] > remote[1:] else "remote"
                conflicts.add((key, winner))
                if winner == "local":
                    continue
                model.pending.discard(key)
            model.view[key] = remote
        if model.pending:
            self.version += 1
            for key in model.pending:
                self.stored[key] = (model.view[key], self.version)
            model.pending.clear()
        model.base = self.version
        return conflicts

    def _sync(self, replica: str, *, refetch: bool = False) -> None:
        manager = self.managers[replica]
        call = manager.resync_session if refetch else manager.sync_session_memory
        result = self.loop.run_until_complete(call(SESSION))
        assert result.success
        expected = self._model_sync(replica)
        assert {(c.key, c.winner) for c in result.conflicts} == expected
        assert result.conflicts_resolved == len(expected)
        assert result.version == self.version

    @rule(replica=st.sampled_from(REPLICAS))
    def sync(self, replica: str) -> None:
        self._sync(replica)

    @rule(replica=st.sampled_from(REPLICAS))
    def resync(self, replica: str) -> None:
        """Refetching everything must settle exactly like a delta sync: unchanged is unchanged."""
        self._sync(replica, refetch=True)

    @rule()
    def sync_everyone_twice_around(self) -> None:
        for _ in range(2):
            for replica in REPLICAS:
                self._sync(replica)
        states = [self._contents(r) for r in REPLICAS]
        assert states[0] == states[1] == states[2]
        snapshot = self.loop.run_until_complete(self.store.read_snapshot(SESSION))
        entries = {k: decode_entry(rec) for k, rec in snapshot.records.items()}
        live = {k: e.value.content for k, e in entries.items() if not e.deleted}
        assert live == states[0]
        if self.version:
            assert snapshot.digest == live_digest(entries)
        digests = {self.managers[r].metadata(SESSION).checksum for r in REPLICAS}
        assert digests == {live_digest(entries)}
        if self.strategy == "timestamp":
            latest: dict[str, Write] = {}
            for key, write in self.writes:
                if key not in latest or write[1:] > latest[key][1:]:
                    latest[key] = write
            assert {k: w[0] for k, w in latest.items() if w[0] is not None} == states[0]

    def _contents(self, replica: str) -> dict[str, str]:
        return {k: v.content for k, v in self.managers[replica].state(SESSION).items()}

    @invariant()
    def replicas_match_their_models(self) -> None:
        for name in REPLICAS:
            assert self._contents(name) == self.models[name].live()
            assert self.managers[name].pending(SESSION) == self.models[name].pending

    def teardown(self) -> None:
        try:
            self.sync_everyone_twice_around()
        finally:
            self.loop.close()


def _machine(strategy: str) -> type[SyncMachine]:
    return type(f"SyncMachine_{strategy}", (SyncMachine,), {"strategy": strategy})


_SETTINGS = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestTimestamp = _SETTINGS(_machine("timestamp")).TestCase
TestRemoteWins = _SETTINGS(_machine("remote-wins")).TestCase
TestLocalWins = _SETTINGS(_machine("local-wins")).TestCase
