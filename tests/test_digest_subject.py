"""A list item that leaves its subject to its heading ("- Tests that ...") gets it back in the
digest, and an item of a lead-in's list the lead-in it completes; one whose list opens with no
name, or with the agent's narration, stays as it is."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memcore import MemoryItem, session_digest
from memcore.digest_subject import (
    list_subject,
    opens_without_subject,
    with_antecedent,
    with_subject,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)

REPLY = """All tests pass. I've added coverage for both mechanisms:

**1. `TestWriteTemporary_Deduplication`** (`checkpoint/checkpoint_test.go`)
- Tests that the first checkpoint is created normally
- Tests that a second checkpoint with identical content is skipped (returns `Skipped: true`)

**Auto-commit strategy** (`strategy/auto_commit.go`):
- `commitCodeToActive` now returns `commitCodeResult`
  - Returns `Created: false` when there are no changes to commit
"""


@pytest.mark.parametrize(
    ("sentence", "opens"),
    [
        ("Returns `x` when empty", True),
        ("Tests that the first checkpoint is created", True),
        ("Tests expecting an error were failing", False),  # tests, the noun
        ("returns `x`", False),  # (no sentence's start)
        ("The function returns `x`", False),
        ("Changes `x` to `y`", False),  # a plural noun as often as a verb: not in the list
    ],
)
def test_which_items_open_without_a_subject(sentence: str, opens: bool) -> None:
    assert opens_without_subject(sentence) is opens


def test_an_item_takes_its_lists_heading_as_its_subject() -> None:
    lines = REPLY.splitlines()
    first = lines.index("- Tests that the first checkpoint is created normally")
    assert with_subject(lines[first][2:], lines, first) == (
        "`TestWriteTemporary_Deduplication` (`checkpoint/checkpoint_test.go`): tests that the "
        "first checkpoint is created normally"
    )
    # past its sibling, and past an item that states something of its own, to the lead-in
    nested = next(i for i, line in enumerate(lines) if "Returns `Created" in line)
    assert list_subject(lines, first + 1) == list_subject(lines, first)
    assert list_subject(lines, nested) is None  # its parent item is a statement, no lead-in


@pytest.mark.parametrize(
    "opening",
    [
        "I changed how the checkpoints are written.",  # prose, no lead-in
        "**Notes**",  # a title naming nothing exact
        "These are the changes to `a.go`, `b.go` and `c.go` that the review asked for in the "
        "second round:",  # a sentence, too long for a subject
    ],
)
def test_no_subject_from_what_is_no_subject(opening: str) -> None:
    lines = [opening, "- Returns `x` when the list is empty"]
    assert list_subject(lines, 1) is None
    assert with_subject("Returns `x` when the list is empty", lines, 1) is None


def test_the_digest_says_the_item_with_its_subject() -> None:
    meta = {"source": "claude-code", "role": "assistant", "kind": "fact"}
    items = [
        MemoryItem(
            "t", "add tests for the deduplication", metadata={"kind": "task"}, created_at=T0
        ),
        MemoryItem("a", REPLY, metadata=meta, created_at=T0 + timedelta(minutes=1)),
    ]
    decisions = session_digest(items, 1000).sections["decisions"].splitlines()
    assert (
        "- `TestWriteTemporary_Deduplication` (`checkpoint/checkpoint_test.go`): tests that the "
        "first checkpoint is created normally"
    ) in decisions
    assert not any(line.startswith("- Tests that") for line in decisions)


@pytest.mark.parametrize(
    ("opening", "item", "said"),
    [
        # a lead-in is completed by any item of its list
        (
            "In `captureInitialState()`:",
            "`checkConcurrentSessions()` returns false",
            "In `captureInitialState()`: `checkConcurrentSessions()` returns false",
        ),
        ("Stop hook (`commit`):", "NO check for `x`", "Stop hook (`commit`): NO check for `x`"),
        # a title only by an item that leaves its subject out
        ("**Stop hook** (`commit`)", "NO check for `x`", None),
        ("**Stop hook** (`commit`)", "Checks `x` first", "Stop hook (`commit`): checks `x` first"),
        # the agent's narration is no subject
        ("I need to read `f.go` to understand:", "how `g()` returns errors", None),
        ("Actually, looking at `walk()`:", "symlinks have `ModeSymlink` set", None),
        ("Aha! Session `34157bc5` has:", "`checkpoint_count: 0`", None),
    ],
)
def test_what_opens_a_list_and_which_items_it_completes(
    opening: str, item: str, said: str | None
) -> None:
    lines = [opening, f"- {item}"]
    assert with_subject(item, lines, 1) == said


@given(st.lists(st.text(max_size=40), max_size=8), st.integers(-3, 10))
def test_any_lines_give_a_subject_or_none(lines: list[str], line_no: int) -> None:
    subject = list_subject(lines, line_no)
    assert subject is None or (subject.count("`") >= 2 and not subject.endswith(":"))


@pytest.mark.parametrize(
    ("line", "sentence", "said"),
    [
        (
            "- Confirmed — `main` is also failing. This isn't caused by your PR.",
            "This isn't caused by your PR.",
            "Confirmed — `main` is also failing. This isn't caused by your PR.",
        ),
        (  # bold marks are no words of the sentence
            "**So `paths` needs `dist`.** It falls back to `node_modules`.",
            "It falls back to `node_modules`.",
            "So `paths` needs `dist`. It falls back to `node_modules`.",
        ),
        ("This needs `dist`.", "This needs `dist`.", None),  # nothing before it
        ("We set `x`. The value is `y`.", "The value is `y`.", None),  # no pronoun
        ("Fix `paths`: This needs `dist`.", "This needs `dist`.", None),  # a lead-in, no sentence
        (" ".join(["word"] * 30) + ". It fails.", "It fails.", None),  # too long to lead
        (  # how something was fixed, not what: of the sentence before it (a compaction summary)
            "- Black formatting: 8 files needed reformatting. Fixed with `uvx black`",
            "Fixed with `uvx black`",
            "Black formatting: 8 files needed reformatting. Fixed with `uvx black`",
        ),
        ("We saw `x`. Fixed the `paths` mapping.", "Fixed the `paths` mapping.", None),  # what
    ],
)
def test_a_sentence_opening_with_a_pronoun_takes_the_one_before_it(
    line: str, sentence: str, said: str | None
) -> None:
    assert with_antecedent(sentence, [line], 0) == said


def test_the_digest_says_what_a_pronoun_speaks_of_when_it_stands_alone() -> None:
    """ "This isn't caused by your PR." alone says nothing of what; led by the sentence
    before it, it does: the digest writes that when that sentence is no line of its own, and
    the pronoun's sentence alone just after it when it is."""
    meta = {"source": "claude-code", "role": "assistant", "kind": "fact"}

    def decisions(reply: str, budget: int) -> list[str]:
        items = [
            MemoryItem("t", "why is this PR failing?", metadata={"kind": "task"}, created_at=T0),
            MemoryItem("a", reply, metadata=meta, created_at=T0 + timedelta(minutes=1)),
        ]
        return session_digest(items, budget).sections["decisions"].splitlines()

    cause = "This isn't caused by your PR; `@chkit/codegen` lacks `@chkit/core` in its deps."
    # (at 60 tokens, the plain sentence before it is no line of its own: no room to spare)
    plain = decisions(f"I went through the logs of the last run. {cause}", 60)
    assert plain == [f"- I went through the logs of the last run. {cause}"]
    named = decisions(f"Confirmed — `main` fails with the same `TS7006` errors. {cause}", 1000)
    assert named == ["- Confirmed — `main` fails with the same `TS7006` errors.", f"- {cause}"]


