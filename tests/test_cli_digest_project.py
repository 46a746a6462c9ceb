"""``memcore digest --project DIR``: what a new Claude Code session in DIR is told at its start,
without running the hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from memcore.cli import main
from tests.claude_code_support import DATA
from tests.claude_hooks_support import (
    OTHER_PROJECT_FILE,
    PROJECT,
    _context,
    _hook,
    _payload,
    _place,
    _save_earlier,
    url_fixture,  # noqa: F401  (the fixture ``url``)
)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")

SPOTTER = "/home/marco/projects/spotter"


@pytest.mark.parametrize("budget", [300, 2000])
def test_it_is_what_session_start_tells_a_new_session(
    tmp_path: Path, url: str, budget: int, capsys: pytest.CaptureFixture[str]
) -> None:
    _save_earlier(tmp_path, url)
    other, session = _place(tmp_path, OTHER_PROJECT_FILE, "/home/marco/projects/spotter")
    _hook(
        "session-end", _payload("SessionEnd", session, other, "/home/marco/projects/spotter"), url
    )
    code, out, err = _hook(
        "session-start",
        _payload("SessionStart", "a-new-session", None, PROJECT + "/cmd", source="startup"),
        url,
        budget=budget,
    )
    assert code == 0, err
    told = _context(out)
    assert "spotter" not in told
    before = (tmp_path / "memory.db").read_bytes()
    args = ["digest", "--store", url, "--project", PROJECT + "/cmd", "--budget", str(budget)]
    assert main(args) == 0
    assert capsys.readouterr().out == told + "\n"
    assert (tmp_path / "memory.db").read_bytes() == before  # (read-only)


def test_a_folder_without_memory_is_an_error(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _save_earlier(tmp_path, url)
    assert main(["digest", "--store", url, "--project", "/elsewhere"]) == 1
    err = capsys.readouterr().err
    assert "no memory of the project of /elsewhere is saved" in err
    assert "Traceback" not in err


def test_a_project_and_a_session_together_is_a_usage_error(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "abc", "--store", url, "--project", PROJECT]) == 2
    assert "--project and SESSION exclude each other" in capsys.readouterr().err


def test_what_is_told_ends_with_a_statement_at_any_budget(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A block cut to its budget before a heading ended on the blank line above it: 200 tokens
    gave a context ending in a blank line."""
    _save_earlier(tmp_path, url)
    for budget in (100, 150, 200, 250, 300, 400, 600, 900):
        args = ["digest", "--store", url, "--project", PROJECT, "--budget", str(budget)]
        assert main(args) == 0
        told = capsys.readouterr().out.removesuffix("\n")
        assert told == told.rstrip(), budget
        assert "\n\n\n" not in told, budget


def test_a_budget_too_small_for_a_line_is_not_a_project_without_memory(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Memory saved but a budget that holds none of it was told "no memory ... is saved"."""
    session = _save_earlier(tmp_path, url)[0][1]
    assert main(["digest", "--store", url, "--project", PROJECT, "--budget", "1"]) == 1
    err = capsys.readouterr().err
    assert "a budget of 1 token holds no line" in err  # (not "1 tokens")
    assert "give a larger --budget" in err
    assert "no memory of the project" not in err
    assert "Traceback" not in err
    # a session's own digest alike
    assert main(["digest", "--store", url, session, "--budget", "1"]) == 1
    err = capsys.readouterr().err
    assert f"a budget of 1 token holds no line of the digest of session '{session}'" in err
