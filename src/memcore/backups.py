"""Backups of sessions: the format, ``create_backup`` and the checked decoder recovery uses.

A backup is a bundle (``memcore.codec.encode_bundle``: a skippable lz4 frame holding memcore's
header, then a standard lz4 frame, so the stock ``lz4 -d`` decompresses a backup file to plain
msgpack) of one map::

    {"format": "memcore-backup", "format_version": 1, "session": <session id>,
     "version": <session version>, "digest": <kept digest or None>,
     "created_at": <seconds since the epoch>, "records": {key: <encoded entry record>}}

The records are kept as the checksummed bytes the store held, so a restored key is bit-identical
to what was committed (stamps and replica ids included, which sync needs).

Journal compaction (``create_backup(..., compact_journal=True)``) drops the journal entries every
kept backup already covers and raises the session's journal floor (``Store.journal_floor``). From
then on a replay forward is only complete from a backup at or above the floor.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from memcore import frames
from memcore.codec import decode_bundle, encode_bundle
from memcore.errors import CorruptedMemoryError, NotFoundError, ValidationError
from memcore.quarantine import decode_records, digest_ok
from memcore.stores import open_store, resolve_store
from memcore.stores.base import (
    BackupInfo,
    Entry,
    Snapshot,
    Store,
    UnusableBackup,
    validate_key,
    validate_session_id,
)

BACKUP_FORMAT = "memcore-backup"
BACKUP_FORMAT_VERSION = 1
DEFAULT_KEEP = 5

StoreArg = str | Store | None


@asynccontextmanager
async def opened_store(
    store: StoreArg, *, create: bool = True, read_only: bool = False
) -> AsyncIterator[Store]:
    """A URL (or None: the default store) is opened and closed here; a store object is lent.
    ``create=False``: a missing SQLite file is a ``NotFoundError``, not a new store;
    ``read_only``: an SQLite file is opened read-only (see ``open_store``), for callers that
    only look and must leave the file as it is."""
    if store is None or isinstance(store, str):
        opened, owned = open_store(store, read_only=read_only, create=create), True
    else:
        opened, owned = resolve_store(store)
    try:
        yield opened
    finally:
        if owned:
            await opened.close()


@dataclass(frozen=True, slots=True)
class Backup:
    version: int
    digest: int | None
    records: dict[str, bytes]
    entries: dict[str, Entry]


def _validate_keep(keep: object) -> int:
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        raise ValidationError(f"keep must be a positive int (got {keep!r})")
    return keep


async def create_backup(
    session_id: str,
    store: StoreArg = None,
    keep: int = DEFAULT_KEEP,
    compact_journal: bool = False,
    codec: frames.FrameCodec = "lz4",
) -> BackupInfo:
    """Snapshot a session into a compressed backup and keep only the ``keep`` newest backups.

    The snapshot is one ``read_snapshot`` (records, version and digest read together), checked
    before it is saved: a state that fails verification raises ``CorruptedMemoryError`` instead
    of becoming a backup, since a bad backup would later push out the good ones on rotation.

    ``compact_journal``: after the rotation, drop the journal entries through the oldest
    (lowest-version) kept backup's version (``Store.truncate_journal``), so the journal stops
    growing while every kept backup can still be replayed forward. The price: recovery then
    needs an intact backup at or above the journal floor, since a rebuild from the journal
    alone is no longer possible.

    ``codec``: the backup's frame, ``"lz4"`` (fastest) or ``"zstd"`` (smaller, for backups
    kept long); recovery reads either.

    A session never written, or a store URL naming no store, is a ``NotFoundError``: nothing
    is created.
    """
    validate_session_id(session_id)
    _validate_keep(keep)
    if not isinstance(compact_journal, bool):
        raise ValidationError(f"compact_journal must be a bool (got {compact_journal!r})")
    codec, level = frames.check_codec(codec, None)
    async with opened_store(store, create=False) as opened:  # (no store: nothing to back up)
        snapshot = await opened.read_snapshot(session_id)
        if snapshot.version == 0:  # never written: backing it up would create the session
            raise NotFoundError(f"session {session_id!r} holds nothing to back up")
        _check_verifies(session_id, snapshot)
        blob = encode_bundle(
            {
                "format": BACKUP_FORMAT,
                "format_version": BACKUP_FORMAT_VERSION,
                "session": session_id,
                "version": snapshot.version,
                "digest": snapshot.digest,
                "created_at": time.time(),
                "records": {key: bytes(rec) for key, rec in snapshot.records.items()},
            },
            codec=codec,
            level=level,
        )
        info = await opened.put_backup(session_id, snapshot.version, blob)
        # newest first; a backup whose row no read can take stays, passed over (as recovery
        # passes it over): it neither counts among those kept nor stops the rotation
        backups, _ = await usable_backups(opened, session_id)
        for old in backups[keep:]:
            await opened.delete_backup(session_id, old.backup_id)
        if compact_journal:
            # at least the backup just made is kept; a backup another process adds meanwhile
            # from an older snapshot is below the floor and recovery will pass it over
            kept = backups[:keep]
            await opened.truncate_journal(session_id, min(b.version for b in kept))
        return info


def decode_backup(blob: bytes, session_id: str, info: BackupInfo | None = None) -> Backup:
    """Check a backup end to end; ``CorruptedMemoryError`` names the first thing wrong."""
    payload: Any = decode_bundle(blob)
    if not isinstance(payload, dict) or payload.get("format") != BACKUP_FORMAT:
        raise CorruptedMemoryError("bundle is not a memcore backup")
    if payload.get("format_version") != BACKUP_FORMAT_VERSION:
        raise CorruptedMemoryError(f"unsupported backup version {payload.get('format_version')}")
    version, digest, records = payload.get("version"), payload.get("digest"), payload.get("records")
    if payload.get("session") != session_id:
        raise CorruptedMemoryError(f"backup belongs to session {payload.get('session')!r}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise CorruptedMemoryError("backup version is not a non-negative int")
    if info is not None and info.version != version:
        raise CorruptedMemoryError(
            f"backup is listed at version {info.version} but holds version {version}"
        )
    if digest is not None and (not isinstance(digest, int) or isinstance(digest, bool)):
        raise CorruptedMemoryError("backup digest is not an int")
    if not isinstance(records, dict) or not all(isinstance(r, bytes) for r in records.values()):
        raise CorruptedMemoryError("backup records are not a map of byte strings")
    for key in records:
        try:
            validate_key(key)
        except ValidationError as exc:
            raise CorruptedMemoryError(f"backup holds an invalid key: {exc}") from exc
    decoded = decode_records(records)
    if decoded.bad:
        key, why = next(iter(sorted(decoded.bad.items())))
        raise CorruptedMemoryError(f"backup record {key!r} is bad: {why}")
    if not digest_ok(decoded, version, digest):
        raise CorruptedMemoryError("backup records do not match the backup's digest")
    return Backup(version, digest, records, decoded.entries)


@runtime_checkable
class ListsUnusableBackups(Protocol):
    """A store that lists a backup whose listing cells are damaged apart (SQLite: a version
    that is no number), where ``list_backups`` raises."""

    async def readable_backups(
        self, session_id: str
    ) -> tuple[list[BackupInfo], list[UnusableBackup]]:
        """The backups ``list_backups`` gives, less the unusable ones; and those."""
        ...


async def usable_backups(
    store: Store, session_id: str
) -> tuple[list[BackupInfo], list[UnusableBackup]]:
    """The session's backups, newest first, and those whose listing no read can take: what
    recovery and verification go through, so that one damaged backup row leaves the others
    of use (it is passed over, as one whose bytes fail their checks)."""
    if isinstance(store, ListsUnusableBackups):
        return await store.readable_backups(session_id)
    return await store.list_backups(session_id), []


def backup_named(backup_id: int | None) -> str:
    """How a backup listed as unusable is named (``a backup`` when its id is none)."""
    return "a backup" if backup_id is None else f"backup {backup_id}"


def _check_verifies(session_id: str, snapshot: Snapshot) -> None:
    """``CorruptedMemoryError`` unless the snapshot's records give its digest."""
    decoded = decode_records(snapshot.records)
    if not digest_ok(decoded, snapshot.version, snapshot.digest):
        bad = ", ".join(repr(k) for k in sorted(decoded.bad)) or "digest mismatch"
        raise CorruptedMemoryError(
            f"session {session_id!r} fails verification ({bad}); not backing it up "
            f"(repair it first: `memcore recover {session_id}`, or recover_corrupted_memory)"
        )


async def check_backupable(store: Store, session_id: str) -> None:
    """``CorruptedMemoryError`` when a backup of the session could not be made now (it fails
    verification): what must hold before a change whose history is then dropped."""
    _check_verifies(session_id, await store.read_snapshot(session_id))


async def drop_history(store: Store, session_id: str) -> BackupInfo:
    """Take what a session's items were before out of the store: one backup of the state as it
    is now, every other backup deleted, and the journal cut through its version (recovery still
    has a base at the journal's floor). What was masked or forgotten is then gone from the
    session's history too, not only from its state. Returns the backup made."""
    fresh = await create_backup(session_id, store)  # (first: recovery always has a base)
    for info in (await usable_backups(store, session_id))[0]:
        if info.backup_id != fresh.backup_id:
            await store.delete_backup(session_id, info.backup_id)
    await store.truncate_journal(session_id, fresh.version)
    return fresh


__all__ = [
    "BACKUP_FORMAT",
    "BACKUP_FORMAT_VERSION",
    "DEFAULT_KEEP",
    "Backup",
    "ListsUnusableBackups",
    "StoreArg",
    "backup_named",
    "check_backupable",
    "create_backup",
    "decode_backup",
    "drop_history",
    "opened_store",
    "usable_backups",
]
