"""The Lua scripts of the Redis store: every write and every read that must be atomic.

Each script touches only the keys of one session, passed in ``KEYS`` (all named
``memcore:{session}:...``, so on Redis Cluster they share one hash slot and the script runs on
one node). The commit is written for one round trip and few calls: the meta fields it needs in
one ``HMGET``, then one ``HSET``/``ZADD``/``RPUSH`` per chunk of keys rather than per key.
"""

from __future__ import annotations

from memcore.stores.redis_journal_aside import JOURNAL_ASIDE
from memcore.stores.redis_repair_script import REPAIR_CELLS

# Keys per HSET/ZADD/RPUSH call: Lua's unpack() is bounded by the C stack (8000 slots).
_CHUNK = 1000

#: What a script's error says when a key or field of the session is not what memcore writes
#: there (the Python side turns it into ``CorruptedMemoryError``).
DAMAGED = "memcore: damaged"

# Prepended to every script. Redis never rolls a script back: one that fails halfway (WRONGTYPE
# on a key another program wrote, arithmetic on a field that is no number) keeps the writes it
# made. So each script checks the types of its keys and reads its numbers through these
# before it writes anything, and fails naming what is wrong.
_PRELUDE = f"""
local function memcore_damaged(text)
  error({{err = '{DAMAGED} ' .. text}})
end
-- KEYS[i] absent or of type kinds[i] (false: any type)
local function memcore_types(kinds)
  for i = 1, #KEYS do
    local kind = kinds[i]
    if kind then
      local found = redis.call('TYPE', KEYS[i])['ok']
      if found ~= 'none' and found ~= kind then
        memcore_damaged(KEYS[i] .. ' is a ' .. found .. ', not the ' .. kind .. ' memcore writes')
      end
    end
  end
end
-- a stored version, position or count: absent is 0; anything but a whole number >= 0 is damage
local function memcore_int(value, what)
  if not value then return 0 end
  local n = tonumber(value)
  if not n or n < 0 or n ~= math.floor(n) or n >= 9007199254740992 then
    memcore_damaged(what .. ' holds ' .. string.format('%q', string.sub(tostring(value), 1, 40))
                    .. ', not a whole number')
  end
  return n
end
"""

# KEYS: meta items index journal jpos
# ARGV: expected_version, new_version, digest, replace (0/1), token, records
# ``records`` is one msgpack array [key1, record1, key2, record2, ...] (str types: the cmsgpack
# of Redis 7.0 reads no bin types): one argument instead of one per record, so the client packs
# a 100k-item commit in one C call; each journal entry, msgpack [version, key, record], is packed
# here rather than sent twice. (One commit is thus at most Redis's proto-max-bulk-len, 512 MB
# by default.)
# The token makes a retried call exact: if the reply to a commit that landed was lost and the
# client sends it again, the script recognizes its own commit and returns its version.
# A commit-first sync (``commit_if_unchanged``) also passes KEYS[6], the session's incarnation
# hash, and ARGV[7..10], the digest kept at the expected version, the incarnation id and the
# deletion count it expects: any of them different and nothing is written (-1), so a store that
# lost its data or went back in time is never committed over without the replica noticing.
# A plain commit that loses its compare-and-set stamps the meta field ``contended`` with the
# server's time in ms; a commit-first one fails while that stamp is under ARGV[10] ms old
# (``CONTENTION_WINDOW``: under contention every writer reads first, which is fair).
WRITE = f"""
memcore_types({{'hash', 'hash', 'zset', 'list', 'hash', 'hash'}})
local meta = redis.call('HMGET', KEYS[1], 'version', 'token', 'journal_trimmed', 'digest',
                        'contended', 'replaced_at')
local current = memcore_int(meta[1], KEYS[1] .. ' version')
local trimmed = memcore_int(meta[3], KEYS[1] .. ' journal_trimmed')
local contended = memcore_int(meta[5], KEYS[1] .. ' contended')
-- (not used here, but what every read takes: a commit-first sync, which reads nothing, must
-- not commit past a session no replica can read)
memcore_int(meta[6], KEYS[1] .. ' replaced_at')
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
if current ~= tonumber(ARGV[1]) then
  if current == tonumber(ARGV[2]) and meta[2] == ARGV[5] then
    return current
  end
  if meta[1] and not ARGV[7] then
    redis.call('HSET', KEYS[1], 'contended', now)
  end
  return -1
end
if ARGV[7] then
  local found = redis.call('HMGET', KEYS[6], 'id', 'deletions')
  if meta[4] ~= ARGV[7] or found[1] ~= ARGV[8] or (found[2] or '0') ~= ARGV[9] then
    return -1
  end
  if meta[5] and now - contended < tonumber(ARGV[10]) then
    return -1
  end
end
local new = ARGV[2]
local version = tonumber(new)
local replace = ARGV[4] == '1'
-- the journal holding the new version already: the meta version went below it (tampered or
-- restored); committing would journal that version twice and overwrite its position
if not replace and redis.call('HEXISTS', KEYS[5], new) == 1 then
  return redis.error_reply('memcore: journal holds version ' .. new)
end
if replace then
  redis.call('DEL', KEYS[2], KEYS[3])
end
redis.call('HSET', KEYS[5], new, redis.call('LLEN', KEYS[4]) + trimmed)
local flat = cmsgpack.unpack(ARGV[6])
local n = #flat
local i = 1
while i <= n do
  local last = math.min(n, i + 2 * {_CHUNK} - 1)
  local fields, scored, entries = {{}}, {{}}, {{}}
  for j = i, last, 2 do
    fields[#fields + 1] = flat[j]
    fields[#fields + 1] = flat[j + 1]
    scored[#scored + 1] = new
    scored[#scored + 1] = flat[j]
    if not replace then
      entries[#entries + 1] = cmsgpack.pack({{version, flat[j], flat[j + 1]}})
    end
  end
  redis.call('HSET', KEYS[2], unpack(fields))
  redis.call('ZADD', KEYS[3], unpack(scored))
  if not replace then
    redis.call('RPUSH', KEYS[4], unpack(entries))
  end
  i = last + 1
end
if replace then
  redis.call('HSET', KEYS[1], 'version', new, 'digest', ARGV[3], 'token', ARGV[5],
             'replaced_at', new)
else
  redis.call('HSET', KEYS[1], 'version', new, 'digest', ARGV[3], 'token', ARGV[5])
end
return version
"""

