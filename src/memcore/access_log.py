"""Each session's access sequence (files read and edited, searches, commands) kept in the store:
what :mod:`memcore.transfer` mines for patterns and the prefetcher learns from. Written by the
transcript import and the saving hooks, read back by knowledge transfer."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority
from memcore.stores.base import Store

#: The session that holds every session's access log (one item per session).
ACCESS_LOG_SESSION = "memcore.access-log"


async def save_access_log(
    store: str | Store | None,
    session_id: str,
    accesses: Iterable[str],
    *,
    append: bool = True,
    since: str | None = None,
) -> int:
    """Keep ``session_id``'s access sequence in the store (appended to what is there by default).

    Returns the log's length. The log is one item of :data:`ACCESS_LOG_SESSION`, keyed by the
    session id, its content the accesses one per line; a log that would not change is not
    written again. Empty accesses are left out (no id, nothing to learn from: patterns of them
    were knowledge that transfer then refused); an access that is no str is a
    ``ValidationError``, and nothing is written. ``since`` names where the appended accesses
    start (a saving hook: how far its transcript was read before): appended again from the
    same start, they replace what the last append from there added instead of doubling it (a
    save killed after its append, before it recorded how far it read, reads the same records
    again).
    """
    from memcore.sync import DistributedMemoryManager

    new = _accesses(accesses)
    manager = DistributedMemoryManager(
        storage_backend=store, replica_id=f"access-log-{os.urandom(4).hex()}"
    )
    try:
        await manager.sync_session_memory(ACCESS_LOG_SESSION)
        held = manager.get(ACCESS_LOG_SESSION, session_id)
        old = _log_lines(held) if append and held is not None else []
        meta: dict[str, Any] = {"kind": "access-log", "session": session_id}
        if append and since is not None:
            before = _appended_from(held, since)
            old = old if before is None else old[:before]
            meta.update(since=since, before=len(old))
        log = old + new
        if held is not None and _log_lines(held) == log:
            return len(log)  # the same log again (a transcript imported twice): nothing to write
        meta["count"] = len(log)
        manager.set(
            ACCESS_LOG_SESSION,
            session_id,
            MemoryItem(id=session_id, content="\n".join(log), priority=Priority.LOW, metadata=meta),
        )
        await manager.sync_session_memory(ACCESS_LOG_SESSION)
    finally:
        await manager.close()
    return len(log)


async def load_access_log(store: str | Store | None, session_id: str) -> list[str]:
    """``session_id``'s stored access sequence (empty when none was saved)."""
    from memcore.sync import DistributedMemoryManager

    manager = DistributedMemoryManager(
        storage_backend=store, replica_id=f"access-log-{os.urandom(4).hex()}"
    )
    try:
        await manager.sync_session_memory(ACCESS_LOG_SESSION)
        held = manager.get(ACCESS_LOG_SESSION, session_id)
    finally:
        await manager.close()
    # (a log saved before empty accesses were left out may hold blank lines: not accesses)
    return [access for access in _log_lines(held) if access] if held is not None else []


def _appended_from(held: MemoryItem | Mapping[str, Any] | None, since: str) -> int | None:
    """The log's length before its last append when that append started at ``since`` too."""
    if held is None:
        return None
    meta = MemoryItem.coerce(held).metadata
    before = meta.get("before")
    if meta.get("since") != since or not isinstance(before, int) or isinstance(before, bool):
        return None
    return before if before >= 0 else None


def _accesses(accesses: Iterable[str]) -> list[str]:
    """The accesses to log, one line each: empty ones left out."""
    if isinstance(accesses, (str, bytes)) or not isinstance(accesses, Iterable):
        raise ValidationError(
            f"accesses must be an iterable of str (got {type(accesses).__name__})"
        )
    new: list[str] = []
    for access in accesses:
        if not isinstance(access, str):
            raise ValidationError(f"an access must be a str (got {type(access).__name__})")
        if access:
            new.append(access.replace("\n", " "))
    return new


def _log_lines(held: MemoryItem | Mapping[str, Any]) -> list[str]:
    content = MemoryItem.coerce(held).content
    return content.split("\n") if content else []


__all__ = ["ACCESS_LOG_SESSION", "load_access_log", "save_access_log"]
