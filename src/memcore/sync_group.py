"""Group commit: concurrent syncs of one session in one process share one commit.

The first caller leads: it takes the session's lock, yields once so that the tasks ready to run
(other writers about to sync) can join its group, then runs the sync for all of them; one
compare-and-set carries every joined caller's keys, and each follower is woken with the
leader's outcome (its own copy of the ``SyncResult``). A caller arriving once the leader has
taken the keys waits on the next group (``SessionReplica.waiting``), which one of them leads.
Mixed into ``memcore.sync.DistributedMemoryManager``; the group itself is
``memcore.sync_merge.SyncGroup``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from memcore.model import SyncResult
from memcore.stores.writer_queue import is_turn_look
from memcore.sync_merge import LeaderGone, SessionReplica, SyncGroup


def others_ready(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` has callbacks (other tasks' steps) ready to run now, but for the
    writer queue's look at its turn (``is_turn_look``): a sync made after any await found that
    look ready, took it for another task about to sync and yielded for it, which cost a lone
    writer that awaits between its syncs about 30% more time a sync.

    Reads asyncio's ready queue, which it does not expose publicly; a loop without one (e.g.
    uvloop) is taken to have some, so the group commit only costs a yield there.
    """
    ready = getattr(loop, "_ready", None)
    if ready is None:
        return True
    return bool(ready) and any(not is_turn_look(handle) for handle in ready)


class GroupCommit:
    """The group commit of a manager (mixed into ``DistributedMemoryManager``)."""

    if TYPE_CHECKING:  # defined by the manager

        async def _sync_locked(
            self,
            session_id: str,
            session: SessionReplica,
            strategy: str,
            *,
            refetch: bool = False,
            group: SyncGroup | None = None,
        ) -> SyncResult: ...

    @staticmethod
    def _joinable(session: SessionReplica, strategy: str) -> SyncGroup | None:
        """The group a new caller can wait on: the in-flight sync if still open, else the
        next one (None: there is none yet, so this caller leads it)."""
        for group in (session.running, session.waiting):
            if group is not None and group.strategy == strategy and group.open:
                return group
        return None

    async def _lead(
        self,
        session_id: str,
        session: SessionReplica,
        strategy: str,
        loop: asyncio.AbstractEventLoop,
    ) -> SyncResult:
        group = SyncGroup(strategy, loop)
        if session.lock.locked() and session.waiting is None:
            session.waiting = group  # callers arriving while we wait for the lock join us
        try:
            async with session.lock:
                if session.waiting is group:
                    session.waiting = None
                session.running = group
                try:
                    # Let the tasks that are ready run first: those about to sync this session
                    # join this group, and one compare-and-set carries all their keys. (A store
                    # that answers without suspending, like SQLite's inline path, would
                    # otherwise run every caller's sync alone, one after another.) Nothing
                    # ready, nothing to wait for: a lone writer skips the loop round trip.
                    if others_ready(loop):
                        await asyncio.sleep(0)
                    result = await self._sync_locked(session_id, session, strategy, group=group)
                finally:
                    session.running = None
        except asyncio.CancelledError:
            if session.waiting is group:
                session.waiting = None
            group.settle(None, LeaderGone())
            raise
        except BaseException as exc:
            if session.waiting is group:
                session.waiting = None
            group.settle(None, exc)
            raise
        group.settle(result)
        return result


__all__ = ["GroupCommit", "others_ready"]
