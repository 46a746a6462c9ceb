"""What session-start recalls of a project: requests the user repeats, their habits, its files."""

from __future__ import annotations

from pathlib import Path

import pytest

from memcore.claude_code import project_dir_name
from tests.claude_code_support import DATA
from tests.claude_hooks_support import (  # noqa: F401  (the fixture url)
    PROJECT,
    _context,
    _hook,
    _payload,
    url_fixture,
)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def test_a_repeated_request_keeps_its_count_however_long(tmp_path: Path, url: str) -> None:
    """A request the user sent twice, a long log pasted into it, is cut before its count."""
    from tests.test_transcript_agent_records import CWD, _Records

    pasted = "it still fails: " + " ".join(f"/tmp/build/{n}/entire" for n in range(80))
    records = _Records()
    records.user(pasted)
    records.said("The build path was stale; I fixed it.")
    records.user(pasted)
    folder = tmp_path / "projects" / project_dir_name(CWD)
    folder.mkdir(parents=True)
    transcript = folder / "7d0c4a2e-5b1f-4e8a-9c3d-1f2e3a4b5c6d.jsonl"
    transcript.write_text("\n".join(records.lines) + "\n")
    session = "7d0c4a2e-5b1f-4e8a-9c3d-1f2e3a4b5c6d"
    end = _payload("SessionEnd", session, transcript, cwd=CWD)
    assert _hook("session-end", end, url) == (0, "", "")
    start = _payload("SessionStart", "new-1", None, cwd=CWD, source="startup")
    code, out, err = _hook("session-start", start, url)
    assert code == 0, err
    lines = _context(out).splitlines()
    heading = lines.index("## Requests the user made more than once")
    repeated = lines[heading + 1]
    assert repeated.startswith("- it still fails: /tmp/build/0/entire")
    assert repeated.endswith("\u2026 (asked 2x)")
    assert len(repeated) < 200


def test_an_error_pasted_twice_is_no_repeated_request(tmp_path: Path, url: str) -> None:
    """Output the user pasted twice (`unknown command ...`) is no habit of theirs to recall."""
    from tests.test_transcript_agent_records import CWD, _Records

    records = _Records()
    for _ in range(2):
        records.user('unknown command "session" for "entire"\nDid you mean this?\n\tversion')
        records.said("The session commands were removed on purpose; use `entire status`.")
    records.user("run the tests")
    records.said("All 12 tests pass.")
    records.user("run the tests")
    folder = tmp_path / "projects" / project_dir_name(CWD)
    folder.mkdir(parents=True)
    session = "7d0c4a2e-5b1f-4e8a-9c3d-1f2e3a4b5c6d"  # the session id _Records writes
    transcript = folder / f"{session}.jsonl"
    transcript.write_text("\n".join(records.lines) + "\n")
    assert _hook("session-end", _payload("SessionEnd", session, transcript, cwd=CWD), url) == (
        0,
        "",
        "",
    )
    start = _payload("SessionStart", "new-1", None, cwd=CWD, source="startup")
    code, out, err = _hook("session-start", start, url)
    assert code == 0, err
    context = _context(out)
    repeated = context.split("## Requests the user made more than once\n")[1].split("\n\n")[0]
    assert repeated == "- run the tests (asked 2x)"
    assert "The user pasted a failure: unknown command" in context  # told as what it was


def test_the_same_paste_under_two_requests_is_no_repeated_request(tmp_path: Path, url: str) -> None:
    """Build output pasted alone, then under "ok, but the line numbers are off:": two messages
    that share a paste, not a request made twice; a request repeated with different pastes
    under it is one."""
    from tests.test_transcript_agent_records import CWD, _Records

    paste = "Building the CLI from: /work/cli\nBuilt: /tmp/cli-1234\n" + "ok step\n" * 30
    records = _Records()
    records.user(paste)
    records.said("The build works.")
    records.user("ok, it generally works now but I think line numbers are off:\n\n" + paste)
    records.said("The line numbers were 0-based; fixed.")
    for log in ("FAIL a_test.go:12", "FAIL b_test.go:40"):
        records.user(f"fix the failing test\n\n{log}")
        records.said("Fixed.")
    session = "7d0c4a2e-5b1f-4e8a-9c3d-1f2e3a4b5c6d"  # the session id _Records writes
    folder = tmp_path / "projects" / project_dir_name(CWD)
    folder.mkdir(parents=True)
    transcript = folder / f"{session}.jsonl"
    transcript.write_text("\n".join(records.lines) + "\n")
    end = _payload("SessionEnd", session, transcript, cwd=CWD)
    assert _hook("session-end", end, url) == (0, "", "")
    start = _payload("SessionStart", "new-1", None, cwd=CWD, source="startup")
    context = _context(_hook("session-start", start, url)[1])
    repeated = context.split("## Requests the user made more than once\n")[1].split("\n\n")[0]
    assert repeated == "- fix the failing test (asked 2x)"


