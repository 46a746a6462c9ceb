"""One save of a session at a time, on this machine.

Claude Code fires a saving hook after every turn, and at a compaction and the session's end: a
slow save may still run when the next one starts. Two saves of one session at once both read on
from the offset the registry gave them, and the slower one wrote, beside the same items,
what the other had already written: the access log twice over, and a registry entry made from
the items as they stood before the other's. A save takes its session's turn first (an ``flock``
in memcore's folder); the next one waits for it, then finds the records read and reads on from
there. A transcript is a file on this machine, so the lock is this machine's too, whatever the
store.

The turn is waited for at most ``WAIT`` seconds: a save held by a stopped process (suspended, or
in a debugger) must not hold up the user's session, and a save that goes on without the turn is
what every save was before it (its items are still written once: ``memcore.claude_code.resume``).
Without ``fcntl`` (Windows), or a folder that cannot be made, saves go on without turns.

``memcore forget`` takes the turn too, and does not go on without it (``required``): what it
deleted a save or an import under way would write back. Nor does ``memcore
import-claude-code``: a session whose turn it cannot get is skipped, and named (what it wrote
without the turn, a forget still at work would lose its mark to).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import AsyncIterator

from memcore.errors import ConflictError

#: The folder of the turns' lock files, in memcore's folder (``memcore.stores.default_home``).
FOLDER = "save-turns"
#: Lock files, one per session's hash bucket: a fixed set of files (a lock file removed while
#: another process waits on it would give two turns), where two sessions sharing one only wait
#: for each other now and then.
BUCKETS = 256
#: The longest wait for a turn, and how often a waiting save looks (seconds).
WAIT = 2.0
_POLL = 0.005


def lock_path(session_id: str) -> str:
    """The lock file of ``session_id``'s turns."""
    from memcore.stores import default_home

    bucket = hashlib.blake2b(session_id.encode("utf-8", "surrogatepass"), digest_size=4)
    number = int.from_bytes(bucket.digest(), "big") % BUCKETS
    return str(default_home() / FOLDER / f"{number:03d}.lock")


class TurnHeldError(ConflictError):
    """Another process held a session's save turn for longer than was waited for it."""


@contextlib.asynccontextmanager
async def session_turn(
    session_id: str, wait: float = WAIT, *, required: bool = False
) -> AsyncIterator[bool]:
    """Hold ``session_id``'s save turn while the block runs; yields whether it was taken
    (False: waited ``wait`` seconds in vain, or no turns here). ``required``: waited in vain,
    raise ``TurnHeldError`` instead of running the block (where there are no turns, no
    ``fcntl`` or a lock file that cannot be locked, the block runs all the same, as saves do)."""
    fd = _open(session_id)
    taken: bool | None = None
    try:
        if fd is not None:
            taken = await _take(fd, wait)
        if required and taken is False:
            raise TurnHeldError(
                f"could not get the lock of session {session_id!r} ({lock_path(session_id)}): "
                f"another process (a hook's save of it, an import or a forget) held it for "
                f"more than {wait:g} s"
            )
        yield bool(taken)
    finally:
        if fd is not None:
            os.close(fd)  # (closing lets the lock go)


def _open(session_id: str) -> int | None:
    try:
        import fcntl  # noqa: F401  (only where there is one)

        path = lock_path(session_id)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except (ImportError, OSError):
        return None


async def _take(fd: int, wait: float) -> bool | None:
    """Take the lock of ``fd`` within ``wait`` seconds: True; False when another process held
    it all that time; None when it cannot be locked at all (no turns here)."""
    import fcntl

    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL)
        except OSError:
            return None


__all__ = ["BUCKETS", "FOLDER", "WAIT", "TurnHeldError", "lock_path", "session_turn"]
