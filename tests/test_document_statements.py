"""What the import keeps of a document the agent writes or edits (a CLAUDE.md, a README, a
plan): the statements it added that name something exact, said as they are written, so that a
later session's recall finds the project's commands and constraints in it."""

from __future__ import annotations

from memcore.claude_code.edit_texts import MAX_DOCUMENT_STATEMENTS, document_statements
from memcore.model import MemoryItem
from memcore.search import MemoryIndex, item_text
from tests.test_transcript_agent_records import CWD, _Records

GUIDE = """# CLAUDE.md

This file guides agents working in this repository.

## Commands

- Install deps: `npm install`
- Run a single test file: `npm test -- <testPathPattern>`

```bash
npm run build   # compile the TypeScript sources
```

## Constraints

- `onSelectionChange` needs iOS 17+ (`selectedText` is empty before).
"""


def _calls(records: _Records) -> list[MemoryItem]:
    return [i for i in records.items() if i.metadata.get("kind") == "tool_call"]


def test_a_written_guide_keeps_its_commands_and_constraints_as_written() -> None:
    records = _Records()
    records.tool("Write", {"file_path": f"{CWD}/CLAUDE.md", "content": GUIDE}, "File created.")
    (call,) = _calls(records)
    assert call.metadata["statements"] == [
        "Install deps: `npm install`",
        "Run a single test file: `npm test -- <testPathPattern>`",
        "`onSelectionChange` needs iOS 17+ (`selectedText` is empty before).",
    ]
    assert call.content.startswith("Write `CLAUDE.md`")
    assert "Run a single test file: `npm test -- <testPathPattern>`" in call.content
    assert "compile the TypeScript" not in call.content  # (a code block's lines are no statement)


def test_an_edit_of_a_document_keeps_only_the_statements_it_added() -> None:
    old = "# Guide\n\n- Install deps: `npm install`\n\n```bash\nnpm test\n```\n"
    new = (
        "# Guide\n\n- Install deps: `npm install`\n- Lint with `npm run lint` before a commit.\n"
        "\n```bash\nnpm test\nnpm run e2e -- --headless\n```\n"
    )
    found = document_statements("Edit", {"old_string": old, "new_string": new})
    assert found == ["Lint with `npm run lint` before a commit."]


def test_a_code_file_keeps_its_code_lines_not_statements() -> None:
    records = _Records()
    code = "def total(cart):\n    return round_cents(sum(i.price for i in cart))\n"
    records.tool("Write", {"file_path": f"{CWD}/shop/cart.py", "content": code}, "File created.")
    (call,) = _calls(records)
    assert "statements" not in call.metadata
    assert "`return round_cents(sum(i.price for i in cart))`" in call.content


def test_a_long_document_keeps_a_bounded_number_of_statements() -> None:
    text = "\n".join(f"- Step {n}: run `make step{n}` first." for n in range(100))
    found = document_statements("Write", {"content": text})
    assert len(found) == MAX_DOCUMENT_STATEMENTS
    assert found[0] == "Step 0: run `make step0` first."


def test_recall_finds_a_command_the_agent_wrote_into_the_guide() -> None:
    records = _Records()
    records.user("Write a CLAUDE.md for this repository")
    records.tool("Write", {"file_path": f"{CWD}/CLAUDE.md", "content": GUIDE}, "File created.")
    records.tool("Bash", {"command": "npm test"}, "Tests: 12 passed")
    index = MemoryIndex()
    items = {item.id: item for item in records.items()}
    for key, item in items.items():
        index.add(key, item_text(item))
    best, _ = index.search("single test file", k=1)[0]
    assert "npm test -- <testPathPattern>" in items[best].content
