"""The commands that only look read an SQLite store at once (``SQLiteReader``, no event loop) and
import neither asyncio nor rich; ``--help`` and ``--version`` import neither either. Their output
is the one the store gives when read through asyncio."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from memcore import DistributedMemoryManager
from memcore.cli import main
from memcore.cli._session_reads import read_states, user_sessions
from memcore.cli._store_access import Readable, reading_store, run_reading
from memcore.errors import NotFoundError
from memcore.stores import BackupInfo, open_store
from memcore.stores.sqlite_reader import SQLiteReader
from tests.claude_code_support import write_claude_home

#: The commands that read at once, and what their output must hold.
LOOKING = [
    (["--help"], "COMMAND"),
    (["--version"], "memcore"),
    (["search", "lock", "--store", "{url}"], "alpha"),
    (["digest", "alpha", "--store", "{url}", "--budget", "200"], "lock"),
    (["inspect", "--store", "{url}"], "3 session(s)"),
    (["inspect", "beta", "--store", "{url}"], "b1"),
    (["sessions", "--store", "{url}"], "/home/alice/shop (1 session)"),
]


def _fill(url: str, tmp_path: Path) -> str:
    """Two sessions of notes and one Claude Code session, filed under its project
    (``tests.claude_code_support``), into the store ``url`` names."""
    projects = write_claude_home(tmp_path / ".claude")
    assert main(["import-claude-code", str(projects), "--store", url]) == 0

    async def write() -> None:
        manager = DistributedMemoryManager(url, replica_id="w")
        when = "2026-11-30T12:00:00+00:00"  # (fixed: the same items in every store)
        manager.set("alpha", "a1", {"content": "the writer queue takes a lock", "created_at": when})
        manager.set("beta", "b1", {"content": "a backup comes first", "created_at": when})
        await manager.sync_session_memory("alpha")
        await manager.sync_session_memory("beta")
        await manager.close()

    asyncio.run(write())
    return url


@pytest.fixture
def url(tmp_path: Path) -> str:
    return _fill(f"sqlite:///{tmp_path / 'memory.db'}", tmp_path)


def test_a_looking_command_says_the_same_of_redis_read_through_asyncio(
    url: str, tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same memory in an SQLite file (read at once) and in Redis (read through asyncio,
    the other branch of ``reading_store``): every looking command prints the same, but for
    the store's name."""
    _fill(redis_url, tmp_path / "redis")
    capsys.readouterr()
    for argv, shown in LOOKING[2:]:
        said = []
        for store in (url, redis_url):
            assert main([a.format(url=store) for a in argv]) == 0
            out, err = capsys.readouterr()
            assert err == ""
            said.append(out.replace(url.removeprefix("sqlite:///"), "STORE"))
        assert shown in said[0]
        assert said[0] == said[1].replace(redis_url, "STORE"), argv


@pytest.mark.parametrize(("argv", "shown"), LOOKING, ids=[" ".join(a[:2]) for a, _ in LOOKING])
def test_a_looking_command_imports_no_asyncio_nor_rich(
    url: str, tmp_path: Path, argv: list[str], shown: str
) -> None:
    args = [a.format(url=url) for a in argv]
    script = (
        "import sys\n"
        "sys.modules['asyncio'] = None  # any import of them fails\n"
        "sys.modules['rich'] = None\n"
        "from memcore.cli import main\n"
        f"code = main({args!r})\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"MEMCORE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert shown in done.stdout


def test_what_is_read_at_once_is_what_asyncio_reads(url: str) -> None:
    async def through(store: Readable) -> dict[str, object]:
        sessions = user_sessions(await store.list_sessions())
        return dict(await read_states(store, url, sessions, "test"))

    async def through_reading_store() -> dict[str, object]:
        async with reading_store(url) as store:
            assert isinstance(store, SQLiteReader)
            return await through(store)

    async def through_the_store() -> dict[str, object]:
        store = open_store(url, read_only=True, create=False)
        try:
            return await through(store)
        finally:
            await store.close()

    at_once = run_reading(url, through_reading_store())
    assert {"alpha", "beta"} < set(at_once)
    assert at_once == asyncio.run(through_the_store())


def test_the_reader_lists_sessions_and_backups_as_the_store_does(url: str) -> None:
    async def listed(store: Readable) -> tuple[list[str], list[BackupInfo], list[BackupInfo]]:
        return (
            await store.list_sessions(),
            await store.list_backups("alpha"),
            await store.list_backups("nobody"),
        )

    async def backed_up() -> tuple[list[str], list[BackupInfo], list[BackupInfo]]:
        store = open_store(url)
        try:
            await store.put_backup("alpha", 1, b"a backup's bytes")
            await store.put_backup("alpha", 1, b"another")
            return await listed(store)
        finally:
            await store.close()

    expected = asyncio.run(backed_up())
    assert len(expected[1]) == 2
    reader = SQLiteReader(url)
    assert run_reading(url, listed(reader)) == expected
    run_reading(url, reader.close())


def test_a_missing_store_is_not_found_and_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "none" / "memory.db"

    async def look() -> list[str]:
        async with reading_store(f"sqlite:///{missing}") as store:
            return await store.list_sessions()

    with pytest.raises(NotFoundError):
        run_reading(f"sqlite:///{missing}", look())
    assert not missing.parent.exists()
