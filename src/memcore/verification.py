"""Verification: decode every stored record of a session and check it against the kept digest.

Reads only. A record that does not decode, or decodes but cannot be taken by a replica (see
:mod:`memcore.quarantine`), is a bad key; the digest of the records is compared with the digest
the committing replica kept. A deep check also decodes every backup and journal entry.

A store that reports its versions (``VersionReporting``: SQLite, Redis) is also checked for a
session version below the highest one its items or journal hold (a meta row edited or restored
from an older copy: every later commit would collide with the journal) and for journal entries
left outside the session's journal (a meta row lost and made again). Records and digest are
intact in both cases, so nothing else would show them; recovery repairs both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from memcore.backups import StoreArg, backup_named, decode_backup, opened_store, usable_backups
from memcore.errors import CorruptedMemoryError, NotFoundError
from memcore.quarantine import decode_records, digest_ok
from memcore.stores.base import MOVED_ASIDE, Store, decode_entry, validate_session_id


@runtime_checkable
class VersionReporting(Protocol):
    """A store that tells a session's versions apart (see the module docstring)."""

    async def stored_versions(self, session_id: str) -> tuple[int, int, int, int]:
        """(meta version, items' highest, journal's highest, stray journal entries)."""
        ...

    async def raise_version(self, session_id: str, expected_version: int, version: int) -> bool:
        """Set the version from ``expected_version`` up to ``version``, nothing else changed."""
        ...


@dataclass(frozen=True, slots=True)
class SessionHealth:
    """What ``verify_session`` found.

    ``state_ok`` covers the live state (every record decodes and the digest matches); ``ok``
    also covers the backups and journal entries a deep check looked at. ``computed_digest`` is
    None when some record could not be decoded (a digest over part of a state means nothing).
    ``bad_journal_versions`` lists the versions of undecodable journal records (``0`` when the
    store could not list the journal at all); ``bad_backups`` the ids of backups that fail
    their checks or whose stored cells no read can take (``0`` for such a row whose id is
    none). ``journal_floor`` (deep checks only) is the version through which the journal was
    compacted: repairs need an intact backup at or above it.
    ``highest_stored_version`` is the highest version the session's items or journal hold (a
    ``VersionReporting`` store's; 0 otherwise): above ``version``, the next commits fail until
    recovery raises it. ``stray_journal`` counts journal entries outside the session's journal.
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
    highest_stored_version: int = 0
    stray_journal: int = 0

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
    def versions_ok(self) -> bool:
        return self.highest_stored_version <= self.version and not self.stray_journal

    @property
    def ok(self) -> bool:
        return (
            self.state_ok
            and self.versions_ok
            and not self.bad_backups
            and not self.bad_journal_versions
        )

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
    which costs time proportional to their size. A session that cannot be read at all (its
    version or a record cell is not what memcore writes) is reported as not ok, its problem
    saying why, as ``verify_store`` reports it; a store that cannot be read as a whole raises.

    Reads only; never writes: a URL is opened read-only and must name an existing store (a
    missing SQLite file is a ``NotFoundError``, not a new store; an older schema is upgraded
    in place first, as every read-only open does)."""
    validate_session_id(session_id)
    async with opened_store(store, create=False, read_only=True) as opened:
        try:
            return await _verify(opened, session_id, deep)
        except CorruptedMemoryError as exc:
            await _readable_as_a_whole(opened)
            return unreadable_report(session_id, exc)


async def verify_store(store: StoreArg = None, *, deep: bool = False) -> StoreHealth:
    """``verify_session`` for every session of a store; a session that cannot be read at all
    is in the report as not ok (its problem says why), and the others are still checked.
    Opens a URL as ``verify_session`` does."""
    async with opened_store(store, create=False, read_only=True) as opened:
        sessions = sorted(await opened.list_sessions())
        reports = [await _verify_or_unreadable(opened, session, deep) for session in sessions]
        return StoreHealth(opened.url, tuple(reports))


