"""What the digest-made summaries of a coding-agent session's older levels say: a level-3 group
speaks of its own items (not of the branch every item was made on), a level's summary does not
say how the session ended when the bundle holds what came after it, and a slash command's
expanded prompt is scaffolding, not something the session did."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memcore.compression import HierarchicalMemoryCompressor
from memcore.model import MemoryItem
from memcore.session_items import is_scaffolding
from tests.test_compression import NOW, agent_item, agent_session

MIGRATION = "priv/repo/migrations/20260211205820_add_state_to_annotations.exs"


def _write_call(ident: str, age: timedelta) -> MemoryItem:
    # (a Write as memcore's Claude Code importer records it, from a real transcript)
    return agent_item(
        ident,
        f"Write `{MIGRATION}`, defining `up`, `down` and "
        "`Spotter.Repo.Migrations.AddStateToAnnotations`: "
        "`defmodule Spotter.Repo.Migrations.AddStateToAnnotations do`; `def up do`; "
        "`def down do`; `alter table(:annotations) do`; `add :state, :text, null: false, "
        'default: "open"`; `create index(:annotations, [:session_id, :state],`',
        "tool_call",
        age,
        tool="Write",
        file_path=f"/home/u/spotter/{MIGRATION}",
        cwd="/home/u/spotter",
        git_branch="spotter-gqc",
        names=["up", "down", "Spotter.Repo.Migrations.AddStateToAnnotations"],
    )


def test_a_group_summary_speaks_of_its_items_not_of_the_branch() -> None:
    # the branch's line ("- The work is on the branch `spotter-gqc`.") was the whole summary
    # of a group holding one Write, as of 139 of the 1,566 groups of the real sessions
    items = [
        agent_item("u1", "Implement spotter-gqc", "task", timedelta(days=2, hours=1), role="user"),
        _write_call("w1", timedelta(days=2)),
    ]
    for entry in items:
        entry.metadata.setdefault("git_branch", "spotter-gqc")
    bundle = HierarchicalMemoryCompressor(NOW).compress(items)
    (group,) = [g for g in bundle.level3.groups if g.ids == ["w1"]]
    assert "branch" not in group.summary
    assert "add_state_to_annotations" in group.summary


def test_an_older_levels_summary_does_not_say_how_the_session_ended() -> None:
    # the level-4 summary said "Under way when the session stopped: ..." and "no commit in
    # the session" of its own last items, though the session went on in the levels above it
    items = agent_session(days=10)
    items.append(
        agent_item(
            "c1",
            "`git commit -m 'Fix cart rounding'` succeeded (exit 0): [main 1a2b3c4] Fix cart",
            "tool_result",
            timedelta(minutes=5),
            role="user",
            tool="Bash",
            command="git commit -m 'Fix cart rounding'",
            exit_code=0,
        )
    )
    bundle = HierarchicalMemoryCompressor(NOW, ratios=(0.5, 0.2, 0.5)).compress(items)
    assert [item.id for item in bundle.level1.items] == ["c1"]
    summary = bundle.level4.summary
    assert "cart_total" in summary
    assert "when the session stopped" not in summary
    assert "State at the end" not in summary
    assert "no commit in the session" not in summary


def test_a_short_error_is_kept_whole_at_level_2() -> None:
    # (half of it was "`git push 2>&1` failed (exit…": which command failed, not why)
    error = (
        "`git push 2>&1` failed (exit 128): fatal: The current branch spotter-gqc has no "
        "upstream branch."
    )
    items = [
        agent_item(
            "e1",
            error,
            "error",
            timedelta(hours=3),
            role="user",
            tool="Bash",
            command="git push 2>&1",
            exit_code=128,
        )
    ]
    (entry,) = HierarchicalMemoryCompressor(NOW).compress(items).level2.items
    assert entry.summary == error


PLAN_PROMPT = (
    "# Work Plan Execution Command\n\nExecute a work plan efficiently while maintaining quality "
    "and finishing features.\n\n## Introduction\n\nThis command takes a work document (plan, "
    "specification, or todo file) and executes it systematically. Use TodoWrite to break the "
    "plan into actionable tasks. Run tests after changes and mark each task as completed."
)


def test_a_slash_commands_expanded_prompt_reaches_no_summary() -> None:
    # Claude Code writes the prompt a slash command expands into as the user's message
    # (isMeta): imported as a low fact marked meta, it was summarized at level 3 as if it were
    # what the session did ("### Phase 1: Quick Start. 1. **Read Plan and Clarify**. ...")
    items = [_write_call("w1", timedelta(days=2))]
    for ident, age in (("m2", timedelta(hours=3)), ("m3", timedelta(days=3))):
        command = "/workflows:work plan.md"
        items.append(agent_item(f"u{ident}", command, "shortcut", age, role="user"))
        meta = {"source": "claude-code", "kind": "fact", "role": "user", "meta": True}
        items.append(MemoryItem(ident, PLAN_PROMPT, "low", NOW - age, meta))
    bundle = HierarchicalMemoryCompressor(NOW).compress(items)
    summaries = [e.summary for e in bundle.level2.items] + [g.summary for g in bundle.level3.groups]
    assert not any("Work Plan" in s or "TodoWrite" in s or "Phase" in s for s in summaries)
    assert "m2" not in {e.id for e in bundle.level2.items}
    (listed,) = [g for g in bundle.level3.groups if "scaffolding" in g.summary]
    assert sorted(listed.ids) == ["m2", "m3"]
    assert "command-prompt x2" in listed.summary
    # (the importer's other meta fact, a file changed outside the agent's edits, is memory)
    outside = {"source": "claude-code", "kind": "fact", "role": "system", "meta": True}
    assert not is_scaffolding(MemoryItem("o1", "`a.go` was changed outside", metadata=outside))


def _record(ident: str, text: str, kind: str, tool: str, path: str, age: timedelta) -> MemoryItem:
    return agent_item(
        ident, text, kind, age, tool=tool, file_path=f"/home/u/cli/{path}", cwd="/home/u/cli"
    )


WARNING_TEST = "cmd/entire/cli/integration_test/concurrent_session_warning_test.go"
HANDLERS = "cmd/entire/cli/hooks_claudecode_handlers.go"
SETUP_TEST = "cmd/entire/cli/setup_test.go"
ENABLE_TEST = "TestRunEnableWithStrategy"


@pytest.mark.parametrize(
    ("kind", "tool", "texts"),
    [
        # (reads of two files, from a real session: the group said only the first)
        (
            "tool_call",
            "Read",
            [
                f"Read `{WARNING_TEST}` (lines 400-429)",
                f"Read `{HANDLERS}` (lines 237-286)",
            ],
        ),
        # (edits' results, whose calls are elsewhere: the digest says nothing of them; a group
        # of a real session)
        (
            "tool_result",
            "Edit",
            [
                f"Updated `{SETUP_TEST}` in `{ENABLE_TEST}_PreservesExistingSettings()`",
                f"Updated `{SETUP_TEST}` in `{ENABLE_TEST}_PreservesLocalSettings()`",
                f"Updated `{HANDLERS}` in `checkConcurrentSessions()`",
                f"Updated `{HANDLERS}` in `checkConcurrentSessions()`",
                f"Updated `{HANDLERS}` in `handleSessionInitErrors()`",
            ],
        ),
    ],
)
def test_a_group_of_several_files_records_names_every_file(
    kind: str, tool: str, texts: list[str]
) -> None:
    # a fifth of one-line records is a few tokens a record, less than the digest's line about
    # one file: the summary named one file (13 of the 17 such groups of the real sessions)
    items = [
        _record(f"r{k}", text, kind, tool, text.split("`")[1], timedelta(days=3, minutes=-k))
        for k, text in enumerate(texts)
    ]
    bundle = HierarchicalMemoryCompressor(NOW).compress(items)
    (group,) = bundle.level3.groups
    assert group.count == len(texts)
    for path in {text.split("`")[1] for text in texts}:
        assert path.rsplit("/", 1)[-1] in group.summary