@given(st.lists(st.text(max_size=40), max_size=4), st.text(max_size=30), st.integers(-2, 5))
def test_any_lines_give_an_antecedent_or_none(lines: list[str], sentence: str, n: int) -> None:
    led = with_antecedent(sentence, lines, n)
    assert led is None or led.endswith(sentence)


def test_a_lead_in_said_with_its_items_is_not_said_alone_too() -> None:
    """ "Fixed the session logic (`h.go`)." is said whole by each of its items' lines ("Fixed
    the session logic (`h.go`): removed ..."): chosen first, it is left out when one of them is
    chosen, and its room goes to other lines."""
    meta = {"source": "claude-code", "role": "assistant", "kind": "fact"}
    reply = (
        "Done. Summary:\n\n"
        "1. **Fixed Concurrent Session Logic** (`hooks_geminicli_handlers.go`):\n"
        "   - `checkConcurrentSessionsGemini()`: no longer blocks the prompt\n"
        "   - removed blocking checkpoint creation in `handleGeminiAfterAgent()`\n"
    )
    items = [
        MemoryItem("t", "fix the gemini hooks", metadata={"kind": "task"}, created_at=T0),
        MemoryItem("a", reply, metadata=meta, created_at=T0 + timedelta(minutes=1)),
    ]
    decisions = session_digest(items, 400).sections["decisions"].splitlines()
    lead_in = "- Fixed Concurrent Session Logic (`hooks_geminicli_handlers.go`)"
    assert f"{lead_in}: removed blocking checkpoint creation in `handleGeminiAfterAgent()`" in (
        decisions
    )
    assert f"{lead_in}." not in decisions
