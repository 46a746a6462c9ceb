"""The user's answers to the agent's questions (Claude Code's ``AskUserQuestion`` tool): what
the user chose, or wrote instead of choosing, is the user's word on the work, as much as a
message is ("Yes, run the tests"; "the only way to suppress this warning is via a flag"), not
a tool's output.

The structured result (``toolUseResult``: ``questions``, and ``answers`` by question) is read
first; the result's text (``User has answered your questions: "Q"="A", ...``) otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memcore.lazy_re import lazy_compile

#: The most words of a question said beside its answer.
QUESTION_WORDS = 30
#: The most answers one result gives (a form of a few questions; more is no answer).
MAX_ANSWERS = 8
_PAIR = lazy_compile(r'"([^"\n]{1,2000})"="([^"\n]{1,4000})"')
_LEAD = "User has answered your questions:"


def user_answers(tool_use_result: Any, text: str) -> list[tuple[str, str]]:
    """The (question, answer) pairs of an ``AskUserQuestion`` result, in the questions' order;
    none when it holds no answer (the user declined, the result is not one)."""
    pairs: list[tuple[str, str]] = []
    if isinstance(tool_use_result, Mapping) and isinstance(tool_use_result.get("answers"), Mapping):
        answers = tool_use_result["answers"]
        for question, answer in answers.items():
            if isinstance(question, str) and isinstance(answer, str):
                pairs.append((question, answer))
    elif text.lstrip().startswith(_LEAD):
        pairs = _PAIR.findall(text)
    kept = [(" ".join(q.split()), " ".join(a.split())) for q, a in pairs]
    return [(q, a) for q, a in kept if q and a][:MAX_ANSWERS]


def answer_text(question: str, answer: str) -> str:
    """An answer as the user's message: the answer, then the question it answers (cut)."""
    words = question.split()
    asked = " ".join(words[:QUESTION_WORDS]) + (" ..." if len(words) > QUESTION_WORDS else "")
    return f'{answer} (answering "{asked}")'


__all__ = ["MAX_ANSWERS", "QUESTION_WORDS", "answer_text", "user_answers"]
