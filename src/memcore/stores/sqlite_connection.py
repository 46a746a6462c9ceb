"""The SQLite store's connection: one worker thread per store with its own connection, short
calls of a sync run on the event loop's thread when they cannot wait, busy retries, WAL
checkpoints, opening (read-only too) and checking the file. See ``memcore.stores.sqlite``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from memcore.errors import BackendError, NotFoundError
from memcore.stores import process_id
from memcore.stores.sqlite_file import SQLiteFile
from memcore.stores.sqlite_numbered import connect
from memcore.stores.sqlite_schema import (
    _APPLICATION_ID,
    _COMMIT_ONE_OBJECTS,
    _SCHEMA,
    _SCHEMA_VERSION,
    _busy_error,
    _create_private,
    _make_incarnation,
    _new_incarnation,
)

_T = TypeVar("_T")
#: The tables memcore's schema makes: a file holding only these (and no application id yet) is
#: one being made by another store at this moment, not another program's.
_MEMCORE_TABLES = frozenset(
    re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", " ".join(_SCHEMA), re.IGNORECASE)
) | {"store_info"}  # (made with the file's incarnation id, ``_make_incarnation``)
logger = logging.getLogger("memcore.stores.sqlite")

_CHECKPOINT_EVERY = 1000  # rows written between two WAL checkpoints (SQLite's default: pages)
# The rows written since the last checkpoint, per database file, counted by every store of this
# process on it: stores that share a file (replicas in one process) share the count, or the WAL
# grew to their number times _CHECKPOINT_EVERY rows before any of them checkpointed (13 MB
# with four replicas, 4 MB with one).
_UNCHECKED_WRITES: dict[str, int] = {}
# How long the checkpoint's second step (see _checkpoint) may wait for the write lock and for
# readers of the old WAL: it holds writers back meanwhile, so briefly; busy, it tries next time.
_RESTART_WAIT_MS = 5
# A WAL that starts over keeps its file, at most this long (SQLite cuts it when a writer starts
# it over): one large commit (a first sync of 100k items) would leave 100 MB on disk otherwise.
_WAL_KEPT_BYTES = 16 << 20
_INLINE_ROWS = 64  # commits of more rows than this always run on the worker thread
# A commit writes every B-tree page it touches (meta, the item, the journal row) whole into the
# WAL, checksummed: with 2 KiB pages instead of SQLite's 4 KiB a one-key commit's statements
# take about a quarter less time, while reading a whole 10k-item session takes about a quarter
# more (more, smaller pages), measured side by side (benchmarks/MEASUREMENTS.md, Sync). Syncs
# commit far more often than replicas pull whole sessions.
_PAGE_SIZE = 2048


class SQLiteConnection(SQLiteFile):
    """One SQLite file, its connection and the worker thread that uses it."""

    def __init__(
        self, path: str, timeout: float, synchronous: str, *, read_only: bool, create: bool
    ) -> None:
        super().__init__(path, timeout, read_only=read_only, create=create)
        self._file = os.path.abspath(path)  # its key in _UNCHECKED_WRITES
        self._synchronous = synchronous
        self._lock = threading.Lock()
        # The connection is used by the worker thread, or by the event loop's thread for the
        # short calls of a sync when it is free (see ``_run_fast``); this lock says whose turn.
        self._conn_lock = threading.RLock()
        # with synchronous=FULL every commit waits for the disk: those stay on the worker
        self._inline = synchronous == "NORMAL" and not self.read_only
        self._has_store_info = False  # seen once, the table stays (see read_changes)
        self._checkpoint_conn: sqlite3.Connection | None = None  # the worker's, see _checkpoint
        # set while the checkpoint's second step holds SQLite's write lock (see _restart_over)
        self._restarting: Future[None] | None = None
        self._pid = os.getpid()
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # opened only on the worker thread
        # (st_dev, st_ino) of the file ``_conn`` has open, and of the one the checkpoint's
        # connection has: see ``_file_moved``
        self._identity: tuple[int, int] | None = None
        self._checkpoint_identity: tuple[int, int] | None = None
        # set when the file was found deleted or replaced under an open connection, until the
        # file at the path got a new incarnation id (``_open``)
        self._lost_file = False
        self._opened: tuple[int, int] | None = None  # the file's identity as ``_open`` began

    # --- the worker thread ----------------------------------------------------------------

    def _worker(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pid != process_id.PID:
                # a forked child: the parent's worker thread does not exist here, and SQLite
                # connections must not cross a fork; start afresh (the stale ones are dropped)
                self._pid, self._executor, self._conn = os.getpid(), None, None
                self._checkpoint_conn = self._restarting = None
                self._conn_lock = threading.RLock()  # the parent's may be held by a lost thread
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="memcore-sqlite")
            return self._executor

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``fn(connection)`` on the worker thread, in whichever loop is running."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker(), self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._conn_lock:
            if not self._inline:
                return self._guarded(fn)
            # busy timeout 0 (see _open): wait for a locked database here, up to ``timeout``;
            # every call is one transaction or one statement, rolled back when busy
            deadline = time.monotonic() + self.timeout
            pause = 0.0002
            while True:
                try:
                    return self._guarded(fn)
                except BackendError as exc:
                    if not _busy_error(exc) or time.monotonic() >= deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, 0.02)

    async def _run_fast(self, fn: Callable[[sqlite3.Connection], _T], *, inline: bool) -> _T:
        """Like ``_run``, but a short call (``inline``) runs right here on the event loop's
        thread when it cannot wait: the connection is open and idle, and the database's write
        lock is free (the busy timeout is 0: a locked database fails at once). A one-key
        commit then costs no thread hop, which was most of its time; anything that would wait
        goes to the worker, so a database locked by another process never blocks the loop."""
        if inline and self._inline:
            done, result = self._try_inline(fn)
            if done:
                return result  # type: ignore[return-value]
        return await self._run(fn)

    def _try_inline(self, fn: Callable[[sqlite3.Connection], _T]) -> tuple[bool, _T | None]:
        if self._pid != process_id.PID or not self._conn_lock.acquire(blocking=False):
            return False, None  # a forked child, or the worker is using the connection
        try:
            conn = self._conn
            if conn is None:
                return False, None  # opening it may wait: the worker does that
            if self._file_moved():
                self._drop_moved()
                return False, None  # the worker opens the file now at the path
            try:
                return True, self._guarded(fn, conn)
            except BackendError as exc:
                if _busy_error(exc):
                    return False, None  # rolled back: the worker retries it, waiting its turn
                raise
        finally:
            self._conn_lock.release()

    def _wrote(self, rows: int) -> None:
        """Checkpoint the WAL on the worker now and then: automatic checkpoints are off on this
        connection, so that a commit made on the event loop's thread never waits for one. The
        checkpoint runs on a connection of its own, so commits go on meanwhile (WAL lets them).
        The rows are counted per file (``_UNCHECKED_WRITES``), by whichever store wrote them."""
        if self.path == ":memory:":
            return
        unchecked = _UNCHECKED_WRITES.get(self._file, 0) + rows + 1
        if unchecked >= _CHECKPOINT_EVERY:
            unchecked = 0
            self._worker().submit(self._checkpoint)
        _UNCHECKED_WRITES[self._file] = unchecked

    def _checkpoint(self) -> None:
        """On the worker thread, in two steps (best effort: a failure only leaves the WAL
        longer, and the next one, or any other connection's, catches up). A passive checkpoint
        copies the pages while commits go on; but a WAL starts over from its beginning only
        when a writer finds every frame copied, and a writer syncing back to back always adds
        some during that copy: the file grew without end (43 MB after 4,000 one-key syncs). So
        then a RESTART checkpoint copies the few frames added meanwhile under the write lock,
        and the next commit writes from the WAL's start, reusing the file (cut to
        ``_WAL_KEPT_BYTES``): a one-key sync took 5-10% less time than with the growing WAL,
        and than with a WAL emptied (TRUNCATE) and grown again, in alternated runs."""
        try:
            conn = self._checkpoint_conn
            if conn is not None and self._checkpoint_identity != self._identity:
                conn.close()  # opened on a file deleted or replaced since (see _file_moved)
                conn = self._checkpoint_conn = None
            if conn is None:
                self._checkpoint_identity = self._identity
                conn = self._checkpoint_conn = connect(
                    self.path, timeout=_RESTART_WAIT_MS / 1000, isolation_level=None
                )
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if not busy:
                restarting: Future[None] = Future()
                self._restarting = restarting
                try:
                    conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                finally:
                    self._restarting = None
                    restarting.set_result(None)
        except sqlite3.Error as exc:
            logger.debug("sqlite store %r: WAL checkpoint skipped (%s)", self.path, exc)

    async def _restart_over(self, timeout: float) -> bool:
        """Wait, at most ``timeout`` s, for the end of this store's own checkpoint's second
        step if it runs now: it holds SQLite's write lock for about a millisecond, and a commit
        that found the lock taken then would otherwise poll with ``asyncio.sleep``, which
        sleeps whole milliseconds (the event loop's ``epoll`` counts in them): the one-key
        sync that met it took 1.4-1.7 ms instead of the step's 1. False: none runs."""
        restarting = self._restarting
        if restarting is None or restarting.done() or self._pid != process_id.PID:
            return False
        await asyncio.wait((asyncio.wrap_future(restarting),), timeout=max(timeout, 0))
        return True

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is not None and self._file_moved():
            self._drop_moved()
            conn = None
        if conn is None:
            self._has_store_info = False  # a new connection may be to another file
            for _ in range(3):  # (replaced again while it was being opened: open it again)
                conn = self._open()
                self._identity = _identity_of(self.path)
                if self._identity == self._opened:
                    break
                conn.close()
            else:
                raise BackendError(f"sqlite store {self.path!r}: the file keeps being replaced")
            self._conn = conn
            if self._lost_file and not self.read_only:
                self._lost_file = False  # (``_open`` gave the file a new incarnation id)
        return conn

    def _file_moved(self) -> bool:
        """Whether the path no longer names the file the connection has open: deleted, or
        replaced (by an older copy, say). SQLite goes on using the open file, so every write
        would land in a file no other process sees, and the replicas would never notice: one
        ``stat`` a call (about a microsecond) is what finding it out costs."""
        if self._identity is None:
            return False
        try:
            found = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return True
        except OSError:
            return False  # (no verdict: the open file still answers)
        return (found.st_dev, found.st_ino) != self._identity

    def _drop_moved(self) -> None:
        """Close the connection to a file that is no longer at the path (the caller holds
        ``_conn_lock``); the next call opens the path again. Closing does not checkpoint into
        the old file nor remove the ``-wal``/``-shm`` files at the path: SQLite sees it moved."""
        logger.warning(
            "sqlite store %r: the file was deleted or replaced while open; opening the path "
            "again with a new incarnation id, so that replicas heal it from what they hold",
            self.path,
        )
        conn, self._conn, self._identity = self._conn, None, None
        self._lost_file = True
        if conn is not None:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        memory = self.path == ":memory:"
        self._check_path()
        if not memory and not self.read_only:
            _create_private(Path(self.path))
        self._opened = _identity_of(self.path)
        if self.read_only:
            return self._open_read_only()
        conn = connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if not memory:
                self._check_claimed(conn)  # before any setting below is written into the file
                # a new file's pages (no-op on an existing one): see _PAGE_SIZE
                conn.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
                self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
                if self._inline:
                    conn.execute("PRAGMA wal_autocheckpoint = 0")  # see _wrote
                conn.execute(f"PRAGMA journal_size_limit = {_WAL_KEPT_BYTES}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            # what is deleted or overwritten (a forgotten note, a dropped journal holding a
            # secret) is zeroed in the file, not left in free pages: Debian's SQLite does so
            # by default, others do not, and the benchmarks were measured with it on
            conn.execute("PRAGMA secure_delete = ON")
            self._init_schema(conn)
            if self._lost_file:
                # whatever the file at the path holds (nothing, or an older copy with the same
                # id) is not what replicas merged: a new id makes each heal the store from them
                self._transaction(conn, lambda: _new_incarnation(conn), write=True)
            for statement in _COMMIT_ONE_OBJECTS:  # TEMP: this connection's, not the file's
                conn.execute(statement)
            if self._inline:
                # from now on a locked database fails at once: the event loop's thread tries
                # once and hands over, the worker waits its turn in ``_call``
                conn.execute("PRAGMA busy_timeout = 0")
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_claimed(self, conn: sqlite3.Connection) -> None:
        """Refuse, before writing anything into it (no journal mode, no page size: it keeps
        every byte), a file that another program made, and with ``create=False`` a file that
        holds no store yet (an empty file: a command that only works on a store must not make
        one there). A file holding memcore's tables but not its id is looked at again under
        the write lock, which the store making it holds until both are in: then it is
        memcore's, or another program's that happens to name a table ``items``."""
        found, tables, empty = self._claim(conn)
        if found == 0 and not empty and tables <= _MEMCORE_TABLES:
            found, tables, empty = self._claim(conn, locked=True)
        if found == _APPLICATION_ID:
            return
        if found != 0 or not empty:
            raise BackendError(f"{self.path!r} is an SQLite file not made by memcore")
        if not self.create:
            raise NotFoundError(f"no memcore store at {self.path!r} (an empty file)")

    def _claim(
        self, conn: sqlite3.Connection, *, locked: bool = False
    ) -> tuple[int, frozenset[str], bool]:
        """The file's application id, its tables' names and whether its schema is empty (no
        table, view, index nor trigger at all). A plain read, ``locked`` under the write lock
        (``BEGIN IMMEDIATE``, rolled back): neither writes anything, not even on a file in
        another journal mode."""
        holder: list[tuple[int, frozenset[str], bool]] = []

        def read() -> None:
            if locked:
                conn.execute("BEGIN IMMEDIATE")
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                rows = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            tables = frozenset(  # (SQLite's own, sqlite_sequence for one: any file may have them)
                str(name) for kind, name in rows if kind == "table" and not _sqlite_own(name)
            )
            holder.append((int(app_id), tables, not rows))

        try:
            self._retry_busy(read)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):  # another process holds it: no verdict
                raise BackendError(
                    f"sqlite store {self.path!r}: database is locked (waited {self.timeout} s)"
                ) from exc
            raise _unopenable(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:  # not a database at all (SQLITE_NOTADB)
            raise BackendError(f"{self.path!r} is not an SQLite database ({exc})") from exc
        return holder[-1]

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == _APPLICATION_ID:
            if self._check_schema(conn) < _SCHEMA_VERSION:
                self._upgrade(conn)
            return

        def create() -> None:  # re-checked under the write lock: another process may be first
            found = conn.execute("PRAGMA application_id").fetchone()[0]
            if found == _APPLICATION_ID:
                return
            objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if found != 0 or objects:  # (made meanwhile by another program: refused all the same)
                raise BackendError(f"{self.path!r} is an SQLite file not made by memcore")
            for statement in _SCHEMA:
                conn.execute(statement)
            # with its id from the start, a new session's first deltas carry it: the first
            # syncs of replicas starting together commit under the write lock, where none can
            # lose its race (without it they read and then committed, and a loser marked the
            # session contended: every replica read first for CONTENTION_WINDOW)
            _make_incarnation(conn)
            conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

        self._transaction(conn, create, write=True)

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
        with self._conn_lock:
            conn, self._conn, self._identity = self._conn, None, None
            if conn is not None:
                conn.close()
        checkpointer, self._checkpoint_conn = self._checkpoint_conn, None
        if checkpointer is not None:
            checkpointer.close()
        self._tidy_after_close()


def _sqlite_own(name: object) -> bool:
    """Whether a table is one SQLite makes itself (``sqlite_sequence``, ``sqlite_stat1``)."""
    return str(name).lower().startswith("sqlite_")


def _unopenable(path: str, exc: sqlite3.OperationalError) -> BackendError:
    """What is true of a file SQLite could not open (SQLITE_CANTOPEN, READONLY...): SQLite says
    "unable to open database file" for a valid store on a read-only file system or in a folder
    it may not write (WAL needs its -wal and -shm files there), so ask the system why (SQLite
    keeps the errno to itself). A file that is no database is a ``DatabaseError``, not this."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as err:
        why = (err.strerror or str(err)).lower()
        if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return BackendError(f"sqlite store {path!r} cannot be written: {why}")
        return BackendError(f"sqlite store {path!r}: unable to open: {why}")
    os.close(fd)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK):
        return BackendError(
            f"sqlite store {path!r} cannot be written: its folder {folder!r} is not writable "
            "(the -wal and -shm files live there)"
        )
    return BackendError(f"sqlite store {path!r}: unable to open ({exc})")


def _identity_of(path: str) -> tuple[int, int] | None:
    """The (device, inode) of the file at ``path``; None for ``:memory:`` or no file."""
    if path == ":memory:":
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino
