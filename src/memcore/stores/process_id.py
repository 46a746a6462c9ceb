"""This process's id, kept current across ``os.fork`` without a system call at each look.

The stores check, on every sync, that the connection, the writer's turn and its files are this
process's own (a forked child must not use its parent's). ``os.getpid()`` is a system call, and
so is each ``asyncio.get_running_loop()`` on CPython 3.11 (it checks the id as well): a group
commit of four writers made a dozen of them. ``PID`` is read instead: set at import, and again
in a child right after ``os.fork`` (``multiprocessing``'s fork start included); a process made
by ``fork`` then ``exec`` starts afresh anyway.
"""

from __future__ import annotations

import os

#: The id of the process running now.
PID = os.getpid()


def _after_fork_in_child() -> None:
    global PID
    PID = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


__all__ = ["PID"]
