"""Background sync for ``DistributedMemoryManager``: a task that syncs every touched session
every ``sync_interval`` seconds, logging failures and keeping what is pending for the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from memcore.errors import ValidationError

if TYPE_CHECKING:
    from memcore.model import SyncResult
    from memcore.sync_merge import SessionReplica

logger = logging.getLogger("memcore.sync")


class AutoSync:
    """The auto-sync half of a manager (mixed into ``DistributedMemoryManager``)."""

    replica_id: str
    sync_interval: float
    _sessions: dict[str, SessionReplica]
    _auto_task: asyncio.Task[None] | None
    _closed: bool

    if TYPE_CHECKING:  # defined by the manager

        async def sync_session_memory(
            self, session_id: str, strategy: str | None = None
        ) -> SyncResult: ...

    def start_auto_sync(self) -> None:
        """Sync every touched session every ``sync_interval`` seconds in a background task.

        Needs a running event loop. Failures are logged and retried at the next tick; pending
        changes are never dropped. Calling it while already running does nothing.
        """
        if self._closed:
            raise ValidationError("this manager is closed")
        if self._auto_task is not None and not self._auto_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ValidationError(
                "start_auto_sync() needs a running event loop: call it from async code "
                "(inside `async def`, e.g. under asyncio.run)"
            ) from None
        self._auto_task = loop.create_task(
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


__all__ = ["AutoSync"]
