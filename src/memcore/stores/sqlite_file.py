"""Opening and checking one memcore SQLite file, with no worker thread nor event loop: the
store's connection (``memcore.stores.sqlite_connection``) is one of these, and so is the reader
of the session-start hook (``memcore.stores.sqlite_reader``), which reads at once and so
imports no asyncio.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from memcore.errors import BackendError, CorruptedMemoryError, NotFoundError
from memcore.file_kinds import kind_of
from memcore.stores.base import BackupInfo, Snapshot, UnusableBackup
from memcore.stores.sqlite_numbered import connect
from memcore.stores.sqlite_schema import (
    _APPLICATION_ID,
    _COLUMNS,
    _DAMAGE_MARKERS,
    _SCHEMA_VERSION,
    _UPGRADES,
    _int_cell,
    _make_incarnation,
    _records,
    _text_cell,
    _to_unsigned,
)
from memcore.stores.sqlite_versions import version_cell

_T = TypeVar("_T")


def _absolute_hint(path: str) -> str:
    """For a relative path whose absolute twin is a file: ``sqlite:///tmp/m.db`` names
    ``tmp/m.db`` under the current folder, as in SQLAlchemy; ``/tmp/m.db`` takes four slashes."""
    if path == ":memory:" or Path(path).is_absolute() or not Path("/", path).is_file():
        return ""
    return f"; for the file /{path} write sqlite:////{path} (four slashes)"


def _not_a_file(path: str) -> str:
    """What ``path`` (its links followed) is when it exists and is no regular file ("a device",
    "a FIFO"...), else "": a path that cannot be looked at is left to SQLite to say."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # (missing, no permission, a NUL in it)
        return ""
    if stat.S_ISREG(mode):
        return ""
    return kind_of(mode)


#: The files SQLite makes beside a database in WAL mode, even to read it (``mode=ro``).
WAL_FILES = ("-wal", "-shm")


def wal_files_beside(path: str) -> bool:
    """Whether a ``-wal`` or ``-shm`` file is beside the database ``path``."""
    return any(os.path.lexists(f"{path}{suffix}") for suffix in WAL_FILES)


def tidy_wal_files(path: str) -> None:
    """Remove the ``-wal`` and ``-shm`` files a read-only read left beside ``path`` (SQLite
    makes them to read a WAL-mode file, and a read-only connection cannot remove them when it
    closes), the way SQLite does: its last connection to close, once it has the file to
    itself, checkpoints the (empty) log and deletes both. Another process that has the store
    open keeps them (it holds its lock, so this connection is not the last), and one that
    cannot be written (or opened) keeps them too. Nothing of the database changes: a read opens
    the log, which is empty (nothing was written; a ``-wal`` holding commits is someone's, and
    is checkpointed, as SQLite would at its next open, not lost)."""
    if not wal_files_beside(path):
        return
    try:
        conn = sqlite3.connect(Path(path).absolute().as_uri() + "?mode=rw", uri=True, timeout=0.1)
    except (sqlite3.Error, OSError, ValueError):
        return
    try:
        with contextlib.suppress(sqlite3.Error):  # (a damaged file: the log is open by then)
            conn.execute("PRAGMA schema_version").fetchone()
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


