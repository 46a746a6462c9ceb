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
  last, so a session appears whole or not at all and an interrupted copy can simply run again;
  each copy is checked (version, digest, item count) against the source, which is left as it
  was. A session ``dest`` already holds is skipped and reported.

Stop the writers of a store before migrating it: a writer running an older memcore writes the
legacy layout, and one running this version does not see legacy sessions until they are moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memcore.errors import BackendError
from memcore.stores.redis import LEGACY_SESSIONS_KEY, PARTS, RedisStore, session_keys
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

INCARNATION_PART = "incarnation"


def legacy_keys(session_id: str) -> dict[str, str]:
    """A session's key names in the layout before Redis Cluster support."""
    session_keys(session_id)  # validates
    return {part: f"memcore:{session_id}:{part}" for part in PARTS}


@dataclass
class MigrationReport:
    """What a migration did: sessions moved (or that would be, on a dry run), and skipped ones
    with the reason."""

    moved: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _client(url: str) -> tuple[RedisStore, Any]:
    store = RedisStore(url)
    return store, store.sync_client()


def legacy_sessions(client: Any) -> list[str]:
    """Sessions kept in the legacy layout: the legacy set, and any legacy meta key."""
    found = {s.decode("utf-8") for s in client.smembers(LEGACY_SESSIONS_KEY)}
    for name in client.scan_iter(match="memcore:*:meta", count=1000):
        text = name.decode("utf-8")
        middle = text[len("memcore:") : -len(":meta")]
        if "{" not in text and ":" not in middle:
            found.add(middle)
    return sorted(found)


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
    try:
        with client:
            rename = client.register_script(_RENAME)
            for session in legacy_sessions(client):
                old, new = legacy_keys(session), session_keys(session)
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
            if not dry_run and not client.scard(LEGACY_SESSIONS_KEY):
                client.delete(LEGACY_SESSIONS_KEY)
    except _errors() as exc:
        raise BackendError(f"migrating {mask_url(url)} failed: {mask_url(exc)}") from exc
    return report


def _source_names(session: str, legacy: bool) -> dict[str, str]:
    names = legacy_keys(session) if legacy else session_keys(session)
    if not legacy:
        names[INCARNATION_PART] = f"memcore:{{{session}}}:{INCARNATION_PART}"
    return names


def _summary(client: Any, names: dict[str, str]) -> tuple[Any, ...]:
    version, digest = client.hmget(names["meta"], ["version", "digest"])
    return version, digest, client.hlen(names["items"])


def copy_sessions(source: str, dest: str, *, dry_run: bool = False) -> MigrationReport:
    """Copy every session of ``source`` into ``dest`` in the new layout (see the module doc)."""
    report = MigrationReport()
    _, src = _client(source)
    _, dst = _client(dest)
    try:
        with src, dst:
            legacy = set(legacy_sessions(src))
            current = {
                name.decode("utf-8")[len("memcore:{") : -len("}:meta")]
                for name in src.scan_iter(match="memcore:{*}:meta", count=1000)
            }
            for session in sorted(legacy | current):
                old = _source_names(session, session in legacy)
                new = session_keys(session)
                new[INCARNATION_PART] = f"memcore:{{{session}}}:{INCARNATION_PART}"
                if session in legacy and session in current:
                    report.skipped[session] = "in both layouts at the source: migrate it first"
                    continue
                if dst.exists(new["meta"]):
                    report.skipped[session] = "the destination already holds it"
                    continue
                if dry_run:
                    report.moved.append(session)
                    continue
                dumps = {part: src.dump(name) for part, name in old.items()}
                for part, blob in dumps.items():
                    if blob is not None and part != "meta":
                        dst.restore(new[part], 0, blob, replace=True)
                if dumps["meta"] is not None:
                    dst.restore(new["meta"], 0, dumps["meta"])
                if _summary(src, old) != _summary(dst, new):
                    report.skipped[session] = "changed during the copy: run again"
                    continue
                report.moved.append(session)
    except _errors() as exc:
        raise BackendError(
            f"copying {mask_url(source)} to {mask_url(dest)} failed: {mask_url(exc)}"
        ) from exc
    return report


__all__ = ["MigrationReport", "copy_sessions", "legacy_keys", "legacy_sessions", "migrate_in_place"]
