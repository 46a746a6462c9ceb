"""The ``memcore`` command: import Claude Code sessions, run the demo, inspect and repair stores.

Every subcommand has ``--help``. A user mistake (a bad argument, a missing file, a store that
cannot be opened, corrupted bytes) ends with one line on stderr and a non-zero exit status, never
a traceback: ``1`` for errors memcore reports, ``2`` for bad command-line arguments.

Each command family lives in its own module with a ``register(sub)`` that adds its subcommands;
``COMMAND_MODULES`` lists them in the order ``memcore --help`` shows them.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from memcore.cli._exit_codes import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE
from memcore.errors import MemcoreError

if TYPE_CHECKING:
    from memcore.cli._common import Handler, _Parser

COMMAND_MODULES = (
    "importer",
    "mask",
    "digest",
    "sessions",
    "recall",
    "demo",
    "stores",
    "bundles",
    "bench",
    "claude",
    "redis_admin",
)


def build_parser() -> _Parser:
    """The whole command line, each subcommand with its own ``--help``."""
    import argparse  # (here: a hook's command line is read without it)

    from memcore.cli._common import _Parser

    parser = _Parser(
        prog="memcore",
        description=(
            "memcore: a native-accelerated memory core for long-running LLM-agent sessions.\n"
            "Start with `memcore demo`; `memcore COMMAND --help` explains each command."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"memcore.cli.{name}").register(sub)
    return parser


def _fail(prog: str, message: str, stream: TextIO) -> None:
    first_line = " ".join(str(message).split()) or "failed"
    print(f"{prog}: error: {first_line}", file=stream)


def _print_version(out: TextIO) -> int:
    from memcore import NATIVE, __version__

    print(f"memcore {__version__} ({'compiled' if NATIVE else 'pure-Python'} kernels)", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["hook"]:  # on Claude Code's critical path: skip the rest of the CLI
        from memcore.claude_code.hooks import end_process, hook_main

        code = hook_main(args_list[1:])
        if argv is None:  # the process's own command line: nothing follows the hook
            end_process(code)
        return code
    from memcore.cli._common import UsageError

    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(args_list)
        if unknown:  # said by the command they were given to, whose --help lists its options
            command = getattr(args, "command", None)
            raise UsageError(
                f"memcore {command}" if command else "memcore",
                f"unrecognized arguments: {' '.join(unknown)}",
            )
    except UsageError as exc:
        _fail(exc.prog, f"{exc} (see `{exc.prog} --help`)", sys.stderr)
        return EXIT_USAGE
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None and not args.version:
        parser.print_help()
        return EXIT_USAGE
    prog = "memcore" if args.version else f"memcore {args.command}"
    try:
        if args.version:
            return _print_version(sys.stdout)
        assert handler is not None
        return handler(args, sys.stdout)
    except UsageError as exc:  # an argument only its command can judge (e.g. --level for a codec)
        _fail(exc.prog, f"{exc} (see `{exc.prog} --help`)", sys.stderr)
        return EXIT_USAGE
    except MemcoreError as exc:
        _fail(prog, _describe(exc), sys.stderr)
    except BrokenPipeError:
        # the reader went away (`memcore ... | head`): not an error to report; point stdout at
        # /dev/null so the interpreter's final flush does not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        _fail(prog, _describe_os(exc), sys.stderr)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def run(coro: Any) -> Any:
    """Run one coroutine to completion for a synchronous command."""
    from memcore.cli._common import run as run_coroutine

    return run_coroutine(coro)


def _describe(exc: MemcoreError) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text or type(exc).__name__


def _describe_os(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{reason}: {exc.filename}" if exc.filename else reason


__all__ = [
    "COMMAND_MODULES",
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "build_parser",
    "main",
    "run",
]
