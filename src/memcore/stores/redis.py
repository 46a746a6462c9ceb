"""``redis://[user:password@]host:port/db`` and ``rediss://``: a store many machines can share.

Per session (session ids are validated, so they never contain ``:`` or glob characters; item keys
only ever go into hash fields and list values, never into Redis key names)::

    memcore:<session>:meta      hash   version, digest, next_backup, token of the last commit,
                                       replaced_at, journal_floor, journal_trimmed
    memcore:<session>:items     hash   key -> record
    memcore:<session>:index     zset   key -> version that last changed it (the delta feed)
    memcore:<session>:journal   list   msgpack [version, key, record], oldest first
    memcore:<session>:jpos      hash   version -> journal position of that version's entries
                                       (absolute: journal_trimmed entries were cut off the head)
    memcore:<session>:backups   hash   backup id -> msgpack [version, created_at, size]
    memcore:<session>:blobs     hash   backup id -> backup bytes
    memcore:sessions            set    sessions that have been written

Commits and state replacements are single Lua scripts (EVALSHA, loaded again after a server
restart) that compare the version and do every write atomically; so are delta reads (records,
version, digest and replaced_at together) and journal truncation (``LTRIM`` of the head, the
cut versions' positions dropped, the floor raised). Every redis failure (connection
refused, timeout, script error) surfaces as ``BackendError`` with the cause chained.

The redis package is imported when a ``RedisStore`` is made, so importing memcore never needs it
(``pip install 'memcore[redis]'``). The asyncio client is created lazily and again whenever the
running event loop changes, so one store serves ``asyncio.run`` after ``asyncio.run`` (the client
is closed in its own loop when that loop ends), and again in a forked child. Use one store from
one thread at a time: two loops running at once in two threads need two stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import socket
import time
from collections.abc import AsyncGenerator, Iterator, Mapping
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgpack

from memcore.errors import BackendError, CorruptedMemoryError, NotFoundError, ValidationError
from memcore.stores.base import (
    BackupInfo,
    Delta,
    JournalEntry,
    Snapshot,
    sorted_newest_first,
    validate_backup_id,
    validate_digest,
    validate_key,
    validate_records,
    validate_session_id,
    validate_version,
)

_U64 = 1 << 64
SESSIONS_KEY = "memcore:sessions"
_PARTS = ("meta", "items", "index", "journal", "jpos", "backups", "blobs")

# KEYS: meta items index journal jpos sessions
# ARGV: expected_version, new_version, digest, session, replace (0/1), token,
#       then (key, record, packed journal entry)*
# The token makes a retried call exact: if the reply to a commit that landed was lost and the
# client sends it again, the script recognizes its own commit and returns its version.
_WRITE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then
  if current == tonumber(ARGV[2]) and redis.call('HGET', KEYS[1], 'token') == ARGV[6] then
    return current
  end
  return -1
end
local new = ARGV[2]
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[2], KEYS[3])
end
local trimmed = tonumber(redis.call('HGET', KEYS[1], 'journal_trimmed') or '0')
redis.call('HSET', KEYS[5], new, redis.call('LLEN', KEYS[4]) + trimmed)
for i = 7, #ARGV, 3 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[3], new, ARGV[i])
  if ARGV[5] ~= '1' then
    redis.call('RPUSH', KEYS[4], ARGV[i + 2])
  end
end
redis.call('HSET', KEYS[1], 'version', new, 'digest', ARGV[3], 'token', ARGV[6])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'replaced_at', new)
end
redis.call('SADD', KEYS[6], ARGV[4])
return tonumber(new)
"""

# KEYS: meta items index; ARGV: since_version
#   -> {version, digest ('' if none), replaced_at, key1, record1, key2, record2, ...}
_CHANGES = """
local meta = redis.call('HMGET', KEYS[1], 'version', 'digest', 'replaced_at')
local out = {meta[1] or '0', meta[2] or '', meta[3] or '0'}
local keys = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf')
for _, key in ipairs(keys) do
  out[#out + 1] = key
  out[#out + 1] = redis.call('HGET', KEYS[2], key)
end
return out
"""

