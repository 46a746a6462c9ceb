"""Recovery's repair of a Redis session's keys and fields that hold what memcore never writes
there (``SET memcore:{s}:index oops``, ``HSET memcore:{s}:meta version abc``: another program or
a hand edit). Every read of such a session raises ``CorruptedMemoryError``, so recovery could
not even start; after this repair it goes on as for any other damage (a state rebuilt from the
backups and journal, checked against the digest, before anything is written over the items).

One script (``REPAIR_CELLS`` in :mod:`memcore.stores.redis_scripts`), so the repair is atomic,
and every key it touches is in the session's hash slot (it works on Redis Cluster). Nothing is
deleted: a key of another type is renamed to ``memcore:{<session>}:damaged:<part>`` (``:2``,
``:3``... when that is taken), and the values of fields that are no number are copied into
such a hash before they are changed. Each such name is added to the set
``memcore:{<session>}:damaged:names`` (same slot), so ``delete_session`` drops them all in its
own script, with no ``SCAN`` of the keyspace (slow on a big one, and per node on a Cluster);
names an earlier memcore's repair made, unlisted, it finds in the order repairs take them
(``damaged:<part>``, ``:2``, ``:3``... up to the first one missing). What is set is taken from
the session's own keys:

* meta ``version``: the highest version its index, journal positions and backups hold;
* ``journal_floor``: below the journal's lowest version (its version when the journal was
  moved aside: a repair then needs a backup at or above it); ``journal_trimmed``: the
  position of the journal's first entry;
* ``replaced_at``: its index's lowest version (every key was rewritten at the last
  replacement, so no replacement came after it); a rebuilt index scores every item at the
  session's version and sets ``replaced_at`` to it, so a replica behind takes them whole (an
  index listing fewer keys than the items, deleted or evicted, is rebuilt so too);
* ``digest``: cleared, so recovery rebuilds the state and writes it again from a checked one;
  ``contended`` cleared; ``next_backup`` set past the backups' ids;
* journal positions (``jpos``) made again from the journal's entries, each of which starts
  with its version; the incarnation's ``deletions`` or an id that is not ASCII cleared.

Part of :mod:`memcore.stores.redis` (its ``_script`` and ``_guard``).
"""

from __future__ import annotations

from typing import Any

from memcore.stores.redis_journal_aside import unreadable_entries
from memcore.stores.redis_keys import every_key
from memcore.stores.redis_sessions import shown


def damaged_key(session_id: str, part: str) -> str:
    """Where a part of the session that memcore cannot read is moved aside (same hash slot)."""
    return f"memcore:{{{session_id}}}:damaged:{part}"


def damaged_names_key(session_id: str) -> str:
    """The set of every name a repair moved something of the session aside to (same slot)."""
    return damaged_key(session_id, "names")


def deletion_keys(session_id: str) -> tuple[list[str], list[str]]:
    """``KEYS`` and ``ARGV`` of the ``delete_session`` script: the session's parts, its
    incarnation, the set of names moved aside and the first name of each part's, and the
    prefix every such name has."""
    parts = every_key(session_id)
    aside = [damaged_key(session_id, part) for part in parts]
    return [*parts.values(), damaged_names_key(session_id), *aside], [damaged_key(session_id, "")]


class RedisCells:
    """``repair_cells`` of ``RedisStore`` (``delete_session`` drops what it moved aside:
    ``deletion_keys``)."""

    _script: Any
    _guard: Any
    _connect: Any

    async def repair_cells(self, session_id: str) -> list[str]:
        """Recovery's repair of keys and fields no read can take (see the module docstring),
        atomically; what was done, one phrase each (empty: nothing was wrong)."""
        keys = every_key(session_id)
        aside = [damaged_key(session_id, part) for part in keys]
        names = damaged_names_key(session_id)
        with self._guard("repair_cells", session_id):
            done = await self._script("repair_cells", keys=[*keys.values(), *aside, names], args=[])
        said = [shown(phrase) for phrase in done]
        moved = await self._journal_aside(session_id, keys, names)
        return [*said, moved] if moved else said

    async def move_damaged_journal(self, session_id: str) -> str:
        """Recovery's tidy of an intact session's journal: entries whose records fail their
        checks moved aside, a marker in each one's place; what was done ('' for nothing)."""
        keys = every_key(session_id)
        return await self._journal_aside(
            session_id, keys, damaged_names_key(session_id), checked=True
        )

    async def _journal_aside(
        self, session_id: str, keys: dict[str, str], names: str, *, checked: bool = False
    ) -> str:
        """Move the journal's entries that are no journal entry (``checked``: or whose records
        fail their checks) aside, a marker in each one's place
        (``memcore.stores.redis_journal_aside``); what was done ('' for nothing)."""
        for _ in range(3):  # (read again when the journal moved between the read and the move)
            with self._guard("repair_cells", session_id, keys["journal"]):
                entries = await (await self._connect()).lrange(keys["journal"], 0, -1)
            bad = unreadable_entries(entries, checked=checked)
            if not bad:
                return ""
            with self._guard("repair_cells", session_id):
                found = await self._script(
                    "journal_aside",
                    keys=[
                        keys["meta"],
                        keys["journal"],
                        keys["jpos"],
                        damaged_key(session_id, "journal"),
                        names,
                    ],
                    args=[part for index, packed in bad for part in (index, packed)],
                )
            if int(found[0]):
                count, name, versions = int(found[0]), shown(found[1]), shown(found[2])
                what = "damaged" if checked else "unreadable"
                return (
                    f"{count} {what} journal entr{'y' if count == 1 else 'ies'} (of "
                    f"version{'' if count == 1 else 's'} {versions.replace(',', ', ')}) moved "
                    f"to {name}, a marker in {'its' if count == 1 else 'each'} place"
                )
        return ""


__all__ = ["RedisCells", "damaged_key", "damaged_names_key", "deletion_keys"]
