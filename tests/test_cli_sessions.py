"""``memcore sessions``: the saved Claude Code sessions, project by project, as session-start and
the MCP ``sessions`` tool see them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memcore.cli import main
from memcore.model import MemoryItem
from memcore.sync import DistributedMemoryManager
from tests.claude_code_support import DATA
from tests.test_claude_hooks import EARLIER, OTHER_PROJECT_FILE, PROJECT, _hook, _payload, _place

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def _save(tmp_path: Path, url: str, source: str, cwd: str) -> str:
    transcript, session = _place(tmp_path / "claude", source, cwd)
    code, _, err = _hook("session-end", _payload("SessionEnd", session, transcript, cwd), url)
    assert code == 0, err
    assert not err, err
    return session


@needs_data
def test_sessions_are_listed_by_project_the_latest_active_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    ours = [_save(tmp_path, url, name, PROJECT) for name in EARLIER]
    other = _save(tmp_path, url, OTHER_PROJECT_FILE, "/home/marco/projects/spotter")
    assert main(["sessions", "--store", url]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        "/Users/soph/Work/entire/devenv/cli (2 sessions)",  # (projects by their folder)
        "/home/marco/projects/spotter (1 session)",
    ]
    lines = blocks[0].splitlines()[1:]
    assert {line.split()[0] for line in lines} == {s[:8] for s in ours}
    times = [line.split("  ")[2] for line in lines]
    assert times == sorted(times, reverse=True)  # the latest active first
    assert all(t.endswith(" UTC") for t in times)
    assert other[:8] in blocks[1]
    # each line says what the session was about: its digest's first statement
    assert all(len(line.split("  ")[-1]) > 10 for line in lines)


@needs_data
def test_a_project_folder_lists_its_own_sessions_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    ours = _save(tmp_path, url, EARLIER[0], PROJECT)
    _save(tmp_path, url, OTHER_PROJECT_FILE, "/home/marco/projects/spotter")
    # a folder inside the project gets the project's memory, as a session started there does
    assert main(["sessions", "--store", url, "--project", f"{PROJECT}/cmd/entire"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{PROJECT} (1 session)\n  {ours[:8]}  ")
    assert "spotter" not in out
    assert main(["sessions", "--store", url, "--project", "/elsewhere"]) == 1
    assert "no Claude Code session of the project of /elsewhere" in capsys.readouterr().err


def test_no_store_or_no_saved_session_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["sessions", "--store", missing]) == 1
    assert "no memcore store" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()  # read-only: nothing made
    url = f"sqlite:///{tmp_path / 'memory.db'}"

    async def one_note() -> None:
        manager = DistributedMemoryManager(url, replica_id="w")
        manager.set("notes", "n1", MemoryItem("n1", "Deploys go out on Fridays."))
        await manager.sync_session_memory("notes")
        await manager.close()

    asyncio.run(one_note())
    assert main(["sessions", "--store", url]) == 1
    err = capsys.readouterr().err
    assert "no Claude Code session of the store is saved" in err
    assert "memcore import-claude-code" in err
