"""Sub-agent warmups: Claude Code (2.0 versions) opens a sub-agent by sending it "Warmup", to
fill its prompt cache before any task, and the sub-agent answers with an offer of help ("I'm
ready to help you search through your codebase!"). Neither is work: said in a digest, the
answer reads as a result, the "Warmup" as the agent's brief. The whole exchange is left out,
the warmup message and every sidechain record that follows from it (by ``parentUuid``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: What Claude Code sends a sub-agent to warm it up.
WARMUP = "Warmup"


def _text(message: Any) -> str | None:
    """A message's whole text: its string content, or its one text block's."""
    if not isinstance(message, Mapping):
        return None
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list) and len(content) == 1 and isinstance(content[0], Mapping):
        block = content[0]
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            return str(block["text"])
    return None


class Warmups:
    """The records of one transcript's warmup exchanges, found as they are read."""

    __slots__ = ("_uuids",)

    def __init__(self) -> None:
        self._uuids: set[str] = set()

    def skips(self, rec: Mapping[str, Any], uid: str) -> bool:
        """Whether ``rec`` (a user or assistant record, ``uid`` its uuid) is part of a
        warmup: a sidechain's opening "Warmup" (no parent), or a sidechain record whose
        parent is part of one."""
        if rec.get("isSidechain") is not True:  # ("false", a string, is no sidechain)
            return False
        parent = rec.get("parentUuid")
        opening = (
            parent is None
            and rec.get("type") == "user"
            and (_text(rec.get("message")) or "").strip() == WARMUP
        )
        if opening or (isinstance(parent, str) and parent in self._uuids):
            self._uuids.add(uid)
            return True
        return False


__all__ = ["WARMUP", "Warmups"]
