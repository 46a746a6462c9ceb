"""The SQLite store's sync under its write lock (``read_and_commit``) and the queue its writers
wait in.

SQLite serializes writers on one lock: a sync that reads the delta, merges it and commits inside
one ``BEGIN IMMEDIATE`` transaction cannot lose a race, so it never retries and no writer starves
another (see ``memcore.sync``). That transaction runs on the event loop's thread (the merge must:
it changes the replica's state), with busy timeout 0, so it never waits there. Writers of other
processes waiting for their turn wait in a queue: an advisory ``flock`` on a file beside the
database (``<database>-writers``), taken before the transaction and let go after it. A waiter
waits in the kernel on a thread of its own and is woken the moment the holder lets go, where
polling SQLite's lock with sleeps left the lock idle between tries (4 writer processes on one
session spent most of their time asleep); see ``WriterQueue.take`` for how the turn then passes.
The queue only orders memcore's syncs; SQLite's lock still guards the data, and whatever else
writes the file waits for it as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from memcore.errors import BackendError
from memcore.stores.base import (
    CONTENTION_WINDOW,
    Delta,
    Expected,
    Plan,
    validate_digest,
    validate_expected,
    validate_records,
    validate_session_id,
    validate_version,
)
from memcore.stores.sqlite_connection import SQLiteConnection
from memcore.stores.sqlite_schema import (
    _CAS_META_UNCHANGED,
    _READ_CHANGES,
    _READ_CHANGES_AND_INCARNATION,
    _commit_rows,
    _int_cell,
    _parse_incarnation,
    _records,
    _store_info_exists,
    _to_signed,
    _to_unsigned,
    _write_rows,
)

try:
    import fcntl
except ImportError:  # not POSIX: writers poll SQLite's lock instead
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("memcore.stores.sqlite")

# misses (the turn was free when a waiter's thread woke, taken again before its loop ran) after
# which a waiter keeps the turn its thread gets
_HOLD_AFTER = 3
# pauses between tries of SQLite's lock once at the head of the queue (another kind of writer
# holds it: a large commit on the worker thread, recovery, another program): doubling from
# _LOCK_PAUSE to _LOCK_PAUSE_MAX
_LOCK_PAUSE = 0.00005
_LOCK_PAUSE_MAX = 0.001


class WriterQueue:
    """An exclusive ``flock`` on ``<database>-writers``: the order in which this machine's
    processes take their turn at the database's write lock. One open file per process (a
    forked child opens its own: a lock is shared by every descriptor of one open file)."""

    def __init__(self, database: str) -> None:
        self.path = f"{database}-writers"
        self._fd: int | None = None
        self._pid = 0
        self._guard = threading.Lock()  # the descriptor, between the loop and waiter threads
        self._waiters = 0
        self._closing = False

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def try_take(self) -> bool:
        """Take the turn if nobody has it (never waits). ``OSError`` when the file cannot be
        made or locked (a read-only folder, a file system without ``flock``)."""
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _wait_blocking(self, hold: bool) -> None:
        """On a thread: wait until the turn is free; keep it only if ``hold``. The descriptor
        stays open meanwhile (``close`` leaves it to the last waiter)."""
        with self._guard:
            fd = self._descriptor()
            self._waiters += 1
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not hold:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            with self._guard:
                self._waiters -= 1
                if self._closing and not self._waiters:
                    self._close_locked()

    async def take(self, timeout: float) -> bool:
        """Wait for the turn on a thread (the event loop goes on), at most ``timeout`` s.
        False when there can be no queue here (see ``try_take``): go without it.

        The thread that wakes when the turn is free lets it go at once, and the event loop
        takes it when it runs: a turn handed to a thread whose process is not running (4
        writer processes on 2 cores) would keep every other writer waiting for nothing, a
        convoy that cost most of their time. A writer that misses ``_HOLD_AFTER`` times in a
        row keeps the turn its thread gets, so none is starved by a writer in a tight loop.
        """
        try:
            if self.try_take():
                return True
        except OSError as exc:
            logger.debug("sqlite store: no writer queue at %r (%s)", self.path, exc)
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        misses = 0
        while True:
            hold = misses >= _HOLD_AFTER
            waiting = loop.run_in_executor(None, self._wait_blocking, hold)
            try:
                await asyncio.wait_for(asyncio.shield(waiting), max(deadline - loop.time(), 0))
            except BaseException as exc:
                if hold:  # the thread may still get the turn: give it back then
                    waiting.add_done_callback(self._give_back_if_taken)
                if isinstance(exc, asyncio.TimeoutError):  # before OSError: a subclass of it
                    raise BackendError(
                        f"sqlite store: no turn to write in {timeout} s (another process holds it)"
                    ) from exc
                if isinstance(exc, OSError):
                    raise BackendError(f"sqlite store: cannot lock {self.path!r}: {exc}") from exc
                raise
            if hold or self.try_take():
                return True
            misses += 1

    def _give_back_if_taken(self, waiting: asyncio.Future[None]) -> None:
        if not waiting.cancelled() and waiting.exception() is None:
            self.give_back()

    def give_back(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the file (which gives back any turn held); with a waiter's thread still on it,
        when that thread is done: a descriptor closed under it could be reused for another file.
        A later ``take`` opens it again."""
        with self._guard:
            if self._waiters:
                self._closing = True
            else:
                self._close_locked()

    def _close_locked(self) -> None:
        fd, self._fd, self._closing = self._fd, None, False
        if fd is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(fd)


