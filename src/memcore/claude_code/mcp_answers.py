"""The MCP tools' answers as the model reads them: a recall hit (:class:`Recalled`) and the
hits as lines (:func:`format_hits`), the list of sessions (:func:`sessions_text`). The logic that
finds them is :class:`memcore.claude_code.mcp_server.MemoryService`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from memcore.claude_code.recall_rank import question_terms, shown_hit
from memcore.errors import ValidationError

#: How many sessions ``sessions`` lists unless asked for more (the newest), and the most it
#: lists: a project some months old has hundreds, and every line is in the model's context.
SESSIONS_SHOWN = 20
MAX_SESSIONS_SHOWN = 500


@dataclass(frozen=True, slots=True)
class Recalled:
    """One recall hit: where it is, how well it matched, what it says."""

    session: str
    id: str
    score: float
    kind: str
    content: str
    then: tuple[str, ...] = ()  # the tool calls the agent's words led to (``next_actions``)
    #: when it was said or done (``YYYY-MM-DD HH:MM`` UTC; "" when not known): a result of
    #: last month may no longer hold
    when: str = ""
    #: of a failure, the first line of the change that fixed it (the import's ``fixed_by``):
    #: asked why something failed, the error is found, and its answer is the fix
    fixed_by: str = ""
    #: of a user's request, the agent's last conclusion of its turn (``turn_answers``): the
    #: request matches a question in the user's words, the answer says it in the agent's
    answered: str = ""


def sessions_text(listed: list[dict[str, Any]], limit: int = SESSIONS_SHOWN) -> str:
    """The ``sessions`` tool's answer: the first ``limit`` of ``listed``
    (``MemoryService.sessions``, newest first), one line each, and how many more there are."""
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise ValidationError(f"limit must be a whole number (got {limit!r})")
    if not 0 < limit <= MAX_SESSIONS_SHOWN:
        raise ValidationError(f"limit must be from 1 to {MAX_SESSIONS_SHOWN} (got {limit!r})")
    if not listed:
        return "No session of this project has been saved yet."
    lines = [
        f"{s['session']} ({s['last_activity'] or s['updated_at']}, {s['items']} items"
        + (f", branch {s['branch']}" if s["branch"] else "")
        + f"): {s['summary']}"
        for s in listed[:limit]
    ]
    if len(listed) > limit:
        lines.append(
            f"... and {len(listed) - limit} older session(s), not listed: call `sessions` with "
            "a larger limit to list them, or `recall` to search them all."
        )
    return "\n".join(lines)


def minute(at: datetime) -> str:
    """``at`` in UTC to the minute, as the hits say when."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def format_hits(hits: list[Recalled], query: str, unmatched: Sequence[str] = ()) -> str:
    """The hits, one a line; then, when some words of the query are in no item, which."""
    if not hits:
        return "Nothing in this project's memory matches that query."
    terms = question_terms(query).split()  # (a long hit is shown where they are)
    lines = []
    for hit in hits:
        when = f", {hit.when} UTC" if hit.when else ""
        lines.append(
            f"[{hit.score:.2f}] {hit.id} ({hit.kind or 'item'}, session {hit.session}{when}): "
            f"{shown_hit(hit.content, hit.then, terms)}"
            + (f" -> fixed by: {hit.fixed_by}" if hit.fixed_by else "")
            + (f" -> answered: {hit.answered}" if hit.answered else "")
        )
    if unmatched:
        words = ", ".join(f'"{word}"' for word in unmatched)
        lines.append(
            f"(Nothing searched mentions {words}: the hits above match the query's other "
            "words only.)"
        )
    return "\n".join(lines)


__all__ = [
    "MAX_SESSIONS_SHOWN",
    "SESSIONS_SHOWN",
    "Recalled",
    "format_hits",
    "minute",
    "sessions_text",
]
