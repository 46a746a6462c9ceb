"""The ``memcore`` command: import Claude Code sessions, run the demo, inspect and repair stores.

Every subcommand has ``--help``. A user mistake (a bad argument, a missing file, a store that
cannot be opened, corrupted bytes) ends with one line on stderr and a non-zero exit status, never
a traceback: ``1`` for errors memcore reports, ``2`` for bad command-line arguments.

:func:`main` also makes the standard streams safe to print to (:func:`_standard_streams`): a
character the locale cannot encode is written escaped, not a ``UnicodeEncodeError``; a closed
stdout is an error said before the command runs, and a closed stderr swallows what it is sent
(``print`` would write it to stdout, which may hold data). Control characters a transcript
brought (``ESC]52;...``: terminal escape sequences) are escaped in what goes to a terminal, and
in the previews ``inspect``, ``sessions``, ``search`` and ``decompress`` print wherever they go
(:class:`EscapedText`).

Each command family lives in its own module with a ``register(sub)`` that adds its subcommands;
``COMMAND_MODULES`` lists them in the order ``memcore --help`` shows them.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast

from memcore.cli._exit_codes import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE
from memcore.errors import MemcoreError

if TYPE_CHECKING:
    from memcore.cli._parser import Handler, _Parser

COMMAND_MODULES = (
    "importer",
    "mask",
    "forget",
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

    from memcore.cli._parser import _Parser

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


#: Commands whose lines are previews (cut and flattened, never a stored text as it is): their
#: control characters are escaped wherever they print (``memcore search x | head`` reaches a
#: terminal too). Any other command escapes them only on a terminal, so that a digest written
#: to a file or a pipe is the digest's text byte for byte.
ESCAPED_COMMANDS = frozenset({"inspect", "sessions", "search", "decompress"})

#: C0 controls but tab and newline, DEL and C1 controls (``\x9b`` is CSI to some terminals),
#: each written as ``\xNN``: visible, and inert on any terminal.
_CONTROLS = {
    code: f"\\x{code:02x}"
    for code in (*range(0x20), *range(0x7F, 0xA0))
    if code not in (0x09, 0x0A)
}


def escape_controls(text: str) -> str:
    """``text`` with its control characters (but tab and newline) as ``\\xNN``: an escape
    sequence from a transcript (``ESC]52;c;...``, which sets the clipboard, or ``ESC[2J``) is
    shown, never acted on by the terminal."""
    return text.translate(_CONTROLS)


class EscapedText:
    """A text stream that writes through ``unescaped`` with :func:`escape_controls` applied,
    all else (``buffer``, ``isatty``, ``fileno``, ``flush``) being the stream's own: bytes
    written to ``buffer`` (a bundle on stdout) pass untouched, and a rich console, which draws
    with escape sequences of its own, writes to ``unescaped`` (see ``PipeConsole``)."""

    def __init__(self, unescaped: TextIO) -> None:
        self.unescaped = unescaped

    def write(self, text: str) -> int:
        self.unescaped.write(escape_controls(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.unescaped, name)


def _occupy_closed_descriptors() -> None:
    """Put /dev/null on each of descriptors 0-2 that is closed (``memcore ... >&-``), so that
    no file the command opens gets that number: a bundle's temporary file opened as
    descriptor 1 would take whatever is written to descriptor 1."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


@contextlib.contextmanager
def _standard_streams() -> Iterator[None]:
    """stdout and stderr made safe for one command, and put back as they were after it (main
    runs in process too, under tests): a closed stderr (Python's ``sys.stderr`` is then None,
    and ``print(file=None)`` writes to stdout) becomes /dev/null; a text stream whose
    encoding cannot write a character (``LC_ALL=en_US.ISO-8859-1``, ``PYTHONIOENCODING=ascii``,
    a lone surrogate) writes it backslash-escaped instead of raising ``UnicodeEncodeError``.
    Bytes written to a stream's ``buffer`` are not touched."""
    _occupy_closed_descriptors()
    saved_out, saved_err = sys.stdout, sys.stderr
    null = None
    if sys.stderr is None:
        null = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    strict: list[Any] = []
    for stream in {id(s): s for s in (sys.stdout, sys.stderr) if s is not None}.values():
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            with contextlib.suppress(OSError, ValueError):
                stream.reconfigure(errors="backslashreplace")
                strict.append(stream)
    try:
        yield
    finally:
        for stream in strict:
            with contextlib.suppress(OSError, ValueError):  # (a flush into a closed pipe)
                stream.reconfigure(errors="strict")
        sys.stdout, sys.stderr = saved_out, saved_err
        if null is not None:
            null.close()


