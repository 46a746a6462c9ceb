"""The Lua script of the Redis store's repair of cells no read can take (see
:mod:`memcore.stores.redis_cells`): apart from :mod:`memcore.stores.redis_scripts` for its
length alone, registered there with the others.
"""

from __future__ import annotations

# KEYS: meta items index journal jpos backups blobs incarnation (``every_key``'s order), then
# for each the name it is moved aside to (``memcore:{session}:damaged:<part>``; with ``:2``,
# ``:3``... when taken: made here, with the same hash tag, so in the same slot), then the set
# every name moved aside to is added to (``memcore:{session}:damaged:names``: how
# ``delete_session`` finds them without a SCAN) -> what was repaired, one phrase each (none:
# nothing was wrong).
# Recovery's repair of what no other script can read (``memcore.stores.redis_cells``): it never
# fails halfway, since every key it writes is of the right type once the others are moved aside.
REPAIR_CELLS = r"""
local KINDS = {'hash', 'hash', 'zset', 'list', 'hash', 'hash', 'hash', 'hash'}
local META, ITEMS, INDEX, JOURNAL, JPOS, BACKUPS, BLOBS, INCARNATION = 1, 2, 3, 4, 5, 6, 7, 8
local NAMES = KEYS[17]
local done, moved = {}, {}
local function int(n) return string.format('%d', n) end
-- the first of base, base:2, base:3... that no key holds yet
local function free(base)
  local name, n = base, 1
  while redis.call('EXISTS', name) == 1 do
    n = n + 1
    name = base .. ':' .. n
  end
  return name
end
-- a name no key holds yet, to move part i (or its unreadable fields) aside; listed in NAMES
local function aside(i)
  local name = free(KEYS[8 + i])
  redis.call('SADD', NAMES, name)
  return name
end
local function move(i, why)
  local to = aside(i)
  redis.call('RENAME', KEYS[i], to)
  moved[i] = true
  done[#done + 1] = 'its key ' .. KEYS[i] .. ', ' .. why .. ', moved to ' .. to
end
-- a version, position or count as both the scripts (tonumber) and Python (int) read it
local function count(value)
  if type(value) ~= 'string' or not string.find(value, '^%s*%+?%d+%s*$') then return nil end
  local n = tonumber(value)
  if not n or n ~= math.floor(n) or n >= 9007199254740992 then return nil end
  return n
end
-- a digest: a whole number below 2^64 (only Python reads it); '' is none
local function digest_ok(value)
  if value == '' then return true end
  local digits = string.match(value, '^%s*%+?(%d+)%s*$')
  if not digits then return false end
  digits = string.gsub(digits, '^0+', '')
  return #digits < 20 or (#digits == 20 and digits < '18446744073709551616')
end
-- the version a journal entry (msgpack [version, key, record]) starts with
local WIDTHS = {[204] = 1, [205] = 2, [206] = 4, [207] = 8}
local function entry_version(entry)
  if string.byte(entry, 1) ~= 147 then return nil end
  local tag = string.byte(entry, 2)
  if not tag then return nil end
  if tag < 128 then return tag end
  local width = WIDTHS[tag]
  if not width or #entry < 2 + width then return nil end
  local n = 0
  for k = 3, 2 + width do n = n * 256 + string.byte(entry, k) end
  if n >= 9007199254740992 then return nil end
  return n
end
local function chunked(command, key, args)
  for i = 1, #args, 1000 do
    redis.call(command, key, unpack(args, i, math.min(#args, i + 999)))
  end
end

-- 0. the list of names moved aside, if another program made it something else (moved aside
-- itself, so that adding to it cannot fail halfway)
local names_kind = redis.call('TYPE', NAMES)['ok']
if names_kind ~= 'none' and names_kind ~= 'set' then
  local to = free(NAMES)
  redis.call('RENAME', NAMES, to)
  redis.call('SADD', NAMES, to)
  done[#done + 1] = 'its key ' .. NAMES .. ', a ' .. names_kind .. ' where memcore writes a set, '
                    .. 'moved to ' .. to
end

-- 1. keys of another type, moved aside (a backup's record and its bytes go together)
for i = 1, 8 do
  local found = redis.call('TYPE', KEYS[i])['ok']
  if found ~= 'none' and found ~= KINDS[i] then
    move(i, 'a ' .. found .. ' where memcore writes a ' .. KINDS[i])
  end
end
for _, pair in ipairs({{BACKUPS, BLOBS}, {BLOBS, BACKUPS}}) do
  if moved[pair[1]] and not moved[pair[2]] and redis.call('EXISTS', KEYS[pair[2]]) == 1 then
    move(pair[2], 'of no use without ' .. KEYS[pair[1]])
  end
end
-- an index listing fewer keys than the items hold (deleted, evicted: deltas miss changes), moved
-- aside if there is one; made again from the items in step 6
if not moved[INDEX] then
  local listed, held = redis.call('ZCARD', KEYS[INDEX]), redis.call('HLEN', KEYS[ITEMS])
  if listed > 0 and listed < held then
    move(INDEX, 'listing ' .. int(listed) .. ' of the ' .. int(held) .. ' keys its items hold')
  elseif listed < held then
    moved[INDEX] = true
    done[#done + 1] = 'its key ' .. KEYS[INDEX] .. ' missing (its items hold ' .. int(held)
                      .. ' keys)'
  end
end
local remade = moved[META]
local listed = remade or redis.call('EXISTS', KEYS[META]) == 1

-- 2. meta fields that are no number: copied aside, then set from the session's own keys
local NAMES = {'version', 'digest', 'journal_floor', 'journal_trimmed', 'replaced_at',
               'contended', 'next_backup'}
local raw = redis.call('HMGET', KEYS[META], unpack(NAMES))
local meta, bad, kept = {}, {}, nil
for i, name in ipairs(NAMES) do
  local value = raw[i]
  if value then
    local ok
    if name == 'digest' then ok = digest_ok(value) else ok = count(value) end
    if ok then
      meta[name] = count(value)
    else
      kept = kept or aside(META)
      redis.call('HSET', kept, name, value)
      bad[name] = true
    end
  end
end
local function fix(name) return listed and (bad[name] or remade) end
-- what was set in a field found damaged (a meta made again says it all at once)
local function said(text)
  if not remade then done[#done + 1] = text end
end

-- 3. the journal's positions: one that is no number, or a journal moved aside, moves them too
local function positions()
  local flat = redis.call('HGETALL', KEYS[JPOS])
  local out, low, high = {}, nil, nil
  for i = 1, #flat, 2 do
    local version = count(flat[i])
    if version then
      local at = count(flat[i + 1])
      if not at then return nil end
      out[version] = at
      if not low or version < low then low = version end
      if not high or version > high then high = version end
    end
  end
  return out, low, high
end
local jpos, low, high = {}, nil, nil
if not moved[JPOS] then
  jpos, low, high = positions()
  if not jpos then
    move(JPOS, 'holding a position that is no whole number')
    jpos = {}
  end
end
local gone = moved[JOURNAL]
if gone and redis.call('EXISTS', KEYS[JPOS]) == 1 then
  move(JPOS, 'the positions of entries in the journal moved aside')
  jpos, low, high = {}, nil, nil
end
-- positions to make again from the journal's own entries, each starting with its version
local firsts, base, length = nil, 0, 0
if moved[JPOS] and not gone then
  base = meta.journal_trimmed or 0
  length = redis.call('LLEN', KEYS[JOURNAL])
  firsts = {}
  local last = -1
  for start = 0, length - 1, 1000 do
    for j, entry in ipairs(redis.call('LRANGE', KEYS[JOURNAL], start, start + 999)) do
      local version = entry_version(entry)
      if not version or version < last then
        firsts = nil
        break
      end
      if version > last then
        firsts[#firsts + 1] = {version, base + start + j - 1}
        last = version
      end
    end
    if not firsts then break end
  end
  if not firsts then
    move(JOURNAL, 'holding an entry that is no journal entry, and its positions lost')
    gone = true
  elseif #firsts > 0 then
    low, high = firsts[1][1], firsts[#firsts][1]
  end
end

-- 4. the version: the highest one its index, journal and backups hold
local version = meta.version or 0
if fix('version') then
  version = math.max(meta.journal_floor or 0, high or 0)
  if not moved[INDEX] then
    local top = redis.call('ZREVRANGE', KEYS[INDEX], 0, 0, 'WITHSCORES')
    local score = tonumber(top[2] or '0')
    if score and score == math.floor(score) and score >= 0 and score < 9007199254740992 then
      version = math.max(version, score)
    end
  end
  for _, packed in ipairs(redis.call('HVALS', KEYS[BACKUPS])) do
    local ok, info = pcall(cmsgpack.unpack, packed)
    if ok and type(info) == 'table' and count(tostring(info[1])) then
      version = math.max(version, info[1])
    end
  end
  redis.call('HSET', KEYS[META], 'version', int(version))
  said('its version, not a whole number, set to ' .. int(version)
       .. ' (the highest its index, journal and backups hold)')
end

-- 5. the journal floor and trimmed count, and positions made again
local floor = meta.journal_floor or 0
if gone then
  if listed and (fix('journal_floor') or floor < version) then
    floor = version
    redis.call('HSET', KEYS[META], 'journal_floor', int(floor))
    done[#done + 1] = 'its journal floor set to ' .. int(floor) .. ' (its journal moved aside: '
                      .. 'a repair needs a backup at or above that version)'
  end
elseif fix('journal_floor') then
  floor = low and low - 1 or version
  redis.call('HSET', KEYS[META], 'journal_floor', int(floor))
  said('its journal floor, not a whole number, set to ' .. int(floor))
end
if firsts then
  local fields, k = {}, 1
  for v = floor + 1, math.max(version, high or 0) do
    while firsts[k] and firsts[k][1] < v do k = k + 1 end
    fields[#fields + 1] = int(v)
    fields[#fields + 1] = int(firsts[k] and firsts[k][2] or base + length)
  end
  chunked('HSET', KEYS[JPOS], fields)
  done[#done + 1] = 'its journal positions made again from its ' .. int(length) .. ' entries'
end
if listed and (gone or firsts or fix('journal_trimmed')) then
  local trimmed = 0
  if firsts then
    trimmed = base
  elseif not gone and low then
    trimmed = jpos[low]
  end
  if bad.journal_trimmed or trimmed ~= (meta.journal_trimmed or 0) then
    redis.call('HSET', KEYS[META], 'journal_trimmed', int(trimmed))
    if bad.journal_trimmed then
      said('its count of journal entries cut off, not a whole number, set to ' .. int(trimmed))
    end
  end
end

-- 6. the index, made again from the items, and the version of the last replacement
if moved[INDEX] then
  local scored = {}
  for _, key in ipairs(redis.call('HKEYS', KEYS[ITEMS])) do
    scored[#scored + 1] = int(version)
    scored[#scored + 1] = key
  end
  chunked('ZADD', KEYS[INDEX], scored)
  done[#done + 1] = 'its index made again from its ' .. int(#scored / 2) .. ' items, each at '
                    .. 'version ' .. int(version) .. ' (a replica behind it takes them whole)'
  if listed then
    redis.call('HSET', KEYS[META], 'replaced_at', int(version))
  end
elseif fix('replaced_at') then
  local bottom = redis.call('ZRANGE', KEYS[INDEX], 0, 0, 'WITHSCORES')
  local at = math.min(version, math.max(0, math.floor(tonumber(bottom[2] or '0') or 0)))
  redis.call('HSET', KEYS[META], 'replaced_at', int(at))
  said('its replacement mark, not a whole number, set to ' .. int(at)
       .. ' (its index\'s lowest version)')
end

-- 7. the digest (written again by recovery from a checked state), the contention mark and the
-- next backup id
if bad.digest then
  redis.call('HDEL', KEYS[META], 'digest')
  done[#done + 1] = 'its digest, not a whole number, cleared (made again from a checked state)'
end
if bad.contended then
  redis.call('HDEL', KEYS[META], 'contended')
  said('its contention mark, not a whole number, cleared')
end
if fix('next_backup') then
  local top = 0
  for _, part in ipairs({BACKUPS, BLOBS}) do
    for _, id in ipairs(redis.call('HKEYS', KEYS[part])) do
      top = math.max(top, count(id) or 0)
    end
  end
  redis.call('HSET', KEYS[META], 'next_backup', int(top))
  if bad.next_backup then
    said('its next backup id, not a whole number, set past its backups (' .. int(top) .. ')')
  end
end
if remade then
  done[#done + 1] = 'its meta made again from its other keys (version ' .. int(version)
                    .. ', journal floor ' .. int(floor) .. '; no digest: recovery makes it '
                    .. 'again from a checked state)'
end
if kept then
  done[#done + 1] = 'the values as they were kept in ' .. kept
end

-- 8. the incarnation's deletion count and id (a new id is made on the next read)
local found = redis.call('HMGET', KEYS[INCARNATION], 'id', 'deletions')
local copy = nil
if found[2] and not count(found[2]) then
  copy = aside(INCARNATION)
  redis.call('HSET', copy, 'deletions', found[2])
  redis.call('HDEL', KEYS[INCARNATION], 'deletions')
  done[#done + 1] = 'its incarnation\'s deletion count, not a whole number, cleared'
end
if found[1] and string.find(found[1], '[\128-\255]') then
  copy = copy or aside(INCARNATION)
  redis.call('HSET', copy, 'id', found[1])
  redis.call('HDEL', KEYS[INCARNATION], 'id')
  done[#done + 1] = 'its incarnation id, not ASCII text, cleared (a new one is made)'
end
if copy then
  done[#done + 1] = 'the incarnation\'s values as they were kept in ' .. copy
end
return done
"""


__all__ = ["REPAIR_CELLS"]
