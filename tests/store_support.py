"""What the Store suites share: a store of every backend (memory, sqlite, redis, redis cluster)
as the ``store`` fixture, a second connection to it as ``twin``, and how to make one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memcore.stores import Store, open_store
from memcore.stores.memory import MemoryStore

BACKENDS = ("memory", "sqlite", "redis", "redis-cluster")


def sqlite_url(tmp_path: Path, name: str = "stores.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return open_store(sqlite_url(tmp_path))
    if kind == "redis-cluster":
        return open_store(request.getfixturevalue("redis_cluster_url"))
    return open_store(request.getfixturevalue("redis_url"))


@pytest.fixture(name="store", params=BACKENDS)
async def store_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each backend."""
    made = make_store(request.param, request, tmp_path)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture(name="twin")
async def twin_fixture(store: Store) -> AsyncIterator[Store]:
    """A second store object on the same data (another connection / client where there is one)."""
    if isinstance(store, MemoryStore):
        yield store
        return
    other = open_store(store.url)
    try:
        yield other
    finally:
        await other.close()


def rec(text: str) -> bytes:
    return text.encode()


def journal_after_a_commit(url: str, session: str, version: int) -> list[tuple[int, str]]:
    """Commit one key to ``session`` at ``version`` through a fresh store of ``url``, and give
    the journal since the version before it as (version, key) pairs; the session is deleted
    after: what a replica reads past a journal entry recovery moved aside."""

    async def run() -> list[tuple[int, str]]:
        store = open_store(url)
        try:
            assert await store.commit(session, version, {"k9": b"x"}, 1) == version + 1
            journal = await store.read_journal(session, version - 1)
            await store.delete_session(session)
            return [(entry.version, entry.key) for entry in journal]
        finally:
            await store.close()

    return asyncio.run(run())
