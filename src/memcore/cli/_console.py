"""The console the commands that draw tables (``demo``, ``bench``) print through; apart from
:mod:`memcore.cli._common` so that rich is imported only by a command that draws."""

from __future__ import annotations

from rich.console import Console


class PipeConsole(Console):
    """A rich console that lets a closed stdout (``memcore demo | head -1``) reach ``main`` as
    ``BrokenPipeError``, which ends every command the same quiet way (exit 141); rich's own
    handling exits 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more to write
        raise BrokenPipeError("stdout was closed")


__all__ = ["PipeConsole"]
