"""``memcore migrate-redis SOURCE --to DEST`` and what recovery moved aside in a session.

Recovery keeps what it could not read (``memcore:{s}:damaged:<part>``, listed in
``memcore:{s}:damaged:names``) for a person to look at. The copy took the session's parts only
and said it moved the session: once the source was retired, what had been kept was gone. It now
goes with the session, under the same names (the same hash slot), so ``delete_session`` at the
destination finds it as at the source.
"""

from __future__ import annotations

import asyncio

from memcore import DistributedMemoryManager
from memcore.recovery import recover_corrupted_memory
from memcore.stores import open_store
from memcore.stores.redis_migrate import copy_sessions
from tests.test_redis_migrate import raw_client
from tests.test_redis_migrate_rerun import cluster_client


async def _fill(url: str) -> None:
    manager = DistributedMemoryManager(url, replica_id="w")
    try:
        for n in range(3):
            manager.set("s", f"k{n}", {"content": f"item {n}"})
            await manager.sync_session_memory("s")
    finally:
        await manager.close()


async def _delete(url: str) -> None:
    store = open_store(url)
    try:
        await store.delete_session("s")
    finally:
        await store.close()


def test_what_recovery_kept_aside_is_copied_with_the_session(
    redis_url: str, redis_cluster_url: str
) -> None:
    asyncio.run(_fill(redis_url))
    with raw_client(redis_url) as raw:
        raw.hset("memcore:{s}:meta", "contended", "abc")  # (a field kept aside by the repair)
        raw.delete("memcore:{s}:index")
        raw.set("memcore:{s}:index", "not a zset")  # (a key moved aside whole)
    result = recover_corrupted_memory("s", redis_url)
    assert result.success, result.message
    with raw_client(redis_url) as raw:
        kept = {name: raw.dump(name) for name in raw.scan_iter(match="memcore:{s}:damaged:*")}
    assert set(kept) == {
        b"memcore:{s}:damaged:meta",
        b"memcore:{s}:damaged:index",
        b"memcore:{s}:damaged:names",
    }

    report = copy_sessions(redis_url, redis_cluster_url)
    assert (report.moved, report.skipped) == (["s"], {})
    with cluster_client(redis_cluster_url) as raw:
        assert raw.get("memcore:{s}:damaged:index") == b"not a zset"
        assert raw.hgetall("memcore:{s}:damaged:meta") == {b"contended": b"abc"}
        assert raw.smembers("memcore:{s}:damaged:names") == {
            b"memcore:{s}:damaged:meta",
            b"memcore:{s}:damaged:index",
        }
    asyncio.run(_delete(redis_cluster_url))  # (finds them all, as at the source)
    with cluster_client(redis_cluster_url) as raw:
        assert not list(raw.scan_iter(match="memcore:{s}:damaged:*"))
