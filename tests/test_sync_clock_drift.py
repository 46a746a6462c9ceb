"""A replica whose clock has ``max_drift_ms`` syncing a session that holds a stamp far ahead of it.

``HybridLogicalClock.observe`` refused the stamp from inside the merge, so every sync of the
session raised ``ValidationError``: the replica took nothing, and its own writes to other keys
never committed. Such a record is now set aside (``SyncDiagnostics.set_aside``) while the other
keys sync, and taken once the replica's wall clock has caught up with it.
"""

from __future__ import annotations

import pytest

from memcore import hlc
from memcore.errors import ValidationError
from memcore.hlc import HybridLogicalClock
from memcore.recovery import verify_session
from tests.sync_support import SESSION, Backend, FakeWall, content, contents, item

HOUR = 3_600_000
DRIFT = 60_000


async def _verified(backend: Backend) -> None:
    """The store's digest matches its records (a replica holding one back must not commit a
    digest without it)."""
    health = await verify_session(SESSION, backend.open(), deep=True)
    assert health.ok, health.problems


def test_ahead_limit_is_what_observe_takes() -> None:
    clock = HybridLogicalClock(FakeWall(1_000), max_drift_ms=500)
    limit = clock.ahead_limit()
    assert limit == hlc.pack(1_500, hlc.COUNTER_MASK)
    clock.observe(limit)
    with pytest.raises(ValidationError, match="ahead"):
        clock.observe(limit + 1)
    assert HybridLogicalClock(FakeWall(1_000)).ahead_limit() is None


async def test_a_record_from_the_far_future_is_held_back_and_the_rest_syncs(
    backend: Backend,
) -> None:
    wall = FakeWall()
    future = backend.manager("future", clock=HybridLogicalClock(FakeWall(wall.ms + HOUR)))
    strict = backend.manager("strict", clock=HybridLogicalClock(wall, max_drift_ms=DRIFT))
    other = backend.manager("other")
    try:
        strict.set(SESSION, "k", item("k", "strict's first"))
        assert (await strict.sync_session_memory(SESSION)).success
        assert (await future.sync_session_memory(SESSION)).success
        future.set(SESSION, "k", item("k", "from the future"))
        future.set(SESSION, "f", item("f", "also from the future"))
        assert (await future.sync_session_memory(SESSION)).success

        strict.set(SESSION, "j", item("j", "mine"))
        result = await strict.sync_session_memory(SESSION)
        assert result.success
        assert result.conflicts == []
        assert strict.pending(SESSION) == frozenset()
        assert contents(strict) == {"j": "mine"}  # the stale copy of k is not kept either
        assert strict.sync_diagnostics(SESSION).set_aside == ("f", "k")
        assert strict.clock.last < future.clock.last  # not dragged into the future
        await _verified(backend)
        assert (await other.sync_session_memory(SESSION)).success
        assert contents(other) == {
            "j": "mine",
            "k": "from the future",
            "f": "also from the future",
        }

        strict.set(SESSION, "j2", item("j2", "mine too"))  # held back still, syncs go on
        assert (await strict.sync_session_memory(SESSION)).success
        assert (await strict.resync_session(SESSION)).success
        assert strict.sync_diagnostics(SESSION).set_aside == ("f", "k")
        await _verified(backend)

        wall.ms += HOUR - DRIFT  # caught up: within max_drift_ms of the record now
        result = await strict.sync_session_memory(SESSION)
        assert result.success
        assert strict.sync_diagnostics(SESSION).set_aside == ()
        assert contents(strict) == contents(other) | {"j2": "mine too"}
        taken = strict.entry(SESSION, "k")
        assert taken is not None
        assert strict.clock.last > taken.stamp  # observed now
        assert (await other.sync_session_memory(SESSION)).success
        assert strict.metadata(SESSION).checksum == other.metadata(SESSION).checksum
    finally:
        for manager in (future, strict, other):
            await manager.close()


async def test_a_pending_write_over_a_held_back_record_is_a_conflict_it_wins(
    backend: Backend,
) -> None:
    wall = FakeWall()
    future = backend.manager("future", clock=HybridLogicalClock(FakeWall(wall.ms + HOUR)))
    strict = backend.manager(
        "strict", clock=HybridLogicalClock(wall, max_drift_ms=DRIFT), strategy="remote-wins"
    )
    other = backend.manager("other")
    try:
        future.set(SESSION, "k", item("k", "from the future"))
        assert (await future.sync_session_memory(SESSION)).success
        strict.set(SESSION, "k", item("k", "strict's"))
        result = await strict.sync_session_memory(SESSION)
        assert result.success
        assert [(c.key, c.winner) for c in result.conflicts] == [("k", "local")]
        assert content(result.conflicts[0].remote) == "from the future"
        assert strict.pending(SESSION) == frozenset()
        assert strict.sync_diagnostics(SESSION).set_aside == ()  # replaced in the store
        await _verified(backend)
        for manager in (future, other):
            assert (await manager.sync_session_memory(SESSION)).success
            assert content(manager.get(SESSION, "k")) == "strict's"
        wall.ms += HOUR  # nothing held back any more: nothing comes back
        assert (await strict.sync_session_memory(SESSION)).success
        assert content(strict.get(SESSION, "k")) == "strict's"
    finally:
        for manager in (future, strict, other):
            await manager.close()


async def test_a_replica_without_a_drift_limit_takes_it_at_once(backend: Backend) -> None:
    wall = FakeWall()
    future = backend.manager("future", clock=HybridLogicalClock(FakeWall(wall.ms + HOUR)))
    easy = backend.manager("easy", clock=HybridLogicalClock(wall))
    try:
        future.set(SESSION, "k", item("k", "from the future"))
        assert (await future.sync_session_memory(SESSION)).success
        assert (await easy.sync_session_memory(SESSION)).success
        assert contents(easy) == {"k": "from the future"}
        assert easy.sync_diagnostics(SESSION).set_aside == ()
    finally:
        await future.close()
        await easy.close()
