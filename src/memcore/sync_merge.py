"""One replica's copy of one session, and how a delta from the store merges into it.

Split from :mod:`memcore.sync` (which runs the compare-and-set loop around it): this module is
the state and the merge rules, with no I/O. A replica keeps every key as a
``memcore._kernels.records.Record`` (the encoded entry plus its stamp, writer, tombstone flag and
digest hash), so ``get`` hands out a fresh object each time and no caller can change the
replica's state, and break its digest, by mutating a returned item.

A delta is decoded in one kernel call (``read_records``), the clock observes its largest stamp
once, and only then does the merge change anything: a corrupted record or a refused stamp leaves
the replica as it was.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from memcore._kernels import records as _records
from memcore.codec import StateDigest
from memcore.errors import CorruptedMemoryError, ValidationError
from memcore.hlc import COUNTER_BITS, MAX_STAMP, HybridLogicalClock, is_newer
from memcore.model import Conflict, MemoryItem, SyncResult
from memcore.quarantine import OBSERVED_STAMP_CAP, SetAside, read_takeable
from memcore.store_health import REPUSH, ReplicaWatch, repush_winner

if TYPE_CHECKING:
    from memcore.search import SessionIndex
    from memcore.stores.base import JournalEntry

logger = logging.getLogger("memcore.sync")

Record = _records.Record
decode_value = _records.decode_value


def coerce_item(key: str, value: object) -> MemoryItem:
    """The item ``set(session, key, value)`` stores: a mapping without ``id`` takes ``key``;
    an item (or mapping) whose id is not ``key`` is a ``ValidationError``."""
    if isinstance(value, MemoryItem):
        item = value
    elif isinstance(value, Mapping):
        item = MemoryItem.from_dict(value if "id" in value else {**value, "id": key})
    else:
        raise ValidationError(
            "session values are MemoryItems or MemoryItem-shaped dicts "
            f"(got {type(value).__name__})"
        )
    if item.id != key:
        raise ValidationError(f"item id {item.id!r} differs from its key {key!r}")
    return item


class LeaderGone(Exception):
    """Told to the callers waiting on a group whose leader was cancelled: sync on your own."""


class SyncGroup:
    """The callers one sync serves (group commit): its leader runs it, the others await it.

    ``open`` while the sync has not yet taken the pending keys it commits: a caller joining
    then has its keys carried by this very commit; once closed, newcomers form the next group.
    Each follower waits on its own future (cancelling one caller touches no other), woken
    directly by ``settle``.
    """

    __slots__ = ("followers", "loop", "open", "strategy")

    def __init__(self, strategy: str, loop: asyncio.AbstractEventLoop) -> None:
        self.strategy = strategy
        self.loop = loop  # the leader's, which every caller of the session's syncs runs on
        self.open = True
        self.followers: list[asyncio.Future[SyncResult]] = []

    def join(self) -> asyncio.Future[SyncResult]:
        waiter: asyncio.Future[SyncResult] = self.loop.create_future()
        self.followers.append(waiter)
        return waiter

    def settle(self, result: SyncResult | None, error: BaseException | None = None) -> None:
        """Hand the leader's outcome to every follower still waiting."""
        for waiter in self.followers:
            if waiter.done():  # its caller was cancelled
                continue
            if error is not None:
                waiter.set_exception(error)
            elif result is not None:
                waiter.set_result(result)


#: Guards ``SessionReplica.serve``'s look and count against another thread's.
_SERVING = threading.Lock()


