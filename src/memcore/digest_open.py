"""What a digest says is still open: the task list's steps not done (and those done), the
latest request not answered yet, the agent's offer or question at the end of its last turn, and
the work under way when a session was cut off mid-turn. Part of :mod:`memcore.digest_lines`,
which calls these with its pass over the items.
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore.claude_code.records import command_request
from memcore.claude_code.tools import EDIT_TOOLS, quoted_list
from memcore.digest_asked import REQUEST_WORDS
from memcore.digest_prose import (
    BULLET,
    SENTENCE_WORDS,
    Candidate,
    cut_word_list,
    cut_words,
)
from memcore.digest_work import code_span, shown_path
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

_OPEN_WORDS = lazy_compile(
    r"(?i)\b(todo|next step|still (need|to)|not yet|pending|follow[- ]up|open question|"
    r"left to do|should (we|i)|would you like|do you want"
    # "remaining" of work only ("The remaining ~20ms is the `f()` call" is a measurement)
    r"|remaining (work|tasks?|steps?|items?|issues?|todos?|failures?|errors?|bugs?|changes))\b"
)
#: The same words saying that nothing is open ("no remaining issues", "nothing pending").
_NOTHING_OPEN = lazy_compile(r"(?i)\b(no|nothing|none|zero)\s+(remaining|pending|follow[- ]up)")
#: The agent's offer at the end of its turn ("Would you like me to also add X?"): said as one.
_OFFER = lazy_compile(
    r"(?i)^(?:would you like|do you want|want) me to\s+(.+?)\?*$|^(?:shall|should) i\s+(.+?)\?*$"
)


#: How the line of the latest request, not answered yet, starts (the digest seeds it: it is
#: what a next session must take up).
LATEST_OPEN = "- The latest request is not answered yet: "


#: How the line of the work under way when the items end starts (the agent was mid-turn).
UNDER_WAY = "- Under way when the session stopped: "
#: The words of the agent's last statement that line quotes.
_UNDER_WAY_WORDS = 40


def under_way(items: Sequence[MemoryItem], since: int, root: str | None) -> list[Candidate]:
    """The work under way when the items end, for a session cut off mid-turn (a compaction, a
    crash, a user who closed it): where the agent had got to (its last words) and the files it
    changed since its last result or the user's last request. Nothing when it said nothing
    since: a line of file names alone says no more than the files' own lines."""
    said: tuple[int, str] | None = None
    changed: dict[str, None] = {}
    for seq in range(max(since, 0), len(items)):  # (the result itself may say the next step)
        meta = items[seq].metadata
        kind = meta.get("kind")
        if kind == "fact" and meta.get("role") == "assistant" and not meta.get("meta"):
            said = (seq, " ".join(BULLET.sub("", items[seq].content).split()))
        elif kind == "tool_call" and meta.get("tool") in EDIT_TOOLS and meta.get("file_path"):
            shown = shown_path(meta, root)
            changed.pop(shown, None)  # the latest last
            changed[shown] = None
    if said is None:
        return []
    text = cut_words(said[1], _UNDER_WAY_WORDS)
    if changed:
        text += f" (changing {quoted_list(list(changed)[-3:])})"
    return [Candidate("open", said[0], 5.5, f"{UNDER_WAY}{text}")]


def open_lines(
    todos: dict[str, tuple[int, str]],
    last_task: tuple[int, MemoryItem] | None,
    answered_at: int,
    items: Sequence[MemoryItem],
    n: int,
) -> list[Candidate]:
    out: list[Candidate] = []
    for content, (seq, status) in todos.items():
        if status in ("pending", "in_progress"):
            state = "in progress" if status == "in_progress" else "pending"
            out.append(Candidate("open", seq, 6.0 + seq / n, f"- Still {state}: {content}"))
        elif status == "completed":
            out.append(Candidate("decisions", seq, 4.0 + seq / n, f"- Done: {content}"))
    if last_task is not None and last_task[0] > answered_at:
        seq, item = last_task
        command, words = command_request(item.content.split())  # (a request to a command)
        text = cut_word_list(words, REQUEST_WORDS)
        asked = f"{code_span(command)}: {text}" if command else text
        out.append(Candidate("open", seq, 8.0, f"{LATEST_OPEN}{asked}"))
    for seq in range(len(items) - 1, max(-1, len(items) - 40), -1):
        item = items[seq]
        if item.metadata.get("kind") == "fact" and item.metadata.get("role") == "assistant":
            for sentence in item.content.splitlines():
                if (
                    _OPEN_WORDS.search(sentence)
                    and len(sentence.split()) >= 4
                    and not _NOTHING_OPEN.search(sentence)
                ):
                    said = _as_offer(BULLET.sub("", sentence).strip())
                    out.append(Candidate("open", seq, 5.5, f"- {cut_words(said, SENTENCE_WORDS)}"))
            break
    return out


def _as_offer(sentence: str) -> str:
    """ "Would you like me to also add **X**?" as what it is, an offer the user has not taken
    up: "The agent offered to also add X." (a question to the user reads as one to the
    reader)."""
    found = _OFFER.match(sentence)
    if found is None or " or " in sentence:  # (a choice put to the user stays a question)
        return sentence
    offered = (found.group(1) or found.group(2)).replace("**", "").removesuffix(" for you")
    verb = "offered" if found.group(1) is not None else "asked whether"
    return f"The agent {verb} to {offered}."


__all__ = ["LATEST_OPEN", "UNDER_WAY", "open_lines", "under_way"]
