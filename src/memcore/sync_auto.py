"""Background sync for ``DistributedMemoryManager``: a task that syncs every touched session
every ``sync_interval`` seconds, logging failures and keeping what is pending for the next tick.

A failure is whatever a sync raises but a real cancellation, ``KeyboardInterrupt``,
``SystemExit`` and ``GeneratorExit``: a store that raised some other ``BaseException`` (a stray
``CancelledError`` of its own, say) used to end the task without a word, auto-sync stopped and
nothing said so. A ``CancelledError`` is a real cancellation when the task was asked to cancel
(``Task.cancelling()``, Python 3.11+; on 3.10, which cannot tell, every one is taken as real).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from memcore.errors import ValidationError
from memcore.sync_lifecycle import _cancel

if TYPE_CHECKING:
    from memcore.model import SyncResult
    from memcore.sync_merge import SessionReplica

logger = logging.getLogger("memcore.sync")

# never a failure to retry: they stop the task, or the program
_NOT_FAILURES = (KeyboardInterrupt, SystemExit, GeneratorExit)


def _cancel_requested() -> bool:
    """Whether the running task was asked to cancel (3.10 cannot tell: taken as asked)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0


def _is_failure(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a sync, is a failure to log and retry (see the module doc)."""
    if isinstance(exc, Exception):
        return True
    if isinstance(exc, asyncio.CancelledError):
        return not _cancel_requested()
    return not isinstance(exc, _NOT_FAILURES)


def _auto_sync_ended(task: asyncio.Task[None]) -> None:
    """Log an auto-sync task that died of an error (it only ends so when cancelled, else)."""
    if task.cancelled():
        return
    exc = task.exception()  # (retrieved: no "exception was never retrieved" at exit)
    if exc is not None and not isinstance(exc, (KeyboardInterrupt, SystemExit)):
        logger.error("auto-sync stopped: its task %s failed", task.get_name(), exc_info=exc)


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
        self._auto_task.add_done_callback(_auto_sync_ended)

    def stop_auto_sync(self) -> None:
        """Stop the background task (an in-flight sync is cancelled; nothing pending is lost).

        Callable from any thread: the cancel is made on the task's own loop, as ``close`` does
        (``Task.cancel`` from another thread neither is safe nor wakes a loop asleep until
        the next tick).
        """
        task, self._auto_task = self._auto_task, None
        if task is not None and not task.done():
            _cancel(task)

    @property
    def auto_sync_running(self) -> bool:
        return self._auto_task is not None and not self._auto_task.done()

    async def _auto_sync_loop(self) -> None:
        # (a closed manager ends it too: ``close`` cancels it, but a cancel can be lost)
        while not self._closed:
            await asyncio.sleep(self.sync_interval)
            if self._closed:
                return
            await self.sync_all()

    async def sync_all(self) -> dict[str, SyncResult | BaseException]:
        """Sync every touched session once; failures are logged and returned, not raised (a
        real cancellation, ``KeyboardInterrupt`` and ``SystemExit`` are)."""
        results: dict[str, SyncResult | BaseException] = {}
        for session_id in list(self._sessions):
            if self._closed:  # (nothing more to sync: each would be refused)
                break
            try:
                result = await self.sync_session_memory(session_id)
            except BaseException as exc:
                if not _is_failure(exc):
                    raise  # a real cancellation, KeyboardInterrupt, SystemExit: not ours
                if self._closed and isinstance(exc, ValidationError):
                    break  # (closed meanwhile: refused, not failed)
                # logged and retried at the next tick, by design
                pending = len(self._sessions[session_id].pending)
                if isinstance(exc, Exception):
                    logger.warning(
                        "auto-sync of session %r failed (%s: %s); %d changes stay pending",
                        session_id,
                        type(exc).__name__,
                        exc,
                        pending,
                    )
                else:  # a store raising a BaseException of its own: a bug worth a traceback
                    logger.error(
                        "auto-sync of session %r failed: the store raised %s, which is no "
                        "Exception (and no cancellation of this task); %d changes stay pending",
                        session_id,
                        type(exc).__name__,
                        pending,
                        exc_info=exc,
                    )
                results[session_id] = exc
                continue
            if not result.success:
                logger.warning("auto-sync of session %r: %s", session_id, result.error)
            results[session_id] = result
        return results


__all__ = ["AutoSync"]
