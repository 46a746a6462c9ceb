"""The Redis store's backups: a session's snapshots kept beside it (a hash of their records and
one of their bytes), written and deleted by scripts so that the records and the bytes never
part. Part of :mod:`memcore.stores.redis` (its ``_script``, ``_guard`` and ``_connect``).
"""

from __future__ import annotations

import time
from typing import Any

import msgpack

from memcore.errors import CorruptedMemoryError, NotFoundError, ValidationError
from memcore.stores.base import (
    BackupInfo,
    UnusableBackup,
    sorted_newest_first,
    validate_backup_id,
    validate_version,
)
from memcore.stores.redis_keys import session_keys


class RedisBackups:
    """``put_backup``, ``list_backups``, ``get_backup`` and ``delete_backup`` of
    ``RedisStore``."""

    _script: Any
    _guard: Any
    _connect: Any

    async def put_backup(self, session_id: str, version: int, blob: bytes) -> BackupInfo:
        keys = session_keys(session_id)
        validate_version(version)
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise ValidationError("a backup is bytes")
        data = bytes(blob)
        created = time.time()
        with self._guard("put_backup", session_id):
            backup_id = await self._script(
                "put_backup",
                keys=[keys["meta"], keys["backups"], keys["blobs"]],
                args=[msgpack.packb([version, created, len(data)]), data],
            )
        return BackupInfo(int(backup_id), version, created, len(data))

    async def list_backups(self, session_id: str) -> list[BackupInfo]:
        return await self._backups_of(session_id, None)

    async def readable_backups(
        self, session_id: str
    ) -> tuple[list[BackupInfo], list[UnusableBackup]]:
        """``list_backups`` less the backups whose record no read can take (another program
        wrote it), and those apart: their ids (None: no integer) and what is wrong. Recovery
        and verification pass them over, as they do a backup whose bytes fail their checks."""
        unusable: list[UnusableBackup] = []
        return await self._backups_of(session_id, unusable), unusable

    async def _backups_of(
        self, session_id: str, unusable: list[UnusableBackup] | None
    ) -> list[BackupInfo]:
        """The session's backups, newest first; one whose record is unreadable raises
        ``CorruptedMemoryError``, or with ``unusable`` is added there instead."""
        keys = session_keys(session_id)
        with self._guard("list_backups", session_id, keys["backups"]):
            raw = await (await self._connect()).hgetall(keys["backups"])
        infos = []
        for backup_id, packed in raw.items():
            try:
                version, created, size = msgpack.unpackb(packed)
                info = BackupInfo(int(backup_id), int(version), float(created), int(size))
            except (ValueError, TypeError, msgpack.UnpackException) as exc:
                if unusable is None:
                    raise CorruptedMemoryError(f"unreadable backup record: {exc}") from exc
                number = (
                    backup_id.decode("ascii", "replace") if isinstance(backup_id, bytes) else ""
                )
                named = int(number) if number.isdigit() else None
                unusable.append((named, f"its record is unreadable ({exc})"))
                continue
            infos.append(info)
        return sorted_newest_first(infos)

    async def get_backup(self, session_id: str, backup_id: int) -> bytes:
        keys = session_keys(session_id)
        validate_backup_id(backup_id)
        with self._guard("get_backup", session_id, keys["blobs"]):
            blob = await (await self._connect()).hget(keys["blobs"], str(backup_id))
        if blob is None:
            raise NotFoundError(f"no backup {backup_id} of session {session_id!r}")
        return bytes(blob)

    async def delete_backup(self, session_id: str, backup_id: int) -> None:
        keys = session_keys(session_id)
        validate_backup_id(backup_id)
        with self._guard("delete_backup", session_id):
            await self._script(
                "delete_backup",
                keys=[keys["meta"], keys["backups"], keys["blobs"]],
                args=[str(backup_id)],
            )


__all__ = ["RedisBackups"]
