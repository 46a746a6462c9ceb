"""The ``session-start`` hook's work: the context it prints (what earlier sessions of the
project learned: :mod:`memcore.claude_code.session_start`) and, from the same read of the
project's registry, the transcripts whose saves were missed (:mod:`memcore.claude_code.catch_up`),
which :func:`memcore.claude_code.hooks.run_hook` has saved once the context is out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from memcore.errors import NotFoundError

if TYPE_CHECKING:
    from memcore.claude_code.hooks import HookPayload

#: A transcript whose save was missed: its session id and path (``catch_up.missed``).
Missed = tuple[str, Path]


class Start(NamedTuple):
    """What session-start gives: its context (or, from ``start_at_once``, the hook's output),
    the transcripts to catch up, and a line for stderr (empty: nothing to say there)."""

    text: str
    missed: list[Missed]
    note: str = ""


async def start_and_missed(payload: HookPayload, store: Any, budget: int) -> Start:
    """The additional context for a new (or compacted) session of the payload's project, and
    the project's transcripts whose saves were missed (from the same read of its registry:
    :mod:`memcore.claude_code.catch_up`). Told nothing of a project with memory, the note says
    the budget held none of it (as ``memcore digest --project`` does): silence would read as a
    project with no memory."""
    from memcore.claude_code import catch_up, session_start  # (here: a save needs none of it)

    project, records, forgotten = await session_start.project_registry(store, payload.cwd)

    async def context_at(tokens: int) -> str:
        return await session_start.start_context(
            payload.cwd,
            payload.session_id,
            store,
            tokens,
            compacted=payload.source == "compact",
            entries=(project, records),
        )

    context = await context_at(budget)
    note = ""
    if not context and await context_at(session_start.WHOLE_BUDGET):
        note = session_start.budget_holds_none(budget, payload.cwd)
    missed = (
        catch_up.missed(
            payload.transcript_path,
            payload.session_id,
            records,
            cwd=payload.cwd,
            forgotten=forgotten,
        )
        if catch_up.wanted()
        else []
    )
    return Start(context, missed, note)


def start_at_once(payload: HookPayload, store_url: str | None, budget: int) -> Start:
    """session-start's output on an SQLite store, read at once (``SQLiteReader``, ``run_now``:
    the same as the hook's asyncio path gives, from the same reads), and the transcripts to
    catch up."""
    from memcore.stores.sqlite_reader import reader_of, run_now

    try:
        with reader_of(store_url) as reader:
            start = run_now(start_and_missed(payload, reader, budget))
    except NotFoundError:  # no store yet: nothing to say, nothing saved to catch up with
        return Start("", [])
    return start._replace(text=start_output(start.text))


def start_output(context: str) -> str:
    """Claude Code's SessionStart hook JSON around ``context``; nothing when it is empty."""
    if not context:
        return ""
    output = {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": context}}
    return json.dumps(output, ensure_ascii=False) + "\n"


__all__ = [
    "Missed",
    "Start",
    "start_and_missed",
    "start_at_once",
    "start_output",
]
