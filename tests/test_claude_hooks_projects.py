"""Which project a saved session belongs to, and what a save may change of its entry: a session
whose agent moved into a subfolder, transcripts opening with many records that are no session's,
and copies of a session saved from other paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memcore.claude_code.project import SessionRecord, registry_session
from memcore.cli import main
from tests.claude_code_support import DATA
from tests.claude_hooks_support import (
    EARLIER,
    PROJECT,
    _context,
    _hook,
    _payload,
    _place,
    _read_state,
)
from tests.test_transcript_agent_records import CWD, SESSION, _Records

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")

CHX = "/Users/marc/Workspace/chx"
CODEGEN = CHX + "/packages/codegen"
#: Its agent moves from CHX into CODEGEN at line 116: every later record names CODEGEN.
MOVING = "obsessiondb__chkit__ae3fbe71.jsonl"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


def _entry(url: str, project: str, session: str) -> SessionRecord:
    return SessionRecord.from_item(
        _read_state(url, registry_session(project))[f"session:{session}"]
    )


def _start(url: str, cwd: str, budget: int = 2000) -> str:
    payload = _payload("SessionStart", "a-new-session", None, cwd=cwd, source="startup")
    code, out, err = _hook("session-start", payload, url, budget)
    assert (code, err) == (0, "")
    return _context(out) if out else ""


@pytest.mark.parametrize(
    ("event", "name"), [("session-end", "SessionEnd"), ("pre-compact", "PreCompact")]
)
def test_a_session_whose_agent_moved_into_a_subfolder_is_saved_under_its_project(
    tmp_path: Path, url: str, event: str, name: str
) -> None:
    """Claude Code sends the session's current folder: after a `cd packages/codegen` it is no
    longer the project's, and the save must still be filed under the project it started in."""
    transcript, session = _place(tmp_path, MOVING, CHX)
    assert _hook(event, _payload(name, session, transcript, cwd=CODEGEN), url) == (0, "", "")
    assert _read_state(url, session)  # its items
    assert _entry(url, CHX, session).cwd == CHX
    assert _read_state(url, registry_session(CODEGEN)) == {}  # no project of its own
    # a session started in the subfolder (or the project) finds the project's memory
    for cwd in (CODEGEN, CHX, CHX + "/packages/other"):
        assert "## Earlier session (" in _start(url, cwd), cwd
    # no other project does: not one beside it, above it, or whose path starts the same
    for cwd in ("/Users/marc/Workspace", "/Users/marc/Workspace/chx-fork/packages/codegen"):
        assert _start(url, cwd) == "", cwd


def test_a_transcript_of_another_project_is_still_refused(tmp_path: Path, url: str) -> None:
    transcript, session = _place(tmp_path, MOVING, CHX)
    for cwd in ("/Users/marc/Workspace", "/Users/marc/Workspace/other", "/srv/chx/packages"):
        code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript, cwd), url)
        assert (code, out) == (0, "")
        assert f"belongs to the project at {CHX}: {cwd} is outside it" in err
    assert _read_state(url, session) == {}


def test_a_folder_outside_the_project_that_a_record_ran_in_is_the_sessions(
    tmp_path: Path, url: str
) -> None:
    """An agent given another folder (``--add-dir``) that ``cd``-ed there: the payload names
    that folder, a record of the transcript does too, and the session is filed under its
    project."""
    elsewhere = "/home/bob/shared-lib"
    records = _Records()
    records.user("fix the lib's build")
    records.user("now build it in the lib's folder", cwd=elsewhere)
    transcript = tmp_path / f"{SESSION}.jsonl"
    transcript.write_text("\n".join(records.lines) + "\n")
    payload = _payload("SessionEnd", SESSION, transcript, cwd=elsewhere)
    assert _hook("session-end", payload, url) == (0, "", "")
    assert _entry(url, CWD, SESSION).cwd == CWD


def _codegen_session(tmp_path: Path) -> Path:
    """A session of its own started in the subfolder ``CODEGEN``; its transcript's path."""
    records = _Records()
    records.user("rename the codegen entry point")
    records.said("Renamed `codegen.ts` to `main.ts`.")
    lines = [line.replace(CWD, CODEGEN) for line in records.lines]
    own = tmp_path / f"{SESSION}.jsonl"
    own.write_text("\n".join(lines) + "\n")
    return own


