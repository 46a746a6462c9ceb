"""``memory://``: a store in this process's memory, the reference for the other backends.

Useful for tests and for replicas that share one process. It follows the Store contract exactly
(compare-and-set commits, a delta index, a journal, backups) so the same sync suite runs on it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from memcore.errors import NotFoundError
from memcore.stores.base import (
    CONTENTION_WINDOW,
    BackupInfo,
    Delta,
    Expected,
    Incarnation,
    JournalEntry,
    Snapshot,
    sorted_newest_first,
    validate_backup_id,
    validate_digest,
    validate_expected,
    validate_records,
    validate_session_id,
    validate_version,
)


@dataclass
class _Session:
    version: int = 0
    digest: int | None = None
    replaced_at: int = 0  # version of the last replace_state
    journal_floor: int = 0  # highest version whose journal entries were dropped
    items: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # key -> (record, version)
    journal: list[JournalEntry] = field(default_factory=list)
    backups: dict[int, tuple[BackupInfo, bytes]] = field(default_factory=dict)
    next_backup: int = 1
    contended_at: float = float("-inf")  # time.monotonic() of the last commit that lost its race


class MemoryStore:
    """All sessions in a dict. Methods run without awaiting, so each is atomic under asyncio."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._sessions: dict[str, _Session] = {}
        self._incarnation = os.urandom(16).hex()
        self._deletions: dict[str, int] = {}  # session -> delete_session calls

    def _session(self, session_id: str) -> _Session:
        validate_session_id(session_id)
        return self._sessions.setdefault(session_id, _Session())

    async def version(self, session_id: str) -> int:
        return self._session(session_id).version

    async def incarnation(self, session_id: str) -> Incarnation:
        validate_session_id(session_id)
        return Incarnation(self._incarnation, self._deletions.get(session_id, 0))

    async def read_changes(self, session_id: str, since_version: int) -> Delta:
        validate_version(since_version)
        s = self._session(session_id)
        changed = {k: rec for k, (rec, v) in s.items.items() if v > since_version}
        return Delta(s.version, changed, s.digest, s.replaced_at)

    async def read_snapshot(self, session_id: str) -> Snapshot:
        s = self._session(session_id)
        return Snapshot(s.version, {k: rec for k, (rec, _) in s.items.items()}, s.digest)

    def _claim(
        self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
    ) -> _Session | None:
        """Validate a write and bump the version if it is still ``expected_version``."""
        validate_version(expected_version)
        validate_records(records)
        validate_digest(digest)
        s = self._session(session_id)
        if s.version != expected_version:
            return None
        s.version += 1
        s.digest = digest
        return s

    async def commit(
        self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        return self._commit(session_id, expected_version, records, digest)

    def _commit(
        self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        s = self._claim(session_id, expected_version, records, digest)
        if s is None:
            self._session(session_id).contended_at = time.monotonic()  # see CONTENTION_WINDOW
            return None
        for key, record in records.items():
            s.items[key] = (bytes(record), s.version)
            s.journal.append(JournalEntry(s.version, key, bytes(record)))
        return s.version

    async def commit_if_unchanged(
        self, session_id: str, expected: Expected, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        validate_expected(expected)
        validate_session_id(session_id)
        current = Incarnation(self._incarnation, self._deletions.get(session_id, 0))
        s = self._sessions.get(session_id)
        if (
            s is None
            or current != expected.incarnation
            or s.version != expected.version
            or s.digest != expected.digest
            or time.monotonic() - s.contended_at < CONTENTION_WINDOW
        ):
            validate_records(records)
            validate_digest(digest)
            return None
        return self._commit(session_id, expected.version, records, digest)

    async def replace_state(
        self, session_id: str, expected_version: int, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        s = self._claim(session_id, expected_version, records, digest)
        if s is None:
            return None
        s.items = {key: (bytes(record), s.version) for key, record in records.items()}
        s.replaced_at = s.version
        return s.version

    async def read_journal(self, session_id: str, since_version: int = 0) -> list[JournalEntry]:
        validate_version(since_version)
        return [e for e in self._session(session_id).journal if e.version > since_version]

    async def truncate_journal(self, session_id: str, through_version: int) -> int:
        validate_version(through_version)
        s = self._session(session_id)
        floor = min(through_version, s.version)
        if floor <= s.journal_floor:
            return 0
        kept = [e for e in s.journal if e.version > floor]
        dropped = len(s.journal) - len(kept)
        s.journal, s.journal_floor = kept, floor
        return dropped

    async def journal_floor(self, session_id: str) -> int:
        return self._session(session_id).journal_floor

    async def put_backup(self, session_id: str, version: int, blob: bytes) -> BackupInfo:
        validate_version(version)
        s = self._session(session_id)
        info = BackupInfo(s.next_backup, version, time.time(), len(blob))
        s.backups[info.backup_id] = (info, bytes(blob))
        s.next_backup += 1
        return info

    async def list_backups(self, session_id: str) -> list[BackupInfo]:
        return sorted_newest_first(info for info, _ in self._session(session_id).backups.values())

    async def get_backup(self, session_id: str, backup_id: int) -> bytes:
        validate_backup_id(backup_id)
        held = self._session(session_id).backups.get(backup_id)
        if held is None:
            raise NotFoundError(f"no backup {backup_id} of session {session_id!r}")
        return held[1]

    async def delete_backup(self, session_id: str, backup_id: int) -> None:
        validate_backup_id(backup_id)
        self._session(session_id).backups.pop(backup_id, None)

    async def list_sessions(self) -> list[str]:
        return sorted(k for k, s in self._sessions.items() if s.version or s.backups)

    async def delete_session(self, session_id: str) -> None:
        validate_session_id(session_id)
        self._sessions.pop(session_id, None)
        self._deletions[session_id] = self._deletions.get(session_id, 0) + 1

    async def close(self) -> None:
        """Nothing to release; the data lives as long as this object."""

    async def __aenter__(self) -> MemoryStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # test support: lose every session, as a server restarted without persistence does
    def _lose_everything(self) -> None:
        self._sessions.clear()
        self._deletions.clear()
        self._incarnation = os.urandom(16).hex()

    # test support: corrupt a stored record in place (used by recovery tests)
    def _tamper(self, session_id: str, key: str, record: bytes) -> None:
        s = self._session(session_id)
        s.items[key] = (record, s.items[key][1])