async def _verify_or_unreadable(store: Store, session_id: str, deep: bool) -> SessionHealth:
    """``_verify``; a session the store cannot even read (its version or a record cell is not
    what memcore writes) is reported as damaged, not raised: one such session must not stop the
    check of every other one."""
    try:
        return await _verify(store, session_id, deep)
    except CorruptedMemoryError as exc:
        return unreadable_report(session_id, exc)


def unreadable_report(session_id: str, exc: CorruptedMemoryError) -> SessionHealth:
    """The report of a session no read can take: not ok, with why (``memcore verify SESSION``
    says it as the same CORRUPTED line, with the command that repairs it)."""
    return SessionHealth(session_id, 0, 0, 0, None, None, (), (f"unreadable: {exc}",))


async def _readable_as_a_whole(store: Store) -> None:
    """Raise what a store damaged as a whole raises (its schema version gone, a malformed file), as
    ``verify_store`` does when it lists the sessions: that is no one session's damage. The
    sessions this listing leaves out (a Redis store's ``unlisted``) are none of the caller's
    news, so what the store held there before is kept."""
    unlisted = getattr(store, "unlisted", None)
    try:
        await store.list_sessions()
    finally:
        if isinstance(getattr(store, "unlisted", None), dict):
            store.unlisted = {} if unlisted is None else unlisted  # type: ignore[attr-defined]


async def _verify(store: Store, session_id: str, deep: bool) -> SessionHealth:
    snapshot = await store.read_snapshot(session_id)
    decoded = decode_records(snapshot.records)
    problems = [f"record {key!r}: {why}" for key, why in sorted(decoded.bad.items())]
    computed = decoded.digest
    if not decoded.bad and not digest_ok(decoded, snapshot.version, snapshot.digest):
        if snapshot.digest is None:
            problems.append(f"no stored digest at version {snapshot.version}")
        else:
            problems.append(
                f"digest mismatch: stored {snapshot.digest:016x}, records give {computed:016x}"
            )
    highest = stray = 0
    if isinstance(store, VersionReporting):
        highest, stray = await _version_problems(store, session_id, problems)
    bad_backups: list[int] = []
    bad_journal: list[int] = []
    backups_checked = journal_checked = floor = 0
    if deep:
        listed, unusable = await usable_backups(store, session_id)
        for backup_id, why in unusable:  # (a row no read can take: 0 when its id is none)
            backups_checked += 1
            bad_backups.append(0 if backup_id is None else backup_id)
            problems.append(f"{backup_named(backup_id)}: {why}")
        for info in listed:
            try:
                decode_backup(await store.get_backup(session_id, info.backup_id), session_id, info)
            except NotFoundError:  # rotated away meanwhile: not checked
                continue
            except CorruptedMemoryError as exc:  # (its bytes fail their checks, or are no blob)
                bad_backups.append(info.backup_id)
                problems.append(f"backup {info.backup_id}: {exc}")
            backups_checked += 1
        try:
            journal = await store.read_journal(session_id, 0)
        except CorruptedMemoryError as exc:
            journal = []
            bad_journal.append(0)
            problems.append(f"journal unreadable: {exc}")
        journal_checked = len(journal)
        floor = await store.journal_floor(session_id)
        for item in journal:
            if item.key == MOVED_ASIDE:  # (kept aside by recovery, a marker in its place)
                continue
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
        highest_stored_version=highest,
        stray_journal=stray,
    )


async def _version_problems(
    store: VersionReporting, session_id: str, problems: list[str]
) -> tuple[int, int]:
    """The highest version the items or the journal hold and the stray journal entries, each
    mismatch said in ``problems`` (read apart from the snapshot: a commit in between only
    raises the version, which can hide a mismatch, never make one up)."""
    version, items, journal, stray = await store.stored_versions(session_id)
    highest = max(items, journal)
    if highest > version:
        problems.append(
            f"version {version} is below the highest version its items ({items}) or its "
            f"journal ({journal}) hold: commits fail until recovery raises it"
        )
    if stray:
        problems.append(
            f"{stray} journal commit(s) lie outside the session's journal (its meta row was lost "
            "and made again): recovery puts them back in order"
        )
    return highest, stray


__all__ = ["SessionHealth", "StoreHealth", "VersionReporting", "verify_session", "verify_store"]
