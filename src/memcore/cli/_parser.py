"""The ``memcore`` argument parser: usage mistakes said in one line (exit 2), a help that
cannot be printed said as an error, subcommands added with :func:`_add` (each run through
:func:`~memcore.cli._running_command._as_command`), and the count type the commands share."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from memcore.cli._running_command import Handler, _as_command

if TYPE_CHECKING:
    from _typeshed import SupportsWrite


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


__all__ = [
    "MAX_COUNT",
    "STDOUT_CLOSED",
    "Handler",
    "HelpNotPrinted",
    "Subparsers",
    "UsageError",
    "_Parser",
    "_add",
    "_positive_int",
]
