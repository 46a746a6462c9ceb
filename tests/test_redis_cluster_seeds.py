"""A Redis Cluster URL naming several seed nodes: ``redis+cluster://h1:p1,h2:p2,h3:p3``.

It was refused as a bad port ("Port could not be cast to integer value as '1,h2:2'"), so a
user could name only one node, and a store whose one named node was down could not be opened
though the rest of the cluster was up. Every node of the list is now checked as a URL's one
address is, one user, password and query serve them all, and the store (the library, the
commands' ``--store``, ``migrate-redis``'s source and ``--to``) connects through any node that
answers (redis-py's ``startup_nodes``).
"""

from __future__ import annotations

import asyncio

import pytest

from memcore.errors import BackendError, ValidationError
from memcore.stores import check_store_url, mask_url, open_store
from memcore.stores.redis import RedisStore
from memcore.stores.redis_migrate import copy_sessions
from memcore.stores.redis_urls import parse_redis_url
from memcore.sync import DistributedMemoryManager
from tests.conftest import free_port
from tests.redis_cluster import RedisClusterNodes
from tests.test_redis_migrate import run_cli

pytestmark = pytest.mark.timeout(180)


def _seeds_url(cluster: RedisClusterNodes, *, dead: int = 1, userinfo: str = "") -> str:
    """The cluster's URL naming ``dead`` ports nobody listens on first, then every node."""
    nodes = [f"127.0.0.1:{free_port()}" for _ in range(dead)]
    nodes += [f"127.0.0.1:{port}" for port in cluster.ports]
    return f"redis+cluster://{userinfo}{','.join(nodes)}"


def test_every_node_of_the_list_is_read_and_checked() -> None:
    url = "rediss+cluster://u:p%40ss@h1:7000,[::1]:7001,H1:7000,h2/0?socket_timeout=3"
    parsed = parse_redis_url(url)
    assert parsed.cluster
    assert parsed.seeds == (("h1", 7000), ("::1", 7001), ("h2", 6379))  # (a repeat dropped)
    assert parsed.client_url == "rediss://u:p%40ss@h1:7000/0"
    assert parsed.socket_timeout == 3.0
    assert check_store_url(url) == url
    store = open_store(url)
    assert isinstance(store, RedisStore)
    assert store.timeouts[0] == 3.0  # (the query serves every node)
    bad = {
        "redis+cluster://h1:7000,,h2:7001": "node 2 of its list of nodes is empty",
        "redis+cluster://h1:7000,": "node 2 of its list of nodes is empty",
        "redis+cluster://,h1:7000": "node 1 of its list of nodes is empty",
        "redis+cluster://h1:7000,h2:x": "the node 'h2:x': Port could not be cast",
        "redis+cluster://h1:7000,h2:70000": "the node 'h2:70000': Port out of range",
        "redis+cluster://h1:7000,::1:7001": "the node '::1:7001'",
        "redis+cluster://h1:7000,[::1:7001": "Invalid IPv6 URL",
        "redis+cluster://h1:7000,:7001": "the node ':7001' is no host:port",
        "redis+cluster://:7001": "the node ':7001' is no host:port",
        "redis://h1:7000,h2:7001/0": "only a Redis Cluster URL names several nodes",
        "rediss://u:secret@h1:7000,h2:7001": "only a Redis Cluster URL names several nodes",
        "redis+cluster://h1:7000,h2:7001/3": "Redis Cluster has only db 0",
        "redis+cluster://u:secret@h1:7000,h2:7001?nonsense=1": "nonsense is not a parameter",
    }
    for url, said in bad.items():
        with pytest.raises(ValidationError, match=said.replace("[", r"\[")) as caught:
            open_store(url)
        assert "secret" not in str(caught.value)


def test_a_password_is_masked_before_every_node_of_the_list() -> None:
    url = "rediss+cluster://user:s3cr,t@h1:7000,h2:7001?password=other"
    shown = mask_url(url)
    assert shown == "rediss+cluster://user:***@h1:7000,h2:7001?password=***"
    assert repr(open_store(url)) == f"RedisStore({shown!r})"


async def test_the_store_connects_through_a_node_that_answers(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str
) -> None:
    """The first node named is a port nobody listens on: commits and pulls go through the
    others, and another replica on the cluster's usual URL sees the same session."""
    seeds = _seeds_url(redis_cluster)
    writer = DistributedMemoryManager(storage_backend=seeds, replica_id="seeds")
    reader = DistributedMemoryManager(storage_backend=redis_cluster_url, replica_id="one")
    try:
        for n in range(5):
            writer.set(f"s{n}", "k", {"content": f"written through the seeds {n}"})
            assert (await writer.sync_session_memory(f"s{n}")).success
        for n in range(5):  # (sessions in every node's slots)
            assert (await reader.sync_session_memory(f"s{n}")).success
            assert reader.get(f"s{n}", "k").content == f"written through the seeds {n}"
        reader.set("s0", "back", {"content": "from the other replica"})
        assert (await reader.sync_session_memory("s0")).success
        assert (await writer.sync_session_memory("s0")).success
        assert writer.get("s0", "back").content == "from the other replica"
    finally:
        await writer.close()
        await reader.close()
    store = open_store(seeds)
    try:
        assert await store.list_sessions() == [f"s{n}" for n in range(5)]
    finally:
        await store.close()


async def test_no_node_that_answers_is_a_backend_error_naming_the_url(
    redis_cluster: RedisClusterNodes,
) -> None:
    ports = [free_port() for _ in range(3)]
    url = "redis+cluster://user:secret@" + ",".join(f"127.0.0.1:{p}" for p in ports)
    store = open_store(url)
    try:
        with pytest.raises(BackendError) as caught:
            await store.list_sessions()
    finally:
        await store.close()
    said = str(caught.value)
    assert f"redis connect failed on {mask_url(url)}" in said
    assert "secret" not in said
    with pytest.raises(BackendError, match="redis connect failed on") as copied:
        copy_sessions(_seeds_url(redis_cluster), url)
    assert "secret" not in str(copied.value)


def test_the_commands_take_the_list(
    redis_cluster: RedisClusterNodes,
    redis_cluster_url: str,
    redis_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeds = _seeds_url(redis_cluster)
    writer = DistributedMemoryManager(storage_backend=redis_url, replica_id="w")

    async def fill() -> None:
        writer.set("moved", "k", {"content": "copied onto the cluster"})
        await writer.sync_session_memory("moved")
        await writer.close()

    asyncio.run(fill())
    code, out, err = run_cli(capsys, "migrate-redis", redis_url, "--to", seeds)
    assert (code, err) == (0, ""), err
    assert "moved 1 session(s)" in out
    assert mask_url(seeds) in out
    code, out, err = run_cli(capsys, "verify", "--store", seeds)
    assert code == 0, err
    assert "moved" in out
    code, out, err = run_cli(capsys, "inspect", "--store", seeds, "moved")
    assert code == 0, err
    # the same cluster by the list and by one node: one keyspace, refused before any copy
    code, out, err = run_cli(capsys, "migrate-redis", seeds, "--to", redis_cluster_url)
    assert code != 0
    assert "itself" in err
    code, out, err = run_cli(capsys, "inspect", "--store", "redis+cluster://h1:7000,,h2:7001")
    assert code == 2
    assert "node 2 of its list of nodes is empty" in err
