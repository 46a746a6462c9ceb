"""URLs a new user writes that used to fail late or strangely: a query option redis-py does not
know (a bare ``TypeError`` from the first command), options that make replies text (a
``UnicodeDecodeError`` out of the first sync), and a plain ``redis://`` URL at a cluster node
(a bare ``MOVED`` reply, ``16287 127.0.0.1:7001``, and sessions of the other nodes silently
missing from ``list_sessions``)."""

from __future__ import annotations

import pytest

from memcore.errors import BackendError, ValidationError
from memcore.stores import open_store
from memcore.sync import DistributedMemoryManager
from tests.redis_cluster import RedisClusterNodes

SECRET = "pw-9f1"


@pytest.mark.parametrize(
    "query", ["foo=bar", "single_connection_client=true", f"password={SECRET}&nonsense=1"]
)
@pytest.mark.parametrize("scheme", ["redis", "redis+cluster"])
def test_an_unknown_query_option_is_a_validation_error_when_the_store_is_opened(
    query: str, scheme: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        open_store(f"{scheme}://127.0.0.1:6379?{query}")
    assert "is not a parameter memcore takes" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "query", ["decode_responses=true", "encoding=latin-1", "encoding_errors=ignore"]
)
@pytest.mark.parametrize("scheme", ["redis", "rediss+cluster"])
def test_options_that_turn_replies_into_text_are_refused(query: str, scheme: str) -> None:
    with pytest.raises(ValidationError, match="binary"):
        open_store(f"{scheme}://127.0.0.1:6379?{query}")


async def test_known_query_options_still_pass_through(redis_url: str) -> None:
    manager = DistributedMemoryManager(
        storage_backend=redis_url + "?protocol=3&health_check_interval=1&client_name=memcore",
        replica_id="a",
    )
    try:
        manager.set("s", "k", {"content": "v"})
        assert (await manager.sync_session_memory("s")).success
    finally:
        await manager.close()


async def test_a_plain_url_at_a_cluster_node_says_to_use_the_cluster_scheme(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str
) -> None:
    cluster = open_store(redis_cluster_url)
    try:
        for n in range(20):  # sessions on every node
            await cluster.commit(f"s{n}", 0, {"k": b"v"}, 1)
    finally:
        await cluster.close()
    for port in redis_cluster.ports:
        plain = open_store(f"redis://127.0.0.1:{port}/0")
        try:
            for call in (plain.list_sessions(), plain.version("s0")):
                with pytest.raises(BackendError) as caught:
                    await call
                assert "is a Redis Cluster node" in str(caught.value)
                assert "redis+cluster://" in str(caught.value)
        finally:
            await plain.close()
