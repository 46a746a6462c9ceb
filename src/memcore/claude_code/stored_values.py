"""A session's values as memory items, those that are none left out.

A session is anyone's through the store's plain API: a program using memcore as a library may
keep a plain dict or a string under a key of a Claude Code session, of a project's notes or of
its registry. What reads those sessions for Claude Code's memory (the MCP server's ``digest``
and ``forget``, ``memcore forget``, a save that makes an entry again from the stored items)
leaves such a value out, warned of, as ``recall`` does (``ProjectRecall._item``), rather than
failing on it; a value memcore cannot read is still none of its business to delete.
"""

from __future__ import annotations

import logging
from typing import Any

from memcore.errors import ValidationError
from memcore.model import MemoryItem

logger = logging.getLogger(__name__)


def item_of(
    value: Any,
    session: str,
    key: str,
    *,
    by: str,
    warned: set[tuple[str, str]] | None = None,
    log: logging.Logger = logger,
) -> MemoryItem | None:
    """``value`` (of ``key`` in ``session``) as a memory item, or None when it is none: then a
    warning on ``log`` names it and what left it out (``by``), once per ``(session, key)`` when
    ``warned`` is given (a long-lived reader's: the MCP server's, recall's), else every time;
    ``by=""`` leaves it out silently (a hook, whose stderr says only its failure)."""
    if isinstance(value, MemoryItem):
        return value
    try:
        return MemoryItem.coerce(value)
    except ValidationError as exc:
        if by and (warned is None or (session, key) not in warned):
            if warned is not None:
                warned.add((session, key))
            log.warning(
                "%s left out key %r of session %r: its value is no memory item (%s)",
                by,
                key,
                session,
                exc,
            )
        return None


def items_of(
    manager: Any, session: str, *, by: str, warned: set[tuple[str, str]] | None = None
) -> dict[str, MemoryItem]:
    """The memory items ``manager`` (a ``DistributedMemoryManager``) holds of ``session``, by
    key; values that are none left out (see :func:`item_of`)."""
    items = {}
    for key, value in manager.state(session).items():
        item = item_of(value, session, key, by=by, warned=warned)
        if item is not None:
            items[key] = item
    return items


__all__ = ["item_of", "items_of"]
