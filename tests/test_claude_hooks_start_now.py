"""session-start on an SQLite store reads it at once, with no event loop (``SQLiteReader``): the
same context as the store read through asyncio, no asyncio imported, nothing created."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.claude_code import hook_start, hooks
from memcore.claude_code.hooks import HookPayload
from memcore.errors import BackendError, NotFoundError
from memcore.stores.sqlite_reader import SQLiteReader, run_now
from tests.claude_code_support import DATA
from tests.claude_hooks_support import _payload, _save_earlier

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


def _through_asyncio(payload: HookPayload, url: str, budget: int) -> str:
    return asyncio.run(hooks._run("session-start", payload, url, budget))[0]


@pytest.mark.parametrize("budget", [300, 2000])
def test_the_context_read_at_once_is_the_one_read_through_asyncio(
    tmp_path: Path, url: str, budget: int
) -> None:
    saved = _save_earlier(tmp_path, url)
    new = HookPayload.parse(_payload("SessionStart", "a-new-session", None, source="startup"))
    own = HookPayload.parse(_payload("SessionStart", saved[-1][1], None, source="compact"))
    for payload in (new, own):
        at_once = hook_start.start_at_once(payload, url, budget)[0]
        assert at_once, "earlier sessions of the project are there to tell"
        assert at_once == _through_asyncio(payload, url, budget)
    assert "before compaction" in hook_start.start_at_once(own, url, budget)[0]


def test_session_start_on_sqlite_imports_no_asyncio(tmp_path: Path, url: str) -> None:
    _save_earlier(tmp_path, url)
    payload = _payload("SessionStart", "a-new-session", None, source="startup")
    script = (
        "import sys\n"
        "sys.modules['asyncio'] = None  # any import of it fails\n"
        "from memcore.claude_code.hooks import run_hook\n"
        f"run_hook('session-start', sys.stdin.read(), store_url={url!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=payload,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    context = json.loads(done.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "Earlier session" in context


def test_a_missing_store_says_nothing_and_is_not_made(tmp_path: Path) -> None:
    database = tmp_path / "none" / "memory.db"
    payload = HookPayload.parse(_payload("SessionStart", "s", None, source="startup"))
    assert hook_start.start_at_once(payload, f"sqlite:///{database}", 2000)[0] == ""
    assert not database.parent.exists()
    with pytest.raises(NotFoundError):
        run_now(SQLiteReader(f"sqlite:///{database}").version("s"))


def test_a_file_that_is_no_store_is_said_to_be_none(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    reader = SQLiteReader(f"sqlite:///{other}")
    with pytest.raises(BackendError, match="not a memcore store"):
        run_now(reader.read_snapshot("s"))
    with pytest.raises(BackendError, match="is a folder"):
        run_now(SQLiteReader(f"sqlite:///{tmp_path}").version("s"))


def test_run_now_refuses_a_coroutine_that_waits() -> None:
    async def waits() -> int:
        await asyncio.sleep(0)
        return 1

    async def answers() -> int:
        return 2

    with pytest.raises(RuntimeError, match="needs an event loop"):
        run_now(waits())
    assert run_now(answers()) == 2