@dataclass
class SessionReplica:
    """What one replica holds of one session, and the bookkeeping its syncs need."""

    slots: dict[str, Record] = field(default_factory=dict)
    # key -> (stamp, replica) of the merged value its local write replaced (None: none), so a
    # record seen again after a refetch is not mistaken for a remote change
    pending: dict[str, tuple[int, str] | None] = field(default_factory=dict)
    digest: StateDigest = field(default_factory=StateDigest)
    version: int = 0  # the store version whose changes are all merged here
    last_sync: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refetches: int = 0
    last_refetch: str | None = None
    stored_digest_mismatch: bool = False
    # the store's incarnation, went-back events and set-aside records (memcore.store_health)
    watch: ReplicaWatch = field(default_factory=ReplicaWatch)
    # the last read found nothing committed by others since the merge before it: syncs commit
    # first (``commit_if_unchanged``) until a read finds other replicas' commits
    quiet: bool = True
    running: SyncGroup | None = None  # the sync in flight, if any
    waiting: SyncGroup | None = None  # the callers waiting for the next one
    loop: asyncio.AbstractEventLoop | None = None  # the event loop ``lock`` serves
    active: int = 0  # the syncs under way on it (``serve``)
    recall: SessionIndex | None = None  # built by the first search; told of every changed key
    # the slots of each commit sent since the last one known to have landed: a commit that
    # raised may have landed all the same (its reply lost), which ``landed`` tells
    in_flight: list[dict[str, Record]] = field(default_factory=list)
    in_flight_since: int = 0  # the lowest version this replica had merged when one was sent
    # stored records stamped further ahead of this replica's clock than its ``max_drift_ms``:
    # set aside (``watch.set_aside``), taken once the clock has caught up (``merge``)
    ahead: dict[str, Record] = field(default_factory=dict)

    def serve(self, loop: asyncio.AbstractEventLoop, session_id: str) -> None:
        """Count a sync on ``loop`` in (``served`` counts it out). An asyncio lock and the
        group commit's futures belong to one event loop, so a sync on another loop (another
        thread's) while this session's syncs are under way is a ``ValidationError`` (it crashed
        one loop with asyncio's "attached to a different loop" and left the other waiting for
        good); once they are over, a new loop takes the session over."""
        with _SERVING:
            if self.loop is not loop:
                if self.active:
                    raise ValidationError(
                        f"session {session_id!r} is syncing on another event loop of this "
                        "manager: a manager syncs a session on one event loop at a time (give "
                        "each thread that runs its own loop its own manager)"
                    )
                self.lock = asyncio.Lock()
                self.loop = loop
            self.active += 1

    def served(self) -> None:
        """A sync counted in by ``serve`` is over."""
        with _SERVING:
            self.active -= 1

    def put(self, key: str, slot: Record) -> None:
        """Replace ``key``'s slot, keeping the digest equal to the live state's."""
        old = self.slots.get(key)
        if old is not None and not old.deleted:
            self.digest.remove_hash(old.digest_hash)
        if not slot.deleted:
            self.digest.add_hash(slot.digest_hash)
        self.slots[key] = slot
        if self.recall is not None:
            self.recall.changed(key)

    def write(self, key: str, slot: Record) -> None:
        """A local write: ``key`` becomes pending (remembering what it replaced) and ``slot``."""
        if key not in self.pending:
            base = self.slots.get(key)
            self.pending[key] = None if base is None else (base.stamp, base.replica)
        self.put(key, slot)

    def sent(self, slots: dict[str, Record]) -> None:
        """``slots`` are about to be committed: remembered until the commit is known to have
        landed (``_committed``) or the journal says whether it did (``landed``)."""
        if not slots or (self.in_flight and self.in_flight[-1] == slots):
            return  # (nothing, or the same keys taken again: one wait for the lock, say)
        if not self.in_flight or self.version < self.in_flight_since:
            self.in_flight_since = self.version
        self.in_flight.append(slots)

    def refused(self) -> None:
        """The commit just sent wrote nothing (the store said so): nor did any sent before it
        in this sync, which each got the same answer (an unknown outcome ends a sync)."""
        self.in_flight = []

    def landed(self, journal: Iterable[JournalEntry]) -> dict[str, Record]:
        """Settle the commits sent whose outcome is unknown, from the store's journal above
        ``in_flight_since``, and forget them: the keys one of them carried that the journal
        holds (a commit lands whole) are no longer pending, or, rewritten here since, pending
        over the landed write. Else a later write over it by another replica, which had merged
        it, looked like a conflict (and ``local-wins`` put the older value back). Returns the
        landed slots by key; a commit the journal no longer covers (truncated) counts as not
        landed, as before."""
        sent: dict[tuple[str, bytes], Record] = {}
        for slots in self.in_flight:
            for key, slot in slots.items():
                sent[key, slot.data] = slot
        self.in_flight = []
        found: dict[str, Record] = {}
        for entry in journal:  # oldest first: the last found of a key is the store's latest
            match = sent.get((entry.key, entry.record))
            if match is not None:
                found[entry.key] = match
        for key, slot in found.items():
            if key not in self.pending:
                continue
            if self.slots.get(key) is slot:
                del self.pending[key]
            else:  # rewritten here since it was sent: pending over what the store holds
                self.pending[key] = (slot.stamp, slot.replica)
        self.committed(found)
        return found

    def committed(self, keys: Mapping[str, object]) -> None:
        """Keys this replica committed replaced whatever the store held for them, records set
        aside included."""
        self.watch.committed(keys)
        if self.ahead:
            for key in keys:
                self.ahead.pop(key, None)

    def commit_digest(self) -> int:
        """The digest of the state a commit leaves in the store: this replica's, with the
        records it holds back (``ahead``) that no pending write replaces: the store keeps them
        (a digest without them made ``verify_session`` call the session corrupted)."""
        if not self.ahead:
            return self.digest.value
        combined = self.digest.copy()
        for key, slot in self.ahead.items():
            if key not in self.pending and not slot.deleted:
                combined.add_hash(slot.digest_hash)
        return combined.value

    def refetched(self, why: str) -> None:
        self.refetches += 1
        self.last_refetch = why

    def reset(self) -> None:
        """Forget everything merged, keeping only the pending changes."""
        kept = {key: self.slots[key] for key in self.pending}
        self.slots = {}
        self.digest = StateDigest()
        for key, slot in kept.items():
            self.put(key, slot)
        self.version = 0


