"""Opening the store a command names: only an existing one (never a new file, folder or
session), read-only for the commands that only look, leaving no file beside an SQLite store
they read (:func:`tidy_left`), and on SQLite read at once without asyncio
(:func:`reading_store`, :func:`run_reading`); sessions a Redis store could not list are named
on stderr in the running command's name."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from memcore.cli._running_command import _COMMAND
from memcore.errors import MemcoreError
from memcore.stores import BackupInfo, Snapshot, Store, default_url, open_store

_T = TypeVar("_T")


@asynccontextmanager
async def open_existing_store(url: str | None, *, read_only: bool = True) -> AsyncIterator[Store]:
    """The store ``url`` names (the default one when None), which must already exist; closed on
    exit. ``read_only`` (the default, for commands that only look) opens SQLite files read-only;
    ``read_only=False`` for commands that write into an existing store (backup, recover).

    A Redis key memcore never wrote (a session id that is none, a key of the wrong type) must
    not stop a command over the whole store: such a session is left out of
    ``list_sessions``, and named on stderr when the command is done (:func:`warn_unlisted`)."""
    with _no_files_left(url, watch=read_only):
        store = open_store(url, read_only=read_only, create=False)
        if hasattr(store, "skip_damaged"):
            store.skip_damaged = True
        try:
            yield store
            warn_unlisted(store)
        finally:
            await store.close()


@contextmanager
def _no_files_left(url: str | None, *, watch: bool = True) -> Iterator[None]:
    """A command that only looks (``watch``) leaves no file beside the SQLite store ``url``
    names (None: the default store): SQLite makes the ``-wal`` and ``-shm`` files of a
    WAL-mode file to read it, even read-only, and a read-only connection cannot remove them
    when it closes; beside a damaged file, or a store nothing else had open, they were left
    behind. When neither was there before, they are removed as SQLite removes them
    (``memcore.stores.sqlite_file.tidy_wal_files``, which the library's read-only open also
    runs when its first read fails: files another process has open are kept)."""
    sqlite = watch and (url is None or url.lower().startswith("sqlite:"))
    path = _sqlite_path(url) if sqlite else None
    if path is None or not Path(path).is_file():
        yield  # (no file to watch)
        return
    from memcore.stores.sqlite_file import tidy_wal_files, wal_files_beside

    if wal_files_beside(path):
        yield  # (one already open elsewhere, or left so by a crash)
        return
    try:
        yield
    except BaseException:
        # a read that failed (a damaged file) may have left its connection to the error's
        # traceback, which keeps it open: tidied once the error is said (tidy_left)
        _LEFT_TO_TIDY.append(path)
        raise
    tidy_wal_files(path)


#: The stores a failed read left files beside, for :func:`tidy_left`.
_LEFT_TO_TIDY: list[str] = []


def tidy_left() -> None:
    """Tidy the files a failed read left beside its store (see :func:`_no_files_left`), once
    the error that failed it is gone (``main`` calls it when the command is done)."""
    if not _LEFT_TO_TIDY:
        return
    import gc

    from memcore.stores.sqlite_file import tidy_wal_files

    gc.collect()  # (the failed read's connection, held by a cycle through its traceback)
    while _LEFT_TO_TIDY:
        tidy_wal_files(_LEFT_TO_TIDY.pop())


def _sqlite_path(url: str | None) -> str | None:
    """The file of the SQLite store ``url`` names (None: the default store), if any."""
    from memcore.stores.sqlite_schema import parse_sqlite_url

    try:
        path = parse_sqlite_url(url or default_url())[0]
    except MemcoreError:  # (a malformed URL, or no home for the default: said by the command)
        return None
    return None if path == ":memory:" else path


def take_unlisted(store: object) -> dict[str, str]:
    """The sessions ``list_sessions`` left out (a Redis store's ``unlisted``: see
    :func:`open_existing_store`), each with the reason, now the caller's to report."""
    unlisted: dict[str, str] = getattr(store, "unlisted", None) or {}
    found = dict(unlisted)
    unlisted.clear()
    return found


def unlisted_problem(reason: str) -> str:
    """What is wrong with a session ``list_sessions`` left out, and what to do about it."""
    from memcore.stores.redis_sessions import MOVE_IT

    return f"{reason}; {MOVE_IT}"


def warn_unlisted(store: object) -> None:
    """One line on stderr per session the store's ``list_sessions`` left out."""
    for name, reason in take_unlisted(store).items():
        print(
            f"{_COMMAND.get()}: warning: session '{name}' left out: {unlisted_problem(reason)}",
            file=sys.stderr,
        )


class Readable(Protocol):
    """What a command that only looks reads of a store: a ``Store``, or on SQLite an
    ``SQLiteReader`` (see :func:`reading_store`)."""

    async def version(self, session_id: str) -> int: ...

    async def read_snapshot(self, session_id: str) -> Snapshot: ...

    async def list_sessions(self) -> list[str]: ...

    async def list_backups(self, session_id: str) -> list[BackupInfo]: ...


@asynccontextmanager
async def reading_store(url: str | None) -> AsyncIterator[Readable]:
    """The existing store ``url`` names, to read: on SQLite an ``SQLiteReader``, which answers
    at once, so that the command runs with :func:`run_reading` and never imports asyncio (138 M
    instructions, about a quarter of ``memcore search``'s); any other store as
    :func:`open_existing_store` opens it."""
    from memcore.stores.sqlite_reader import reader_of, reads_at_once

    if not reads_at_once(url):
        async with open_existing_store(url) as store:
            yield store
        return
    with _no_files_left(url), reader_of(url) as reader:
        yield reader


def run_reading(url: str | None, coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a command's coroutine that reads the store ``url`` names only through
    :func:`reading_store`: at once on SQLite (no event loop), else on asyncio."""
    from memcore.stores.sqlite_reader import reads_at_once, run_now

    return run_now(coro) if reads_at_once(url) else run(coro)


def run(coro: Any) -> Any:
    """Run one coroutine to completion for a synchronous command."""
    import asyncio  # (here: `memcore --help` and the parser need none of it)

    return asyncio.run(coro)


__all__ = [
    "Readable",
    "_sqlite_path",
    "open_existing_store",
    "reading_store",
    "run",
    "run_reading",
    "take_unlisted",
    "tidy_left",
    "unlisted_problem",
    "warn_unlisted",
]