# KEYS: meta items index; ARGV: since_version
#   -> msgpack [version, digest ('' if none), replaced_at, key1, record1, key2, record2, ...]
# (one reply string the client unpacks in C, not one bulk reply per record)
CHANGES = """
memcore_types({'hash', 'hash', 'zset', 'hash'})
local meta = redis.call('HMGET', KEYS[1], 'version', 'digest', 'replaced_at')
memcore_int(meta[1], KEYS[1] .. ' version')
memcore_int(meta[3], KEYS[1] .. ' replaced_at')
local out = {meta[1] or '0', meta[2] or '', meta[3] or '0'}
local whole = tonumber(ARGV[1]) == 0
-- an index listing fewer keys than the items (deleted, evicted, keys taken out of it: see
-- VERSIONS) would leave changes out of the delta, and a replica committing over a state it
-- never saw would store a digest its records disagree with; so the session comes whole, marked
-- as replaced at its version, which a replica behind takes as the whole state
if not whole and tonumber(meta[1] or '0') > tonumber(ARGV[1])
   and redis.call('ZCARD', KEYS[3]) < redis.call('HLEN', KEYS[2]) then
  whole = true
  out[3] = meta[1]
end
if whole then  -- everything: the items hash in one call
  local items = redis.call('HGETALL', KEYS[2])
  for i = 1, #items do
    out[i + 3] = items[i]
  end
else
  local keys = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf')
  for _, key in ipairs(keys) do
    out[#out + 1] = key
    out[#out + 1] = redis.call('HGET', KEYS[2], key)
  end
end
-- KEYS[4], when given: the session's incarnation hash (see INCARNATION; ARGV[2] a fresh id, set
-- only once the session exists: a read never creates anything for a session never written),
-- appended as {id or false, deletions} so a sync checks it without another round trip
if KEYS[4] then
  if meta[1] then
    redis.call('HSETNX', KEYS[4], 'id', ARGV[2])
  end
  local found = redis.call('HMGET', KEYS[4], 'id', 'deletions')
  memcore_int(found[2], KEYS[4] .. ' deletions')
  out[#out + 1] = found[1]
  out[#out + 1] = found[2] or '0'
end
return cmsgpack.pack(out)
"""

# KEYS: meta items -> msgpack [version, digest ('' if none), key1, record1, ...]
SNAPSHOT = """
memcore_types({'hash', 'hash'})
local meta = redis.call('HMGET', KEYS[1], 'version', 'digest')
memcore_int(meta[1], KEYS[1] .. ' version')
local out = {meta[1] or '0', meta[2] or ''}
local items = redis.call('HGETALL', KEYS[2])
for i = 1, #items do
  out[i + 2] = items[i]
end
return cmsgpack.pack(out)
"""

