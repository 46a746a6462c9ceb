"""What a path that is no regular file is, in words ("a folder", "a device", "a FIFO", "a
socket"): an SQLite store's URL and the commands' output files refuse such a path by name."""

from __future__ import annotations

import stat

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a file of ``mode`` (``os.stat``'s ``st_mode``) that is no regular file is."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


__all__ = ["kind_of"]
