"""Realistic synthetic Claude Code transcripts, following the published schema: a main session
with every record and block type the importer handles (and some it must skip), a sub-agent's
file, and a ``~/.claude/projects`` folder holding them. Shared by the importer's, the command
line's and the digest's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memcore.claude_code import project_dir_name

#: The development transcripts (real sessions, read-only), beside the repository.
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"

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


def short_session_lines(
    session: str | None, cwd: str | None = "/home/dev/projects/shop", tag: str = ""
) -> str:
    """A short session's JSON lines: a request and the agent's answer (``sessionId`` and
    ``cwd`` left out when None; ``tag`` makes the texts of several sessions differ)."""
    lines = []
    said = [
        ("user", f"Please fix the rounding bug in prices.py{tag}."),
        ("assistant", f"I fixed the rounding bug in prices.py{tag}: totals use Decimal now."),
    ]
    for n, (kind, text) in enumerate(said):
        record: dict[str, Any] = {
            "type": kind,
            "uuid": f"u-{tag or 'x'}-{n}",
            "timestamp": f"2025-03-01T10:00:0{n}Z",
            "message": {
                "role": kind,
                "content": text if kind == "user" else [{"type": "text", "text": text}],
            },
        }
        if session is not None:
            record["sessionId"] = session
        if cwd is not None:
            record["cwd"] = cwd
        lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"
