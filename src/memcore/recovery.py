"""Backups, verification and recovery of corrupted sessions.

Every stored item and journal entry is a checksummed record, and a store keeps, beside the items,
the digest of the live state (``live_digest``) written by the replica that committed it. That
gives three independent witnesses of a session: its items, its journal and the kept digest, plus
any backups. Recovery rebuilds the state from backups and the journal and trusts a rebuilt state
only when it matches the kept digest; it writes with compare-and-set (``Store.replace_state``), so
it never overwrites a commit it did not see, and it writes nothing at all unless the new state
checks out. A session it cannot repair is left exactly as it was.

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
then on a replay forward is only complete from a backup at or above the floor: recovery never
replays from a backup below it, and a rebuild from the journal alone is impossible.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from memcore import frames
from memcore.codec import decode_bundle, encode_bundle
from memcore.errors import CorruptedMemoryError, NotFoundError, ValidationError
from memcore.model import RecoveryResult
from memcore.stores import resolve_store
from memcore.stores.base import (
    BackupInfo,
    Entry,
    JournalEntry,
    Store,
    decode_entry,
    live_digest,
    validate_key,
    validate_session_id,
)

BACKUP_FORMAT = "memcore-backup"
BACKUP_FORMAT_VERSION = 1
DEFAULT_KEEP = 5
# How often recovery re-reads the session when a commit lands between its read and its write.
MAX_ATTEMPTS = 5

StoreArg = str | Store | None


# --- opening stores -----------------------------------------------------------------------------


@asynccontextmanager
async def _opened(store: StoreArg) -> AsyncIterator[Store]:
    """A URL (or None: the default store) is opened and closed here; a store object is lent."""
    opened, owned = resolve_store(store)
    try:
        yield opened
    finally:
        if owned:
            await opened.close()


# --- checking records ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Decoded:
    """Records decoded one by one: the good entries and the keys whose record is bad."""

    entries: dict[str, Entry]
    bad: dict[str, str]  # key -> why its record was refused

    @property
    def digest(self) -> int | None:
        """``live_digest`` of the entries, or None when some record could not be decoded."""
        return None if self.bad else live_digest(self.entries)


def _decode_records(records: Mapping[str, bytes]) -> _Decoded:
    entries: dict[str, Entry] = {}
    bad: dict[str, str] = {}
    for key, record in records.items():
        try:
            entries[key] = decode_entry(record)
        except CorruptedMemoryError as exc:
            bad[key] = str(exc)
    return _Decoded(entries, bad)


def _digest_ok(decoded: _Decoded, version: int, stored: int | None) -> bool:
    """Whether decoded records agree with the kept digest (a never-written session has none)."""
    if decoded.bad:
        return False
    if stored is None:
        return version == 0 and not decoded.entries
    return decoded.digest == stored


# --- verification -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionHealth:
    """What ``verify_session`` found.

    ``state_ok`` covers the live state (every record decodes and the digest matches); ``ok``
    also covers the backups and journal entries a deep check looked at. ``computed_digest`` is
    None when some record could not be decoded (a digest over part of a state means nothing).
    ``bad_journal_versions`` lists the versions of undecodable journal records (``0`` when the
    store could not list the journal at all). ``journal_floor`` (deep checks only) is the version
    through which the journal was compacted: repairs need an intact backup at or above it.
    """

    session_id: str
    version: int
    records: int
    live_items: int
    stored_digest: int | None
    computed_digest: int | None
    bad_keys: tuple[str, ...]
    problems: tuple[str, ...]
    backups_checked: int = 0
    bad_backups: tuple[int, ...] = ()
    journal_checked: int = 0
    bad_journal_versions: tuple[int, ...] = ()
    journal_floor: int = 0  # read by deep checks only: entries up to it were compacted away

    @property
    def state_ok(self) -> bool:
        return not self.bad_keys and self.digest_ok

    @property
    def digest_ok(self) -> bool:
        if self.computed_digest is None:
            return False
        if self.stored_digest is None:
            return self.version == 0 and self.records == 0
        return self.computed_digest == self.stored_digest

    @property
    def ok(self) -> bool:
        return self.state_ok and not self.bad_backups and not self.bad_journal_versions

    def describe(self) -> str:
        """One line for humans (the CLI prints it)."""
        if self.ok:
            return f"ok ({self.live_items} items, version {self.version})"
        return "CORRUPTED: " + "; ".join(self.problems)


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """``verify_store``'s report: one ``SessionHealth`` per session, sorted by session id."""

    url: str
    sessions: tuple[SessionHealth, ...]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sessions)

    @property
    def corrupted(self) -> tuple[str, ...]:
        return tuple(s.session_id for s in self.sessions if not s.ok)


