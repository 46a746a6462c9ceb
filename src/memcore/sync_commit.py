"""The two short ways a ``DistributedMemoryManager`` sync commits, before its compare-and-set loop
(see ``memcore.sync``), and what follows any commit that landed.

* **Under the store's lock** (``read_and_commit``: SQLite, whose writers serialize on one lock
  anyway): the read, the merge and the commit in one transaction, which cannot lose a race. On
  a quiet session it first tries the conditional commit inside that transaction: nothing to read.
  While it waits for the lock, it merges what the holder commits, so little is left for the
  transaction to read.
* **Commit first** (``commit_if_unchanged``: Redis, memory): on a quiet session, one commit
  conditioned on the exact state the replica last saw; if it misses, the loop reads and merges.
* **Now** (``commit_now``: SQLite's inline path): the commit first, made synchronously: by a
  lone writer before any of the machinery (group, lock, turn wait), which took more time than
  the statement itself, and by a group's leader before the wait for the store's lock; anything
  that would wait takes the paths above.

Both take only the plain case and leave anything unusual to the loop, untouched.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from memcore.model import Conflict, SyncResult
from memcore.sync_merge import Outgoing, SessionReplica, SyncGroup, merge, take_pending

if TYPE_CHECKING:
    from collections.abc import Mapping

    from memcore.hlc import HybridLogicalClock
    from memcore.stores.base import (
        CommitsIfUnchanged,
        CommitsNow,
        CommitsUnderLock,
        Delta,
        First,
        Store,
    )

logger = logging.getLogger("memcore.sync")

# a delta larger than this is merged, and more pending keys than this are committed, outside the
# store's write lock (by the loop, whose large commits run on the store's worker thread): the
# transaction under the lock runs on the event loop's thread, which a long merge or a commit of
# many rows would stall, along with every other writer
UNDER_LOCK_MAX_DELTA = 1000
UNDER_LOCK_MAX_PENDING = 64
# how often a sync waiting for the store's lock reads and merges what the holder committed:
# seldom enough that waiters leave the holder a core of its own (three waiters catching up
# every 1 ms took most of the second one, and the holder's syncs slowed), often enough that
# a turn starts with a short delta (about a hundred versions: a few hundred microseconds)
CATCH_UP_EVERY = 0.01


class CommitPaths:
    """The commit paths of a manager (mixed into ``DistributedMemoryManager``)."""

    replica_id: str
    clock: HybridLogicalClock
    store: Store
    _under_lock: CommitsUnderLock | None
    _conditional: CommitsIfUnchanged | None
    _now: CommitsNow | None

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

    def _commit_now(
        self, session_id: str, session: SessionReplica, group: SyncGroup | None = None
    ) -> tuple[Outgoing, int] | None:
        """The pending keys of a quiet session, committed now (``CommitsNow``): what was
        committed and the new version, or None when this is not that case or the store could
        not do it at once (nothing was taken or written: the caller syncs as usual). The caller
        holds the session's sync (its lock, as the leader of ``group``) or makes sure that no
        other sync of it is in flight or about to start."""
        assert self._now is not None
        if not session.pending or len(session.pending) > UNDER_LOCK_MAX_PENDING:
            return None
        expected = session.watch.expected(session.version) if session.quiet else None
        if expected is None:
            return None
        outgoing = take_pending(session, None)
        landed = self._now.commit_now(session_id, expected, outgoing.records, outgoing.digest)
        if landed is None:
            session.refused()
            session.quiet = False  # another replica committed: the usual path reads first
            return None
        if landed is False:
            session.refused()
            return None
        if group is not None:
            group.open = False  # its keys are in: a caller arriving now rides the next sync
        return outgoing, landed

    async def _sync_under_lock(
        self,
        session_id: str,
        session: SessionReplica,
        strategy: str,
        conflicts: dict[str, Conflict],
        group: SyncGroup | None,
    ) -> tuple[SyncResult | None, int]:
        """The whole sync in the store's write lock, and how many remote changes it merged.
        The plan runs synchronously under that lock and takes only the plain case: anything
        unusual (the store lost data or went back, a replacement, a large delta, or one whose
        incarnation is unknown) is left to the loop, untouched. While the sync waits for the
        lock, it merges what the holder commits (plain deltas only), so that little is left to
        read under the lock. A None result: the loop takes over (also after a merge that left
        nothing to commit)."""
        assert self._under_lock is not None
        if len(session.pending) > UNDER_LOCK_MAX_PENDING:
            return None, 0
        pulled = 0
        first: Outgoing | None = None
        planned: list[Outgoing] = []
        plain = True  # no delta left to the loop yet: catching up goes on

        def absorb(delta: Delta) -> bool:
            """Merge ``delta`` if it is plain (see above); False: left untouched."""
            nonlocal pulled, plain
            current = delta.incarnation
            if (
                current is None
                or len(delta.records) > UNDER_LOCK_MAX_DELTA
                or delta.version < session.version
                or delta.replaced_at > session.version > 0
                or session.watch.judge(current, session.version, delta) is not None
            ):
                plain = False
                return False
            session.watch.accept(current, delta)  # judged above: nothing happened
            session.quiet = delta.version == session.version  # nobody else committed
            if delta.records:
                pulled += self._merge(session_id, session, delta.records, strategy, conflicts)
            session.version = delta.version
            return True

        def ask() -> tuple[int, First | None]:
            """Where to read from under the lock, and on a quiet session what to commit first:
            the conditional commit, which needs no read."""
            nonlocal first
            expected = session.watch.expected(session.version) if session.quiet else None
            first = None if expected is None else take_pending(session, group)
            if expected is None or first is None or not first.slots:
                return session.version, None
            return session.version, (expected, first.records, first.digest)

        def plan(delta: Delta) -> tuple[dict[str, bytes], int] | None:
            if not absorb(delta):
                return None
            if not session.pending or len(session.pending) > UNDER_LOCK_MAX_PENDING:
                return None  # settled by the merge (remote-wins), or grown meanwhile: the loop
            outgoing = take_pending(session, group)
            planned.append(outgoing)
            return outgoing.records, outgoing.digest

        async def catch_up() -> tuple[int, First | None, float] | None:
            if plain:
                delta = await self.store.read_changes(session_id, session.version)
                if delta.version != session.version:
                    absorb(delta)
                if not session.pending:
                    return None  # settled by the merge: nothing to commit, no turn needed
            return *ask(), CATCH_UP_EVERY

        since, conditional = ask()
        done = await self._under_lock.read_and_commit(
            session_id, since, plan, conditional, catch_up=catch_up
        )
        if done is None or done[1] is None:
            session.refused()  # (nothing written under the lock)
            return None, pulled
        delta, new_version = done[0], done[1]
        outgoing = planned[-1] if delta is not None else first  # None: the conditional landed
        assert outgoing is not None
        result = await self._committed(
            session_id, session, strategy, conflicts, pulled, outgoing, new_version
        )
        return result, 0

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
            session.refused()
            return None
        return await self._committed(
            session_id, session, strategy, conflicts, 0, outgoing, new_version
        )

    async def _settle_in_flight(self, session_id: str, session: SessionReplica) -> None:
        """Before a sync after one whose commit raised: whether that commit landed all the same
        (its reply lost), read from the store's journal (``SessionReplica.landed``)."""
        if not session.in_flight:
            return
        journal = await self.store.read_journal(session_id, session.in_flight_since)
        found = session.landed(journal)
        if found:
            logger.info(
                "session %r: a commit whose reply was lost had landed; %d of its keys are "
                "taken as committed",
                session_id,
                len(found),
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
        session.in_flight = []  # landed (any other sent meanwhile did not: it was refused)
        session.version = new_version
        session.watch.saw(new_version, outgoing.digest)
        await self._learn_incarnation(session_id, session)
        session.committed(outgoing.slots)
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

    async def _learn_incarnation(self, session_id: str, session: SessionReplica) -> None:
        """After a commit, the store's incarnation id if this replica has none yet: Redis makes
        a session's id once the session exists, so a replica whose read found the session new
        (its own commit made it) had none, and a store that then lost its data (a restart
        without persistence) looked like a session gone back to version 0, whose copies the
        replica dropped instead of putting them back. Asked once per session; a deletion count
        moved meanwhile (a delete since the read) is left for the next read to find."""
        known = session.watch.incarnation
        if known is not None and known.store:
            return
        current = await self.store.incarnation(session_id)
        if known is None or current.deletions == known.deletions:
            session.watch.incarnation = current


__all__ = ["UNDER_LOCK_MAX_DELTA", "UNDER_LOCK_MAX_PENDING", "CommitPaths"]
