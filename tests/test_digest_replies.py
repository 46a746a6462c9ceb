"""What the agent's replies give: each thing said once; no title, question or plan as a result."""

from __future__ import annotations

from memcore import MemoryItem, session_digest, session_digests
from tests.digest_support import T0, _agent
from tests.test_transcript_agent_records import CWD, _Records


def test_a_roomy_digest_says_each_thing_once() -> None:
    """With room to spare, a record's own words come in only when they name something new:
    "Read `src/app.ts`: 3 lines." after the line on that file restates it."""
    records = _Records()
    records.user("look at the app and run its tests")
    numbered = "     1\u2192const a = 1;\n     2\u2192const b = 2;\n     3\u2192export { a, b };"
    records.tool("Read", {"file_path": f"{CWD}/src/app.ts"}, numbered)
    records.tool("Bash", {"command": "npm test", "description": "Run the tests"}, "3 passed")
    text = session_digest(records.items(), 2000).text
    assert "`src/app.ts` was read, not changed" in text
    assert "`npm test` ran once and succeeded: 3 passed." in text
    assert "Read `src/app.ts`: 3 lines" not in text
    assert "Run `npm test`" not in text
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == len(set(lines))


def test_thinking_fills_the_room_last_and_nothing_is_said_twice() -> None:
    """Spare lines come in two rounds: the agent's plain replies and its records first, then,
    if room is still left, its thinking's plain prose; a line chosen in the first round is
    not let go again by the second. (In a digest of 600 tokens or more: a brief's room takes
    no plain prose once a line that matters is said.)"""
    results = [  # lines that matter, about 730 tokens of them
        _agent(i, f"Fixed `module_{i}.py` so `helper_{i}()` rounds the total.", kind="fact")
        for i in range(100, 136)
    ]
    items = [
        _agent(1, "I looked around the repository and its folders for a while.", kind="fact"),
        # shorter, later: worth more
        _agent(9, "The package layout moved to src.", kind="thinking"),
        *results,
    ]
    said = session_digest(results, 4000).tokens
    assert said >= 600
    small, roomy = session_digests(items, (said + 20, 4000))
    assert "I looked around the repository" in small.text
    assert "The package layout moved" not in small.text  # room went to the reply first
    assert "The package layout moved" in roomy.text
    lines = [line for line in roomy.text.splitlines() if line.startswith("- ")]
    assert len(lines) == len(set(lines)) == len(results) + 2
    brief = session_digest([*items[:2], results[0]], 150).text  # (room enough, and a brief)
    assert "`module_100.py`" in brief
    assert "I looked around" not in brief
    assert "The package layout" not in brief


def test_a_line_that_says_a_chosen_line_again_in_other_words_is_left_out() -> None:
    """Restated, it names nothing new and its words are that line's; a line about another
    name, or with other words, stays (an edit that took a line out is not the one that added
    it, another range of one file is another fact)."""
    texts = [
        "I see - there's no `session` command in the CLI yet.",
        "I see that there's no `session` command in the CLI yet.",
        "I see - there's no `status` command in the CLI yet.",
        "Update sessionStateFromStrategy conversion function.",
        "Update sessionStateToStrategy conversion function.",
        "The handler is in `hooks.go`, lines 243-251.",
        "The handler is in `hooks.go`, lines 751-755.",
        "The test is flaky — it passed in a previous CI run and passes locally.",
        "The test is flaky — it passes locally and passed in prior CI runs.",  # inflected
    ]
    items = [_agent(i, text, kind="fact") for i, text in enumerate(texts)]
    decisions = session_digest(items, 2000).sections["decisions"]
    assert decisions.count("`session` command in the CLI yet") == 1  # one of the two
    assert decisions.count("The test is flaky") == 1
    for kept in (2, 3, 4, 5, 6):
        assert texts[kept].rstrip(".") in decisions, texts[kept]


def test_a_thinking_block_that_is_only_a_title_states_nothing() -> None:
    items = [
        MemoryItem("t", "add a CLAUDE.md", metadata={"kind": "task"}, created_at=T0),
        _agent(1, "**Planning targeted file reads**", kind="thinking"),
        _agent(2, "## Scanning project structure", kind="thinking"),
        _agent(3, "The module is iOS-only, so there is no Android code to describe.", kind="fact"),
    ]
    text = session_digest(items, 2000).text
    assert "iOS-only" in text
    assert "Planning" not in text
    assert "Scanning" not in text