class Outgoing(NamedTuple):
    """What one commit carries: the pending keys' slots as taken, their encoded records, and
    the digest of the replica's state with them (what the store keeps at the new version)."""

    slots: dict[str, Record]
    records: dict[str, bytes]
    digest: int


def take_pending(session: SessionReplica, group: SyncGroup | None) -> Outgoing:
    """The pending keys a commit carries, taken now: the sync group closes (a caller arriving
    from here on has its keys carried by the next sync)."""
    if group is not None:
        group.open = False
    slots = {key: session.slots[key] for key in session.pending}
    session.sent(slots)
    return Outgoing(slots, {key: slot.data for key, slot in slots.items()}, session.commit_digest())


def _ahead_of(
    session: SessionReplica,
    records: Mapping[str, bytes],
    incoming: dict[str, Record],
    limit: int,
    whole: bool,
) -> dict[str, Record]:
    """Move out of ``incoming`` the records stamped above ``limit`` (the clock's
    ``ahead_limit``), and into it the records held back before that the clock now takes;
    returns the records to hold back now. A held record the delta brings again (the store's
    latest of its key) or that a commit of ours replaced is judged afresh, or dropped."""
    ahead: dict[str, Record] = {}
    for key, slot in ({} if whole else session.ahead).items():  # (a whole delta has them all)
        aside = session.watch.set_aside.get(key)
        if key in records or aside is None or aside.record != slot.data:
            continue
        if slot.stamp <= limit:
            incoming[key] = slot
        else:
            ahead[key] = slot
    for key, slot in list(incoming.items()):
        if slot.stamp > limit:
            local = session.slots.get(key)
            if local is not None and local.data == slot.data:
                continue  # this replica's own record: its clock issued that stamp
            ahead[key] = slot
            del incoming[key]
    return ahead


def _hold_back(
    session_id: str,
    session: SessionReplica,
    ahead: dict[str, Record],
    limit: int,
    clock: HybridLogicalClock,
    conflicts: dict[str, Conflict],
) -> None:
    """Set aside the records stamped too far ahead (``max_drift_ms``), as the records no replica
    can take are (``memcore.quarantine``: in ``SyncDiagnostics.set_aside``, the other keys
    syncing on), but only until this replica's clock catches up. Before, a sync observing one
    raised ``ValidationError``: every sync of the session failed, and this replica's own
    writes stayed pending. A key pending here keeps its write, committed over the held record
    (whose stamp this replica refuses): a conflict, reported, won by the local write."""
    wall = (limit >> COUNTER_BITS) - (clock.max_drift_ms or 0)
    held = session.ahead
    for key, slot in ahead.items():
        ms = (slot.stamp >> COUNTER_BITS) - wall
        if held.get(key) == slot and key in session.watch.set_aside:
            continue  # held back by an earlier sync: said then
        session.watch.set_aside[key] = SetAside(
            slot.data,
            f"the record of key {key!r} is stamped {ms} ms ahead of this replica's clock, past "
            f"its max_drift_ms ({clock.max_drift_ms})",
            slot.digest_hash,
        )
        if held.get(key) == slot:
            continue  # (set aside again after a whole refetch: said before)
        local = session.slots.get(key)
        if key in session.pending and local is not None:
            if session.pending[key] != (slot.stamp, slot.replica):
                conflicts[key] = Conflict(key, value_of(local), value_of(slot), "local")
                session.pending[key] = (slot.stamp, slot.replica)
        elif local is not None:  # a stale copy: the store holds this record now
            if not local.deleted:
                session.digest.remove_hash(local.digest_hash)
            del session.slots[key]
            if session.recall is not None:
                session.recall.changed(key)
        logger.warning(
            "session %r: the record of key %r is stamped %d ms ahead of this replica's clock "
            "(max_drift_ms %d); set aside until the clock catches up, the other keys sync on",
            session_id,
            key,
            ms,
            clock.max_drift_ms,
        )
    session.ahead = ahead


