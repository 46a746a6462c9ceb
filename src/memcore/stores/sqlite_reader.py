"""The SQLite store read on the spot: what the session-start hook reads, with no event loop.

A hook that only reads has nothing to wait for that an event loop would help with, and importing
asyncio (with the socket, SSL, subprocess and logging modules it brings) was a third of a
session-start process's work (its instructions counted: 456 M with it, 313 M without, on a
project of 14 saved sessions). ``SQLiteReader`` opens the file as ``open_store(url,
read_only=True)`` does (read-only, never created, an older file upgraded where it may be
written) and answers ``version`` and ``read_snapshot`` in the calling thread. Its methods are
coroutines so that code written for every store (``memcore.claude_code.session_start``) reads
through it unchanged; none of them ever suspends, so ``run_now`` runs that code to its end
without an event loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from memcore.stores.base import BackupInfo, Snapshot, validate_session_id
from memcore.stores.sqlite_file import SQLiteFile
from memcore.stores.sqlite_urls import parse_sqlite_url

_T = TypeVar("_T")


class SQLiteReader(SQLiteFile):
    """The reading half of ``SQLiteStore``, read-only, answered at once (see the module)."""

    #: the ``-wal`` and ``-shm`` files its read made are left (the next writer uses them):
    #: tidied, as a read-only store's are for verify, they cost each hook's read 0.3 ms, a
    #: third more for an unchanged save; the commands that read tidy on their own
    TIDIES_AFTER_CLOSE = False

    def __init__(self, url: str) -> None:
        path, timeout, _ = parse_sqlite_url(url)
        super().__init__(path, timeout, read_only=True, create=False)
        self.url = url
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteReader({self.url!r})"

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._check_path()  # (a missing file: NotFoundError, nothing made)
            self._conn = self._open_read_only()
        return self._conn

    async def version(self, session_id: str) -> int:
        validate_session_id(session_id)
        return self._guarded(lambda conn: self._version_of(conn, session_id))

    async def read_snapshot(self, session_id: str) -> Snapshot:
        validate_session_id(session_id)
        return self._guarded(lambda conn: self._snapshot(conn, session_id))

    async def list_sessions(self) -> list[str]:
        return self._guarded(self._sessions_in)

    async def list_backups(self, session_id: str) -> list[BackupInfo]:
        validate_session_id(session_id)
        return self._guarded(lambda conn: self._backups_of(conn, session_id))

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


@contextmanager
def reader_of(url: str | None) -> Iterator[SQLiteReader]:
    """An ``SQLiteReader`` of the SQLite store ``url`` names (None: the default store), closed
    on leaving (opened at its first read: a missing file is a ``NotFoundError`` then)."""
    from memcore.stores import default_url

    reader = SQLiteReader(url or default_url())
    try:
        yield reader
    finally:
        run_now(reader.close())


def reads_at_once(url: str | None) -> bool:
    """Whether code that only reads the store ``url`` names (``None``: the default store, an
    SQLite file) can read it through ``SQLiteReader`` and ``run_now``: an SQLite URL."""
    return url is None or url.lower().startswith("sqlite:")


def run_now(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to its end here, with no event loop: for code whose awaits are all of
    ``SQLiteReader``'s, which never suspend. One that suspends is closed and a ``RuntimeError``
    (it awaited something that waits: it needs an event loop)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a coroutine run at once suspended: it needs an event loop")


__all__ = ["SQLiteReader", "reader_of", "reads_at_once", "run_now"]
