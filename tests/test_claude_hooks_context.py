"""What session-start tells a new session: files counted once an edit, the notes remembered
through the MCP server, the latest sessions first when the budget is short, and a reader that
went away."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.claude_code.mcp_server import MemoryService
from memcore.claude_code.project import SessionRecord, latest_first, registry_session
from memcore.claude_code.session_start import _files_block
from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.sync import DistributedMemoryManager
from memcore.tokens import count_tokens
from tests.claude_code_support import DATA
from tests.claude_hooks_support import (
    PROJECT,
    _context,
    _hook,
    _payload,
    _place,
    _read_state,
    _save_earlier,
)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")

#: 16 Edits and 1 Write of `scripts/test-attribution-e2e.sh`.
EDITED = "entireio__cli__0276a600.jsonl"
SCRIPT = "scripts/test-attribution-e2e.sh"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


def _edits_of(transcript: Path, path: str) -> int:
    """The Edit/Write/MultiEdit tool uses of ``path`` in the raw transcript."""
    count = 0
    for line in transcript.read_text().splitlines():
        record = json.loads(line)
        content = (record.get("message") or {}).get("content")
        for block in content if isinstance(content, list) else []:
            if (
                isinstance(block, dict)
                and block.get("type") == "tool_use"
                and block.get("name") in ("Edit", "Write", "MultiEdit")
                and str(block.get("input", {}).get("file_path", "")).endswith(path)
            ):
                count += 1
    return count


def _start(url: str, budget: int = 2000, cwd: str = PROJECT) -> str:
    payload = _payload("SessionStart", "a-new-session", None, cwd=cwd, source="startup")
    code, out, err = _hook("session-start", payload, url, budget)
    assert (code, err) == (0, "")
    return _context(out) if out else ""


def test_each_edit_of_a_file_is_counted_once(tmp_path: Path, url: str) -> None:
    """An edit's result names its tool and file as its call does: only the call counts."""
    transcript, session = _place(tmp_path, EDITED)
    edits = _edits_of(transcript, SCRIPT)
    assert edits == 17
    assert _hook("session-end", _payload("SessionEnd", session, transcript), url) == (0, "", "")
    entry = SessionRecord.from_item(
        _read_state(url, registry_session(PROJECT))[f"session:{session}"]
    )
    assert entry.files[f"{PROJECT}/{SCRIPT}"]["changed"] == edits
    assert f"- `{SCRIPT}`: changed {edits}x in 1 session" in _files_block([entry])
    # (a project of one session: its digest tells its files, no block says them again)
    started = _start(url)
    assert "## Files that matter" not in started
    assert f"`{SCRIPT}`" in started


async def _double_the_changes(url: str, session: str) -> None:
    """Leave the session's entry as memcore left it when an edit's result counted too."""
    store = open_store(url)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="an-older-memcore")
    registry = registry_session(PROJECT)
    try:
        await manager.sync_session_memory(registry)
        entry = SessionRecord.from_item(
            MemoryItem.coerce(manager.get(registry, f"session:{session}"))
        )
        for counts in entry.files.values():
            if "changed" in counts:
                counts["changed"] *= 2
        manager.set(registry, f"session:{session}", entry.to_item())
        await manager.sync_session_memory(registry)
    finally:
        await manager.close()
        await store.close()