async def verify_session(
    session_id: str, store: StoreArg = None, *, deep: bool = False
) -> SessionHealth:
    """Decode every stored record of a session, recompute its digest and compare it with the
    kept one. ``deep`` also decodes every backup and journal entry (what recovery would need),
    which costs time proportional to their size. Reads only; never writes."""
    validate_session_id(session_id)
    async with _opened(store) as opened:
        return await _verify(opened, session_id, deep)


async def verify_store(store: StoreArg = None, *, deep: bool = False) -> StoreHealth:
    """``verify_session`` for every session of a store."""
    async with _opened(store) as opened:
        sessions = sorted(await opened.list_sessions())
        reports = [await _verify(opened, session, deep) for session in sessions]
        return StoreHealth(opened.url, tuple(reports))


async def _verify(store: Store, session_id: str, deep: bool) -> SessionHealth:
    snapshot = await store.read_snapshot(session_id)
    decoded = _decode_records(snapshot.records)
    problems = [f"record {key!r}: {why}" for key, why in sorted(decoded.bad.items())]
    computed = decoded.digest
    if not decoded.bad and not _digest_ok(decoded, snapshot.version, snapshot.digest):
        if snapshot.digest is None:
            problems.append(f"no stored digest at version {snapshot.version}")
        else:
            problems.append(
                f"digest mismatch: stored {snapshot.digest:016x}, records give {computed:016x}"
            )
    bad_backups: list[int] = []
    bad_journal: list[int] = []
    backups_checked = journal_checked = floor = 0
    if deep:
        for info in await store.list_backups(session_id):
            try:
                blob = await store.get_backup(session_id, info.backup_id)
            except NotFoundError:  # rotated away meanwhile
                continue
            backups_checked += 1
            try:
                _decode_backup(blob, session_id, info)
            except CorruptedMemoryError as exc:
                bad_backups.append(info.backup_id)
                problems.append(f"backup {info.backup_id}: {exc}")
        try:
            journal = await store.read_journal(session_id, 0)
        except CorruptedMemoryError as exc:
            journal = []
            bad_journal.append(0)
            problems.append(f"journal unreadable: {exc}")
        journal_checked = len(journal)
        floor = await store.journal_floor(session_id)
        for item in journal:
            try:
                decode_entry(item.record)
            except CorruptedMemoryError as exc:
                bad_journal.append(item.version)
                problems.append(f"journal entry {item.key!r} at version {item.version}: {exc}")
    return SessionHealth(
        session_id=session_id,
        version=snapshot.version,
        records=len(snapshot.records),
        live_items=sum(1 for e in decoded.entries.values() if not e.deleted),
        stored_digest=snapshot.digest,
        computed_digest=computed,
        bad_keys=tuple(sorted(decoded.bad)),
        problems=tuple(problems),
        backups_checked=backups_checked,
        bad_backups=tuple(bad_backups),
        journal_checked=journal_checked,
        bad_journal_versions=tuple(sorted(set(bad_journal))),
        journal_floor=floor,
    )


