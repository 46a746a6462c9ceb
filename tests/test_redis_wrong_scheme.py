"""A ``redis+cluster://`` URL naming a single Redis server (the reverse, ``redis://`` at a
cluster node, is refused naming ``+cluster``: ``tests/test_redis_cluster.py``).

It failed with redis-py's "Redis Cluster cannot be connected. Please provide at least one
reachable node: Cluster mode is not enabled on this node", which reads as a network problem.
It now says the server is no cluster node and which URL names it, a ``BackendError`` from the
store and a one-line exit 1 from the commands. ``migrate-redis`` with such a DEST, or a cluster
DEST no node of which answers, ended in redis-py's traceback (its cluster client connects as it
is made, before the command's error handling): now the same one line.
"""

from __future__ import annotations

import asyncio

import pytest

from memcore.errors import BackendError
from memcore.stores.redis_migrate import copy_sessions
from tests.conftest import free_port
from tests.redis_support import listed_sessions
from tests.test_redis_migrate import run_cli

SAID = "that server is no Redis Cluster node (cluster mode is not enabled on it)"


def test_a_cluster_url_at_a_single_server_says_so(
    redis_url: str, redis_cluster_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "redis+cluster://" + redis_url.split("://", 1)[1].rsplit("/", 1)[0]
    with pytest.raises(BackendError, match=r"no Redis Cluster node \(cluster mode") as caught:
        asyncio.run(listed_sessions(wrong))
    assert "redis://host:port/db" in str(caught.value)
    with pytest.raises(BackendError, match=r"no Redis Cluster node \(cluster mode"):
        copy_sessions(redis_cluster_url, wrong)
    for args in (["inspect", "--store", wrong], ["migrate-redis", redis_url, "--to", wrong]):
        code, out, err = run_cli(capsys, *args)
        assert (code, out, err.count("\n")) == (1, "", 1)
        assert SAID in err


def test_migrate_redis_to_a_cluster_no_node_of_which_answers_is_one_line(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    nobody = f"redis+cluster://127.0.0.1:{free_port()}"
    for source, dest in ((redis_url, nobody), (nobody, redis_url)):
        code, out, err = run_cli(capsys, "migrate-redis", source, "--to", dest)
        assert (code, out, err.count("\n")) == (1, "", 1)
        assert f"redis connect failed on {nobody}" in err
        assert "Traceback" not in err
