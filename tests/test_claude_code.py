"""Reading Claude Code transcripts: realistic synthetic files following the published schema."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

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
from memcore.errors import NotFoundError
from memcore.model import Priority

SESSION = "3f2b8c1e-9a47-4d2b-8f1e-2c6a5b9d7e01"
PROJECT = "/home/alice/shop"


def _base(uuid: str, parent: str | None, ts: str, **extra: Any) -> dict[str, Any]:
    record = {
        "parentUuid": parent,
        "isSidechain": False,
        "userType": "external",
        "cwd": PROJECT,
        "sessionId": SESSION,
        "version": "2.1.1",
        "gitBranch": "main",
        "uuid": uuid,
        "timestamp": ts,
    }
    record.update(extra)
    return record


def _user(uuid: str, parent: str | None, ts: str, content: Any, **extra: Any) -> dict[str, Any]:
    return _base(
        uuid, parent, ts, type="user", message={"role": "user", "content": content}, **extra
    )


def _assistant(
    uuid: str,
    parent: str,
    ts: str,
    msg_id: str,
    blocks: list[dict[str, Any]],
    output_tokens: int,
    **extra: Any,
) -> dict[str, Any]:
    message = {
        "model": "claude-sonnet-4-5-20250929",
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": blocks,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "cache_creation_input_tokens": 900,
            "cache_read_input_tokens": 14000,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        },
    }
    return _base(
        uuid, parent, ts, type="assistant", message=message, requestId="req_011abc", **extra
    )


def _u(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def main_session_lines() -> list[str]:
    """A session with most record and block types, unknown types and four malformed lines."""
    records: list[dict[str, Any] | list[str] | str] = [
        {
            "type": "queue-operation",
            "operation": "dequeue",
            "timestamp": "2026-11-20T09:59:59Z",
            "sessionId": SESSION,
        },
        {"type": "summary", "summary": "Fixing the checkout total rounding bug", "leafUuid": _u(9)},
        {
            "type": "file-history-snapshot",
            "messageId": _u(1),
            "isSnapshotUpdate": False,
            "snapshot": {
                "messageId": _u(1),
                "trackedFileBackups": {},
                "timestamp": "2026-11-20T10:00:00Z",
            },
        },
        _user(
            _u(1),
            None,
            "2026-11-20T10:00:00.000Z",
            "The checkout total is off by a cent for some carts; find out why and fix it.",
        ),
        _user(
            _u(2),
            _u(1),
            "2026-11-20T10:00:05.000Z",
            "Always run the tests with `pytest -q` before you say something is done.",
        ),
        _assistant(
            _u(3),
            _u(2),
            "2026-11-20T10:00:09.000Z",
            "msg_01A",
            [
                {
                    "type": "thinking",
                    "thinking": "Totals are computed in cart.py; read it first.",
                    "signature": "c2ln",
                }
            ],
            40,
        ),
        _assistant(
            _u(4),
            _u(3),
            "2026-11-20T10:00:10.000Z",
            "msg_01A",
            [{"type": "text", "text": "I'll start by reading the cart module."}],
            40,
        ),
        _assistant(
            _u(5),
            _u(4),
            "2026-11-20T10:00:11.000Z",
            "msg_01A",
            [
                {
                    "type": "tool_use",
                    "id": "toolu_01Read",
                    "name": "Read",
                    "input": {"file_path": "/home/alice/shop/cart.py"},
                }
            ],
            40,
        ),
        _user(
            _u(6),
            _u(5),
            "2026-11-20T10:00:12.000Z",
            [
                {
                    "tool_use_id": "toolu_01Read",
                    "type": "tool_result",
                    "content": "     1→def total(items):\n     2→    return round(sum(items), 2)\n",
                }
            ],
            toolUseResult={"type": "text", "file": {"filePath": "/home/alice/shop/cart.py"}},
        ),
        "{this line is not json",
        _assistant(
            _u(7),
            _u(6),
            "2026-11-20T10:00:20.000Z",
            "msg_01B",
            [
                {
                    "type": "tool_use",
                    "id": "toolu_01Grep",
                    "name": "Grep",
                    "input": {"pattern": "round\\(", "path": "/home/alice/shop"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_01Edit",
                    "name": "Edit",
                    "input": {
                        "file_path": "/home/alice/shop/cart.py",
                        "old_string": "round(",
                        "new_string": "quantize(",
                    },
                },
            ],
            120,
        ),
        _user(
            _u(8),
            _u(7),
            "2026-11-20T10:00:25.000Z",
            [
                {
                    "tool_use_id": "toolu_01Grep",
                    "type": "tool_result",
                    "content": [{"type": "text", "text": "cart.py:2: return round(sum(items), 2)"}],
                },
                {
                    "tool_use_id": "toolu_01Edit",
                    "type": "tool_result",
                    "content": "The file /home/alice/shop/cart.py has been updated.",
                },
            ],
        ),
        ["a", "json", "array"],
        _assistant(
            _u(9),
            _u(8),
            "2026-11-20T10:01:00.000Z",
            "msg_01C",
            [
                {
                    "type": "tool_use",
                    "id": "toolu_01Bash",
                    "name": "Bash",
                    "input": {
                        "command": "pytest   -q tests/test_cart.py",
                        "description": "run tests",
                    },
                }
            ],
            30,
        ),
        _user(
            _u(10),
            _u(9),
            "2026-11-20T10:01:30.000Z",
            [
                {
                    "tool_use_id": "toolu_01Bash",
                    "type": "tool_result",
                    "is_error": True,
                    "content": "FAILED tests/test_cart.py::test_total - assert 10.01 == 10.0",
                }
            ],
        ),
        _base(
            _u(11),
            _u(10),
            "2026-11-20T10:01:31.000Z",
            type="system",
            subtype="api_error",
            level="error",
            content="API Error: 529 overloaded",
        ),
        _base(
            _u(12),
            _u(11),
            "2026-11-20T10:01:32.000Z",
            type="system",
            subtype="turn_duration",
            durationMs=81000,
        ),
        {
            "type": "progress",
            "data": {"type": "hook_progress"},
            "sessionId": SESSION,
            "timestamp": "2026-11-20T10:01:33.000Z",
        },
        _user(_u(13), _u(12), "not a timestamp", "this record has a broken timestamp"),
        _base(_u(14), _u(13), "2026-11-20T10:01:40.000Z", type="user"),  # no message
        _user(
            _u(15),
            _u(12),
            "2026-11-20T10:02:00.000Z",
            "<command-name>/commit</command-name>\n<command-message>commit</command-message>\n"
            "<command-args>-m 'fix rounding'</command-args>",
        ),
        _user(
            _u(16),
            _u(15),
            "2026-11-20T10:02:01.000Z",
            "Caveat: the messages below were generated by the user running local commands.",
            isMeta=True,
        ),
        _assistant(
            _u(17),
            _u(16),
            "2026-11-20T10:02:10.000Z",
            "msg_01D",
            [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                },
                {"type": "text", "text": "Committed the fix; totals now use Decimal quantize."},
            ],
            25,
        ),
    ]
    records.append(
        _assistant(
            _u(18),
            _u(17),
            "2026-11-20T10:02:20.000Z",
            "msg_01E",
            [{"type": "text", "text": "API Error: Request rejected (429) - rate limited"}],
            0,
            isApiErrorMessage=True,
            error="rate_limit",
        )
    )
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    lines.insert(12, "")  # blank lines are not records and not errors
    return lines


def subagent_lines(agent_id: str, base: int) -> list[str]:
    first = _user(
        _u(base),
        None,
        "2026-11-20T10:00:30.000Z",
        "Search the repo for other uses of round() on money values.",
        isSidechain=True,
        agentId=agent_id,
    )
    second = _assistant(
        _u(base + 1),
        _u(base),
        "2026-11-20T10:00:35.000Z",
        "msg_02A",
        [
            {
                "type": "tool_use",
                "id": "toolu_02Glob",
                "name": "Glob",
                "input": {"pattern": "**/*.py"},
            },
            {
                "type": "tool_use",
                "id": "toolu_02Mcp",
                "name": "mcp__github__search_code",
                "input": {"q": "round"},
            },
        ],
        60,
        isSidechain=True,
        agentId=agent_id,
    )
    return [json.dumps(first), json.dumps(second)]


def write_claude_home(root: Path) -> Path:
    """A ``~/.claude``-shaped tree: one project, a main session, two sub-agents, and noise."""
    project = root / "projects" / project_dir_name(PROJECT)
    project.mkdir(parents=True)
    (project / f"{SESSION}.jsonl").write_text("\n".join(main_session_lines()) + "\n")
    subagents = project / SESSION / "subagents"
    subagents.mkdir(parents=True)
    (subagents / "agent-a1b2c3.jsonl").write_text("\n".join(subagent_lines("a1b2c3", 100)) + "\n")
    (subagents / "agent-a1b2c3.meta.json").write_text('{"agentType": "Explore"}')
    (project / "agent-7f7f7f7f.jsonl").write_text("\n".join(subagent_lines("7f7f7f7f", 200)) + "\n")
    (project / "sessions-index.json").write_text('{"version": 1, "entries": []}')
    workflow = subagents / "workflows" / "wf_1"
    workflow.mkdir(parents=True)
    (workflow / "journal.jsonl").write_text('{"not": "a session"}\n')
    return root / "projects"


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


def test_unknown_types_and_blocks_are_skipped_and_counted(main_file: Path) -> None:
    transcript = parse_transcript(main_file)
    assert transcript.skipped_types["queue-operation"] == 1
    assert transcript.skipped_types["file-history-snapshot"] == 1
    assert transcript.skipped_types["progress"] == 1
    assert transcript.skipped_types["system:turn_duration"] == 1
    assert transcript.skipped_types["block:image"] == 1
    assert transcript.skipped_types["scaffolding:local-command-caveat"] == 1
    assert transcript.session_id == SESSION


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


def test_summary_takes_its_leaf_timestamp(main_file: Path) -> None:
    items = {item.id: item for item in parse_transcript(main_file).items}
    summary = items[f"cc:summary:{_u(9)}"]
    assert summary.metadata["kind"] == "summary"
    assert summary.content == "Fixing the checkout total rounding bug"
    assert summary.created_at == datetime(2026, 11, 20, 10, 1, tzinfo=timezone.utc)


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


def test_forced_session_and_truncation(main_file: Path) -> None:
    transcript = parse_transcript(main_file, session="imported", max_chars=20)
    assert {item.metadata["session"] for item in transcript.items} == {"imported"}
    long = next(item for item in transcript.items if item.id == f"cc:{_u(1)}")
    assert long.content.startswith("The checkout total i")
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
    assert [(bad.line_no, bad.reason) for bad in transcript.malformed] == [(1, "not UTF-8")]
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
