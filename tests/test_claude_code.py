"""Reading Claude Code transcripts: realistic synthetic files following the published schema."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from memcore.claude_code import (
    access_key,
    classify_user_text,
    find_transcripts,
    group_by_session,
    is_transcript_name,
    parse_transcript,
    project_dir_name,
)
from memcore.digest import session_digest
from memcore.errors import NotFoundError
from memcore.model import MemoryItem, Priority
from tests.claude_code_support import (
    PROJECT,
    SESSION,
    _u,
    _user,
    write_claude_home,
)


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    return write_claude_home(tmp_path / ".claude")


@pytest.fixture
def main_file(projects: Path) -> Path:
    return projects / project_dir_name(PROJECT) / f"{SESSION}.jsonl"


def test_project_folder_name_follows_claude_code() -> None:
    assert project_dir_name("/Users/alice/myapp") == "-Users-alice-myapp"


def test_find_transcripts_takes_sessions_and_subagents_only(projects: Path) -> None:
    names = [p.name for p in find_transcripts(projects)]
    assert names[0] == f"{SESSION}.jsonl"
    assert sorted(names[1:]) == ["agent-7f7f7f7f.jsonl", "agent-a1b2c3.jsonl"]
    assert not is_transcript_name("journal.jsonl")


def test_find_transcripts_default_dir_honours_claude_config_dir(
    projects: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(projects.parent))
    assert len(find_transcripts()) == 3
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(projects.parent / "nowhere"))
    assert find_transcripts() == []


def test_missing_explicit_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such transcript"):
        find_transcripts(tmp_path / "missing")
    with pytest.raises(NotFoundError):
        parse_transcript(tmp_path / "missing.jsonl")


def test_malformed_lines_are_reported_with_line_numbers(main_file: Path) -> None:
    transcript = parse_transcript(main_file)
    reasons = {bad.line_no: bad.reason for bad in transcript.malformed}
    lines = main_file.read_text().splitlines()
    assert lines[reasons_line(lines, "{this line")] == "{this line is not json"
    assert reasons[reasons_line(lines, "{this line") + 1].startswith("not JSON")
    assert "not an object" in reasons[reasons_line(lines, '["a"') + 1]
    assert "timestamp" in reasons[reasons_line(lines, "not a timestamp") + 1]
    assert "without a 'message'" in reasons[reasons_line(lines, _u(14)) + 1]
    assert len(transcript.malformed) == 4


def reasons_line(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines) if needle in line)


def _first_record() -> str:
    return json.dumps(_user(_u(1), None, "2026-11-20T10:00:00.000Z", "fix the rounding bug"))


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("null", "null"),
        ('"s"', "string"),
        ("42", "number"),
        ("4.5", "number"),
        ("[1]", "array"),
        ("true", "boolean"),
        ("false", "boolean"),
    ],
)
def test_a_line_that_holds_no_object_is_named_by_json_s_names(
    tmp_path: Path, line: str, name: str
) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(f"{_first_record()}\n{line}\n")
    reasons = [(bad.line_no, bad.reason) for bad in parse_transcript(path).malformed]
    assert reasons == [(2, f"a JSON {name}, not an object")]  # (not NoneType, str, int)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ({"a": 1}, "record's 'type' is a JSON object, not a string"),
        (["user"], "record's 'type' is a JSON array, not a string"),
        (7, "record's 'type' is a JSON number, not a string"),
        (None, "record's 'type' is a JSON null, not a string"),
        ("-", "record has no 'type'"),
    ],
)
def test_a_record_whose_type_is_no_string_says_so(
    tmp_path: Path, kind: object, reason: str
) -> None:
    record = json.loads(_first_record())
    if kind == "-":
        del record["type"]
    else:
        record["type"] = kind
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert [bad.reason for bad in parse_transcript(path).malformed] == [reason]


def test_unknown_types_and_blocks_are_skipped_and_counted(main_file: Path) -> None:
    transcript = parse_transcript(main_file)
    assert transcript.skipped_types["queue-operation"] == 1
    assert transcript.skipped_types["file-history-snapshot"] == 1
    assert transcript.skipped_types["progress"] == 1
    assert transcript.skipped_types["system:turn_duration"] == 1
    assert transcript.skipped_types["block:image"] == 1
    assert transcript.skipped_types["scaffolding:local-command-caveat"] == 1
    assert transcript.session_id == SESSION


def test_an_api_error_claude_code_retries_is_no_error_of_the_work(tmp_path: Path) -> None:
    """A held-out session's digest said "system error (api_error)." under its errors: Claude
    Code's request failed and was tried again (``retryAttempt`` of ``maxRetries``). The last
    try failing is kept."""

    def api_error(attempt: int) -> dict[str, object]:
        return {
            "type": "system",
            "subtype": "api_error",
            "level": "error",
            "error": {},
            "retryInMs": 505.7,
            "retryAttempt": attempt,
            "maxRetries": 10,
            "sessionId": "s1",
            "uuid": f"u{attempt}",
            "timestamp": "2026-02-19T14:24:27.925Z",
        }

    path = tmp_path / "s1.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (api_error(1), api_error(10))) + "\n")
    parsed = parse_transcript(path)
    assert parsed.skipped_types["system:api_error (retried)"] == 1
    assert [item.content for item in parsed.items] == ["system error (api_error)"]


def test_items_have_kinds_priorities_and_timestamps(main_file: Path) -> None:
    items = {item.id: item for item in parse_transcript(main_file).items}
    task = items[f"cc:{_u(1)}"]
    assert task.metadata["kind"] == "task"
    assert task.priority == Priority.HIGH
    assert task.created_at == datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
    assert task.metadata["session"] == SESSION
    assert task.metadata["cwd"] == PROJECT
    assert task.metadata["role"] == "user"

    preference = items[f"cc:{_u(2)}"]
    assert preference.metadata["kind"] == "preference"
    assert preference.metadata["confidence"] == pytest.approx(0.9)

    shortcut = items[f"cc:{_u(15)}"]
    assert shortcut.metadata["kind"] == "shortcut"
    assert shortcut.content == "/commit -m 'fix rounding'"

    assert items[f"cc:{_u(3)}:0"].metadata["kind"] == "thinking"
    assert items[f"cc:{_u(3)}:0"].priority == Priority.LOW
    assert items[f"cc:{_u(4)}:0"].metadata["kind"] == "fact"
    assert f"cc:{_u(16)}" not in items  # Claude Code's local-command caveat is not memory

    read_result = items[f"cc:{_u(6)}:0"]
    assert read_result.metadata["kind"] == "tool_result"
    assert read_result.metadata["tool"] == "Read"
    assert read_result.metadata["file_path"] == "/home/alice/shop/cart.py"
    assert read_result.priority == Priority.LOW  # a file can be read again
    assert "round(sum(items), 2)" not in read_result.content  # the file is not memory
    assert read_result.content == "Read `cart.py`: 2 lines, defining `total()`"
    assert items[f"cc:{_u(5)}:0"].content == "Read `cart.py` (lines all)"

    grep_result = items[f"cc:{_u(8)}:0"]
    assert grep_result.metadata["tool"] == "Grep"
    assert grep_result.content == "Grep `round\\(` found 1 in `cart.py`"
    assert grep_result.metadata["count"] == 1
    edit_result = items[f"cc:{_u(8)}:1"]
    assert edit_result.metadata["tool"] == "Edit"
    assert edit_result.priority == Priority.NORMAL

    failed = items[f"cc:{_u(10)}:0"]
    assert failed.metadata["kind"] == "error"
    assert failed.metadata["is_error"] is True
    assert failed.metadata["command"] == "pytest   -q tests/test_cart.py"
    assert failed.priority == Priority.HIGH
    assert failed.metadata["exit_code"] == 1
    assert failed.metadata["error_lines"] == [
        "FAILED tests/test_cart.py::test_total - assert 10.01 == 10.0"
    ]
    assert failed.metadata["resolved"] is False  # never rerun in this session
    assert items[f"cc:{_u(11)}"].metadata["kind"] == "error"
    assert items[f"cc:{_u(18)}:0"].metadata["kind"] == "error"  # isApiErrorMessage

    call = items[f"cc:{_u(9)}:0"]
    assert call.metadata["kind"] == "tool_call"
    assert call.metadata["tool"] == "Bash"


def test_a_summary_of_this_transcript_s_conversation_is_its_title_at_its_leaf_s_time(
    main_file: Path,
) -> None:
    """(Older versions' title of a conversation: a ``summary`` naming its last message.)"""
    (title,) = [i for i in parse_transcript(main_file).items if i.metadata.get("session_title")]
    assert title.metadata["kind"] == "fact"
    assert (
        title.content == 'Claude Code titled the session "Fixing the checkout total rounding bug".'
    )
    assert title.created_at == datetime(2026, 11, 20, 10, 1, tzinfo=timezone.utc)


def test_access_sequence_in_order(main_file: Path) -> None:
    assert parse_transcript(main_file).accesses == [
        "file:/home/alice/shop/cart.py",
        "search:round\\(",
        "file:/home/alice/shop/cart.py",
        "cmd:pytest -q tests/test_cart.py",
    ]


def test_streamed_message_usage_counted_once(main_file: Path) -> None:
    transcript = parse_transcript(main_file)
    samples = {s.message_id: s for s in transcript.token_samples}
    assert set(samples) == {"msg_01A", "msg_01B", "msg_01C", "msg_01D", "msg_01E"}
    assert samples["msg_01A"].output_tokens == 40  # three records, one reply
    assert samples["msg_01A"].thinking  # (billed for its thinking whole)
    assert not samples["msg_01B"].thinking
    assert "reading the cart module" in samples["msg_01A"].text
    assert "cart.py" in samples["msg_01A"].text  # the tool input is generated text too
    assert transcript.usage_totals["output_tokens"] == 40 + 120 + 30 + 25
    assert transcript.usage_totals["cache_read_input_tokens"] == 5 * 14000


def test_subagent_files_join_the_parent_session(projects: Path) -> None:
    transcripts = [parse_transcript(p) for p in find_transcripts(projects)]
    sessions = group_by_session(transcripts)
    assert list(sessions) == [SESSION]
    agent = next(t for t in transcripts if t.agent_id == "a1b2c3")
    assert all(item.metadata.get("sidechain") for item in agent.items)
    assert all(item.metadata.get("agent") == "a1b2c3" for item in agent.items)
    assert agent.accesses == ["search:**/*.py", "tool:mcp__github__search_code"]
    ids = [item.id for t in transcripts for item in t.items]
    assert len(ids) == len(set(ids))
    assert agent.malformed == []


def test_a_sub_agent_s_brief_is_its_agent_s_not_a_request_of_the_user(projects: Path) -> None:
    """A sub-agent's transcript opens with the brief its agent gave it: imported as a brief
    (not the user's task: no request, no recurring task of the user), told in the digest as the
    agent's brief, as the call that gave it is; so is one an older import stored as a task."""
    transcripts = [parse_transcript(p) for p in find_transcripts(projects)]
    agent = next(t for t in transcripts if t.agent_id == "a1b2c3")
    brief = agent.items[0]
    assert brief.metadata["kind"] == "brief"
    assert brief.content == "Search the repo for other uses of round() on money values."
    assert brief.metadata["brief"] == [brief.content]
    items = [item for t in transcripts for item in t.items]
    assert not any(i.metadata.get("sidechain") and i.metadata["kind"] == "task" for i in items)
    asked = session_digest(items, 2000).sections["asked"]
    assert "The user asked: Search the repo" not in asked
    assert "- The agent's brief to a sub-agent says: Search the repo for other uses" in asked
    older = MemoryItem(brief.id, brief.content, metadata={**brief.metadata, "kind": "task"})
    del older.metadata["brief"]
    again = session_digest([older, *agent.items[1:]], 2000).sections["asked"]
    assert again.startswith("- The agent's brief to a sub-agent says: Search the repo")


def test_forced_session_and_truncation(main_file: Path) -> None:
    transcript = parse_transcript(main_file, session="imported", max_chars=20)
    assert {item.metadata["session"] for item in transcript.items} == {"imported"}
    long = next(item for item in transcript.items if item.id == f"cc:{_u(1)}")
    # cut after a whole word, the cut marked: "... total i" read as a finished text
    assert long.content.startswith("The checkout total\u2026\n[... ")
    assert "more characters]" in long.content


def test_a_compaction_summary_keeps_its_request_whole(tmp_path: Path) -> None:
    """Claude Code's summary is cut like any text, but its request section (often past the
    cut: an analysis comes first) is kept whole in the item's metadata, for the digest."""
    text = (
        "This session is being continued from a previous conversation.\n\nAnalysis:\n"
        + "word " * 40
        + "\n\nSummary:\n1. Primary Request and Intent:\n   The user asked to rename "
        "`plugin-typegen` and to add **`insert()`**.\n\n2. Key Technical Concepts:\n   - Bun\n"
    )
    records = [_user(_u(1), None, "2026-01-05T10:00:00.000Z", text, isCompactSummary=True)]
    path = tmp_path / f"{SESSION}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    (summary,) = parse_transcript(path, max_chars=100).items
    assert summary.metadata["kind"] == "summary"
    assert summary.metadata["compaction"] is True
    assert "more characters]" in summary.content
    assert "rename" not in summary.content
    assert summary.metadata["request"] == (
        "The user asked to rename `plugin-typegen` and to add `insert()`."
    )


def test_files_attached_to_a_request_are_part_of_it(tmp_path: Path) -> None:
    """An app's instruction block listing attached files is dropped, but the files it names are
    the request (a plan, a failure log): kept with the user's words, relative to the project."""
    block = (
        "<system_instruction>\nThe user has attached these files. Read them before proceeding.\n"
        f"- {PROJECT}/.context/plan.md\n- /tmp/attachments/ci failure.log\n"
        "</system_instruction>\n\n"
    )
    records = [
        _user(_u(1), None, "2026-01-05T10:00:00.000Z", block + "implement"),
        _user(_u(2), _u(1), "2026-01-05T10:00:01.000Z", block),
    ]
    path = tmp_path / f"{SESSION}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    items = parse_transcript(path).items
    assert [(item.metadata["kind"], item.content) for item in items] == [
        ("task", "implement (attached: `.context/plan.md`, `/tmp/attachments/ci failure.log`)"),
        ("task", "the attached `.context/plan.md`, `/tmp/attachments/ci failure.log`"),
    ]


def test_non_utf8_and_empty_files(tmp_path: Path) -> None:
    path = tmp_path / f"{SESSION}.jsonl"
    path.write_bytes(b'\xff\xfe{"type": "user"}\n\n')
    transcript = parse_transcript(path)
    # (a byte that is no UTF-8 is read as U+FFFD: what is left is no JSON)
    assert [bad.line_no for bad in transcript.malformed] == [1]
    assert transcript.malformed[0].reason.startswith("not JSON")
    empty = tmp_path / "agent-empty.jsonl"
    empty.write_text("")
    parsed = parse_transcript(empty)
    assert parsed.items == []
    assert parsed.records == 0
    assert parsed.session_id == "agent-empty"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Never push to main directly.", "preference"),
        ("I prefer tabs over spaces here", "preference"),
        ("ok, please always use uv.", "preference"),
        ("Fix the bug. From now on, write the test first.", "preference"),
        ("We should never commit secrets.", "preference"),
        ("Add a --verbose flag to the CLI", "task"),
        # "always"/"never" that opens no instruction: a purpose clause, a quoted title, pasted text
        ("can we change the script so we are always using the latest code?", "task"),
        ("regarding: 9. Item.Reason Never Displayed - never shown --- do we log them?", "task"),
        (
            "Missing field causes lost tracking. " + "The struct is missing it and " * 8 + "we "
            "never save it.",
            "task",
        ),
        ("<command-name>/clear</command-name>", "shortcut"),
        # a state the user says is meant: undone by an agent that takes it for a gap
        ("no, we removed the session commands on purpose", "preference"),
        ("The list is empty by design. Leave it.", "preference"),
        ("did you remove the flag on purpose?", "task"),  # (asked: no statement)
        # one of the options the agent offered, picked: this session's choice (a held-out
        # session's "I like a slightly edited option2" was brought back as a preference)
        ("I like a slightly edited option2: Option 2 - With semantic meaning", "task"),
        ("I'd rather go with approach B", "task"),
        ("I like short commit messages", "preference"),
    ],
)
def test_classify_user_text(text: str, kind: str) -> None:
    assert classify_user_text(text)[0] == kind


def test_access_key_shapes() -> None:
    assert access_key("Write", {"file_path": "/a"}) == "file:/a"
    assert access_key("NotebookEdit", {"notebook_path": "/n.ipynb"}) == "file:/n.ipynb"
    assert access_key("Bash", {"command": "ls\n  -la"}) == "cmd:ls -la"
    assert access_key("WebFetch", {"url": "http://x"}) == "tool:WebFetch"
    assert access_key("Read", {}) == "tool:Read"


def test_a_text_cut_for_length_ends_on_a_whole_word_and_says_it_was_cut() -> None:
    from memcore.claude_code.record_parser import _truncate

    text = "The file has both `List*` and `Delete*` functions, which is appropriate here."
    cut = _truncate(text, 60)
    assert cut.startswith("The file has both `List*` and `Delete*` functions, which is\u2026\n")
    kept = cut.split("\n")[0].removesuffix("\u2026")
    assert cut.endswith(f"[... {len(text) - len(kept)} more characters]")
    assert _truncate("x" * 100, 40) == "x" * 40 + "\u2026\n[... 60 more characters]"  # no word
    assert _truncate(text, len(text)) == text
