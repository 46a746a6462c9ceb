"""What the transcript import makes of Claude Code's own session control, of its task list, and of
a plan the agent reads -- and what the digest then says of them."""

from __future__ import annotations

import inspect
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from memcore import MemoryItem, Priority, session_digest
from memcore.claude_code import hooks, parse_lines, session_record
from memcore.claude_code.briefs import brief_lines, is_brief_path
from memcore.claude_code.records import (
    SESSION_CONTROL,
    classify_user_text,
    is_session_control,
    scaffolding_kind,
)

SESSION = "7d0c4a2e-5b1f-4e8a-9c3d-1f2e3a4b5c6d"
CWD = "/home/bob/shop"
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


class _Records:
    """A transcript written record by record, each a second after the last."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _base(self, kind: str, message: dict[str, Any], **extra: Any) -> None:
        n = len(self.lines)
        record = {
            "type": kind,
            "uuid": f"00000000-0000-4000-8000-{n:012d}",
            "parentUuid": None,
            "sessionId": SESSION,
            "cwd": CWD,
            "timestamp": (T0 + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
            "message": message,
            **extra,
        }
        self.lines.append(json.dumps(record))

    def user(self, content: Any, **extra: Any) -> None:
        self._base("user", {"role": "user", "content": content}, **extra)

    def tool(self, name: str, tool_input: dict[str, Any], result: Any, **result_extra: Any) -> None:
        use_id = f"toolu_{len(self.lines):04d}"
        block = {"type": "tool_use", "id": use_id, "name": name, "input": tool_input}
        self._base("assistant", {"role": "assistant", "content": [block]})
        content = [{"type": "tool_result", "tool_use_id": use_id, "content": result}]
        self.user(content, **result_extra)

    def ran(self, command: str, output: str, code: int = 0) -> None:
        """A ``Bash`` call of ``command`` whose result is ``output``, an error when ``code``
        is not 0 (with Claude Code's ``Exit code N`` line before it)."""
        use_id = f"toolu_{len(self.lines):04d}"
        block = {"type": "tool_use", "id": use_id, "name": "Bash", "input": {"command": command}}
        self._base("assistant", {"role": "assistant", "content": [block]})
        text = output if code == 0 else f"Exit code {code}\n{output}"
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": use_id, "content": text}
        if code:
            result["is_error"] = True
        self.user([result])

    def edit(self, path: str, original: str, old: str, new: str) -> None:
        """An ``Edit`` of ``path`` (under ``CWD``) replacing ``old`` by ``new``, whose result
        carries the file as it was (``original``), as Claude Code records it."""
        edit = {"file_path": f"{CWD}/{path}", "old_string": old, "new_string": new}
        result = {"originalFile": original, "oldString": old}
        self.tool("Edit", edit, "The file has been updated.", toolUseResult=result)

    def said(self, text: str) -> None:
        self._base("assistant", {"role": "assistant", "content": [{"type": "text", "text": text}]})

    def items(self) -> list[MemoryItem]:
        return parse_lines(self.lines, path=f"{SESSION}.jsonl").items


def _wrapped(command: str, args: str = "") -> str:
    name = command.lstrip("/")
    return (
        f"<command-name>{command}</command-name>\n            "
        f"<command-message>{name}</command-message>\n            "
        f"<command-args>{args}</command-args>"
    )


# --- session control ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        _wrapped("/context"),
        _wrapped("/model", "opus"),
        _wrapped("/compact", "keep the API notes"),
        "/exit",
        "/model sonnet",
        "  /clear",
        "<command-message>exit</command-message>\n<command-name>/exit</command-name>",
    ],
)
def test_session_control_is_scaffolding(text: str) -> None:
    assert is_session_control(text)
    assert scaffolding_kind(text) == "session-control"


@pytest.mark.parametrize(
    "text",
    [
        _wrapped("/commit", "-m 'fix rounding'"),
        _wrapped("/init"),
        "/commit -m 'x'",
        "Fix the /context handling in cart.py",
        "please /clear the cache in `store.py`",
        "",
    ],
)
def test_other_commands_and_requests_are_not(text: str) -> None:
    assert not is_session_control(text)
    assert scaffolding_kind(text) is None


