"""Background tasks in a transcript: a command run in the background is described by its outcome
when ``TaskOutput`` reads it, as a command's result (not a sub-agent's report), and a look at a
task still running says only that it runs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from memcore import session_digest
from memcore.claude_code.background import read_task_output, started_task
from tests.test_transcript_agent_records import _Records

COMMAND = "mix test test/shop/cart_test.exs 2>&1"
STARTED = (
    "Command running in background with ID: bd0afab. Output is being written to: "
    "/tmp/claude-1000/tasks/bd0afab.output"
)


def _envelope(task_type: str, status: str, output: str, code: int | None = None) -> str:
    exit_code = "" if code is None else f"<exit_code>{code}</exit_code>\n\n"
    return (
        "<retrieval_status>success</retrieval_status>\n\n<task_id>bd0afab</task_id>\n\n"
        f"<task_type>{task_type}</task_type>\n\n<status>{status}</status>\n\n{exit_code}"
        f"<output>\n{output}\n</output>"
    )


def _session(*outputs: str) -> _Records:
    records = _Records()
    records.user("run the cart tests")
    records.tool("Bash", {"command": COMMAND, "run_in_background": True}, STARTED)
    for output in outputs:
        records.tool("TaskOutput", {"task_id": "bd0afab", "block": True}, output)
    return records


def test_a_command_started_in_the_background_has_not_succeeded_yet() -> None:
    items = _session().items()
    started = [i for i in items if i.metadata.get("kind") == "tool_result"]
    assert [i.content for i in started] == [f"`{COMMAND}` started in the background"]


def test_a_digest_says_a_command_only_started_was_started_not_that_it_succeeded() -> None:
    core = "mix test test/shop/cart_test.exs"  # the command without its redirection
    commands = session_digest(_session().items(), 2000).sections["commands"]
    assert commands == f"- `{core}` was started in the background."  # nothing said twice
    finished = _session(_envelope("local_bash", "completed", "43 tests, 0 failures", code=0))
    commands = session_digest(finished.items(), 2000).sections["commands"]
    assert f"`{core}` ran once and succeeded: 43 tests, 0 failures." in commands
    assert "started in the background" not in commands


def test_a_failed_background_command_is_an_error_of_that_command() -> None:
    warning = (
        "     warning: single-quoted strings are deprecated\n 264 \u2502   defp handle(a) do\n"
        "  1) test totals round (Shop.CartTest)\n     Assertion with == failed"
    )
    items = _session(
        _envelope("local_bash", "running", "Compiling 3 files"),
        _envelope("local_bash", "failed", warning, code=2),
    ).items()
    results = [i for i in items if i.metadata.get("tool") in ("Bash", "TaskOutput")]
    _, running, failed = (i for i in results if i.metadata.get("kind") != "tool_call")
    assert running.content == f"`{COMMAND}` was still running in the background"
    assert not running.metadata.get("report")
    assert failed.metadata["kind"] == "error"
    assert failed.metadata["tool"] == "Bash"
    assert failed.metadata["background"] is True
    assert failed.content.startswith(f"`{COMMAND}` failed (exit 2): ")
    assert "Assertion with == failed" in failed.content
    digest = session_digest(items, 400)
    assert "mix test test/shop/cart_test.exs" in digest.sections["errors"]
    assert "264 \u2502" not in digest.sections.get("decisions", "")


def test_a_background_command_that_passed_is_a_command_outcome() -> None:
    items = _session(_envelope("local_bash", "completed", "43 tests, 0 failures", code=0)).items()
    done = [i for i in items if i.metadata.get("background")]
    assert len(done) == 1
    assert done[0].metadata["kind"] == "tool_result"
    assert done[0].content == f"`{COMMAND}` succeeded (exit 0): 43 tests, 0 failures"


def test_a_sub_agents_report_loses_its_envelope_and_a_running_one_is_no_report() -> None:
    report = "The bug was a map iterated in random order in `merge()`."
    records = _Records()
    records.user("review the merge code")
    records.tool(
        "TaskOutput", {"task_id": "a1"}, _envelope("local_agent", "running", "[Tool: Read]")
    )
    records.tool("TaskOutput", {"task_id": "a1"}, _envelope("local_agent", "completed", report))
    records.tool("TaskOutput", {"task_id": "a2"}, "All 12 checks pass in `lint.py`.")  # no envelope
    results = [i for i in records.items() if i.metadata.get("kind") == "tool_result"]
    running, done, plain = results
    assert running.content == "Sub-agent task `bd0afab` was still running"
    assert not running.metadata.get("report")
    assert done.content == report
    assert done.metadata["report"] is True
    assert plain.content == "All 12 checks pass in `lint.py`."
    assert plain.metadata["report"] is True


@given(st.text(max_size=300))
def test_any_text_reads_as_an_envelope_or_none_without_raising(text: str) -> None:
    task = read_task_output(text)
    assert task is None or isinstance(task.status, str)
    started = started_task(text)
    assert started is None or started in text


def test_a_json_answer_is_no_outcome_of_a_command() -> None:
    records = _Records()
    records.user("what do the reviewers say?")
    answer = '{"comments":[{"id":"IC_1","body":"Please rename it"}]}'
    records.tool("Bash", {"command": "gh pr view --json comments"}, answer)
    result = next(i for i in records.items() if i.metadata.get("kind") == "tool_result")
    assert result.content == "`gh pr view --json comments` succeeded (exit 0)"


# --- older versions: BashOutput ------------------------------------------------------------------

OLD_STARTED = "Command running in background with ID: bash_1"


def _older_session(*results: tuple[str, dict[str, object] | None]) -> _Records:
    """A background command read with ``BashOutput`` (Claude Code 1.x-2.0): its result's text,
    or (newer 2.0 builds) a structured result."""
    records = _Records()
    records.user("run the cart tests")
    records.tool("Bash", {"command": COMMAND, "run_in_background": True}, OLD_STARTED)
    for text, structured in results:
        extra = {} if structured is None else {"toolUseResult": structured}
        records.tool("BashOutput", {"bash_id": "bash_1"}, text, **extra)
    return records


def test_a_background_shell_read_with_bash_output_is_its_command_s_result() -> None:
    records = _older_session(
        ("<status>running</status>\n\n<stdout>\nCompiling 3 files\n</stdout>", None),
        (
            "<status>completed</status>\n\n<exit_code>0</exit_code>\n\n<stdout>\n"
            "43 tests, 0 failures\n</stdout>\n\n<timestamp>2025-10-01T10:00:00Z</timestamp>",
            None,
        ),
    )
    results = [i for i in records.items() if i.metadata.get("kind") == "tool_result"]
    assert results[1].content == f"`{COMMAND}` was still running in the background"
    assert results[2].metadata["command"] == COMMAND
    commands = session_digest(records.items(), 2000).sections["commands"]
    core = "mix test test/shop/cart_test.exs"
    assert f"`{core}` ran once and succeeded: 43 tests, 0 failures." in commands


def test_a_failed_background_shell_from_a_structured_result_is_an_error_of_its_command() -> None:
    structured = {
        "shellId": "bash_1",
        "command": COMMAND,
        "status": "failed",
        "exitCode": 2,
        "stdout": "",
        "stderr": "** (CompileError) lib/shop/cart.ex:12: undefined function round_cents/1",
    }
    records = _older_session(("Shell bash_1 failed", structured))
    (error,) = [i for i in records.items() if i.metadata.get("kind") == "error"]
    assert error.metadata["command"] == COMMAND
    assert "undefined function round_cents/1" in error.content


def test_a_bash_output_result_without_a_status_is_a_plain_result() -> None:
    records = _older_session(("no such shell", None))
    (result,) = [
        i
        for i in records.items()
        if i.metadata.get("tool") == "BashOutput" and i.metadata.get("kind") == "tool_result"
    ]
    assert result.content == "BashOutput done: no such shell"
