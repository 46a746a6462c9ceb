"""How recovery finds a state to restore: the newest good backup with the journal replayed past
it, or the journal alone, taken only when the result gives the session's kept digest (or, with
none kept, when two witnesses agree: see :mod:`memcore.recovery`).

A replay applies each commit whole or stops before it; a damaged journal entry whose key's
stored record is intact is bridged by that record (the key's last write) instead, and an entry
moved aside (a Redis list entry or an SQLite row no read could take: its key unknown) is crossed
only under the store's own witness of each key's last change (:func:`_bridged`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from memcore.backups import backup_named, decode_backup, usable_backups
from memcore.errors import CorruptedMemoryError, NotFoundError, ValidationError
from memcore.stores.base import (
    MOVED_ASIDE,
    Entry,
    JournalEntry,
    Store,
    decode_entry,
    live_digest,
    validate_key,
)


def _digest_or_none(entries: Mapping[str, Entry]) -> int | None:
    """``live_digest``, or None when some value cannot be digested (it then matches nothing)."""
    try:
        return live_digest(entries)
    except ValidationError:
        return None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rebuilt state that matched the kept digest, and how it was obtained."""

    records: dict[str, bytes]
    replayed: int
    source: str
    rebuilt: bool
    #: the digest to write with them: the kept one, unless it was the damaged value (the
    #: records and the whole journal, two witnesses, agree on a state it does not match; or
    #: none valid is kept, and the records and a backup plus the journal since it agree)
    digest: int | None = None


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


def _bridged(
    records: Mapping[str, bytes],
    entries: Mapping[str, Entry],
    journal: Sequence[JournalEntry],
    current: Mapping[str, bytes],
    witness: _Witness | None = None,
) -> tuple[_Replay, int, int] | None:
    """A replay across damaged journal entries, each bridged by its key's stored record, and
    how many were bridged and crossed; None when some damaged entry cannot be.

    A key's stored record, when it passes its own checksum, is the last write to that key
    whatever the journal says, so a damaged journal entry for it is not needed: the state is
    the replay of the readable entries with each such key's stored record put back. Only when
    every damaged entry's key is readable, stored, and its record intact; the result is trusted
    only if it gives the kept digest (the caller checks), so that a damaged item is taken from
    the backup and the journal's readable entries, not from a guess.

    An entry moved aside (:data:`MOVED_ASIDE`: its key unknown) could have been any key's last
    write: it is crossed only with a ``witness`` (the store's own version of each key's last
    change: a Redis session's index, an SQLite item row's version), when every key the state
    takes from the replay (its stored record damaged or gone) last changed where the replay
    read it, and every intact stored record is put back."""
    out_records = dict(records)
    out_entries = dict(entries)
    applied = 0
    bridged: dict[str, Entry] = {}
    last: dict[str, int] = {}
    unknown = 0
    for item in journal:
        if item.key == MOVED_ASIDE and witness is not None:
            unknown += 1
            continue
        try:
            validate_key(item.key)
        except ValidationError:
            return None
        try:
            entry = decode_entry(item.record)
        except CorruptedMemoryError:
            if item.key not in current:
                return None
            try:
                bridged[item.key] = decode_entry(current[item.key])
            except CorruptedMemoryError:
                return None
            continue
        out_records[item.key] = bytes(item.record)
        out_entries[item.key] = entry
        last[item.key] = item.version
        applied += 1
    if unknown and witness is not None:
        intact = _intact(current)
        if set(current) - set(intact) - set(out_records):
            return None  # (a damaged record no readable entry or base holds)
        for key in set(out_records) - set(intact):
            changed = witness.changed.get(key)
            if changed is None:
                return None
            if key in last:  # (its last change read here: no entry moved aside came after)
                if last[key] != changed:
                    return None
            elif key not in records or changed > witness.base:
                return None
        bridged.update(intact)
    elif not bridged:
        return None
    for key, entry in bridged.items():
        out_records[key] = bytes(current[key])
        out_entries[key] = entry
    return _Replay(out_records, out_entries, applied, None), len(bridged), unknown


@dataclass(frozen=True, slots=True)
class _Witness:
    """The store's own word on each key's last change (``last_changed``: a Redis session's
    index, the versions of an SQLite session's item rows), and the version of the base the
    replay starts from."""

    changed: Mapping[str, int]
    base: int


def _intact(current: Mapping[str, bytes]) -> dict[str, Entry]:
    """The stored records that pass their own checks, decoded."""
    out = {}
    for key, record in current.items():
        try:
            out[key] = decode_entry(record)
        except CorruptedMemoryError:
            continue
    return out


async def _witness(store: Store, session_id: str, base: int) -> _Witness | None:
    """The store's versions of each key's last change as a witness (None for a store that
    keeps none)."""
    last_changed = getattr(store, "last_changed", None)
    if last_changed is None:
        return None
    return _Witness(await last_changed(session_id), base)


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


