"""Moving Redis data into the hash-tagged layout, in place or onto another server or a cluster.

Before Redis Cluster support a session's keys were ``memcore:<session>:<part>`` and every commit
also added the session to one global set, ``memcore:sessions``; keys of one session hashed to
different cluster slots. The layout now is ``memcore:{<session>}:<part>`` with no global key
(see ``memcore.stores.redis``). ``memcore migrate-redis`` runs what is here:

* ``migrate_in_place(url)``: on one server, each legacy session's keys are renamed by one Lua
  script (atomic per session), then the session leaves ``memcore:sessions``; the set goes once
  empty. A session that also exists in the new layout is left alone and reported.
* ``copy_sessions(source, dest)``: every session of ``source`` (either layout) is copied with
  ``DUMP``/``RESTORE`` into ``dest`` (a server or a cluster) in the new layout, its ``meta`` key
  last, so a session appears whole or not at all and an interrupted copy can simply run again.
  A session's keys are dumped by one script, so the copy is the session at one instant, never
  a meta of one commit beside items of another; each copy is checked (version, digest, item
  count) against that instant. A session that changed at the source while it was copied is
  copied again (a few times), else its copy is removed and it is reported, so running again
  once its writers stop copies it. The source is left as it was. A session ``dest`` already
  holds as the source has it (same version, digest and item count: a run that was stopped
  copied it) is done, listed in ``already_copied``; one it holds otherwise is skipped and
  reported, never overwritten. What recovery moved aside in a session (``damaged:*``) goes with
  it, under the same names. A ``dest`` that reaches the source's own keys (the same server
  and db, however spelled) is refused before anything is copied: the copy would put the new
  layout beside the legacy one on that server, a session in both layouts that neither an
  in-place run nor the store would take.

Stop the writers of a store before migrating it: a writer running an older memcore writes the
legacy layout, and one running this version does not see legacy sessions until they are moved.

What memcore never wrote is skipped and named, never a reason to stop: a legacy set member or a
key name that is no session id (``SADD memcore:sessions "bad session"``), a session with a key
of a type memcore never writes there (see ``memcore.stores.redis_sessions``). Their keys are
left as they are; in place, such a member is moved from ``memcore:sessions`` into
``memcore:sessions:skipped`` (kept, to look at, but no longer marking the store as legacy, so
the store works once the rest is moved).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from memcore.errors import BackendError, ValidationError
from memcore.stores.redis import LEGACY_SESSIONS_KEY, PARTS, RedisStore, session_keys
from memcore.stores.redis_cells import damaged_key, damaged_names_key
from memcore.stores.redis_connection import cluster_node_message, failure_said
from memcore.stores.redis_keys import every_key
from memcore.stores.redis_sessions import check_types, session_id_of, sessions_of_metas, shown
from memcore.stores.urls import mask_url

# KEYS: the 7 legacy names, then the 7 new names, then the legacy set; ARGV: session
# (meta first in both) -> number of keys renamed, or -1 if the session already has a meta key
# in the new layout
_RENAME = """
local n = (#KEYS - 1) / 2
if redis.call('EXISTS', KEYS[n + 1]) == 1 and redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
local moved = 0
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[n + i])
    moved = moved + 1
  end
