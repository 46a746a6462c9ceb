"""A Redis session whose index (``memcore:{s}:index``, the delta feed) lost keys its items hold:
deleted by hand, evicted under ``maxmemory``, keys taken out of it.

A replica behind read a delta from the index, which left the other replicas' commits out; with
changes pending it then committed over a state it never saw: it silently missed those items,
and the store's digest no longer matched its records (made so by memcore itself). ``verify``
said the session was ok and ``recover`` that it was intact. Now such a delta comes whole (marked
as replaced at its version, which a replica behind takes as the whole state), ``verify`` names
the index, and recovery makes it again from the items, the old one kept aside. On one server
and on a Redis Cluster.
"""

from __future__ import annotations

import asyncio

import pytest

from memcore import DistributedMemoryManager
from memcore.recovery import recover_corrupted_memory, verify_session
from memcore.stores.redis import every_key
from tests.redis_support import store_client


def _contents(manager: DistributedMemoryManager) -> dict[str, str]:
    return {key: str(item.content) for key, item in manager.state("s").items()}


async def _scenario(url: str, damage: str) -> tuple[dict[str, str], dict[str, str]]:
    """A merges version 1; B commits twice more; the index is damaged; A writes and syncs.
    Returns A's state and a fresh reader's."""
    a = DistributedMemoryManager(url, replica_id="A")
    b = DistributedMemoryManager(url, replica_id="B")
    a.set("s", "x", {"content": "1"})
    await a.sync_session_memory("s")
    await b.sync_session_memory("s")
    b.set("s", "y", {"content": "2"})
    await b.sync_session_memory("s")
    b.set("s", "x", {"content": "3"})
    await b.sync_session_memory("s")
    with store_client(url) as raw:
        index = every_key("s")["index"]
        if damage == "deleted":
            raw.delete(index)
        else:
            raw.zrem(index, "y")
    a.set("s", "z", {"content": "4"})
    result = await a.sync_session_memory("s")
    assert result.success, result.error
    reader = DistributedMemoryManager(url, replica_id="reader")
    await reader.sync_session_memory("s")
    try:
        return _contents(a), _contents(reader)
    finally:
        for manager in (a, b, reader):
            await manager.close()


@pytest.mark.parametrize("damage", ["deleted", "lacks a key"])
def test_a_replica_behind_a_damaged_index_misses_nothing_and_recovery_remakes_it(
    any_redis_url: str, damage: str
) -> None:
    url = any_redis_url
    expected = {"x": "3", "y": "2", "z": "4"}
    assert asyncio.run(_scenario(url, damage)) == (expected, expected)

    health = asyncio.run(verify_session("s", url))
    assert not health.ok
    assert any(every_key("s")["index"] in problem for problem in health.problems)
    assert not any("digest mismatch" in problem for problem in health.problems)

    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert "its index made again from its 3 items" in result.message
    health = asyncio.run(verify_session("s", url, deep=True))
    assert health.ok, health.problems
    with store_client(url) as raw:
        assert raw.zcard(every_key("s")["index"]) == 3
        if damage == "lacks a key":  # (kept aside, as it was)
            assert raw.zcard("memcore:{s}:damaged:index") == 2
