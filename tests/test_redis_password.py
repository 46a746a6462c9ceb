"""A Redis server that asks for a password, named by a URL that gives none.

redis-py speaks RESP3, whose HELLO the server refuses with "HELLO must be called with the
client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used...":
a line about the protocol, not the password. It is now said in memcore's words (a
``BackendError`` naming the URL's form), by the store and by ``migrate-redis``; a wrong password
keeps redis's own line, and the right one works.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memcore.errors import BackendError
from memcore.stores.redis_migrate import copy_sessions
from tests.conftest import free_port
from tests.redis_support import listed_sessions
from tests.test_redis_migrate import run_cli

PASSWORD = "s3cr@t/pw"
SAID = "the server asks for a password and the URL gives none"


@pytest.fixture
def guarded_port(tmp_path: Path) -> Iterator[int]:
    """A redis-server of its own on loopback with ``requirepass``."""
    server = shutil.which("redis-server")
    assert server is not None
    port = free_port()
    options = {"port": str(port), "bind": "127.0.0.1", "dir": str(tmp_path), "save": ""}
    options |= {"appendonly": "no", "requirepass": PASSWORD}
    process = subprocess.Popen(
        [server, *(part for name, value in options.items() for part in (f"--{name}", value))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_missing_password_is_said_as_such(
    guarded_port: int, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = f"redis://127.0.0.1:{guarded_port}/0"
    with pytest.raises(BackendError, match=SAID):
        asyncio.run(listed_sessions(bare))
    with pytest.raises(BackendError, match=SAID):
        copy_sessions(bare, redis_url)
    code, out, err = run_cli(capsys, "inspect", "--store", bare)
    assert (code, out, err.count("\n")) == (1, "", 1)
    assert SAID in err
    code, _, err = run_cli(capsys, "migrate-redis", redis_url, "--to", bare)
    assert code == 1
    assert SAID in err

    wrong = f"redis://:nope@127.0.0.1:{guarded_port}/0"
    with pytest.raises(BackendError, match="invalid username-password pair") as caught:
        asyncio.run(listed_sessions(wrong))
    assert "nope" not in str(caught.value)
    assert asyncio.run(listed_sessions(f"redis://:s3cr%40t%2Fpw@127.0.0.1:{guarded_port}/0")) == []
