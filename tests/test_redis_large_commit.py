"""A commit larger than the server's ``proto-max-bulk-len`` (512 MB by default; one commit's
records travel as one argument of the commit script).

Redis closes the connection on such an argument, so the commit failed as "Error 104 while
writing to socket. Connection reset by peer." and every sync after it the same, with no word of
the cause. It now says the size and the limit, and what to do; the changes stay pending and go
once the limit is raised. Shown with the limit lowered to 1 MB, on one server and a cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from memcore import DistributedMemoryManager
from memcore.errors import BackendError

LIMIT = 1 << 20


@pytest.fixture(params=["single", "cluster"])
def low_limit(request: pytest.FixtureRequest) -> Iterator[tuple[str, Callable[[], None]]]:
    """A store whose servers take arguments of 1 MB at most, and what raises the limit back
    (as it was, after)."""
    if request.param == "single":
        server: Any = request.getfixturevalue("redis_server")
        url, ports = str(request.getfixturevalue("redis_url")), [server.port]
    else:
        nodes: Any = request.getfixturevalue("redis_cluster")
        url, ports = str(request.getfixturevalue("redis_cluster_url")), list(nodes.ports)
    clients = [redis.Redis(host="127.0.0.1", port=port) for port in ports]
    before = [
        str(client.config_get("proto-max-bulk-len")["proto-max-bulk-len"]) for client in clients
    ]
    try:
        for client in clients:
            client.config_set("proto-max-bulk-len", LIMIT)

        def raise_limit() -> None:
            for client, value in zip(clients, before, strict=True):
                client.config_set("proto-max-bulk-len", value)

        yield url, raise_limit
    finally:
        raise_limit()
        for client in clients:
            client.close()


async def _over_the_limit(url: str, raise_limit: Callable[[], None]) -> None:
    manager = DistributedMemoryManager(url, replica_id="big")
    try:
        manager.set("s", "small", {"content": "fits"})
        assert (await manager.sync_session_memory("s")).success
        manager.set("s", "large", {"content": "x" * (2 * LIMIT)})
        with pytest.raises(BackendError, match="proto-max-bulk-len") as caught:
            await manager.sync_session_memory("s")
        assert f"({LIMIT:,})" in str(caught.value)
        assert "commit fewer or smaller items" in str(caught.value)
        raise_limit()
        assert (await manager.sync_session_memory("s")).success  # (kept pending meanwhile)
        reader = DistributedMemoryManager(url, replica_id="reader")
        await reader.sync_session_memory("s")
        assert len(str(reader.state("s")["large"].content)) == 2 * LIMIT
        await reader.close()
    finally:
        await manager.close()


def test_a_commit_over_the_servers_argument_limit_says_so(
    low_limit: tuple[str, Callable[[], None]],
) -> None:
    asyncio.run(_over_the_limit(*low_limit))