def test_what_the_user_does_is_remembered_latest_first_when_there_is_too_much() -> None:
    """Of more shortcuts, preferences and repeated requests than the context keeps, the latest
    sessions' are kept (records come the latest first), and one used again lately counts as
    late."""
    from memcore.claude_code.project import SessionRecord
    from memcore.claude_code.session_start import _knowledge_block

    old = SessionRecord(
        "old", PROJECT, "d", "2026-01-01T00:00:00", shortcuts=[f"/old{i}" for i in range(10)]
    )
    old.preferences = [f"old preference {i}" for i in range(10)]
    new = SessionRecord(
        "new", PROJECT, "d", "2026-02-01T00:00:00", shortcuts=["/deploy staging", "/old0"]
    )
    new.preferences = ["use pnpm, not npm"]
    block = _knowledge_block([new, old])
    shortcuts = block.split("## The user's shortcuts\n")[1].split("\n## ")[0].splitlines()
    assert len(shortcuts) == 8
    # the latest, /old0 used again; a call's arguments made once are no shortcut
    assert shortcuts[-2:] == ["- /deploy", "- /old0 (in 2 sessions)"]
    assert "- use pnpm, not npm" in block


def test_files_outside_the_project_matter_only_when_changed() -> None:
    """A plan attached from /tmp, read once, is no file of the project, nor are Claude Code's
    own notes and plans, even written; a file outside it that a session changed still is."""
    from memcore.claude_code.project import SessionRecord
    from memcore.claude_code.session_start import _files_block

    record = SessionRecord("s", PROJECT, "d", "2026-01-01T00:00:00")
    record.files = {
        f"{PROJECT}/src/app.py": {"touched": 3, "changed": 2},
        "/tmp/attachments/plan-v1.md": {"touched": 1},
        "/home/alice/.claude/projects/x/memory/MEMORY.md": {"touched": 1},
        "/home/alice/.config/tool.toml": {"touched": 1, "changed": 1},
        "/home/alice/.claude/plans/hazy-enchanting-piglet.md": {"touched": 2, "changed": 2},
    }
    block = _files_block([record])
    assert "- `src/app.py`: changed 2x in 1 session" in block
    assert "- `/home/alice/.config/tool.toml`: changed 1x in 1 session" in block
    assert "plan-v1.md" not in block
    assert "MEMORY.md" not in block
    assert "piglet" not in block


def test_a_file_no_longer_in_the_project_does_not_matter(tmp_path: Path) -> None:
    """Deleted since (or moved away): on the machine that has the project's folder, a file not
    there is left out; a folder this machine does not have (a store shared with another) says
    nothing of its files, so they stay."""
    from memcore.claude_code.project import SessionRecord
    from memcore.claude_code.session_start import _files_block

    project = tmp_path / "shop"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("print('hi')\n")
    here = SessionRecord("s", str(project), "d", "2026-01-01T00:00:00")
    here.files = {
        f"{project}/src/app.py": {"touched": 3, "changed": 2},
        f"{project}/src/skill.ts": {"touched": 2},  # read, then deleted by the session
    }
    block = _files_block([here])
    assert "- `src/app.py`: changed 2x in 1 session" in block
    assert "skill.ts" not in block
    elsewhere = SessionRecord("t", str(tmp_path / "not-here"), "d", "2026-01-01T00:00:00")
    elsewhere.files = {f"{tmp_path}/not-here/src/skill.ts": {"touched": 2}}
    assert "- `src/skill.ts`: used 2x in 1 session" in _files_block([elsewhere])


def test_the_files_the_latest_sessions_changed_come_first() -> None:
    """Ranked by changes alone, a script changed 17 times in a session of weeks ago came before
    what the latest sessions worked on: a session's changes count less the older it is."""
    from memcore.claude_code.project import SessionRecord
    from memcore.claude_code.session_start import _files_block

    latest = SessionRecord("new", PROJECT, "d", "2026-02-01T00:00:00")
    latest.files = {f"{PROJECT}/src/wingman.go": {"touched": 4, "changed": 3}}
    middle = SessionRecord("mid", PROJECT, "d", "2026-01-20T00:00:00")
    middle.files = {f"{PROJECT}/src/hooks.go": {"touched": 2, "changed": 1}}
    old = SessionRecord("old", PROJECT, "d", "2026-01-01T00:00:00")
    old.files = {f"{PROJECT}/scripts/e2e.sh": {"touched": 17, "changed": 17}}
    older = [SessionRecord(f"o{n}", PROJECT, "d", "2025-12-01T00:00:00") for n in range(4)]
    lines = _files_block([latest, middle, *older, old]).splitlines()[1:]
    assert lines[0] == "- `src/wingman.go`: changed 3x in 1 session"
    assert lines.index("- `scripts/e2e.sh`: changed 17x in 1 session") > 0
    # (one session alone: its counts rank as before)
    assert _files_block([old]).splitlines()[1] == "- `scripts/e2e.sh`: changed 17x in 1 session"
