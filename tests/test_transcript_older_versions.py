"""What Claude Code 2.0 transcripts hold that the development transcripts (newer versions) do
not: a sub-agent warmed up with "Warmup" before any task (its offer of help is no result, a
real sub-agent's brief and report still are), a prompt's typed new lines stored with their
backslash, the title of the conversation a resumed one continues."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from memcore import session_digest
from memcore.claude_code import parse_lines

T0 = datetime(2025, 10, 29, 16, 0, tzinfo=timezone.utc)
SESSION = "7864f562-717b-4d70-a1cb-b588f7826a1a"


def _record(n: int, kind: str, content: Any, parent: str | None, **extra: Any) -> str:
    return json.dumps(
        {
            "type": kind,
            "uuid": f"00000000-0000-4000-8000-{n:012d}",
            "parentUuid": parent,
            "sessionId": SESSION,
            "cwd": "/work/shop",
            "timestamp": (T0 + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
            "message": {"role": kind, "content": content},
            **extra,
        }
    )


def _uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _text(text: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": text}]


@pytest.mark.parametrize("warmup", ["Warmup", _text("Warmup")])
def test_a_sub_agent_warmup_is_no_work(warmup: Any) -> None:
    side = {"isSidechain": True}
    lines = [
        _record(0, "user", "Why is the cart total off by a cent?", None),
        _record(1, "user", warmup, None, agentId="a1", **side),
        _record(
            2,
            "assistant",
            _text(
                "I'm ready to help you search through your codebase! I can see this is a "
                "Next.js blog project with several blog posts and projects."
            ),
            _uuid(1),
            agentId="a1",
            **side,
        ),
        _record(
            3, "user", "Find where `total()` rounds in `shop/cart.py`.", None, agentId="a2", **side
        ),
        _record(
            4,
            "assistant",
            _text("`total()` rounds each line in `shop/cart.py`."),
            _uuid(3),
            agentId="a2",
            **side,
        ),
        _record(5, "assistant", _text("The bug was `round()` per line in `total()`."), _uuid(0)),
    ]
    transcript = parse_lines(lines, path=f"{SESSION}.jsonl")
    contents = " ".join(item.content for item in transcript.items)
    assert transcript.skipped_types["sidechain:warmup"] == 2
    assert "ready to help" not in contents
    assert "Warmup" not in contents
    assert "Find where `total()` rounds" in contents  # a real sub-agent's brief stays
    assert "rounds each line" in contents  # and its report
    text = session_digest(transcript.items, 1000).text
    assert "ready to help" not in text
    assert "Warmup" not in text
    assert "The bug was `round()` per line in `total()`." in text


def test_warmup_said_in_the_main_conversation_is_the_user_s_words() -> None:
    """Only a sidechain's opening message is a warmup: the user may type the word."""
    lines = [_record(0, "user", "Warmup", None), _record(1, "assistant", _text("Hello."), _uuid(0))]
    transcript = parse_lines(lines, path=f"{SESSION}.jsonl")
    assert "sidechain:warmup" not in transcript.skipped_types
    assert any(item.content == "Warmup" for item in transcript.items)


def test_a_backslash_typed_for_a_new_line_is_not_kept() -> None:
    """Claude Code 2.0 stored a prompt's backslash-Enter new lines with the backslash."""
    typed = "It fails on Chrome :(\\\n\\\nThe CSS:\\\nul li span { display: ruby-base; }"
    transcript = parse_lines([_record(0, "user", typed, None)], path=f"{SESSION}.jsonl")
    (item,) = transcript.items
    assert "\\" not in item.content
    assert item.content.startswith("It fails on Chrome :(\n\nThe CSS:\nul li span")


def test_a_conversation_s_title_from_another_file_is_no_result() -> None:
    """A ``summary`` record whose leaf is in another file (the title of the conversation a
    resumed one continues) names nothing done in this one."""
    lines = [
        json.dumps({"type": "summary", "summary": "CSS Details Margin Styling", "leafUuid": "x"}),
        _record(1, "user", "Why does the menu overlap?", None),
        _record(2, "assistant", _text("The margin on `details` doubled it."), _uuid(1)),
    ]
    text = session_digest(parse_lines(lines, path=f"{SESSION}.jsonl").items, 2000).text
    assert "CSS Details Margin Styling" not in text
    assert "The margin on `details` doubled it." in text
