"""The console the commands that draw tables (``demo``, ``bench``) print through; apart from
:mod:`memcore.cli._progress_bar` so that rich is imported only by a command that draws."""

from __future__ import annotations

from typing import Any

from rich.console import Console


class PipeConsole(Console):
    """A rich console that lets a closed stdout (``memcore demo | head -1``) reach ``main`` as
    ``BrokenPipeError``, which ends every command the same quiet way (exit 141); rich's own
    handling exits 1.

    Given the stream ``main`` hands a command on a terminal (``EscapedText``, which escapes
    control characters), it draws on the terminal's own stream: its colours and boxes are
    escape sequences of its own (what ``demo`` and ``bench`` print is memcore's own text, from no
    transcript)."""

    def __init__(self, *args: Any, file: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, file=getattr(file, "unescaped", file), **kwargs)

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more to write
        raise BrokenPipeError("stdout was closed")


__all__ = ["PipeConsole"]
