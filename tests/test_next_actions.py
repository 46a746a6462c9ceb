"""What the import keeps of the tool calls an agent's words led to, and what recall shows of
them (``memcore.claude_code.next_actions``)."""

from __future__ import annotations

from memcore.claude_code.next_actions import ACTION_CHARS, MAX_ACTIONS, action_line, next_actions
from memcore.claude_code.recall_rank import shown_hit
from memcore.model import MemoryItem
from tests.test_transcript_agent_records import CWD, _Records


def _texts(records: _Records) -> dict[str, MemoryItem]:
    return {
        item.content: item
        for item in records.items()
        if item.metadata.get("kind") in ("fact", "thinking")
    }


def test_an_agent_text_keeps_the_calls_that_followed_it_in_its_turn() -> None:
    records = _Records()
    records.user("Rename the typegen command to codegen")
    records.said("Now update the command type union.")
    records.tool(
        "Edit",
        {"file_path": f"{CWD}/src/bin/json-output.ts", "old_string": "a", "new_string": "b"},
        "The file has been updated.",
    )
    records.tool("Bash", {"command": "bun test"}, "12 pass")
    records.said("All 12 tests pass.")
    records.user("Now the docs")
    records.tool("Read", {"file_path": f"{CWD}/docs/cli.md"}, "1\u2192# CLI")
    texts = _texts(records)
    then = next_actions(texts["Now update the command type union."])
    assert len(then) == 2
    assert then[0].startswith("Edit `src/bin/json-output.ts`")
    assert "bun test" in then[1]
    # nothing followed the conclusion in its turn: the Read came after the user's next request
    assert "then" not in texts["All 12 tests pass."].metadata
    assert next_actions(texts["All 12 tests pass."]) == []


def test_at_most_a_few_calls_are_kept_each_to_its_first_line() -> None:
    records = _Records()
    records.user("Read the whole package")
    records.said("Let me read every module.")
    for n in range(MAX_ACTIONS + 2):
        records.tool("Read", {"file_path": f"{CWD}/pkg/mod{n}.py"}, "1\u2192x = 1")
    (text,) = _texts(records).values()
    assert next_actions(text) == [f"Read `pkg/mod{n}.py` (lines all)" for n in range(MAX_ACTIONS)]
    long = "Run `" + "x" * (2 * ACTION_CHARS) + "`\nsecond line"
    cut = action_line(long)
    assert len(cut) <= ACTION_CHARS
    assert cut.endswith("...")
    assert action_line("Read `a.py`\n(more)") == "Read `a.py`"


def test_recall_shows_an_agent_text_with_what_it_led_to() -> None:
    then = ["Edit `src/bin/json-output.ts`"]
    assert shown_hit("Now update the command type union.", then) == (
        "Now update the command type union. -> then: Edit `src/bin/json-output.ts`"
    )
    assert shown_hit("All 12 tests pass.") == "All 12 tests pass."


def test_what_an_agent_text_led_to_names_the_definition_an_edit_changed() -> None:
    """An edit's call says which definition it changed once its result tells it; the line
    noted on the agent's words before it says so too (one account of the call)."""
    original = "def total(items):\n    x = sum(items)\n    return x\n"
    records = _Records()
    records.user("round the cart total")
    records.said("I'll round the total in the cart module.")
    records.edit("src/cart.py", original, "    return x\n", "    return round(x, 2)\n")
    _, text, call, _ = records.items()
    assert call.content.startswith("Edit `src/cart.py` in `total()`, changing")
    assert next_actions(text) == [action_line(call.content)]
