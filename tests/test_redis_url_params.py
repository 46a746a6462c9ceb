"""A Redis store URL's query parameters are judged when the URL is parsed: one redis-py would
refuse (``timeout``, ``ssl_min_version`` on ``redis://``), one memcore cannot work with
(``decode_responses=true``) or a value that would fail later (``ssl_min_version=3``) is a
``ValidationError`` naming it, and on the command line a usage error (exit 2) said before
anything is touched. Before, each failed only when the store was opened (exit 1), or not at all
(``decode_responses=false`` reached redis-py as the text ``"false"``, which it reads as true).
A parameter given twice, or a db in the query other than the path's, is refused too: redis-py
silently took the last value, and the query's db over the path's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from memcore.cli import EXIT_USAGE
from memcore.errors import ValidationError
from memcore.stores import check_store_url, open_store
from memcore.stores.redis_urls import _client_takes, parse_redis_url
from memcore.sync import DistributedMemoryManager
from tests.damaged_sqlite import fill_store

SECRET = "pw-7c2"

#: ``(url, what the error says)``: each refused when parsed, its parameter named.
REFUSED = [
    ("redis://127.0.0.1:6379/0?timeout=5", "timeout is how long"),
    ("redis://127.0.0.1:6379/0?ssl_min_version=771", "ssl_min_version sets up TLS"),
    ("rediss://127.0.0.1:6379/0?ssl_min_version=3", "ssl_min_version is a TLS version"),
    ("redis://127.0.0.1:6379/0?decode_responses=true", "decode_responses=true cannot be used"),
    ("redis://127.0.0.1:6379/0?decode_responses=maybe", "decode_responses is a yes or no"),
    ("redis://127.0.0.1:6379/0?encoding=latin-1", "encoding cannot be set"),
    ("redis://127.0.0.1:6379/0?encoding_errors=ignore", "encoding_errors cannot be set"),
    ("redis://127.0.0.1:6379/0?single_connection_client=true", "single_connection_client is not"),
    ("redis://127.0.0.1:6379/0?foo=bar", "foo is not a parameter memcore takes"),
    ("redis://127.0.0.1:6379/0?socket_keepalive=maybe", "socket_keepalive is a yes or no"),
    ("redis://127.0.0.1:6379/0?client_name=my%20agent", "client_name is printable ASCII"),
    ("rediss://127.0.0.1:6379/0?ssl_cert_reqs=sometimes", "ssl_cert_reqs is none, optional"),
    ("rediss://127.0.0.1:6379/0?ssl_ciphers=NO-SUCH-CIPHER", "ssl_ciphers names no cipher"),
    ("redis+cluster://127.0.0.1:7000?retry_on_timeout=yes", "retry_on_timeout is not taken"),
    ("rediss+cluster://127.0.0.1:7000?ssl_ca_path=/etc/ssl", "ssl_ca_path is not taken"),
    ("redis+cluster://127.0.0.1:7000?db=2", "Redis Cluster has only db 0"),
    # one value each (redis-py took the last of two, and the query's db over the path's)
    ("redis://127.0.0.1:6379/0?db=2", "db=2 and the path's db 0 differ"),
    ("redis://127.0.0.1:6379/0?socket_timeout=1&socket_timeout=60", "a parameter given twice"),
    (
        "redis://127.0.0.1:6379/0?connect_timeout=1&socket_connect_timeout=3",
        "connect_timeout and socket_connect_timeout are one parameter given twice",
    ),
    ("redis://127.0.0.1:6379/0?client_name=a&client_name=b", "client_name is a parameter given"),
]


@pytest.mark.parametrize(("url", "said"), REFUSED)
def test_a_parameter_that_cannot_work_is_refused_when_parsed(url: str, said: str) -> None:
    for call in (parse_redis_url, check_store_url, open_store):
        with pytest.raises(ValidationError, match="invalid redis URL") as caught:
            call(url)
        assert said in str(caught.value)


def test_decode_responses_true_says_why() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_redis_url("redis://127.0.0.1:6379/0?decode_responses=true")
    assert "binary" in str(caught.value)


@pytest.mark.parametrize(
    "query",
    [
        f"password={SECRET}&timeout=1",
        f"ssl_password={SECRET}&timeout=1",
        f"ssl_password={SECRET}&x",
    ],
)
def test_secrets_in_the_query_are_never_shown(query: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_store_url(f"rediss://127.0.0.1:6379/0?{query}")
    assert SECRET not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "client_url"),
    [
        ("rediss://h:6380/0?ssl_min_version=771", "rediss://h:6380/0?ssl_min_version=771"),
        ("rediss://h/0?ssl_keyfile=/k.pem&ssl_password=pw", None),  # (masked when shown)
        ("rediss://h/0?ssl_cert_reqs=none&ssl_check_hostname=false", None),
        ("rediss+cluster://h:7000?ssl_ciphers=HIGH&ssl_min_version=772", None),
        ("redis://h/0?retry_on_error=TimeoutError&retry_on_timeout=1", None),
        ("redis://h/0?socket_keepalive=yes&client_name=agent-1&max_connections=4", None),
        ("redis://h?decode_responses=false&db=3", "redis://h?db=3"),  # (memcore's own way)
        ("redis+cluster://h:7000?db=0&protocol=3", "redis://h:7000?db=0&protocol=3"),
    ],
)
def test_valid_parameters_are_taken(url: str, client_url: str | None) -> None:
    if "ssl_password" in url and "ssl_password" not in _client_takes("rediss", False):
        with pytest.raises(ValidationError, match="not taken by the installed redis-py"):
            parse_redis_url(url)  # (redis-py 5.0's asyncio client: only its blocking one)
        return
    parsed = parse_redis_url(url)
    if client_url is not None:
        assert parsed.client_url == client_url
    assert check_store_url(url) == url


async def test_taken_parameters_work_on_a_real_server(redis_url: str) -> None:
    """What is taken opens and keeps binary records intact (``decode_responses=false`` is
    dropped: redis-py would have read the text ``"false"`` as true)."""
    url = f"{redis_url}?decode_responses=false&socket_keepalive=on&client_name=memcore-test"
    manager = DistributedMemoryManager(storage_backend=url, replica_id="a")
    try:
        manager.set("s", "k", {"content": "caf\u00e9 \U0001f600"})
        assert (await manager.sync_session_memory("s")).success
    finally:
        await manager.close()
    store = open_store(url)
    try:
        assert await store.version("s") == 1
        assert list((await store.read_snapshot("s")).records) == ["k"]
    finally:
        await store.close()


def _keys_and_values(url: str) -> dict[object, object]:
    """Every key of the database with its ``DUMP``: what a command must leave as it was."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return {key: client.dump(key) for key in client.keys("*")}
    finally:
        client.close()


@pytest.mark.parametrize(
    "query", ["timeout=5", "ssl_min_version=771", "decode_responses=true", "nonsense=1"]
)
@pytest.mark.parametrize("command", [["inspect"], ["verify"], ["backup", "alpha"]])
def test_the_command_line_refuses_them_before_touching_the_store(
    tmp_path: Path, redis_url: str, query: str, command: list[str]
) -> None:
    fill_store(redis_url, ("alpha",))
    before = _keys_and_values(redis_url)
    name = query.split("=")[0]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "memcore",
            command[0],
            "--store",
            f"{redis_url}?{query}",
            *command[1:],
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "invalid redis URL" in lines[0], done.stderr
    assert name in lines[0], done.stderr
    assert f"(see `memcore {command[0]} --help`)" in lines[0]
    assert done.stdout == ""
    assert _keys_and_values(redis_url) == before
