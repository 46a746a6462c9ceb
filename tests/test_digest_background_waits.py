"""Following a background task through its output file (``Read`` of it, ``sleep 5 && tail -3``
of it) is Claude Code's plumbing: no file of the project and no command of the work. A wait
before a command is no part of it."""

from __future__ import annotations

from memcore import session_digest
from memcore.claude_code.background import follows_task, is_task_output
from memcore.claude_code.commands import normalize_command
from tests.test_transcript_agent_records import _Records

_TASK = "/private/tmp/claude-501/-Users-me-shop/tasks/b3f0ac0.output"


def test_a_task_s_output_file_is_claude_code_s() -> None:
    assert is_task_output(_TASK)
    assert is_task_output("/tmp/claude-1000/-home-bob-shop/tasks/a1b2.output")
    assert not is_task_output("/home/bob/shop/tasks/b1.output")
    assert follows_task(f"sleep 5 && tail -5 {_TASK}")
    assert follows_task(f'sleep 6 && echo "=== API ===" && tail -3 {_TASK}')
    assert not follows_task(f"rm {_TASK}")  # (no look: a change)
    assert not follows_task("tail -5 /home/bob/shop/server.log")


def test_a_wait_before_a_command_is_no_part_of_it() -> None:
    assert normalize_command("sleep 3 && curl -s http://127.0.0.1:4040/api") == (
        "curl -s http://127.0.0.1:4040/api"
    )
    assert normalize_command("cd /a && sleep 2; make test") == "make test"
    assert normalize_command("sleep 10") == "sleep 10"  # (a wait alone is what it runs)


def test_following_a_background_task_is_neither_a_file_nor_a_command() -> None:
    records = _Records()
    records.user("start the dev server")
    records.ran("pnpm dev", "Command running in background with ID: b3f0ac0")
    records.ran(f"sleep 5 && tail -5 {_TASK}", "ready on http://localhost:5173")
    records.tool("Read", {"file_path": _TASK}, "1\u2192ready on http://localhost:5173")
    records.ran("sleep 3 && curl -s http://localhost:5173/health", "ok")
    digest = session_digest(records.items(), 2000)
    assert "tasks/b3f0ac0.output" not in digest.text, digest.text
    assert "`curl -s http://localhost:5173/health` ran once and succeeded" in digest.text
