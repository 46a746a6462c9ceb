"""What memcore never wrote must not stop a command over a whole store: a Redis key of the wrong
type (``SET memcore:{zzz}:meta hello``) or whose name is no session id is left out of the
store-wide commands with a warning naming it and what to do (``verify`` reports it as damage of
its session); and an SQLite store that cannot be written is said as such, not as "not an SQLite
database"."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memcore.cli import EXIT_ERROR
from memcore.stores import open_store
from tests.claude_code_support import SESSION
from tests.cli_support import (  # noqa: F401  (the fixtures projects and store_url)
    assert_one_line_error,
    projects_fixture,
    run_cli,
    store_url_fixture,
)

WRONG = "its key memcore:{zzz}:meta is a string, not the hash memcore writes there"


def _raw(url: str) -> Any:
    import redis

    if "+cluster" in url:
        return redis.RedisCluster.from_url(url.replace("redis+cluster", "redis"))
    return redis.Redis.from_url(url)


def _fill(url: str) -> None:
    from memcore import DistributedMemoryManager

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        for session in ("alpha", "beta"):
            for n in range(3):
                manager.set(session, f"k{n}", {"content": f"lint rule {n} of {session}"})
            await manager.sync_session_memory(session)
        await manager.close()

    asyncio.run(fill())


async def _listed(url: str) -> tuple[list[str], dict[str, str]]:
    store: Any = open_store(url)
    try:
        return await store.list_sessions(), store.unlisted
    finally:
        await store.close()


@pytest.mark.parametrize("where", ["redis_url", "redis_cluster_url"])
def test_a_redis_key_of_the_wrong_type_hides_nothing_else(
    where: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    url = request.getfixturevalue(where)
    _fill(url)
    with _raw(url) as raw:
        raw.set("memcore:{zzz}:meta", "hello")
    for command in (["inspect"], ["search", "lint rule"], ["digest"], ["mask-secrets"]):
        code, out, err = run_cli(capsys, *command, "--store", url)
        assert code == 0, (command, err)
        assert_one_line_error(err, f"warning: session 'zzz' left out: {WRONG}")
        assert "redis-cli RENAME" in err
        assert command[0] == "mask-secrets" or "alpha" in out
    code, out, err = run_cli(capsys, "verify", "--store", url)
    assert (code, err) == (EXIT_ERROR, "")
    assert f"  zzz: CORRUPTED: {WRONG}" in out
    assert "  alpha: ok" in out
    assert "3 session(s) checked, 1 corrupted" in out
    with _raw(url) as raw:
        assert raw.get("memcore:{zzz}:meta") == b"hello"  # nothing of it lost
    # the library's own listing still lists it: a caller sees its error, nothing is hidden
    assert asyncio.run(_listed(url))[0] == ["alpha", "beta", "zzz"]


def test_a_redis_key_naming_no_session_is_left_out(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Such a name gave every listing a UnicodeDecodeError traceback, or every read after it an
    "invalid session id": no call can read it, so it is never listed, and named."""
    _fill(redis_url)
    with _raw(redis_url) as raw:
        raw.set(b"memcore:{\xff}:meta", "x")
        raw.hset("memcore:{a b}:meta", "version", 1)
    sessions, unlisted = asyncio.run(_listed(redis_url))
    assert sessions == ["alpha", "beta"]
    assert set(unlisted) == {"\\xff", "a b"}
    code, out, err = run_cli(capsys, "inspect", "--store", redis_url)
    assert code == 0, err
    assert "2 session(s)" in out
    assert "session 'a b' left out: its key memcore:{a b}:meta names no valid session id" in err
    assert "session '\\xff' left out" in err


def test_the_reason_sqlite_cannot_open_a_file_is_said() -> None:
    from memcore.stores.sqlite_connection import _unopenable

    cause = sqlite3.OperationalError("unable to open database file")
    said = str(_unopenable("/nonexistent/x.db", cause))
    assert "unable to open: no such file or directory" in said
    assert "not an SQLite database" not in said


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounts read-only media: root only"
)
def test_a_store_on_a_read_only_file_system_is_said_to_be_one(
    projects: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid store on read-only media was called "not an SQLite database" by every command
    that writes."""
    code, _, err = run_cli(capsys, "import-claude-code", str(projects), "--store", store_url)
    assert code == 0, err
    db = Path(store_url.removeprefix("sqlite:///"))
    media = tmp_path / "media"
    media.mkdir()
    ro = f"sqlite:///{media}/{db.name}"
    memcore = f"{sys.executable} -m memcore"
    commands = [
        f"backup --store {ro} {SESSION}",
        f"recover --store {ro} {SESSION}",
        f"mask-secrets --store {ro}",
        f"import-claude-code --reread {projects} --store {ro}",
    ]
    script = f"mount --bind {db.parent} {media} && mount -o remount,ro,bind {media}" + "".join(
        f"; {memcore} {command} >/dev/null" for command in commands
    )
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(commands), proc.stderr
    for line in lines:
        assert line.endswith(f"'{media}/{db.name}' cannot be written: read-only file system")


def _unreadable_sessions(url: str) -> None:
    """``beta`` whose version is not a number and (SQLite) ``gamma`` whose record cell is text:
    each session makes every read of it raise ``CorruptedMemoryError``."""
    _fill(url)
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            conn.execute("UPDATE meta SET version = 'abc' WHERE session = 'beta'")
            conn.execute("INSERT INTO meta (session, version) VALUES ('gamma', 1)")
            conn.execute("INSERT INTO items VALUES ('gamma', 'k0', 'text, not a record', 1)")
        conn.close()
    else:
        with _raw(url) as raw:
            raw.hset("memcore:{beta}:meta", "version", "abc")


@pytest.mark.parametrize("where", ["store_url", "redis_url", "redis_cluster_url"])
def test_a_session_that_cannot_be_read_stops_no_store_wide_command(
    where: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """``inspect``, ``verify``, ``digest``, ``search`` and ``mask-secrets`` over a store stopped
    at the first session whose read raised ``CorruptedMemoryError``: each damaged session is
    named with the command that repairs it, every other one is still listed, and the command
    exits 1 when done."""
    from memcore.recovery import verify_store

    url = request.getfixturevalue(where)
    _unreadable_sessions(url)
    damaged = ["beta", "gamma"] if where == "store_url" else ["beta"]
    for command in (["inspect"], ["digest"], ["search", "lint rule"], ["mask-secrets"]):
        code, out, err = run_cli(capsys, *command, "--store", url)
        assert code == EXIT_ERROR, (command, err)
        assert "Traceback" not in err
        assert "alpha" in out or command[0] == "mask-secrets", command
        for name in damaged:
            assert f"warning: session '{name}' is damaged and was left out" in err
            assert f"repair it with `memcore recover --store {url} {name}`" in err
        assert (
            err.strip()
            .splitlines()[-1]
            .startswith(f"memcore {command[0]}: error: {len(damaged)} damaged session(s) left out")
        )
    code, out, _ = run_cli(capsys, "inspect", "--store", url)
    assert "  alpha: 3 items" in out
    assert "  beta: DAMAGED, not read; repair it with `memcore recover" in out
    code, out, err = run_cli(capsys, "verify", "--store", url)
    assert (code, err) == (EXIT_ERROR, "")
    assert "  alpha: ok" in out
    assert "  beta: CORRUPTED: unreadable: " in out
    assert f"{len(damaged)} corrupted ({', '.join(damaged)}): repair" in out
    report = asyncio.run(verify_store(url))
    assert report.corrupted == tuple(damaged)
    assert [s.session_id for s in report.sessions if s.ok] == ["alpha"]
