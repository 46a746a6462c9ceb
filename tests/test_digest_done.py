"""The agent's announcement of a change, said as the change made when an edit that succeeded
carried it out (``memcore.digest_done``)."""

from __future__ import annotations

import pytest

from memcore import session_digest
from memcore.digest_done import as_done
from tests.test_transcript_agent_records import CWD, _Records


@pytest.mark.parametrize(
    ("announced", "done"),
    [
        ("Now let me wire `Transition()` into `InitializeSession`.", "Wired `Transition()` "
         "into `InitializeSession`."),
        ("Now update the route map - rename `typegen` to `codegen` and add the new flags.",
         "Updated the route map - renamed `typegen` to `codegen` and added the new flags."),
        ("Let me now write the tests for `f` as well, then implement all changes together.",
         "Wrote the tests for `f` as well."),  # (the later step: not done yet)
        ("I'll fix the rounding in `total()`", "Fixed the rounding in `total()`."),
        ("Let me check `f` first.", None),  # (a look, not a change)
        ("Update the tests.", None),  # (no opener: an instruction as often)
        ("Now let me fix these:", None),  # (the change is in the list that follows)
        ("Should I update `f`?", None),
    ],
)  # fmt: skip
def test_an_announced_change_is_said_as_made(announced: str, done: str | None) -> None:
    assert as_done(announced) == done


def _announced_then(result: str, is_error: bool = False) -> str:
    """The digest's decisions of a reply announcing a change, then an edit with ``result``."""
    records = _Records()
    records.user("make the total round half up")
    records.said("Now let me wire `round_half_up()` into `total()` in `cart.py`.")
    edit = {"file_path": f"{CWD}/cart.py", "old_string": "x", "new_string": "y"}
    use_id = f"toolu_{len(records.lines):04d}"
    block = {"type": "tool_use", "id": use_id, "name": "Edit", "input": edit}
    records._base("assistant", {"role": "assistant", "content": [block]})
    answer: dict[str, object] = {"type": "tool_result", "tool_use_id": use_id, "content": result}
    if is_error:
        answer["is_error"] = True
    records.user([answer])
    return session_digest(records.items(), 2000).sections.get("decisions", "")


def test_the_digest_says_an_announced_change_as_made_once_an_edit_made_it() -> None:
    text = _announced_then("The file has been updated.")
    assert "- Wired `round_half_up()` into `total()` in `cart.py`." in text
    assert "let me wire" not in text


def test_an_announced_change_whose_edit_failed_is_no_result() -> None:
    """Its edit failed: the announcement stays what it was, the agent's next step, which is no
    result line at all (the failure's own line says what happened)."""
    failed = "<tool_use_error>String to replace not found in file.</tool_use_error>"
    text = _announced_then(failed, is_error=True)
    assert "Wired `round_half_up()`" not in text
    assert "let me wire" not in text
