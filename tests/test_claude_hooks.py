"""``memcore hook``: saving real Claude Code transcripts and bringing them back at session start."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from memcore.claude_code import project_dir_name
from memcore.claude_code.hooks import run_hook
from memcore.claude_code.project import registry_session
from memcore.claude_code.session_start import shown_digest
from memcore.cli import main
from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.sync import DistributedMemoryManager
from tests.claude_code_support import DATA

PROJECT = "/Users/soph/Work/entire/devenv/cli"  # seven real sessions of one project
EARLIER = ("entireio__cli__198393f2.jsonl", "entireio__cli__20b81bf8.jsonl")
OTHER_PROJECT_FILE = "marot__spotter__d6e0bada.jsonl"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def _session_of(path: Path) -> str:
    for line in path.open():
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


@pytest.fixture
def url(tmp_path: Path) -> str:
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
    assert "The user pasted: unknown command" in context  # told as what it was


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


async def _age_entries(url: str) -> None:
    """Leave the project's registry as an older memcore left it: its own digests, no rules."""
    store = open_store(url)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="an-older-memcore")
    registry = registry_session(PROJECT)
    try:
        await manager.sync_session_memory(registry)
        for key, value in manager.state(registry).items():
            item = MemoryItem.coerce(value)
            meta = {k: v for k, v in item.metadata.items() if k != "made_by"}
            manager.set(registry, key, MemoryItem(item.id, "- an older digest", metadata=meta))
        await manager.sync_session_memory(registry)
    finally:
        await manager.close()
        await store.close()


def test_entries_made_by_older_rules_are_made_again_one_a_save(tmp_path: Path, url: str) -> None:
    """After an upgrade, the sessions saved before it would be brought back by the old digest
    rules for good: each later save of the project makes one such entry again from its
    session's stored items (the latest active first), as a save of that session would."""
    from memcore.claude_code.project import STORED_DIGEST_TOKENS, SessionRecord, digest_rules
    from memcore.digest import session_digest

    earlier = [session for _, session in _save_earlier(tmp_path, url)]
    asyncio.run(_age_entries(url))
    lines = (DATA / "entireio__cli__880d23f9.jsonl").read_bytes().splitlines(keepends=True)
    transcript, session = _place(tmp_path, "entireio__cli__880d23f9.jsonl")
    payload = _payload("Stop", session, transcript)
    remade: list[list[str]] = []
    for part in (lines[: len(lines) // 2], lines):  # two saves of a third session
        transcript.write_bytes(b"".join(part))
        assert _hook("stop", payload, url)[1:] == ("", "")
        entries = [
            SessionRecord.from_item(item)
            for item in _read_state(url, registry_session(PROJECT)).values()
        ]
        remade.append([e.session_id for e in entries if e.made_by == digest_rules()])
    by_id = {entry.session_id: entry for entry in entries}
    latest = max(earlier, key=lambda s: (by_id[s].last_activity, by_id[s].session_id))
    assert sorted(remade[0]) == sorted([session, latest])  # the latest active one first
    assert sorted(remade[1]) == sorted([session, *earlier])
    for entry in entries:
        items = list(_read_state(url, entry.session_id).values())
        assert entry.digest == session_digest(items, STORED_DIGEST_TOKENS).text


async def _old_entries(manager: DistributedMemoryManager, registry: str, *sessions: str) -> None:
    """Registry entries of ``sessions``, made by no rules (as before rules were named)."""
    from memcore.claude_code.project import SessionRecord, registry_key

    for session in sessions:
        record = SessionRecord(session_id=session, cwd=PROJECT, digest="- old", updated_at="t")
        manager.set(registry, registry_key(session), record.to_item())
    await manager.sync_session_memory(registry)


async def test_an_older_entry_is_not_made_again_while_its_own_save_runs() -> None:
    """Another session's entry is made again in that session's save turn, not waited for: while
    its own save holds the turn, that save makes the entry (from the items as it leaves them);
    once the turn is free, the next save makes it again."""
    from memcore.claude_code.hooks import refresh_stale_record
    from memcore.claude_code.save_turns import session_turn

    store = open_store("memory://")
    manager = DistributedMemoryManager(storage_backend=store, replica_id="r")
    registry = registry_session(PROJECT)
    try:
        await _old_entries(manager, registry, "busy", "saved")
        async with session_turn("busy") as held:
            assert held
            assert await refresh_stale_record(manager, registry, "saved") is None
        assert await refresh_stale_record(manager, registry, "saved") == "busy"
    finally:
        await manager.close()
        await store.close()


async def test_an_older_entry_whose_items_are_gone_is_marked_not_made() -> None:
    """An entry whose session holds nothing any more keeps its digest, marked as made by the
    current rules so that no later save tries again; the session just saved is never taken."""
    from memcore.claude_code.hooks import refresh_stale_record
    from memcore.claude_code.project import SessionRecord, digest_rules

    store = open_store("memory://")
    manager = DistributedMemoryManager(storage_backend=store, replica_id="r")
    registry = registry_session(PROJECT)
    try:
        await _old_entries(manager, registry, "gone", "saved")
        assert await refresh_stale_record(manager, registry, "saved") == "gone"
        gone = SessionRecord.from_item(MemoryItem.coerce(manager.get(registry, "session:gone")))
        assert (gone.digest, gone.made_by) == ("- old", digest_rules())
        assert await refresh_stale_record(manager, registry, "saved") is None
    finally:
        await manager.close()
        await store.close()


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