class SQLiteFile:
    """One memcore SQLite file: where it is, how long a call may wait for its lock, and how it
    is opened and checked. ``_connection`` is the subclass's."""

    #: whether a read-only open removes, as it closes, the ``-wal`` and ``-shm`` files it made
    #: (``_tidy_after_close``)
    TIDIES_AFTER_CLOSE = True

    def __init__(self, path: str, timeout: float, *, read_only: bool, create: bool) -> None:
        self.path = path
        self.timeout = timeout
        self.read_only = read_only
        self.create = create and not read_only
        # a read-only connection made the -wal and -shm files beside a file that had none: see
        # ``_tidy_after_close``
        self._made_wal_files = False

    def _connection(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _check_path(self) -> None:
        """A store is a regular file: a folder, device, FIFO or socket at the path (a link to
        one too) is refused before SQLite opens it, which on ``/dev/null`` made a
        ``/dev/null-journal`` and failed with "disk I/O error" only after an import's reading,
        and to a reading command looked like no store at all. Without ``create``, a missing
        file is ``NotFoundError``."""
        memory = self.path == ":memory:"
        if not memory:
            kind = _not_a_file(self.path)
            if kind == "a folder":
                raise BackendError(f"{self.path!r} is a folder: a store URL names a file in one")
            if kind:
                raise BackendError(
                    f"{self.path!r} is {kind}, not a regular file: a store URL names a memcore "
                    "SQLite file (or where to make one)"
                )
        if not self.create and (memory or not Path(self.path).is_file()):
            raise NotFoundError(
                f"no memcore store at {self.path!r} (nothing was stored there yet)"
                + _absolute_hint(self.path)
            )

    def _guarded(
        self, fn: Callable[[sqlite3.Connection], _T], conn: sqlite3.Connection | None = None
    ) -> _T:
        """``fn(connection)`` (``conn``, or ``_connection()``), with SQLite's and the file's
        failures as memcore's errors: a damaged file is a ``CorruptedMemoryError`` naming it,
        anything else a ``BackendError``."""
        try:
            return fn(self._connection() if conn is None else conn)
        except sqlite3.DatabaseError as exc:
            if any(marker in str(exc).lower() for marker in _DAMAGE_MARKERS):
                raise CorruptedMemoryError(f"sqlite store {self.path!r} is damaged: {exc}") from exc
            raise BackendError(f"sqlite store {self.path!r}: {exc}") from exc
        except sqlite3.Error as exc:
            raise BackendError(f"sqlite store {self.path!r}: {exc}") from exc
        except UnicodeDecodeError as exc:  # a flipped byte in a text cell or in the schema
            raise CorruptedMemoryError(
                f"sqlite store {self.path!r} is damaged: text that is not UTF-8 ({exc.reason})"
            ) from exc
        except OSError as exc:
            raise BackendError(f"sqlite store {self.path!r}: {exc}") from exc

    def _open_read_only(self, upgraded: bool = False) -> sqlite3.Connection:
        """``mode=ro``; where that cannot read (read-only media: no ``-shm`` file can be made),
        ``immutable=1``, which trusts that nothing else writes the file. A file of an older
        schema is first upgraded in place when it can be written (``_upgrade_in_place``)."""
        uri = Path(self.path).absolute().as_uri()
        conn: sqlite3.Connection | None = None
        alone = not wal_files_beside(self.path)  # (no -wal/-shm: no other connection has it open)
        for options in ("?mode=ro", "?mode=ro&immutable=1"):
            conn = connect(uri + options, uri=True, timeout=self.timeout, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                break
            except BaseException as exc:
                # closed whatever failed ("database disk image is malformed" is no
                # OperationalError: that connection stayed open, held by the traceback)
                conn.close()
                # only a file that cannot be opened for reading as it is (no -shm can be made
                # beside it) is read as immutable; a busy one is not: another process writes it
                cannot_open = isinstance(exc, sqlite3.OperationalError) and (
                    "unable to open" in str(exc) or "readonly" in str(exc)
                )
                if "immutable" in options or not cannot_open:
                    if alone:
                        tidy_wal_files(self.path)
                    raise
        assert conn is not None
        try:
            older = self._check_schema(conn) < _SCHEMA_VERSION
        except BaseException:
            conn.close()
            if alone:
                tidy_wal_files(self.path)
            raise
        if not older:
            self._made_wal_files = self.TIDIES_AFTER_CLOSE and alone and wal_files_beside(self.path)
            return conn
        conn.close()
        if not upgraded and self._upgrade_in_place():
            return self._open_read_only(upgraded=True)
        raise BackendError(
            f"{self.path!r} has an older memcore schema and cannot be written here: run a "
            "writing command on it once (e.g. `memcore backup`) where it can, to upgrade it"
        )

    def _tidy_after_close(self) -> None:
        """Once the read-only connection is closed: remove the ``-wal`` and ``-shm`` files it
        made to read a WAL-mode file that had none (SQLite cannot remove them from a read-only
        connection), as SQLite would (``tidy_wal_files``: kept when another process has the
        file open), so that a store opened only to look leaves nothing beside it."""
        if self._made_wal_files:
            self._made_wal_files = False
            tidy_wal_files(self.path)

    def _upgrade_in_place(self) -> bool:
        """Upgrade an older file for a read-only open, if this process may write it: the
        commands that only look and the session-start hook would otherwise fail on every file
        an earlier memcore wrote, until something wrote to it. An upgrade keeps every row and
        creates nothing; a file that cannot be written is left as it is (False)."""
        path = Path(self.path)
        if not (os.access(path, os.W_OK) and os.access(path.absolute().parent, os.W_OK)):
            return False
        conn = connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if self._check_schema(conn) < _SCHEMA_VERSION:
                self._upgrade(conn)
        finally:
            conn.close()
        return True

    def _check_schema(self, conn: sqlite3.Connection) -> int:
        """The file's memcore schema version, once it is known to be one this memcore reads."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id != _APPLICATION_ID:
            raise BackendError(f"{self.path!r} is not a memcore store")
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
        if schema > _SCHEMA_VERSION:
            raise BackendError(
                f"{self.path!r} has memcore schema {schema}, newer than this memcore "
                f"({_SCHEMA_VERSION}): upgrade memcore"
            )
        if schema < 1:
            raise CorruptedMemoryError(
                f"sqlite store {self.path!r} is damaged: its schema version is {schema} "
                f"(memcore writes 1..{_SCHEMA_VERSION})"
            )
        if schema == _SCHEMA_VERSION:
            for table, wanted in _COLUMNS.items():
                found = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
                if not wanted <= found:
                    missing = ", ".join(sorted(wanted - found))
                    raise CorruptedMemoryError(
                        f"sqlite store {self.path!r} is damaged: table {table!r} lacks {missing}"
                    )
        return int(schema)

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

    @staticmethod
    def _upgrade(conn: sqlite3.Connection) -> None:
        """Bring an older memcore file to the current schema (re-checked under the write lock:
        another process may have just done it)."""

        def upgrade() -> None:
            schema = conn.execute("PRAGMA user_version").fetchone()[0]
            for target in range(schema + 1, _SCHEMA_VERSION + 1):
                _UPGRADES[target](conn)
            _make_incarnation(conn)  # as a new file has (see _init_schema), unless it has one
            conn.execute(f"PRAGMA user_version = {max(schema, _SCHEMA_VERSION)}")

        SQLiteFile._transaction(conn, upgrade, write=True)

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
        return 0 if row is None else version_cell(row[0], f"the version of session {session_id!r}")

    @staticmethod
    def _snapshot(conn: sqlite3.Connection, session_id: str) -> Snapshot:
        """``read_snapshot``'s read: the session's version, records and digest, in one
        transaction."""

        def body() -> Snapshot:
            meta = conn.execute(
                "SELECT version, digest FROM meta WHERE session = ?", (session_id,)
            ).fetchone()
            rows = conn.execute(
                "SELECT key, record FROM items WHERE session = ?", (session_id,)
            ).fetchall()
            version, digest = (0, None) if meta is None else meta
            return Snapshot(
                version_cell(version, f"the version of session {session_id!r}"),
                _records(session_id, rows),
                _to_unsigned(digest),
            )

        return SQLiteFile._transaction(conn, body)

    @staticmethod
    def _sessions_in(conn: sqlite3.Connection) -> list[str]:
        """``list_sessions``'s read: every session with a commit or a backup, sorted (and one
        whose version is damaged, negative or no number: verification names it)."""
        rows = conn.execute(
            "SELECT session FROM meta WHERE version IS NOT 0 UNION SELECT session FROM backups"
        ).fetchall()
        return sorted(_text_cell(row[0], "a session name") for row in rows)

    @staticmethod
    def _backups_of(
        conn: sqlite3.Connection,
        session_id: str,
        unusable: list[UnusableBackup] | None = None,
    ) -> list[BackupInfo]:
        """``list_backups``'s read: the session's backups, newest first. A row with a cell no
        read can take (a version or time that is no number: a hand edit) raises
        ``CorruptedMemoryError``; with ``unusable``, it is left out and added there instead (its
        id, None when that is no integer, and what is wrong), so that recovery and verification
        pass it over and use the others."""
        rows = conn.execute(
            "SELECT backup_id, version, created_at, length(blob) FROM backups "
            "WHERE session = ? ORDER BY backup_id DESC",
            (session_id,),
        ).fetchall()
        what = f"a backup of session {session_id!r}"
        infos = []
        for b, v, c, n in rows:
            try:
                if not isinstance(c, (int, float)) or isinstance(c, bool):
                    raise CorruptedMemoryError("its creation time is not a number")
                info = BackupInfo(
                    _int_cell(b, "its id"),
                    _int_cell(v, "its version"),
                    float(c),
                    _int_cell(n, "its size"),
                )
            except CorruptedMemoryError as exc:
                if unusable is None:
                    raise CorruptedMemoryError(f"{what}: {exc}") from None
                unusable.append((b if isinstance(b, int) else None, str(exc)))
                continue
            infos.append(info)
        return infos
