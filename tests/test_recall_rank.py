"""What ``recall`` shows of a long hit: the part where the question's words are."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memcore.claude_code import recall_rank
from memcore.claude_code.recall_rank import (
    LEAD_CHARS,
    SHOWN_CHARS,
    WORD_END_BACK,
    question_terms,
    shown_text,
    word_forms,
)
from tests.conftest import IMPLEMENTATIONS, import_kernel

_WORDS = st.sampled_from(["alpha", "beta", "gamma", "fix", "rounding", "x", "longerword"])


def _body(shown: str) -> str:
    body = shown[3:] if shown.startswith("...") else shown
    return body[:-3] if body.endswith("...") else body


@given(st.lists(_WORDS, max_size=400), st.lists(_WORDS, max_size=3))
def test_a_hit_is_shown_within_its_size_as_a_piece_of_its_text(
    words: list[str], terms: list[str]
) -> None:
    text = " ".join(words)
    shown = shown_text(text, terms)
    assert len(shown) <= SHOWN_CHARS
    if len(text) <= SHOWN_CHARS:
        assert shown == text
    else:
        assert _body(shown) in text
        if set(terms) & set(words):  # where a word looked for is, the window shows one
            assert set(terms) & set(_body(shown).split())


def test_a_long_hit_is_shown_where_the_question_s_words_are() -> None:
    text = "Intro words here. " * 60 + "The fix was in parse_total: rounding ran twice. "
    text += "Tail words. " * 50
    shown = shown_text(text, ["rounding", "fix"])
    assert shown.startswith("...")
    assert shown.endswith("...")
    assert "The fix was in parse_total: rounding ran twice." in shown
    before = shown.index("The fix")
    assert 3 < before <= LEAD_CHARS + 3  # a little of what leads to it
    start = shown_text(text)  # no words: from the start, to a word's end
    assert start.endswith("here....")
    assert text.startswith(start[:-3])
    assert SHOWN_CHARS - 3 - 40 <= len(start) - 3 <= SHOWN_CHARS - 3
    assert shown_text(text, ["absent"]) == shown_text(text)
    end = shown_text("a " * 400 + "rounding end", ["rounding"])
    assert end.endswith("rounding end")
    assert end.startswith("...a ")  # (from a word, not from the space before it)
    assert len(end) == SHOWN_CHARS - 1


def test_a_cut_window_ends_at_a_word_not_inside_one() -> None:
    text = "Found it: " + "the reason was " * 50 + "FileModificationTools was missing a handler"
    shown = shown_text(text, ["reason"])
    assert shown.endswith(" was...") or shown.endswith(" the...") or shown.endswith(" reason...")
    head = shown_text("word " * 200, ["absent"])
    assert head.endswith("word...")
    solid = shown_text("x" * 2000)  # no space to end at: cut where the window ends
    assert len(solid) == SHOWN_CHARS


def test_a_word_is_looked_for_by_its_base_without_made_up_forms() -> None:
    assert word_forms("linter") == ["lint", "linte"]
    assert word_forms("running") == ["runn", "run"]
    assert word_forms("handles") == ["handle"]
    assert word_forms("speed") == ["speeds"]  # "eed" is no ending
    assert word_forms("string") == ["strings"]  # "str" is no stem
    assert word_forms("uses") == ["use"]  # and never "user"
    assert word_forms("api") == []


def test_a_word_too_long_for_the_window_is_no_place_to_show() -> None:
    """A matched word as long as the window itself (a hash, a blob) cannot anchor it, and an
    uppercase letter whose lowercase is longer ("İ") counts by the text's own length."""
    assert len(shown_text("x " * 10 + "a" * 600, ["a" * 600])) == SHOWN_CHARS
    assert len(shown_text("İ" * 300 + " tail", ["i\u0307" * 300])) <= SHOWN_CHARS
    assert "needle" in shown_text("b " * 400 + "a" * 600 + " needle", ["a" * 600, "needle"])


def test_runs_of_a_command_that_succeeded_are_one_hit_and_its_failures_stay_apart() -> None:
    from memcore.claude_code.recall_rank import rank
    from memcore.model import MemoryItem

    def result(key: str, text: str, **meta: object) -> tuple[str, MemoryItem, float]:
        command = "mise run lint 2>&1"
        item = MemoryItem(
            key,
            text,
            metadata={"kind": "tool_result", "command": command, "source": "claude-code", **meta},
        )
        return "s", item, 1.0

    hits = [
        result("a", "`mise run lint 2>&1` succeeded (exit 0): lint passed in 1.2s", exit_code=0),
        result("b", "`mise run lint` succeeded (exit 0): lint passed in 1.3s", exit_code=0),
        result("c", "`mise run lint` failed (exit 1): unused var x", exit_code=1, is_error=True),
        result("d", "`mise run lint` failed (exit 1): missing return", exit_code=1, is_error=True),
        # (a run started in the background said only that it started: no success of its own)
        result("e", "`mise run lint` started in the background", exit_code=0, task_id="t1"),
    ]
    assert [item.id for _, item, _ in rank(hits, 10)] == ["a", "c", "d", "e"]


_WHOLE = ["alpha", "beta", "gamma", "rounding", "longerword", "FileModificationTools", "needle"]
_SOME = st.lists(st.sampled_from(_WHOLE[:-1]), min_size=80, max_size=300)


@given(_SOME, st.lists(st.sampled_from(_WHOLE[:-1]), max_size=20), st.booleans())
def test_a_cut_hit_shows_whole_words_at_both_ends(
    words: list[str], tail: list[str], at_the_end: bool
) -> None:
    """The part shown of a long hit starts and ends at a word: one shown to the text's end
    started at a fixed offset, inside a word (``...eModificationTools``)."""
    text = " ".join([*words, "needle", *tail] if at_the_end else words)
    shown = _body(shown_text(text, ["needle"] if at_the_end else ["rounding"])).split()
    assert not shown or {shown[0], shown[-1]} <= set(_WHOLE)


def test_a_hit_shown_to_its_end_starts_at_a_word() -> None:
    text = " ".join(["FileModificationTools"] * 40) + " needle"
    shown = shown_text(text, ["needle"])
    assert shown.startswith("...FileModificationTools ")
    assert text.endswith(shown[3:])
    assert SHOWN_CHARS - WORD_END_BACK <= len(shown) <= SHOWN_CHARS


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_a_long_hit_is_shown_where_a_code_name_has_the_question_s_words(
    impl: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hit found by the words of a compound code name (the index's ``code_words``) is shown
    at that name, whole: the window looked for whole words only, and showed the hit's first
    600 characters, without the name it was found by."""
    monkeypatch.setattr(recall_rank, "_search_kernels", import_kernel("search", impl))
    name = "TestInitializeSession_SetsPhaseActive"
    filler = " ".join(f"word{n}" for n in range(300))
    terms = question_terms("phase active test").split()
    middle = shown_text(f"{filler} Fixed {name} so that it passes now. {filler}", terms)
    assert middle.startswith("...")
    assert middle.endswith("...")
    assert f" Fixed {name} so that" in middle
    end = shown_text(f"{filler} Finally, {name} was flaky; froze the clock.", terms)
    assert end.endswith(f"Finally, {name} was flaky; froze the clock.")
    assert end[3:].startswith("word")  # (shown to the end: from a word's start)
    assert shown_text(f"{filler} {name}", ["session"]).endswith(name)
