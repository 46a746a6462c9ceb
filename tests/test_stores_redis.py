"""What only the Redis store can show: key namespacing, URLs with users, passwords and databases,
a server stopped, restarted or silent under a live store, a commit sent twice, lazy imports.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memcore.errors import BackendError, ValidationError
from memcore.stores import open_store
from memcore.stores.redis import RedisStore
from tests.conftest import RedisServer

# --- Redis -------------------------------------------------------------------------------------


def key_slot(name: bytes) -> int:
    from redis.crc import key_slot as slot

    return int(slot(name))


def sync_redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


async def test_redis_keys_are_namespaced_per_session(redis_url: str) -> None:
    opened = open_store(redis_url)
    assert isinstance(opened, RedisStore)
    async with opened as target:
        await target.commit("s1", 0, {"weird:key*": b"v", "memcore:s2:items": b"w"}, 1)
        await target.put_backup("s1", 1, b"blob")
    with sync_redis(redis_url) as raw:
        names = sorted(k.decode() for k in raw.keys("*"))
        # every key of a session in the session's hash slot, and no global key
        assert names == [
            "memcore:{s1}:backups",
            "memcore:{s1}:blobs",
            "memcore:{s1}:index",
            "memcore:{s1}:items",
            "memcore:{s1}:journal",
            "memcore:{s1}:jpos",
            "memcore:{s1}:meta",
        ]
        assert len({key_slot(name.encode()) for name in names}) == 1
        assert raw.hget("memcore:{s1}:items", "weird:key*") == b"v"
        assert raw.hget("memcore:{s1}:meta", "version") == b"1"


async def test_redis_url_with_user_password_and_db(
    redis_server: RedisServer, redis_url: str
) -> None:
    port = redis_server.port
    with sync_redis(redis_url) as admin:
        # a user that may only touch memcore's namespace: the store needs nothing else
        admin.execute_command(
            "ACL", "SETUSER", "agent", "on", ">s3cret", "~memcore:*", "+@all", "-@dangerous"
        )
    try:
        url = f"redis://agent:s3cret@127.0.0.1:{port}/3"
        async with RedisStore(url) as target:
            assert await target.commit("s", 0, {"k": b"v"}, 1) == 1
            assert await target.put_backup("s", 1, b"b")
            assert (await target.read_snapshot("s")).records == {"k": b"v"}
            assert await target.list_sessions() == ["s"]
            assert "s3cret" not in repr(target)
        with sync_redis(f"redis://127.0.0.1:{port}/3") as db3:
            assert db3.hget("memcore:{s}:items", "k") == b"v"
        with sync_redis(redis_url) as db0:
            assert db0.keys("*") == []
        wrong = open_store(f"redis://agent:wrong@127.0.0.1:{port}/3")
        with pytest.raises(BackendError) as caught:
            await wrong.version("s")
        assert "wrong" not in str(caught.value)
        await wrong.close()
    finally:
        with sync_redis(redis_url) as admin:
            admin.execute_command("ACL", "DELUSER", "agent")


async def test_rediss_against_a_plain_server_is_a_backend_error(redis_server: RedisServer) -> None:
    target = RedisStore(f"rediss://127.0.0.1:{redis_server.port}/0", connect_timeout=0.5, retries=0)
    with pytest.raises(BackendError):
        await target.version("s")
    await target.close()


async def test_redis_server_stopped_and_restarted(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis-data")
    server.workdir.mkdir()
    server.start()
    try:
        target = open_store(server.url)
        records = {f"k{i}": bytes([i]) * 10 for i in range(20)}
        assert await target.commit("s", 0, records, 5) == 1
        await target.put_backup("s", 1, b"backup")
        server.stop()
        for call in (
            lambda: target.version("s"),
            lambda: target.commit("s", 1, {"x": b"y"}, 6),
            lambda: target.read_snapshot("s"),
            lambda: target.list_sessions(),
        ):
            with pytest.raises(BackendError) as caught:
                await call()
            assert caught.value.__cause__ is not None
        server.start()  # same port, same data directory (append-only file)
        snap = await target.read_snapshot("s")
        assert (snap.version, snap.records, snap.digest) == (1, records, 5)
        assert await target.commit("s", 1, {"x": b"y"}, 6) == 2  # scripts are loaded again
        assert [b.version for b in await target.list_backups("s")] == [1]
        await target.close()
    finally:
        server.stop()


async def test_redis_commit_sent_twice_is_recognized_by_its_token(redis_url: str) -> None:
    """A retried commit whose first reply was lost returns its version instead of None."""
    async with RedisStore(redis_url) as target:
        first = await target._write("s", 0, {"k": b"v"}, 1, replace=False, token="t-1")
        again = await target._write("s", 0, {"k": b"v"}, 1, replace=False, token="t-1")
        assert first == again == 1
        assert await target._write("s", 0, {"k": b"x"}, 1, replace=False, token="t-2") is None
        assert len(await target.read_journal("s")) == 1
        assert await target.commit("s", 1, {"k": b"w"}, 2) == 2
        # the token of version 1 no longer matches once the session moved on
        assert await target._write("s", 0, {"k": b"v"}, 1, replace=False, token="t-1") is None


async def test_redis_server_that_stops_answering_times_out(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    assert server.process is not None
    try:
        target = RedisStore(server.url, socket_timeout=0.3, retries=0)
        assert await target.commit("s", 0, {"k": b"v"}, 1) == 1
        server.process.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(BackendError) as caught:
                await target.version("s")
            assert "Timeout" in type(caught.value.__cause__).__name__
            with pytest.raises(BackendError):
                await target._write("s", 1, {"k": b"w"}, 2, replace=False, token="pause")
        finally:
            server.process.send_signal(signal.SIGCONT)
        # the commit may or may not have landed while the server was paused: sent again with
        # its token, it gives version 2 either way, and exactly once
        assert await target._write("s", 1, {"k": b"w"}, 2, replace=False, token="pause") == 2
        assert [e.version for e in await target.read_journal("s")] == [1, 2]
        await target.close()
    finally:
        server.stop()


@pytest.mark.filterwarnings("error::ResourceWarning")
@pytest.mark.parametrize("layout", ["node", "cluster"])
def test_redis_store_serves_one_event_loop_after_another(
    layout: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("redis_url" if layout == "node" else "redis_cluster_url")
    target = open_store(url)
    assert asyncio.run(target.commit("s", 0, {"k": b"1"}, 1)) == 1
    assert asyncio.run(target.commit("s", 1, {"k": b"2"}, 2)) == 2
    assert asyncio.run(target.read_snapshot("s")).records == {"k": b"2"}
    asyncio.run(target.close())
    assert asyncio.run(target.version("s")) == 2
    # a loop closed without finalizing its async generators: the client is dropped, not leaked
    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(target.commit("s", 2, {"k": b"3"}, 3)) == 3
    loop.close()
    assert asyncio.run(target.read_snapshot("s")).records == {"k": b"3"}
    asyncio.run(target.close())
    gc.collect()  # (the dropped client's sockets: closed already, no ResourceWarning now)


def test_redis_is_imported_only_by_the_redis_store(monkeypatch: pytest.MonkeyPatch) -> None:
    probe = (
        "import sys, memcore, memcore.stores, memcore.stores.redis; print('redis' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(BackendError, match=r"-m pip install 'redis>=5' \(the \[redis\] extra\)"):
        open_store("redis://127.0.0.1:6379/0")


def test_bad_redis_urls_are_validation_errors() -> None:
    for bad in (
        "redis://host:notaport/0",
        "redis://host:99999/0",
        "redis://host:6379/zero",
        "redis://host:6379/0?socket_timeout=soon",
        "http://host:6379/0",
    ):
        with pytest.raises(ValidationError):
            RedisStore(bad)
