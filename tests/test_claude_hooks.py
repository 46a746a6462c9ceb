"""``memcore hook``: saving real Claude Code transcripts and bringing them back at session start."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest

from memcore.claude_code.project import registry_session
from memcore.claude_code.session_start import shown_digest
from memcore.cli import main
from tests.claude_code_support import DATA
from tests.claude_hooks_support import (
    EARLIER,
    OTHER_PROJECT_FILE,
    PROJECT,
    _context,
    _hook,
    _payload,
    _place,
    _read_state,
    _read_version,
    _save_earlier,
    url_fixture,  # noqa: F401  (the fixture url)
)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def test_start_brings_back_earlier_sessions_of_the_same_project(tmp_path: Path, url: str) -> None:
    from memcore.tokens import count_tokens

    saved = _save_earlier(tmp_path, url)
    registry = _read_state(url, registry_session(PROJECT))
    assert len(registry) == len(EARLIER)
    payload = _payload(
        "SessionStart", "11111111-2222-3333-4444-555555555555", None, source="startup"
    )
    code, out, err = _hook("session-start", payload, url, budget=2000)
    assert code == 0, err
    context = _context(out)
    assert 0 < count_tokens(context) <= 2000
    # it names files the earlier sessions touched and carries their digests' statements
    files = [p for value in registry.values() for p in value.metadata["files"]]
    assert sum(f"`{p.removeprefix(PROJECT + '/')}`" in context for p in files) >= 3
    matter = context.split("## Files that matter in this project\n")[1].split("\n\n")[0]
    for line in matter.splitlines():  # "changed 4x in 1 session", "... over 2 sessions"
        assert re.fullmatch(
            r"- `[^`]+`: (changed|used) \d+x (in 1 session|over \d+ sessions)", line
        )
    for _, session in saved:
        digest = registry[f"session:{session}"].content
        statements = [ln for ln in str(digest).splitlines() if ln.startswith("- ")]
        assert any(line in context for line in statements[:3]), session
    # a smaller budget is respected too
    _, small, _ = _hook("session-start", payload, url, budget=300)
    assert count_tokens(_context(small)) <= 300


def test_another_project_sees_nothing(tmp_path: Path, url: str) -> None:
    _save_earlier(tmp_path, url)
    other = "/home/marco/projects/spotter"
    code, out, err = _hook(
        "session-start", _payload("SessionStart", "x-1", None, cwd=other, source="startup"), url
    )
    assert (code, out, err) == (0, "", "")
    # not even a project whose path starts the same
    code, out, _ = _hook(
        "session-start", _payload("SessionStart", "x-2", None, cwd=PROJECT + "-fork"), url
    )
    assert (code, out) == (0, "")


def test_save_twice_changes_nothing_and_growth_is_incremental(tmp_path: Path, url: str) -> None:
    source = DATA / EARLIER[1]
    lines = source.read_bytes().splitlines(keepends=True)
    transcript, session = _place(tmp_path, EARLIER[1])
    transcript.write_bytes(b"".join(lines[: len(lines) // 2]))
    payload = _payload("PreCompact", session, transcript)
    assert _hook("pre-compact", payload, url)[1:] == ("", "")
    half = _read_state(url, session)
    version = _read_version(url, session)
    assert _hook("stop", payload, url)[1:] == ("", "")  # the same transcript again: nothing
    assert _read_version(url, session) == version
    transcript.write_bytes(b"".join(lines))  # the session went on
    assert _hook("session-end", payload, url)[1:] == ("", "")
    full = _read_state(url, session)
    assert set(half) < set(full)
    assert _read_version(url, session) == version + 1  # one commit carried the new records


def test_sub_agents_are_saved_with_their_session(tmp_path: Path, url: str) -> None:
    cwd = "/home/USER/projects/spotter-worktrees/spotter-gqc"
    transcript, session = _place(tmp_path, "marot__spotter__258c7280.jsonl", cwd)
    shutil.copyfile(
        DATA / "marot__spotter__258c7280__agent-a881341.jsonl",
        transcript.parent / "agent-a881341.jsonl",
    )
    code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript, cwd), url)
    assert (code, out, err) == (0, "", "")
    state = _read_state(url, session)
    agents = {str(v.metadata.get("agent")) for v in state.values()}
    assert "a881341" in " ".join(agents)


def test_session_start_does_not_import_the_transcript_parser(tmp_path: Path, url: str) -> None:
    """session-start runs before the user's first prompt: it reads the registry only, and
    importing the parser (and compiling its patterns) would be most of its time."""
    import subprocess
    import sys

    _save_earlier(tmp_path, url)
    payload = _payload("SessionStart", "11111111-2222-3333-4444-5555555555aa", None)
    code = (
        "import io, sys\n"
        "from memcore.claude_code.hooks import run_hook\n"
        "out = io.StringIO()\n"
        f"run_hook('session-start', {payload!r}, store_url={url!r}, out=out)\n"
        "assert 'Earlier session' in out.getvalue(), out.getvalue()\n"
        "parser = sorted(m for m in sys.modules if m.startswith('memcore.claude_code.'))\n"
        "print(' '.join(parser))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "memcore.claude_code.hooks" in loaded
    assert not loaded & {
        "memcore.claude_code.transcripts",
        "memcore.claude_code.record_parser",
        "memcore.claude_code.tools",
        "memcore.claude_code.links",
    }


@pytest.mark.parametrize("budget", [700, 1200])
def test_each_earlier_session_is_its_own_digest_at_the_size_it_gets(
    tmp_path: Path, url: str, budget: int
) -> None:
    """An earlier session's share of the budget holds a whole digest made for about that size
    (what was asked, done, touched, broken), not the start of the long one cut off."""
    from memcore.claude_code.project import BRIEF_DIGEST_TOKENS, SessionRecord

    saved = _save_earlier(tmp_path, url)
    records = {
        key: SessionRecord.from_item(item)
        for key, item in _read_state(url, registry_session(PROJECT)).items()
    }
    payload = _payload("SessionStart", "11111111-2222-3333-4444-5555555555ff", None)
    context = _context(_hook("session-start", payload, url, budget=budget)[1])
    blocks = context.split("\n## Earlier session (")[1:]
    assert len(blocks) == len(saved)
    for block in blocks:
        body = "\n".join(
            line[1:] if line.startswith("###") else line for line in block.splitlines()[1:]
        ).strip()
        record = next(
            r
            for r in records.values()
            if body in (shown_digest(r, d) for d in (r.digest, *r.briefs))
        )
        assert len(record.briefs) == len(BRIEF_DIGEST_TOKENS)
        assert body != shown_digest(
            record, record.digest
        )  # the long digest did not fit these shares
    brief = records[f"session:{saved[0][1]}"].briefs[0]
    assert "## Files and functions touched" in brief  # a short digest still covers the files


def test_after_compaction_start_adds_this_sessions_own_digest(tmp_path: Path, url: str) -> None:
    _save_earlier(tmp_path, url)
    transcript, session = _place(tmp_path, "entireio__cli__880d23f9.jsonl")
    assert _hook("pre-compact", _payload("PreCompact", session, transcript), url)[1:] == ("", "")
    code, out, _ = _hook(
        "session-start", _payload("SessionStart", session, transcript, source="compact"), url
    )
    assert code == 0
    context = _context(out)
    assert "This session before compaction" in context
    assert "Earlier session" in context
    # a plain start of the same session does not repeat its own digest
    _, plain, _ = _hook(
        "session-start", _payload("SessionStart", session, transcript, source="resume"), url
    )
    assert "This session before compaction" not in _context(plain)


def test_after_compaction_start_says_what_claude_s_summary_left_open(
    tmp_path: Path, url: str
) -> None:
    """Claude Code runs pre-compact before it writes the compaction's boundary and summary,
    then session-start: the summary's pending work is in the session's own digest all the
    same (session-start saves what was written since)."""
    cwd = "/Users/marc/conductor/workspaces/chx/jackson"  # (where the transcript's records ran)
    transcript, session = _place(tmp_path, "obsessiondb__chkit__5f45db97.jsonl", cwd)
    lines = transcript.read_bytes().splitlines(keepends=True)
    boundary = next(n for n, line in enumerate(lines) if b'"compact_boundary"' in line)
    transcript.write_bytes(b"".join(lines[:boundary]))
    saved = _hook("pre-compact", _payload("PreCompact", session, transcript, cwd), url)
    assert saved[1:] == ("", "")
    with transcript.open("ab") as file:
        file.write(b"".join(lines[boundary : boundary + 2]))  # the boundary, then the summary
    code, out, err = _hook(
        "session-start", _payload("SessionStart", session, transcript, cwd, source="compact"), url
    )
    assert (code, err) == (0, "")
    own = _context(out).split("## This session before compaction", 1)[1].split("\n## ", 1)[0]
    assert "- Pending at the compaction (Claude's summary): " in own


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "garbage \x00\x01 not json",
        "[1, 2, 3]",
        json.dumps({"session_id": "s", "cwd": "relative/path", "transcript_path": "/x.jsonl"}),
        json.dumps({"cwd": PROJECT}),
    ],
)
def test_bad_payloads_exit_zero_silently(payload: str, url: str) -> None:
    for event in ("session-start", "pre-compact", "session-end", "stop"):
        code, out, err = _hook(event, payload, url)
        assert code == 0
        assert out == ""
        assert len(err.strip().splitlines()) == 1


def test_bad_transcript_paths_are_refused_without_breaking(tmp_path: Path, url: str) -> None:
    missing = tmp_path / "nope.jsonl"
    code, out, err = _hook("session-end", _payload("SessionEnd", "s1", missing), url)
    assert (code, out) == (0, "")
    assert "no transcript file" in err
    unreadable = tmp_path / "secret.jsonl"
    unreadable.write_text("print('not a transcript')\n")
    code, out, err = _hook("session-end", _payload("SessionEnd", "s1", unreadable), url)
    assert (code, out) == (0, "")
    assert "no Claude Code transcript record" in err
    # a real transcript, but of another project than the payload's cwd
    foreign, session = _place(tmp_path, OTHER_PROJECT_FILE, "/home/marco/projects/spotter")
    code, out, err = _hook("session-end", _payload("SessionEnd", session, foreign, PROJECT), url)
    assert (code, out) == (0, "")
    assert "outside" in err
    # of another session than the payload's
    code, _, err = _hook(
        "session-end",
        _payload("SessionEnd", "someone-else", foreign, "/home/marco/projects/spotter"),
        url,
    )
    assert code == 0
    assert "not of someone-else" in err


def test_the_command_reads_stdin(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript, session = _place(tmp_path, EARLIER[0])
    monkeypatch.setattr("sys.stdin", io.StringIO(_payload("SessionEnd", session, transcript)))
    assert main(["hook", "session-end", "--store", url]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(_payload("SessionStart", "new", None)))
    assert main(["hook", "session-start", "--store", url, "--budget", "500"]) == 0
    assert "additionalContext" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("{not json"))
    assert main(["hook", "session-start", "--store", url]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1


def test_parallel_sessions_of_one_project_lose_nothing(tmp_path: Path, url: str) -> None:
    """Three Claude Code sessions of one project save at once, in three real processes."""
    import subprocess
    import sys

    sources = (*EARLIER, "entireio__cli__880d23f9.jsonl")
    placed = [_place(tmp_path, source) for source in sources]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "memcore", "hook", "session-end", "--store", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in placed
    ]
    for proc, (transcript, session) in zip(procs, placed, strict=True):
        assert proc.stdin is not None
        proc.stdin.write(_payload("SessionEnd", session, transcript))
        proc.stdin.close()  # every process has its payload before any is waited for
    for proc in procs:  # a hook prints nothing when it saves, so no pipe can fill up
        assert proc.wait(timeout=120) == 0
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert (proc.stdout.read(), proc.stderr.read()) == ("", "")
        proc.stdout.close()
        proc.stderr.close()
    registry = _read_state(url, registry_session(PROJECT))
    assert set(registry) == {f"session:{session}" for _, session in placed}
    for transcript, session in placed:
        from memcore.claude_code import parse_transcript

        expected = {item.id for item in parse_transcript(transcript).items}
        assert expected <= set(_read_state(url, session))


def test_start_on_a_store_not_yet_made_says_nothing_and_creates_nothing(tmp_path: Path) -> None:
    where = tmp_path / "not-yet" / "memory.db"
    payload = _payload("SessionStart", "s-1", None, source="startup")
    assert _hook("session-start", payload, f"sqlite:///{where}") == (0, "", "")
    assert not where.parent.exists()


@pytest.mark.parametrize(
    "argv",
    [["hook"], ["hook", "session-start", "--nope"], ["hook", "stop", "--budget", "-5"]],
)
def test_a_malformed_hook_command_line_still_exits_zero(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("{}"))
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_after_compaction_its_own_digest_takes_the_room_earlier_work_left(
    tmp_path: Path, url: str
) -> None:
    """Its own digest is capped at half the budget so that earlier work has room; when the
    earlier work took less, the context is composed again with the rest given to it."""
    from memcore.tokens import count_tokens

    transcript, session = _place(tmp_path, "entireio__cli__880d23f9.jsonl")
    assert _hook("pre-compact", _payload("PreCompact", session, transcript), url)[1:] == ("", "")
    payload = _payload("SessionStart", session, transcript, source="compact")
    context = _context(_hook("session-start", payload, url, budget=1200)[1])
    own = context.split("## This session before compaction", 1)[1]
    assert count_tokens(own) > 600  # (more than its half: nothing earlier took the rest)
    assert count_tokens(context) <= 1200


def test_a_section_said_only_by_the_branch_leaves_no_heading_in_the_block() -> None:
    """The block's heading names the branch, so the digest's line saying it goes; a section it
    was alone in goes with it, and the blank line after that section with them."""
    from memcore.claude_code.project import SessionRecord

    digest = (
        "## What was asked\n- The work is on the branch `fix/ci`.\n\n"
        "## Decisions and results\n- The linker can't find `libfuse-t`.\n\n"
        "## Still open\n- No commit in the session."
    )
    record = SessionRecord("s1", "/repo", digest, "2026-12-07T00:00:00+00:00", git_branch="fix/ci")
    assert shown_digest(record, digest) == (
        "## Decisions and results\n- The linker can't find `libfuse-t`.\n\n"
        "## Still open\n- No commit in the session."
    )
    asked = digest.replace("`fix/ci`.", "`fix/ci`.\n- The user asked: fix the CI build.")
    assert shown_digest(record, asked).startswith(
        "## What was asked\n- The user asked: fix the CI build.\n\n## Decisions"
    )
