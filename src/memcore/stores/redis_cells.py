"""Recovery's repair of a Redis session's keys and fields that hold what memcore never writes
there (``SET memcore:{s}:index oops``, ``HSET memcore:{s}:meta version abc``: another program or
a hand edit). Every read of such a session raises ``CorruptedMemoryError``, so recovery could
not even start; after this repair it goes on as for any other damage (a state rebuilt from the
backups and journal, checked against the digest, before anything is written over the items).

One script (``REPAIR_CELLS`` in :mod:`memcore.stores.redis_scripts`), so the repair is atomic,
and every key it touches is in the session's hash slot (it works on Redis Cluster). Nothing is
deleted: a key of another type is renamed to ``memcore:{<session>}:damaged:<part>`` (``:2``,
``:3``... when that is taken), and the values of fields that are no number are copied into
such a hash before they are changed. What is set is taken from the session's own keys:

* meta ``version``: the highest version its index, journal positions and backups hold;
* ``journal_floor``: below the journal's lowest version (its version when the journal was
  moved aside: a repair then needs a backup at or above it); ``journal_trimmed``: the
  position of the journal's first entry;
* ``replaced_at``: its index's lowest version (every key was rewritten at the last
  replacement, so no replacement came after it); a rebuilt index scores every item at the
  session's version and sets ``replaced_at`` to it, so a replica behind takes them whole;
* ``digest``: cleared, so recovery rebuilds the state and writes it again from a checked one;
  ``contended`` cleared; ``next_backup`` set past the backups' ids;
* journal positions (``jpos``) made again from the journal's entries, each of which starts
  with its version; the incarnation's ``deletions`` or an id that is not ASCII cleared.

Part of :mod:`memcore.stores.redis` (its ``_script`` and ``_guard``).
"""

from __future__ import annotations

from typing import Any

from memcore.stores.redis_keys import every_key
from memcore.stores.redis_sessions import shown


def damaged_key(session_id: str, part: str) -> str:
    """Where a part of the session that memcore cannot read is moved aside (same hash slot)."""
    return f"memcore:{{{session_id}}}:damaged:{part}"


class RedisCells:
    """``repair_cells`` of ``RedisStore``, and ``drop_damaged``, which its ``delete_session``
    calls."""

    _script: Any
    _guard: Any
    _connect: Any

    async def repair_cells(self, session_id: str) -> list[str]:
        """Recovery's repair of keys and fields no read can take (see the module docstring),
        atomically; what was done, one phrase each (empty: nothing was wrong)."""
        keys = every_key(session_id)
        aside = [damaged_key(session_id, part) for part in keys]
        with self._guard("repair_cells", session_id):
            done = await self._script("repair_cells", keys=[*keys.values(), *aside], args=[])
        return [shown(phrase) for phrase in done]

    async def drop_damaged(self, session_id: str) -> None:
        """Delete what a repair moved aside for the session (``damaged:<part>`` and its
        ``:2``, ``:3``... names): a deleted session leaves nothing of itself behind. Found by
        ``SCAN`` (the names are not known ahead; the session id holds no glob character)."""
        pattern = damaged_key(session_id, "*")
        with self._guard("delete_session", session_id):
            client = await self._connect()
            found = [name async for name in client.scan_iter(match=pattern, count=1000)]
            for name in found:  # (one by one: a cluster refuses a DEL across slots, and these
                await client.delete(name)  # share one, but the client need not know it)


__all__ = ["RedisCells", "damaged_key"]