# KEYS: meta journal jpos; ARGV: first version wanted -> packed entries from that version on
# (versions at or below the floor are gone: start past it)
JOURNAL = """
memcore_types({'hash', 'list', 'hash'})
local first = tonumber(ARGV[1])
local floor = memcore_int(redis.call('HGET', KEYS[1], 'journal_floor'), KEYS[1] .. ' journal_floor')
if first <= floor then first = floor + 1 end
local start = redis.call('HGET', KEYS[3], first)
if not start then return {} end
start = memcore_int(start, KEYS[3] .. ' ' .. first)
local trimmed = memcore_int(redis.call('HGET', KEYS[1], 'journal_trimmed'),
                            KEYS[1] .. ' journal_trimmed')
return redis.call('LRANGE', KEYS[2], start - trimmed, -1)
"""

# KEYS: meta journal jpos; ARGV: through_version -> number of entries dropped
TRUNCATE = """
memcore_types({'hash', 'list', 'hash'})
local meta = redis.call('HMGET', KEYS[1], 'version', 'journal_floor', 'journal_trimmed')
local current = memcore_int(meta[1], KEYS[1] .. ' version')
local floor = memcore_int(meta[2], KEYS[1] .. ' journal_floor')
local trimmed = memcore_int(meta[3], KEYS[1] .. ' journal_trimmed')
local through = math.min(tonumber(ARGV[1]), current)
if through <= floor then return 0 end
local stop
if through == current then
  stop = trimmed + redis.call('LLEN', KEYS[2])
else
  stop = redis.call('HGET', KEYS[3], through + 1)
  if not stop then
    return redis.error_reply('memcore journal index has no version ' .. (through + 1))
  end
  stop = memcore_int(stop, KEYS[3] .. ' ' .. (through + 1))
end
local dropped = stop - trimmed
if dropped > 0 then
  redis.call('LTRIM', KEYS[2], dropped, -1)
end
local fields = {}
for v = floor + 1, through do
  fields[#fields + 1] = v
  if #fields == 1000 then
    redis.call('HDEL', KEYS[3], unpack(fields))
    fields = {}
  end
end
if #fields > 0 then
  redis.call('HDEL', KEYS[3], unpack(fields))
end
redis.call('HSET', KEYS[1], 'journal_floor', through, 'journal_trimmed', stop)
return dropped
"""

# KEYS: meta backups blobs; ARGV: packed [version, created_at, size], blob
PUT_BACKUP = """
memcore_types({'hash', 'hash', 'hash'})
memcore_int(redis.call('HGET', KEYS[1], 'next_backup'), KEYS[1] .. ' next_backup')
local id = redis.call('HINCRBY', KEYS[1], 'next_backup', 1)
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('HSET', KEYS[3], id, ARGV[2])
return id
"""

# KEYS: meta backups blobs; ARGV: backup id. A session never committed whose last backup goes
# loses its meta too, so it is no longer listed (the meta key is what lists a session).
DELETE_BACKUP = """
memcore_types({'hash', 'hash', 'hash'})
local version = memcore_int(redis.call('HGET', KEYS[1], 'version'), KEYS[1] .. ' version')
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if version == 0 and redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
end
return 1
"""

# KEYS: every part of one session (``PARTS``' order), then its incarnation hash, whose deletion
# count goes up in the same script (a deletion is never mistaken for a loss: see
# ``memcore.store_health``), then what recovery's repairs moved aside (``memcore.stores.
# redis_cells``): the set listing their names, and the first name each of the 8 parts is moved
# aside to; ARGV: the prefix of every such name (``memcore:{session}:damaged:``).
# What was moved aside is found without a SCAN of the keyspace: a repair of an earlier memcore
# listed nothing, but took each part's names in order (damaged:<part>, then :2, :3...), so they
# are deleted in that order up to the first one missing; then the names listed (under the
# prefix only: all in the session's slot, and nothing else is deleted), then the list.
DELETE_SESSION = """
local PARTS = 7
local INCARNATION, NAMES = PARTS + 1, PARTS + 2
local kinds = {}
kinds[INCARNATION] = 'hash'
memcore_types(kinds)
memcore_int(redis.call('HGET', KEYS[INCARNATION], 'deletions'), KEYS[INCARNATION] .. ' deletions')
redis.call('DEL', unpack(KEYS, 1, PARTS))
for i = NAMES + 1, #KEYS do
  local name, n = KEYS[i], 1
  while redis.call('DEL', name) == 1 do
    n = n + 1
    name = KEYS[i] .. ':' .. n
  end
end
local prefix = ARGV[1]
if redis.call('TYPE', KEYS[NAMES])['ok'] == 'set' then
  for _, name in ipairs(redis.call('SMEMBERS', KEYS[NAMES])) do
    if string.sub(name, 1, #prefix) == prefix then
      redis.call('DEL', name)
    end
  end
end
redis.call('DEL', KEYS[NAMES])
return redis.call('HINCRBY', KEYS[INCARNATION], 'deletions', 1)
"""

