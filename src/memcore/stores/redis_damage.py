"""What a Redis store reads that memcore did not write: a session's key of another type
(``SET memcore:{s}:index x``), a meta field that is no whole number (``HSET memcore:{s}:meta
version abc``), an incarnation id that is not text. Another program or a hand edit put it there;
each is a ``CorruptedMemoryError`` naming the key or field and how to move it aside, never a
bare ``ValueError`` or a script's error half-way through its writes. Part of
:mod:`memcore.stores.redis`.
"""

from __future__ import annotations

import contextlib

from memcore.errors import CorruptedMemoryError
from memcore.stores.redis_scripts import DAMAGED
from memcore.stores.redis_sessions import MOVE_IT

# said after every error about a key or field memcore did not write
_NOT_OURS = f"memcore never writes that: another program or a hand edit did; {MOVE_IT}"


def count_field(raw: object, session_id: str, what: str) -> int:
    """A version, digest or count read from the store as an int (absent: 0);
    ``CorruptedMemoryError`` naming ``what`` for anything else another program may have put
    there (``HSET memcore:{s}:meta version abc``), never a bare ``ValueError``."""
    if raw is None or raw == b"":
        return 0
    value = -1
    if isinstance(raw, (bytes, int)):
        with contextlib.suppress(ValueError):
            value = int(raw)
    if 0 <= value < 1 << 64:
        return value
    shown = raw.decode("utf-8", "backslashreplace")[:40] if isinstance(raw, bytes) else raw
    raise CorruptedMemoryError(
        f"session {session_id!r} is damaged: {what} holds {shown!r}, not a whole number "
        f"({_NOT_OURS})"
    )


def damage_said(exc: BaseException, session_id: str | None, key: str | None) -> str | None:
    """What a script's ``memcore: damaged`` error or a ``WRONGTYPE`` reply says about the
    session, for a ``CorruptedMemoryError``; None for any other error."""
    text = str(exc)
    whose = f"session {session_id!r}" if session_id is not None else "the redis store"
    if text.startswith(DAMAGED):
        detail = text[len(DAMAGED) :].split(" script: ", 1)[0].strip()
        return f"{whose} is damaged: {detail} ({_NOT_OURS})"
    if text.startswith("WRONGTYPE"):
        named = f"its key {key}" if key else "one of its keys"
        return f"{whose} is damaged: {named} is not of the type memcore writes ({_NOT_OURS})"
    return None


def ident_field(raw: object, session_id: str, what: str) -> str:
    """An incarnation id read from the store; ``CorruptedMemoryError`` if it is not text."""
    if isinstance(raw, bytes) and raw.isascii():
        return raw.decode("ascii")
    raise CorruptedMemoryError(
        f"session {session_id!r} is damaged: {what} is not an ASCII id ({_NOT_OURS})"
    )


__all__ = ["count_field", "damage_said", "ident_field"]
