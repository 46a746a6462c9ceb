"""A store URL naming a device or a FIFO is refused in one line, "not a regular file", before
SQLite opens it: on ``/dev/null`` an import made ``/dev/null-journal`` and failed with "disk
I/O error" after reading every transcript, and ``inspect``/``verify`` said no store was there."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.errors import BackendError
from memcore.stores import open_store
from memcore.stores.sqlite_reader import SQLiteReader
from tests.claude_code_support import write_claude_home

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


def _memcore(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEMCORE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "memcore", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,  # (before the fix, SQLite could wait on the FIFO for a writer)
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str], command: str, kind: str) -> None:
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"memcore {command}: error: "), done.stderr
    assert f"is {kind}, not a regular file" in lines[0], done.stderr


@needs_fifo
@pytest.mark.parametrize("command", ["inspect", "verify"])
def test_reading_commands_refuse_a_fifo(command: str, tmp_path: Path) -> None:
    fifo = tmp_path / "store.db"
    os.mkfifo(fifo)
    done = _memcore(command, "--store", f"sqlite:///{fifo}", home=tmp_path)
    _one_line(done, command, "a FIFO")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.db"]


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null here")
@pytest.mark.parametrize("command", ["inspect", "verify"])
def test_reading_commands_refuse_dev_null(command: str, tmp_path: Path) -> None:
    done = _memcore(command, "--store", "sqlite:////dev/null", home=tmp_path)
    _one_line(done, command, "a device")
    assert "no memcore store" not in done.stderr


@needs_fifo
def test_an_import_into_a_fifo_is_refused_before_reading(tmp_path: Path) -> None:
    projects = write_claude_home(tmp_path / ".claude")
    fifo = tmp_path / "store.db"
    os.mkfifo(fifo)
    done = _memcore(
        "import-claude-code", str(projects), "--store", f"sqlite:///{fifo}", home=tmp_path
    )
    _one_line(done, "import-claude-code", "a FIFO")
    assert done.stdout == ""  # (refused before any transcript was read)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".claude", "store.db"]


@needs_fifo
def test_the_store_and_the_reader_refuse_a_link_to_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "store.db"
    link.symlink_to(fifo)
    url = f"sqlite:///{link}"

    async def check() -> None:
        store = open_store(url)
        try:
            with pytest.raises(BackendError, match="is a FIFO, not a regular file"):
                await store.list_sessions()
        finally:
            await store.close()
        reader = SQLiteReader(url)
        try:
            with pytest.raises(BackendError, match="is a FIFO, not a regular file"):
                await reader.list_sessions()
        finally:
            await reader.close()

    asyncio.run(check())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "store.db"]
