"""Recovery's tidy of an intact session's history: the backups and journal entries that fail
their checks. ``verify --deep`` names them and sends the user to ``memcore recover``, which found
the state intact and said "nothing to do": the damage stayed, and every later deep check failed
the same way. No rebuild needs them now, and none could use them later.

A backup that fails its checks is deleted, and a new one written from the intact state, so the
session keeps as many good backups as before; a journal entry whose record fails its checks is
moved aside as the store's unreadable ones are (a marker in its place: see
``memcore.stores.sqlite_journal_aside`` and ``memcore.stores.redis_journal_aside``).
"""

from __future__ import annotations

from memcore.backups import backup_named, create_backup, decode_backup, usable_backups
from memcore.errors import CorruptedMemoryError, NotFoundError
from memcore.stores.base import Store


async def tidy_history(store: Store, session_id: str) -> list[str]:
    """Set the session's damaged history right (its state read back intact just before); what
    was done, one phrase each (empty: nothing was wrong)."""
    done: list[str] = []
    mover = getattr(store, "move_damaged_journal", None)  # (a store that keeps a journal list)
    if mover is not None:
        moved = await mover(session_id)
        if moved:
            done.append(str(moved))
    dropped, left = await _drop_damaged_backups(store, session_id)
    if dropped:
        info = await create_backup(session_id, store, keep=left + 1)
        done.append(
            f"{'; '.join(dropped)}: deleted, and backup {info.backup_id} written from the "
            "intact state"
        )
    return done


async def _drop_damaged_backups(store: Store, session_id: str) -> tuple[list[str], int]:
    """Delete the session's backups whose bytes fail their checks, or whose listing no read can
    take; what each was, said, and how many good ones are left."""
    said: list[str] = []
    left = 0
    listed, unusable = await usable_backups(store, session_id)
    for backup_id, why in unusable:
        if backup_id is not None:  # (a row whose id is none cannot be named to delete)
            await store.delete_backup(session_id, backup_id)
            said.append(f"{backup_named(backup_id)} ({why})")
    for info in listed:
        try:
            decode_backup(await store.get_backup(session_id, info.backup_id), session_id, info)
        except NotFoundError:  # (rotated away meanwhile)
            continue
        except CorruptedMemoryError as exc:
            await store.delete_backup(session_id, info.backup_id)
            said.append(f"backup {info.backup_id} ({exc})")
        else:
            left += 1
    return said, left


__all__ = ["tidy_history"]
