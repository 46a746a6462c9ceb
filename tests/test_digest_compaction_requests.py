"""What a compacted session asked and left open: the summary's request, its items, pending tasks."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from memcore import MemoryItem, session_digest
from memcore.claude_code import parse_lines
from memcore.claude_code.compaction import summary_request, summary_statements
from tests.claude_code_support import DATA
from tests.digest_support import T0, _agent, _compacted, needs_data
from tests.test_transcript_agent_records import _Records

_CLAUDE_SUMMARY = """This session is being continued from a previous conversation that ran out \
of context. The summary below covers the earlier portion of the conversation.

Analysis:
Let me chronologically analyze the conversation.

Summary:
1. Primary Request and Intent:
   The user attached a plan file (`.context/plan.md`) and said "implement". The plan has two parts:
   - **Part 1**: Rename `plugin-typegen` to `plugin-codegen`
   - **Part 2**: Add an `insert` method to `ClickHouseExecutor`

2. Key Technical Concepts:
   - Monorepo with workspace packages (`@chkit/core`, `@chkit/cli`)

3. Files and Code Sections:
   - `packages/clickhouse/src/index.ts`: added `insert<T>()` to the executor.

6. All user messages:
   - "implement `the_quoted_request()`"

7. Pending Tasks:
   - Update `README.md` for the rename.
"""


def test_a_compaction_summary_tells_what_was_asked_and_its_statements() -> None:
    """Its request section is a request (the requests themselves are gone from what followed);
    the user's messages quoted again are no statements of the work."""
    summary = MemoryItem(
        "sum",
        _CLAUDE_SUMMARY,
        metadata={"source": "claude-code", "kind": "summary", "compaction": True},
        created_at=T0,
    )
    since = _agent(5, "All 17 tests pass after `renderIngestFunction()`.", kind="fact")
    digest = session_digest([summary, since], 600)
    asked = digest.sections["asked"]
    assert asked.startswith("- Before the compaction (Claude's summary): The user attached")
    # no bold marks, and its list items as clauses of the line (no dashes inside a bullet)
    assert "Part 1: Rename `plugin-typegen` to `plugin-codegen`; Part 2: Add" in asked
    assert " - Part" not in asked
    decisions = digest.sections["decisions"]
    assert "`insert<T>()`" in decisions
    assert "renderIngestFunction" in decisions
    # what was left to do is open, not a result (its "Pending Tasks")
    assert "`README.md`" not in decisions
    assert (
        "- Pending at the compaction (Claude's summary): Update `README.md` for the rename."
        in digest.sections["open"]
    )
    for listed in ("the_quoted_request", "plugin-typegen"):
        assert listed not in decisions
    assert summary_request("no sections here") == []
    assert "Monorepo" in summary_statements(_CLAUDE_SUMMARY)
    assert "the_quoted_request" not in summary_statements(_CLAUDE_SUMMARY)
    assert "Let me chronologically" in summary_statements(_CLAUDE_SUMMARY)


def _said_also(asked: list[str]) -> list[str]:
    """The statements of requests past their first line: indented under the request's line
    ("  - X"), or alone, saying whose they are ("- The user asked, in a longer request: X")."""
    also = []
    for line in asked:
        if line.startswith("- The user asked, in a longer request: "):
            also.append(line.removeprefix("- The user asked, in a longer request: "))
        elif line.startswith("  - "):
            also.append(line.removeprefix("  - "))
    return also


def test_a_request_s_further_statements_are_indented_under_it_or_say_whose_they_are() -> None:
    """Under the request's line its further statements are its sub-items; a statement whose
    request line was left out names whose it is."""
    request = "Plan: " + "context words " * 100 + "\n\n- Also fix `merge()` in `sync.py` today\n"
    task = MemoryItem("t", request, metadata={"kind": "task"}, created_at=T0)
    done = MemoryItem(
        "d",
        "Fixed `merge()`.",
        metadata={"source": "claude-code", "role": "assistant", "kind": "fact"},
        created_at=T0 + timedelta(minutes=1),
    )
    asked = session_digest([task, done], 2000).sections["asked"].splitlines()
    assert asked[0].startswith("- The user asked: Plan: context words")
    assert asked[1] == "  - Also fix `merge()` in `sync.py` today"
    # a budget with room for the further statement and not for the request's long line: it is
    # said alone, saying whose it is
    short = session_digest([task, done], 40).sections.get("asked", "").splitlines()
    assert short == ["- The user asked, in a longer request: Also fix `merge()` in `sync.py` today"]


