"""What the sync test modules share: items, a fake wall clock, the thin wrappers around a real
store, and the ``backend`` fixture (every store: ``memory://``, an SQLite file, a real
redis-server and a real three-node Redis Cluster), registered for all tests by ``conftest``.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from memcore.errors import BackendError
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


async def keep_only(store: Store, *keys: str) -> int | None:
    """What recovery does to a session: ``replace_state`` with only ``keys`` and their digest."""
    snapshot = await store.read_snapshot(SESSION)
    kept = {key: snapshot.records[key] for key in keys}
    digest = live_digest({key: decode_entry(record) for key, record in kept.items()})
    return await store.replace_state(SESSION, snapshot.version, kept, digest)
