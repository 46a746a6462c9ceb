"""Replicas that missed a ``replace_state`` (recovery): they converge on a plain sync, keep pending
edits, and a digest that disagrees makes them refetch the session.
"""

from __future__ import annotations

import contextlib
import logging

import pytest

from memcore.errors import BackendError, CorruptedMemoryError
from memcore.stores import Store
from memcore.stores.base import Delta, decode_entry, live_digest
from tests.sync_support import SESSION, Backend, Wrapped, contents, item, keep_only, stored_state

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
    assert diagnostics.last_refetch == (
        f"the session was rewritten at version {replaced} (a recovery, or its change index "
        "rebuilt): taken whole"
    )
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
