"""What an agent did right after it spoke: the tool calls its words led to.

An agent announces its work in words and does it in tool calls: "Now update the type union in
the command file." is followed by ``Edit `packages/cli/src/bin/json-output.ts```. The words say
why, the call says which file; asked later what changed the type union, recall finds the words,
and the file is only in the call after them. The import keeps, on each of the agent's texts
(its statements and its thinking), the first line of the tool calls that followed it in the
same turn (``metadata["then"]``, the first ``MAX_ACTIONS``), which ``recall`` shows beside the
words (``memcore.claude_code.recall_rank.shown_hit``). A request of the user, or the agent's
next text, ends what a text led to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from memcore.model import MemoryItem

#: The tool calls kept after one text, and the characters kept of each one's first line.
MAX_ACTIONS = 3
ACTION_CHARS = 200
#: The agent's own words: what a following tool call was announced by.
_SPEAKING = frozenset(("fact", "thinking"))
#: What the user says (or, to a sub-agent, its brief): a turn's end, which nothing before it led to.
_TURN_ENDS = frozenset(("task", "preference", "shortcut", "summary", "brief"))


def action_line(content: str) -> str:
    """A tool call as ``then`` keeps it: its first line, cut at ``ACTION_CHARS``."""
    line = content.strip().split("\n", 1)[0].strip()
    if len(line) <= ACTION_CHARS:
        return line
    cut = line[: ACTION_CHARS - 3].rsplit(" ", 1)[0]
    return f"{cut}..."


class NextActions:
    """Watches a transcript's items in order and notes on each agent text the calls after it."""

    __slots__ = ("_noted", "_open")

    def __init__(self) -> None:
        self._open: dict[str, Any] | None = None  # the metadata of the last text, while open
        self._noted: dict[str, tuple[list[str], int]] = {}  # call id -> where its line is

    def seen(self, item: MemoryItem) -> None:
        meta = item.metadata
        kind = meta.get("kind")
        if kind == "tool_call":
            if self._open is not None:
                then = self._open.setdefault("then", [])  # (a text no call follows has none)
                if len(then) < MAX_ACTIONS:
                    self._noted[item.id] = (then, len(then))
                    then.append(action_line(item.content))
        elif kind in _SPEAKING and meta.get("role") == "assistant":
            self._open = meta
        elif kind in _TURN_ENDS:
            self._open = None

    def reopen(
        self,
        text: MemoryItem | None,
        noted: Mapping[str, tuple[MemoryItem, int]],
        held: int = MAX_ACTIONS,
        read_again: Iterable[MemoryItem] = (),
    ) -> None:
        """Go on as the watch of the items before where a parse that reads on starts left
        off (see ``replay``): noting calls on ``text`` (a copy), the agent's last words if
        their turn goes on, and ready to say again the lines ``noted`` of calls whose result is
        to come (by call id: the text that noted it and where in its ``then``).

        ``read_again``: the stored calls of the records this parse reads that would be noted
        on ``text`` (:func:`calls_on_open_text`; a save that read further stored them: one at
        the same time, or one that died before it said how far it read), and ``held`` how many
        calls its ``then`` held before them. The lines of those calls at its end, past
        ``held``, are taken off, to be noted again as the calls are read: each once, as one
        parse of the whole transcript notes it. (Both are read off stored items, ordered by
        time: where a call and its text share a time, ``held`` may be short, and the lines
        taken off are only those of calls read again.)"""
        opened = None if text is None else text.metadata
        if opened is not None and not isinstance(opened.get("then", []), list):
            opened = None  # (stored metadata is anyone's: a ``then`` that is no list is closed)
        if opened is not None and opened.get("then"):
            again = Counter(action_line(call.content) for call in read_again)
            then = opened["then"]
            # (a line that is no text is none a call makes: left, as anyone's metadata is)
            while len(then) > held and isinstance(then[-1], str) and again[then[-1]] > 0:
                again[then.pop()] -= 1
            if not then:
                del opened["then"]  # (as a text no call follows has none)
        self._open = opened
        for call_id, (noter, at) in noted.items():
            then = noter.metadata.get("then")
            if isinstance(then, list) and at < len(then):
                self._noted[call_id] = (then, at)

    def said_again(self, call: MemoryItem) -> None:
        """``call``'s content changed (its result told more of it): the line noted of it too."""
        noted = self._noted.get(call.id)
        if noted is not None:
            then, at = noted
            then[at] = action_line(call.content)


def replay(
    items: Iterable[MemoryItem],
) -> tuple[MemoryItem | None, int, dict[str, tuple[MemoryItem, int]]]:
    """How :class:`NextActions` would stand after ``items`` (in transcript order, as an
    earlier parse made them): the agent text calls would still be noted on (None when a turn
    ended since), how many of its calls were noted, and by call id the text that noted each
    call and where in its ``then``."""
    current: MemoryItem | None = None
    count = 0
    noted: dict[str, tuple[MemoryItem, int]] = {}
    for item in items:
        step = _step(item)
        if step == "call":
            if current is not None and count < MAX_ACTIONS:
                noted[item.id] = (current, count)
                count += 1
        elif step == "text":
            current, count = item, 0
        elif step == "end":
            current = None
    return current, count, noted


def _step(item: MemoryItem) -> str:
    """What ``item`` is in a turn, as the watch reads it: a tool ``call``, the agent's ``text``,
    the turn's ``end``, or nothing of these ("")."""
    meta = item.metadata
    kind = meta.get("kind")
    if not isinstance(kind, str):  # (stored metadata is anyone's)
        return ""
    if kind == "tool_call":
        return "call"
    if kind in _SPEAKING and meta.get("role") == "assistant":
        return "text"
    return "end" if kind in _TURN_ENDS else ""


def calls_on_open_text(items: Iterable[MemoryItem]) -> list[MemoryItem]:
    """The tool calls among ``items`` (in transcript order) that a watch would note on the
    text open before them: those before the agent's next text or the turn's end."""
    calls = []
    for item in items:
        step = _step(item)
        if step == "call":
            calls.append(item)
        elif step:
            break
    return calls


def next_actions(item: MemoryItem) -> list[str]:
    """The tool calls ``item`` led to, as the import noted them (none for other items)."""
    then = item.metadata.get("then")
    if not isinstance(then, list):
        return []
    return [action for action in then if isinstance(action, str) and action]


__all__ = [
    "ACTION_CHARS",
    "MAX_ACTIONS",
    "NextActions",
    "action_line",
    "calls_on_open_text",
    "next_actions",
    "replay",
]