def test_questions_and_instructions_to_the_user_are_not_results() -> None:
    text = (
        "Report whether it works. The question is: why does `load()` fail on `cfg.yaml`? "
        "The bug was a map iterated in random order in `merge()`. Zebra `a/z.py` comes first. "
        "Alpha `a/b.py` comes second."
    )
    items = [
        MemoryItem("t", "why does load fail?", metadata={"kind": "task"}, created_at=T0),
        _agent(1, text, kind="fact"),
    ]
    decisions = session_digest(items, 400).sections["decisions"]
    assert "The bug was a map iterated in random order in `merge()`." in decisions
    assert "Report whether" not in decisions
    assert "The question is" not in decisions
    assert decisions.index("Zebra") < decisions.index("Alpha")  # the text's own order


def test_a_todo_dropped_from_a_later_list_is_not_open() -> None:
    lists = (
        [["pending", "Rename the plugin"], ["pending", "Write the docs"]],
        [["completed", "Rename the plugin"]],
    )
    items = [
        _agent(i, "Todo list", kind="tool_call", tool="TodoWrite", todos=todos)
        for i, todos in enumerate(lists)
    ]
    digest = session_digest(items, 400).text
    assert "Done: Rename the plugin" in digest
    assert "Write the docs" not in digest


def test_a_code_block_glued_to_a_sentence_is_no_statement() -> None:
    text = (
        "The test only checks `err` from `cmd.CombinedOutput()`:```go\n"
        'if output, err := cmd.CombinedOutput(); err != nil { t.Fatalf("hook failed: %v", err) }'
        "\n```\nThe fix logs the output in `runHook()`."
    )
    decisions = session_digest([_agent(1, text, kind="fact")], 400).sections["decisions"]
    assert "`runHook()`" in decisions
    assert "t.Fatalf" not in decisions


def test_a_plan_s_steps_are_no_decisions_or_results() -> None:
    """A numbered plan under "Let me understand the plan:" (the agent's thinking, a real
    session's) is what was to be done: "Run `bun verify` to make sure everything passes" said
    under Decisions and results reads as done. What was done is said as done."""
    plan = MemoryItem(
        "t1",
        "Let me understand the plan:\n\n1. Delete `src/bin/skill.ts`\n2. Revert changes in "
        "`src/bin/chkit.ts` (remove the `skill` block)\n3. Run `bun verify` to make sure "
        "everything passes",
        metadata={"kind": "thinking", "source": "claude-code", "role": "assistant"},
    )
    done = MemoryItem(
        "f1",
        "Removed the `skill` block from `src/bin/chkit.ts`; `bun verify` passes.",
        metadata={"kind": "fact", "source": "claude-code", "role": "assistant"},
    )
    text = session_digest([plan, done], 2000).text
    assert "Removed the `skill` block" in text
    assert "Run `bun verify`" not in text
    assert "Delete `src/bin/skill.ts`" not in text
    assert "Revert changes" not in text


def test_a_sub_agent_s_glossary_is_reference_not_results() -> None:
    """A sub-agent's account of a document lists what names mean ("- `cwd`: Current working
    directory"): in a real session's digest those took the place of results. Its findings
    stay; a list of two such entries, or one of the agent's own, is no glossary."""
    report = MemoryItem(
        "r1",
        "SessionStart hooks receive this JSON on stdin.\n\n**Input Fields:**\n"
        "- `session_id`: Current session identifier\n- `transcript_path`: Path to "
        "conversation JSON\n- `cwd`: Current working directory\n- `permission_mode`: Current "
        "permission mode\n\nNo `additionalSystemPrompt` field exists - use "
        "`additionalContext` instead to inject context.",
        metadata={"kind": "tool_result", "source": "claude-code", "role": "user",
                  "tool": "Task", "report": True},
    )  # fmt: skip
    text = session_digest([report], 2000).text
    assert "No `additionalSystemPrompt` field exists" in text
    for said in ("Current session identifier", "Path to conversation JSON", "permission mode"):
        assert said not in text