def test_one_list_read_by_import_digest_and_hooks() -> None:
    assert {"/context", "/exit", "/clear", "/compact", "/model"} <= SESSION_CONTROL
    assert not hasattr(hooks, "SESSION_CONTROL")  # the hooks use the parser's list
    # (imported where a save makes the session's entry: session-start imports no parser)
    assert "from memcore.claude_code.records import is_session_control" in inspect.getsource(
        session_record
    )
    assert classify_user_text(_wrapped("/clear"))[0] == "shortcut"  # a slash command's kind


def test_session_control_is_not_imported_and_not_in_the_digest() -> None:
    records = _Records()
    records.user(_wrapped("/context"))
    records.user("<local-command-stdout>Context usage: 41k/200k</local-command-stdout>")
    records.user("Add a `--verbose` flag to `cli.py`")
    records.user(_wrapped("/commit", "-m 'add verbose'"))
    records.user(_wrapped("/exit"))
    transcript = parse_lines(records.lines, path=f"{SESSION}.jsonl")
    kinds = [(item.metadata["kind"], item.content) for item in transcript.items]
    assert kinds == [
        ("task", "Add a `--verbose` flag to `cli.py`"),
        ("shortcut", "/commit -m 'add verbose'"),
    ]
    assert transcript.skipped_types["scaffolding:session-control"] == 2
    digest = session_digest(transcript.items, 400).text
    assert "/context" not in digest
    assert "/exit" not in digest
    assert "/commit" in digest


def test_a_session_control_item_stored_by_an_older_import_is_no_request() -> None:
    old = [
        MemoryItem(
            f"cc:{n}",
            text,
            created_at=T0 + timedelta(seconds=n),
            metadata={"kind": kind, "source": "claude-code", "role": "user"},
        )
        for n, (kind, text) in enumerate(
            [("shortcut", "/context"), ("task", "Rename `total()` to `grand_total()`")]
        )
    ]
    digest = session_digest(old, 300)
    assert "/context" not in digest.text
    assert "grand_total()" in digest.text


# --- the task list (TaskCreate / TaskUpdate) ----------------------------------------------------


def test_a_slash_command_given_work_is_imported_as_a_request_s_weight() -> None:
    """Its arguments are what the user asked: the item (a shortcut, for knowledge transfer)
    weighs as a request does in recall; a shortcut run keeps a shortcut's."""
    records = _Records()
    records.user(_wrapped("/workflows:plan", "make the session conflict warning optional"))
    records.user(_wrapped("/deploy", "staging"))
    plan, deploy = records.items()
    assert (plan.metadata["kind"], plan.priority) == ("shortcut", Priority.HIGH)
    assert plan.content == "/workflows:plan make the session conflict warning optional"
    assert (deploy.metadata["kind"], deploy.priority) == ("shortcut", Priority.NORMAL)


def test_task_updates_name_their_task_and_close_it() -> None:
    records = _Records()
    records.user("Add rounding to the cart and a test for it")
    for n, subject in enumerate(["Round totals in `cart.py`", "Test `total()` rounding"], 1):
        records.tool(
            "TaskCreate",
            {"subject": subject, "description": "", "activeForm": "Working"},
            f"Task #{n} created successfully: {subject}",
            toolUseResult={"task": {"id": str(n), "subject": subject}},
        )
    records.tool("TaskUpdate", {"taskId": "1", "status": "in_progress"}, "Updated task #1 status")
    records.tool("TaskUpdate", {"taskId": "1", "status": "completed"}, "Updated task #1 status")
    records.tool("TaskUpdate", {"taskId": "9", "status": "completed"}, "Task not found")
    items = records.items()
    updates = [i for i in items if i.metadata.get("tool") == "TaskUpdate" and "todos" in i.metadata]
    assert [u.metadata["todos"] for u in updates] == [
        [["in_progress", "Round totals in `cart.py`"]],
        [["completed", "Round totals in `cart.py`"]],
    ]  # the unknown task id says nothing it cannot know
    assert updates[-1].content == "Task completed: Round totals in `cart.py`"
    sections = session_digest(items, 600).sections
    assert "Done: Round totals in `cart.py`" in sections["decisions"]
    assert "Still pending: Test `total()` rounding" in sections["open"]
    assert "Round totals" not in sections["open"]