def test_a_long_request_goes_on_by_its_items_not_from_the_middle_of_one() -> None:
    """Past the first line's 40 words, a request's list items that name something are lines of
    their own, each from its start: not the rest of the item the cut fell in ("build to always
    test latest code - Script should ..."), nor several items run together."""
    request = (
        "1. Primary Request and Intent:\n"
        "   - Create an end-to-end test script that tests attribution with real Claude Code "
        "calls in a fresh repository\n"
        "   - The script should create a repo, run prompts, simulate user edits, commit, and "
        "verify the attribution metadata\n"
        "   - Script should use `go run` or a fresh build to always test the latest code\n"
        "   - Script should inspect metadata on the `entire/sessions` branch\n"
        "   - Fix line number counting in `attribution.go` too\n"
        "2. Key Technical Concepts:\n   - Go\n"
    )
    summary = MemoryItem(
        "sum",
        request,
        metadata={"source": "claude-code", "kind": "summary", "compaction": True},
        created_at=T0,
    )
    asked = session_digest([summary], 2000).sections["asked"].splitlines()
    also = _said_also(asked)
    assert also == [
        "Script should inspect metadata on the `entire/sessions` branch",
        "Fix line number counting in `attribution.go` too",
    ]


def test_a_long_requests_paragraphs_are_statements_of_their_own() -> None:
    """A blank line ends a statement, however its last line ends: a list item is not glued to
    the heading after it ("default `flash` Helper functions:"), a lead-in whose list went
    to lines of its own ends with a full stop, a heading paragraph is said with the statement
    after it, and the lines of a program pasted in are no statements."""
    context = "The reviews run one command line tool with one model today. " * 20
    request = (
        f"Implement the following plan. {context}\n\n"  # (past the request's first line)
        "Registry is a package-level `var wingmanAgents` with two entries:\n"
        "- `claude-code` → binary `claude`, default `sonnet`\n"
        "- `gemini-cli` → binary `gemini`, default `flash`\n\n"
        "Helper functions:\n"
        "- `getWingmanAgentDef(name)` returns the agent's definition\n\n"
        "**File: `cmd/root.go`**\n\n"  # a heading: said with the statement after it
        "Register `newWingmanCmd()` with the others.\n\n"
        "def main():\n    print(`x`)\n"  # a pasted program: no statement
    )
    task = MemoryItem("t", request, metadata={"kind": "task"}, created_at=T0)
    done = MemoryItem(  # (answered: a request alone is the session's open end)
        "d",
        "Added the `wingmanAgents` registry in `wingman_agents.go`.",
        metadata={"source": "claude-code", "role": "assistant", "kind": "fact"},
        created_at=T0 + timedelta(minutes=1),
    )
    asked = session_digest([task, done], 2000).sections["asked"].splitlines()
    also = _said_also(asked)
    assert also == [
        "Registry is a package-level `var wingmanAgents` with two entries.",
        "`claude-code` → binary `claude`, default `sonnet`",
        "`gemini-cli` → binary `gemini`, default `flash`",
        "`getWingmanAgentDef(name)` returns the agent's definition",
        "File: `cmd/root.go`: Register `newWingmanCmd()` with the others.",
    ]


def test_a_summary_with_markdown_headings_is_read_by_its_sections_too() -> None:
    """A summary whose sections are markdown headings ("## 1. Primary Request and Intent", no
    colon) gives its request and leaves it out of the statements, as the numbered form does; a
    numbered list item without a colon is no heading."""
    summary = (
        "Analysis here.\n"
        "## 1. Primary Request and Intent\n"
        "The user asked to rename `typegen` to `codegen`.\n"
        "### 2. Key Technical Concepts:\n"
        "- Bun workspaces\n"
        "1. Ran the tests\n"
    )
    asked = "The user asked to rename `typegen` to `codegen`."
    assert summary_request(summary) == asked.split()
    kept = summary_statements(summary)
    assert "rename" not in kept
    assert "Bun workspaces" in kept
    assert "1. Ran the tests" in kept


@needs_data
def test_the_latest_request_not_answered_yet_is_said_whatever_its_length(tmp_path: Path) -> None:
    """A real session cut where the user has just asked for something long ("no revert those
    changes, ... make an initial commit ..."): its handover says so at every size that has
    room for the line's start, though shorter lines are worth more per token."""
    from memcore.claude_code import parse_transcript
    from memcore.digest import session_digests

    lines = (DATA / "entireio__cli__0276a600.jsonl").read_bytes().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:701]))
    items = parse_transcript(cut).items
    for digest in session_digests(items, (300, 500, 900, 2000)):
        assert "The latest request is not answered yet: no revert those changes" in digest.text