end
redis.call('SREM', KEYS[#KEYS], ARGV[1])
return moved
"""

# KEYS: a session's source names, meta then items first -> the DUMP of each (false when absent),
# then the meta's version and digest (false when absent) and the items' count: one instant
_DUMP = """
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('DUMP', KEYS[i])
end
local meta = redis.call('HMGET', KEYS[1], 'version', 'digest')
out[#KEYS + 1] = meta[1]
out[#KEYS + 2] = meta[2]
out[#KEYS + 3] = redis.call('HLEN', KEYS[2])
return out
"""

# KEYS: a copy's names at the destination, meta first; ARGV: the version and digest it was
# restored with ('' for none) -> 1 if removed, 0 if written since (then kept)
_UNCOPY = """
local meta = redis.call('HMGET', KEYS[1], 'version', 'digest')
if (meta[1] or '') ~= ARGV[1] or (meta[2] or '') ~= ARGV[2] then
  return 0
end
redis.call('DEL', unpack(KEYS))
return 1
"""

#: How many times a session that changes at the source while it is copied is copied again.
COPY_ATTEMPTS = 3

INCARNATION_PART = "incarnation"
#: The start of the key ``copy_sessions`` makes for a moment to tell whether ``dest`` is the
#: source itself (no session's name: a session's keys all hold braces).
PROBE_PREFIX = "memcore:migrate-probe:"
#: Where an in-place migration keeps the legacy set's members it skipped (see the module doc).
SKIPPED_SESSIONS_KEY = "memcore:sessions:skipped"


def legacy_keys(session_id: str) -> dict[str, str]:
    """A session's key names in the layout before Redis Cluster support."""
    session_keys(session_id)  # validates
    return {part: f"memcore:{session_id}:{part}" for part in PARTS}


@dataclass
class MigrationReport:
    """What a migration did: sessions moved (or that would be, on a dry run), skipped ones with
    the reason, and (copies only) those the destination already held as the source has them:
    done by an earlier run, so running again after an interrupted copy is not a failure."""

    moved: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    already_copied: list[str] = field(default_factory=list)


def _client(url: str) -> tuple[RedisStore, Any]:
    """A synchronous client of ``url``; a ``redis://`` URL at a Redis Cluster node is refused
    (as the store refuses it): a copy from it would take that node's sessions only and say it
    moved them all, a copy to it would stop at the first session of another node's slots."""
    store = RedisStore(url)
    try:
        client = store.sync_client()  # (a cluster client connects as it is made)
    except _errors() as exc:
        raise BackendError(f"redis connect failed on {mask_url(url)}: {failure_said(exc)}") from exc
    if store.cluster:
        return store, client
    import redis.exceptions

    try:
        node = str(client.info("cluster").get("cluster_enabled", 0)) == "1"
    except redis.exceptions.ResponseError:  # (INFO refused, as some hosted servers do)
        node = False
    except _errors() as exc:
        client.close()
        raise BackendError(f"redis connect failed on {mask_url(url)}: {failure_said(exc)}") from exc
    if node:
        client.close()
        raise BackendError(cluster_node_message(url))
    return store, client


@dataclass
class _Legacy:
    """What the legacy layout holds: its sessions, the names that are none (shown, with the
    reason) and the legacy set's members among them."""

    sessions: set[str] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)
    stray: list[bytes] = field(default_factory=list)


def _legacy(client: Any) -> _Legacy:
    found = _Legacy()
    for member in client.smembers(LEGACY_SESSIONS_KEY):
        try:
            found.sessions.add(session_id_of(member))
        except ValidationError:
            found.skipped[f"'{shown(member)}'"] = f"in {LEGACY_SESSIONS_KEY}, not a session id"
            found.stray.append(member)
    for name in client.scan_iter(match="memcore:*:meta", count=1000):
        middle = name[len("memcore:") : -len(":meta")]
        if b"{" in name or b":" in middle:
            continue
        try:
            found.sessions.add(session_id_of(middle))
        except ValidationError:
            text = f"its key {shown(name)} names no session id"
            found.skipped.setdefault(f"'{shown(middle)}'", text)
    return found


def legacy_sessions(client: Any) -> list[str]:
    """Sessions kept in the legacy layout: the legacy set, and any legacy meta key (names that
    are no session id left out)."""
    return sorted(_legacy(client).sessions)


def _errors() -> tuple[type[BaseException], ...]:
    import redis.exceptions

    return (redis.exceptions.RedisError, redis.exceptions.RedisClusterException, OSError)


def migrate_in_place(url: str, *, dry_run: bool = False) -> MigrationReport:
    """Rename every legacy session's keys on the server ``url`` names (see the module doc)."""
    store, client = _client(url)
    if store.cluster:
        client.close()
        raise BackendError(
            f"{mask_url(url)} is a cluster: legacy data lives on a single server; copy it "
            "with `memcore migrate-redis SOURCE --to CLUSTER_URL`"
        )
    report = MigrationReport()
    aside = f"{'would be' if dry_run else 'is'} kept in {SKIPPED_SESSIONS_KEY}"
    try:
        with client:
            rename = client.register_script(_RENAME)
            found = _legacy(client)
            report.skipped.update(found.skipped)
            for member in found.stray:
                report.skipped[f"'{shown(member)}'"] += f"; the entry {aside}"
            stray = list(found.stray)
            for session in sorted(found.sessions):
                old, new = legacy_keys(session), session_keys(session)
                problem = check_types(client, old)
                if problem is not None:  # (its keys stay; its set member no longer blocks)
                    entry = bool(client.sismember(LEGACY_SESSIONS_KEY, session))
                    report.skipped[session] = f"{problem}; its keys left as they are" + (
                        f", its entry {aside}" if entry else ""
                    )
                    stray += [session.encode()] if entry else []
                    continue
                if dry_run:
                    if client.exists(new["meta"]) and client.exists(old["meta"]):
                        report.skipped[session] = "already in the new layout too"
                    else:
                        report.moved.append(session)
                    continue
                keys = [*old.values(), *new.values(), LEGACY_SESSIONS_KEY]
                if int(rename(keys=keys, args=[session])) < 0:
                    report.skipped[session] = "already in the new layout too"
                else:
                    report.moved.append(session)
            if not dry_run:
                for member in stray:  # (a no-op for a name found only as a key)
                    client.smove(LEGACY_SESSIONS_KEY, SKIPPED_SESSIONS_KEY, member)
                if not client.scard(LEGACY_SESSIONS_KEY):
                    client.delete(LEGACY_SESSIONS_KEY)
    except _errors() as exc:
        raise BackendError(f"migrating {mask_url(url)} failed: {failure_said(exc)}") from exc
    return report


def _source_names(session: str, legacy: bool) -> dict[str, str]:
    names = legacy_keys(session) if legacy else session_keys(session)
    if not legacy:
        names[INCARNATION_PART] = f"memcore:{{{session}}}:{INCARNATION_PART}"
    return names


def _set_aside(client: Any, session: str) -> list[str]:
    """The names of what recovery's repairs moved aside in the session (``damaged:<part>``,
    listed in ``damaged:names``, that set too): kept with the session, as the repair kept them,
    so the copy is all the source held of it."""
    listing = damaged_names_key(session)
    prefix = damaged_key(session, "")
    found = {damaged_key(session, part) for part in every_key(session)}
    if shown(client.type(listing)) == "set":
        found.update(shown(name) for name in client.smembers(listing))
    found.add(listing)
    return sorted(name for name in found if name.startswith(prefix) and client.exists(name))


def _summary(client: Any, names: dict[str, str]) -> tuple[Any, ...]:
    version, digest = client.hmget(names["meta"], ["version", "digest"])
    return version, digest, client.hlen(names["items"])


def _copy_one(src: Any, dst: Any, old: dict[str, str], new: dict[str, str]) -> str | None:
    """Copy one session's keys ``old`` at ``src`` to ``new`` at ``dst`` (same parts, meta and
    items first); None when copied, else why not (with nothing left at ``dst``, unless it was
    written there meanwhile)."""
    dump, uncopy = src.register_script(_DUMP), dst.register_script(_UNCOPY)
    parts = list(old)
    for _ in range(COPY_ATTEMPTS):
        found = dump(keys=list(old.values()))
        dumps = dict(zip(parts, found[: len(parts)], strict=True))
        summary = tuple(found[len(parts) :])
        for part, blob in dumps.items():
            if blob is not None and part != "meta":
                dst.restore(new[part], 0, blob, replace=True)
        if dumps["meta"] is not None:
            dst.restore(new["meta"], 0, dumps["meta"])
        if _summary(dst, new) != summary:
            return "written at the destination during the copy: look at it there"
        if _summary(src, old) == summary:
            return None
        restored = [(value or b"").decode() for value in summary[:2]]
        if not int(uncopy(keys=list(new.values()), args=restored)):
            return "written at the destination during the copy: look at it there"
    return "changed at the source during every copy: stop its writers and run again"


def _same_keyspace(src: Any, dst: Any) -> bool:
    """Whether two clients reach the same keys (one server and db under two spellings,
    ``localhost`` and ``127.0.0.1``, or one cluster by two nodes): a short-lived probe key made
    at ``dst`` and looked for at ``src``. Its name is no session's, so nothing lists it, and it
    expires by itself should the run be killed before it removes it."""
    probe = f"{PROBE_PREFIX}{secrets.token_hex(8)}"
    dst.set(probe, b"1", px=60_000)
    try:
        return bool(src.exists(probe))
    finally:
        dst.delete(probe)


def copy_sessions(source: str, dest: str, *, dry_run: bool = False) -> MigrationReport:
    """Copy every session of ``source`` into ``dest`` in the new layout (see the module doc).
    A ``dest`` that is ``source`` itself is a ``ValidationError``, before anything is copied."""
    report = MigrationReport()
    _, src = _client(source)
    try:
        _, dst = _client(dest)
    except BackendError:
        src.close()
        raise
    try:
        with src, dst:
            if _same_keyspace(src, dst):
                raise ValidationError(
                    f"{mask_url(dest)} is the store {mask_url(source)} itself (the same "
                    "server and db): --to names another server or a cluster; to move legacy "
                    f"data in place, run `memcore migrate-redis {mask_url(source)}` alone"
                )
            found = _legacy(src)
            legacy = found.sessions
            current, unlisted = sessions_of_metas(
                src.scan_iter(match="memcore:{*}:meta", count=1000)
            )
            for name, why in [*found.skipped.items(), *unlisted.items()]:
                report.skipped[name if name[:1] == "'" else f"'{name}'"] = f"{why}; not copied"
            for session in sorted(legacy | current):
                old = _source_names(session, session in legacy)
                new = session_keys(session)
                new[INCARNATION_PART] = f"memcore:{{{session}}}:{INCARNATION_PART}"
                if session in legacy and session in current:
                    report.skipped[session] = "in both layouts at the source: migrate it first"
                    continue
                problem = check_types(src, old)
                if problem is not None:
                    report.skipped[session] = f"{problem}; not copied"
                    continue
                if session not in legacy:  # (copied under the same names: same layout)
                    aside = {name: name for name in _set_aside(src, session)}
                    old, new = {**old, **aside}, {**new, **aside}
                if dst.exists(new["meta"]):  # (a copy's meta is restored last: a whole one)
                    if _summary(dst, new) == _summary(src, old):
                        report.already_copied.append(session)
                    else:
                        report.skipped[session] = (
                            "the destination already holds it, in another state than the "
                            "source's (version, digest or item count): look at it there"
                        )
                    continue
                if dry_run:
                    report.moved.append(session)
                    continue
                problem = _copy_one(src, dst, old, new)
                if problem is not None:
                    report.skipped[session] = problem
                    continue
                report.moved.append(session)
    except _errors() as exc:
        raise BackendError(
            f"copying {mask_url(source)} to {mask_url(dest)} failed: {failure_said(exc)}"
        ) from exc
    return report


__all__ = [
    "SKIPPED_SESSIONS_KEY",
    "MigrationReport",
    "copy_sessions",
    "legacy_keys",
    "legacy_sessions",
    "migrate_in_place",
]