# --- backups ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Backup:
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
    """
    validate_session_id(session_id)
    _validate_keep(keep)
    if not isinstance(compact_journal, bool):
        raise ValidationError(f"compact_journal must be a bool (got {compact_journal!r})")
    codec, level = frames.check_codec(codec, None)
    async with _opened(store) as opened:
        snapshot = await opened.read_snapshot(session_id)
        decoded = _decode_records(snapshot.records)
        if not _digest_ok(decoded, snapshot.version, snapshot.digest):
            bad = ", ".join(repr(k) for k in sorted(decoded.bad)) or "digest mismatch"
            raise CorruptedMemoryError(
                f"session {session_id!r} fails verification ({bad}); not backing it up "
                "(run recover_corrupted_memory first)"
            )
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
        backups = await opened.list_backups(session_id)  # newest first
        for old in backups[keep:]:
            await opened.delete_backup(session_id, old.backup_id)
        if compact_journal:
            # at least the backup just made is kept; a backup another process adds meanwhile
            # from an older snapshot is below the floor and recovery will pass it over
            kept = backups[:keep]
            await opened.truncate_journal(session_id, min(b.version for b in kept))
        return info


def _decode_backup(blob: bytes, session_id: str, info: BackupInfo | None = None) -> _Backup:
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
    decoded = _decode_records(records)
    if decoded.bad:
        key, why = next(iter(sorted(decoded.bad.items())))
        raise CorruptedMemoryError(f"backup record {key!r} is bad: {why}")
    if not _digest_ok(decoded, version, digest):
        raise CorruptedMemoryError("backup records do not match the backup's digest")
    return _Backup(version, digest, records, decoded.entries)


# --- recovery -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A rebuilt state that matched the kept digest, and how it was obtained."""

    records: dict[str, bytes]
    replayed: int
    source: str
    rebuilt: bool


@dataclass(frozen=True, slots=True)
class _Replay:
    records: dict[str, bytes]
    entries: dict[str, Entry]
    applied: int
    stopped_at: int | None  # version of the first corrupted journal entry, if any


def _replay(
    records: Mapping[str, bytes], entries: Mapping[str, Entry], journal: Sequence[JournalEntry]
) -> _Replay:
    """Apply journal entries (oldest first) on top of a base state.

    A commit is applied whole or not at all: at the first corrupted entry the replay stops before
    that entry's version, since everything after it is built on a commit we cannot read.
    """
    decoded: list[tuple[JournalEntry, Entry]] = []
    stopped_at: int | None = None
    for item in journal:
        try:
            decoded.append((item, decode_entry(item.record)))
            validate_key(item.key)
        except (CorruptedMemoryError, ValidationError):
            stopped_at = item.version
            break
    out_records = dict(records)
    out_entries = dict(entries)
    applied = 0
    for item, entry in decoded:
        if stopped_at is not None and item.version >= stopped_at:
            break
        out_records[item.key] = bytes(item.record)
        out_entries[item.key] = entry
        applied += 1
    return _Replay(out_records, out_entries, applied, stopped_at)


class _Journal:
    """The session's journal up to the snapshot's version, read once per starting point."""

    def __init__(self, store: Store, session_id: str, upto: int) -> None:
        self._store = store
        self._session = session_id
        self._upto = upto
        self._since: int | None = None
        self._entries: list[JournalEntry] = []
        self.floor = 0  # the journal floor read right after the entries held

    async def read_floor(self) -> int:
        self.floor = max(self.floor, await self._store.journal_floor(self._session))
        return self.floor

    async def since(self, version: int) -> list[JournalEntry]:
        """Entries past ``version``; ``CorruptedMemoryError`` if the store cannot even list
        them (a backend may keep entries in a wrapper of its own that can rot too)."""
        if self._since is None or version < self._since:
            read = await self._store.read_journal(self._session, version)
            # the floor read after the entries: every entry above it was still there when read
            # (the floor only rises, and truncation drops entries at or below it)
            await self.read_floor()
            # entries past the snapshot belong to commits made after we read it: CAS will notice
            self._entries = [e for e in read if e.version <= self._upto]
            self._since = version
        return [e for e in self._entries if e.version > version]


def _no_rebuild(floor: int) -> str:
    return (
        f"a journal-only rebuild is impossible: the journal was compacted through v{floor}, "
        "so an intact backup at or above that version is needed"
    )


