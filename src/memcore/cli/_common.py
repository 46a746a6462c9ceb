"""What every ``memcore`` command shares: the argument parser, the progress bar, exit codes and
reading a session from a store.

Commands that only look (``inspect``, ``verify``, ``decompress``, ``search``, ``digest``) open
their store with :func:`open_existing_store` (read-only: never a new file, folder or session) and
read with :func:`read_state`; every command names its store with ``--store URL``
(:func:`add_store_option`), the default store when absent, shown by its real path
(:func:`store_label`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TextIO, TypeAlias, TypeVar

from memcore.errors import (
    CorruptedMemoryError,
    MemcoreError,
    NoHomeError,
    NotFoundError,
    ValidationError,
)
from memcore.model import MemoryItem
from memcore.stores import (
    BackupInfo,
    Snapshot,
    Store,
    check_store_url,
    decode_entry,
    default_url,
    open_store,
    validate_session_id,
)
from memcore.stores.base import session_by_prefix
from memcore.stores.urls import mask_url

if TYPE_CHECKING:
    from _typeshed import SupportsWrite
    from rich.progress import Progress

    from memcore.claude_code import Transcript

from memcore.cli._exit_codes import EXIT_BROKEN_PIPE as EXIT_BROKEN_PIPE
from memcore.cli._exit_codes import EXIT_ERROR as EXIT_ERROR
from memcore.cli._exit_codes import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from memcore.cli._exit_codes import EXIT_USAGE as EXIT_USAGE

_T = TypeVar("_T")

#: Sessions memcore keeps for itself (``memcore.access-log``...): not listed as the user's.
INTERNAL_SESSION_PREFIX = "memcore."
#: The command running (``memcore inspect``), as its warnings name it (set by ``_add``'s handler).
_COMMAND: ContextVar[str] = ContextVar("memcore_command", default="memcore")
#: The sessions the running store-wide command found damaged and left out (each named on stderr
#: by :func:`left_out_damaged`): the command then exits with ``EXIT_ERROR`` (see ``_as_command``).
_DAMAGED: ContextVar[list[str] | None] = ContextVar("memcore_damaged", default=None)


def store_label(url: str | None) -> str:
    """How a store is shown to a user: an SQLite store by its real path (the default one
    included), any other by its URL without a password."""
    resolved = url or default_url()
    if resolved.lower().startswith("sqlite:"):
        from memcore.stores.sqlite_schema import parse_sqlite_url

        try:
            path = parse_sqlite_url(resolved)[0]
        except ValidationError:
            return mask_url(resolved)
        return path if path == ":memory:" else str(Path(path).absolute())
    return mask_url(resolved)


def recover_command(url: str | None, session: str) -> str:
    """The command that repairs ``session`` (``--store`` only when not the default store)."""
    store = "" if url is None else f" --store {mask_url(url)}"
    return f"memcore recover{store} {session}"


def _default_store_help() -> str:
    try:
        where = store_label(None)
    except NoHomeError:  # (the help must print: a command given --store needs no home)
        where = "memory.db in $MEMCORE_HOME, which must be set here: this user has no home"
    return f"storage URL (default: the SQLite store {where})"


DEFAULT_STORE_HELP = _default_store_help()


class UsageError(Exception):
    """A bad command line: reported in one line with a pointer to ``--help``."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


#: What a command that prints says when stdout is closed (``memcore ... >&-``).
STDOUT_CLOSED = "stdout is closed: nothing can be printed (`> /dev/null` discards it)"


