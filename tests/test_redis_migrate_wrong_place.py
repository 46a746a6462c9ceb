"""``memcore migrate-redis`` pointed at the wrong place: DEST the source itself, or a Redis
Cluster node named by a one-server ``redis://`` URL.

Copying a legacy store onto itself put the new layout beside the legacy keys on that server and
said "moved": every session was then in both layouts, which the store refuses as legacy data
and an in-place run skips ("already in the new layout too"), so the store stayed unusable. A
destination reaching the source's keys (the same URL, the same server spelled another way, one
cluster by two of its nodes) is now refused before anything is copied, the source unchanged.

A ``redis://`` URL at a cluster node (which the store refuses, naming ``+cluster``) was taken by
the command: as the source, only that node's sessions were copied and the run said it moved
them all (exit 0); as the destination, it failed on a bare ``MOVED`` reply ("failed: 11097
127.0.0.1:port") after copying the sessions of that node's slots. Both are now the store's line.
"""

from __future__ import annotations

import asyncio

import pytest

from memcore.errors import BackendError, ValidationError
from memcore.stores import open_store
from memcore.stores.redis_migrate import PROBE_PREFIX, copy_sessions
from tests.test_redis_migrate import SESSIONS, make_legacy, raw_client, run_cli
from tests.test_redis_migrate_rerun import cluster_client


def _dump(url: str) -> dict[bytes, bytes]:
    with raw_client(url) as raw:
        return {name: raw.dump(name) for name in raw.scan_iter(count=1000)}


def test_a_copy_onto_the_source_itself_is_refused_and_changes_nothing(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make_legacy(redis_url)
    before = _dump(redis_url)
    elsewhere = redis_url.replace("127.0.0.1", "localhost")
    for dest in (redis_url, elsewhere, redis_url.replace("/0", "/0/")):
        with pytest.raises(ValidationError, match="itself"):
            copy_sessions(redis_url, dest)
        with pytest.raises(ValidationError, match="itself"):
            copy_sessions(redis_url, dest, dry_run=True)
        code, out, err = run_cli(capsys, "migrate-redis", redis_url, "--to", dest)
        assert (code, out, err.count("\n")) == (1, "", 1)
        assert f"`memcore migrate-redis {redis_url}` alone" in err
    assert _dump(redis_url) == before  # (the probe key gone too)

    code, out, _ = run_cli(capsys, "migrate-redis", redis_url)  # the way that works
    assert code == 0, out
    assert f"moved {len(SESSIONS)} session(s)" in out


def test_another_db_of_the_same_server_is_another_store(redis_url: str) -> None:
    make_legacy(redis_url)
    other = redis_url[: -len("/0")] + "/1"
    with raw_client(other) as raw:
        raw.flushdb()
    try:
        assert copy_sessions(redis_url, other).moved == sorted(SESSIONS)
    finally:
        with raw_client(other) as raw:
            raw.flushdb()


def test_a_cluster_named_by_another_node_is_the_same_cluster(redis_cluster_url: str) -> None:
    with cluster_client(redis_cluster_url) as raw:
        nodes = [node.port for node in raw.get_primaries()]
        raw.set("memcore:{s}:meta", b"x")  # (something to copy, were it copied)
    host = redis_cluster_url.rsplit(":", 1)[0]
    other = f"{host}:{next(p for p in nodes if f':{p}' not in redis_cluster_url)}"
    with pytest.raises(ValidationError, match="itself"):
        copy_sessions(redis_cluster_url, other)
    with cluster_client(redis_cluster_url) as raw:
        assert not list(raw.scan_iter(match=f"{PROBE_PREFIX}*"))


async def _sessions_everywhere(url: str, count: int) -> None:
    store = open_store(url)
    try:
        for n in range(count):
            await store.commit(f"c{n}", 0, {"k": bytes([n])}, n)
    finally:
        await store.close()


def test_a_cluster_node_named_as_one_server_is_refused_either_way(
    redis_url: str, redis_cluster_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_sessions_everywhere(redis_cluster_url, 12))  # (over every node's slots)
    node = "redis://" + redis_cluster_url.split("://", 1)[1] + "/0"
    said = f"{node} is a Redis Cluster node"
    with pytest.raises(BackendError, match=said):
        copy_sessions(node, redis_url)
    with pytest.raises(BackendError, match=said):
        copy_sessions(redis_url, node)
    for args in ([node, "--to", redis_url], [node], [redis_url, "--to", node]):
        code, out, err = run_cli(capsys, "migrate-redis", *args)
        assert (code, out) == (1, "")
        assert said in err
        assert "use redis+cluster://host:port" in err
    with raw_client(redis_url) as raw:
        assert raw.dbsize() == 0  # nothing copied
