"""The two short ways a ``DistributedMemoryManager`` sync commits, before its compare-and-set loop
(see ``memcore.sync``), and what follows any commit that landed.

* **Under the store's lock** (``read_and_commit``: SQLite, whose writers serialize on one lock
  anyway): the read, the merge and the commit in one transaction, which cannot lose a race. On
  a quiet session it first tries the conditional commit inside that transaction: nothing to read.
* **Commit first** (``commit_if_unchanged``: Redis, memory): on a quiet session, one commit
  conditioned on the exact state the replica last saw; if it misses, the loop reads and merges.

Both take only the plain case and leave anything unusual to the loop, untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memcore.model import Conflict, SyncResult
from memcore.sync_merge import Outgoing, SessionReplica, SyncGroup, merge, take_pending

if TYPE_CHECKING:
    from collections.abc import Mapping

    from memcore.hlc import HybridLogicalClock
    from memcore.stores.base import CommitsIfUnchanged, CommitsUnderLock, Delta

# a delta larger than this is merged, and more pending keys than this are committed, outside the
# store's write lock (by the loop, whose large commits run on the store's worker thread): the
# transaction under the lock runs on the event loop's thread, which a long merge or a commit of
# many rows would stall, along with every other writer
UNDER_LOCK_MAX_DELTA = 1000
UNDER_LOCK_MAX_PENDING = 64


class CommitPaths:
    """The commit paths of a manager (mixed into ``DistributedMemoryManager``)."""

    replica_id: str
    clock: HybridLogicalClock
    _under_lock: CommitsUnderLock | None
    _conditional: CommitsIfUnchanged | None

    if TYPE_CHECKING:  # defined by the manager

        async def _check_digest(
            self,
            session_id: str,
            session: SessionReplica,
            stored: int | None,
            strategy: str,
            conflicts: dict[str, Conflict],
        ) -> int: ...

        def _done(
            self,
            session: SessionReplica,
            conflicts: dict[str, Conflict],
            pulled: int,
            pushed: int,
        ) -> SyncResult: ...

    def _merge(
        self,
        session_id: str,
        session: SessionReplica,
        records: Mapping[str, bytes],
        strategy: str,
        conflicts: dict[str, Conflict],
        whole: bool = False,
    ) -> int:
        """Apply a delta to the replica (``memcore.sync_merge.merge``) as this replica."""
        return merge(
            session_id,
            session,
            records,
            replica_id=self.replica_id,
            clock=self.clock,
            strategy=strategy,
            conflicts=conflicts,
            whole=whole,
        )

    async def _sync_under_lock(
        self,
        session_id: str,
        session: SessionReplica,
        strategy: str,
        conflicts: dict[str, Conflict],
        group: SyncGroup | None,
    ) -> SyncResult | None:
        """The whole sync in the store's write lock. The plan runs synchronously under that lock
        and takes only the plain case: anything unusual (the store lost data or went back, a
        replacement, a large delta, or one whose incarnation is unknown) is left to the loop,
        untouched. None: the loop takes over (also after a merge that left nothing to commit).
        """
        assert self._under_lock is not None
        if len(session.pending) > UNDER_LOCK_MAX_PENDING:
            return None
        first: Outgoing | None = None
        expected = session.watch.expected(session.version) if session.quiet else None
        if expected is not None:  # quiet: try the conditional commit, which needs no read
            first = take_pending(session, group)
        planned: list[tuple[Outgoing, int]] = []

        def plan(delta: Delta) -> tuple[dict[str, bytes], int] | None:
            current = delta.incarnation
            if (
                current is None
                or len(delta.records) > UNDER_LOCK_MAX_DELTA
                or delta.version < session.version
                or delta.replaced_at > session.version > 0
                or session.watch.judge(current, session.version, delta) is not None
            ):
                return None
            session.watch.accept(current, delta)  # judged above: nothing happened
            session.quiet = delta.version == session.version  # nobody else committed
            pulled = (
                self._merge(session_id, session, delta.records, strategy, conflicts)
                if delta.records
                else 0
            )
            session.version = delta.version
            if not session.pending or len(session.pending) > UNDER_LOCK_MAX_PENDING:
                return None  # settled by the merge (remote-wins), or grown meanwhile: the loop
            outgoing = take_pending(session, group)
            planned.append((outgoing, pulled))
            return outgoing.records, outgoing.digest

        conditional = None
        if expected is not None and first is not None:
            conditional = (expected, first.records, first.digest)
        done = await self._under_lock.read_and_commit(
            session_id, session.version, plan, conditional
        )
        if done is None:
            return None
        delta, new_version = done
        if new_version is None:
            return None
        if delta is None:  # the conditional commit landed
            assert first is not None
            outgoing, pulled = first, 0
        else:
            outgoing, pulled = planned[-1]
        return await self._committed(
            session_id, session, strategy, conflicts, pulled, outgoing, new_version
        )

    async def _commit_first(
        self,
        session_id: str,
        session: SessionReplica,
        strategy: str,
        conflicts: dict[str, Conflict],
        group: SyncGroup | None,
    ) -> SyncResult | None:
        """Commit the pending keys conditioned on the store being exactly as this replica last
        saw it (version, stored digest, incarnation: ``ReplicaWatch.expected``). If it was,
        nothing changed remotely, so there was nothing to merge and this one transaction (one
        ``EVALSHA`` on Redis) is the whole sync. None when the condition failed or cannot be
        stated: nothing was written and the caller reads, checks and merges as usual."""
        assert self._conditional is not None
        expected = session.watch.expected(session.version)
        if expected is None:
            return None
        outgoing = take_pending(session, group)
        new_version = await self._conditional.commit_if_unchanged(
            session_id, expected, outgoing.records, outgoing.digest
        )
        if new_version is None:
            return None
        return await self._committed(
            session_id, session, strategy, conflicts, 0, outgoing, new_version
        )

    async def _committed(
        self,
        session_id: str,
        session: SessionReplica,
        strategy: str,
        conflicts: dict[str, Conflict],
        pulled: int,
        outgoing: Outgoing,
        new_version: int,
    ) -> SyncResult:
        """After a commit landed: the keys it carried are no longer pending (unless rewritten
        while it was in flight) and the store keeps ``outgoing.digest`` at ``new_version``."""
        session.version = new_version
        session.watch.saw(new_version, outgoing.digest)
        session.watch.committed(outgoing.slots)
        for key, slot in outgoing.slots.items():
            if session.slots.get(key) is slot:  # not rewritten while the commit was in flight
                del session.pending[key]
        if not session.pending:
            if session.digest.value == outgoing.digest:  # the common case: nothing to refetch
                session.stored_digest_mismatch = False
            else:
                pulled += await self._check_digest(
                    session_id, session, outgoing.digest, strategy, conflicts
                )
        return self._done(session, conflicts, pulled, len(outgoing.slots))


__all__ = ["UNDER_LOCK_MAX_DELTA", "UNDER_LOCK_MAX_PENDING", "CommitPaths"]