# KEYS: the session's incarnation hash; ARGV: a fresh random id, used only if there is none yet
#   -> {id, deletions}. Not one of the session's parts: delete_session keeps it (and counts the
# deletion in it), while a flushed or restarted server loses it with the session's data.
INCARNATION = """
memcore_types({'hash'})
local found = redis.call('HMGET', KEYS[1], 'id', 'deletions')
memcore_int(found[2], KEYS[1] .. ' deletions')
redis.call('HSETNX', KEYS[1], 'id', ARGV[1])
found = redis.call('HMGET', KEYS[1], 'id', 'deletions')
return {found[1], found[2] or '0'}
"""

# KEYS: meta index jpos items journal backups blobs incarnation -> {meta version, items'
# highest version (the index's top score), journal's highest version (jpos's highest field)};
# for verification and recovery. It also checks what only other calls read, so that
# verification finds every key and field recovery's ``repair_cells`` sets right (what each
# other call would fail on): every key's type, the meta numbers, the journal positions (HGETALL
# reads every field of jpos, one a version), the incarnation's id and deletion count, and an
# index that lists fewer keys than the items hold (what CHANGES reads whole).
VERSIONS = r"""
memcore_types({'hash', 'zset', 'hash', 'hash', 'list', 'hash', 'hash', 'hash'})
local listed, held = redis.call('ZCARD', KEYS[2]), redis.call('HLEN', KEYS[4])
if listed < held then
  memcore_damaged(KEYS[2] .. ' lists ' .. listed .. ' keys where ' .. KEYS[4] .. ' holds '
                  .. held .. ' (keys missing from it: deltas are read whole until recovery '
                  .. 'makes it again)')
end
local NUMBERS = {'version', 'journal_floor', 'journal_trimmed', 'replaced_at', 'contended',
                 'next_backup'}
local meta = redis.call('HMGET', KEYS[1], unpack(NUMBERS))
for i, name in ipairs(NUMBERS) do
  meta[i] = memcore_int(meta[i], KEYS[1] .. ' ' .. name)
end
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local items = tonumber(top[2] or '0')
local journal = 0
local jpos = redis.call('HGETALL', KEYS[3])
for i = 1, #jpos, 2 do
  journal = math.max(journal, tonumber(jpos[i]) or 0)
  -- (a position of a field that is a version: the ones the repair reads, and sets right)
  local at = tonumber(jpos[i + 1])
  if string.find(jpos[i], '^%s*%+?%d+%s*$')
     and not (at and at >= 0 and at == math.floor(at) and at < 9007199254740992) then
    memcore_int(jpos[i + 1], KEYS[3] .. ' ' .. jpos[i])
  end
end
local incarnation = redis.call('HMGET', KEYS[8], 'id', 'deletions')
memcore_int(incarnation[2], KEYS[8] .. ' deletions')
if incarnation[1] and string.find(incarnation[1], '[\128-\255]') then
  memcore_damaged(KEYS[8] .. ' id is not an ASCII id')
end
return {meta[1], items, journal}
"""

# KEYS: meta; ARGV: expected version, version -> 1 if raised, 0 if not at the expected version
RAISE_VERSION = """
memcore_types({'hash'})
local current = memcore_int(redis.call('HGET', KEYS[1], 'version'), KEYS[1] .. ' version')
if current ~= tonumber(ARGV[1]) or tonumber(ARGV[2]) <= current then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[2])
return 1
"""

SCRIPTS = {
    name: _PRELUDE + text
    for name, text in {
        "versions": VERSIONS,
        "raise_version": RAISE_VERSION,
        "incarnation": INCARNATION,
        "write": WRITE,
        "changes": CHANGES,
        "snapshot": SNAPSHOT,
        "journal": JOURNAL,
        "truncate": TRUNCATE,
        "put_backup": PUT_BACKUP,
        "delete_backup": DELETE_BACKUP,
        "delete_session": DELETE_SESSION,
        "repair_cells": REPAIR_CELLS,
        "journal_aside": JOURNAL_ASIDE,
    }.items()
}

__all__ = ["DAMAGED", "SCRIPTS"]