async def _plan(
    store: Store,
    session_id: str,
    version: int,
    digest: int,
    current: Mapping[str, bytes],
    notes: list[str],
) -> _Candidate | None:
    """Find a state matching ``digest``: newest good backup + journal, else the journal alone
    (only while the journal is whole: never compacted). Backups below the journal floor are
    never used as a base: the journal past them is incomplete."""
    journal = _Journal(store, session_id, version)
    await journal.read_floor()
    for info in await store.list_backups(session_id):
        if info.version > version:
            notes.append(f"backup {info.backup_id} is ahead of the session (v{info.version})")
            continue
        if info.version < journal.floor:
            notes.append(
                f"backup {info.backup_id} (v{info.version}) is below the journal floor "
                f"(v{journal.floor}): the journal past it was compacted away"
            )
            continue
        try:
            blob = await store.get_backup(session_id, info.backup_id)
        except NotFoundError:
            continue
        try:
            backup = _decode_backup(blob, session_id, info)
        except CorruptedMemoryError as exc:
            notes.append(f"backup {info.backup_id} unusable: {exc}")
            continue
        try:
            journal_part = await journal.since(backup.version)
        except CorruptedMemoryError as exc:
            notes.append(f"backup {info.backup_id} (v{backup.version}): journal unreadable: {exc}")
            continue
        if backup.version < journal.floor:  # compacted while we were reading
            notes.append(
                f"backup {info.backup_id} (v{backup.version}) is below the journal floor "
                f"(v{journal.floor}): the journal past it was compacted away"
            )
            continue
        replay = _replay(backup.records, backup.entries, journal_part)
        if replay.stopped_at is not None:
            notes.append(
                f"backup {info.backup_id} (v{backup.version}): journal corrupted at "
                f"v{replay.stopped_at}"
            )
            continue
        if live_digest(replay.entries) != digest:
            notes.append(
                f"backup {info.backup_id} (v{backup.version}) + {replay.applied} journal "
                "updates does not match the stored digest"
            )
            continue
        return _Candidate(
            replay.records,
            replay.applied,
            f"backup {info.backup_id} (v{backup.version}) + {replay.applied} journal updates",
            rebuilt=False,
        )
    if journal.floor > 0:
        notes.append(_no_rebuild(journal.floor))
        return None
    try:
        whole = await journal.since(0)
    except CorruptedMemoryError as exc:
        notes.append(f"journal rebuild: journal unreadable: {exc}")
        return None
    if journal.floor > 0:  # compacted while we were reading
        notes.append(_no_rebuild(journal.floor))
        return None
    replay = _replay({}, {}, whole)
    if replay.stopped_at is not None:
        notes.append(f"journal rebuild: journal corrupted at v{replay.stopped_at}")
        return None
    if live_digest(replay.entries) != digest:
        notes.append(f"journal rebuild ({replay.applied} updates) does not match the stored digest")
        if replay.records == dict(current):
            # two independent witnesses agree; only the kept digest differs. Rewriting it would
            # take a side recovery cannot verify, so say so and leave it to a person.
            notes.append("the records agree with the journal: the stored digest itself is off")
        return None
    return _Candidate(
        replay.records,
        replay.applied,
        f"a rebuild from the journal alone ({replay.applied} updates)",
        rebuilt=True,
    )


async def arecover_corrupted_memory(session_id: str, store: StoreArg = None) -> RecoveryResult:
    """Check a session against its kept digest and repair it if it does not match.

    Steps: if every record decodes and the digest matches, nothing is done. Otherwise the newest
    backup that decodes and checks out (backups with a flipped byte are skipped) is taken as a
    base and the journal entries past its version are replayed; if no backup leads to the kept
    digest, the state is rebuilt from the whole journal (from version 0; only while it was
    never compacted; backups below the journal floor are never a base). A corrupted journal
    entry stops a replay before its version, and a replay stopped that way is not used. The
    first rebuilt state that matches the kept digest is written with ``replace_state``
    (compare-and-set on the version read; if a commit landed meanwhile, start over, up to
    ``MAX_ATTEMPTS`` times). Nothing is written unless a state checks out.

    Result fields:

    * ``success``: the session's state now checks out (it already did, or was repaired).
    * ``updates_applied``: journal entries replayed into the state that was written (0 when
      nothing was written).
    * ``rebuild_required``: True when no backup could serve as the base, so the state had to
      be rebuilt from the journal alone: with ``success`` that rebuild was done and written;
      without it, the session is corrupted and could not be rebuilt from what is stored (it is
      left untouched). False when the state was fine, was restored from a backup, or when
      recovery gave up only because the session kept changing underneath it. Once the journal
      was compacted (``create_backup(..., compact_journal=True)``) a journal-only rebuild is
      impossible: with no intact backup at or above the journal floor, recovery fails with
      ``rebuild_required`` True and a message that says the journal was compacted.

    ``store``: a URL (opened and closed here) or an open store (left open); None means the
    default store. Bad session ids raise ``ValidationError``; backend faults raise
    ``BackendError``.
    """
    validate_session_id(session_id)
    async with _opened(store) as opened:
        for _ in range(MAX_ATTEMPTS):
            result = await _recover_once(opened, session_id)
            if result is not None:
                return result
        return RecoveryResult(
            success=False,
            message=(
                f"session {session_id!r} kept changing during recovery ({MAX_ATTEMPTS} "
                "attempts); nothing was written, run recovery again"
            ),
            updates_applied=0,
            rebuild_required=False,
        )


