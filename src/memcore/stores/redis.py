"""Redis and Redis Cluster stores: sessions many machines can share.

URLs: ``redis://[user:password@]host:port/db`` and ``rediss://`` (one server);
``redis+cluster://[user:password@]host:port`` and ``rediss+cluster://`` (Redis Cluster, through
redis-py's cluster client; any node's address will do, the others are discovered; several,
``host1:port1,host2:port2``, are seeds tried until one answers). Query
parameters ``socket_timeout`` (seconds a command may wait for its reply, default 5) and
``connect_timeout`` (seconds to establish a connection, default 2) bound how long an unreachable
or stopped server takes to be reported; the redis-py options memcore knows pass through, their
values checked (``ssl_*`` ones on ``rediss://`` only); any other parameter, and those that
decode replies as text (``decode_responses=true``, ``encoding``: memcore's records are bytes),
is a ``ValidationError`` when the URL is parsed, before anything is opened. A ``redis://`` URL at a
Redis Cluster node is refused on the first call, naming the ``+cluster`` scheme (it would reach
only that node's sessions). URLs are parsed in ``memcore.stores.redis_urls``.

Per session, every key carries the session id as a hash tag, so all of a session's keys live
in one cluster hash slot and each commit is one Lua script on one node (session ids are
validated: they never contain ``:``, braces or glob characters; item keys only ever go into hash
fields and list values, never into Redis key names)::

    memcore:{<session>}:meta      hash   version, digest, next_backup, token of the last commit,
                                         replaced_at, journal_floor, journal_trimmed,
                                         contended (ms of the last lost compare-and-set)
    memcore:{<session>}:items     hash   key -> record
    memcore:{<session>}:index     zset   key -> version that last changed it (the delta feed)
    memcore:{<session>}:journal   list   msgpack [version, key, record], oldest first
    memcore:{<session>}:jpos      hash   version -> journal position of that version's entries
                                         (absolute: journal_trimmed entries were cut off the head)
    memcore:{<session>}:backups   hash   backup id -> msgpack [version, created_at, size]
    memcore:{<session>}:blobs     hash   backup id -> backup bytes
    memcore:{<session>}:incarnation  hash   id (random, set once), deletions (a count that
                                         ``delete_session`` raises in its own script): kept
                                         across deletions, lost with the server's data
    memcore:{<session>}:damaged:<part>[:<n>]  what recovery's ``repair_cells`` moved aside
    memcore:{<session>}:damaged:journal[:<n>]  list  journal entries that were no journal entry,
                                         moved aside by ``repair_cells`` (a marker ``[version,
                                         "", ""]`` in each one's place: ``redis_journal_aside``)
    memcore:{<session>}:damaged:names  set   their names (``delete_session`` drops them all)

There is no global key: a session is listed when its ``meta`` key exists (a commit or a backup
writes it), and ``list_sessions`` finds them with ``SCAN`` over every primary. So no write ever
spans two slots, and a commit costs one ``EVALSHA`` round trip (the script's sha is cached; it is
loaded again after a server restart). Data written before this layout (``memcore:<session>:...``
and a ``memcore:sessions`` set) is moved with ``memcore migrate-redis`` (see
``memcore.stores.redis_migrate``); until then the store refuses to work on that server (every
call, on its first connection), naming the command.

Commits and state replacements compare the version and do every write atomically; so do delta
and snapshot reads and journal truncation (scripts in ``memcore.stores.redis_scripts``). Every
redis failure (connection refused, timeout, script error, cluster down) surfaces as
``BackendError`` with the cause chained; a URL is only ever shown with its password masked. A
key or field of a session that memcore never writes that way (``SET memcore:{s}:index x``,
``HSET memcore:{s}:meta version abc``: another program or a hand edit) is a
``CorruptedMemoryError`` naming it, raised before a script writes anything; recovery's
``repair_cells`` moves it aside and sets it from the session's keys (``redis_cells``).

The redis package is imported when a store is made, so importing memcore never needs it. The
asyncio client is created lazily and again whenever the running event loop changes, so one store
serves ``asyncio.run`` after ``asyncio.run`` (the client is closed in its own loop when that loop
ends), and again in a forked child (``memcore.stores.redis_connection``). Use one store from one
thread at a time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import msgpack

from memcore.errors import BackendError, CorruptedMemoryError, NotFoundError
from memcore.stores.base import (
    CONTENTION_WINDOW,
    Delta,
    Expected,
    Incarnation,
    JournalEntry,
    Snapshot,
    validate_digest,
    validate_expected,
    validate_key,
    validate_records,
    validate_version,
)
from memcore.stores.redis_backups import RedisBackups
from memcore.stores.redis_cells import RedisCells, deletion_keys
from memcore.stores.redis_connection import RedisConnection
from memcore.stores.redis_damage import count_field, ident_field
from memcore.stores.redis_journal_aside import unpack_journal_entry
from memcore.stores.redis_keys import (
    LEGACY_SESSIONS_KEY,
    META_PATTERN,
    PARTS,
    every_key,
    incarnation_key,
    session_keys,
)
from memcore.stores.redis_sessions import damaged_sessions, sessions_of_metas
from memcore.stores.redis_urls import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_SOCKET_TIMEOUT,
    RedisURL,
    parse_redis_url,
)
from memcore.stores.redis_versions import RedisVersions, journal_taken
from memcore.stores.urls import mask_url


def _unpack_reply(reply: object) -> list[Any]:
    """A script's msgpack reply (one string, unpacked in C) as a list."""
    try:
        out = msgpack.unpackb(reply, raw=True, use_list=True)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CorruptedMemoryError(f"unreadable reply from the redis store: {exc}") from exc
    if not isinstance(out, list):
        raise CorruptedMemoryError("unreadable reply from the redis store: not a list")
    return out