class SQLiteLockedSync(SQLiteConnection):
    """``read_and_commit`` and the delta read it shares with ``read_changes``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        usable = fcntl is not None and self.path != ":memory:" and not self.read_only
        self._queue = WriterQueue(self.path) if usable else None

    def _store_info(self, conn: sqlite3.Connection) -> bool:
        """Whether the file has its ``store_info`` table (asked until it has: it then stays)."""
        if not self._has_store_info:
            self._has_store_info = _store_info_exists(conn)
        return self._has_store_info

    def _read_delta(self, conn: sqlite3.Connection, session_id: str, since_version: int) -> Delta:
        # One statement, so one consistent read without BEGIN/COMMIT: first the rows whose
        # key column is NULL, the meta row (replaced_at never NULL) and, once the file has a
        # store_info table, its incarnation rows (4th column NULL), then the changed items.
        if self._store_info(conn):
            rows = conn.execute(
                _READ_CHANGES_AND_INCARNATION,
                (session_id, since_version, f"deletions:{session_id}"),
            ).fetchall()
        else:
            rows = conn.execute(_READ_CHANGES, (session_id, since_version)).fetchall()
        meta: tuple[Any, ...] = (None, 0, None, 0)
        facts: dict[str, object] = {}
        head = 0
        while head < len(rows) and rows[head][0] is None:
            if rows[head][3] is None:
                facts[str(rows[head][1])] = rows[head][2]
            else:
                meta = rows[head]
            head += 1
        _, version, digest, replaced_at = meta
        return Delta(
            _int_cell(version, f"the version of session {session_id!r}"),
            _records(session_id, [(k, r) for k, r, _, _ in rows[head:]])
            if head < len(rows)
            else {},
            _to_unsigned(digest),
            _int_cell(replaced_at, f"replaced_at of session {session_id!r}"),
            # the sync then needs no incarnation() call (None: not made yet, it makes it)
            _parse_incarnation(session_id, facts) if "incarnation" in facts else None,
        )

    async def read_and_commit(
        self,
        session_id: str,
        since_version: int,
        plan: Plan,
        first: tuple[Expected, Mapping[str, bytes], int] | None = None,
    ) -> tuple[Delta | None, int | None] | None:
        """One ``BEGIN IMMEDIATE`` transaction on the event loop's thread: ``first``'s
        conditional commit if given (a quiet session: nothing to read, as cheap as a commit),
        else or if that missed the delta, ``plan``, the commit (see the module docstring). None
        with ``synchronous=full``: its commits wait for the disk, so they stay on the worker
        thread, and the sync takes its usual loop."""
        validate_session_id(session_id)
        validate_version(since_version)
        if not self._inline:
            return None
        optimistic = None
        if first is not None:
            expected, records, digest = first
            validate_expected(expected)
            validate_records(records)
            optimistic = (
                conditional_cas(session_id, expected, validate_digest(digest)),
                [(key, bytes(record)) for key, record in records.items()],
            )
        if self._pid != os.getpid() or self._conn is None:
            await self._run(lambda conn: None)  # open the connection (afresh after a fork)
        queue = self._queue
        if queue is not None and not await queue.take(self.timeout):
            queue = self._queue = None  # no file for it here: SQLite's lock alone orders us
        work, written = self._work(session_id, since_version, plan, optimistic)
        try:
            done, result = self._try_inline(work)  # the lock is free nearly always: no wait
            if not done:
                result = await self._when_free(work)
        finally:
            if queue is not None:
                queue.give_back()
        assert result is not None
        if result[1] is not None:
            self._wrote(written[0])
        return result

    def _work(
        self,
        session_id: str,
        since_version: int,
        plan: Plan,
        optimistic: tuple[tuple[Any, ...], list[tuple[str, bytes]]] | None,
    ) -> tuple[Callable[[sqlite3.Connection], tuple[Delta | None, int | None]], list[int]]:
        """The transaction of ``read_and_commit`` (and the rows it will have written)."""
        written = [0]

        def work(conn: sqlite3.Connection) -> tuple[Delta | None, int | None]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if optimistic is not None and self._store_info(conn):
                    cas, rows = optimistic
                    if conn.execute(_CAS_META_UNCHANGED, cas).rowcount:
                        _write_rows(conn, session_id, rows, cas[0], journal=True)
                        conn.execute("COMMIT")
                        written[0] = len(rows)
                        return None, int(cas[0])
                delta = self._read_delta(conn, session_id, since_version)
                planned = plan(delta)
                new = None
                if planned is not None:
                    new = _write_planned(conn, session_id, delta.version, planned, written)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return delta, new

        return work, written

    async def _when_free(
        self, work: Callable[[sqlite3.Connection], tuple[Delta | None, int | None]]
    ) -> tuple[Delta | None, int | None]:
        """Try ``work`` on the loop's thread until SQLite's lock (or the connection) is free,
        pausing by ``asyncio.sleep``; ``BackendError`` after the store's timeout."""
        deadline = time.monotonic() + self.timeout
        pause = _LOCK_PAUSE
        while True:
            if time.monotonic() >= deadline:
                raise BackendError(
                    f"sqlite store {self.path!r}: database is locked (waited {self.timeout} s)"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LOCK_PAUSE_MAX)
            if self._pid != os.getpid() or self._conn is None:
                await self._run(lambda conn: None)  # open the connection (afresh after a fork)
            done, result = self._try_inline(work)
            if done:
                assert result is not None
                return result

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self._queue is not None:
                self._queue.close()


