"""Redis URLs as a new user and an adversarial probe met them (issue 14, items 7, 11 and 13):
a bad URL is a ``ValidationError`` even with a password in it, the password is never shown
(reprs, errors, ``inspect``, ``verify``, ``demo``), and timeouts are URL parameters with
defaults that report a stopped server in seconds."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memcore.cli import main
from memcore.errors import BackendError, ValidationError
from memcore.stores import mask_url, open_store
from memcore.stores.redis import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_SOCKET_TIMEOUT,
    RedisStore,
    parse_redis_url,
)
from tests.conftest import RedisServer, free_port

SECRET = "s3cret-pw"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{SECRET}@127.0.0.1:99999/0",  # the port out of range (issue 14, item 7)
        f"redis://agent:{SECRET}@127.0.0.1:notaport/0",
        f"redis+cluster://:{SECRET}@127.0.0.1:99999",
        f"redis://:{SECRET}@127.0.0.1:6379/zero",
        f"redis+cluster://:{SECRET}@127.0.0.1:7000/3",
        f"redis://:{SECRET}@127.0.0.1:6379/0?socket_timeout=soon",
        f"redis://:{SECRET}@127.0.0.1:6379/0?connect_timeout=-1",
        f"redis://127.0.0.1:6379/0?password={SECRET}&health_check_interval=soon",
    ],
)
def test_bad_redis_url_with_a_password_is_a_validation_error_that_hides_it(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        open_store(url)
    assert SECRET not in str(caught.value)
    assert "***" in str(caught.value)


def test_bad_port_is_one_line_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "inspect", "--store", f"redis://:{SECRET}@127.0.0.1:99999/0")
    assert code == 2  # a bad argument
    assert out == ""
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert SECRET not in err
    assert "***" in err


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://user:pw@h:1/0", "redis://user:***@h:1/0"),
        ("redis://:pw@h:99999/0", "redis://:***@h:99999/0"),
        ("rediss+cluster://:p/w?x@h:7000", "rediss+cluster://:***@h:7000"),
        ("redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"),
        (
            "rediss://h/0?ssl_keyfile=k&ssl_password=pw",
            "rediss://h/0?ssl_keyfile=k&ssl_password=***",
        ),
        ("redis://:p@ss@h/0", "redis://:***@h/0"),
        ("redis://user@h/0", "redis://user@h/0"),
        ("sqlite:////data/a@b:c/x.db", "sqlite:////data/a@b:c/x.db"),
        ("memory://", "memory://"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


@pytest.fixture
def agent_url(redis_server: RedisServer, redis_url: str) -> Iterator[str]:
    """A URL with a user and password the server knows (an ACL user on the test server)."""
    import redis

    with redis.Redis.from_url(redis_url) as admin:
        admin.execute_command("ACL", "SETUSER", "agent", "on", f">{SECRET}", "~*", "+@all")
    try:
        yield f"redis://agent:{SECRET}@127.0.0.1:{redis_server.port}/0"
    finally:
        with redis.Redis.from_url(redis_url) as admin:
            admin.execute_command("ACL", "DELUSER", "agent")


async def test_store_repr_and_errors_hide_the_password(agent_url: str) -> None:
    store = open_store(agent_url)
    assert SECRET not in repr(store)
    assert "agent:***@" in repr(store)
    await store.commit("s", 0, {"k": b"v"}, 1)
    await store.close()
    wrong = open_store(agent_url.replace(SECRET, f"{SECRET}-wrong"))
    with pytest.raises(BackendError) as caught:
        await wrong.version("s")
    assert SECRET not in str(caught.value)
    await wrong.close()


def test_cli_never_prints_the_password(
    agent_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run_cli(capsys, "demo", "--store", agent_url, "--no-transcripts")
    assert code == 0, err
    assert "agent:***@" in out
    for command in (["inspect", "--store", agent_url], ["verify", "--store", agent_url]):
        code, out, err = run_cli(capsys, *command)
        assert code == 0, err
        assert "agent:***@" in out
        assert SECRET not in out + err
    wrong = agent_url.replace(SECRET, f"{SECRET}-wrong")
    for command in (["inspect", "--store", wrong], ["verify", "--store", wrong]):
        code, out, err = run_cli(capsys, *command)
        assert code == 1
        assert SECRET not in out + err
        assert "Traceback" not in err


def test_timeouts_are_url_parameters_with_documented_defaults() -> None:
    default = RedisStore("redis://127.0.0.1:6379/0")
    assert default.timeouts == (DEFAULT_SOCKET_TIMEOUT, DEFAULT_CONNECT_TIMEOUT) == (5.0, 2.0)
    tuned = RedisStore("redis://127.0.0.1:6379/0?socket_timeout=0.25&connect_timeout=0.5")
    assert tuned.timeouts == (0.25, 0.5)
    alias = RedisStore("redis+cluster://127.0.0.1:7000?socket_connect_timeout=1.5")
    assert alias.timeouts == (DEFAULT_SOCKET_TIMEOUT, 1.5)
    # memcore's own parameters never reach redis-py; the others do
    parsed = parse_redis_url("rediss+cluster://h:7000?connect_timeout=1&ssl_cert_reqs=none")
    assert parsed.cluster
    assert parsed.client_url == "rediss://h:7000?ssl_cert_reqs=none"


def _stopped(server: RedisServer) -> Any:
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    return server.process


@pytest.mark.timeout(60)
async def test_stopped_server_is_reported_within_the_timeouts(tmp_path: Path) -> None:
    """SIGSTOP: connections are accepted by the kernel but never answered. With the defaults
    the failure comes after about ``DEFAULT_SOCKET_TIMEOUT`` (it took 30 s before), with
    ``?socket_timeout=`` after that many seconds."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        default = open_store(server.url)
        quick = open_store(server.url + "?socket_timeout=0.3")
        for store in (default, quick):
            assert await store.version("s") == 0  # connected before the server stops
        process = _stopped(server)
        try:
            started = time.monotonic()
            with pytest.raises(BackendError):
                await quick.version("s")
            assert time.monotonic() - started < 2.0
            started = time.monotonic()
            with pytest.raises(BackendError) as caught:
                await default.version("s")
            assert time.monotonic() - started < DEFAULT_SOCKET_TIMEOUT + 3
            assert "Timeout" in type(caught.value.__cause__).__name__
        finally:
            process.send_signal(signal.SIGCONT)
        for store in (default, quick):
            await store.close()
    finally:
        server.stop()


async def test_a_cluster_url_at_a_plain_server_or_nothing_is_a_backend_error(
    redis_url: str,
) -> None:
    """The cluster client's own error (``RedisClusterException``, no ``RedisError``) becomes a
    ``BackendError``."""
    plain = redis_url.replace("redis://", "redis+cluster://", 1).rsplit("/", 1)[0]
    nothing = f"redis+cluster://127.0.0.1:{free_port()}?connect_timeout=0.5"
    for url in (plain, nothing):
        store = open_store(url)
        try:
            with pytest.raises(BackendError):
                await store.version("s")
        finally:
            await store.close()


def test_a_cluster_url_at_nothing_is_one_line_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    nothing = f"redis+cluster://127.0.0.1:{free_port()}?connect_timeout=0.5"
    assert main(["inspect", "--store", nothing]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
