"""A reply that only agrees ("Go ahead.") is said with the question it answered: alone, "The user
asked: Go ahead." says nothing of what was agreed to."""

from __future__ import annotations

from memcore import session_digest
from tests.test_transcript_agent_records import _Records


def _asked(reply: str, closing: str) -> str:
    records = _Records()
    records.user("add some log output to the wingman command")
    records.said(f"I'd log each step to `.entire/logs/wingman.log`.\n\n{closing}")
    records.user(reply)
    records.said("Done: `wingman.go` now logs each step.")
    return session_digest(records.items(), 2000).sections["asked"]


def test_an_agreement_is_said_with_the_question_it_answered() -> None:
    closing = "Shall I go ahead with this, or do you have a different preference?"
    asked = _asked("Go ahead.", closing)
    assert f'- The user answered "{closing}": Go ahead.' in asked
    assert "The user asked: Go ahead." not in asked


def test_a_reply_that_says_more_or_answers_no_question_is_a_request() -> None:
    closing = "Shall I go ahead with this, or do you have a different preference?"
    asked = _asked("Go ahead, but log to stderr too.", closing)
    assert "The user asked: Go ahead, but log to stderr too." in asked
    plain = _asked("Go ahead.", "That is the plan.")
    assert "The user answered" not in plain