def value_of(slot: Record) -> Any:
    return None if slot.deleted else decode_value(slot.data)


def settle(strategy: str, local: Record, remote: Record) -> str:
    if strategy == "remote-wins":
        return "remote"
    if strategy == "local-wins":
        return "local"
    newer = is_newer(local.stamp, local.replica, remote.stamp, remote.replica)
    return "local" if newer else "remote"


def merge(
    session_id: str,
    session: SessionReplica,
    records: Mapping[str, bytes],
    *,
    replica_id: str,
    clock: HybridLogicalClock,
    strategy: str,
    conflicts: dict[str, Conflict],
    whole: bool = False,
) -> int:
    """Apply a delta (all or nothing); returns how many remote changes were taken.

    ``whole``: the records are the whole session, so what this replica held is dropped first
    (pending changes stay), but only once every record decoded. A record that decodes but that
    no replica can take is set aside, not applied (``memcore.quarantine``).
    """
    try:
        incoming, top, refused = read_takeable(records)  # records no replica can take: set aside
    except CorruptedMemoryError as exc:
        raise CorruptedMemoryError(
            f"session {session_id!r}: {exc}; run recover_corrupted_memory on this session"
        ) from exc
    limit = clock.ahead_limit()
    holding = limit is not None or bool(session.ahead)
    ahead: dict[str, Record] = {}
    if holding:
        limit = MAX_STAMP if limit is None else limit  # (max_drift_ms dropped: take them all)
        ahead = _ahead_of(session, records, incoming, limit, whole)
        stamps = (slot.stamp for slot in incoming.values() if slot.stamp <= limit)
        top = min(max(stamps, default=0), OBSERVED_STAMP_CAP)
    if incoming:
        clock.observe(top, limit=limit)  # before changing anything: the clock may refuse it
    if whole:
        session.reset()
    session.watch.note_refused(session_id, session, incoming, refused, whole)
    if holding:
        assert limit is not None
        _hold_back(session_id, session, ahead, limit, clock, conflicts)
    if not session.slots and not session.pending:
        # nothing held here (a first sync or a refetch): every record is simply taken
        for slot in incoming.values():
            if not slot.deleted:
                session.digest.add_hash(slot.digest_hash)
        session.slots = incoming
        return len(incoming)
    slots, pending = session.slots, session.pending
    taken = 0
    for key, remote in incoming.items():
        local = slots.get(key)
        if (
            local is not None
            and local.stamp == remote.stamp
            and local.replica == remote.replica
            and local.digest_hash == remote.digest_hash  # (else another writer under our id)
        ):
            pending.pop(key, None)  # our own write, already committed
            continue
        if local is not None and key in pending:
            seen = (remote.stamp, remote.replica)
            if pending[key] == seen:
                continue  # the value our pending write replaced, refetched: no change
            if remote.replica == replica_id:
                if remote.stamp < local.stamp:  # (our clock only goes forward)
                    pending[key] = seen  # an older write of ours; ours supersedes it
                    continue
                # newer than our own latest write of it, so not ours: another live replica
                # writes under this id. Settled as any conflict (the newer write is kept).
                logger.warning(
                    "session %r: key %r holds a write under this replica's id %r that this "
                    "replica did not make; two live replicas must never share an id",
                    session_id,
                    key,
                    replica_id,
                )
            if pending[key] == REPUSH:  # held before the store lost it: not a conflict
                winner = repush_winner(local, remote)
            else:
                winner = settle(strategy, local, remote)
                conflicts[key] = Conflict(key, value_of(local), value_of(remote), winner)
            if winner == "local":
                pending[key] = seen  # settled against this value; commit over it
                continue
            del pending[key]
        session.put(key, remote)
        taken += 1
    return taken


__all__ = [
    "LeaderGone",
    "Outgoing",
    "Record",
    "SessionReplica",
    "SyncGroup",
    "coerce_item",
    "merge",
    "settle",
    "take_pending",
    "value_of",
]
