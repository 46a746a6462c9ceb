"""Redis and Redis Cluster benchmarks, side by side with the raw client and with SQLite.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_redis.py --benchmark-only -q``.

* ``commit-1key-<backend>``: one key written durably, three ways on one server (or cluster):
  ``raw-multi`` is the floor, redis-py's ``MULTI`` pipeline writing one hash field and one
  sorted-set member (what any versioned key-value write needs at least) in one round trip (on
  a cluster, sent straight to the node that serves the slot);
  ``store-commit`` is ``RedisStore.commit`` of one record (version compare-and-set, items,
  delta index, journal and meta in one ``EVALSHA``); ``manager-sync`` is a whole
  ``DistributedMemoryManager`` ``set`` + sync of one changed key (encode, then commit first:
  the commit script conditioned on the version, digest and incarnation the replica saw, one
  ``EVALSHA``, with nothing else changing the session; a read and merge only if that fails).
  Read the ratios to ``raw-multi``.
* ``session-100k-<phase>``: a 100,000-item session: ``first-sync`` (one replica commits it
  whole), ``pull`` (a fresh replica syncs it whole), ``delta-100`` (one replica changes 100 keys
  and syncs, another pulls them), on SQLite, Redis and Redis Cluster (names ``sqlite``,
  ``redis``, ``redis-cluster``).
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest

from benchmarks import test_bench_sync
from memcore.model import MemoryItem
from memcore.stores import Entry, encode_entry, open_store
from memcore.stores.redis import RedisStore, session_keys
from memcore.sync import DistributedMemoryManager

BIG = 100_000
CHANGED = 100
make_item = test_bench_sync.make_item
loop = test_bench_sync.loop  # the fixture: a fresh event loop per benchmark


@pytest.fixture(params=["redis", "redis-cluster"])
def redis_backend(request: pytest.FixtureRequest) -> str:
    fixture = "redis_cluster_url" if request.param == "redis-cluster" else "redis_url"
    url: str = request.getfixturevalue(fixture)
    return url


def _name(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    return "redis-cluster" if "+cluster" in url else "redis"


def _raw_client(url: str, key: str) -> Any:
    """A plain asyncio client on the server that holds ``key`` (on a cluster, the node that
    serves its slot, talked to directly: the floor, without the cluster client's routing)."""
    import redis.asyncio

    store = open_store(url)
    assert isinstance(store, RedisStore)
    if not store.cluster:
        return redis.asyncio.Redis.from_url(url)
    with store.sync_client() as cluster:
        node = cluster.get_node_from_key(key)
        return redis.asyncio.Redis(host=node.host, port=node.port)


# --- one-key commit -----------------------------------------------------------------------------

RECORD = encode_entry(Entry(make_item(1).to_dict(), 1 << 40, "bench"))


def test_commit_1key_raw_multi(
    benchmark: Any, redis_backend: str, loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = f"commit-1key-{_name(redis_backend)}"
    benchmark.name = "raw-multi"
    keys = session_keys("bench-raw")
    client = _raw_client(redis_backend, keys["items"])
    counter = itertools.count(1)

    async def one() -> None:
        n = next(counter)
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(keys["items"], "k", RECORD)
            pipe.zadd(keys["index"], {"k": n})
            await pipe.execute()

    benchmark(lambda: loop.run_until_complete(one()))
    loop.run_until_complete(client.aclose())


def test_commit_1key_store(
    benchmark: Any, redis_backend: str, loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = f"commit-1key-{_name(redis_backend)}"
    benchmark.name = "store-commit"
    store = open_store(redis_backend)
    version = [0]

    async def one() -> None:
        new = await store.commit("bench-store", version[0], {"k": RECORD}, version[0])
        assert new == version[0] + 1
        version[0] = new

    benchmark(lambda: loop.run_until_complete(one()))
    loop.run_until_complete(store.close())


def test_commit_1key_manager_sync(
    benchmark: Any, redis_backend: str, loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = f"commit-1key-{_name(redis_backend)}"
    benchmark.name = "manager-sync"
    store = open_store(redis_backend)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="bench")
    counter = itertools.count()
    items = [make_item(1, revision) for revision in range(16)]

    async def one() -> None:
        manager.set("bench-sync", "mem-000001", items[next(counter) % 16])
        result = await manager.sync_session_memory("bench-sync")
        assert result.success

    benchmark(lambda: loop.run_until_complete(one()))
    loop.run_until_complete(manager.close())
    loop.run_until_complete(store.close())


# --- a 100k-item session ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
def any_backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'big.db'}"
    fixture = "redis_cluster_url" if request.param == "redis-cluster" else "redis_url"
    url: str = request.getfixturevalue(fixture)
    # (a first sync of 100k items is one commit script whose reply took over the default 5 s
    # on a loaded 2-core machine: the wait is raised for it, as the README tells users to)
    return f"{url}{'&' if '?' in url else '?'}socket_timeout=60"


@pytest.fixture(scope="module")
def big_items() -> list[MemoryItem]:
    return [make_item(index) for index in range(BIG)]


def _filled(url: str, session: str, items: list[MemoryItem]) -> DistributedMemoryManager:
    manager = DistributedMemoryManager(storage_backend=url, replica_id=f"w-{session}")
    for item in items:
        manager.set(session, item.id, item)
    return manager


def test_100k_first_sync(
    benchmark: Any, any_backend: str, big_items: list[MemoryItem], loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = "session-100k-first-sync"
    benchmark.name = _name(any_backend)
    rounds = itertools.count()
    managers: list[DistributedMemoryManager] = []

    def setup() -> tuple[tuple[DistributedMemoryManager, str], dict[str, Any]]:
        session = f"big-{next(rounds)}"
        managers.append(_filled(any_backend, session, big_items))
        return (managers[-1], session), {}

    def first_sync(manager: DistributedMemoryManager, session: str) -> None:
        result = loop.run_until_complete(manager.sync_session_memory(session))
        assert result.success
        assert result.version == 1

    benchmark.pedantic(first_sync, setup=setup, rounds=3)
    for manager in managers:
        loop.run_until_complete(manager.close())


def test_100k_pull(
    benchmark: Any, any_backend: str, big_items: list[MemoryItem], loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = "session-100k-pull"
    benchmark.name = _name(any_backend)
    writer = _filled(any_backend, "big", big_items)
    loop.run_until_complete(writer.sync_session_memory("big"))
    readers: list[DistributedMemoryManager] = []

    def setup() -> tuple[tuple[DistributedMemoryManager], dict[str, Any]]:
        readers.append(DistributedMemoryManager(storage_backend=any_backend, replica_id="r"))
        return (readers[-1],), {}

    def pull(reader: DistributedMemoryManager) -> None:
        result = loop.run_until_complete(reader.sync_session_memory("big"))
        assert result.synced_items == BIG

    benchmark.pedantic(pull, setup=setup, rounds=3)
    assert readers[-1].metadata("big").checksum == writer.metadata("big").checksum
    for manager in [writer, *readers]:
        loop.run_until_complete(manager.close())


def test_100k_delta_100(
    benchmark: Any, any_backend: str, big_items: list[MemoryItem], loop: asyncio.AbstractEventLoop
) -> None:
    benchmark.group = "session-100k-delta-100"
    benchmark.name = _name(any_backend)
    writer = _filled(any_backend, "big", big_items)
    reader = DistributedMemoryManager(storage_backend=any_backend, replica_id="r")
    loop.run_until_complete(writer.sync_session_memory("big"))
    loop.run_until_complete(reader.sync_session_memory("big"))
    revision = itertools.count(1)

    async def one_round() -> None:
        rev = next(revision)
        for index in range(0, BIG, BIG // CHANGED):
            writer.set("big", f"mem-{index:06d}", make_item(index, rev))
        pushed = await writer.sync_session_memory("big")
        pulled = await reader.sync_session_memory("big")
        assert pushed.synced_items == CHANGED
        assert pulled.synced_items == CHANGED

    benchmark.pedantic(lambda: loop.run_until_complete(one_round()), rounds=25, warmup_rounds=2)
    assert reader.metadata("big").checksum == writer.metadata("big").checksum
    for manager in (writer, reader):
        loop.run_until_complete(manager.close())
