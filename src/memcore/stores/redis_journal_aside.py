"""Recovery's repair of a Redis journal entry that is no journal entry (bytes another program
pushed onto the list, or an entry whose msgpack wrapper rotted): one such entry made every
read of the journal fail, so recovery could neither rebuild from the journal nor from a backup
plus the journal since it, and verification named no entry.

The entry is moved aside as it was, into the list ``memcore:{<session>}:damaged:journal``
(``:2``, ``:3``... when taken; listed in ``damaged:names``, so ``delete_session`` drops it and
``migrate-redis`` copies it), and a marker takes its place in the journal: ``[version, "",
""]``, the version the journal's positions give its place. The marker keeps every later
entry's position (``jpos`` stays true) and tells recovery that a commit of that version lost
an entry whose key is unknown: a replay stops there, and crosses it only when the session's
index names, for every key the replay has to take from the journal, a last change the journal
still holds readable (``memcore.recovery_plan``). One script checks each entry is still the
one found before it replaces it, so a concurrent truncation changes nothing.
"""

from __future__ import annotations

from typing import Any

import msgpack

from memcore.errors import CorruptedMemoryError
from memcore.stores.base import MOVED_ASIDE, JournalEntry, decode_entry

# KEYS: meta journal jpos, the first name to move entries aside to (damaged:journal), the set
# of names moved aside to (damaged:names); ARGV: pairs of a list index and the entry's bytes
# -> {entries moved, the name they went to, their versions joined by ','} ({0} when an entry
# changed since it was read: nothing is moved, recovery reads again)
JOURNAL_ASIDE = r"""
memcore_types({'hash', 'list', 'hash', false, 'set'})
local trimmed = memcore_int(redis.call('HGET', KEYS[1], 'journal_trimmed'),
                            KEYS[1] .. ' journal_trimmed')
for i = 1, #ARGV, 2 do
  if redis.call('LINDEX', KEYS[2], tonumber(ARGV[i])) ~= ARGV[i + 1] then return {0} end
end
local starts = {}
local flat = redis.call('HGETALL', KEYS[3])
for i = 1, #flat, 2 do
  starts[#starts + 1] = {memcore_int(flat[i], KEYS[3]), memcore_int(flat[i + 1], KEYS[3])}
end
local name, n = KEYS[4], 1
while redis.call('EXISTS', name) == 1 do
  n = n + 1
  name = KEYS[4] .. ':' .. n
end
redis.call('SADD', KEYS[5], name)
local floor = memcore_int(redis.call('HGET', KEYS[1], 'journal_floor'),
                          KEYS[1] .. ' journal_floor')
local versions = {}
for i = 1, #ARGV, 2 do
  -- the version whose entries start last at or before this one (the highest of those that
  -- start there: a version with no entries starts where the next one does)
  local at, version, best = trimmed + tonumber(ARGV[i]), floor + 1, -1
  for _, pair in ipairs(starts) do
    if pair[2] <= at and (pair[2] > best or (pair[2] == best and pair[1] > version)) then
      version, best = pair[1], pair[2]
    end
  end
  redis.call('RPUSH', name, ARGV[i + 1])
  redis.call('LSET', KEYS[2], tonumber(ARGV[i]), cmsgpack.pack({version, '', ''}))
  versions[#versions + 1] = string.format('%d', version)
end
return {#ARGV / 2, name, table.concat(versions, ',')}
"""


def unpack_journal_entry(packed: bytes) -> JournalEntry:
    """One entry of the journal list (msgpack ``[version, key, record]``; raw: entries packed
    by the commit script hold str types, older ones a bin record); ``CorruptedMemoryError`` for
    one that is none."""
    try:
        version, key, record = msgpack.unpackb(packed, raw=True, use_list=True)
        text = key.decode("utf-8")
    except (ValueError, TypeError, AttributeError, msgpack.UnpackException) as exc:
        said = str(exc) or type(exc).__name__
        raise CorruptedMemoryError(f"unreadable journal entry: {said}") from exc
    if not (isinstance(version, int) and isinstance(record, bytes)):
        raise CorruptedMemoryError("journal entry has the wrong shape")
    return JournalEntry(version, text, record)


def unreadable_entries(entries: list[Any], *, checked: bool = False) -> list[tuple[int, bytes]]:
    """``(list index, bytes)`` of each entry of a journal list that is no journal entry;
    ``checked``: or whose record fails its checks (``decode_entry``; a marker is none)."""
    found = []
    for index, packed in enumerate(entries):
        try:
            entry = unpack_journal_entry(packed)
            if checked and (entry.key != MOVED_ASIDE or entry.record):
                decode_entry(entry.record)
        except CorruptedMemoryError:
            found.append((index, bytes(packed)))
    return found


__all__ = ["JOURNAL_ASIDE", "unpack_journal_entry", "unreadable_entries"]
