"""The SQLite store's sync under its write lock (``read_and_commit``).

SQLite serializes writers on one lock: a sync that reads the delta, merges it and commits inside
one ``BEGIN IMMEDIATE`` transaction cannot lose a race, so it never retries and no writer starves
another (see ``memcore.sync``). That transaction runs on the event loop's thread (the merge must:
it changes the replica's state), with busy timeout 0, so it never waits there. Writers wait for
their turn in ``memcore.stores.writer_queue`` instead, catching up with the holder's commits
meanwhile, where polling SQLite's lock with sleeps left the lock idle between tries (4 writer
processes on one session spent most of their time asleep). SQLite's lock still guards the
data, and whatever else writes the file waits for it as before.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from memcore.errors import BackendError
from memcore.stores import process_id
from memcore.stores.base import (
    CONTENTION_WINDOW,
    CatchUp,
    Delta,
    Expected,
    First,
    Plan,
    validate_digest,
    validate_expected,
    validate_records,
    validate_session_id,
    validate_version,
)
from memcore.stores.sqlite_connection import SQLiteConnection
from memcore.stores.sqlite_journal_aside import holds_marker, items_since
from memcore.stores.sqlite_schema import (
    _READ_CHANGES,
    _READ_CHANGES_AND_INCARNATION,
    _changed_records,
    _commit_rows,
    _commit_unchanged,
    _int_cell,
    _parse_incarnation,
    _store_info_exists,
    _to_signed,
    _to_unsigned,
    next_version,
)
from memcore.stores.sqlite_versions import version_cell
from memcore.stores.writer_queue import (
    PATIENCE,
    QUEUES_POSSIBLE,
    TurnTimeout,
    WaitUnneeded,
    WriterQueue,
)

logger = logging.getLogger("memcore.stores.sqlite")

# pauses between tries of SQLite's lock once the turn is ours (another kind of writer holds
# it: a large commit on the worker thread, recovery, another program): doubling from
# _LOCK_PAUSE to _LOCK_PAUSE_MAX
_LOCK_PAUSE = 0.00005
_LOCK_PAUSE_MAX = 0.001


class SQLiteLockedSync(SQLiteConnection):
    """``read_and_commit`` and the delta read it shares with ``read_changes``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        usable = QUEUES_POSSIBLE and self.path != ":memory:" and not self.read_only
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
        deletions = f"deletions:{session_id}" if self._store_info(conn) else None
        if deletions is not None:
            rows = conn.execute(
                _READ_CHANGES_AND_INCARNATION, (session_id, since_version, deletions)
            ).fetchall()
        else:
            rows = conn.execute(_READ_CHANGES, (session_id, since_version)).fetchall()
        # (changed rows come last, all from the journal, 4th column not NULL, or all from the
        # items: only the journal's are looked through, for a row recovery moved aside, whose
        # changes are then read from the items; a pull served by the items is not scanned)
        if rows and rows[-1][0] is not None and rows[-1][3] is not None and holds_marker(rows):
            rows = items_since(conn, session_id, since_version, deletions)
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
            version_cell(version, f"the version of session {session_id!r}"),
            _changed_records(session_id, rows[head:]),
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
        first: First | None = None,
        *,
        catch_up: CatchUp | None = None,
    ) -> tuple[Delta | None, int | None] | None:
        """One ``BEGIN IMMEDIATE`` transaction on the event loop's thread, in this writer's turn
        (``memcore.stores.writer_queue``; ``catch_up`` runs while it waits): ``first``'s
        conditional commit if given (a quiet session: nothing to read, as cheap as a commit),
        else or if that missed the delta, ``plan``, the commit (see the module docstring). None
        with ``synchronous=full``: its commits wait for the disk, so they stay on the worker
        thread, and the sync takes its usual loop."""
        validate_session_id(session_id)
        validate_version(since_version)
        if not self._inline:
            return None
        asked = (since_version, self._conditional(session_id, first))  # checked before waiting

        async def while_waiting() -> float | None:
            nonlocal asked
            assert catch_up is not None
            caught_up = await catch_up()
            if caught_up is None:
                return None  # nothing left to commit: no turn needed
            since, then_first, pause = caught_up
            asked = (validate_version(since), self._conditional(session_id, then_first))
            return pause

        if self._pid != process_id.PID or self._conn is None:
            await self._run(lambda conn: None)  # open the connection (afresh after a fork)
        queue = self._queue
        if queue is not None:
            try:
                if not await queue.take(
                    min(PATIENCE, self.timeout), None if catch_up is None else while_waiting
                ):
                    queue = self._queue = None  # no file for it here: SQLite's lock orders us
            except TurnTimeout:
                logger.debug("sqlite store %r: no turn in %s s, going on", self.path, PATIENCE)
                queue = None  # the holder is stuck in other work: SQLite's lock alone
            except WaitUnneeded:
                return None  # the merge while waiting left nothing to commit (see CatchUp)
        try:
            work, written = self._work(session_id, *asked, plan)
            done, result = self._try_inline(work)  # the lock is free nearly always: no wait
            if not done:
                result = await self._when_free(work)
        finally:
            if queue is not None:
                queue.done()
        assert result is not None
        if result[1] is not None:
            self._wrote(written[0])
        return result

    def commit_now(
        self, session_id: str, expected: Expected, records: Mapping[str, bytes], digest: int
    ) -> int | Literal[False] | None:
        """A quiet session's conditional commit (``CommitsNow``), made here at once when nothing
        needs waiting for: the connection open and idle, this writer's turn kept or free,
        SQLite's lock free. It is ``read_and_commit``'s ``first`` commit (the same
        compare-and-set; one row is one statement) without the coroutine, the checks of the
        caller's arguments and the wait around it; False whenever that would have to wait."""
        if not self._inline or self._pid != process_id.PID or self._conn is None:
            return False
        queue = self._queue
        try:
            if queue is not None and not queue.take_now():
                return False  # another writer's turn, or one to let go: ``take`` sees to it
        except OSError:
            return False  # no writer queue here: ``read_and_commit`` finds that out and says so
        try:
            cas = conditional_cas(session_id, expected, digest)
            rows = list(records.items())

            def work(conn: sqlite3.Connection) -> int | Literal[False] | None:
                if not self._store_info(conn):
                    return False
                if len(rows) == 1:  # one statement, its own transaction
                    return _commit_unchanged(conn, session_id, cas, rows)
                # (busy: rolled back, and ``_try_inline`` says it was not tried)
                return self._transaction(
                    conn, lambda: _commit_unchanged(conn, session_id, cas, rows), write=True
                )

            done, landed = self._try_inline(work)
        finally:
            if queue is not None:
                queue.done()
        if not done or landed is False:
            return False
        if landed is not None:
            self._wrote(len(rows))
        return landed

    @staticmethod
    def _conditional(
        session_id: str, first: First | None
    ) -> tuple[tuple[Any, ...], list[tuple[str, bytes]]] | None:
        """``first``, checked, as the compare-and-set's parameters and the rows it writes."""
        if first is None:
            return None
        expected, records, digest = first
        validate_expected(expected)
        validate_records(records)
        return (
            conditional_cas(session_id, expected, validate_digest(digest)),
            [(key, bytes(record)) for key, record in records.items()],
        )

    def _work(
        self,
        session_id: str,
        since_version: int,
        optimistic: tuple[tuple[Any, ...], list[tuple[str, bytes]]] | None,
        plan: Plan,
    ) -> tuple[Callable[[sqlite3.Connection], tuple[Delta | None, int | None]], list[int]]:
        """The transaction of ``read_and_commit`` (and the rows it will have written)."""
        written = [0]

        def work(conn: sqlite3.Connection) -> tuple[Delta | None, int | None]:
            first = optimistic
            if first is not None and len(first[1]) == 1 and self._store_info(conn):
                # one statement, its own transaction (see _COMMIT_ONE_OBJECTS)
                landed = _commit_unchanged(conn, session_id, *first)
                if landed is not None:
                    written[0] = 1
                    return None, landed
                first = None  # missed, nothing written: the delta is read under the lock
            conn.execute("BEGIN IMMEDIATE")
            try:
                if first is not None and self._store_info(conn):
                    landed = _commit_unchanged(conn, session_id, *first)
                    if landed is not None:
                        conn.execute("COMMIT")
                        written[0] = len(first[1])
                        return None, landed
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
        pausing by ``asyncio.sleep`` (or until this store's checkpoint lets the lock go, see
        ``_restart_over``); ``BackendError`` after the store's timeout."""
        deadline = time.monotonic() + self.timeout
        pause = _LOCK_PAUSE
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendError(
                    f"sqlite store {self.path!r}: database is locked (waited {self.timeout} s)"
                )
            if not await self._restart_over(left):
                await asyncio.sleep(pause)
                pause = min(pause * 2, _LOCK_PAUSE_MAX)
            if self._pid != process_id.PID or self._conn is None:
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
        next_version(session_id, expected.version),
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
