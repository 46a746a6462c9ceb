"""Ungluing an agent's text: lists and sentences whose line breaks were lost ("The problem
is:1. Prompt starts2. Claude edits") made lists again, and the one-pass index of what is code
(fences, code spans) that it and the digest read."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from memcore.claude_code.unglue import _Code, unglue_lists


@pytest.mark.parametrize(
    ("glued", "listed"),
    [
        (  # a list whose line breaks were lost, some of them
            "The problem is:1. Prompt starts\n2. Claude edits files3. Claude commits",
            "The problem is:\n1. Prompt starts\n2. Claude edits files\n3. Claude commits",
        ),
        (
            "The user either:1. Hasn't rebuilt the binary2. Or runs a stale copy.",
            "The user either:\n1. Hasn't rebuilt the binary\n2. Or runs a stale copy.",
        ),
        ("We build with python3. The wheel follows.", None),  # no list: no 1.
        ("Tag v1. Then tag v2. Done.", None),  # versions, not items
        ("1. First\n2. Second", None),  # already a list
        (  # bullets whose line breaks were lost: glued after a colon, a word, a parenthesis
            "Better because:- Builds once (faster)- Runs anywhere\n- Needs no Go",
            "Better because:\n- Builds once (faster)\n- Runs anywhere\n- Needs no Go",
        ),
        (
            "It has:- `StartedAt`\n- `AgentType`",
            "It has:\n- `StartedAt`\n- `AgentType`",
        ),
        (  # a bullet after a sentence's end, its line break lost
            "Not what I need. - `a.Get` counts\n- `a.Put` writes",
            "Not what I need.\n- `a.Get` counts\n- `a.Put` writes",
        ),
        (  # a sentence glued onto a code span
            "It maps to `transcript_path`So `input.SessionRef` is right",
            "It maps to `transcript_path`\nSo `input.SessionRef` is right",
        ),
        ("I found it!Session `a` has none", "I found it! Session `a` has none"),
        ("Two `items`s and `B`", None),  # a plural after a span, a span at the end
        ("```Done\n```This is from `Init()` here", None),  # a glued fence is no span
        ("One glued:- Item, and no other bullet.", None),  # one bullet makes no list
        ("A well-known fix - Not an item\n- item", None),  # a hyphen in a word, a dash
        ("Run `a:- B` then:\n- step", None),  # in a code span
        ("```\nx:- Y\nz:- W\n```", None),  # in a fenced block
    ],
)
def test_unglue_lists(glued: str, listed: str | None) -> None:
    assert unglue_lists(glued) == (glued if listed is None else listed)


_GLUE_TEXT = st.text(alphabet="`-: .!?\n1234AaBbSo()", max_size=60)


@settings(max_examples=300, deadline=None)
@given(text=_GLUE_TEXT)
def test_ungluing_only_moves_blanks_and_is_stable(text: str) -> None:
    """Ungluing adds line breaks and blanks, and drops blanks before a break: never a word."""
    unglued = unglue_lists(text)
    assert "".join(unglued.split()) == "".join(text.split())
    assert unglue_lists(unglued) == unglue_lists(unglued) == unglued or unglued != text


@settings(max_examples=300, deadline=None)
@given(text=_GLUE_TEXT, at=st.integers(min_value=0, max_value=60))
def test_code_index_answers_as_counting_does(text: str, at: int) -> None:
    """The one-pass index of code agrees with counting fences and backticks before ``at``
    (anywhere but inside a fence's own three backticks, where no word starts)."""
    at = min(at, len(text))
    fence_starts = [m.start() for m in re.finditer("```", text)]  # (as str.count finds them)
    assume(not any(start < at < start + 3 for start in fence_starts))
    fenced = text.count("```", 0, at) % 2 == 1
    line_start = text.rfind("\n", 0, at) + 1
    ticks = text.count("`", line_start, at) - 3 * text.count("```", line_start, at)
    code = _Code(text)
    assert code.in_fence(at) == fenced
    assert code.in_code(at) == (fenced or ticks % 2 == 1)
