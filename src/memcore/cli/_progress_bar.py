"""The progress bar of the commands that work long (``import-claude-code``, ``bench``): rich is
imported only when one is drawn, so building the parser stays cheap."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress


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


__all__ = ["_progress"]