def test_a_session_started_in_a_subfolder_of_a_project_with_memory_is_filed_under_it(
    tmp_path: Path, url: str
) -> None:
    """It got the project's memory at its start; filed under the subfolder, it would make the
    subfolder a project of its own, whose later sessions no longer see the project's."""
    transcript, session = _place(tmp_path, MOVING, CHX)
    assert _hook("session-end", _payload("SessionEnd", session, transcript, CHX), url)[0] == 0
    own = _codegen_session(tmp_path)
    assert _hook("session-end", _payload("SessionEnd", SESSION, own, CODEGEN), url) == (0, "", "")
    assert _entry(url, CHX, SESSION).cwd == CHX
    assert _read_state(url, registry_session(CODEGEN)) == {}
    for cwd in (CODEGEN, CHX):  # each sees both sessions
        context = _start(url, cwd, budget=4000)
        assert "main.ts" in context, cwd
        assert "why is this PR failing" in context, cwd
    # saved again (it grew), it stays there
    own.write_text(own.read_text().replace("main.ts", "index.ts"))
    assert _hook("session-end", _payload("SessionEnd", SESSION, own, CODEGEN), url) == (0, "", "")
    assert _read_state(url, registry_session(CODEGEN)) == {}


def test_the_import_files_a_subfolder_session_under_its_project_as_the_hooks_do(
    tmp_path: Path, url: str
) -> None:
    transcript, session = _place(tmp_path, MOVING, CHX)
    assert _hook("session-end", _payload("SessionEnd", session, transcript, CHX), url)[0] == 0
    own = _codegen_session(tmp_path)
    assert main(["import-claude-code", str(own), "--store", url]) == 0
    assert _entry(url, CHX, SESSION).cwd == CHX
    assert _read_state(url, registry_session(CODEGEN)) == {}
    # imported again: found filed and unchanged, nothing read or written
    assert main(["import-claude-code", str(own), "--store", url]) == 0
    assert _read_state(url, registry_session(CODEGEN)) == {}


def test_a_subfolder_that_has_memory_of_its_own_keeps_it_and_sees_its_own_only(
    tmp_path: Path, url: str
) -> None:
    """The nearest folder with memory is the project: a subfolder whose session was saved
    before its parent had any memory is a project of its own, and sees its own sessions."""
    own = _codegen_session(tmp_path)
    assert _hook("session-end", _payload("SessionEnd", SESSION, own, CODEGEN), url) == (0, "", "")
    transcript, session = _place(tmp_path, MOVING, CHX)
    assert _hook("session-end", _payload("SessionEnd", session, transcript, CHX), url)[0] == 0
    assert _entry(url, CODEGEN, SESSION).cwd == CODEGEN
    context = _start(url, CODEGEN)
    assert "main.ts" in context
    assert "why is this PR failing" not in context  # the parent project's session
    assert "why is this PR failing" in _start(url, CHX)


def test_a_transcript_opening_with_many_summaries_is_found(tmp_path: Path, url: str) -> None:
    """A resumed session may open with dozens of ``summary`` records before its first message."""
    transcript, session = _place(tmp_path, EARLIER[0])
    summaries = [
        json.dumps({"type": "summary", "summary": f"Earlier work {n}", "leafUuid": f"leaf-{n}"})
        for n in range(60)
    ]
    transcript.write_text("\n".join(summaries) + "\n" + transcript.read_text())
    payload = _payload("SessionEnd", session, transcript)
    assert _hook("session-end", payload, url) == (0, "", "")
    assert _entry(url, PROJECT, session).cwd == PROJECT


def _save(url: str, transcript: Path, session: str) -> SessionRecord:
    assert _hook("session-end", _payload("SessionEnd", session, transcript), url) == (0, "", "")
    return _entry(url, PROJECT, session)


