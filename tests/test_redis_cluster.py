"""What only Redis Cluster shows: sessions spread over the nodes, one slot per session, a node
killed (SIGKILL) and restarted under live stores and under writer processes.

The store's conformance suite (tests/test_stores.py) and the multi-process sync tests
(tests/test_sync_processes.py) run on the cluster too, through their ``redis-cluster`` params.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import time
from typing import Any

import pytest

from memcore.errors import BackendError, ValidationError
from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.stores.redis import RedisStore, session_keys
from memcore.sync import DistributedMemoryManager
from tests.redis_cluster import BUS_OFFSET, RedisClusterNodes, cluster_ports, ephemeral_range
from tests.test_sync_processes import SESSION, _stored

pytestmark = pytest.mark.timeout(180)


def node_of(cluster: RedisClusterNodes, session: str) -> int:
    """The port of the node that serves a session's hash slot."""
    from redis.cluster import RedisCluster

    with RedisCluster(host="127.0.0.1", port=cluster.ports[0]) as client:
        return int(client.get_node_from_key(session_keys(session)["meta"]).port)


def test_cluster_ports_and_their_bus_ports_are_free_and_in_range() -> None:
    ports = cluster_ports()
    assert len(set(ports)) == 3
    low, _ = ephemeral_range()
    for port in ports:
        assert port + BUS_OFFSET < 65536
        assert port + BUS_OFFSET not in ports
        if low - BUS_OFFSET > 10_100:  # (outside the kernel's ports for clients: see the module)
            assert port + BUS_OFFSET < low


async def test_sessions_spread_over_the_nodes_each_in_one_slot(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str
) -> None:
    store = open_store(redis_cluster_url)
    assert isinstance(store, RedisStore)
    assert store.cluster
    sessions = [f"s{i}" for i in range(12)]
    for index, session in enumerate(sessions):
        assert await store.commit(session, 0, {"k": bytes([index])}, index) == 1
        await store.put_backup(session, 1, b"backup")
    assert {node_of(redis_cluster, s) for s in sessions} == set(redis_cluster.ports)
    assert await store.list_sessions() == sorted(sessions)  # SCAN over every primary
    await store.delete_session("s3")
    assert "s3" not in await store.list_sessions()
    assert (await store.read_snapshot("s4")).records == {"k": b"\x04"}
    await store.close()


def test_cluster_urls_take_no_db_and_both_schemes() -> None:
    for url in ("redis+cluster://127.0.0.1:7000", "rediss+cluster://u:p@127.0.0.1:7000/0"):
        store = open_store(url)
        assert isinstance(store, RedisStore)
        assert store.cluster
    with pytest.raises(ValidationError, match="db 0"):
        open_store("redis+cluster://127.0.0.1:7000/2")


async def test_acknowledged_writes_survive_a_node_killed_and_restarted(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str
) -> None:
    """appendonly yes: every commit the store acknowledged is there after SIGKILL + restart,
    and the commit script, gone from the restarted node's cache, is loaded again."""
    store = open_store(redis_cluster_url)
    records = {f"k{i}": bytes([i]) * 20 for i in range(50)}
    for version in range(20):
        key = f"k{version}"
        assert await store.commit("durable", version, {key: records[key]}, version) == version + 1
    await store.put_backup("durable", 20, b"kept")
    port = node_of(redis_cluster, "durable")
    redis_cluster.kill_node(port)
    with pytest.raises(BackendError):
        await store.commit("durable", 20, {"lost": b"x"}, 99)
    redis_cluster.start_node(port)
    redis_cluster.wait_ok()
    snapshot = await store.read_snapshot("durable")
    assert (snapshot.version, snapshot.digest) == (20, 19)
    assert snapshot.records == {f"k{i}": records[f"k{i}"] for i in range(20)}
    assert [b.version for b in await store.list_backups("durable")] == [20]
    assert await store.commit("durable", 20, {"after": b"restart"}, 21) == 21
    assert len(await store.read_journal("durable")) == 21
    await store.close()


