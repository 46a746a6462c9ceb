"""``sqlite:///path/to.db``: the embedded default store, safe for many processes on one machine.

URLs follow the usual convention: ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db``
(what ``default_url()`` builds). Two optional query parameters: ``timeout`` (seconds a writer waits
for the database lock, default 5) and ``synchronous`` (``normal``, the default, or ``full`` to
fsync every commit and survive power loss, not just crashes). ``sqlite:///:memory:`` is accepted:
the database is then private to this store object and is gone once it is closed.

Layout (WAL mode, so readers never wait for the writer)::

    meta(session, version, digest, next_backup, replaced_at, journal_floor)
    items(session, key, record, version)          index (session, version): deltas cost what changed
    journal(id, session, version, key, record)    index (session, version, id)
    backups(session, backup_id, version, created_at, blob)

Every commit is one ``BEGIN IMMEDIATE`` transaction (read the version, compare, write items,
journal and meta, commit; or roll back and return None), so concurrent processes serialize on the
write lock without ever losing a write. All SQLite calls run on one worker thread per store (its
own connection): a database locked by another process never blocks the event loop, and the store
works from any event loop, one after another.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl

from memcore.errors import BackendError, NotFoundError, ValidationError
from memcore.stores.base import (
    BackupInfo,
    Delta,
    JournalEntry,
    Snapshot,
    validate_backup_id,
    validate_digest,
    validate_key,
    validate_records,
    validate_session_id,
    validate_version,
)

_T = TypeVar("_T")

_APPLICATION_ID = 0x6D656D63  # "memc": marks a file as a memcore database
_SCHEMA_VERSION = 2
_DEFAULT_TIMEOUT = 5.0
_U64 = 1 << 64
# what each schema version adds to the one before (applied in order to older files)
_UPGRADES: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE meta ADD COLUMN replaced_at INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE meta ADD COLUMN journal_floor INTEGER NOT NULL DEFAULT 0",
    ),
}
_I64_LIMIT = 1 << 63

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (
        session TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        digest INTEGER,
        next_backup INTEGER NOT NULL DEFAULT 1,
        replaced_at INTEGER NOT NULL DEFAULT 0,
        journal_floor INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS items (
        session TEXT NOT NULL,
        key TEXT NOT NULL,
        record BLOB NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (session, key)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS items_by_version ON items (session, version)",
    """CREATE TABLE IF NOT EXISTS journal (
        id INTEGER PRIMARY KEY,
        session TEXT NOT NULL,
        version INTEGER NOT NULL,
        key TEXT NOT NULL,
        record BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS journal_by_version ON journal (session, version)",
    """CREATE TABLE IF NOT EXISTS backups (
        session TEXT NOT NULL,
        backup_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        created_at REAL NOT NULL,
        blob BLOB NOT NULL,
        PRIMARY KEY (session, backup_id)
    )""",
)


def _to_signed(digest: int) -> int:
    """SQLite INTEGER is signed 64-bit; digests are unsigned, so store their two's complement."""
    return digest - _U64 if digest >= _I64_LIMIT else digest


def _to_unsigned(value: int | None) -> int | None:
    return None if value is None else value % _U64


def parse_sqlite_url(url: str) -> tuple[str, float, str]:
    """``(path, timeout, synchronous)`` from a ``sqlite:///...`` URL; ``ValidationError`` if bad.

    Parsed by hand (not ``urlsplit``) so a path is taken literally, percent signs included.
    """
    if not isinstance(url, str) or not url.lower().startswith("sqlite://"):
        raise ValidationError(f"not an sqlite URL: {url!r}")
    rest = url[len("sqlite://") :]
    rest, _, query = rest.partition("?")
    if not rest.startswith("/") or len(rest) < 2:
        raise ValidationError(
            f"invalid sqlite URL {url!r}: use sqlite:///relative/path.db or sqlite:////abs/path.db"
        )
    path = rest[1:]
    timeout, synchronous = _DEFAULT_TIMEOUT, "NORMAL"
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                timeout = -1.0
            if not 0 <= timeout <= 3600:
                raise ValidationError(f"invalid sqlite timeout {value!r}: seconds in [0, 3600]")
        elif name == "synchronous":
            synchronous = value.upper()
            if synchronous not in ("NORMAL", "FULL"):
                raise ValidationError(f"invalid sqlite synchronous {value!r}: normal or full")
        else:
            raise ValidationError(f"unknown sqlite URL parameter {name!r}")
    return path, timeout, synchronous


