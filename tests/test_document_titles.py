"""A document the agent writes whole is said by its title, not by the names in its samples."""

from __future__ import annotations

import json

import pytest

from memcore import session_digest
from memcore.claude_code import parse_lines
from memcore.claude_code.edit_texts import document_title

CWD = "/home/dana/shop"


@pytest.mark.parametrize(
    ("path", "content", "title"),
    [
        (
            "docs/adr/0004.md",
            "\n# ADR 4: Line attribution\n\nWe track...",
            "ADR 4: Line attribution",
        ),
        ("docs/x.md", "intro\n## Findings ##\n", "Findings"),  # closing hashes are no title
        ("docs/x.md", "#\tTabbed", "Tabbed"),
        ("README.rst", "Shop\n====\n\nA shop.", "Shop"),
        ("SKILL.md", "---\nname: chkit\n---\n\n# chkit skill\n", "chkit skill"),
        ("SKILL.md", "---\nname: chkit\n# After\n", "After"),  # front matter never closed
        ("docs/x.md", "```bash\n# install deps\n```\n# Real", "Real"),  # not in a fence
        ("docs/x.md", "~~~\n# no\n~~~\nplain", None),
        ("docs/x.md", "Intro\n***", None),  # a rule, not an underline
        ("docs/x.md", "- item\n---", None),  # a list item is no title
        ("docs/x.md", "# \x00", None),  # nothing printable
        ("docs/x.md", "#hashtag is no heading\nplain text", None),
        ("requirements.txt", "# pinned for CI\nrequests", None),  # a list, not a document
        ("src/cart.py", "# a comment, not a title\n", None),  # not a document
        ("docs/x.md", None, None),
    ],
)
def test_a_document_s_title_is_its_first_heading(
    path: str, content: str | None, title: str | None
) -> None:
    assert document_title(path, content) == title


def _written(path: str, content: str) -> list[str]:
    """A session writing ``content`` to ``path`` (under ``CWD``), as transcript lines."""
    write = {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "Write",
        "input": {"file_path": f"{CWD}/{path}", "content": content},
    }
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "File created"}
    records = [
        {"type": "user", "message": {"role": "user", "content": "Write up what you found."}},
        {"type": "assistant", "message": {"role": "assistant", "content": [write]}},
        {"type": "user", "message": {"role": "user", "content": [result]}},
    ]
    lines = [
        json.dumps(
            {
                **r,
                "uuid": f"u{n}",
                "sessionId": "s",
                "cwd": CWD,
                "timestamp": f"2026-11-30T08:00:0{n}Z",
            }
        )
        for n, r in enumerate(records)
    ]
    return lines


def test_the_digest_names_a_written_document_by_its_title() -> None:
    content = "# Findings: session import is feasible\n\n```sql\nCREATE TABLE t (\n```\n"
    digest = session_digest(parse_lines(_written("docs/findings.md", content)).items, 300)
    assert (
        '`docs/findings.md` ("Findings: session import is feasible") was created'
        in (digest.sections["files"])
    )


@pytest.mark.parametrize("title", ["CLAUDE.md", "Claude"])
def test_a_title_that_is_the_file_s_name_is_not_said_twice(title: str) -> None:
    lines = _written("CLAUDE.md", f"# {title}\n\nThis file guides Claude Code.\n")
    files = session_digest(parse_lines(lines).items, 300).sections["files"]
    assert "- `CLAUDE.md` was created." in files.splitlines()
