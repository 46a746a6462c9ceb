"""The Redis fixtures themselves: a server whose port another test worker's server took first
moves to another port instead of borrowing that server (its PONG is not ours)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RedisServer
from tests.redis_cluster import RedisClusterNodes, ephemeral_range, loopback_port, serves

pytestmark = pytest.mark.timeout(120)


def test_loopback_ports_are_below_the_ephemeral_range_when_there_is_room() -> None:
    low, _ = ephemeral_range()
    ports = {loopback_port() for _ in range(20)}
    if low > 10_000 + 10_000 + 100:
        assert all(port < low for port in ports)


def test_a_server_whose_port_is_taken_starts_on_another_and_keeps_it_on_restart(
    tmp_path: Path,
) -> None:
    first = RedisServer(tmp_path / "first")
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first.start()
    try:
        second = RedisServer(tmp_path / "second")
        second.port = first.port
        second.start()
        try:
            assert second.port != first.port
            assert second.process is not None
            assert serves(second.port, second.process)
            assert first.process is not None
            assert serves(first.port, first.process)
            moved = second.port
            second.stop()
            second.start()
            assert second.port == moved
        finally:
            second.stop()
    finally:
        first.stop()


def test_a_restart_on_a_port_taken_meanwhile_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    server = RedisServer(tmp_path / "a")
    server.start()
    port = server.port
    server.stop()
    other = RedisServer(tmp_path / "b")
    other.port = port
    other.start()
    try:
        assert other.port == port
        with pytest.raises(RuntimeError, match="did not start"):
            server.start()
    finally:
        server.stop()
        other.stop()


def test_a_cluster_node_on_a_port_another_server_holds_does_not_start(tmp_path: Path) -> None:
    (tmp_path / "single").mkdir()
    single = RedisServer(tmp_path / "single")
    single.start()
    try:
        nodes = RedisClusterNodes(tmp_path / "cluster")
        with pytest.raises(RuntimeError, match="did not start"):
            nodes.start_node(single.port)
        nodes.stop()
        assert single.process is not None
        assert serves(single.port, single.process)
    finally:
        single.stop()
