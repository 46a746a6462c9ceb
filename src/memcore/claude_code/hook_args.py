"""The command line of ``memcore hook EVENT [--store URL] [--budget N]``, read without argparse
where it is the one the installer writes (argparse's import and parser were a twentieth of a
hook's work), and the hook's one line of report on stderr."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from memcore.claude_code.hook_events import DEFAULT_BUDGET, HOOK_HELP


def say(stream: TextIO | None, line: str) -> None:
    """One line of a hook's report on ``stream`` (stderr), if it takes it: None (the process
    started with stderr closed, where ``print`` would write to stdout, which Claude Code reads)
    or a stream that fails (``2>/dev/full``) must not fail the hook."""
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError):
        print(one_report_line(line), file=stream)


#: A hook's report line is cut to this many characters (a payload's 3 MB session id, echoed
#: in an error, would otherwise fill the user's terminal).
REPORT_CHARS = 1000


def one_report_line(line: str) -> str:
    """``line`` as one printable line: control characters (a newline, a NUL from the payload)
    written as escapes, cut to ``REPORT_CHARS``."""
    if line.isprintable() and len(line) <= REPORT_CHARS:
        return line
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in line[: REPORT_CHARS + 1])
    return shown if len(shown) <= REPORT_CHARS else shown[: REPORT_CHARS - 1] + "\u2026"


_HOOK_OPTIONS = ("--store", "--budget")


def plain_args(argv: Sequence[str]) -> tuple[str, str | None, str] | None:
    """``EVENT [--store URL] [--budget N]`` (each option at most once, ``--opt=value`` too, in
    any order) as the command line the installer writes is read, without argparse (its import
    and parser were a twentieth of a hook's work); None for anything else."""
    event: str | None = None
    values: dict[str, str] = {}
    words = iter(argv)
    for word in words:
        name, equals, value = word.partition("=")
        if name in _HOOK_OPTIONS:
            if not equals:
                value = next(words, "")
            if name in values or not value or value.startswith("-"):
                return None
            values[name] = value
        elif word.startswith("-") or event is not None:
            return None
        else:
            event = word
    if event is None:
        return None
    return event, values.get("--store"), values.get("--budget", str(DEFAULT_BUDGET))


def parse_args(argv: Sequence[str]) -> tuple[str, str | None, str] | None:
    """The hook's command line as argparse reads it: None, with one line on stderr (or the
    help on stdout), when it is not one to run."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:  # one line, and no exit status 2
            raise ValueError(message)

    parser = Parser(
        prog="memcore hook",
        description=HOOK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        exit_on_error=False,
    )
    parser.add_argument("event", metavar="EVENT", help="the hook event")
    from memcore.cli._store_arguments import DEFAULT_STORE_HELP  # (only here: --help, or a mistake)

    parser.add_argument("--store", metavar="URL", help=DEFAULT_STORE_HELP)
    parser.add_argument(
        "--budget",
        default=str(DEFAULT_BUDGET),
        help=f"tokens session-start may add (default: {DEFAULT_BUDGET})",
    )
    try:
        args = parser.parse_args(list(argv))
    except (argparse.ArgumentError, ValueError) as exc:
        say(sys.stderr, f"memcore hook: {exc}")
        return None
    except SystemExit:  # --help: printed, done
        return None
    return str(args.event), args.store, str(args.budget)


__all__ = ["REPORT_CHARS", "one_report_line", "parse_args", "plain_args", "say"]
