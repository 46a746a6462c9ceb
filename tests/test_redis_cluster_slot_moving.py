"""A session whose hash slot is being moved between cluster nodes (``redis-cli --cluster
reshard`` does it key by key: ``CLUSTER SETSLOT ... MIGRATING/IMPORTING``, then ``MIGRATE``),
or that no node serves.

While some of the session's keys have moved and others not, each script over them is answered
``TRYAGAIN``/``ASK``; redis-py's cluster client gave up with "TTL exhausted.", which memcore
passed on as the reason. It is now said what it is (the slot being moved, or a failover: try
again), still a ``BackendError``; once the move ends the session syncs, nothing lost. A slot no
node serves (a failed node with no replica; ``CLUSTER DELSLOTS`` here) made redis-py say "All
slots are not covered after query all startup_nodes" or "The cluster is down" behind memcore's
internals ("Command # 1 (EXISTS memcore:sessions) of pipeline caused error"): now the cluster is
said to be down, and how to see why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from memcore import DistributedMemoryManager
from memcore.errors import BackendError
from memcore.stores.redis import every_key
from tests.redis_cluster import RedisClusterNodes

SESSION = "moving"


def _node(port: int) -> Any:
    return redis.Redis(host="127.0.0.1", port=port)


def _owner(ports: list[int], slot: int) -> int:
    with _node(ports[0]) as node:
        for start, end, primary, *_ in node.execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return int(primary[1])
    raise AssertionError(f"no node serves slot {slot}")


def _move(ports: list[int], slot: int, source: int, target: int, keys: list[str]) -> None:
    """Start moving ``slot`` from ``source`` to ``target`` and migrate ``keys`` only."""
    with _node(source) as src, _node(target) as dst:
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.cluster("MYID"))
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst.cluster("MYID"))
        if keys:
            src.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)


def _finish(ports: list[int], slot: int, source: int, target: int) -> None:
    """Migrate the slot's remaining keys and give it to ``target`` on every node."""
    with _node(source) as src, _node(target) as dst:
        while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            src.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
        owner = dst.cluster("MYID")
    for port in ports:
        with _node(port) as node:
            node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", owner)


@pytest.fixture
def slot_and_nodes(redis_cluster: RedisClusterNodes, redis_cluster_url: str) -> Iterator[Any]:
    ports = list(redis_cluster.ports)
    with _node(ports[0]) as node:
        slot = int(node.cluster("KEYSLOT", every_key(SESSION)["meta"]))
    source = _owner(ports, slot)
    target = next(port for port in ports if port != source)
    yield ports, slot, source, target
    if _owner(ports, slot) != source:  # (the fixture's cluster as it was, for other tests)
        _move(ports, slot, target, source, [])
        _finish(ports, slot, target, source)
    redis_cluster.wait_ok()


async def _sync(url: str, replica: str, key: str) -> dict[str, str]:
    manager = DistributedMemoryManager(url, replica_id=replica)
    try:
        manager.set(SESSION, key, {"content": key})
        result = await manager.sync_session_memory(SESSION)
        assert result.success, result.error
        return {k: str(item.content) for k, item in manager.state(SESSION).items()}
    finally:
        await manager.close()


def test_a_session_whose_slot_is_half_moved_is_said_so_and_syncs_after(
    redis_cluster_url: str, slot_and_nodes: Any
) -> None:
    ports, slot, source, target = slot_and_nodes
    asyncio.run(_sync(redis_cluster_url, "a", "first"))
    _move(ports, slot, source, target, [every_key(SESSION)["index"]])

    with pytest.raises(BackendError, match="hash slot is being moved between nodes") as caught:
        asyncio.run(_sync(redis_cluster_url, "b", "second"))
    assert "TTL exhausted" not in str(caught.value)

    _finish(ports, slot, source, target)
    assert asyncio.run(_sync(redis_cluster_url, "c", "third")) == {
        "first": "first",
        "third": "third",
    }


def test_a_cluster_with_a_slot_no_node_serves_is_said_to_be_down(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str, slot_and_nodes: Any
) -> None:
    ports, slot, source, _ = slot_and_nodes
    asyncio.run(_sync(redis_cluster_url, "a", "first"))
    for port in ports:
        with _node(port) as node:
            node.execute_command("CLUSTER", "DELSLOTS", slot)
    try:
        with pytest.raises(BackendError, match="the cluster is down: some of its hash slots"):
            asyncio.run(_sync(redis_cluster_url, "b", "second"))
    finally:
        with _node(source) as node:
            node.execute_command("CLUSTER", "ADDSLOTS", slot)
        redis_cluster.wait_ok()
    assert asyncio.run(_sync(redis_cluster_url, "c", "third")) == {
        "first": "first",
        "third": "third",
    }
