"""Reading a session for a command: by its name or its first characters, its live items as
stored, a damaged record said with the command that repairs it (or, in a command over the
whole store, left out with a warning so that it hides no other session); and what the commands
say when there is nothing to read."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

from memcore.cli._running_command import _DAMAGED
from memcore.cli._store_access import Readable, reading_store
from memcore.cli._store_names import recover_command, store_label
from memcore.errors import CorruptedMemoryError, NotFoundError, ValidationError
from memcore.model import MemoryItem
from memcore.stores import decode_entry, validate_session_id
from memcore.stores.base import session_by_prefix

if TYPE_CHECKING:
    from memcore.claude_code import Transcript

#: Sessions memcore keeps for itself (``memcore.access-log``...): not listed as the user's.
INTERNAL_SESSION_PREFIX = "memcore."


async def require_session(store: Readable, url: str | None, session: str) -> None:
    """``NotFoundError`` unless ``session`` was ever written to (or backed up into) the store."""
    validate_session_id(session)
    if await store.version(session) == 0 and not await store.list_backups(session):
        raise NotFoundError(
            f"no session {session!r} in {store_label(url)} "
            "(`memcore inspect` lists the sessions of a store)"
        )


async def named_session(store: Readable, url: str | None, session: str) -> str:
    """The session ``session`` names: itself, else the one session whose id starts with it
    (``847ff7d2`` for a Claude Code session's uuid); ``ValidationError`` when several do.
    A damaged session the listing left out (a Redis key of the wrong type) is matched too:
    ``verify`` and ``inspect`` name it for ``memcore recover``, which must find it by the same
    first characters as any other session."""
    try:
        await require_session(store, url, session)
        return session
    except NotFoundError:
        listed = await store.list_sessions()
        unlisted: dict[str, str] = getattr(store, "unlisted", None) or {}
        found = session_by_prefix(session, user_sessions([*listed, *_valid_ids(unlisted)]))
        if found is None:
            raise
        unlisted.pop(found, None)  # (the command reports on it: no "left out" warning too)
        return found


def _valid_ids(names: Iterable[str]) -> list[str]:
    """The names that are session ids (a Redis key may name none: no command can read it)."""
    valid = []
    for name in names:
        try:
            valid.append(validate_session_id(name))
        except ValidationError:
            continue
    return valid


async def read_state(
    store: Readable, url: str | None, session: str, *, skipped: list[str] | None = None
) -> dict[str, MemoryItem]:
    """A session's live items, read from the store as they are stored (no replica, no write);
    a damaged record is a ``CorruptedMemoryError`` that says which command repairs it, and so
    is a value that is no memory item. With ``skipped`` (a command over the whole store), such
    records are left out and their keys added to it instead: one damaged record must not hide
    every other session (:func:`warn_skipped` says so)."""
    snapshot = await store.read_snapshot(session)
    return {
        key: item for key, item, _ in live_items(snapshot.records, url, session, skipped=skipped)
    }


def live_items(
    records: dict[str, bytes], url: str | None, session: str, *, skipped: list[str] | None = None
) -> Iterator[tuple[str, MemoryItem, bytes]]:
    """``(key, item, record)`` for each live item of a session's stored ``records``, one at a
    time (a command that needs only some of them decoded keeps the records, not the items);
    damaged records as :func:`read_state` says."""
    for key, record in records.items():
        try:
            entry = decode_entry(record)
        except CorruptedMemoryError as exc:
            if skipped is not None:
                skipped.append(key)
                continue
            raise CorruptedMemoryError(
                f"session {session!r}: the stored record of key {key!r} is damaged ({exc}); "
                f"repair it with `{recover_command(url, session)}`"
            ) from exc
        if entry.deleted:
            continue
        try:
            item = MemoryItem.coerce(entry.value)
        except ValidationError as exc:  # intact, but written by a program as something else
            if skipped is not None:
                skipped.append(key)
                continue
            raise ValidationError(
                f"session {session!r}: key {key!r} holds a value that is not a memory item ({exc})"
            ) from exc
        yield key, item, record


def warn_skipped(prog: str, url: str | None, session: str, keys: Sequence[str]) -> None:
    """One line on stderr for a session whose unreadable records a store-wide command left
    out, with the command that repairs it."""
    if keys:
        print(
            f"{prog}: warning: session {session!r}: {len(keys)} damaged or unreadable record(s) "
            f"left out; repair with `{recover_command(url, session)}`",
            file=sys.stderr,
        )


async def read_states(
    store: Readable, url: str | None, sessions: Sequence[str], prog: str
) -> dict[str, dict[str, MemoryItem]]:
    """Every session's items for a store-wide command: a session's damaged records are left
    out with a warning (see :func:`read_state`), the other sessions read as they are; a session
    that cannot be read at all is left out of the result (:func:`left_out_damaged`)."""
    states = {}
    for session in sessions:
        skipped: list[str] = []
        try:
            states[session] = await read_state(store, url, session, skipped=skipped)
        except CorruptedMemoryError as exc:  # (the session as a whole cannot be read)
            left_out_damaged(prog, url, session, exc)
            continue
        warn_skipped(prog, url, session, skipped)
    return states


#: How Claude Code sessions come to be saved, for the commands that find none.
HOW_SESSIONS_ARE_SAVED = (
    "memcore install-claude-code saves them as they go; memcore import-claude-code reads the "
    "earlier ones"
)


def no_project_memory(folder: str) -> NotFoundError:
    """The error of a command asked for the memory of a project (``--project``) the store holds
    nothing of."""
    return NotFoundError(
        f"no memory of the project of {folder} is saved ({HOW_SESSIONS_ARE_SAVED})"
    )


def left_out_damaged(prog: str, url: str | None, session: str, exc: CorruptedMemoryError) -> None:
    """Say on stderr that a store-wide command left out ``session``, which cannot be read at
    all (``exc`` says why), with the command that repairs it; the command goes on with the
    other sessions and exits with ``EXIT_ERROR`` when done (see ``_as_command``)."""
    print(
        f"{prog}: warning: session {session!r} is damaged and was left out ({exc}); "
        f"repair it with `{recover_command(url, session)}`",
        file=sys.stderr,
    )
    damaged = _DAMAGED.get()
    if damaged is not None and session not in damaged:
        damaged.append(session)


def user_sessions(sessions: Sequence[str]) -> list[str]:
    """The sessions to list for a user: memcore's own (``memcore.*``) left out."""
    return sorted(s for s in sessions if not s.startswith(INTERNAL_SESSION_PREFIX))


def transcripts_with_records(transcripts: Sequence[Transcript], out: TextIO) -> list[Transcript]:
    """The transcripts that hold Claude Code's records; each other file is named on ``out`` as
    skipped. ``ValidationError`` when none is left: junk given as a transcript (a Python file, or
    another agent's session saved as ``full.jsonl``: Gemini CLI's, OpenCode's) must not
    "succeed" by storing an empty session. A file read into no item counts only when its first
    records are Claude Code's (``looks_like_transcript``): one JSON line of another program's
    made it a session."""
    from memcore.claude_code.discovery import looks_like_transcript

    kept = [
        t
        for t in transcripts
        if t.records > len(t.malformed) and (t.items or looks_like_transcript(t.path))
    ]
    for transcript in transcripts:
        if transcript not in kept:
            print(f"  {transcript.path}: no Claude Code record in it, skipped", file=out)
    if not kept:
        names = ", ".join(str(t.path) for t in transcripts[:3])
        more = f" and {len(transcripts) - 3} more" if len(transcripts) > 3 else ""
        raise ValidationError(
            f"not a Claude Code transcript (no line is a Claude Code record): {names}{more}; "
            "nothing stored"
        )
    return kept


async def _read_existing_session(
    url: str | None, session: str
) -> tuple[str, dict[str, MemoryItem]]:
    """The session ``session`` names (itself or by its first characters) and its items."""
    async with reading_store(url) as store:
        name = await named_session(store, url, session)
        state = await read_state(store, url, name)
    if not state:
        raise NotFoundError(f"session {name!r} has no items in {store_label(url)}")
    return name, state


def _preview(text: str, width: int = 90) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


__all__ = [
    "HOW_SESSIONS_ARE_SAVED",
    "INTERNAL_SESSION_PREFIX",
    "_preview",
    "_read_existing_session",
    "left_out_damaged",
    "live_items",
    "named_session",
    "no_project_memory",
    "read_state",
    "read_states",
    "require_session",
    "transcripts_with_records",
    "user_sessions",
    "warn_skipped",
]
