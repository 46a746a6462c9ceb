"""What every ``memcore`` command shares: the argument parser, the progress bar, exit codes and
reading a session from a store."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TextIO, TypeAlias

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from memcore.errors import NotFoundError
from memcore.model import MemoryItem

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed pipe writer

DEFAULT_STORE_HELP = "storage URL (default: the embedded SQLite store under $MEMCORE_HOME)"


class UsageError(Exception):
    """A bad command line: reported in one line with a pointer to ``--help``."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (argparse prints usage + message)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message)


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
        description=description or summary,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Progress]:
    """A rich progress bar on stderr; drawn only on a terminal, so pipes and logs stay clean."""
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
    return url or "the default store ($MEMCORE_HOME/memory.db)"


async def _read_session(url: str | None, session: str) -> dict[str, MemoryItem]:
    from memcore.stores import open_store
    from memcore.sync import DistributedMemoryManager

    store = open_store(url)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="memcore-cli")
    try:
        await manager.sync_session_memory(session)
        return {k: MemoryItem.coerce(v) for k, v in manager.state(session).items()}
    finally:
        await manager.close()
        await store.close()


async def _read_existing_session(url: str | None, session: str) -> dict[str, MemoryItem]:
    state = await _read_session(url, session)
    if not state:
        raise NotFoundError(f"session {session!r} has no items in {_store_name(url)}")
    return state


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
    return value


def run(coro: Any) -> Any:
    """Run one coroutine to completion for a synchronous command."""
    return asyncio.run(coro)
