"""Multi-replica session memory: local writes, delta sync, conflict strategies, auto-sync.

A :class:`DistributedMemoryManager` is one replica. It keeps every session it has touched in local
memory, so ``set``/``get``/``delete``/``state`` never wait on the network. Each local write is
stamped with the replica's hybrid logical clock (:mod:`memcore.hlc`) and its replica id, and stays
*pending* until a sync commits it.

``sync_session_memory`` is, at heart, a compare-and-set loop, never a lock held across round
trips (the two shorter ways below come first where they apply):

1. read the records changed since the last version this replica has merged (``read_changes``:
   the cost is what changed, not the session's size, after the first sync);
2. merge them: a key changed remotely and not pending here is simply taken; a key pending here
   *and* changed remotely by another replica is a conflict, settled by the strategy
   (``"remote-wins"``, ``"local-wins"``, ``"timestamp"``: the higher HLC stamp, replica id on ties);
3. commit the pending keys that won, with the digest of the merged state (kept incrementally by
   a ``StateDigest``), expecting the version just read; if another replica committed first the
   store writes nothing and the loop goes back to 1 after a short, jittered, growing pause.

Under the lock: on a store whose writers serialize on a lock anyway (SQLite: ``read_and_commit``)
a sync with pending keys reads the delta, merges it and commits in one transaction that holds the
write lock throughout, so it cannot lose a race: no retry, and no writer starves another. Anything
unusual in the delta (see ``_sync_under_lock``) is left to the loop above.

Commit first (stores without such a lock: Redis, memory): a replica with pending keys that knows
the store's exact state (the version it merged, the digest the store kept there, the store's
incarnation: ``ReplicaWatch.expected``) first tries a commit conditioned on all three
(``commit_if_unchanged``). If it lands, nothing changed remotely since that version, so there was
nothing to merge: the sync is that one transaction (one ``EVALSHA`` on Redis). If it fails,
nothing was written and the loop above runs as it always did, which also detects a store that
went back in time. A replica tries it only while the session is quiet (its last read found
nothing committed by others since its previous merge), and the store refuses it for a moment
after any commit lost its race there (``CONTENTION_WINDOW``): a writer committing first in a tight
loop would otherwise take every window a reader-merger needs, and starve it.

Now (SQLite's inline path, ``commit_now``): the commit first made synchronously, before any of
the group, lock and coroutine machinery: by a lone caller (no other sync of the session in
flight, none ready to start) and by a group's leader. It is only tried where nothing would wait.

Concurrent syncs of one session on one replica share commits (group commit): a caller that
arrives while a sync is in flight joins it if that sync has not yet taken its pending keys, or
else waits for the next one, which one of the waiting callers runs for all of them; each gets its
own ``SyncResult`` (:mod:`memcore.sync_group`). Across replicas and processes, syncs meet in the
store as described above. The state, the merge rules and the record decoding (one kernel call
per delta: ``memcore._kernels.records``) live in :mod:`memcore.sync_merge`.

Deletions are tombstones that travel like writes, so a replica that missed a delete cannot
resurrect the key. Nothing pending is dropped on failure: a ``BackendError`` propagates and the
changes stay pending for the next sync (the auto-sync task retries every ``sync_interval``).
A commit that raised may have landed all the same (its reply lost): the next sync first reads
the store's journal for the records it sent, and a landed commit's keys are committed, so a
later write over them by another replica (which had merged them) is taken, not a conflict.

A delta cannot report a key that no longer exists, so two checks keep a replica from holding keys
that ``replace_state`` (recovery) dropped. Each delta carries the version of the session's last
replacement (``replaced_at``): when it is above the version this replica had merged, the delta
holds every surviving key, so the replica drops all it held (pending changes excepted) and takes
the delta as the whole state, with no extra round trip. And each delta carries the stored digest
of its version: a replica with nothing pending whose digest then differs refetches the whole
session (``resync_session``'s path). Both are logged and counted in ``sync_diagnostics``; a
digest that still differs after a full refetch means the store's own digest disagrees with its
records (``verify_session`` / ``recover_corrupted_memory`` look into that) and is flagged there.

A store that lost data or went back in time (a flushed Redis, an SQLite file replaced by an older
copy) is told from a deliberate ``delete_session`` by the store's incarnation, and healed from
what the replicas hold (:mod:`memcore.store_health`); a record no replica can take is set aside
while the other keys sync (:mod:`memcore.quarantine`); so is, until this replica's wall clock
catches up with it, a record stamped further ahead of its clock than ``max_drift_ms``.

``close`` refuses syncs from the moment it begins and lets those under way finish before it
closes a store the manager owns; leaving ``async with`` flushes first
(:mod:`memcore.sync_lifecycle`).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import os
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from memcore._kernels import records as _records
from memcore.errors import ValidationError
from memcore.hlc import HybridLogicalClock
from memcore.model import Conflict, MemoryItem, MemorySyncMetadata, SyncResult, utc_now
from memcore.stores import resolve_store
from memcore.stores.base import (
    Entry,
    Store,
    commit_if_unchanged_of,
    commit_now_of,
    read_and_commit_of,
    shown_session_id,
    validate_key,
    validate_new_key,
    validate_session_id,
)
from memcore.sync_auto import AutoSync
from memcore.sync_commit import CommitPaths
from memcore.sync_diagnostics import SyncDiagnostics
from memcore.sync_group import GroupCommit, others_ready
from memcore.sync_lifecycle import Lifecycle, SyncsUnderWay
from memcore.sync_merge import (
    LeaderGone,
    SessionReplica,
    SyncGroup,
    coerce_item,
    take_pending,
    value_of,
)

if TYPE_CHECKING:
    from memcore.search import SearchHit

logger = logging.getLogger(__name__)

STRATEGIES = ("remote-wins", "local-wins", "timestamp")
#: The longest replica id (a session id's limit): it is in every record the replica writes.
MAX_REPLICA_ID = 200

# Lost compare-and-set races are retried after a pause drawn uniformly from [0, cap] ("full
# jitter"): contenders spread out instead of colliding again in lockstep. The cap starts at
# 2 * _BACKOFF_BASE and doubles with every further loss, up to _BACKOFF_MAX. A small base suits
# the common case (a handful of writers, sub-millisecond commits); the doubling takes care of
# heavier contention. (Scaling the base by the measured round trip was tried: in-process
# contenders inflate that measure and it halved throughput with 4 writers.)
_BACKOFF_BASE = 0.0001
_BACKOFF_MAX = 0.1
DEFAULT_MAX_ATTEMPTS = 64


def validate_strategy(strategy: object) -> str:
    if strategy not in STRATEGIES:
        raise ValidationError(
            f"unknown sync strategy {strategy!r}: use one of {', '.join(STRATEGIES)}"
        )
    return str(strategy)


class DistributedMemoryManager(GroupCommit, CommitPaths, AutoSync, Lifecycle):
    """One replica of any number of sessions, synchronised through a shared store.

    ``storage_backend`` is a store URL (the manager then owns the store and :meth:`close` closes
    it), a ``Store`` object (the caller's: never closed here) or None for the default store.
    ``replica_id`` names this replica in every record it writes (random when not given: two live
    replicas must never share one; 1-200 printable characters). ``clock`` and ``max_attempts``
    are for tests and tuning.
    """

    def __init__(
        self,
        storage_backend: str | Store | None = None,
        replica_id: str | None = None,
        strategy: str = "timestamp",
        sync_interval: float = 30.0,
        *,
        clock: HybridLogicalClock | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.strategy = validate_strategy(strategy)
        try:  # (an int past a float's range is no interval either)
            finite = math.isfinite(sync_interval)
        except (OverflowError, TypeError):
            finite = False
        if (
            not isinstance(sync_interval, (int, float))
            or isinstance(sync_interval, bool)
            or not finite
            or sync_interval <= 0
        ):
            huge = not finite and isinstance(sync_interval, int)
            shown = "an int past a float's range" if huge else repr(sync_interval)
            raise ValidationError(f"sync_interval must be a positive number (got {shown[:80]})")
        self.sync_interval = float(sync_interval)
        if replica_id is None:
            replica_id = f"replica-{os.urandom(8).hex()}"  # (``uuid`` costs a hook ~4 ms to import)
        if not isinstance(replica_id, str) or not replica_id:
            raise ValidationError(f"replica_id must be a non-empty string (got {replica_id!r})")
        # (it is written into every record this replica makes, and shown in conflicts: a
        # pasted 5,000-character line or a control character there was taken)
        if len(replica_id) > MAX_REPLICA_ID or not replica_id.isprintable():
            raise ValidationError(
                f"replica_id must be 1-{MAX_REPLICA_ID} printable characters (got "
                f"{shown_session_id(replica_id)})"
            )
        self.replica_id = replica_id
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValidationError(f"max_attempts must be a positive int (got {max_attempts!r})")
        self.max_attempts = max_attempts
        self.clock = clock if clock is not None else HybridLogicalClock()
        self.store, self._owns_store = resolve_store(storage_backend)
        # a store whose writers serialize on a lock: syncs read, merge and commit under it;
        # else one that can commit on the exact state a replica saw: syncs commit first
        self._under_lock = read_and_commit_of(self.store)
        self._conditional = commit_if_unchanged_of(self.store)
        self._now = commit_now_of(self.store)
        self._sessions: dict[str, SessionReplica] = {}
        self._auto_task: asyncio.Task[None] | None = None
        self._closed = False  # (writes check this; syncs count themselves in ``_syncs``)
        self._store_closed = False
        self._syncs = SyncsUnderWay()  # what ``close`` waits for (memcore.sync_lifecycle)

    # --- local reads and writes (synchronous, never touch the store) --------------------------

    def _session(self, session_id: str) -> SessionReplica:
        try:
            session = self._sessions.get(session_id)
        except TypeError:  # unhashable, so no session id: said below
            session = None
        if session is None:
            validate_session_id(session_id)
            session = self._sessions[session_id] = SessionReplica()
        return session

    def _write(self, session_id: str, key: str, value: Any, deleted: bool) -> None:
        if self._closed:  # a write now could never be synced: refuse it, loudly
            raise ValidationError("this manager is closed: open a new one to write")
        session = self._session(session_id)
        if not isinstance(key, str) or key not in session.slots:  # (held keys were validated)
            validate_new_key(key)
        if not deleted:  # (the key first: an empty key was said to be a bad value, or item id)
            value = coerce_item(key, value)
        # encoded (and so validated) before anything changes: a rejected write changes nothing
        stamp = self.clock.now()
        try:
            slot = _records.make_record(key, value, stamp, self.replica_id, deleted)
        except ValidationError as exc:  # (the encoder knows the value, not which key it is)
            raise ValidationError(f"key {key!r}: {exc}") from exc
        session.write(key, slot)

    def set(self, session_id: str, key: str, value: MemoryItem | Mapping[str, Any]) -> None:
        """Write ``value`` locally; pending until sync.

        ``value`` is a MemoryItem or a MemoryItem-shaped mapping (one without ``id`` takes
        ``key`` as its id); an id that differs from ``key``, or a value that cannot be encoded,
        is a ``ValidationError`` and changes nothing.
        """
        self._write(session_id, key, value, False)

    def delete(self, session_id: str, key: str) -> None:
        """Delete ``key`` locally by writing a tombstone; pending until sync."""
        self._write(session_id, key, None, True)

    def get(self, session_id: str, key: str) -> Any:
        """This replica's value of ``key`` (a fresh copy), or None if absent or deleted."""
        slot = self._session(session_id).slots.get(
            key if isinstance(key, str) else validate_key(key)
        )
        return None if slot is None else value_of(slot)

    def state(self, session_id: str) -> dict[str, Any]:
        """Every live value of the session as this replica holds it (fresh copies)."""
        slots = self._session(session_id).slots
        return {k: value_of(s) for k, s in slots.items() if not s.deleted}

    def latest(self, session_id: str, count: int) -> dict[str, Any]:
        """The ``count`` live values written last (by their HLC stamps; fresh copies): the
        recent part of a long session, without decoding the rest. ``count`` is a whole number
        >= 0 (else ``ValidationError``, as ``search``'s ``k``)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValidationError(f"count must be a whole number >= 0 (got {count!r})")
        slots = self._session(session_id).slots
        live = heapq.nlargest(count, ((s.stamp, k) for k, s in slots.items() if not s.deleted))
        return {key: value_of(slots[key]) for _, key in live}

    def value_hashes(self, session_id: str) -> dict[str, int]:
        """Each live key's value hash (``entry_hash(key, value)``, what the state digest sums),
        read from what the replica holds, nothing decoded: what a structure built from the
        values (an index, a cache) compares to learn which of them changed."""
        slots = self._session(session_id).slots
        return {k: s.digest_hash for k, s in slots.items() if not s.deleted}

    def entry(self, session_id: str, key: str) -> Entry | None:
        """The full local entry of ``key`` (value, HLC stamp, writer, tombstone flag), if any."""
        slot = self._session(session_id).slots.get(
            key if isinstance(key, str) else validate_key(key)
        )
        return None if slot is None else Entry(*_records.decode_entry(slot.data))

    def pending(self, session_id: str) -> frozenset[str]:
        """Keys written locally and not yet committed to the store."""
        return frozenset(self._session(session_id).pending)

    def metadata(self, session_id: str) -> MemorySyncMetadata:
        """Last successful sync time, the store version merged and the local state digest."""
        session = self._session(session_id)
        return MemorySyncMetadata(
            session_id, session.last_sync, session.version, session.digest.value
        )

    def search(self, session_id: str, query: str, k: int = 10) -> list[SearchHit]:
        """The ``k`` live items of the session that best match ``query`` (BM25), best first.

        Searches what this replica holds (pending writes and synced items alike); the index is
        built on the session's first search and kept current by every later change.
        """
        session = self._session(session_id)
        if session.recall is None:
            from memcore.search import SessionIndex  # (here: one that never searches needs none)

            session.recall = SessionIndex(value_of)
        return session.recall.search(session.slots, query, k)

    def sync_diagnostics(self, session_id: str) -> SyncDiagnostics:
        """Refetches and digest checks of this replica's syncs of ``session_id``."""
        session = self._session(session_id)
        watch = session.watch
        return SyncDiagnostics(
            session_id,
            session.refetches,
            session.last_refetch,
            session.stored_digest_mismatch,
            watch.went_back,
            watch.last_went_back,
            tuple(sorted(watch.set_aside)),
        )

    @property
    def sessions(self) -> list[str]:
        """Sessions this replica has touched (written, read or synced)."""
        return sorted(self._sessions)

    # --- sync --------------------------------------------------------------------------------

    async def sync_session_memory(self, session_id: str, strategy: str | None = None) -> SyncResult:
        """Merge the store's changes into this replica and commit its pending changes.

        Concurrent calls for one session share commits (group commit): a call made while a sync
        of the session is in flight joins it if that sync has not yet taken the keys it
        commits (its keys then travel in that compare-and-set), else it joins the next sync,
        which one caller runs for all the others waiting. Every caller gets its own
        ``SyncResult`` of the sync that carried its keys.

        Raises ``ValidationError`` for an unknown strategy, ``BackendError`` when the store fails
        (pending changes are kept) and ``CorruptedMemoryError`` when a stored record does not
        decode (nothing of that delta is applied; ``recover_corrupted_memory`` repairs the store).
        Losing the compare-and-set race ``max_attempts`` times in a row gives ``success=False``
        with the changes still pending.
        """
        self._syncs.enter()  # (ValidationError once close has begun: close waits for this one)
        try:
            chosen = self.strategy if strategy is None else validate_strategy(strategy)
            session = self._session(session_id)
            loop = asyncio.get_running_loop()  # (looked up once: see process_id)
            session.serve(loop, session_id)
        except BaseException:
            self._syncs.leave()
            raise
        try:
            if (
                self._now is not None
                and not session.lock.locked()
                and session.running is None
                and session.waiting is None
                and not session.in_flight  # (settled first, by ``_sync_locked``)
                and not others_ready(loop)
            ):
                committed = self._commit_now(session_id, session)  # a lone writer: no group
                if committed is not None:
                    # (nothing was awaited since the keys were taken: the digest is the one
                    # committed, so this does not wait either)
                    return await self._committed(session_id, session, chosen, {}, 0, *committed)
            while True:
                group = self._joinable(session, chosen)
                if group is None:
                    return await self._lead(session_id, session, chosen, loop)
                try:
                    result = await group.join()
                except LeaderGone:  # the task running it was cancelled: sync on our own
                    continue
                # its own copy (``dataclasses.replace`` took 3 us a follower of a group commit)
                return SyncResult(
                    result.success,
                    result.conflicts_resolved,
                    result.version,
                    result.synced_items,
                    list(result.conflicts),
                    result.error,
                )
        finally:
            session.served()
            self._syncs.leave()

    async def resync_session(self, session_id: str, strategy: str | None = None) -> SyncResult:
        """Forget what was merged, refetch the whole session, then sync as usual.

        A plain sync already does this by itself when the store reports a ``replace_state``
        this replica has not merged, or when its digest disagrees with the stored one (see the
        module docstring); this forces it, e.g. against a store that reports neither. Pending
        local changes are kept and settled like in any sync.
        """
        self._syncs.enter()
        try:
            chosen = self.strategy if strategy is None else validate_strategy(strategy)
            session = self._session(session_id)
            session.serve(asyncio.get_running_loop(), session_id)
        except BaseException:
            self._syncs.leave()
            raise
        try:
            async with session.lock:
                return await self._sync_locked(session_id, session, chosen, refetch=True)
        finally:
            session.served()
            self._syncs.leave()

    async def _sync_locked(
        self,
        session_id: str,
        session: SessionReplica,
        strategy: str,
        *,
        refetch: bool = False,
        group: SyncGroup | None = None,
    ) -> SyncResult:
        """The compare-and-set loop; ``refetch``: read the whole session the first time."""
        conflicts: dict[str, Conflict] = {}
        pulled = 0
        if session.in_flight:  # (after a commit that raised: did it land?)
            await self._settle_in_flight(session_id, session)
        if session.pending and not refetch:
            committed = None if self._now is None else self._commit_now(session_id, session, group)
            if committed is not None:
                return await self._committed(
                    session_id, session, strategy, conflicts, 0, *committed
                )
            if self._under_lock is not None:
                done, pulled = await self._sync_under_lock(
                    session_id, session, strategy, conflicts, group
                )
            elif session.quiet and self._conditional is not None:
                done = await self._commit_first(session_id, session, strategy, conflicts, group)
            else:
                done = None
            if done is not None:
                return done
        for attempt in range(self.max_attempts):
            if attempt:
                cap = min(_BACKOFF_MAX, _BACKOFF_BASE * 2 ** min(attempt, 16))
                await asyncio.sleep(random.uniform(0, cap))
            if group is not None:
                group.open = True  # a retry takes the pending keys again: newcomers ride along
            # the delta, and whether the store lost data or went back in time (store_health)
            delta, verdict = await session.watch.read_changes(
                self.store, session_id, 0 if refetch else session.version, session.version
            )
            # nothing committed by others since the last merge: the next sync commits first
            session.quiet = verdict is None and delta.version == session.version
            whole, refetch = refetch, False
            if verdict is not None and verdict.heal:
                # the store lost acknowledged writes: heal it from what this replica holds
                session.watch.heal(session_id, session, verdict)
                if not whole:
                    delta = await self.store.read_changes(session_id, 0)
                    whole = True
            elif whole:
                pass  # asked for the whole session: nothing held is kept anyway
            elif verdict is not None or delta.version < session.version:
                # The session was deleted or rolled back under us: start again from nothing,
                # keeping only what is pending here.
                logger.warning(
                    "session %r went back from version %d to %d; refetching it whole",
                    session_id,
                    session.version,
                    delta.version,
                )
                session.refetched(f"the session went back to version {delta.version}")
                delta = await self.store.read_changes(session_id, 0)
                whole = True
            elif delta.replaced_at > session.version > 0:
                # replace_state rewrote the session after what we merged, maybe dropping keys: a
                # delta from before the replacement holds every surviving key, so it is the
                # whole session; drop what we held (pending changes stay) and take it as such
                logger.info(
                    "session %r was replaced at version %d (this replica had merged %d); "
                    "taking the delta as the whole session",
                    session_id,
                    delta.replaced_at,
                    session.version,
                )
                session.refetched(
                    f"the session was rewritten at version {delta.replaced_at} (a recovery, "
                    "or its change index rebuilt): taken whole"
                )
                whole = True
            pulled += self._merge(session_id, session, delta.records, strategy, conflicts, whole)
            session.version = delta.version
            session.watch.saw(delta.version, delta.digest)
            if not session.pending:
                if group is not None:
                    group.open = False
                pulled += await self._check_digest(
                    session_id, session, delta.digest, strategy, conflicts
                )
                return self._done(session, conflicts, pulled, 0)
            outgoing = take_pending(session, group)
            new_version = await self.store.commit(
                session_id, delta.version, outgoing.records, outgoing.digest
            )
            if new_version is None:
                session.refused()
                continue  # another replica committed first: merge its changes, try again
            return await self._committed(
                session_id, session, strategy, conflicts, pulled, outgoing, new_version
            )
        return SyncResult(
            success=False,
            conflicts_resolved=len(conflicts),
            version=session.version,
            synced_items=pulled,
            conflicts=list(conflicts.values()),
            error=(
                f"lost the compare-and-set race {self.max_attempts} times in a row; "
                f"{len(session.pending)} changes stay pending"
            ),
        )

    def _done(
        self, session: SessionReplica, conflicts: dict[str, Conflict], pulled: int, pushed: int
    ) -> SyncResult:
        session.last_sync = utc_now()
        return SyncResult(
            success=True,
            conflicts_resolved=len(conflicts),
            version=session.version,
            synced_items=pulled + pushed,
            conflicts=list(conflicts.values()),
        )

    async def _check_digest(
        self,
        session_id: str,
        session: SessionReplica,
        stored: int | None,
        strategy: str,
        conflicts: dict[str, Conflict],
    ) -> int:
        """With nothing pending, this replica should hold exactly the stored state of its
        version: if its digest says otherwise, refetch the whole session. Returns how many
        remote changes the refetch took (0 when the digest matched)."""
        if stored is None or session.watch.digest_agrees(session.digest, stored):
            session.stored_digest_mismatch = False
            return 0
        logger.warning(
            "session %r: local digest %016x differs from the stored %016x at version %d; "
            "refetching the whole session",
            session_id,
            session.digest.value,
            stored,
            session.version,
        )
        session.refetched(f"digest mismatch at version {session.version}")
        whole = await self.store.read_changes(session_id, 0)
        taken = self._merge(session_id, session, whole.records, strategy, conflicts, True)
        session.version = whole.version
        session.watch.saw(whole.version, whole.digest)
        mismatch = (
            not session.pending
            and whole.digest is not None
            and not session.watch.digest_agrees(session.digest, whole.digest)
        )
        if mismatch:
            logger.warning(
                "session %r: the stored digest at version %d does not match the stored records; "
                "run verify_session / recover_corrupted_memory on it",
                session_id,
                whole.version,
            )
        session.stored_digest_mismatch = mismatch
        return taken


__all__ = ["STRATEGIES", "DistributedMemoryManager", "SyncDiagnostics", "validate_strategy"]