def test_counts_doubled_by_an_older_save_are_made_right_by_the_next(
    tmp_path: Path, url: str
) -> None:
    transcript, session = _place(tmp_path, EDITED)
    lines = transcript.read_bytes().splitlines(keepends=True)
    transcript.write_bytes(b"".join(lines[: len(lines) // 2]))
    payload = _payload("SessionEnd", session, transcript)
    assert _hook("session-end", payload, url) == (0, "", "")
    asyncio.run(_double_the_changes(url, session))
    transcript.write_bytes(b"".join(lines))  # the session went on, and is saved again
    assert _hook("session-end", payload, url) == (0, "", "")
    entry = SessionRecord.from_item(
        _read_state(url, registry_session(PROJECT))[f"session:{session}"]
    )
    assert entry.files[f"{PROJECT}/{SCRIPT}"]["changed"] == _edits_of(transcript, SCRIPT)


async def _remember(url: str, project: str, *notes: tuple[str, str, str]) -> None:
    store = open_store(url)
    service = MemoryService(store, project)
    try:
        for content, kind, priority in notes:
            await service.remember(content, kind=kind, priority=priority)
    finally:
        await service.close()
        await store.close()


PREFERENCE = "Run `mise run lint` before every commit; CI rejects lint errors."
CRITICAL = "Never push tags by hand: releases go through `make release`."
PASSING = "The webhook retry test takes about a minute."
TODO = "Open: move the retry settings into `config/retry.toml`."
DECIDED = "Retries back off exponentially from 1 s, capped at 60 s (the provider's limit)."


def test_remembered_preferences_and_critical_notes_come_at_session_start(
    tmp_path: Path, url: str
) -> None:
    """Notes kept with MCP ``remember`` that every session should know: the user's preferences,
    decisions, open tasks and critical or high notes, before the earlier sessions' digests; not
    a plain fact, and not in another project."""
    asyncio.run(
        _remember(
            url,
            PROJECT,
            (PREFERENCE, "preference", "normal"),
            (CRITICAL, "decision", "critical"),
            (PASSING, "fact", "normal"),
            (DECIDED, "decision", "normal"),
            (TODO, "todo", "normal"),
        )
    )
    alone = _start(url)  # no session saved yet: the notes alone are worth telling
    assert f"- {CRITICAL}" in alone
    _save_earlier(tmp_path, url)
    context = _start(url)
    notes = context.split("## Remembered for this project\n")[1].split("\n\n")[0].splitlines()
    # critical first, then the latest first
    assert notes == [f"- {CRITICAL}", f"- {TODO}", f"- {DECIDED}", f"- {PREFERENCE}"]
    assert context.index(CRITICAL) < context.index("## Earlier session (")
    assert PASSING not in context
    assert CRITICAL in _start(url, budget=300)  # a short budget still keeps them
    assert _start(url, cwd="/home/marco/projects/spotter") == ""


@pytest.mark.parametrize("budget", [200, 250, 300])
def test_a_short_budget_tells_the_latest_session_rather_than_drop_it(
    tmp_path: Path, url: str, budget: int
) -> None:
    """Too short for every earlier session, the budget goes to the latest: its digest shrunk
    to what fits, never dropped while an older session's fits."""
    _save_earlier(tmp_path, url)
    transcript, session = _place(tmp_path, "entireio__cli__880d23f9.jsonl")
    assert _hook("session-end", _payload("SessionEnd", session, transcript), url)[0] == 0
    entries = [
        SessionRecord.from_item(item)
        for item in _read_state(url, registry_session(PROJECT)).values()
    ]
    latest = latest_first(entries)[0]
    context = _start(url, budget)
    assert count_tokens(context) <= budget
    shown = re.findall(r"## Earlier session \((\d{4}-\d\d-\d\d \d\d:\d\d)", context)
    assert shown, context
    assert shown[0] == latest.last_activity[:16].replace("T", " ")
    block = context.split("## Earlier session (")[1]
    assert "\n- " in block  # a statement of it, not only its heading


def test_the_latest_earlier_session_gets_the_most_room(tmp_path: Path, url: str) -> None:
    """Split evenly, the latest session (said first) got the shortest digest: the room an older
    one could not use flowed to the next, never back. It weighs twice an older one now."""
    _save_earlier(tmp_path, url)
    for name in ("entireio__cli__880d23f9.jsonl", "entireio__cli__0276a600.jsonl"):
        transcript, session = _place(tmp_path, name)
        assert _hook("session-end", _payload("SessionEnd", session, transcript), url)[0] == 0
    context = _start(url, 2000)
    blocks = context.split("## Earlier session (")[1:]
    assert len(blocks) == 4, context
    sizes = [count_tokens(block) for block in blocks]
    assert sizes[0] == max(sizes), sizes


def test_a_session_s_heading_names_its_branch_once(tmp_path: Path, url: str) -> None:
    """The heading says "(..., branch `b`)": the digest's line saying only that is left out
    (with its section when it was alone there)."""
    _save_earlier(tmp_path, url)
    for name in ("entireio__cli__880d23f9.jsonl", "entireio__cli__1664f311.jsonl"):
        transcript, session = _place(tmp_path, name)
        assert _hook("session-end", _payload("SessionEnd", session, transcript), url)[0] == 0
    context = _start(url, 2000)
    branches = re.findall(r"## Earlier session \([^)]*, branch `([^`]+)`\)", context)
    assert branches, context
    for branch in branches:
        assert f"- The work is on the branch `{branch}`." not in context
    assert not re.search(r"^###[^\n]*\n(?:###|##|$)", context, re.MULTILINE)  # (no empty section)


def test_a_hook_process_ends_with_its_whole_output_written(tmp_path: Path, url: str) -> None:
    """The command ends its process at once after the hook (``end_process``): what it printed
    is all there, and the store it wrote is closed whole (no WAL left behind)."""
    _save_earlier(tmp_path, url)
    done = subprocess.run(
        [sys.executable, "-m", "memcore", "hook", "session-start", "--store", url],
        input=_payload("SessionStart", "a-new-session", None, source="startup").encode(),
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    context = json.loads(done.stdout)["hookSpecificOutput"]["additionalContext"]
    assert context.strip()
    transcript, session = _place(tmp_path, "entireio__cli__880d23f9.jsonl")
    saved = subprocess.run(
        [sys.executable, "-m", "memcore", "hook", "session-end", "--store", url],
        input=_payload("SessionEnd", session, transcript).encode(),
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert (saved.returncode, saved.stdout, saved.stderr) == (0, b"", b"")
    database = Path(url.removeprefix("sqlite:///"))
    assert not Path(f"{database}-wal").exists()


def test_a_closed_stdout_still_exits_zero(tmp_path: Path, url: str) -> None:
    """``memcore hook session-start < payload | true``: the reader is gone before the context
    is written; the hook still exits 0, with one line on stderr and no traceback."""
    _save_earlier(tmp_path, url)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "memcore", "hook", "session-start", "--store", url],
            input=_payload("SessionStart", "a-new-session", None, source="startup").encode(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            check=False,
        )
    finally:
        os.close(write_end)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("memcore hook session-start: ")


@pytest.mark.parametrize("closed", [(1,), (1, 2), (0, 1, 2)], ids=["out", "out-err", "all"])
def test_a_hook_started_with_its_descriptors_closed_exits_zero(
    tmp_path: Path, url: str, closed: tuple[int, ...]
) -> None:
    """``memcore hook session-start >&-`` (Python then sets ``sys.stdout`` to None): a context
    to print and no stdout still exits 0 with no traceback; so with stderr, even stdin, closed
    too (the payload then empty: nothing done)."""
    _save_earlier(tmp_path, url)
    payload = tmp_path / "payload.json"
    payload.write_text(_payload("SessionStart", "a-new-session", None, source="startup"))
    report = tmp_path / "report.txt"
    closing = " ".join(f"{fd}>&-" if fd else "<&-" for fd in closed)
    command = f"{sys.executable} -m memcore hook session-start --store '{url}' < '{payload}'"
    script = f"({command} {closing}) 2> '{report}'" if 2 not in closed else f"{command} {closing}"
    done = subprocess.run(["sh", "-c", f"{script}; echo $? > '{report}.rc'"], check=False)
    assert done.returncode == 0
    assert Path(f"{report}.rc").read_text().strip() == "0"
    if 2 not in closed:
        err = report.read_text()
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("memcore hook session-start: ")


@pytest.mark.parametrize("stderr", ["2>&-", "2>/dev/full"])
def test_a_failing_hook_whose_stderr_is_closed_or_full_prints_nothing_and_exits_zero(
    tmp_path: Path, stderr: str
) -> None:
    """Its one line has nowhere to go: not to stdout (``print`` writes there when stderr is
    None, and Claude Code reads stdout), and a write that fails does not fail the hook."""
    out = tmp_path / "out"
    script = f"echo 'no json' | {sys.executable} -m memcore hook session-start > '{out}' {stderr}"
    done = subprocess.run(["sh", "-c", f"{script}; echo $? > '{out}.rc'"], check=False)
    assert done.returncode == 0
    assert Path(f"{out}.rc").read_text().strip() == "0"
    assert out.read_text() == ""


def test_the_earlier_sessions_are_the_same_project_whichever_subfolder(
    tmp_path: Path, url: str
) -> None:
    """A session started below the project (``cmd/entire``) gets the project's memory."""
    _save_earlier(tmp_path, url)
    below = _start(url, cwd=f"{PROJECT}/cmd/entire")
    assert below == _start(url)


def test_a_shortcut_is_its_command_and_the_arguments_it_is_called_with_again() -> None:
    """``/workflows:review <a pull request>`` once is the command, not that pull request;
    ``/deploy staging`` in two sessions is that call."""
    from memcore.claude_code.project import SessionRecord
    from memcore.claude_code.session_start import _knowledge_block

    first = SessionRecord(
        "a", PROJECT, "d", "2026-01-01T00:00:00", shortcuts=["/deploy staging", "/commit"]
    )
    second = SessionRecord(
        "b",
        PROJECT,
        "d",
        "2026-02-01T00:00:00",
        shortcuts=["/workflows:review https://github.com/o/r/pull/2", "/deploy staging"],
    )
    block = _knowledge_block([second, first])
    shortcuts = block.split("## The user's shortcuts\n")[1].split("\n## ")[0].splitlines()
    assert shortcuts == ["- /commit", "- /workflows:review", "- /deploy staging (in 2 sessions)"]


def test_a_file_that_was_never_there_is_no_file_that_matters() -> None:
    """Every read of ``gone.go`` failed ("File does not exist"): it is left out of the
    session's files; one read that failed once and then worked, or that the session went on
    to write, stays."""
    from memcore.claude_code.project import summarize_files
    from memcore.model import MemoryItem

    def result(n: int, path: str, error: bool, tool: str = "Read") -> MemoryItem:
        kind = "error" if error else "tool_result"
        meta = {"tool": tool, "file_path": path, "is_error": error, "kind": kind}
        return MemoryItem(f"r{n}", f"{tool} of {path}", metadata=meta)

    items = [
        result(1, "/p/gone.go", True),
        result(2, "/p/gone.go", True),
        result(3, "/p/late.go", True),
        result(4, "/p/late.go", False),
        result(5, "/p/new.go", True),
        MemoryItem(
            "w",
            "Write new.go",
            metadata={"tool": "Write", "file_path": "/p/new.go", "kind": "tool_call"},
        ),
    ]
    accesses = [f"file:/p/{name}.go" for name in ("gone", "gone", "late", "late", "new", "new")]
    files = summarize_files(accesses, items)
    assert "/p/gone.go" not in files
    assert files["/p/late.go"]["touched"] == 2
    assert files["/p/new.go"]["changed"] == 1


@pytest.mark.parametrize(
    ("command", "check"),
    [
        ("mise run test", True),
        ("go test ./... -count=1 2>&1 | tail -20", True),
        ("npm run typecheck", True),
        ("uv run pytest -q", True),
        ("cd web && bun run lint", True),
        ("make", True),
        ('git commit -m "add tests for the build"', False),  # mentions, does not run
        ("npx tsc --version", False),  # what the tool says of itself
        ("ls tests/", False),
        # past what only wraps it
        ("python3 -m pytest tests/test_find.py -v", True),
        ("env CI=1 npm test", True),
        ("timeout 300 go test ./...", True),
        ("pnpm -F core test", True),
        ("./gradlew check", True),
        ("bun verify", True),
        ("npm run check:all", True),
        ("mix credo --strict", True),
        ("doppler run --project chkit --config ci -- turbo run typecheck lint test build", True),
        # a program's arguments are no check, nor a runner's other tasks
        ("python3 script.py test", False),
        ("git log --grep test", False),
        ("echo test", False),
        ("bun run dev", False),
        ("npm install", False),
        ("terraform validate", True),
        ("terraform apply", False),
        ("dart analyze", True),
        ("dart pub get", False),
        ("shellcheck scripts/*.sh", True),
        ("bazel test //...", True),
        ("bazel run //app", False),
        ("xcodebuild test -scheme App", True),
        ("pre-commit run --all-files", True),
        ("pre-commit install", False),
    ],
)
def test_a_check_is_known_by_the_verb_of_its_command(command: str, check: bool) -> None:
    from memcore.claude_code.commands import is_project_check

    assert is_project_check(command) is check


def test_the_checks_that_passed_come_back_at_session_start(tmp_path: Path, url: str) -> None:
    """A new session learns how the project is tested and linted: the checks that passed in
    earlier sessions, those of the most sessions first (a command that failed, or ran once in
    a way of its own, counts less or not at all)."""
    from memcore.claude_code.session_record import passed_checks

    def run(n: int, command: str, code: int) -> MemoryItem:
        meta = {"kind": "tool_result", "tool": "Bash", "command": command, "exit_code": code}
        return MemoryItem(f"r{n}", f"`{command}` ran", metadata={**meta, "is_error": code != 0})

    items = [
        run(1, "mise run test 2>&1 | tail -5", 0),
        run(2, "mise run test", 0),
        run(3, "mise run lint", 1),  # failed: no check that passed
        run(4, 'git commit -m "tests"', 0),
        run(5, "go test ./cmd/... -run 'TestOne'", 0),
    ]
    assert passed_checks(items) == {"mise run test": 2, "go test ./cmd/... -run 'TestOne'": 1}
    _save_earlier(tmp_path, url)
    context = _start(url)
    checks = context.split("## Checks that passed in this project (tests, builds, linters)\n")
    assert len(checks) == 2, context[:500]
    first = checks[1].splitlines()[0]
    assert re.fullmatch(r"- `[^`]+`: passed \d+x in \d+ sessions?", first), first


def test_a_check_started_in_the_background_passed_only_if_its_end_did() -> None:
    """A ``Bash`` call run in the background answers at once, exit status 0, that it started:
    that is no pass of the check. Its end, read later, says whether it passed: in a real
    session whose ``bun verify`` started in the background and then failed, no check passed."""
    from memcore.claude_code import parse_transcript
    from memcore.claude_code.session_record import passed_checks

    started = {"kind": "tool_result", "tool": "Bash", "command": "bun test", "exit_code": 0}
    ended = {**started, "background": True}
    items = [
        MemoryItem(
            "s", "`bun test` started in the background", metadata={**started, "task_id": "b1"}
        ),
        MemoryItem("e", "`bun test` succeeded", metadata={**ended, "task_id": "b1"}),
        MemoryItem(
            "t", "`bun lint` started", metadata={**started, "command": "bun lint", "task_id": "b2"}
        ),
    ]
    assert passed_checks(items) == {"bun test": 1}
    session = parse_transcript(DATA / "obsessiondb__chkit__17a79690.jsonl")
    assert "bun verify" not in passed_checks(session.items)


def test_a_chain_of_checks_each_known_alone_counts_as_a_run_of_each() -> None:
    """ "`mise run test && mise run lint`" beside "`mise run test`" and "`mise run lint`" says
    nothing theirs do not: its runs are theirs (a session counted once per check); a chain
    with a step never run alone keeps its own line."""
    from memcore.claude_code.project import SessionRecord
    from memcore.claude_code.session_start import _checks_block

    def record(session: str, checks: dict[str, int]) -> SessionRecord:
        return SessionRecord(session, PROJECT, "d", "2026-01-01T00:00:00", checks=checks)

    block = _checks_block(
        [
            record("a", {"mise run test": 2, "mise run test && mise run lint": 1}),
            record("b", {"mise run lint": 1, "mise run lint && mise run test": 2}),
            record("c", {"go build ./... && go vet ./...": 1, "go build ./...": 1}),
        ]
    )
    lines = block.splitlines()[1:]
    assert "- `mise run test`: passed 5x in 2 sessions" in lines
    assert "- `mise run lint`: passed 4x in 2 sessions" in lines
    assert not any("&& mise" in line for line in lines)
    assert "- `go build ./... && go vet ./...`: passed 1x in 1 session" in lines


def test_a_focused_run_of_a_few_tests_is_not_how_the_project_is_checked() -> None:
    """ "`go test ./... -run TestWingman -v`" in one session, beside a check of the whole, is a
    focused run: left out of the project's checks. Run in several sessions, it stays; and it
    stays where no check of the whole was run."""
    from memcore.claude_code.project import SessionRecord
    from memcore.claude_code.session_start import _checks_block

    def record(session: str, checks: dict[str, int]) -> SessionRecord:
        return SessionRecord(session, PROJECT, "d", "2026-01-01T00:00:00", checks=checks)

    focused = "go test ./cmd/cli/ -run TestWingman -v"
    shared = "pytest -k slow tests/"
    node = "python -m pytest tests/test_cart.py::test_rounding -q"  # (pytest's own way)
    lines = _checks_block(
        [
            record("a", {"mise run test": 2, focused: 1, shared: 1, node: 3}),
            record("b", {"mise run test": 1, shared: 2, "cargo test parse_args": 1}),
        ]
    ).splitlines()[1:]
    assert "- `mise run test`: passed 3x in 2 sessions" in lines
    assert "- `pytest -k slow tests/`: passed 3x in 2 sessions" in lines
    assert not any("TestWingman" in line for line in lines)
    assert not any("test_rounding" in line or "parse_args" in line for line in lines)
    alone = _checks_block([record("c", {focused: 1})]).splitlines()[1:]
    assert alone == [f"- `{focused}`: passed 1x in 1 session"]


def test_a_registry_entry_s_counts_of_the_wrong_type_read_as_nothing() -> None:
    """A damaged or hand-edited store: files whose counts are no counts, counts past any
    session's, a path that is no string; the entry still reads, and the files block says only
    what is a count."""
    from memcore.claude_code.project import SessionRecord
    from memcore.claude_code.session_start import _files_block

    meta = {
        "session_id": "s",
        "cwd": PROJECT,
        "items": "many",
        "files": {
            f"{PROJECT}/a.py": {"changed": 2},
            f"{PROJECT}/b.py": [1, 2],
            f"{PROJECT}/c.py": {"changed": "many", "touched": None},
            f"{PROJECT}/d.py": {"changed": 10**5000},
            f"{PROJECT}/e.py": {"changed": -5, "touched": True},
            7: {"changed": 1},
        },
    }
    record = SessionRecord.from_item(MemoryItem("session:s", "d", metadata=meta))
    assert record.items == 0
    assert record.files == {f"{PROJECT}/a.py": {"changed": 2}}
    other = SessionRecord("t", PROJECT, "d", "2026-01-01T00:00:00")
    block = _files_block([record, other])
    assert "- `a.py`: changed 2x in 1 session" in block
    assert "-5" not in block


def test_an_earlier_session_s_closing_question_is_said_as_left_unanswered() -> None:
    """A digest says the question a session ended on is awaited; at a later session's start the
    user may have answered it elsewhere or moved on: it is said as left unanswered. The
    session's own digest, after its compaction, still says it is awaited."""
    from memcore.claude_code.project import SessionRecord
    from memcore.claude_code.session_start import ENDED_ON_QUESTION, _session_block
    from memcore.claude_code.titles import CLOSING_QUESTION

    digest = f"## Still open\n{CLOSING_QUESTION}Which approach would you prefer?"
    record = SessionRecord("s", PROJECT, digest, "2026-01-01T00:00:00")
    earlier = _session_block(record, "Earlier session", 500)
    assert f"{ENDED_ON_QUESTION}Which approach would you prefer?" in earlier
    assert CLOSING_QUESTION not in earlier
    own = _session_block(record, "This session before compaction", 500, ended=False)
    assert f"{CLOSING_QUESTION}Which approach would you prefer?" in own
