"""Registry entries made again: a session's entry whose digests older rules made, or that a
``stop`` left stale in a session that then ended without a ``session-end``, is made again from
its stored items by a later save of another session of the project (one a save), and by
``forget`` after it removed some of a session's items."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from memcore.claude_code.forget import is_forgotten
from memcore.claude_code.project import SessionRecord, digest_rules, latest_first, registry_key
from memcore.claude_code.session_record import fresh_record
from memcore.claude_code.stored_values import items_of
from memcore.errors import MemcoreError
from memcore.model import MemoryItem, utc_now


async def pull(manager: Any, session: str, *, by: str = "") -> dict[str, MemoryItem]:
    """The session's items, synced first; a value that is no memory item (another program's,
    through the plain store API) left out, warned of as ``by`` (see ``items_of``)."""
    await manager.sync_session_memory(session)
    return items_of(manager, session, by=by)


#: How long a session whose digests a ``stop`` left stale goes unsaved before another session's
#: save makes them (``refresh_stale_record``): it ended without a ``session-end`` (closed,
#: killed), or sits idle; an active one makes them at its own ``pre-compact`` or ``session-end``.
ABANDONED_AFTER = timedelta(minutes=15)


async def refresh_stale_record(manager: Any, registry: str, saved: str) -> str | None:
    """Make again, from its stored items, the entry of one other session of the project whose
    digests older rules made (``SessionRecord.made_by``), or that a ``stop`` left stale and no
    save has touched for ``ABANDONED_AFTER`` (the session ended without a ``session-end``), the
    latest active first: one a save, so that an upgrade costs each save at most one session's
    digests. Returns its session id."""
    from memcore.claude_code.save_turns import session_turn

    stale = _stale_records(manager, registry, saved)
    if not stale:
        return None
    # in that session's own save turn, not waited for: a save of it under way makes its entry
    # itself, and one that ended since has made it anew (read again in the turn)
    async with session_turn(latest_first(stale)[0].session_id, wait=0) as taken:
        if not taken:
            return None
        await manager.sync_session_memory(registry)
        again = _stale_records(manager, registry, saved)
        return await make_entry_again(manager, registry, latest_first(again)[0]) if again else None


def _stale_records(manager: Any, registry: str, saved: str) -> list[SessionRecord]:
    """The entries of ``registry`` but ``saved``'s that older rules made, or that a ``stop``
    left stale and no save has touched for ``ABANDONED_AFTER``."""
    rules = digest_rules()
    abandoned = (utc_now() - ABANDONED_AFTER).isoformat(timespec="seconds")
    stale = []
    for value in manager.state(registry).values():
        if is_forgotten(value):
            continue
        try:
            record = SessionRecord.from_item(MemoryItem.coerce(value))
        except (MemcoreError, ValueError, TypeError):
            continue  # a damaged entry: session-start skips it too
        if record.session_id == saved:
            continue
        if record.made_by != rules or (record.needs_digest() and record.updated_at < abandoned):
            stale.append(record)
    return stale


async def make_entry_again(manager: Any, registry: str, old: SessionRecord, *, by: str = "") -> str:
    """``old``'s entry made again from its session's stored items; its session id. ``by``:
    who warns of a value of the session that is no memory item (see ``pull``)."""
    rules = digest_rules()
    items = list((await pull(manager, old.session_id, by=by)).values())
    if items:
        record = fresh_record(
            old.session_id,
            old.cwd,
            items,
            files=old.files,
            read_to=old.read_to,
            git_branch=old.git_branch,
        )
        record.updated_at = old.updated_at  # (made again, not saved again)
    else:  # nothing of it is stored any more: its entry stays, marked so as not to come back
        record = dataclasses.replace(old, made_by=rules, digest_stale=False, digest_items=old.items)
    manager.set(registry, registry_key(old.session_id), record.to_item())
    await manager.sync_session_memory(registry)
    return old.session_id


__all__ = ["ABANDONED_AFTER", "make_entry_again", "pull", "refresh_stale_record"]