def _records(flat: list[Any], start: int, stop: int) -> dict[str, bytes]:
    """``key -> record`` from ``flat[start:stop]`` = [key1, record1, ...] (a key whose record is
    gone reads as false and is left out). A field name that is no UTF-8 (memcore never writes
    one: ``HSET`` by hand) is read with its bytes as lone surrogates: a key no check takes, so
    the record is damaged as any other (verify names it, replicas set it aside, recovery
    rebuilds the session without it); it made every read of the session fail, recovery's
    too."""
    try:
        return {
            flat[i].decode("utf-8", "surrogateescape"): flat[i + 1]
            for i in range(start, stop, 2)
            if isinstance(flat[i + 1], bytes)
        }
    except AttributeError as exc:
        raise CorruptedMemoryError(f"unreadable key in the redis store: {exc}") from exc


class RedisStore(RedisConnection, RedisVersions, RedisBackups, RedisCells):
    """The Store protocol over a Redis server or a Redis Cluster (see the module docstring).

    ``socket_timeout`` / ``connect_timeout`` given here win over the URL's parameters, which win
    over the defaults (5 s and 2 s). A refused or dropped connection is retried ``retries``
    times with a short backoff (a server restarting; on a cluster, also a slot that moved or a
    cluster that is down, while the client learns the layout again); a timeout is reported at
    once, so a stopped server or node is reported after ``socket_timeout``
    (``memcore.stores.redis_connection``).
    """

    #: what ``list_sessions`` left out last, and why (set by it; read with a default)
    unlisted: dict[str, str]
    #: see ``list_sessions`` (the command line's store-wide commands set it)
    skip_damaged = False

    def __repr__(self) -> str:
        return f"RedisStore({mask_url(self.url)!r})"

    # --- the Store protocol -----------------------------------------------------------------

    async def version(self, session_id: str) -> int:
        keys = session_keys(session_id)
        with self._guard("version", session_id, keys["meta"]):
            raw = await (await self._connect()).hget(keys["meta"], "version")
        return count_field(raw, session_id, f"{keys['meta']} version")

    async def incarnation(self, session_id: str) -> Incarnation:
        key = incarnation_key(session_id)
        with self._guard("incarnation", session_id):
            ident, deletions = await self._script(
                "incarnation", keys=[key], args=[os.urandom(16).hex()]
            )
        return Incarnation(
            ident_field(ident, session_id, f"{key} id"),
            count_field(deletions, session_id, f"{key} deletions"),
        )

    async def read_changes(self, session_id: str, since_version: int) -> Delta:
        keys = session_keys(session_id)
        validate_version(since_version)
        incarnation_name = incarnation_key(session_id)
        with self._guard("read_changes", session_id):
            out = await self._script(
                "changes",
                keys=[keys["meta"], keys["items"], keys["index"], incarnation_name],
                args=[since_version, os.urandom(16).hex()],
            )
        out = _unpack_reply(out)
        incarnation = Incarnation(
            ident_field(out[-2] or b"", session_id, f"{incarnation_name} id"),
            count_field(out[-1], session_id, f"{incarnation_name} deletions"),
        )
        records = _records(out, 3, len(out) - 2)
        meta = keys["meta"]
        return Delta(
            count_field(out[0], session_id, f"{meta} version"),
            records,
            count_field(out[1], session_id, f"{meta} digest") if out[1] else None,
            count_field(out[2], session_id, f"{meta} replaced_at"),
            incarnation,
        )

    async def read_snapshot(self, session_id: str) -> Snapshot:
        keys = session_keys(session_id)
        with self._guard("read_snapshot", session_id):
            out = _unpack_reply(
                await self._script("snapshot", keys=[keys["meta"], keys["items"]], args=[])
            )
        meta = keys["meta"]
        return Snapshot(
            count_field(out[0], session_id, f"{meta} version"),
            _records(out, 2, len(out)),
            count_field(out[1], session_id, f"{meta} digest") if out[1] else None,
        )

    async def commit(
        self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        return await self._write(session_id, expected_version, records, digest, replace=False)

    async def commit_if_unchanged(
        self, session_id: str, expected: Expected, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        """The commit script, also checking the stored digest and the session's incarnation
        hash (same hash slot) against ``expected``: still one ``EVALSHA``."""
        validate_expected(expected)
        return await self._write(
            session_id, expected.version, records, digest, replace=False, expected=expected
        )

    async def replace_state(
        self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        return await self._write(session_id, expected_version, records, digest, replace=True)

    async def _write(
        self,
        session_id: str,
        expected_version: int,
        records: Mapping[str, bytes],
        digest: int,
        *,
        replace: bool,
        token: str | None = None,
        expected: Expected | None = None,
    ) -> int | None:
        keys = session_keys(session_id)
        validate_version(expected_version)
        validate_records(records)
        validate_digest(digest)
        new = expected_version + 1
        args: list[Any] = [
            expected_version,
            new,
            digest,
            "1" if replace else "0",
            token or os.urandom(16).hex(),
        ]
        # str types throughout: Redis 7.0's cmsgpack, which unpacks this, reads no bin types
        args.append(
            msgpack.packb([part for pair in records.items() for part in pair], use_bin_type=False)
        )
        names = [keys["meta"], keys["items"], keys["index"], keys["journal"], keys["jpos"]]
        if expected is not None:
            names.append(incarnation_key(session_id))
            incarnation = expected.incarnation
            window_ms = round(CONTENTION_WINDOW * 1000)
            args += [expected.digest, incarnation.store, incarnation.deletions, window_ms]
        try:
            with self._guard("commit", session_id):
                result = await self._script("write", keys=names, args=args)
        except BackendError as exc:
            why = await self.too_large(len(args[5]))
            if why is not None:
                raise BackendError(f"{exc}: {why}") from exc.__cause__
            raise journal_taken(session_id, exc) from exc.__cause__
        return None if int(result) < 0 else int(result)

    async def read_journal(self, session_id: str, since_version: int = 0) -> list[JournalEntry]:
        keys = session_keys(session_id)
        validate_version(since_version)
        with self._guard("read_journal", session_id):
            raw = await self._script(
                "journal",
                keys=[keys["meta"], keys["journal"], keys["jpos"]],
                args=[since_version + 1],
            )
        entries = []
        for index, item in enumerate(raw):
            try:
                entries.append(unpack_journal_entry(item))
            except CorruptedMemoryError as exc:
                raise CorruptedMemoryError(
                    f"session {session_id!r}: {exc} (entry {index + 1} of {len(raw)} read from "
                    f"{keys['journal']}; `memcore recover {session_id}` moves it aside)"
                ) from exc
        return entries

    async def last_changed(self, session_id: str) -> dict[str, int]:
        """Each key's version of its last change, as the index (the delta feed) holds it:
        recovery's witness for crossing a journal entry moved aside
        (``memcore.stores.redis_journal_aside``)."""
        keys = session_keys(session_id)
        with self._guard("last_changed", session_id, keys["index"]):
            pairs = await (await self._connect()).zrange(keys["index"], 0, -1, withscores=True)
        return {
            key.decode("utf-8", "surrogateescape"): int(score)
            for key, score in pairs
            if float(score).is_integer() and score >= 0
        }

    async def truncate_journal(self, session_id: str, through_version: int) -> int:
        keys = session_keys(session_id)
        validate_version(through_version)
        with self._guard("truncate_journal", session_id):
            dropped = await self._script(
                "truncate",
                keys=[keys["meta"], keys["journal"], keys["jpos"]],
                args=[through_version],
            )
        return int(dropped)

    async def journal_floor(self, session_id: str) -> int:
        keys = session_keys(session_id)
        with self._guard("journal_floor", session_id, keys["meta"]):
            raw = await (await self._connect()).hget(keys["meta"], "journal_floor")
        return count_field(raw, session_id, f"{keys['meta']} journal_floor")

    async def list_sessions(self) -> list[str]:
        """Sessions with a ``meta`` key, found by ``SCAN`` over every primary. A key whose name
        is no session id is left out (no call could read it), and with ``skip_damaged`` a
        session holding a key of the wrong type: each is put in ``unlisted``, with why."""
        with self._guard("list_sessions"):
            client = await self._connect()  # refuses data in the legacy layout
            names = [name async for name in client.scan_iter(match=META_PATTERN, count=1000)]
            found, self.unlisted = sessions_of_metas(names)
            if self.skip_damaged:
                damaged = await damaged_sessions(client, sorted(found), every_key)
                self.unlisted.update(damaged)
                found -= damaged.keys()
        return sorted(found)

    async def delete_session(self, session_id: str) -> None:
        """One script: the session's keys, and what recovery's repairs moved aside (listed
        in its hash slot: no ``SCAN``, see ``memcore.stores.redis_cells``)."""
        keys, args = deletion_keys(session_id)
        with self._guard("delete_session", session_id):
            await self._script("delete_session", keys=keys, args=args)

    async def __aenter__(self) -> RedisStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # test support: corrupt a stored record in place (used by recovery tests)
    def _tamper(self, session_id: str, key: str, record: bytes) -> None:
        """Overwrite a stored record, keeping its version (a short-lived synchronous client, so
        it works from inside a running event loop)."""
        keys = session_keys(session_id)
        validate_key(key)
        with self._guard("_tamper"), self.sync_client() as client:
            if not client.hexists(keys["items"], key):
                raise NotFoundError(f"no key {key!r} in session {session_id!r}")
            client.hset(keys["items"], key, bytes(record))


__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_SOCKET_TIMEOUT",
    "LEGACY_SESSIONS_KEY",
    "META_PATTERN",
    "PARTS",
    "RedisStore",
    "RedisURL",
    "every_key",
    "incarnation_key",
    "parse_redis_url",
    "session_keys",
]