def test_a_sentence_after_a_quote_loses_the_dash_that_led_it() -> None:
    """'User interrupted: "Write the plan, don't commit." - I wrote `PLAN.md`': the dash after
    the quote separates; it is no list item of the line the sentence becomes."""
    records = _Records()
    records.user("Plan the wingman feature")
    records.said(
        'User interrupted: "Write the plan to a file, don\'t commit." - I wrote `.entire/PLAN.md`'
        " and skipped the commit."
    )
    text = session_digest(records.items(), 600).text
    assert "- I wrote `.entire/PLAN.md` and skipped the commit." in text
    assert "- - " not in text


def test_a_lettered_items_mark_is_no_word_of_its_line() -> None:
    """ "b. Adding tests for `apply()` - all 9 tests pass": the letter marks the item in its
    list; the digest's line is a bullet already."""
    records = _Records()
    records.user("Wire the state machine")
    records.said(
        "Progress so far:\n"
        "a. Read the plan for `phase.go`\n"
        "b. Adding tests for `ApplyCommonActions()` to `session/phase_test.go` - all 9 tests pass"
    )
    text = session_digest(records.items(), 600).text
    assert "- Adding tests for `ApplyCommonActions()` to `session/phase_test.go`" in text
    assert "- b. " not in text


# --- briefs: a plan or spec the agent reads ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "brief"),
    [
        ("/w/.context/attachments/plan.md", True),
        ("/w/docs/plans/2026-02-06-session-phase.md", True),
        ("/w/.entire/REVIEW.md", True),
        ("/w/docs/implementation-plan.md", True),
        ("/w/docs/technical-requirements.md", True),
        ("/w/docs/adr-001-ownership.md", True),
        ("/w/README.md", False),
        ("/w/docs/cli/overview.md", False),
        ("/w/src/plan.py", False),
        ("/w/plans/notes.json", False),
        ("/w/explanation.md", False),
    ],
)
def test_a_brief_is_known_by_its_name(path: str, brief: bool) -> None:
    assert is_brief_path(path) is brief


PLAN = """# Rename plugin-typegen to plugin-codegen

## Context

The `plugin-typegen` only generates TypeScript interfaces. We want to rename it
to `plugin-codegen` and add ingestion functions.

```ts
export function typegen() {}
```

| old | new |
|-----|-----|
| `a` | `b` |

- Rename `TypegenPlugin` to `CodegenPlugin` in `packages/plugin-codegen/src/index.ts`
- Keep the tests green.
1. Run `bun verify` at the end.
"""


def test_brief_lines_are_its_statements_naming_something_exact() -> None:
    assert brief_lines(PLAN) == [
        "The `plugin-typegen` only generates TypeScript interfaces.",
        "We want to rename it to `plugin-codegen` and add ingestion functions.",
        "Rename `TypegenPlugin` to `CodegenPlugin` in `packages/plugin-codegen/src/index.ts`",
        "Run `bun verify` at the end.",
    ]  # hard-wrapped lines joined; code, tables and plain lines left out
    assert brief_lines(PLAN, limit=1) == [brief_lines(PLAN)[0]]
    assert brief_lines("") == []
    long = "Use `xy` " + "word " * 100
    (cut,) = brief_lines(long)
    assert cut.endswith("\u2026")
    assert len(cut) <= 241


def _read_result(text: str) -> str:
    return "\n".join(f"{n:>6}\u2192{line}" for n, line in enumerate(text.splitlines(), 1))