class HelpNotPrinted(Exception):
    """``--help`` that could not be printed (stdout closed or full): an error (exit 1), said
    in one line as any command's failed output is."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (argparse prints usage + message),
    a help that cannot be printed is an error (:meth:`print_help`), and the session shown as
    the one it is (see :func:`add_session_arguments`)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message)

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        """The help on ``file`` (stdout when None), written out at once: argparse wrote it to
        stderr when stdout was closed (``memcore --help >&-`` exited 0) and dropped a failed
        write (``memcore --help > /dev/full`` too); either is now :class:`HelpNotPrinted`.
        A reader gone (``| true``) is left to ``main``'s last flush, as for any command (141
        when some of the help was still to be written)."""
        stream = sys.stdout if file is None else file
        if stream is None:
            raise HelpNotPrinted(self.prog, STDOUT_CLOSED)
        try:
            stream.write(self.format_help())
            flush = getattr(stream, "flush", None)
            if flush is not None:
                flush()
        except BrokenPipeError:
            return
        except (OSError, ValueError) as exc:  # (ValueError: a stream already closed)
            from memcore.cli._os_errors import describe_os_error

            said = describe_os_error(exc) if isinstance(exc, OSError) else STDOUT_CLOSED
            raise HelpNotPrinted(self.prog, f"the help could not be printed: {said}") from None

    #: set by :func:`add_session_arguments`: the command needs its session
    session_required = False

    def format_usage(self) -> str:
        return self._one_session(super().format_usage())

    def format_help(self) -> str:
        return self._one_session(super().format_help())

    def _one_session(self, text: str) -> str:
        """``[SESSION ...]`` as ``SESSION`` or ``[SESSION]``: the positionals take the older
        ``URL SESSION`` form too (``nargs="*"``, which argparse shows with "..."), but one
        session at most."""
        return text.replace("[SESSION ...]", "SESSION" if self.session_required else "[SESSION]")


Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"
Handler = Callable[[argparse.Namespace, TextIO], int]


def _add(
    sub: argparse._SubParsersAction[_Parser],
    name: str,
    handler: Handler,
    summary: str,
    description: str | None = None,
) -> _Parser:
    parser = sub.add_parser(
        name,
        help=summary,
        description=description or f"{summary[:1].upper()}{summary[1:]}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=_as_command(f"memcore {name}", handler))
    return parser


def _as_command(prog: str, handler: Handler) -> Handler:
    """``handler``, run as ``prog``: what the store helpers here warn of is said in the name of
    the command (as its errors are), whichever module opened the store."""

    def run_command(args: argparse.Namespace, out: TextIO) -> int:
        damaged: list[str] = []
        token, listed = _COMMAND.set(prog), _DAMAGED.set(damaged)
        try:
            code = handler(args, out)
        finally:
            _DAMAGED.reset(listed)
            _COMMAND.reset(token)
        if damaged and code == 0:  # (the rest was done: said, but the store needs repair)
            url = getattr(args, "store", None)
            names = ", ".join(repr(name) for name in damaged)
            print(
                f"{prog}: error: {len(damaged)} damaged session(s) left out ({names}); repair "
                f"{'it' if len(damaged) == 1 else 'each'} with "
                f"`{recover_command(url, damaged[0] if len(damaged) == 1 else 'SESSION')}`",
                file=sys.stderr,
            )
            return EXIT_ERROR
        return code

    return run_command


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Progress]:
    """A rich progress bar on stderr; drawn only on a terminal, so pipes and logs stay clean."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    ) as progress:
        yield progress


def _store_name(url: str | None) -> str:
    return store_label(url)


def project_folder(path: str) -> str:
    """``--project PATH`` as an absolute folder, a relative one taken from the working folder
    as the shell names it (``$PWD`` when it is that folder): ``--project .`` in a folder
    entered through a symbolic link is the project the hooks filed under the link's path."""
    import os

    from memcore.claude_code.project import logical_abspath

    return logical_abspath(os.path.expanduser(path))


def store_url(text: str) -> str:
    """An argparse type: a store URL that names a store memcore can open (else a usage error,
    exit 2: a mistyped URL is a bad argument, said before anything runs)."""
    try:
        return checked_store_url(text)
    except MemcoreError as exc:  # (a malformed URL, or one whose store's package is missing)
        raise argparse.ArgumentTypeError(str(exc)) from None


def checked_store_url(text: str) -> str:
    """``check_store_url``, with the ``ValueError`` Python's URL parser raises (``redis://[::1``:
    "Invalid IPv6 URL") as memcore's ``ValidationError``: argparse would show any other error
    as "invalid store_url value", and outside argparse it was a traceback."""
    try:
        return check_store_url(text)
    except MemcoreError:
        raise
    except ValueError as exc:
        raise ValidationError(f"invalid store URL {mask_url(text)!r}: {exc}") from None


