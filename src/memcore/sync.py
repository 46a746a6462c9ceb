"""Multi-replica session memory: local writes, delta sync, conflict strategies, auto-sync.

A :class:`DistributedMemoryManager` is one replica. It keeps every session it has touched in local
memory, so ``set``/``get``/``delete``/``state`` never wait on the network. Each local write is
stamped with the replica's hybrid logical clock (:mod:`memcore.hlc`) and its replica id, and stays
*pending* until a sync commits it.

``sync_session_memory`` is a compare-and-set loop, never a lock held across round trips:

1. read the records changed since the last version this replica has merged (``read_changes``:
   the cost is what changed, not the session's size, after the first sync);
2. merge them: a key changed remotely and not pending here is simply taken; a key pending here
   *and* changed remotely by another replica is a conflict, settled by the strategy
   (``"remote-wins"``, ``"local-wins"``, ``"timestamp"``: the higher HLC stamp, replica id on ties);
3. commit the pending keys that won, with the digest of the merged state (kept incrementally by
   a ``StateDigest``), expecting the version just read; if another replica committed first the
   store writes nothing and the loop goes back to 1 after a short, jittered, growing pause.

Deletions are tombstones that travel like writes, so a replica that missed a delete cannot
resurrect the key. Nothing pending is dropped on failure: a ``BackendError`` propagates and the
changes stay pending for the next sync (the auto-sync task retries every ``sync_interval``).

A delta cannot report a key that no longer exists, so two checks keep a replica from holding keys
that ``replace_state`` (recovery) dropped. Each delta carries the version of the session's last
replacement (``replaced_at``): when it is above the version this replica had merged, the delta
holds every surviving key, so the replica drops all it held (pending changes excepted) and takes
the delta as the whole state, with no extra round trip. And each delta carries the stored digest
of its version: a replica with nothing pending whose digest then differs refetches the whole
session (``resync_session``'s path). Both are logged and counted in ``sync_diagnostics``; a
digest that still differs after a full refetch means the store's own digest disagrees with its
records (``verify_session`` / ``recover_corrupted_memory`` look into that) and is flagged there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple

from memcore.codec import StateDigest, entry_hash
from memcore.errors import CorruptedMemoryError, ValidationError
from memcore.hlc import HybridLogicalClock, is_newer
from memcore.model import Conflict, MemoryItem, MemorySyncMetadata, SyncResult, utc_now
from memcore.stores import resolve_store
from memcore.stores.base import (
    Entry,
    Store,
    decode_entry,
    encode_entry,
    validate_key,
    validate_session_id,
)

logger = logging.getLogger(__name__)

STRATEGIES = ("remote-wins", "local-wins", "timestamp")

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


class _Slot(NamedTuple):
    """One key as this replica holds it: the encoded record plus what merging needs.

    Values are kept encoded, so ``get`` hands out a fresh object each time and no caller can
    change the replica's state (and break its digest) by mutating a returned item. A tuple: one
    is built per write and per remote change, so construction cost matters.
    """

    record: bytes
    stamp: int
    replica: str
    deleted: bool
    digest_hash: int  # entry_hash(key, value) of a live value; 0 for a tombstone (not digested)


@dataclass
class _Session:
    slots: dict[str, _Slot] = field(default_factory=dict)
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

    def put(self, key: str, slot: _Slot) -> None:
        """Replace ``key``'s slot, keeping the digest equal to the live state's."""
        old = self.slots.get(key)
        if old is not None and not old.deleted:
            self.digest.remove_hash(old.digest_hash)
        if not slot.deleted:
            self.digest.add_hash(slot.digest_hash)
        self.slots[key] = slot


@dataclass(frozen=True, slots=True)
class SyncDiagnostics:
    """How one replica's syncs of a session went beyond what ``SyncResult`` says.

    ``refetches``: how many times this replica dropped what it had merged and took the whole
    session again (after a ``replace_state``, a rolled-back or deleted session, or a digest that
    did not match), ``resync_session`` calls excluded; ``last_refetch``: why, the last time.
    ``stored_digest_mismatch``: at the last sync with nothing pending, even the whole refetched
    session did not give the stored digest, i.e. the store's digest disagrees with its records
    (run ``verify_session``); False again once a sync matches.
    """

    session_id: str
    refetches: int
    last_refetch: str | None
    stored_digest_mismatch: bool


def _coerce_item(value: object) -> MemoryItem:
    if isinstance(value, MemoryItem):
        return value
    if isinstance(value, Mapping):
        return MemoryItem.from_dict(value)
    raise ValidationError(
        f"session values are MemoryItems or MemoryItem-shaped dicts (got {type(value).__name__})"
    )


def _slot_from_entry(key: str, entry: Entry, record: bytes) -> _Slot:
    digest_hash = 0 if entry.deleted else entry_hash(key, entry.value)
    return _Slot(bytes(record), entry.stamp, entry.replica, entry.deleted, digest_hash)


def _value_of(slot: _Slot) -> Any:
    return None if slot.deleted else decode_entry(slot.record).value


class DistributedMemoryManager:
    """One replica of any number of sessions, synchronised through a shared store.

    ``storage_backend`` is a store URL (the manager then owns the store and :meth:`close` closes
    it), a ``Store`` object (the caller's: never closed here) or None for the default store.
    ``replica_id`` names this replica in every record it writes (random when not given: two live
    replicas must never share one). ``clock`` and ``max_attempts`` are for tests and tuning.
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
        if (
            not isinstance(sync_interval, (int, float))
            or isinstance(sync_interval, bool)
            or not math.isfinite(sync_interval)
            or sync_interval <= 0
        ):
            raise ValidationError(
                f"sync_interval must be a positive number (got {sync_interval!r})"
            )
        self.sync_interval = float(sync_interval)
        if replica_id is None:
            replica_id = f"replica-{uuid.uuid4().hex[:16]}"
        if not isinstance(replica_id, str) or not replica_id:
            raise ValidationError(f"replica_id must be a non-empty string (got {replica_id!r})")
        self.replica_id = replica_id
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValidationError(f"max_attempts must be a positive int (got {max_attempts!r})")
        self.max_attempts = max_attempts
        self.clock = clock if clock is not None else HybridLogicalClock()
        self.store, self._owns_store = resolve_store(storage_backend)
        self._sessions: dict[str, _Session] = {}
        self._auto_task: asyncio.Task[None] | None = None
        self._closed = False

    # --- local reads and writes (synchronous, never touch the store) --------------------------

    def _session(self, session_id: str) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            validate_session_id(session_id)
            session = self._sessions[session_id] = _Session()
        return session

    def _write(self, session_id: str, key: str, entry_value: Any, deleted: bool) -> None:
        session = self._session(session_id)
        if key not in session.slots:  # keys already held were validated when they arrived
            validate_key(key)
        entry = Entry(entry_value, self.clock.now(), self.replica_id, deleted)
        if key not in session.pending:
            base = session.slots.get(key)
            session.pending[key] = None if base is None else (base.stamp, base.replica)
        session.put(key, _slot_from_entry(key, entry, encode_entry(entry)))

    def set(self, session_id: str, key: str, value: MemoryItem | Mapping[str, Any]) -> None:
        """Write ``value`` (a MemoryItem or MemoryItem-shaped dict) locally; pending until sync."""
        self._write(session_id, key, _coerce_item(value), False)

    def delete(self, session_id: str, key: str) -> None:
        """Delete ``key`` locally by writing a tombstone; pending until sync."""
        self._write(session_id, key, None, True)

    def get(self, session_id: str, key: str) -> Any:
        """This replica's value of ``key`` (a fresh copy), or None if absent or deleted."""
        slot = self._session(session_id).slots.get(key)
        return None if slot is None else _value_of(slot)

    def state(self, session_id: str) -> dict[str, Any]:
        """Every live value of the session as this replica holds it (fresh copies)."""
        slots = self._session(session_id).slots
        return {k: decode_entry(s.record).value for k, s in slots.items() if not s.deleted}

    def entry(self, session_id: str, key: str) -> Entry | None:
        """The full local entry of ``key`` (value, HLC stamp, writer, tombstone flag), if any."""
        slot = self._session(session_id).slots.get(key)
        return None if slot is None else decode_entry(slot.record)

    def pending(self, session_id: str) -> frozenset[str]:
        """Keys written locally and not yet committed to the store."""
        return frozenset(self._session(session_id).pending)

    def metadata(self, session_id: str) -> MemorySyncMetadata:
        """Last successful sync time, the store version merged and the local state digest."""
        session = self._session(session_id)
        return MemorySyncMetadata(
            session_id, session.last_sync, session.version, session.digest.value
        )

    def sync_diagnostics(self, session_id: str) -> SyncDiagnostics:
        """Refetches and digest checks of this replica's syncs of ``session_id``."""
        session = self._session(session_id)
        return SyncDiagnostics(
            session_id, session.refetches, session.last_refetch, session.stored_digest_mismatch
        )

    @property
    def sessions(self) -> list[str]:
        """Sessions this replica has touched (written, read or synced)."""
        return sorted(self._sessions)

    # --- sync --------------------------------------------------------------------------------

    async def sync_session_memory(self, session_id: str, strategy: str | None = None) -> SyncResult:
        """Merge the store's changes into this replica and commit its pending changes.

        Raises ``ValidationError`` for an unknown strategy, ``BackendError`` when the store fails
        (pending changes are kept) and ``CorruptedMemoryError`` when a stored record does not
        decode (nothing of that delta is applied; ``recover_corrupted_memory`` repairs the store).
        Losing the compare-and-set race ``max_attempts`` times in a row gives ``success=False``
        with the changes still pending.
        """
        chosen = self.strategy if strategy is None else validate_strategy(strategy)
        session = self._session(session_id)
        async with session.lock:
            return await self._sync_locked(session_id, session, chosen)

    async def resync_session(self, session_id: str, strategy: str | None = None) -> SyncResult:
        """Forget what was merged, refetch the whole session, then sync as usual.

        A plain sync already does this by itself when the store reports a ``replace_state``
        this replica has not merged, or when its digest disagrees with the stored one (see the
        module docstring); this forces it, e.g. against a store that reports neither. Pending
        local changes are kept and settled like in any sync.
        """
        chosen = self.strategy if strategy is None else validate_strategy(strategy)
        session = self._session(session_id)
        async with session.lock:
            return await self._sync_locked(session_id, session, chosen, refetch=True)

    async def _sync_locked(
        self, session_id: str, session: _Session, strategy: str, *, refetch: bool = False
    ) -> SyncResult:
        """The compare-and-set loop; ``refetch``: read the whole session the first time."""
        conflicts: dict[str, Conflict] = {}
        pulled = 0
        for attempt in range(self.max_attempts):
            if attempt:
                cap = min(_BACKOFF_MAX, _BACKOFF_BASE * 2 ** min(attempt, 16))
                await asyncio.sleep(random.uniform(0, cap))
            delta = await self.store.read_changes(session_id, 0 if refetch else session.version)
            whole, refetch = refetch, False
            if whole:
                pass  # asked for the whole session: nothing held is kept anyway
            elif delta.version < session.version:
                # The session was deleted or rolled back under us: start again from nothing,
                # keeping only what is pending here.
                logger.warning(
                    "session %r went back from version %d to %d; refetching it whole",
                    session_id,
                    session.version,
                    delta.version,
                )
                self._refetched(session, f"the session went back to version {delta.version}")
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
                self._refetched(session, f"replace_state at version {delta.replaced_at}")
                whole = True
            pulled += self._merge(session_id, session, delta.records, strategy, conflicts, whole)
            session.version = delta.version
            if not session.pending:
                pulled += await self._check_digest(
                    session_id, session, delta.digest, strategy, conflicts
                )
                return self._done(session, conflicts, pulled, 0)
            committing = {key: session.slots[key] for key in session.pending}
            committed_digest = session.digest.value
            new_version = await self.store.commit(
                session_id,
                delta.version,
                {key: slot.record for key, slot in committing.items()},
                committed_digest,
            )
            if new_version is None:
                continue  # another replica committed first: merge its changes, try again
            session.version = new_version
            for key, slot in committing.items():
                if session.slots.get(key) is slot:  # not rewritten while the commit was in flight
                    del session.pending[key]
            if not session.pending:
                pulled += await self._check_digest(
                    session_id, session, committed_digest, strategy, conflicts
                )
            return self._done(session, conflicts, pulled, len(committing))
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
        self, session: _Session, conflicts: dict[str, Conflict], pulled: int, pushed: int
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
        session: _Session,
        stored: int | None,
        strategy: str,
        conflicts: dict[str, Conflict],
    ) -> int:
        """With nothing pending, this replica should hold exactly the stored state of its
        version: if its digest says otherwise, refetch the whole session. Returns how many
        remote changes the refetch took (0 when the digest matched)."""
        if stored is None or session.digest.value == stored:
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
        self._refetched(session, f"digest mismatch at version {session.version}")
        whole = await self.store.read_changes(session_id, 0)
        taken = self._merge(session_id, session, whole.records, strategy, conflicts, True)
        session.version = whole.version
        mismatch = (
            not session.pending
            and whole.digest is not None
            and session.digest.value != whole.digest
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

    @staticmethod
    def _refetched(session: _Session, why: str) -> None:
        session.refetches += 1
        session.last_refetch = why

    @staticmethod
    def _reset(session: _Session) -> None:
        kept = {key: session.slots[key] for key in session.pending}
        session.slots = {}
        session.digest = StateDigest()
        for key, slot in kept.items():
            session.put(key, slot)
        session.version = 0

    def _merge(
        self,
        session_id: str,
        session: _Session,
        records: Mapping[str, bytes],
        strategy: str,
        conflicts: dict[str, Conflict],
        whole: bool = False,
    ) -> int:
        """Apply a delta (all or nothing); returns how many remote changes were taken.

        ``whole``: the records are the whole session, so what this replica held is dropped
        first (pending changes stay), but only once every record decoded: a corrupted record
        or a failed read leaves the replica as it was.
        """
        incoming: list[tuple[str, Entry, bytes]] = []
        for key, record in records.items():
            try:
                remote = decode_entry(record)
            except CorruptedMemoryError as exc:
                raise CorruptedMemoryError(
                    f"session {session_id!r}: the stored record of key {key!r} is corrupted "
                    f"({exc}); run recover_corrupted_memory on this session"
                ) from exc
            incoming.append((key, remote, record))
        for _, remote, _ in incoming:  # before changing anything: observe may refuse a stamp
            self.clock.observe(remote.stamp)
        if whole:
            self._reset(session)
        taken = 0
        for key, remote, record in incoming:
            local = session.slots.get(key)
            if (
                local is not None
                and local.stamp == remote.stamp
                and local.replica == remote.replica
            ):
                session.pending.pop(key, None)  # our own write, already committed
                continue
            if key in session.pending and local is not None:
                seen = (remote.stamp, remote.replica)
                if session.pending[key] == seen:
                    continue  # the value our pending write replaced, refetched: no change
                if remote.replica == self.replica_id:
                    session.pending[key] = seen  # an older write of ours; ours supersedes it
                    continue
                winner = self._settle(strategy, local, remote)
                conflicts[key] = Conflict(
                    key, _value_of(local), None if remote.deleted else remote.value, winner
                )
                if winner == "local":
                    session.pending[key] = seen  # settled against this value; commit over it
                    continue
                del session.pending[key]
            session.put(key, _slot_from_entry(key, remote, record))
            taken += 1
        return taken

    @staticmethod
    def _settle(strategy: str, local: _Slot, remote: Entry) -> str:
        if strategy == "remote-wins":
            return "remote"
        if strategy == "local-wins":
            return "local"
        newer = is_newer(local.stamp, local.replica, remote.stamp, remote.replica)
        return "local" if newer else "remote"

    # --- auto-sync and lifecycle -----------------------------------------------------------

    def start_auto_sync(self) -> None:
        """Sync every touched session every ``sync_interval`` seconds in a background task.

        Needs a running event loop. Failures are logged and retried at the next tick; pending
        changes are never dropped. Calling it while already running does nothing.
        """
        if self._closed:
            raise ValidationError("this manager is closed")
        if self._auto_task is not None and not self._auto_task.done():
            return
        self._auto_task = asyncio.get_running_loop().create_task(
            self._auto_sync_loop(), name=f"memcore-auto-sync-{self.replica_id}"
        )

    def stop_auto_sync(self) -> None:
        """Stop the background task (an in-flight sync is cancelled; nothing pending is lost)."""
        task, self._auto_task = self._auto_task, None
        if task is not None and not task.done():
            task.cancel()

    @property
    def auto_sync_running(self) -> bool:
        return self._auto_task is not None and not self._auto_task.done()

    async def _auto_sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sync_interval)
            await self.sync_all()

    async def sync_all(self) -> dict[str, SyncResult | BaseException]:
        """Sync every touched session once; failures are logged and returned, not raised."""
        results: dict[str, SyncResult | BaseException] = {}
        for session_id in list(self._sessions):
            try:
                result = await self.sync_session_memory(session_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # logged and retried at the next tick, by design
                logger.warning(
                    "auto-sync of session %r failed (%s: %s); %d changes stay pending",
                    session_id,
                    type(exc).__name__,
                    exc,
                    len(self._sessions[session_id].pending),
                )
                results[session_id] = exc
                continue
            if not result.success:
                logger.warning("auto-sync of session %r: %s", session_id, result.error)
            results[session_id] = result
        return results

    async def close(self) -> None:
        """Stop auto-sync and close the store if this manager opened it from a URL.

        Pending changes are not flushed: call ``sync_session_memory`` first to keep them.
        """
        task, self._auto_task = self._auto_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not self._closed:
            self._closed = True
            if self._owns_store:
                await self.store.close()

    async def __aenter__(self) -> DistributedMemoryManager:
        self.start_auto_sync()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


__all__ = ["STRATEGIES", "DistributedMemoryManager", "SyncDiagnostics", "validate_strategy"]