class SQLiteStore:
    """The Store protocol over one SQLite file (see the module docstring)."""

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        self.url = url
        path, url_timeout, synchronous = parse_sqlite_url(url)
        self.path = path
        self.timeout = url_timeout if timeout is None else float(timeout)
        if not 0 <= self.timeout <= 3600:
            raise ValidationError(f"invalid sqlite timeout {timeout!r}: seconds in [0, 3600]")
        self._synchronous = synchronous
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched only on the worker thread

    def __repr__(self) -> str:
        return f"SQLiteStore({self.url!r})"

    # --- the worker thread ----------------------------------------------------------------

    def _worker(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pid != os.getpid():
                # a forked child: the parent's worker thread does not exist here, and SQLite
                # connections must not cross a fork; start afresh (the stale ones are dropped)
                self._pid, self._executor, self._conn = os.getpid(), None, None
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="memcore-sqlite")
            return self._executor

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``fn(connection)`` on the worker thread, in whichever loop is running."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker(), self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            return fn(self._connection())
        except sqlite3.Error as exc:
            raise BackendError(f"sqlite store {self.path!r}: {exc}") from exc
        except OSError as exc:
            raise BackendError(f"sqlite store {self.path!r}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        memory = self.path == ":memory:"
        if not memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if not memory:
                self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            self._init_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _retry_busy(self, fn: Callable[[], object]) -> None:
        """Switching to WAL needs a moment of exclusive access that may skip the busy handler."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fn()
                return
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == _APPLICATION_ID:
            schema = conn.execute("PRAGMA user_version").fetchone()[0]
            if schema > _SCHEMA_VERSION:
                raise BackendError(
                    f"{self.path!r} has memcore schema {schema}, newer than this memcore "
                    f"({_SCHEMA_VERSION}): upgrade memcore"
                )
            if schema < _SCHEMA_VERSION:
                self._upgrade(conn)
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id != _APPLICATION_ID:
                tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                ).fetchone()[0]
                if app_id != 0 or tables:
                    raise BackendError(f"{self.path!r} is an SQLite file not made by memcore")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _upgrade(conn: sqlite3.Connection) -> None:
        """Bring an older memcore file to the current schema (re-checked under the write lock:
        another process may have just done it)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            schema = conn.execute("PRAGMA user_version").fetchone()[0]
            for target in range(schema + 1, _SCHEMA_VERSION + 1):
                for statement in _UPGRADES[target]:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {max(schema, _SCHEMA_VERSION)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _transaction(
        conn: sqlite3.Connection, body: Callable[[], _T], *, write: bool = False
    ) -> _T:
        """Run ``body`` in one transaction (``BEGIN IMMEDIATE`` for writers: the lock up front,
        so two writers never both read the old version)."""
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = body()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    @staticmethod
    def _version_of(conn: sqlite3.Connection, session_id: str) -> int:
        row = conn.execute("SELECT version FROM meta WHERE session = ?", (session_id,)).fetchone()
        return 0 if row is None else int(row[0])

    # --- the Store protocol -----------------------------------------------------------------

    async def version(self, session_id: str) -> int:
        validate_session_id(session_id)
        return await self._run(lambda conn: self._version_of(conn, session_id))

    async def read_changes(self, session_id: str, since_version: int) -> Delta:
        validate_session_id(session_id)
        validate_version(since_version)

        def work(conn: sqlite3.Connection) -> Delta:
            def body() -> Delta:
                rows = conn.execute(
                    "SELECT key, record FROM items WHERE session = ? AND version > ?",
                    (session_id, since_version),
                ).fetchall()
                meta = conn.execute(
                    "SELECT version, digest, replaced_at FROM meta WHERE session = ?",
                    (session_id,),
                ).fetchone()
                version, digest, replaced_at = (0, None, 0) if meta is None else meta
                return Delta(
                    int(version),
                    {k: bytes(r) for k, r in rows},
                    _to_unsigned(digest),
                    int(replaced_at),
                )

            return self._transaction(conn, body)

        return await self._run(work)

    async def read_snapshot(self, session_id: str) -> Snapshot:
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> Snapshot:
            def body() -> Snapshot:
                meta = conn.execute(
                    "SELECT version, digest FROM meta WHERE session = ?", (session_id,)
                ).fetchone()
                rows = conn.execute(
                    "SELECT key, record FROM items WHERE session = ?", (session_id,)
                ).fetchall()
                version, digest = (0, None) if meta is None else (int(meta[0]), meta[1])
                return Snapshot(version, {k: bytes(r) for k, r in rows}, _to_unsigned(digest))

            return self._transaction(conn, body)

        return await self._run(work)

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
    ) -> int | None:
        validate_session_id(session_id)
        validate_version(expected_version)
        validate_records(records)
        stored_digest = _to_signed(validate_digest(digest))
        rows = [(key, bytes(record)) for key, record in records.items()]

        def work(conn: sqlite3.Connection) -> int | None:
            def body() -> int | None:
                if self._version_of(conn, session_id) != expected_version:
                    return None
                new = expected_version + 1
                if replace:
                    conn.execute("DELETE FROM items WHERE session = ?", (session_id,))
                conn.executemany(
                    "INSERT INTO items (session, key, record, version) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (session, key) DO UPDATE "
                    "SET record = excluded.record, version = excluded.version",
                    [(session_id, key, record, new) for key, record in rows],
                )
                if not replace:
                    conn.executemany(
                        "INSERT INTO journal (session, version, key, record) VALUES (?, ?, ?, ?)",
                        [(session_id, new, key, record) for key, record in rows],
                    )
                conn.execute(
                    "INSERT INTO meta (session, version, digest, replaced_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (session) DO UPDATE "
                    "SET version = excluded.version, digest = excluded.digest"
                    + (", replaced_at = excluded.replaced_at" if replace else ""),
                    (session_id, new, stored_digest, new if replace else 0),
                )
                return new

            return self._transaction(conn, body, write=True)

        return await self._run(work)

    async def read_journal(self, session_id: str, since_version: int = 0) -> list[JournalEntry]:
        validate_session_id(session_id)
        validate_version(since_version)

        def work(conn: sqlite3.Connection) -> list[JournalEntry]:
            rows = conn.execute(
                "SELECT version, key, record FROM journal WHERE session = ? AND version > ? "
                "ORDER BY version, id",
                (session_id, since_version),
            ).fetchall()
            return [JournalEntry(int(v), k, bytes(r)) for v, k, r in rows]

        return await self._run(work)

    async def truncate_journal(self, session_id: str, through_version: int) -> int:
        validate_session_id(session_id)
        validate_version(through_version)

        def work(conn: sqlite3.Connection) -> int:
            def body() -> int:
                meta = conn.execute(
                    "SELECT version, journal_floor FROM meta WHERE session = ?", (session_id,)
                ).fetchone()
                if meta is None:
                    return 0
                floor = min(through_version, int(meta[0]))
                if floor <= int(meta[1]):
                    return 0
                dropped = conn.execute(
                    "DELETE FROM journal WHERE session = ? AND version <= ?", (session_id, floor)
                ).rowcount
                conn.execute(
                    "UPDATE meta SET journal_floor = ? WHERE session = ?", (floor, session_id)
                )
                return int(dropped)

            return self._transaction(conn, body, write=True)

        return await self._run(work)

    async def journal_floor(self, session_id: str) -> int:
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT journal_floor FROM meta WHERE session = ?", (session_id,)
            ).fetchone()
            return 0 if row is None else int(row[0])

        return await self._run(work)

    async def put_backup(self, session_id: str, version: int, blob: bytes) -> BackupInfo:
        validate_session_id(session_id)
        validate_version(version)
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise ValidationError("a backup is bytes")
        data = bytes(blob)

        def work(conn: sqlite3.Connection) -> BackupInfo:
            def body() -> BackupInfo:
                conn.execute(
                    "INSERT INTO meta (session, version) VALUES (?, 0) "
                    "ON CONFLICT (session) DO NOTHING",
                    (session_id,),
                )
                backup_id = int(
                    conn.execute(
                        "SELECT next_backup FROM meta WHERE session = ?", (session_id,)
                    ).fetchone()[0]
                )
                conn.execute(
                    "UPDATE meta SET next_backup = ? WHERE session = ?", (backup_id + 1, session_id)
                )
                info = BackupInfo(backup_id, version, time.time(), len(data))
                conn.execute(
                    "INSERT INTO backups (session, backup_id, version, created_at, blob) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (session_id, backup_id, version, info.created_at, data),
                )
                return info

            return self._transaction(conn, body, write=True)

        return await self._run(work)

    async def list_backups(self, session_id: str) -> list[BackupInfo]:
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> list[BackupInfo]:
            rows = conn.execute(
                "SELECT backup_id, version, created_at, length(blob) FROM backups "
                "WHERE session = ? ORDER BY backup_id DESC",
                (session_id,),
            ).fetchall()
            return [BackupInfo(int(b), int(v), float(c), int(n)) for b, v, c, n in rows]

        return await self._run(work)

    async def get_backup(self, session_id: str, backup_id: int) -> bytes:
        validate_session_id(session_id)
        validate_backup_id(backup_id)

        def work(conn: sqlite3.Connection) -> bytes | None:
            row = conn.execute(
                "SELECT blob FROM backups WHERE session = ? AND backup_id = ?",
                (session_id, backup_id),
            ).fetchone()
            return None if row is None else bytes(row[0])

        blob = await self._run(work)
        if blob is None:
            raise NotFoundError(f"no backup {backup_id} of session {session_id!r}")
        return blob

    async def delete_backup(self, session_id: str, backup_id: int) -> None:
        validate_session_id(session_id)
        validate_backup_id(backup_id)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM backups WHERE session = ? AND backup_id = ?", (session_id, backup_id)
            )

        await self._run(work)

    async def list_sessions(self) -> list[str]:
        def work(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT session FROM meta WHERE version > 0 UNION SELECT session FROM backups"
            ).fetchall()
            return sorted(str(row[0]) for row in rows)

        return await self._run(work)

    async def delete_session(self, session_id: str) -> None:
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> None:
            def body() -> None:
                for table in ("items", "journal", "backups", "meta"):
                    conn.execute(f"DELETE FROM {table} WHERE session = ?", (session_id,))

            self._transaction(conn, body, write=True)

        await self._run(work)

    async def close(self) -> None:
        """Close the connection and stop the worker; a later call reopens both."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, self._close_connection)
        finally:
            executor.shutdown(wait=False)

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def __aenter__(self) -> SQLiteStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # test support: corrupt a stored record in place (used by recovery tests)
    def _tamper(self, session_id: str, key: str, record: bytes) -> None:
        validate_session_id(session_id)
        validate_key(key)

        def work(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "UPDATE items SET record = ? WHERE session = ? AND key = ?",
                (bytes(record), session_id, key),
            )
            return cursor.rowcount

        if self._worker().submit(self._call, work).result() == 0:
            raise NotFoundError(f"no key {key!r} in session {session_id!r}")


__all__ = ["SQLiteStore", "parse_sqlite_url"]