# KEYS: meta journal jpos; ARGV: first version wanted -> packed entries from that version on
# (versions at or below the floor are gone: start past it)
_JOURNAL = """
local first = tonumber(ARGV[1])
local floor = tonumber(redis.call('HGET', KEYS[1], 'journal_floor') or '0')
if first <= floor then first = floor + 1 end
local start = redis.call('HGET', KEYS[3], first)
if not start then return {} end
local trimmed = tonumber(redis.call('HGET', KEYS[1], 'journal_trimmed') or '0')
return redis.call('LRANGE', KEYS[2], tonumber(start) - trimmed, -1)
"""

# KEYS: meta journal jpos; ARGV: through_version -> number of entries dropped
_TRUNCATE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local floor = tonumber(redis.call('HGET', KEYS[1], 'journal_floor') or '0')
local through = math.min(tonumber(ARGV[1]), current)
if through <= floor then return 0 end
local trimmed = tonumber(redis.call('HGET', KEYS[1], 'journal_trimmed') or '0')
local stop
if through == current then
  stop = trimmed + redis.call('LLEN', KEYS[2])
else
  stop = tonumber(redis.call('HGET', KEYS[3], through + 1))
  if not stop then
    return redis.error_reply('memcore journal index has no version ' .. (through + 1))
  end
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

# KEYS: meta backups blobs sessions; ARGV: session, packed [version, created_at, size], blob
_PUT_BACKUP = """
local id = redis.call('HINCRBY', KEYS[1], 'next_backup', 1)
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('SADD', KEYS[4], ARGV[1])
return id
"""

# KEYS: meta backups blobs sessions; ARGV: session, backup id
_DELETE_BACKUP = """
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version == 0 and redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[4], ARGV[1])
end
return 1
"""

_SCRIPTS = {
    "write": _WRITE,
    "changes": _CHANGES,
    "journal": _JOURNAL,
    "truncate": _TRUNCATE,
    "put_backup": _PUT_BACKUP,
    "delete_backup": _DELETE_BACKUP,
}