def session_id(text: str) -> str:
    """An argparse type: a usable session id (else a usage error, exit 2)."""
    try:
        return validate_session_id(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--store URL``, the default store when absent."""
    parser.add_argument("--store", metavar="URL", type=store_url, help=_default_store_help())


def add_session_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``--store URL`` and the session; the older ``COMMAND URL SESSION`` form stays accepted."""
    if isinstance(parser, _Parser):
        parser.session_required = required
    add_store_option(parser)
    parser.add_argument(
        "session",
        nargs="*",
        metavar="SESSION",
        help=("the session" if required else "the session (default: every session)")
        + "; `URL SESSION`, the older form, is accepted too",
    )


def store_and_session(args: argparse.Namespace, prog: str, *, required: bool) -> str | None:
    """Sort the positionals of :func:`add_session_arguments` into ``args.store`` and the session
    (returned). A store URL has ``://``; a session name never has a ``:``."""
    words: Sequence[str] = args.session
    if words and "://" in words[0]:
        if args.store is not None:
            raise UsageError(prog, "give the store once: as --store URL, or before the session")
        args.store, words = words[0], words[1:]
    if len(words) > 1:
        raise UsageError(prog, f"one session at most (got {' '.join(words)})")
    if required and not words:
        raise UsageError(prog, "the following arguments are required: SESSION")
    try:  # (bad arguments, said as such: exit 2, before anything runs)
        if args.store is not None:
            checked_store_url(args.store)
        if words:
            validate_session_id(words[0])
    except MemcoreError as exc:  # (a malformed URL, or one whose store's package is missing)
        raise UsageError(prog, str(exc)) from None
    return words[0] if words else None


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


async def require_session(store: Readable, url: str | None, session: str) -> None:
    """``NotFoundError`` unless ``session`` was ever written to (or backed up into) the store."""
    validate_session_id(session)
    if await store.version(session) == 0 and not await store.list_backups(session):
        raise NotFoundError(
            f"no session {session!r} in {store_label(url)} "
            "(`memcore inspect` lists the sessions of a store)"
        )


async def named_session(store: Readable, url: str | None, session: str) -> str:
    """The session ``session`` names: itself, else the one session whose id starts with it
    (``847ff7d2`` for a Claude Code session's uuid); ``ValidationError`` when several do.
    A damaged session the listing left out (a Redis key of the wrong type) is matched too:
    ``verify`` and ``inspect`` name it for ``memcore recover``, which must find it by the same
    first characters as any other session."""
    try:
        await require_session(store, url, session)
        return session
    except NotFoundError:
        listed = await store.list_sessions()
        unlisted: dict[str, str] = getattr(store, "unlisted", None) or {}
        found = session_by_prefix(session, user_sessions([*listed, *_valid_ids(unlisted)]))
        if found is None:
            raise
        unlisted.pop(found, None)  # (the command reports on it: no "left out" warning too)
        return found


def _valid_ids(names: Iterable[str]) -> list[str]:
    """The names that are session ids (a Redis key may name none: no command can read it)."""
    valid = []
    for name in names:
        try:
            valid.append(validate_session_id(name))
        except ValidationError:
            continue
    return valid


async def read_state(
    store: Readable, url: str | None, session: str, *, skipped: list[str] | None = None
) -> dict[str, MemoryItem]:
    """A session's live items, read from the store as they are stored (no replica, no write);
    a damaged record is a ``CorruptedMemoryError`` that says which command repairs it, and so
    is a value that is no memory item. With ``skipped`` (a command over the whole store), such
    records are left out and their keys added to it instead: one damaged record must not hide
    every other session (:func:`warn_skipped` says so)."""
    snapshot = await store.read_snapshot(session)
    return {
        key: item for key, item, _ in live_items(snapshot.records, url, session, skipped=skipped)
    }


def live_items(
    records: dict[str, bytes], url: str | None, session: str, *, skipped: list[str] | None = None
) -> Iterator[tuple[str, MemoryItem, bytes]]:
    """``(key, item, record)`` for each live item of a session's stored ``records``, one at a
    time (a command that needs only some of them decoded keeps the records, not the items);
    damaged records as :func:`read_state` says."""
    for key, record in records.items():
        try:
            entry = decode_entry(record)
        except CorruptedMemoryError as exc:
            if skipped is not None:
                skipped.append(key)
                continue
            raise CorruptedMemoryError(
                f"session {session!r}: the stored record of key {key!r} is damaged ({exc}); "
                f"repair it with `{recover_command(url, session)}`"
            ) from exc
        if entry.deleted:
            continue
        try:
            item = MemoryItem.coerce(entry.value)
        except ValidationError as exc:  # intact, but written by a program as something else
            if skipped is not None:
                skipped.append(key)
                continue
            raise ValidationError(
                f"session {session!r}: key {key!r} holds a value that is not a memory item ({exc})"
            ) from exc
        yield key, item, record


def warn_skipped(prog: str, url: str | None, session: str, keys: Sequence[str]) -> None:
    """One line on stderr for a session whose unreadable records a store-wide command left
    out, with the command that repairs it."""
    if keys:
        print(
            f"{prog}: warning: session {session!r}: {len(keys)} damaged or unreadable record(s) "
            f"left out; repair with `{recover_command(url, session)}`",
            file=sys.stderr,
        )


async def read_states(
    store: Readable, url: str | None, sessions: Sequence[str], prog: str
) -> dict[str, dict[str, MemoryItem]]:
    """Every session's items for a store-wide command: a session's damaged records are left
    out with a warning (see :func:`read_state`), the other sessions read as they are; a session
    that cannot be read at all is left out of the result (:func:`left_out_damaged`)."""
    states = {}
    for session in sessions:
        skipped: list[str] = []
        try:
            states[session] = await read_state(store, url, session, skipped=skipped)
        except CorruptedMemoryError as exc:  # (the session as a whole cannot be read)
            left_out_damaged(prog, url, session, exc)
            continue
        warn_skipped(prog, url, session, skipped)
    return states


#: How Claude Code sessions come to be saved, for the commands that find none.
HOW_SESSIONS_ARE_SAVED = (
    "memcore install-claude-code saves them as they go; memcore import-claude-code reads the "
    "earlier ones"
)


def no_project_memory(folder: str) -> NotFoundError:
    """The error of a command asked for the memory of a project (``--project``) the store holds
    nothing of."""
    return NotFoundError(
        f"no memory of the project of {folder} is saved ({HOW_SESSIONS_ARE_SAVED})"
    )


def left_out_damaged(prog: str, url: str | None, session: str, exc: CorruptedMemoryError) -> None:
    """Say on stderr that a store-wide command left out ``session``, which cannot be read at
    all (``exc`` says why), with the command that repairs it; the command goes on with the
    other sessions and exits with ``EXIT_ERROR`` when done (see ``_as_command``)."""
    print(
        f"{prog}: warning: session {session!r} is damaged and was left out ({exc}); "
        f"repair it with `{recover_command(url, session)}`",
        file=sys.stderr,
    )
    damaged = _DAMAGED.get()
    if damaged is not None and session not in damaged:
        damaged.append(session)


def user_sessions(sessions: Sequence[str]) -> list[str]:
    """The sessions to list for a user: memcore's own (``memcore.*``) left out."""
    return sorted(s for s in sessions if not s.startswith(INTERNAL_SESSION_PREFIX))


def transcripts_with_records(transcripts: Sequence[Transcript], out: TextIO) -> list[Transcript]:
    """The transcripts that hold at least one record (a line that is JSON); each other file is
    named on ``out`` as skipped. ``ValidationError`` when none is left: junk given as a
    transcript (a Python file, say) must not "succeed" by storing an empty session."""
    kept = [t for t in transcripts if t.records > len(t.malformed)]
    for transcript in transcripts:
        if transcript not in kept:
            print(f"  {transcript.path}: no transcript record in it, skipped", file=out)
    if not kept:
        names = ", ".join(str(t.path) for t in transcripts[:3])
        more = f" and {len(transcripts) - 3} more" if len(transcripts) > 3 else ""
        raise ValidationError(
            f"not a Claude Code transcript (no line is a JSON record): {names}{more}; "
            "nothing stored"
        )
    return kept


async def _read_existing_session(
    url: str | None, session: str
) -> tuple[str, dict[str, MemoryItem]]:
    """The session ``session`` names (itself or by its first characters) and its items."""
    async with reading_store(url) as store:
        name = await named_session(store, url, session)
        state = await read_state(store, url, name)
    if not state:
        raise NotFoundError(f"session {name!r} has no items in {store_label(url)}")
    return name, state


def _preview(text: str, width: int = 90) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


# --- recover ------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive (got {value})")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_COUNT} (got more)")
    return value


#: The largest count a command takes (items, tokens, results): none is meant beyond it.
MAX_COUNT = 10**12


def run(coro: Any) -> Any:
    """Run one coroutine to completion for a synchronous command."""
    import asyncio  # (here: `memcore --help` and the parser need none of it)

    return asyncio.run(coro)
