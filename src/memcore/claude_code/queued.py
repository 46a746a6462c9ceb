"""Messages the user typed while the agent worked: Claude Code's queue of them, in its two forms.

Claude Code queues such a message (a ``queue-operation`` record, ``enqueue``: until newer
versions, the only record holding its text), then either hands it to the agent in the turn under
way (``remove``) or sends it as the next turn (``dequeue``). Older versions follow a ``dequeue``
with a user record; newer ones deliver the message, either way, as an ``attachment`` record of
type ``queued_command`` (its ``prompt``, with ``commandMode`` ``"prompt"`` and an ``origin`` of
kind ``"human"`` when a person typed it; Claude Code's own notices travel the same way). So a
message is taken once: at its ``remove``, or at its attachment when no ``remove`` took it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from memcore.claude_code.masking import masker
from memcore.claude_code.records import block_texts, scaffolding_kind

#: The most texts remembered as taken at a ``remove`` while waiting for an attachment that may
#: repeat them (versions that write none never clear them; a session queues a few dozen).
TAKEN_KEPT = 256


def typed(text: str) -> bool:
    """Whether a queued message is the user's: not Claude Code's scaffolding (a sub-agent's or
    background task's notice) nor a JSON object (how it queues a background task's record)."""
    if scaffolding_kind(text) is not None:
        return False
    if text.lstrip().startswith("{"):
        try:
            return not isinstance(json.loads(text), dict)
        except (ValueError, RecursionError):
            return True
    return True


def prompt_text(prompt: object) -> str | None:
    """A queued command's prompt: a string, or content blocks whose text parts are joined (an
    image shows as ``[image]``). None when it holds no words (blanks, images alone)."""
    if isinstance(prompt, str):
        return prompt if prompt.strip() else None
    if not isinstance(prompt, list):
        return None
    parts = block_texts(prompt)
    words = any(part != "[image]" and part.strip() for part in parts)
    return "\n".join(parts) if words else None


def typed_prompt(attachment: Mapping[str, Any]) -> str | None:
    """The text of a ``queued_command`` attachment when a person typed it (its mode a prompt,
    its origin human, when it says either), else None."""
    mode = attachment.get("commandMode")
    if mode is not None and mode != "prompt":
        return None  # a task's notification, a shell command, ...
    origin = attachment.get("origin")
    if isinstance(origin, Mapping) and origin.get("kind", "human") != "human":
        return None
    text = prompt_text(attachment.get("prompt"))
    return text if text is not None and typed(text) else None


class MessageQueue:
    """The queue of one parse: messages enqueued and not yet taken, and the texts a ``remove``
    took, which an attachment may deliver again. An incremental parse (a save mid-turn, as
    ``pre-compact`` may be) goes on with the queue the records before its offset leave
    (:func:`queue_before`, read at its first queue record: ``before``): a message enqueued
    before the offset and taken after it is taken, once."""

    def __init__(self, before: tuple[Path, int] | None = None) -> None:
        self.waiting: list[dict[str, Any]] = []
        self.taken: dict[str, int] = {}  # text -> removes not yet matched by an attachment
        # (file, offset) whose records before the offset this queue has yet to replay: done
        # at its first record, so a save whose new records hold none reads nothing before
        self._before = before

    def _replay_before(self) -> None:
        if self._before is not None:
            path, offset = self._before
            self._before = None
            try:
                earlier = queue_before(path, offset)
            except OSError:  # (the file gone or unreadable since: the queue as it stands)
                return
            self.waiting[:0] = earlier.waiting
            self.taken = {**earlier.taken, **self.taken}

    def operation(self, rec: Mapping[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        """A ``queue-operation`` record: whether it was one this queue knows, and the enqueued
        record (its ``content``, ``timestamp`` and ``sessionId``) to take now as a user message
        (at a ``remove``)."""
        self._replay_before()
        operation = rec.get("operation")
        if operation == "enqueue" and isinstance(rec.get("content"), str):
            if typed(rec["content"]):  # Claude Code queues its own notices too
                self.waiting.append(dict(rec))
            return True, None
        if operation not in ("remove", "dequeue") or not self.waiting:
            return False, None
        first = self.waiting.pop(0)
        if operation == "dequeue":
            return True, None  # a user record or an attachment delivers it
        text = first["content"]
        self.taken[text] = self.taken.pop(text, 0) + 1
        while len(self.taken) > TAKEN_KEPT:
            del self.taken[next(iter(self.taken))]
        return True, first

    def delivered(self, rec: Mapping[str, Any], text: str) -> dict[str, Any] | None:
        """An attachment record delivering the typed ``text``: the message to take (shaped like
        an enqueued record, timed by the attachment), or None when a ``remove`` took it."""
        self._replay_before()
        left = self.taken.get(text)
        if left is not None:
            if left > 1:
                self.taken[text] = left - 1
            else:
                del self.taken[text]
            return None
        message = {name: rec[name] for name in ("timestamp", "sessionId", "cwd") if name in rec}
        message["content"] = text
        return message

    def replay(self, rec: Mapping[str, Any]) -> None:
        """Apply a record read before an incremental parse's offset: a queue operation, or a
        delivery (``queued_command`` attachment) that matches a ``remove``; nothing is taken."""
        kind = rec.get("type")
        if kind == "queue-operation":
            self.operation(rec)
        elif kind == "attachment":
            attached = rec.get("attachment")
            if isinstance(attached, Mapping) and attached.get("type") == "queued_command":
                text = typed_prompt(attached)
                if text is not None:
                    self.delivered(rec, text)


#: What the lines that can change the queue hold (the records are rare: most files have none).
_QUEUE_MARKS = (b'"queue-operation"', b'"queued_command"')
#: How much of a file the replay reads at once.
_CHUNK = 1 << 22


def queue_before(path: Path, offset: int) -> MessageQueue:
    """The queue as the records of ``path`` before byte ``offset`` leave it: only the lines
    holding a queue operation or a queued message's delivery are decoded (a search for their
    marks, chunk by chunk), their secrets masked as the parse masks every line (a message
    queued before the offset is taken after it); a line that does not decode is passed over,
    as the parse did."""
    mask = masker()
    queue = MessageQueue()
    carried = b""
    left = offset
    with path.open("rb") as file:
        while left > 0:
            data = file.read(min(_CHUNK, left))
            if not data:
                break
            left -= len(data)
            data = carried + data
            end = len(data) if left <= 0 else data.rfind(b"\n") + 1
            carried = data[end:]
            for line in _marked_lines(data[:end]):
                try:
                    rec = json.loads(mask(line))
                except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
                    continue
                if isinstance(rec, dict):
                    queue.replay(rec)
    return queue


def _marked_lines(data: bytes) -> list[bytes]:
    """The lines of ``data`` holding one of ``_QUEUE_MARKS``, in order, each once."""
    starts: set[int] = set()
    for mark in _QUEUE_MARKS:
        at = data.find(mark)
        while at >= 0:
            start = data.rfind(b"\n", 0, at) + 1
            starts.add(start)
            stop = data.find(b"\n", at)
            at = data.find(mark, len(data) if stop < 0 else stop)
    lines = []
    for start in sorted(starts):
        stop = data.find(b"\n", start)
        lines.append(data[start : len(data) if stop < 0 else stop])
    return lines


__all__ = [
    "TAKEN_KEPT",
    "MessageQueue",
    "prompt_text",
    "queue_before",
    "typed",
    "typed_prompt",
]
