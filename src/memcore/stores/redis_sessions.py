"""Which Redis keys are memcore's sessions: the names a ``SCAN`` finds, and the type each key of a
session must have.

memcore validates a session id before it writes any key, and writes each part of a session as
one type (``PART_TYPES``). A key under memcore's prefix that breaks either rule was written by
another program or by hand (``SET memcore:{s}:meta hello``): a name that is no session id cannot
be read through the store at all, and a key of another type fails every command on its session
with WRONGTYPE. So ``RedisStore.list_sessions`` leaves such names out, and with ``skip_damaged``
(the command line's store-wide commands) such sessions too, saying why in ``unlisted``;
``memcore migrate-redis`` skips and names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from memcore.errors import ValidationError
from memcore.stores.base import validate_session_id

#: The Redis type of each part of a session, as memcore writes it.
PART_TYPES = {
    "meta": "hash",
    "items": "hash",
    "index": "zset",
    "journal": "list",
    "jpos": "hash",
    "backups": "hash",
    "blobs": "hash",
    "incarnation": "hash",
}

#: What to do about a key memcore did not write, said with each one named.
MOVE_IT = (
    "repair it with `memcore recover` (it moves such keys aside), or move that key out of the "
    "way (redis-cli RENAME) if it is not memcore's"
)


def shown(raw: bytes | str) -> str:
    """A key or session name as text, whatever bytes it holds (``\\xff`` for a byte that is
    not UTF-8)."""
    return raw if isinstance(raw, str) else raw.decode("utf-8", "backslashreplace")


def session_id_of(raw: bytes | str) -> str:
    """The session id ``raw`` (a key's middle, a legacy set's member) names; ``ValidationError``
    saying why when it names none."""
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("not UTF-8 text, so no session id") from None
    return validate_session_id(text)


def session_of_meta(name: bytes | str) -> str | None:
    """The part between ``memcore:{`` and ``}:meta`` of a key name, as text (None for another
    name)."""
    text = shown(name)
    if text.startswith("memcore:{") and text.endswith("}:meta"):
        return text[len("memcore:{") : -len("}:meta")]
    return None


def sessions_of_metas(names: Iterable[bytes | str]) -> tuple[set[str], dict[str, str]]:
    """The sessions the ``meta`` keys ``names`` belong to, and each name that is no session id
    (shown) with the reason."""
    found: set[str] = set()
    unlisted: dict[str, str] = {}
    for name in names:
        middle = session_of_meta(name)
        if middle is None:
            continue
        try:
            found.add(session_id_of(name[len("memcore:{") : -len("}:meta")]))
        except ValidationError:
            unlisted[middle] = f"its key {shown(name)} names no valid session id"
    return found, unlisted


def type_problem(names: Mapping[str, str], types: Sequence[Any]) -> str | None:
    """The first key of ``names`` (part -> key name) whose type (``types``, in the same order,
    as ``TYPE`` answers) is not the one memcore writes, said; None when all are right or
    absent."""
    for (part, name), found in zip(names.items(), types, strict=True):
        kind = shown(found)
        expected = PART_TYPES[part]
        if kind not in ("none", expected):
            return f"its key {name} is a {kind}, not the {expected} memcore writes there"
    return None


async def damaged_sessions(client: Any, sessions: Sequence[str], keys_of: Any) -> dict[str, str]:
    """The sessions of ``sessions`` holding a key of the wrong type, each with the reason: one
    pipelined ``TYPE`` per key (``keys_of(session)`` -> part -> key name), one round trip per
    node."""
    if not sessions:
        return {}
    names = [keys_of(session) for session in sessions]
    pipe = client.pipeline(transaction=False)
    for keys in names:
        for name in keys.values():
            pipe.type(name)
    replies = await pipe.execute()
    damaged: dict[str, str] = {}
    at = 0
    for session, keys in zip(sessions, names, strict=True):
        problem = type_problem(keys, replies[at : at + len(keys)])
        at += len(keys)
        if problem is not None:
            damaged[session] = problem
    return damaged


def check_types(client: Any, names: Mapping[str, str]) -> str | None:
    """``type_problem`` of one session's keys, read with a synchronous client."""
    pipe = client.pipeline(transaction=False)
    for name in names.values():
        pipe.type(name)
    return type_problem(names, pipe.execute())


__all__ = [
    "MOVE_IT",
    "PART_TYPES",
    "check_types",
    "damaged_sessions",
    "session_id_of",
    "session_of_meta",
    "sessions_of_metas",
    "shown",
    "type_problem",
]