def conditional_cas(session_id: str, expected: Expected, digest: int) -> tuple[Any, ...]:
    """The parameters of ``_CAS_META_UNCHANGED``: commit ``digest`` as the version after
    ``expected``'s, only onto exactly that state, and not while the session is marked contended
    (``CONTENTION_WINDOW``)."""
    incarnation = expected.incarnation
    return (
        expected.version + 1,
        _to_signed(digest),
        session_id,
        expected.version,
        _to_signed(expected.digest),
        incarnation.store,
        f"deletions:{session_id}",
        incarnation.deletions,
        f"contended:{session_id}",
        time.time() - CONTENTION_WINDOW,
    )


def _write_planned(
    conn: sqlite3.Connection,
    session_id: str,
    version: int,
    planned: tuple[Mapping[str, bytes], int],
    written: list[int],
) -> int:
    """``read_and_commit``'s write: version ``version + 1``, under the lock already held."""
    records, digest = planned
    validate_records(records)
    rows = [(key, bytes(record)) for key, record in records.items()]
    new = _commit_rows(conn, session_id, version, rows, _to_signed(validate_digest(digest)))
    if new is None:
        raise BackendError(f"session {session_id!r} moved under this connection's write lock")
    written[0] = len(rows)
    return new


__all__ = ["SQLiteLockedSync", "WriterQueue", "conditional_cas"]