def test_a_plan_read_is_what_was_asked_and_its_text_is_no_memory() -> None:
    records = _Records()
    records.user("Implement the plan in .context/attachments/plan.md")
    path = f"{CWD}/.context/attachments/plan.md"
    records.tool("Read", {"file_path": path}, _read_result(PLAN))
    records.tool("Read", {"file_path": f"{CWD}/README.md"}, _read_result(PLAN))
    items = records.items()
    plan, readme = [i for i in items if i.metadata.get("kind") == "tool_result"]
    assert plan.metadata["brief"] == brief_lines(PLAN)
    assert "brief" not in readme.metadata  # an ordinary document is no brief
    assert plan.content.startswith("Read `.context/attachments/plan.md`: ")
    assert "only generates" not in plan.content  # the document is not memory text
    asked = session_digest(items, 400).sections["asked"]
    assert "`.context/attachments/plan.md` says: The `plugin-typegen`" in asked
    # the source is named once; its other lines follow it, indented
    lines = asked.splitlines()
    named = next(n for n, line in enumerate(lines) if "plan.md` says:" in line)
    assert any(line.startswith("  - Rename `TypegenPlugin` to `CodegenPlugin`") for line in lines)
    assert all(line.startswith("  - ") for line in lines[named + 1 :])


def test_a_plan_the_session_wrote_itself_is_not_what_was_asked() -> None:
    """A document named like a plan that the agent wrote in this session, then read, is its
    own work (its edits say so), not a task handed to it: no "says:" line of it."""
    records = _Records()
    records.user("Write down the rename as a plan, then do it")
    path = f"{CWD}/docs/plans/rename.md"
    records.tool("Write", {"file_path": path, "content": PLAN}, "File created successfully")
    records.tool("Read", {"file_path": path}, _read_result(PLAN))
    items = records.items()
    (read,) = [i for i in items if i.metadata.get("tool") == "Read" and "brief" in i.metadata]
    assert read.metadata["brief"]  # (the import still knows it by its name)
    assert "says:" not in session_digest(items, 400).sections.get("asked", "")


def test_a_brief_that_is_cut_keeps_the_line_naming_its_source() -> None:
    """Under a small budget that leaves out the brief's first line (the one naming the plan),
    the first of its lines that is kept names the plan itself: no line hangs, nor reads as the
    digest's own statement when it was cut ("- We want to rename it to `plugin-codegen`…")."""
    records = _Records()
    records.user("Implement the plan")
    records.tool("Read", {"file_path": f"{CWD}/plan.md"}, _read_result(PLAN))
    without_first = 0
    for budget in range(40, 200, 5):
        asked = session_digest(records.items(), budget).sections.get("asked", "")
        lines = [line for line in asked.splitlines() if line.startswith(("- ", "  - "))]
        said = [line for line in lines if not line.startswith("- The user asked")]
        if said:
            assert said[0].startswith("- `plan.md` says:"), (budget, said)
            without_first += "only generates" not in asked  # (the first line did not fit)
    assert without_first


# --- a short session: its tool records fill the room that is left ------------------------------


def test_a_short_sessions_digest_keeps_every_name_its_edits_changed() -> None:
    records = _Records()
    records.user("Make the cart round its totals")
    names = [f"helper_{n}" for n in range(30)]
    new = "\n".join(f"def {name}(x):\n    return round(x, 2)" for name in names)
    records.tool(
        "Edit",
        {"file_path": f"{CWD}/cart.py", "old_string": "pass", "new_string": new},
        "The file has been updated.",
    )
    records.said("All 3 tests pass after the change to `cart.py`.")
    digest = session_digest(records.items(), 2000)
    assert digest.tokens < 2000
    missing = [name for name in names if f"`{name}" not in digest.text]
    assert not missing  # the edit's own record names what the summary lines left out


def test_a_long_task_subject_is_the_same_entry_when_created_and_when_done() -> None:
    records = _Records()
    subject = "Refactor `cart.py` so that " + "every total is rounded once " * 12
    records.tool(
        "TaskCreate",
        {"subject": subject},
        "Task #1 created",
        toolUseResult={"task": {"id": "1", "subject": subject}},
    )
    records.tool("TaskUpdate", {"taskId": "1", "status": "completed"}, "Updated task #1 status")
    sections = session_digest(records.items(), 800).sections
    assert "open" not in sections  # the entry the update closed is the one the create opened
    assert "Done: Refactor `cart.py`" in sections["decisions"]


def test_a_plan_the_agent_proposed_is_part_of_what_was_asked() -> None:
    records = _Records()
    records.user("Plan the rename first")
    records.tool("ExitPlanMode", {"plan": PLAN}, "User has approved your plan.")
    (call,) = [i for i in records.items() if i.metadata.get("kind") == "tool_call"]
    assert call.content == "Plan proposed: Rename plugin-typegen to plugin-codegen"
    assert call.metadata["brief"] == brief_lines(PLAN)
    asked = session_digest(records.items(), 400).sections["asked"]
    # named by its title, then what it asks for
    assert (
        '- The plan the agent proposed, "Rename plugin-typegen to plugin-codegen", says: '
        "The `plugin-typegen` only generates"
    ) in asked


def test_a_plan_that_names_nothing_exact_is_said_by_its_title() -> None:
    records = _Records()
    records.user("Plan the migration first")
    plan = "# Move the docs site to the new theme\n\nSwitch the theme, then check every page."
    records.tool("ExitPlanMode", {"plan": plan}, "User has approved your plan.")
    asked = session_digest(records.items(), 400).sections["asked"]
    assert "- The agent proposed a plan: Move the docs site to the new theme." in asked


def test_a_plans_glossary_entry_gives_way_to_what_it_asks_for() -> None:
    """A line that only defines a name ("`text` - Plain text response") asks for nothing: the
    plan is introduced by a line that does."""
    records = _Records()
    records.user("Plan the export")
    plan = (
        "# Export sessions\n\n## Format\n\n- `text` - Plain text response\n"
        "- `tool_use` - Contains `input.file_path`\n\n## Steps\n\n"
        "1. Create `docs/export.md` with the layout of an export folder\n"
    )
    records.tool("ExitPlanMode", {"plan": plan}, "User has approved your plan.")
    asked = session_digest(records.items(), 400).sections["asked"].splitlines()
    lead = next(line for line in asked if line.startswith('- The plan the agent proposed, "'))
    assert lead.endswith("says: Create `docs/export.md` with the layout of an export folder")


def test_plan_modes_draft_file_is_no_file_of_the_project() -> None:
    """Plan mode drafts the plan in ``~/.claude/plans/``: the digest tells the plan, not the
    draft's path among the project's files."""
    records = _Records()
    records.user("Plan the rename first")
    draft = "/home/bob/.claude/plans/quiet-green-fox.md"
    records.tool("Write", {"file_path": draft, "content": PLAN}, f"File created at: {draft}")
    records.tool("ExitPlanMode", {"plan": PLAN}, "User has approved your plan.")
    records.tool(
        "Write", {"file_path": f"{CWD}/docs/rename.md", "content": "# Rename\n"}, "File created"
    )
    sections = session_digest(records.items(), 800).sections
    assert "quiet-green-fox" not in sections["files"]
    assert "`docs/rename.md`" in sections["files"]
    assert "Rename plugin-typegen to plugin-codegen" in sections["asked"]


def test_a_checklists_boxes_are_no_words_of_a_briefs_lines() -> None:
    text = "## Checks\n\n- [ ] `mise run test` passes\n- [x] The flag is kept in `settings.json`\n"
    assert brief_lines(text) == ["`mise run test` passes", "The flag is kept in `settings.json`"]


def test_a_done_step_a_result_line_says_already_is_said_once() -> None:
    """The task list's step marked done ("Done: Add suppression hint to warning message") beside
    the agent's own result line saying it in other words: the result line, which says more, is
    said; a step no line says stays."""
    records = _Records()
    records.user("Add a hint to the warning, then document the flag")
    todos = [
        {"content": "Add suppression hint to warning message", "status": "completed"},
        {"content": "Document the flag in the README", "status": "completed"},
    ]
    records.tool("TodoWrite", {"todos": todos}, "Todos have been modified successfully")
    records.said(
        "Updated the warning message to include a suppression hint: `entire enable "
        "--disable-multisession-warning`. All tests pass."
    )
    decisions = session_digest(records.items(), 400).sections["decisions"]
    assert "Done: Add suppression hint to warning message" not in decisions
    assert "Updated the warning message to include a suppression hint" in decisions
    assert "- Done: Document the flag in the README" in decisions.splitlines()