def _agreed(
    replay: _Replay, digest: int | None, current: Mapping[str, bytes], source: str
) -> Candidate | None:
    """With no valid digest stored (it failed its own check and was cleared, or was lost):
    the session's records, when a backup and the journal since it (``replay``, from
    ``source``) give exactly them. Each record, the backup and every journal entry passed
    their own checks, so two independent witnesses agree on one state, and its digest
    (``digest``, made from it) is written again with it. None when they differ: with nothing
    to tell which is right, nothing is taken."""
    if digest is None or replay.records != dict(current):
        return None
    return Candidate(
        replay.records,
        0,
        f"its records, which {source} agree with (its digest is written again from them)",
        rebuilt=False,
        digest=digest,
    )


def _across_damage(
    bridged: tuple[_Replay, int, int] | None, digest: int | None, source: str
) -> Candidate | None:
    """The candidate a replay across damaged journal entries (:func:`_bridged`) gives, when it
    gives the kept digest; None otherwise, or when no valid digest is kept to check it by."""
    if bridged is None or digest is None:
        return None
    replay, count, unknown = bridged
    if _digest_or_none(replay.entries) != digest:
        return None
    if unknown:
        how = (
            f"{unknown} journal entr{'y' if unknown == 1 else 'ies'} moved aside crossed: the "
            "store's version of each damaged key's last change is that of a readable entry, "
            "every intact record kept"
        )
    else:
        how = (
            f"{count} damaged journal {'entry' if count == 1 else 'entries'} bridged by "
            f"{'its' if count == 1 else 'their'} keys' intact records"
        )
    return Candidate(
        replay.records,
        replay.applied,
        f"{source} + {replay.applied} readable journal updates ({how})",
        rebuilt=False,
    )


def _no_rebuild(floor: int) -> str:
    return (
        f"a journal-only rebuild is impossible: the journal was compacted through v{floor}, "
        "so an intact backup at or above that version is needed"
    )


async def plan(
    store: Store,
    session_id: str,
    version: int,
    digest: int | None,
    current: Mapping[str, bytes],
    notes: list[str],
) -> Candidate | None:
    """Find a state matching ``digest``: newest good backup + journal, else the journal alone
    (only while the journal is whole: never compacted). Backups below the journal floor are
    never used as a base: the journal past them is incomplete; one whose bytes or stored cells
    no read can take is passed over, said in ``notes``. ``digest`` None (none stored,
    or one that failed its own check and was cleared): only the session's own records are
    taken, when a backup + the journal since it, or the whole journal, give exactly them."""
    journal = _Journal(store, session_id, version)
    await journal.read_floor()
    listed, unusable = await usable_backups(store, session_id)
    notes += (f"{backup_named(backup_id)} unusable: {why}" for backup_id, why in unusable)
    for info in listed:
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
        except CorruptedMemoryError as exc:  # (its bytes stored as no blob: a hand edit)
            notes.append(f"backup {info.backup_id} unusable: {exc}")
            continue
        try:
            backup = decode_backup(blob, session_id, info)
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
        source = f"backup {info.backup_id} (v{backup.version}) + {replay.applied} journal updates"
        if replay.stopped_at is not None:
            witness = await _witness(store, session_id, backup.version)
            across = _across_damage(
                _bridged(backup.records, backup.entries, journal_part, current, witness),
                digest,
                f"backup {info.backup_id} (v{backup.version})",
            )
            if across is not None:
                return across
            notes.append(
                f"backup {info.backup_id} (v{backup.version}): journal corrupted at "
                f"v{replay.stopped_at}"
            )
            continue
        replayed = _digest_or_none(replay.entries)
        if replayed != digest:
            if digest is None:
                agreed = _agreed(replay, replayed, current, source)
                if agreed is not None:
                    return agreed
                notes.append(f"no digest is stored, and its records differ from {source}")
                continue
            notes.append(f"{source} does not match the stored digest")
            continue
        return Candidate(replay.records, replay.applied, source, rebuilt=False)
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
        witness = await _witness(store, session_id, 0)
        across = _across_damage(
            _bridged({}, {}, whole, current, witness), digest, "the journal alone"
        )
        if across is not None:
            return Candidate(across.records, across.replayed, across.source, rebuilt=True)
        notes.append(f"journal rebuild: journal corrupted at v{replay.stopped_at}")
        return None
    rebuilt_digest = _digest_or_none(replay.entries)
    if rebuilt_digest != digest:
        if replay.records == dict(current) and rebuilt_digest is not None:
            # two independent witnesses (every record, every journal entry since version 0)
            # agree on one state; the one kept value that does not is the damaged one
            return Candidate(
                replay.records,
                0,
                "its records, which the whole journal agrees with (the stored digest was off or "
                "lost: it is written again from them)",
                rebuilt=False,
                digest=rebuilt_digest,
            )
        notes.append(f"journal rebuild ({replay.applied} updates) does not match the stored digest")
        return None
    return Candidate(
        replay.records,
        replay.applied,
        f"a rebuild from the journal alone ({replay.applied} updates)",
        rebuilt=True,
    )
