"""The ``--store URL`` and ``SESSION`` arguments every command takes (and ``--project``): each
checked as it is parsed, so a mistyped URL or session id is a usage error (exit 2) said before
anything is opened; the default store shown by its real path in the help."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from memcore.cli._parser import UsageError, _Parser
from memcore.cli._store_names import store_label
from memcore.errors import MemcoreError, NoHomeError, ValidationError
from memcore.stores import check_store_url, validate_session_id
from memcore.stores.urls import mask_url


def _default_store_help() -> str:
    """``--store``'s help: the default store's real path, and that an absolute
    ``$MEMCORE_HOME`` moves it (a relative one is refused: see :mod:`memcore.home`)."""
    try:
        where = f"the SQLite store {store_label(None)}; $MEMCORE_HOME, an absolute path, moves it"
    except NoHomeError:  # (the help must print: a command given --store needs no home)
        said = os.environ.get("MEMCORE_HOME", "")
        if said and not said.startswith("~") and not Path(said).is_absolute():
            where = f"memory.db in $MEMCORE_HOME, which must be an absolute path, not {said!r}"
        else:
            where = "memory.db in $MEMCORE_HOME, which must be set here: this user has no home"
    return f"storage URL (default: {where})"


DEFAULT_STORE_HELP = _default_store_help()


def project_folder(path: str) -> str:
    """``--project PATH`` as an absolute folder, a relative one taken from the working folder
    as the shell names it (``$PWD`` when it is that folder): ``--project .`` in a folder
    entered through a symbolic link is the project the hooks filed under the link's path."""
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


__all__ = [
    "DEFAULT_STORE_HELP",
    "_default_store_help",
    "add_session_arguments",
    "add_store_option",
    "checked_store_url",
    "project_folder",
    "session_id",
    "store_and_session",
    "store_url",
]
