"""Edits a later edit undid: an ``Edit`` that takes out the lines an earlier edit of the same
file added and puts back the ones it took out (the agent told "no, revert those changes", or a
debugging line added, then removed). A pair of such edits changed nothing, so what the first one
changed is not the session's work: the file's lines and the state line must not send the next
agent to a function that is no longer there. Part of :mod:`memcore.digest_lines`.
"""

from __future__ import annotations

from collections import Counter
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
    lines it added (at least one line either way), or else with several that together did
    (three debugging lines added one edit at a time, taken out by one). An edit that failed
    is no edit (its result says so); a ``Write`` says no lines it took out, so it pairs with
    none."""
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
        replaced = meta.get("replaced_all")
        if isinstance(replaced, list) and replaced:  # (every `a` to `b`, then every `b` to `a`)
            added, removed = _with_replaced(added, removed, replaced)
        if not (added or removed):
            continue
        earlier = live.setdefault(path, [])
        match = next(
            (k for k in range(len(earlier) - 1, -1, -1) if earlier[k][1:] == (removed, added)),
            None,
        )
        if match is not None:
            undone.update((earlier.pop(match)[0], use))
            continue
        several = _undone_together(earlier, added, removed)
        if several:  # (one edit taking out what several before it did: a debugging session's)
            undone.add(use)
            for k in sorted(several, reverse=True):
                undone.add(earlier.pop(k)[0])
            continue
        earlier.append((use, added, removed))
    return frozenset(undone)


def _with_replaced(added: _Lines, removed: _Lines, replaced: list[Any]) -> tuple[_Lines, _Lines]:
    """An edit's lines with what its ``replace_all`` replaced (``[old, new]`` pairs) as a line
    it took out and one it added, marked apart from the file's own lines: a replacement of a
    short text often shows in no changed line at all."""
    pairs = [p for p in replaced if isinstance(p, list) and len(p) == 2]
    olds = [f"\0{old}" for old, _ in pairs if isinstance(old, str)]
    news = [f"\0{new}" for _, new in pairs if isinstance(new, str)]
    return tuple(sorted([*added, *news])), tuple(sorted([*removed, *olds]))


def _undone_together(
    earlier: list[tuple[str, _Lines, _Lines]], added: _Lines, removed: _Lines
) -> list[int]:
    """The indexes of the edits of ``earlier`` (not yet paired, in session order) that an edit
    adding ``added`` and taking out ``removed`` undid together: the latest first, each whose
    added lines it took out and whose taken-out lines it put back, until the edit's lines are
    all accounted for (two at least; empty when they are not)."""
    if len(earlier) < 2:  # (two at least: most files have no earlier edit left unpaired)
        return []
    could_take, could_give = frozenset(removed), frozenset(added)
    # what the earlier edits must have added and taken out: counted once one may have
    to_take: Counter[str] | None = None
    to_give: Counter[str] | None = None
    found: list[int] = []
    for k in range(len(earlier) - 1, -1, -1):
        _, their_added, their_removed = earlier[k]
        if not could_take.issuperset(their_added) or not could_give.issuperset(their_removed):
            continue  # (most: a line this edit never touched; no counting needed to tell)
        if to_take is None or to_give is None:
            to_take, to_give = Counter(removed), Counter(added)
        took, gave = Counter(their_added), Counter(their_removed)
        if not (took or gave) or took - to_take or gave - to_give:
            continue  # (not all of it undone by this edit: another's)
        to_take -= took
        to_give -= gave
        found.append(k)
        if not to_take and not to_give:
            return found if len(found) > 1 else []
    return []


__all__ = ["undone_edits"]
