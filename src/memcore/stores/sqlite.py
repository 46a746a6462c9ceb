"""``sqlite:///path/to.db``: the embedded default store, safe for many processes on one machine.

URLs follow the usual convention: ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db``
(what ``default_url()`` builds). Two optional query parameters: ``timeout`` (seconds a writer waits
for the database lock, default 5) and ``synchronous`` (``normal``, the default, or ``full`` to
fsync every commit and survive power loss, not just crashes). ``sqlite:///:memory:`` is accepted:
the database is then private to this store object and is gone once it is closed.

``read_only=True`` opens an existing file with ``?mode=ro`` (falling back to ``immutable=1`` on
read-only media) and never creates or writes anything, except that a file of an older memcore schema
is upgraded in place first when this process can write it (else it is refused); ``create=False``
opens an existing file for writing but refuses to create one. A new database's folder is made 0700
and its files 0600 (the database, the ``-wal``/``-shm`` files SQLite gives the same mode, and the
``-writers`` and ``-waiters`` files of the writer queue, see ``memcore.stores.writer_queue``): they
hold users' transcripts. New files use 2 KiB pages (see ``sqlite_connection._PAGE_SIZE``).
A damaged file raises ``CorruptedMemoryError`` naming what is wrong.

Layout (WAL mode, so readers never wait for the writer)::

    meta(number, session, version, digest, next_backup, replaced_at, journal_floor)
    items(session, key, record, version)          primary key (session, key), no other index
    commits(id, session, version, key, record)    the journal, one row a commit: id = number << 40
                                                  | version (``journal``: a view older memcores
                                                  find, which refuses their writes)
    backups(session, backup_id, version, created_at, blob)
    damaged_items, damaged_commits                what recovery moved aside (made when needed)

A commit writes three B-trees (meta, items, journal): each index more was a page more in every
commit's WAL frames (each of the two version indexes cost a one-key commit 3-4 us). A session's
journal is the rowid range of its number, in version order: reading it, cutting it and a delta
since a recent version (``sqlite_schema._CHANGED_ROWS``) are seeks into that range. A commit of
several keys journals them packed in one row (key NULL, a msgpack map of key to record).

Every commit is one ``BEGIN IMMEDIATE`` transaction (the compare-and-set as the meta ``UPDATE``
of the expected version, then items and journal; or roll back and return None), so concurrent
processes serialize on the write lock without ever losing a write. SQLite calls run on one worker
thread per store (its own connection), except a sync's short calls (a delta read, a small
commit), which run on the event loop's thread when the connection is idle and the database lock
is free (busy timeout 0: they never wait there, they hand over to the worker): a database locked
by another process never blocks the event loop, and the store works from any event loop, one
after another. WAL checkpoints run on the worker, on a connection of their own. A sync reads,
merges and commits in one such transaction (``read_and_commit``, ``memcore.stores.sqlite_locked``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping

from memcore.errors import CorruptedMemoryError, NotFoundError, ValidationError
from memcore.stores import sqlite_cells, sqlite_journal_aside, sqlite_versions
from memcore.stores.base import (
    BackupInfo,
    Delta,
    Expected,
    Incarnation,
    JournalEntry,
    Snapshot,
    UnusableBackup,
    validate_backup_id,
    validate_digest,
    validate_key,
    validate_records,
    validate_session_id,
    validate_version,
)
from memcore.stores.sqlite_connection import _INLINE_ROWS
from memcore.stores.sqlite_locked import SQLiteLockedSync
from memcore.stores.sqlite_schema import (
    _CUT_JOURNAL,
    _DROP_JOURNAL,
    _MARK_CONTENDED,
    _READ_JOURNAL,
    _blob_cell,
    _commit_rows,
    _commit_unchanged,
    _ensure_store_info,
    _int_cell,
    _journal_entries,
    _make_incarnation,
    _packed_count,
    _parse_incarnation,
    _to_signed,
)
from memcore.stores.sqlite_urls import parse_sqlite_url


class SQLiteStore(SQLiteLockedSync):
    """The Store protocol over one SQLite file (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float | None = None,
        read_only: bool = False,
        create: bool = True,
    ) -> None:
        self.url = url
        path, url_timeout, synchronous = parse_sqlite_url(url)
        chosen = url_timeout if timeout is None else float(timeout)
        if not 0 <= chosen <= 3600:
            raise ValidationError(f"invalid sqlite timeout {timeout!r}: seconds in [0, 3600]")
        super().__init__(path, chosen, synchronous, read_only=bool(read_only), create=bool(create))

    def __repr__(self) -> str:
        return f"SQLiteStore({self.url!r})"

    # --- the Store protocol -----------------------------------------------------------------

    async def version(self, session_id: str) -> int:
        validate_session_id(session_id)
        return await self._run(lambda conn: self._version_of(conn, session_id))

    async def incarnation(self, session_id: str) -> Incarnation:
        """From the ``store_info`` table, made (with a random id) by the first call on a file
        that has none: a file deleted and made again, or another store's file, has another."""
        validate_session_id(session_id)
        names = ("incarnation", f"deletions:{session_id}")

        def read(conn: sqlite3.Connection) -> dict[str, object] | None:
            try:
                rows = conn.execute(
                    "SELECT name, value FROM store_info WHERE name IN (?, ?)", names
                ).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    raise
                return None  # a file made before the table existed
            return {str(name): value for name, value in rows}

        def work(conn: sqlite3.Connection) -> Incarnation:
            found = read(conn)
            if (found is None or "incarnation" not in found) and not self.read_only:

                def body() -> dict[str, object] | None:
                    _make_incarnation(conn)
                    return read(conn)

                found = self._transaction(conn, body, write=True)
            return _parse_incarnation(session_id, found or {})

        return await self._run_fast(work, inline=True)

    async def integrity_problems(self) -> list[str]:
        """``PRAGMA quick_check``, then ``PRAGMA integrity_check``: only the latter compares
        every index entry with its row (a flipped key byte in a table passes quick_check)."""

        def work(conn: sqlite3.Connection) -> list[str]:
            problems: list[str] = []
            for pragma in ("quick_check", "integrity_check"):
                # (a row may span lines, "*** in database main ***\nOn tree page 15 ...":
                # each problem is said on one line)
                rows = [" ".join(str(row[0]).split()) for row in conn.execute(f"PRAGMA {pragma}")]
                problems += [row for row in rows if row != "ok" and row not in problems]
            return problems

        return await self._run(work)

    async def rebuild_indexes(self) -> None:
        await self._run(lambda conn: conn.execute("REINDEX"))

    async def stored_versions(self, session_id: str) -> tuple[int, int, int, int]:
        """(meta version, items' highest, journal's highest, stray journal rows), for
        verification and recovery (``memcore.stores.sqlite_versions``)."""
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> tuple[int, int, int, int]:
            return self._transaction(
                conn, lambda: sqlite_versions.stored_versions(conn, session_id)
            )

        return await self._run(work)

    async def raise_version(self, session_id: str, expected_version: int, version: int) -> bool:
        """Recovery's repair of a version below the journal's or the items' (records and digest
        unchanged); False when the session is not at ``expected_version``."""
        validate_session_id(session_id)
        validate_version(expected_version)
        validate_version(version)

        def work(conn: sqlite3.Connection) -> bool:
            return self._transaction(
                conn,
                lambda: sqlite_versions.raise_version(conn, session_id, expected_version, version),
                write=True,
            )

        return await self._run(work)

    async def adopt_stray_journal(self, session_id: str, expected_version: int) -> int:
        """Recovery's repair of journal rows left outside the session's range (its meta row
        was lost and made again): see ``sqlite_versions.adopt_stray_journal``."""
        validate_session_id(session_id)
        validate_version(expected_version)

        def work(conn: sqlite3.Connection) -> int:
            return self._transaction(
                conn,
                lambda: sqlite_versions.adopt_stray_journal(conn, session_id, expected_version),
                write=True,
            )

        return await self._run(work)

    async def repair_cells(self, session_id: str) -> list[str]:
        """Recovery's repair of cells that hold what memcore never writes there (a version that
        is no number, a record that is no blob): see ``sqlite_cells.repair_cells``."""
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> list[str]:
            return self._transaction(
                conn, lambda: sqlite_cells.repair_cells(conn, session_id), write=True
            )

        return await self._run(work)

    async def move_damaged_journal(self, session_id: str) -> str:
        """Recovery's tidy of an intact session's journal: rows whose records fail their checks
        moved aside, a marker in each one's place (``sqlite_cells.move_damaged_journal``)."""
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> str:
            return self._transaction(
                conn, lambda: sqlite_cells.move_damaged_journal(conn, session_id), write=True
            )

        return await self._run(work)

    async def read_changes(self, session_id: str, since_version: int) -> Delta:
        validate_session_id(session_id)
        validate_version(since_version)

        def work(conn: sqlite3.Connection) -> Delta:
            return self._read_delta(conn, session_id, since_version)

        # a delta since a version is usually small: read it on the loop's thread when free
        return await self._run_fast(work, inline=since_version > 0)

    async def read_snapshot(self, session_id: str) -> Snapshot:
        validate_session_id(session_id)
        return await self._run(lambda conn: self._snapshot(conn, session_id))

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
                new = _commit_rows(
                    conn, session_id, expected_version, rows, stored_digest, replace=replace
                )
                if new is None:
                    # another writer moved the session: nothing written but the mark that
                    # turns commit-first off for a while (``CONTENTION_WINDOW``)
                    self._mark_contended(conn, session_id)
                return new

            return self._transaction(conn, body, write=True)

        version = await self._run_fast(work, inline=len(rows) <= _INLINE_ROWS)
        if version is not None:
            self._wrote(len(rows))
        return version

    def _mark_contended(self, conn: sqlite3.Connection, session_id: str) -> None:
        if self._store_info(conn):  # without it there is no incarnation: no commit-first either
            conn.execute(_MARK_CONTENDED, (f"contended:{session_id}", time.time()))

    async def commit_if_unchanged(
        self, session_id: str, expected: Expected, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        """``commit``'s transaction with the whole condition in its meta ``UPDATE`` (the
        incarnation rows read by subqueries in that statement), so it costs what a commit costs.
        On the event loop's thread it never waits: a write lock held by another connection
        gives None at once, and the sync reads and merges as usual."""
        validate_session_id(session_id)
        conditional = self._conditional(session_id, (expected, records, digest))
        assert conditional is not None
        cas, rows = conditional

        def work(conn: sqlite3.Connection) -> int | None:
            def body() -> int | None:
                # None: not the state the replica saw, nothing written
                return _commit_unchanged(conn, session_id, cas, rows)

            try:
                return self._transaction(conn, body, write=True)
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if "locked" in text or "busy" in text or "no such table: store_info" in text:
                    return None  # another writer's turn, or a file without an incarnation
                raise

        version = await self._run_fast(work, inline=len(rows) <= _INLINE_ROWS)
        if version is not None:
            self._wrote(len(rows))
        return version

    async def read_journal(self, session_id: str, since_version: int = 0) -> list[JournalEntry]:
        validate_session_id(session_id)
        validate_version(since_version)

        def work(conn: sqlite3.Connection) -> list[JournalEntry]:
            rows = conn.execute(_READ_JOURNAL, (session_id, since_version)).fetchall()
            try:
                return [JournalEntry(*entry) for entry in _journal_entries(session_id, rows)]
            except CorruptedMemoryError as exc:  # (named, with what repairs it)
                raise sqlite_journal_aside.located(conn, session_id, since_version, exc) from exc

        return await self._run(work)

    async def last_changed(self, session_id: str) -> dict[str, int]:
        """Each key's version of its last change, as its item row holds it: recovery's witness
        for crossing a journal row moved aside (``memcore.stores.sqlite_journal_aside``)."""
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute(
                "SELECT key, version FROM items WHERE session = ? AND typeof(key) = 'text' "
                "AND typeof(version) = 'integer'",
                (session_id,),
            )
            return {str(key): int(version) for key, version in rows}

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
                cut = conn.execute(_CUT_JOURNAL, (session_id, floor))
                dropped = sum(_packed_count(head) if packed else 1 for packed, head in cut)
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
            return 0 if row is None else _int_cell(row[0], f"journal_floor of {session_id!r}")

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
        return await self._run(lambda conn: self._backups_of(conn, session_id))

    async def readable_backups(
        self, session_id: str
    ) -> tuple[list[BackupInfo], list[UnusableBackup]]:
        """``list_backups`` less the rows with a cell no read can take (a version that is no
        number), and those apart: their ids (None: no integer) and what is wrong. Recovery and
        verification pass them over, as they do a backup whose bytes fail their checks."""
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> tuple[list[BackupInfo], list[UnusableBackup]]:
            unusable: list[UnusableBackup] = []
            return self._backups_of(conn, session_id, unusable), unusable

        return await self._run(work)

    async def get_backup(self, session_id: str, backup_id: int) -> bytes:
        validate_session_id(session_id)
        validate_backup_id(backup_id)

        def work(conn: sqlite3.Connection) -> bytes | None:
            row = conn.execute(
                "SELECT blob FROM backups WHERE session = ? AND backup_id = ?",
                (session_id, backup_id),
            ).fetchone()
            if row is None:
                return None
            return _blob_cell(row[0], f"backup {backup_id} of session {session_id!r}")

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
        return await self._run(self._sessions_in)

    async def delete_session(self, session_id: str) -> None:
        validate_session_id(session_id)

        def work(conn: sqlite3.Connection) -> None:
            def body() -> None:
                conn.execute(_DROP_JOURNAL, (session_id,))  # before its meta row
                for table in ("items", "backups", "meta"):
                    conn.execute(f"DELETE FROM {table} WHERE session = ?", (session_id,))
                sqlite_cells.drop_damaged(conn, session_id)  # (what recovery moved aside)
                _ensure_store_info(conn)
                conn.execute(
                    "INSERT INTO store_info (name, value) VALUES (?, '1') ON CONFLICT (name) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                    (f"deletions:{session_id}",),
                )
                conn.execute("DELETE FROM store_info WHERE name = ?", (f"contended:{session_id}",))

            self._transaction(conn, body, write=True)

        await self._run(work)

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
