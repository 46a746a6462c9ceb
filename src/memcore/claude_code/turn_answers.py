"""What the agent answered to a request: shown beside a recalled request.

A question asked in a later session often matches the user's own request best (its words are
the user's, as the question's are), while the answer the agent gave in that turn says the same
thing in other words ("why does every command hang?" against "``Close()`` blocks: a timeout of
0 waits for ever"). ``recall`` shows a request with the agent's last conclusion of its turn, as
it shows an error with the change that fixed it.
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore.model import MemoryItem

#: The most characters of the answer shown beside a request (cut at a word).
ANSWER_CHARS = 240
#: What the agent says that answers: a conclusion, a decision, a reply to the user's question.
_ANSWERING = ("conclusion", "decision", "answer")


def turn_answer(items: Sequence[MemoryItem], request: MemoryItem) -> str:
    """The agent's last conclusion (else its last words) in ``request``'s turn: after the
    request and before the user's next one, among the session's ``items``; "" when none."""
    start = request.created_at
    end = min(
        (i.created_at for i in items if i.created_at > start and i.metadata.get("kind") == "task"),
        default=None,
    )
    said = [
        item
        for item in items
        if item.metadata.get("kind") == "fact"
        and item.metadata.get("role") == "assistant"
        and item.created_at > start
        and (end is None or item.created_at < end)
        and item.content.strip()
    ]
    if not said:
        return ""
    said.sort(key=lambda item: item.created_at)
    answering = [i for i in said if i.metadata.get("statement") in _ANSWERING]
    return _cut(" ".join((answering or said)[-1].content.split()))


def _cut(text: str) -> str:
    if len(text) <= ANSWER_CHARS:
        return text
    cut = text[: ANSWER_CHARS - 3].rsplit(" ", 1)[0]
    return f"{cut}..."


__all__ = ["ANSWER_CHARS", "turn_answer"]
