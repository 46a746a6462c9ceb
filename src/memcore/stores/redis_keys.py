"""The Redis key names of a session: every one carries the session id as a hash tag, so all of
a session's keys live in one cluster hash slot and a commit is one script on one node. Part of
:mod:`memcore.stores.redis` (which names them again for its users).
"""

from __future__ import annotations

from memcore.stores.base import validate_session_id

PARTS = ("meta", "items", "index", "journal", "jpos", "backups", "blobs")
LEGACY_SESSIONS_KEY = "memcore:sessions"


def session_keys(session_id: str) -> dict[str, str]:
    """The Redis key names of one session, all in the session's hash slot."""
    validate_session_id(session_id)
    return {part: f"memcore:{{{session_id}}}:{part}" for part in PARTS}


META_PATTERN = "memcore:{*}:meta"


def incarnation_key(session_id: str) -> str:
    """The hash of a session's incarnation (see ``Incarnation``), in the session's slot."""
    validate_session_id(session_id)
    return f"memcore:{{{session_id}}}:incarnation"


def every_key(session_id: str) -> dict[str, str]:
    """All of a session's key names, its incarnation too (``session_keys`` has the rest)."""
    return {**session_keys(session_id), "incarnation": incarnation_key(session_id)}


__all__ = [
    "LEGACY_SESSIONS_KEY",
    "META_PATTERN",
    "PARTS",
    "every_key",
    "incarnation_key",
    "session_keys",
]
