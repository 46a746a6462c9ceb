"""What the hook suites share: real transcripts put in place, hooks run, what the store holds."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from pathlib import Path

import pytest

from memcore.claude_code import project_dir_name
from memcore.claude_code.hooks import run_hook
from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.sync import DistributedMemoryManager
from tests.claude_code_support import DATA

PROJECT = "/Users/soph/Work/entire/devenv/cli"  # seven real sessions of one project
EARLIER = ("entireio__cli__198393f2.jsonl", "entireio__cli__20b81bf8.jsonl")
OTHER_PROJECT_FILE = "marot__spotter__d6e0bada.jsonl"


def _session_of(path: Path) -> str:
    with path.open() as lines:
        for line in lines:
            record = json.loads(line)
            if isinstance(record, dict) and record.get("sessionId"):
                return str(record["sessionId"])
    raise AssertionError(f"no session id in {path}")


def _place(home: Path, source: str, cwd: str = PROJECT) -> tuple[Path, str]:
    """Copy a real transcript where Claude Code keeps it; returns its path and session id."""
    session = _session_of(DATA / source)
    folder = home / "projects" / project_dir_name(cwd)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{session}.jsonl"
    shutil.copyfile(DATA / source, target)
    return target, session


def _payload(
    event: str, session: str, transcript: Path | None, cwd: str = PROJECT, **extra: str
) -> str:
    data = {"session_id": session, "cwd": cwd, "hook_event_name": event, **extra}
    if transcript is not None:
        data["transcript_path"] = str(transcript)
    return json.dumps(data)


def _hook(event: str, payload: str, url: str, budget: int = 2000) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_hook(event, payload, store_url=url, budget=budget, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def _state(url: str, session: str) -> dict[str, MemoryItem]:
    store = open_store(url)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="test-reader")
    try:
        await manager.sync_session_memory(session)
        return {k: MemoryItem.coerce(v) for k, v in manager.state(session).items()}
    finally:
        await manager.close()
        await store.close()


async def _version(url: str, session: str) -> int:
    store = open_store(url)
    try:
        return await store.version(session)
    finally:
        await store.close()


def _read_state(url: str, session: str) -> dict[str, MemoryItem]:
    return asyncio.run(_state(url, session))


def _read_version(url: str, session: str) -> int:
    return asyncio.run(_version(url, session))


# The fixture ``url``: a suite imports it by this function name, so that its tests' parameters
# do not shadow it.
@pytest.fixture(name="url")
def url_fixture(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


def _save_earlier(tmp_path: Path, url: str) -> list[tuple[Path, str]]:
    saved = []
    for source in EARLIER:
        transcript, session = _place(tmp_path, source)
        code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript), url)
        assert (code, out, err) == (0, "", "")
        saved.append((transcript, session))
    return saved


def _context(out: str) -> str:
    data = json.loads(out)
    assert data["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    return str(data["hookSpecificOutput"]["additionalContext"])
