"""The Redis store's version checks and repair, for verification and recovery, and the error
of a commit onto a version its journal already holds.

A meta hash whose version was lowered below its journal's (edited, or restored from an older
copy) would make the next commits journal versions a second time and move their positions in
``jpos``: the commit script refuses that (``memcore: journal holds version N``), which is
said as a ``CorruptedMemoryError`` naming the session and recovery, which raises the version.
"""

from __future__ import annotations

from typing import Any

from memcore.errors import BackendError, CorruptedMemoryError
from memcore.stores.base import validate_session_id, validate_version
from memcore.stores.redis_keys import every_key, session_keys

_TAKEN = "memcore: journal holds version"


def journal_taken(session_id: str, exc: BackendError) -> Exception:
    """``exc`` as the commit's ``CorruptedMemoryError`` when the script refused a journal
    version it holds already; else ``exc`` itself."""
    text = str(exc.__cause__ or exc)
    if _TAKEN not in text:
        return exc
    rest = text.split(_TAKEN, 1)[1].split()
    version = rest[0] if rest else "?"
    return CorruptedMemoryError(
        f"session {session_id!r} is damaged: its journal already holds version {version}, "
        "which its meta version says comes next; run `memcore recover "
        f"{session_id}` (recover_corrupted_memory) to raise it past the journal"
    )


class RedisVersions:
    """``stored_versions`` and ``raise_version`` of ``RedisStore`` (its ``_script`` and
    ``_guard``)."""

    _script: Any
    _guard: Any

    async def stored_versions(self, session_id: str) -> tuple[int, int, int, int]:
        """(meta version, items' highest, journal's highest, stray journal entries: none on
        Redis, whose journal has no ranges) for verification and recovery; a
        ``CorruptedMemoryError`` when any key or field of the session is not what memcore
        writes there, also one a snapshot does not read (a journal key that is a string):
        verification then names what recovery would move aside."""
        keys = every_key(session_id)
        parts = ("meta", "index", "jpos", "items", "journal", "backups", "blobs", "incarnation")
        with self._guard("stored_versions", session_id):
            found = await self._script("versions", keys=[keys[part] for part in parts], args=[])
        version, items, journal = (int(value) for value in found)
        return version, items, journal, 0

    async def raise_version(self, session_id: str, expected_version: int, version: int) -> bool:
        """Recovery's repair of a version below the journal's or the items' (records and digest
        unchanged); False when the session is not at ``expected_version``."""
        keys = _keys(session_id)
        validate_version(expected_version)
        validate_version(version)
        with self._guard("raise_version", session_id):
            raised = await self._script(
                "raise_version", keys=[keys["meta"]], args=[expected_version, version]
            )
        return int(raised) == 1


def _keys(session_id: str) -> dict[str, str]:
    validate_session_id(session_id)
    return session_keys(session_id)


__all__ = ["RedisVersions", "journal_taken"]
