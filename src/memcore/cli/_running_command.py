"""What a running command shares with the store helpers it calls: its name (their warnings
speak in it, whichever module opened the store) and the damaged sessions a store-wide command
left out (it then exits with ``EXIT_ERROR`` once the rest is done)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextvars import ContextVar
from typing import TextIO

from memcore.cli._exit_codes import EXIT_ERROR
from memcore.cli._store_names import recover_command

Handler = Callable[[argparse.Namespace, TextIO], int]

#: The command running (``memcore inspect``), as its warnings name it (set by ``_add``'s handler).
_COMMAND: ContextVar[str] = ContextVar("memcore_command", default="memcore")
#: The sessions the running store-wide command found damaged and left out (each named on stderr
#: by :func:`left_out_damaged`): the command then exits with ``EXIT_ERROR`` (see ``_as_command``).
_DAMAGED: ContextVar[list[str] | None] = ContextVar("memcore_damaged", default=None)


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


__all__ = ["_COMMAND", "_DAMAGED", "Handler", "_as_command"]