def _import_redis() -> ModuleType:
    try:
        return importlib.import_module("redis.asyncio")
    except ImportError as exc:
        raise BackendError(
            "the redis store needs the redis package: pip install 'memcore[redis]'"
        ) from exc


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisStore:
    """The Store protocol over a Redis server (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
    ) -> None:
        if not isinstance(url, str):
            raise ValidationError("a redis URL is a string")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018  (raises ValueError on a bad port)
        except ValueError as exc:
            raise ValidationError(f"invalid redis URL {_redact(url)!r}: {exc}") from exc
        if parts.scheme.lower() not in ("redis", "rediss"):
            raise ValidationError(f"not a redis URL: {_redact(url)!r}")
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise ValidationError(f"invalid redis URL {_redact(url)!r}: the path is a db number")
        self.url = url
        self._mod = _import_redis()
        try:  # the query options (socket_timeout=..., ssl_cert_reqs=...) fail here, not later
            importlib.import_module("redis.asyncio.connection").parse_url(url)
        except ValueError as exc:
            raise ValidationError(f"invalid redis URL {_redact(url)!r}: {exc}") from exc
        exceptions = importlib.import_module("redis.exceptions")
        self._errors: tuple[type[BaseException], ...] = (
            exceptions.RedisError,
            OSError,
            asyncio.TimeoutError,
        )
        self._options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": connect_timeout,
        }
        if retries >= 0:
            backoff = importlib.import_module("redis.backoff")
            retry = importlib.import_module("redis.asyncio.retry")
            self._options["retry"] = retry.Retry(
                backoff.ExponentialBackoff(cap=0.5, base=0.05), retries
            )
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scripts: dict[str, Any] = {}
        self._closer: AsyncGenerator[None, None] | None = None
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"RedisStore({_redact(self.url)!r})"

    # --- the client, per event loop -----------------------------------------------------------

    async def _connect(self) -> Any:
        """The client for the running event loop, made on first use in each loop."""
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is loop and self._pid == os.getpid():
            return self._client
        if self._client is not None and self._pid == os.getpid():
            self._abandon(self._client)
        # in a forked child the parent's sockets are shared: just forget them, never shut down
        self._client = self._closer = None
        self._pid = os.getpid()
        try:
            client = self._mod.Redis.from_url(self.url, **self._options)
        except ValueError as exc:
            raise ValidationError(f"invalid redis URL {_redact(self.url)!r}: {exc}") from exc
        self._client, self._loop = client, loop
        self._scripts = {name: client.register_script(text) for name, text in _SCRIPTS.items()}
        # An async generator the loop finalizes at its end (asyncio.run calls
        # shutdown_asyncgens): the client is then closed in its own loop, cleanly.
        self._closer = self._close_at_loop_end(client)
        await self._closer.__anext__()
        return client

    async def _close_at_loop_end(self, client: Any) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with contextlib.suppress(*self._errors):
                await client.aclose()

    async def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        await self._connect()
        return await self._scripts[name](keys=keys, args=args)

    @staticmethod
    def _abandon(client: Any) -> None:
        """Drop a client made in an event loop that is gone: its connections cannot be closed
        through that loop any more, so shut their sockets down directly."""
        pool = getattr(client, "connection_pool", None)
        connections = [
            *getattr(pool, "_available_connections", ()),
            *getattr(pool, "_in_use_connections", ()),
        ]
        for conn in connections:
            writer = getattr(conn, "_writer", None)
            if writer is None:
                continue
            sock = writer.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(Exception):
                writer.close()  # schedules on the old loop; fails harmlessly if it is closed
            conn._writer = conn._reader = None

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except self._errors as exc:
            raise BackendError(f"redis {what} failed on {_redact(self.url)}: {exc}") from exc

    @staticmethod
    def _keys(session_id: str) -> dict[str, str]:
        validate_session_id(session_id)
        return {part: f"memcore:{session_id}:{part}" for part in _PARTS}

    # --- the Store protocol -----------------------------------------------------------------

    async def version(self, session_id: str) -> int:
        keys = self._keys(session_id)
        with self._guard("version"):
            raw = await (await self._connect()).hget(keys["meta"], "version")
        return 0 if raw is None else int(raw)

    async def read_changes(self, session_id: str, since_version: int) -> Delta:
        keys = self._keys(session_id)
        validate_version(since_version)
        with self._guard("read_changes"):
            out = await self._script(
                "changes", keys=[keys["meta"], keys["items"], keys["index"]], args=[since_version]
            )
        records = {
            out[i].decode("utf-8"): bytes(out[i + 1])
            for i in range(3, len(out), 2)
            if out[i + 1] is not None
        }
        return Delta(int(out[0]), records, int(out[1]) if out[1] else None, int(out[2]))

    async def read_snapshot(self, session_id: str) -> Snapshot:
        keys = self._keys(session_id)
        with self._guard("read_snapshot"):
            async with (await self._connect()).pipeline(transaction=True) as pipe:
                pipe.hmget(keys["meta"], ["version", "digest"])
                pipe.hgetall(keys["items"])
                (version, digest), items = await pipe.execute()
        return Snapshot(
            0 if version is None else int(version),
            {k.decode("utf-8"): bytes(v) for k, v in items.items()},
            None if digest is None else int(digest),
        )

    async def commit(
        self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        return await self._write(session_id, expected_version, records, digest, replace=False)

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
    ) -> int | None:
        keys = self._keys(session_id)
        validate_version(expected_version)
        validate_records(records)
        validate_digest(digest)
        new = expected_version + 1
        token = token or os.urandom(16).hex()
        args: list[Any] = [
            expected_version,
            new,
            digest,
            session_id,
            "1" if replace else "0",
            token,
        ]
        for key, record in records.items():
            data = bytes(record)
            packed = b"" if replace else msgpack.packb([new, key, data], use_bin_type=True)
            args += [key, data, packed]
        with self._guard("commit"):
            result = await self._script(
                "write",
                keys=[
                    keys["meta"],
                    keys["items"],
                    keys["index"],
                    keys["journal"],
                    keys["jpos"],
                    SESSIONS_KEY,
                ],
                args=args,
            )
        return None if int(result) < 0 else int(result)

    async def read_journal(self, session_id: str, since_version: int = 0) -> list[JournalEntry]:
        keys = self._keys(session_id)
        validate_version(since_version)
        with self._guard("read_journal"):
            raw = await self._script(
                "journal",
                keys=[keys["meta"], keys["journal"], keys["jpos"]],
                args=[since_version + 1],
            )
        return [self._journal_entry(item) for item in raw]

    async def truncate_journal(self, session_id: str, through_version: int) -> int:
        keys = self._keys(session_id)
        validate_version(through_version)
        with self._guard("truncate_journal"):
            dropped = await self._script(
                "truncate",
                keys=[keys["meta"], keys["journal"], keys["jpos"]],
                args=[through_version],
            )
        return int(dropped)

    async def journal_floor(self, session_id: str) -> int:
        keys = self._keys(session_id)
        with self._guard("journal_floor"):
            raw = await (await self._connect()).hget(keys["meta"], "journal_floor")
        return 0 if raw is None else int(raw)

    @staticmethod
    def _journal_entry(packed: bytes) -> JournalEntry:
        try:
            version, key, record = msgpack.unpackb(packed, raw=False, use_list=True)
        except (ValueError, TypeError, msgpack.UnpackException) as exc:
            raise CorruptedMemoryError(f"unreadable journal entry: {exc}") from exc
        if not (isinstance(version, int) and isinstance(key, str) and isinstance(record, bytes)):
            raise CorruptedMemoryError("journal entry has the wrong shape")
        return JournalEntry(version, key, record)

    async def put_backup(self, session_id: str, version: int, blob: bytes) -> BackupInfo:
        keys = self._keys(session_id)
        validate_version(version)
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise ValidationError("a backup is bytes")
        data = bytes(blob)
        created = time.time()
        with self._guard("put_backup"):
            backup_id = await self._script(
                "put_backup",
                keys=[keys["meta"], keys["backups"], keys["blobs"], SESSIONS_KEY],
                args=[session_id, msgpack.packb([version, created, len(data)]), data],
            )
        return BackupInfo(int(backup_id), version, created, len(data))

    async def list_backups(self, session_id: str) -> list[BackupInfo]:
        keys = self._keys(session_id)
        with self._guard("list_backups"):
            raw = await (await self._connect()).hgetall(keys["backups"])
        infos = []
        for backup_id, packed in raw.items():
            try:
                version, created, size = msgpack.unpackb(packed)
                infos.append(BackupInfo(int(backup_id), int(version), float(created), int(size)))
            except (ValueError, TypeError, msgpack.UnpackException) as exc:
                raise CorruptedMemoryError(f"unreadable backup record: {exc}") from exc
        return sorted_newest_first(infos)

    async def get_backup(self, session_id: str, backup_id: int) -> bytes:
        keys = self._keys(session_id)
        validate_backup_id(backup_id)
        with self._guard("get_backup"):
            blob = await (await self._connect()).hget(keys["blobs"], str(backup_id))
        if blob is None:
            raise NotFoundError(f"no backup {backup_id} of session {session_id!r}")
        return bytes(blob)

    async def delete_backup(self, session_id: str, backup_id: int) -> None:
        keys = self._keys(session_id)
        validate_backup_id(backup_id)
        with self._guard("delete_backup"):
            await self._script(
                "delete_backup",
                keys=[keys["meta"], keys["backups"], keys["blobs"], SESSIONS_KEY],
                args=[session_id, str(backup_id)],
            )

    async def list_sessions(self) -> list[str]:
        with self._guard("list_sessions"):
            raw = await (await self._connect()).smembers(SESSIONS_KEY)
        return sorted(s.decode("utf-8") for s in raw)

    async def delete_session(self, session_id: str) -> None:
        keys = self._keys(session_id)
        with self._guard("delete_session"):
            async with (await self._connect()).pipeline(transaction=True) as pipe:
                pipe.delete(*keys.values())
                pipe.srem(SESSIONS_KEY, session_id)
                await pipe.execute()

    async def close(self) -> None:
        """Close the client; a later call makes a new one."""
        client, loop, closer = self._client, self._loop, self._closer
        self._client, self._loop, self._closer = None, None, None
        if client is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._pid != os.getpid():
            return  # a forked child: the sockets are the parent's
        if running is not loop or closer is None:
            self._abandon(client)
            return
        with self._guard("close"):
            await closer.aclose()

    async def __aenter__(self) -> RedisStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # test support: corrupt a stored record in place (used by recovery tests)
    def _tamper(self, session_id: str, key: str, record: bytes) -> None:
        """Overwrite a stored record, keeping its version (a short-lived synchronous client, so
        it works from inside a running event loop)."""
        keys = self._keys(session_id)
        validate_key(key)
        sync_redis = importlib.import_module("redis")
        with self._guard("_tamper"), sync_redis.Redis.from_url(self.url) as client:
            if not client.hexists(keys["items"], key):
                raise NotFoundError(f"no key {key!r} in session {session_id!r}")
            client.hset(keys["items"], key, bytes(record))


__all__ = ["SESSIONS_KEY", "RedisStore"]
