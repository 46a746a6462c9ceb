"""``memcore inspect SESSION`` of a session that is there but cannot be read (its stored version
text or out of range, a record cell that is no record, a Redis key of the wrong type) reports
what it can: the session, what is unreadable, its backups, what ``verify`` and ``recover``
would do; exit 1, one error line on stderr, nothing changed. Before, it was one error line and
nothing else, where ``verify SESSION`` and the store's listing name the session as damaged.
Each case a real process on a real SQLite file or the test redis-server."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memcore.cli import EXIT_ERROR
from tests.damaged_sqlite import fill_store


def _inspect(tmp_path: Path, url: str, session: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memcore", "inspect", "--store", url, session],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def _assert_damaged_report(
    done: subprocess.CompletedProcess[str], url: str, label: str, name: str, part: str
) -> list[str]:
    assert done.returncode == EXIT_ERROR, done.stderr
    assert "Traceback" not in done.stderr
    repair = f"memcore recover --store {url} {name}"
    assert done.stderr.splitlines() == [
        f"memcore inspect: error: session {name!r} is damaged; repair it with `{repair}`"
    ]
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{name}: DAMAGED, not read: {part} ("), done.stdout
    assert lines[0].endswith(f" ({label})"), done.stdout
    assert lines[1].startswith("  backups: "), done.stdout
    assert "`memcore verify` reports it CORRUPTED" in lines[2], done.stdout
    assert f"`{repair}`" in lines[2], done.stdout
    assert len(lines) == 3, done.stdout
    return lines


def _damaged_sqlite(path: Path, change: str) -> str:
    url = f"sqlite:///{path}"
    fill_store(url, ("alpha", "beta"))
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(change)
    conn.close()
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists()
    return url


@pytest.mark.parametrize(
    ("change", "part"),
    [
        ("UPDATE meta SET version = 'abc' WHERE session = 'beta'", "its version is unreadable"),
        ("UPDATE meta SET version = -4 WHERE session = 'beta'", "its version is unreadable"),
        (
            "UPDATE items SET record = 'text' WHERE session = 'beta' AND key = 'k0'",
            "its items are unreadable",
        ),
    ],
)
@pytest.mark.parametrize("asked", ["beta", "bet"])
def test_inspect_reports_a_damaged_sqlite_session(
    tmp_path: Path, change: str, part: str, asked: str
) -> None:
    db = tmp_path / "s.db"
    url = _damaged_sqlite(db, change)
    before = db.read_bytes()
    done = _inspect(tmp_path, url, asked)
    lines = _assert_damaged_report(done, url, str(db), "beta", part)
    assert lines[1] == "  backups: none (a repair has only the change journal to rebuild from)"
    assert db.read_bytes() == before  # (it only looked)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db", "s.db-waiters", "s.db-writers"]
    verified = subprocess.run(
        [sys.executable, "-m", "memcore", "verify", "--store", url, "beta"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "beta: CORRUPTED" in verified.stdout  # (what inspect says verify reports)
    sound = _inspect(tmp_path, url, "alpha")
    assert sound.returncode == 0, sound.stderr
    assert sound.stdout.startswith("alpha: 3 items")


def test_inspect_names_the_backups_recovery_has(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    fill_store(url, ("alpha", "beta"))
    backed = subprocess.run(
        [sys.executable, "-m", "memcore", "backup", "--store", url, "beta"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert backed.returncode == 0, backed.stderr
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE meta SET version = 'abc' WHERE session = 'beta'")
    conn.close()
    done = _inspect(tmp_path, url, "beta")
    lines = _assert_damaged_report(done, url, str(db), "beta", "its version is unreadable")
    assert lines[1] == "  backups: 1, the latest of version 1"


def _raw_redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def test_inspect_reports_a_damaged_redis_session(tmp_path: Path, redis_url: str) -> None:
    fill_store(redis_url, ("alpha", "beta"))
    with _raw_redis(redis_url) as raw:
        raw.hset("memcore:{beta}:meta", "version", "abc")
        raw.set("memcore:{zzz}:meta", "hello")
    for name in ("beta", "zzz"):
        done = _inspect(tmp_path, redis_url, name)
        _assert_damaged_report(done, redis_url, redis_url, name, "its version is unreadable")
    with _raw_redis(redis_url) as raw:  # (read only: nothing of it changed)
        assert raw.get("memcore:{zzz}:meta") == b"hello"
        assert raw.hget("memcore:{beta}:meta", "version") == b"abc"
