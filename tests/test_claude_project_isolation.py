"""Another project never sees this one's memory, not even one whose store keys are this one's:
``/x/a-b`` and ``/x/a/b`` share their notes session and their registry (Claude Code's own folder
names collide the same way), and each must read, recall and forget only its own notes and
entries. Nor may such a folder pass for a project, hiding its real parent's memory.

Notes go in through the MCP tools' service, sessions are brought back by the session-start hook
run as Claude Code runs it (a process, the payload on stdin), on a real SQLite store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.claude_code.mcp_server import MemoryService
from memcore.claude_code.project import (
    SessionRecord,
    known_project,
    notes_session,
    registry_key,
    registry_session,
)
from memcore.errors import NotFoundError
from memcore.stores import open_store
from memcore.sync import DistributedMemoryManager

A_NOTE = "Project a: run the tests with `make check`, never tox."
A_B_NOTE = "Project a-b: deploys go through `./ship.sh`; secrets live in vault path b/prod."


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


@pytest.fixture
def top(tmp_path: Path) -> Path:
    """``x/a``, ``x/a/b/c`` and ``x/a-b``: ``x/a/b`` and ``x/a-b`` have one store key."""
    for folder in ("x/a/b/c", "x/a-b"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path / "x"


async def _remember(url: str, project: Path, text: str) -> str:
    store = open_store(url)
    service = MemoryService(store, str(project))
    try:
        return await service.remember(text, kind="preference")
    finally:
        await service.close()
        await store.close()


async def _file_entry(
    url: str, project: Path, session: str, digest: str, cwd: str | None = None
) -> None:
    """A saved session of ``project`` in its registry, as the hooks file it (naming the folder
    ``cwd`` instead, when given)."""
    store = open_store(url)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="test-filer")
    try:
        registry = registry_session(str(project))
        folder = str(project) if cwd is None else cwd
        record = SessionRecord(session, folder, digest, "2026-01-01T00:00:00")
        manager.set(registry, registry_key(session), record.to_item())
        await manager.sync_session_memory(registry)
    finally:
        await manager.close()
        await store.close()


def _start(url: str, cwd: Path) -> str:
    """The context ``memcore hook session-start`` prints for a new session at ``cwd``."""
    payload = {
        "session_id": "a-new-session",
        "transcript_path": "/nowhere/a-new-session.jsonl",
        "cwd": str(cwd),
        "hook_event_name": "SessionStart",
        "source": "startup",
    }
    done = subprocess.run(
        [sys.executable, "-m", "memcore", "hook", "session-start", "--store", url],
        input=json.dumps(payload).encode(),
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, b""), done.stderr.decode()
    if not done.stdout:
        return ""
    return str(json.loads(done.stdout)["hookSpecificOutput"]["additionalContext"])


async def test_the_keys_really_collide(top: Path) -> None:
    """(What the other tests rest on: if the keys stop colliding, they test nothing.)"""
    assert notes_session(str(top / "a-b")) == notes_session(str(top / "a/b"))
    assert registry_session(str(top / "a-b")) == registry_session(str(top / "a/b"))


async def test_session_start_shows_no_note_of_a_folder_sharing_the_key(url: str, top: Path) -> None:
    await _remember(url, top / "a-b", A_B_NOTE)
    await _file_entry(url, top / "a-b", "sess-ab", "- Shipped the a-b release.")
    await _file_entry(url, top / "a-b", "sess-none", "- A session of no folder.", cwd="")
    own = _start(url, top / "a-b")
    assert "./ship.sh" in own  # its own project's
    assert "Shipped the a-b release" in own
    assert "no folder" not in own  # (an entry that names no folder is no project's)
    for cwd in (top / "a/b", top / "a/b/c", top / "a", top):
        assert _start(url, cwd) == "", cwd


async def test_a_folder_sharing_the_key_hides_no_parent_project(url: str, top: Path) -> None:
    """``x/a`` has memory; ``x/a-b``'s notes and sessions, stored under ``x/a/b``'s key, must
    not make ``x/a/b`` a project of its own for the sessions below it."""
    await _remember(url, top / "a", A_NOTE)
    await _file_entry(url, top / "a", "sess-a", "- Fixed the parser of project a.")
    await _remember(url, top / "a-b", A_B_NOTE)
    await _file_entry(url, top / "a-b", "sess-ab", "- Shipped the a-b release.")
    for cwd in (top / "a/b/c", top / "a/b"):
        context = _start(url, cwd)
        assert "make check" in context, cwd
        assert "Fixed the parser of project a" in context, cwd
        assert "ship.sh" not in context, cwd
        assert "a-b release" not in context, cwd
    store = open_store(url)
    try:
        assert await known_project(store, str(top / "a/b/c")) == str(top / "a")
        assert await known_project(store, str(top / "a-b")) == str(top / "a-b")
    finally:
        await store.close()


async def test_the_tools_recall_and_forget_no_note_of_a_folder_sharing_the_key(
    url: str, top: Path
) -> None:
    theirs = await _remember(url, top / "a-b", A_B_NOTE)
    await _file_entry(url, top / "a-b", "sess-ab", "- Shipped the a-b release.")
    store = open_store(url)
    here = MemoryService(store, str(top / "a/b"))
    owner = MemoryService(store, str(top / "a-b"))
    try:
        assert here.notes == owner.notes  # (one session holds the notes of both)
        assert await here.recall("ship.sh deploys vault secrets") == []
        assert await here.recall("ship", session=here.notes) == []
        assert await here.sessions() == []
        with pytest.raises(NotFoundError):
            await here.forget(theirs)
        with pytest.raises(NotFoundError):
            await here.digest()  # (no session of its own saved)
        assert "ship.sh" not in await here.digest(here.notes)
        # the same words remembered here write over nothing of theirs
        mine = await here.remember(A_B_NOTE)
        assert mine != theirs
        assert [h.id for h in await here.recall("ship.sh deploys")] == [mine]
        assert [h.id for h in await owner.recall("ship.sh deploys")] == [theirs]
        assert [s["session"] for s in await owner.sessions()] == ["sess-ab"]
        assert await here.forget(mine) == here.notes
        assert [h.id for h in await owner.recall("ship.sh deploys")] == [theirs]
        assert await here.recall("ship.sh deploys") == []
    finally:
        await here.close()
        await owner.close()
        await store.close()


async def test_the_tools_below_a_parent_project_serve_the_parent(url: str, top: Path) -> None:
    await _remember(url, top / "a", A_NOTE)
    theirs = await _remember(url, top / "a-b", A_B_NOTE)
    await _file_entry(url, top / "a-b", "sess-ab", "- Shipped the a-b release.")
    store = open_store(url)
    below = MemoryService(store, str(top / "a/b/c"))
    try:
        assert [h.content for h in await below.recall("ship.sh deploys tests check")] == [A_NOTE]
        assert below.project == str(top / "a")
        assert await below.sessions() == []
        with pytest.raises(NotFoundError):
            await below.forget(theirs)
    finally:
        await below.close()
        await store.close()


async def test_a_note_remembered_again_by_its_project_is_still_one(url: str, top: Path) -> None:
    """Notes of one project keep the ids they had: the same text is the same note."""
    first = await _remember(url, top / "a-b", A_B_NOTE)
    assert await _remember(url, top / "a-b", A_B_NOTE) == first
