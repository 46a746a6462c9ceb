"""``memcore mcp`` started with stdin closed (``<&-``): one line in memcore's words, exit 1,
not the MCP library's traceback from reading ``sys.stdin.buffer`` of a ``None`` stdin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _mcp_with(closing: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``memcore mcp`` on a fresh SQLite store, run by ``sh`` with ``closing`` applied."""
    pytest.importorskip("mcp")
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    memcore = [sys.executable, "-m", "memcore", "mcp", "--store", url, "--project", str(tmp_path)]
    return subprocess.run(
        ["sh", "-c", f'exec "$@" {closing}', "sh", *memcore],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_mcp_with_stdin_closed_says_so_in_one_line(tmp_path: Path) -> None:
    done = _mcp_with("<&-", tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("memcore mcp: error: stdin is closed")
    assert "Traceback" not in done.stderr


def test_mcp_with_stdout_closed_says_so_in_one_line(tmp_path: Path) -> None:
    done = _mcp_with("</dev/null >&-", tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "memcore mcp: error: stdout is closed: nothing can be printed (`> /dev/null` discards it)"
    ]
