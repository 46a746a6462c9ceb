"""``memcore search --project DIR``: what recall searches for Claude Code in one project (its saved
sessions and the notes remembered for it), from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memcore.claude_code.mcp_server import MemoryService
from memcore.claude_code.project import notes_session
from memcore.cli import main
from memcore.stores import open_store
from tests.claude_code_support import DATA
from tests.claude_hooks_support import EARLIER, OTHER_PROJECT_FILE, PROJECT, _hook, _payload, _place

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")

OTHER = "/home/marco/projects/spotter"
#: a folder whose path differs from PROJECT's only in a ``/`` and a ``-``: it shares PROJECT's
#: notes session (and registry key), not its memory
TWIN = "/Users/soph/Work/entire-devenv/cli"


def _save(tmp_path: Path, url: str, source: str, cwd: str) -> str:
    transcript, session = _place(tmp_path / "claude", source, cwd)
    code, _, err = _hook("session-end", _payload("SessionEnd", session, transcript, cwd), url)
    assert code == 0, err
    return session


def _remember(url: str, project: str, text: str) -> None:
    async def go() -> None:
        service = MemoryService(open_store(url), project)
        try:
            await service.remember(text, "decision")
        finally:
            await service.close()
            await service.store.close()

    asyncio.run(go())


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


def _rows(capsys: pytest.CaptureFixture[str], *args: str) -> list[list[str]]:
    assert main(["search", *args]) == 0
    return [line.split("\t") for line in capsys.readouterr().out.splitlines()]


def test_a_project_s_sessions_and_notes_only(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = _save(tmp_path, url, EARLIER[0], PROJECT)
    theirs = _save(tmp_path, url, OTHER_PROJECT_FILE, OTHER)
    _remember(url, PROJECT, "The release checklist of this project lives in docs/RELEASE.md")
    _remember(url, TWIN, "The release checklist of the twin folder is kept elsewhere")
    notes = notes_session(PROJECT)
    assert notes == notes_session(TWIN)  # (the premise: one session holds both notes)

    everywhere = _rows(capsys, "issues check", "-k", "50", "--store", url)
    assert {row[0] for row in everywhere} >= {ours, theirs}  # (the words are in both)

    # from a folder inside the project, as a session started there finds its memory
    rows = _rows(capsys, "issues check", "-k", "50", "--store", url, "--project", PROJECT + "/cmd")
    assert rows
    assert {row[0] for row in rows} <= {ours, notes}
    assert ours in {row[0] for row in rows}
    found = _rows(capsys, "release checklist", "--store", url, "--project", PROJECT)
    assert [row[3] for row in found if row[0] == notes] == [
        "The release checklist of this project lives in docs/RELEASE.md"
    ]  # (the twin folder's note is not this project's)
    assert all("twin folder" not in row[3] for row in found)

    twin = _rows(capsys, "release checklist", "--store", url, "--project", TWIN)
    assert [row[3] for row in twin] == [
        "The release checklist of the twin folder is kept elsewhere"
    ]


def test_a_folder_without_memory_is_an_error_and_creates_nothing(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _save(tmp_path, url, OTHER_PROJECT_FILE, OTHER)
    before = (tmp_path / "memory.db").read_bytes()
    assert main(["search", "spotter", "--store", url, "--project", "/elsewhere"]) == 1
    err = capsys.readouterr().err
    assert "no memory of the project of /elsewhere is saved" in err
    assert "Traceback" not in err
    assert (tmp_path / "memory.db").read_bytes() == before


def test_a_project_and_a_session_together_is_a_usage_error(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "x", "--store", url, "--project", PROJECT, "--session", "s"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