@pytest.mark.parametrize("standard", [True, False])
def test_a_summary_with_no_request_section_leaves_the_request_to_the_items_before_it(
    standard: bool,
) -> None:
    """Claude Code's summary says what was asked in its "Primary Request and Intent" section,
    and the requests before it are held back but the last, which the work the summary was cut
    in was for; a summary without that section (another shape) leaves them as the only
    account of what was asked: said, the last one as asked, not open."""
    records = _Records()
    records.user("make the cart round half up and keep the tax as it is")
    records.said("Looking at the cart first.")
    body = (
        "Summary:\n1. Primary Request and Intent:\n   Round the cart's total half up.\n\n"
        "2. Key Technical Concepts:\n- rounding"
        if standard
        else "We changed how the cart rounds its total; the tests were being run."
    )
    _compacted(records, body)
    records.said("The cart now rounds half up in `total()`; all 4 tests pass.")
    for budget in (60, 2000):
        asked = session_digest(records.items(), budget).sections.get("asked", "")
        if standard:  # (the last request before it competes from the start)
            assert "Round the cart's total half up" in asked, asked
            assert "- The user asked: make the cart round half up and keep the tax" in asked
        else:
            assert asked.startswith("- The user asked: make the cart round half up"), asked
    still = session_digest(records.items(), 2000).sections.get("open", "")
    assert "keep the tax" not in still


def test_a_request_before_an_older_compaction_is_said_as_asked_when_there_is_room() -> None:
    """The last request of the items before an older compaction was answered, if at all, in
    the items after it: said as asked (as when the items before the last summary were one
    part), not dropped as a request still open."""
    records = _Records()
    records.user("make the cart round half up")
    records.said("Fixed: all 10 tests pass after `old_total()` in `cart.py` rounds half up.")
    records.user("now round `tax()` in `tax.py` the same way")
    _compacted(records, "Summary:\n1. Primary Request and Intent:\n   Round the cart.\n")
    records.said("Fixed: `tax()` in `tax.py` rounds half up; all 12 tests pass.")
    _compacted(records, "Summary:\n1. Primary Request and Intent:\n   Round the tax.\n")
    records.said("All 12 tests pass after `fix_total()` in `cart.py`.")
    asked = session_digest(records.items(), 2000).sections["asked"]
    assert "- The user asked: now round `tax()` in `tax.py` the same way" in asked, asked


def test_a_summary_request_kept_on_one_line_goes_on_by_its_items() -> None:
    """The importer keeps a summary's request on one line, its items joined by " - ": past the
    line's words, each item is a statement of its own, those naming something exact (cut
    from the middle of the list before) and, when there is room, the plain ones as spare lines."""
    from memcore.digest_asked import summary_request_lines

    request = (
        "- Continue debugging ENT-112 checkpoint ID reuse bugs, specifically Problem 2: "
        "Claude commits mid-session before Stop - Make the solution agent-agnostic (support "
        "both Claude Code and Gemini CLI) - Implement transcript checking in PrepareCommitMsg "
        "to detect agent work when no shadow branch exists - Add a test for the empty "
        "`BaseCommit` recovery scenario - Write integration tests for mid-session commits"
    )
    summary = MemoryItem(
        "sum",
        "Summary: 1. Primary Request and Intent: see above.",
        metadata={"source": "claude-code", "kind": "summary", "compaction": True,
                  "request": request},
        created_at=T0,
    )  # fmt: skip
    rest = {c.text: c for c in summary_request_lines(summary, 0)[1:]}
    named = rest["  - Add a test for the empty `BaseCommit` recovery scenario"]
    plain = rest["  - Write integration tests for mid-session commits"]
    assert not named.spare
    assert plain.spare
    since = _agent(5, "All 17 tests pass after `renderIngestFunction()`.", kind="fact")
    asked = session_digest([summary, since], 2000).sections["asked"]
    assert "Add a test for the empty `BaseCommit` recovery scenario" in asked
    assert "Write integration tests for mid-session commits" in asked


def test_what_a_compaction_left_to_do_is_open_until_a_task_list_says_otherwise() -> None:
    """The summary's pending tasks and next step, kept by the importer past the cut of its
    long text, are said under "Still open" as of the compaction; a task list the agent kept
    since says what is open now instead."""
    pending = "\n".join(f"   - Port `handler{n}()` to the new API" for n in range(3))
    text = (
        "This session is being continued from a previous conversation.\n\nSummary:\n"
        "1. Primary Request and Intent:\n   Port the handlers.\n"
        f"2. Key Technical Concepts:\n   {'- padding words here ' * 400}\n"
        f"7. Pending Tasks:\n{pending}\n"
        "9. Optional Next Step:\n   Port `handler0()` first, then run `go test ./...`.\n"
    )
    items = _summary_items(text)
    assert len(items[0].content) < len(text)  # (the item's text was cut before its end)
    opened = session_digest(items, 800).sections["open"].splitlines()
    assert opened[0] == (
        "- Pending at the compaction (Claude's summary): Port `handler0()` to the new API"
    )
    assert "- Also pending then: Port `handler2()` to the new API" in opened
    assert (
        "- Next step at the compaction (Claude's summary): Port `handler0()` first, then run "
        "`go test ./...`." in opened
    )
    todo = MemoryItem(
        "todo",
        "Todo list: [pending] Port the last handler",
        metadata={
            "source": "claude-code",
            "kind": "tool_call",
            "tool": "TodoWrite",
            "todos": [["pending", "Port the last handler"]],
        },
        created_at=items[0].created_at + timedelta(minutes=5),
    )
    later = session_digest([*items, todo], 800).sections["open"]
    assert "Pending at the compaction" not in later
    assert "- Still pending: Port the last handler" in later