async def _recover_once(store: Store, session_id: str) -> RecoveryResult | None:
    """One attempt; None when the compare-and-set write lost to a concurrent commit."""
    snapshot = await store.read_snapshot(session_id)
    decoded = _decode_records(snapshot.records)
    if _digest_ok(decoded, snapshot.version, snapshot.digest):
        live = sum(1 for e in decoded.entries.values() if not e.deleted)
        return RecoveryResult(
            success=True,
            message=(
                f"session {session_id!r} is intact ({live} items, version {snapshot.version}); "
                "nothing to do"
            ),
            updates_applied=0,
            rebuild_required=False,
        )
    if decoded.bad:
        keys = ", ".join(repr(k) for k in sorted(decoded.bad))
        damage = f"{len(decoded.bad)} corrupted record(s) ({keys})"
    else:
        damage = "records do not match the stored digest"
    if snapshot.digest is None:
        return RecoveryResult(
            success=False,
            message=(
                f"session {session_id!r}: {damage}, and no stored digest to validate a rebuilt "
                "state against; nothing was changed"
            ),
            updates_applied=0,
            rebuild_required=True,
        )
    notes: list[str] = []
    candidate = await _plan(
        store, session_id, snapshot.version, snapshot.digest, snapshot.records, notes
    )
    if candidate is None:
        return RecoveryResult(
            success=False,
            message=(
                f"session {session_id!r}: {damage}; no backup or journal rebuild matches the "
                f"stored digest ({'; '.join(notes)}); nothing was changed"
            ),
            updates_applied=0,
            rebuild_required=True,
        )
    written = await store.replace_state(
        session_id, snapshot.version, candidate.records, snapshot.digest
    )
    if written is None:
        return None
    skipped = f" (skipped: {'; '.join(notes)})" if notes else ""
    return RecoveryResult(
        success=True,
        message=(
            f"session {session_id!r}: {damage}; restored from {candidate.source}, digest "
            f"verified, now version {written}{skipped}"
        ),
        updates_applied=candidate.replayed,
        rebuild_required=candidate.rebuilt,
    )


def recover_corrupted_memory(session_id: str, store: StoreArg = None) -> RecoveryResult:
    """Synchronous ``arecover_corrupted_memory`` (see there for what it does and returns).

    Runs the work with ``asyncio.run``; called from a thread whose event loop is running, it
    runs it on a worker thread with its own loop (blocking the caller until done). In that case
    pass a URL rather than a store bound to the running loop, or await
    ``arecover_corrupted_memory`` instead.
    """
    validate_session_id(session_id)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arecover_corrupted_memory(session_id, store))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="memcore-recover") as pool:
        return pool.submit(asyncio.run, arecover_corrupted_memory(session_id, store)).result()


__all__ = [
    "BACKUP_FORMAT",
    "DEFAULT_KEEP",
    "SessionHealth",
    "StoreHealth",
    "arecover_corrupted_memory",
    "create_backup",
    "recover_corrupted_memory",
    "verify_session",
    "verify_store",
]