@pytest.mark.parametrize("copy", ["checkpoint", "head"])
def test_a_shorter_copy_saved_later_takes_nothing_from_the_entry(
    tmp_path: Path, url: str, copy: str
) -> None:
    """A checkpoint of the session (``full.jsonl``, saved before the session went on) or the
    first 5000 bytes of it, saved after the whole transcript: the entry keeps the files, the
    branch and the read offsets it knew, and the items theirs (the copy's last ones know less:
    the tool calls that followed an agent's words, a fix after an error)."""
    transcript, session = _place(tmp_path, EARLIER[1])
    whole = _save(url, transcript, session)
    items = _read_state(url, session)
    raw = transcript.read_bytes()
    lines = raw.splitlines(keepends=True)
    shorter = tmp_path / "checkpoints" / "full.jsonl"
    shorter.parent.mkdir()
    shorter.write_bytes(b"".join(lines[: len(lines) // 3]) if copy == "checkpoint" else raw[:5000])
    after = _save(url, shorter, session)
    assert after.git_branch == whole.git_branch != ""
    for path, counts in whole.files.items():
        for name, n in counts.items():
            assert after.files[path][name] >= n, (path, name)
    assert after.files == whole.files  # counted again, not added: a copy is no new work
    assert after.read_to[str(transcript)] == whole.read_to[str(transcript)]
    assert after.items == whole.items
    assert _read_state(url, session) == items
    # the whole transcript saved again is already read: nothing to do
    assert _save(url, transcript, session).files == whole.files


def test_a_sub_agent_that_appears_later_adds_to_what_was_saved(tmp_path: Path, url: str) -> None:
    """A sub-agent's file new since the last save is read whole, the main file read on: the
    files the session touched before stay counted."""
    cwd = "/home/USER/projects/spotter-worktrees/spotter-gqc"
    transcript, session = _place(tmp_path, "marot__spotter__258c7280.jsonl", cwd)
    payload = _payload("SessionEnd", session, transcript, cwd)
    assert _hook("session-end", payload, url) == (0, "", "")
    before = _entry(url, cwd, session)
    agent = transcript.parent / "agent-a881341.jsonl"
    agent.write_bytes((DATA / "marot__spotter__258c7280__agent-a881341.jsonl").read_bytes())
    assert _hook("session-end", payload, url) == (0, "", "")
    after = _entry(url, cwd, session)
    assert str(agent) in after.read_to
    for path, counts in before.files.items():
        if path in after.files:
            assert after.files[path].get("touched", 0) >= counts.get("touched", 0), path
    kept = [p for p in before.files if p in after.files]
    assert len(kept) >= len(before.files) // 2  # the main file's files were not forgotten


def test_commands_on_one_session_take_a_unique_start_of_its_id(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``memcore digest 847ff7d2``: the first characters of a Claude Code session's id, as
    its transcripts are named; several sessions starting so is an error that says so."""
    transcript, session = _place(tmp_path, "entireio__cli__847ff7d2.jsonl")
    assert main(["import-claude-code", str(tmp_path / "projects"), "--store", url]) == 0
    for name in ("alpha-1", "alpha-2"):
        argv = ["import-claude-code", str(transcript), "--store", url, "--session", name]
        assert main(argv) == 0
    capsys.readouterr()
    assert main(["digest", session[:8], "--store", url, "--budget", "300"]) == 0
    by_prefix = capsys.readouterr().out
    assert main(["digest", session, "--store", url, "--budget", "300"]) == 0
    assert capsys.readouterr().out == by_prefix != ""
    assert main(["digest", "alpha", "--store", url]) == 1
    err = capsys.readouterr().err
    assert "'alpha' starts the ids of 2 sessions (alpha-1, alpha-2): give more of it" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["digest", "zzzz", "--store", url]) == 1
    assert "no session 'zzzz'" in capsys.readouterr().err
    # `inspect` takes the start of an id as `digest` does, and names the session it found
    assert main(["inspect", session[:8], "--store", url]) == 0
    assert capsys.readouterr().out.startswith(f"{session}: ")
    assert main(["inspect", "alpha", "--store", url]) == 1
    assert "starts the ids of 2 sessions" in capsys.readouterr().err
    # and so do the commands that check, back up, repair and compress one session
    assert main(["verify", session[:8], "--store", url]) == 0
    assert capsys.readouterr().out.startswith(f"  {session}: ")
    assert main(["backup", session[:8], "--store", url]) == 0
    assert f"of {session!r}: version" in capsys.readouterr().out
    assert main(["recover", session[:8], "--store", url]) == 0
    assert capsys.readouterr().out.startswith("recovered: ")
    bundle = tmp_path / "s.mcz"
    assert main(["compress", session[:8], "--store", url, "-o", str(bundle)]) == 0
    assert f"items of {session!r}" in capsys.readouterr().out
    for command in (["verify"], ["backup"], ["recover"], ["compress", "-o", str(bundle)]):
        assert main([command[0], "alpha", *command[1:], "--store", url]) == 1
        assert "starts the ids of 2 sessions" in capsys.readouterr().err


def test_the_home_folder_is_no_project_of_the_folders_in_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session once started in ``~`` (or ``/``) must not bring its memory to every project."""
    from memcore.claude_code.project import project_candidates

    monkeypatch.setenv("HOME", "/home/ann")
    assert project_candidates("/home/ann/work/shop/src") == [
        "/home/ann/work/shop/src",
        "/home/ann/work/shop",
        "/home/ann/work",
    ]
    assert project_candidates("/home/ann") == ["/home/ann"]
    assert project_candidates("/srv/app/") == ["/srv/app", "/srv"]


def test_importing_a_shorter_copy_takes_nothing_from_the_entry(tmp_path: Path, url: str) -> None:
    """``memcore import-claude-code`` of a checkpoint of a session already saved: its entry keeps
    the files and branch it knew (the importer files sessions as the hooks do)."""
    transcript, session = _place(tmp_path, EARLIER[1])
    whole = _save(url, transcript, session)
    items = _read_state(url, session)
    raw = transcript.read_bytes()
    shorter = tmp_path / "checkpoints" / "full.jsonl"
    shorter.parent.mkdir()
    shorter.write_bytes(raw[:5000])
    assert main(["import-claude-code", str(shorter), "--store", url]) == 0
    assert _read_state(url, session) == items
    after = _entry(url, PROJECT, session)
    assert after.git_branch == whole.git_branch != ""
    assert after.files == whole.files
    assert after.read_to[str(transcript)] == whole.read_to[str(transcript)]


@pytest.mark.parametrize("folder", ["My Projects/cli", "josé/cli", "Проект/cli", "a'b/cli"])
def test_a_project_whose_path_no_session_id_holds_is_saved_and_brought_back(
    tmp_path: Path, url: str, folder: str
) -> None:
    """A space, an accent, another script in the project's path: its sessions are saved and
    come back (they were refused, "invalid session id", and every save lost); the project's
    key stays a session id and apart from the one whose path has "-" there."""
    from memcore.claude_code.project import project_key
    from memcore.stores import validate_session_id

    cwd = f"/Users/soph/{folder}"
    transcript, session = _place(tmp_path, EARLIER[0], cwd)
    transcript.write_text(transcript.read_text().replace(PROJECT, cwd))
    code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript, cwd), url)
    assert (code, out, err) == (0, "", "")
    assert _entry(url, cwd, session).items > 0
    assert "Earlier session" in _start(url, cwd)
    assert validate_session_id(registry_session(cwd)) == registry_session(cwd)
    assert project_key(cwd) != project_key(
        "/Users/soph/"
        + "".join(c if (c.isascii() and c.isalnum()) or c == "/" else "-" for c in folder)
    )
    assert project_key(PROJECT) == PROJECT.replace("/", "-")  # (a plain path's key as before)


def test_a_fifo_named_like_a_sub_agent_file_is_passed_over(tmp_path: Path, url: str) -> None:
    """``agent-x.jsonl`` beside the transcript, or one under ``<session>/subagents/``, that is a
    FIFO: opening it would wait for a writer for ever (the save hung until Claude Code's
    timeout, and catch-ups piled up behind it); it is no transcript, and the save goes on."""
    import os
    import subprocess
    import sys

    transcript, session = _place(tmp_path, EARLIER[0])
    os.mkfifo(transcript.parent / "agent-evil.jsonl")
    (transcript.parent / session / "subagents").mkdir(parents=True)
    os.mkfifo(transcript.parent / session / "subagents" / "agent-evil.jsonl")
    done = subprocess.run(
        [sys.executable, "-m", "memcore", "hook", "session-end", "--store", url],
        input=_payload("SessionEnd", session, transcript).encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert _entry(url, PROJECT, session).items > 0