def _fail(prog: str, message: str, stream: TextIO | None) -> None:
    """One line on ``stream`` (never stdout: ``print`` writes there when it is None); a
    stderr that cannot be written (``2>/dev/full``) loses the line, not the exit status."""
    if stream is None:
        return
    first_line = escape_controls(" ".join(str(message).split())) or "failed"
    with contextlib.suppress(OSError, ValueError):
        print(f"{prog}: error: {first_line}", file=stream)
        stream.flush()


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
    with _standard_streams():
        try:
            code = _run(args_list)
        except SystemExit:  # (argparse's --help, printed into the same buffer)
            if _flush_stdout():
                raise
            return EXIT_BROKEN_PIPE
        finally:
            _tidy_left()
        return code if _flush_stdout() else EXIT_BROKEN_PIPE


def _tidy_left() -> None:
    """What a command that only looks left beside an SQLite store when it failed (its
    ``-wal`` and ``-shm`` files), removed now that its error is said (``tidy_left``)."""
    access = sys.modules.get("memcore.cli._store_access")  # (not imported: nothing was read)
    if access is not None:
        access.tidy_left()


def quiet_stdout() -> None:
    """Point stdout's descriptor at /dev/null once its reader is gone, so the interpreter's
    flush at exit (of what the failed write left buffered) neither raises nor prints a
    traceback (the CLI's commands and the hook command alike)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)


def _flush_stdout() -> bool:
    """Write out what the command printed while the command still owns its exit status: a
    short output waits in stdout's buffer (a pipe is block-buffered) and would otherwise meet a
    reader already gone (``memcore --version | true``) only at the interpreter's final flush,
    which prints an "Exception ignored" traceback and exits 120. False when the reader went
    away; stdout then points at /dev/null, so that the final flush has nowhere to fail."""
    stream = sys.stdout
    if stream is None:
        return True
    try:
        stream.flush()
    except BrokenPipeError:
        quiet_stdout()
        return False
    except (OSError, ValueError):  # (a stdout closed or full: the command already said so)
        return True
    return True


def _run(args_list: list[str]) -> int:
    """``main`` for every command but the hook, once the standard streams are safe."""
    from memcore.cli._parser import STDOUT_CLOSED, HelpNotPrinted, UsageError

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
    except HelpNotPrinted as exc:  # (`memcore --help >&-`: an error, as for any command)
        _fail(exc.prog, str(exc), sys.stderr)
        return EXIT_ERROR
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None and not args.version:
        # no command: a usage mistake (exit 2) whose help goes where it can
        with contextlib.suppress(HelpNotPrinted, OSError):
            parser.print_help(sys.stdout if sys.stdout is not None else sys.stderr)
        return EXIT_USAGE
    prog = "memcore" if args.version else f"memcore {args.command}"
    if sys.stdout is None:  # (`>&-`: Python's stdout is then None, and print writes nothing)
        _fail(prog, STDOUT_CLOSED, sys.stderr)
        return EXIT_ERROR
    if args.command in ESCAPED_COMMANDS or sys.stdout.isatty():
        sys.stdout = cast(TextIO, EscapedText(sys.stdout))  # (put back by _standard_streams)
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
        quiet_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        _fail(prog, _describe_os(exc), sys.stderr)
    except RecursionError:  # (a value nested deeper than Python's stack: never a traceback)
        _fail(prog, "the data is nested too deep to be handled", sys.stderr)
    except ImportError as exc:
        if not str(exc).startswith("memcore's compiled"):  # (not a build of memcore's own)
            raise
        _fail(prog, str(exc), sys.stderr)  # (what to rebuild, or how to use the pure twins)
    except KeyboardInterrupt:
        with contextlib.suppress(OSError, ValueError):
            print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def run(coro: Any) -> Any:
    """Run one coroutine to completion for a synchronous command."""
    from memcore.cli._store_access import run as run_coroutine

    return run_coroutine(coro)


#: What an exception that says nothing of itself means (msgpack's ``StackError`` is raised
#: with no message for a value nested past its limit).
_SILENT_CAUSES = {"StackError": "nested too deep to be read"}


def _describe(exc: MemcoreError) -> str:
    """The error's message; one that ends at its colon (``malformed msgpack payload:``, its
    cause having said nothing) gets what its cause was, and the raw words of an ``OSError``
    behind it (``[Errno 20] Not a directory: '...'``) are said as memcore says them."""
    from memcore.cli._os_errors import reworded

    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    cause = exc.__cause__
    if text.rstrip().endswith(":") and cause is not None:
        name = type(cause).__name__
        text = f"{text.rstrip()} {str(cause) or _SILENT_CAUSES.get(name, name)}"
    return reworded(text, exc) or type(exc).__name__


def _describe_os(exc: OSError) -> str:
    from memcore.cli._os_errors import describe_os_error

    return describe_os_error(exc)


__all__ = [
    "COMMAND_MODULES",
    "ESCAPED_COMMANDS",
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "EscapedText",
    "build_parser",
    "escape_controls",
    "main",
    "quiet_stdout",
    "run",
]