async def test_a_node_that_stops_answering_is_reported_after_one_timeout(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str
) -> None:
    """SIGSTOP: the node accepts connections and never answers. The cluster client would retry
    the timeout twice more (3x ``socket_timeout``); the store reports it after one."""
    store = open_store(redis_cluster_url + "?socket_timeout=1")
    assert await store.commit("paused", 0, {"k": b"v"}, 1) == 1
    process = redis_cluster.processes[node_of(redis_cluster, "paused")]
    process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(BackendError) as caught:
            await store.version("paused")
        assert time.monotonic() - started < 2.5
        assert "Timeout" in type(caught.value.__cause__).__name__
    finally:
        process.send_signal(signal.SIGCONT)
    assert await store.version("paused") == 1
    await store.close()


# --- writer processes while a node is killed and restarted ---------------------------------------

WRITERS = 3
ROUNDS = 30


async def _writer(url: str, index: int, go: Any, queue: Any) -> None:
    """Write one key per round and sync; a sync the store refuses (node down) is retried later,
    its writes kept pending. At the end, sync until everything is committed."""
    manager = DistributedMemoryManager(storage_backend=url, replica_id=f"cw{index}")
    failures = 0
    try:
        await asyncio.to_thread(go.wait)
        for round_ in range(ROUNDS):
            key = f"w{index}-{round_}"
            manager.set(SESSION, key, MemoryItem(id=key, content=str(round_)))
            manager.set(SESSION, "shared", MemoryItem(id="shared", content=key))
            try:
                await manager.sync_session_memory(SESSION)
            except BackendError:
                failures += 1
            await asyncio.sleep(0.03)
        deadline = time.monotonic() + 60
        while True:
            try:
                result = await manager.sync_session_memory(SESSION)
                if result.success and not manager.pending(SESSION):
                    break
            except BackendError:
                failures += 1
            assert time.monotonic() < deadline, "never synced after the restart"
            await asyncio.sleep(0.1)
        queue.put({"index": index, "failures": failures})
        await asyncio.to_thread(go.wait)  # every writer has committed everything
        await manager.sync_session_memory(SESSION)
        queue.put(
            {
                "digest": manager.metadata(SESSION).checksum,
                "state": {k: v.content for k, v in manager.state(SESSION).items()},
            }
        )
    finally:
        await manager.close()


def writer_process(url: str, index: int, go: Any, queue: Any) -> None:
    asyncio.run(_writer(url, index, go, queue))


def test_writer_processes_lose_nothing_when_a_node_restarts_mid_run(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str
) -> None:
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Barrier(WRITERS + 1)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=writer_process, args=(redis_cluster_url, i, go, queue))
        for i in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    try:
        go.wait(timeout=60)
        time.sleep(0.3)  # mid-run: every writer has synced a few rounds
        redis_cluster.restart_node(node_of(redis_cluster, SESSION))
        assert queue.empty(), "a writer finished before the node was restarted"
        finished = [queue.get(timeout=120) for _ in procs]
        go.wait(timeout=60)
        reports = [queue.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
            assert proc.exitcode == 0
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
    assert sorted(f["index"] for f in finished) == list(range(WRITERS))
    live, digest, _ = asyncio.run(_stored(redis_cluster_url))
    expected = {f"w{i}-{r}": str(r) for i in range(WRITERS) for r in range(ROUNDS)}
    assert {k: v for k, v in live.items() if k != "shared"} == expected
    assert live["shared"] in {f"w{i}-{ROUNDS - 1}" for i in range(WRITERS)}
    for report in reports:
        assert report["digest"] == digest
        assert report["state"] == live


def _sockets() -> int:
    import os

    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # (closed meanwhile, or the listing's own)
            continue
    return count


async def test_a_store_closed_while_its_client_is_being_checked_leaves_no_socket(
    redis_cluster_url: str,
) -> None:
    """``close`` landing while a new client's layout check still connects to the nodes: the
    check went on, opened the nodes' connections after the close, and left them to nobody."""
    import gc
    import warnings

    base = _sockets()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(5):
            store = open_store(redis_cluster_url)
            assert isinstance(store, RedisStore)
            first = asyncio.ensure_future(store.version("s"))
            for _ in range(10_000):  # (until the client is made, its check under way)
                if store._checked is not None:
                    break
                await asyncio.sleep(0)
            assert store._checked is not None
            await store.close()
            await asyncio.wait((first,))
            if not first.cancelled():
                first.exception()  # (retrieved: it may fail, the store closed under it)
        gc.collect()
        await asyncio.sleep(0.05)
        gc.collect()
    assert _sockets() == base
    assert not [w for w in caught if "Unclosed" in str(w.message)]
