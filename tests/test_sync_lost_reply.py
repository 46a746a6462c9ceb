"""A commit the store applied whose reply was lost (the store raised ``BackendError`` after it).

The replica kept its keys pending over the value they had replaced, so once another replica
had read the landed write and written over it, the next sync saw "a key changed on both sides
since the last common version" where only the other side had: a spurious conflict, and under
``local-wins`` the older value committed over the causally later one. The next sync now reads
the store's journal for the records it sent: a landed commit's keys are taken as committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pytest

from memcore.errors import BackendError
from memcore.stores.base import Expected
from memcore.stores.sqlite import SQLiteStore
from memcore.sync import DistributedMemoryManager
from tests.sync_support import SESSION, Backend, Wrapped, content, item, stored_state


async def _lose_reply(manager: DistributedMemoryManager, store: Wrapped) -> None:
    """Sync ``manager``: its commit lands, then the store raises as if its reply was lost."""
    store.fail_after_commit = True
    with pytest.raises(BackendError, match="after the commit was applied"):
        await manager.sync_session_memory(SESSION)
    store.fail_after_commit = False


@pytest.mark.parametrize("strategy", ["local-wins", "timestamp", "remote-wins"])
async def test_a_write_over_a_landed_commit_is_no_conflict(backend: Backend, strategy: str) -> None:
    store = backend.wrapped()
    a = backend.manager("a", store=store, strategy=strategy)
    b = backend.manager("b", strategy=strategy)
    try:
        a.set(SESSION, "k", item("k", "a1"))
        a.set(SESSION, "other", item("other", "a1"))
        assert (await a.sync_session_memory(SESSION)).success
        assert (await b.sync_session_memory(SESSION)).success
        a.set(SESSION, "k", item("k", "a2"))
        a.set(SESSION, "other", item("other", "a2"))
        await _lose_reply(a, store)
        assert a.pending(SESSION) == {"k", "other"}
        assert (await b.sync_session_memory(SESSION)).success
        assert content(b.get(SESSION, "k")) == "a2"  # it landed
        b.set(SESSION, "k", item("k", "b3, written over a2"))
        b.set(SESSION, "other", item("other", "b3, written over a2"))
        assert (await b.sync_session_memory(SESSION)).success
        commits = store.commits

        result = await a.sync_session_memory(SESSION)
        assert result.success
        assert result.conflicts == []
        assert a.pending(SESSION) == frozenset()
        assert store.commits == commits  # a2 was not committed again
        assert (await b.sync_session_memory(SESSION)).success
        for manager in (a, b):
            assert content(manager.get(SESSION, "k")) == "b3, written over a2"
            assert content(manager.get(SESSION, "other")) == "b3, written over a2"
        live, digest = await stored_state(backend.open())
        assert content(live["k"]) == "b3, written over a2"
        assert a.metadata(SESSION).checksum == digest == b.metadata(SESSION).checksum
    finally:
        await a.close()
        await b.close()


async def test_a_rewrite_after_the_lost_reply_still_conflicts_with_the_later_write(
    backend: Backend,
) -> None:
    """Both sides changed the key after the landed write: that is a conflict, settled over it."""
    store = backend.wrapped()
    a = backend.manager("a", store=store, strategy="local-wins")
    b = backend.manager("b", strategy="local-wins")
    try:
        a.set(SESSION, "k", item("k", "a1"))
        assert (await a.sync_session_memory(SESSION)).success
        a.set(SESSION, "k", item("k", "a2"))
        await _lose_reply(a, store)
        a.set(SESSION, "k", item("k", "a3, written after a2"))
        assert (await b.sync_session_memory(SESSION)).success
        b.set(SESSION, "k", item("k", "b3, written over a2"))
        assert (await b.sync_session_memory(SESSION)).success

        result = await a.sync_session_memory(SESSION)
        assert result.success
        assert [(c.key, c.winner) for c in result.conflicts] == [("k", "local")]
        assert content(result.conflicts[0].remote) == "b3, written over a2"
        assert (await b.sync_session_memory(SESSION)).success
        assert content(b.get(SESSION, "k")) == "a3, written after a2"
    finally:
        await a.close()
        await b.close()


async def test_a_commit_that_never_landed_still_conflicts(backend: Backend) -> None:
    """The store failed before writing: a2 never reached it, so b3 was written without it."""
    store = backend.wrapped()
    a = backend.manager("a", store=store, strategy="local-wins")
    b = backend.manager("b", strategy="local-wins")
    try:
        a.set(SESSION, "k", item("k", "a1"))
        assert (await a.sync_session_memory(SESSION)).success
        a.set(SESSION, "k", item("k", "a2"))
        store.fail = BackendError("store unreachable")
        with pytest.raises(BackendError, match="unreachable"):
            await a.sync_session_memory(SESSION)
        store.fail = None
        assert (await b.sync_session_memory(SESSION)).success
        assert content(b.get(SESSION, "k")) == "a1"
        b.set(SESSION, "k", item("k", "b2, written beside a2"))
        assert (await b.sync_session_memory(SESSION)).success

        result = await a.sync_session_memory(SESSION)
        assert result.success
        assert [(c.key, c.winner) for c in result.conflicts] == [("k", "local")]
        assert (await b.sync_session_memory(SESSION)).success
        assert content(b.get(SESSION, "k")) == "a2"
    finally:
        await a.close()
        await b.close()


class LosesAReply(SQLiteStore):
    """A real SQLite store whose next landed commit, on its inline paths too (``commit_now``,
    ``read_and_commit``: a wrapper hides them), raises once it is written."""

    lose = False
    landed = 0

    def _written(self) -> None:
        self.landed += 1
        if self.lose:
            self.lose = False
            raise BackendError("connection lost after the commit was applied")

    def commit_now(
        self, session_id: str, expected: Expected, records: Mapping[str, bytes], digest: int
    ) -> int | Literal[False] | None:
        landed = super().commit_now(session_id, expected, records, digest)
        if landed is not None and landed is not False:
            self._written()
        return landed

    async def read_and_commit(self, *args: Any, **options: Any) -> Any:
        done = await super().read_and_commit(*args, **options)
        if done is not None and done[1] is not None:
            self._written()
        return done

    async def commit(self, *args: Any) -> int | None:
        version = await super().commit(*args)
        if version is not None:
            self._written()
        return version

    async def commit_if_unchanged(self, *args: Any) -> int | None:
        version = await super().commit_if_unchanged(*args)
        if version is not None:
            self._written()
        return version


@pytest.mark.parametrize("quiet", [True, False], ids=["commit-now", "under-the-lock"])
async def test_sqlite_inline_paths_take_a_landed_commit_as_committed(
    tmp_path: Path, quiet: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'lost.db'}"
    store = LosesAReply(url)
    a = DistributedMemoryManager(storage_backend=store, replica_id="a", strategy="local-wins")
    b = DistributedMemoryManager(storage_backend=url, replica_id="b", strategy="local-wins")
    try:
        a.set(SESSION, "k", item("k", "a1"))
        assert (await a.sync_session_memory(SESSION)).success
        if not quiet:  # another replica's commit: the next sync reads under the lock
            b.set(SESSION, "elsewhere", item("elsewhere", "b"))
            assert (await b.sync_session_memory(SESSION)).success
        a.set(SESSION, "k", item("k", "a2"))
        store.lose = True
        with pytest.raises(BackendError, match="after the commit was applied"):
            await a.sync_session_memory(SESSION)
        assert a.pending(SESSION) == {"k"}
        assert (await b.sync_session_memory(SESSION)).success
        assert content(b.get(SESSION, "k")) == "a2"
        b.set(SESSION, "k", item("k", "b3, written over a2"))
        assert (await b.sync_session_memory(SESSION)).success
        landed = store.landed

        result = await a.sync_session_memory(SESSION)
        assert (result.success, result.conflicts) == (True, [])
        assert store.landed == landed  # nothing committed again
        assert content(a.get(SESSION, "k")) == "b3, written over a2"
    finally:
        await a.close()
        await b.close()
        await store.close()
