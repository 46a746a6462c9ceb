"""Edits a later edit undid: an ``Edit`` that takes out the lines an earlier edit of the same
file added and puts back the ones it took out (the agent told "no, revert those changes", or a
debugging line added, then removed). A pair of such edits changed nothing, so what the first one
changed is not the session's work: the file's lines and the state line must not send the next
agent to a function that is no longer there. Part of :mod:`memcore.digest_lines`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memcore.claude_code.tools import EDIT_TOOLS
from memcore.model import MemoryItem

_Lines = tuple[str, ...]


def _lines(meta: Mapping[str, Any], key: str) -> _Lines:
    """An edit's ``added_lines`` or ``removed_lines``, in an order that does not depend on
    where in the file they were (compared as a whole, not line by line)."""
    value = meta.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(sorted(line for line in value if isinstance(line, str)))


def undone_edits(items: Sequence[MemoryItem]) -> frozenset[str]:
    """The tool call ids of the edits in ``items`` (in session order) that a later edit of
    the same file undid, and of the edits that undid them: an edit pairs with the latest
    earlier one of its file, not yet paired, whose added lines it took out and whose taken-out
    lines it added (at least one line either way). An edit that failed is no edit (its result
    says so); a ``Write`` says no lines it took out, so it pairs with none."""
    failed: set[str] = set()
    for item in items:
        meta = item.metadata
        if (
            meta.get("tool") in EDIT_TOOLS
            and meta.get("kind") in ("tool_result", "error")
            and (meta.get("kind") == "error" or meta.get("is_error") is True)
        ):
            failed.add(str(meta.get("tool_use_id")))
    live: dict[str, list[tuple[str, _Lines, _Lines]]] = {}  # per file: edits not yet paired
    undone: set[str] = set()
    for item in items:
        meta = item.metadata
        if meta.get("kind") != "tool_call" or meta.get("tool") not in ("Edit", "MultiEdit"):
            continue
        use, path = meta.get("tool_use_id"), meta.get("file_path")
        if not isinstance(use, str) or not use or use in failed or not isinstance(path, str):
            continue
        added, removed = _lines(meta, "added_lines"), _lines(meta, "removed_lines")
        if not (added or removed):
            continue
        earlier = live.setdefault(path, [])
        match = next(
            (k for k in range(len(earlier) - 1, -1, -1) if earlier[k][1:] == (removed, added)),
            None,
        )
        if match is None:
            earlier.append((use, added, removed))
            continue
        undone.update((earlier.pop(match)[0], use))
    return frozenset(undone)


__all__ = ["undone_edits"]