def test_nothing_left_to_do_or_a_kept_list_of_the_wrong_shape_says_nothing_open() -> None:
    """ "None explicitly requested", "All tasks completed": nothing pending. A stored item's
    ``pending`` of the wrong shape (a store is anyone's) is not said; the summary's own text is
    read instead."""
    from memcore.claude_code.compaction import summary_pending

    text = (
        "Summary:\n1. Primary Request and Intent:\n   Round the cart.\n"
        "7. Pending Tasks:\n   - None explicitly requested\n   - All tasks completed\n"
        "9. Optional Next Step:\n   No next step - the task is complete.\n"
    )
    assert summary_pending(text) == []
    meta = {"source": "claude-code", "kind": "summary", "compaction": True}
    for kept in (
        [["pending tasks", "", 0]],
        [[1, 2, 3]],
        [["elsewhere", "Port `f()`", 0]],
        "Port `f()`",
        [["pending tasks", "Port `f()`"]],
    ):
        item = MemoryItem("sum", text, metadata={**meta, "pending": kept}, created_at=T0)
        assert "open" not in session_digest([item], 600).sections, kept
    pending = "Summary:\n7. Pending Tasks:\n   - Port `total()` to the new API\n"
    item = MemoryItem("sum", pending, metadata={**meta, "pending": [[1, 2, 3]]}, created_at=T0)
    assert "Port `total()` to the new API" in session_digest([item], 600).sections["open"]


def test_a_numbered_item_inside_a_section_is_no_section_of_its_own() -> None:
    """ "   5. All hook handlers: dispatch ..." indented in the request's section is an item of
    it: the request goes on past it, to the next section's heading at a line's start."""
    text = (
        "Summary:\n1. Primary Request and Intent:\n   Wire the phases:\n"
        "   1. Session start: call `Transition()`\n   2. All hook handlers: dispatch actions\n"
        "   Write tests first.\n"
        "2. Key Technical Concepts:\n   - phases\n"
    )
    words = " ".join(summary_request(text))
    assert words.endswith("All hook handlers: dispatch actions Write tests first.")
    assert "- phases" not in words
    assert "Concepts" not in words


def test_a_pending_task_an_edit_since_took_up_is_not_said_open_the_others_with_the_work() -> None:
    """Claude Code's summary left two tasks; after it, an edit changed the function the first
    names: that one was taken up (the edit's own lines say so), and the other is said as
    pending then, with the work since (it may be done now), not as plainly open."""
    text = (
        "This session is being continued from a previous conversation.\n\nSummary:\n"
        "1. Primary Request and Intent:\n   Fix the session checks.\n"
        "7. Pending Tasks:\n   - Surface errors from `checkSessions` to the user\n"
        '   - Add a "Last Prompt: " prefix to the prompt display\n'
    )
    items = _summary_items(text)
    before = session_digest(items, 800).sections["open"]
    assert "- Pending at the compaction (Claude's summary): Surface errors from" in before
    edit = MemoryItem(
        "edit",
        "Edit `handlers.go` in `checkSessions()`, changing `outputErr`",
        metadata={
            "source": "claude-code",
            "kind": "tool_call",
            "tool": "Edit",
            "file_path": "/w/handlers.go",
            "names": ["outputErr"],
            "enclosing": "checkSessions()",
        },
        created_at=items[0].created_at + timedelta(minutes=1),
    )
    after = session_digest([*items, edit], 800).sections["open"]
    assert "Surface errors" not in after
    assert (
        '- Pending at the compaction (Claude\'s summary): Add a "Last Prompt: " prefix to the '
        "prompt display (worked on since: 1 tool call)" in after
    )


def _summary_items(text: str) -> list[MemoryItem]:
    """The items of a transcript holding only Claude Code's compaction summary ``text``."""
    record = {
        "type": "user",
        "uuid": "00000000-0000-4000-8000-000000000001",
        "parentUuid": None,
        "sessionId": "s",
        "cwd": "/w",
        "isCompactSummary": True,
        "timestamp": "2026-01-01T00:00:00Z",
        "message": {"role": "user", "content": text},
    }
    return parse_lines([json.dumps(record)], path="s.jsonl").items
