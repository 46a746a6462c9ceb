"""A manager's life: its syncs under way, ``close`` and ``async with`` (mixed into
``memcore.sync.DistributedMemoryManager``).

``close`` closes a store the manager opened from a URL, so it must be the last to touch it. The
stores reopen on a later call, so a sync still under way when ``close`` closed the store used to
reopen it, commit after the manager said it was closed, and leave the new connection (SQLite's
file descriptors, a Redis client) to nobody. So ``close`` first refuses any sync that starts from
then on (``ValidationError``, as a closed manager's), stops auto-sync (its sync under way is
cancelled: nothing pending is lost), lets the other syncs under way finish (their commits land and
their keys leave ``pending``), and only then closes the store. Syncs are counted on every event
loop: a manager may sync different sessions from different threads' loops.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from memcore.errors import ConflictError, MemcoreError, ValidationError

if TYPE_CHECKING:
    from memcore.model import SyncResult
    from memcore.stores.base import Store
    from memcore.sync_merge import SessionReplica

logger = logging.getLogger("memcore.sync")

_M = TypeVar("_M", bound="Lifecycle")

CLOSED = "this manager is closed: open a new one to sync"


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # (its close was cancelled meanwhile)
        waiter.set_result(None)


class SyncsUnderWay:
    """The syncs of one manager under way, on any event loop, and ``close``'s wait for none.

    ``enter`` and ``close`` take one lock, so a sync either counted itself in before ``close``
    began (and is waited for) or is refused: none slips in between the two.
    """

    __slots__ = ("_closed", "_count", "_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._closed = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def enter(self) -> None:
        """Count a sync in; ``ValidationError`` once ``close`` has begun."""
        with self._lock:
            if self._closed:
                raise ValidationError(CLOSED)
            self._count += 1

    def leave(self) -> None:
        """A sync counted in by ``enter`` is over (whichever way it ended)."""
        with self._lock:
            self._count -= 1
            if self._count or not self._waiters:
                return
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits there
                loop.call_soon_threadsafe(_wake, waiter)

    def close(self) -> None:
        """Refuse every sync from now on."""
        with self._lock:
            self._closed = True

    async def idle(self) -> None:
        """Return once no sync is under way (refuse new ones first: see ``close``)."""
        with self._lock:
            if not self._count:
                return
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()
            self._waiters.append((loop, waiter))
        await waiter


def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` from any thread: on its own loop's (``Task.cancel`` is not thread-safe,
    and a loop asleep in another thread would not wake for it)."""
    loop = task.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is running:
        task.cancel()
        return
    with contextlib.suppress(RuntimeError):  # (its loop is closed: the task runs no more)
        loop.call_soon_threadsafe(task.cancel)


#: How often ``close`` asks auto-sync's task again to end, while it has not.
_CANCEL_AGAIN = 0.25


async def _ended(task: asyncio.Task[None]) -> None:
    """Return once auto-sync's ``task`` ended, asking it again every ``_CANCEL_AGAIN`` seconds.

    A cancel can be lost: on 3.11 ``asyncio.wait_for`` (redis-py sends with it) swallows one
    that lands as the awaited call completes, and the task goes on to its next tick, where it
    sees the manager closed and ends. A task on another thread's loop is waited for through a
    thread-safe future: its done callback runs on its loop, which does not wake this one."""
    loop = task.get_loop()
    if loop is asyncio.get_running_loop():
        while not task.done():
            await asyncio.wait((task,), timeout=_CANCEL_AGAIN)
            if not task.done():
                task.cancel()
        return
    finished: concurrent.futures.Future[None] = concurrent.futures.Future()

    def _done(_: object) -> None:
        if not finished.done():
            finished.set_result(None)

    try:
        loop.call_soon_threadsafe(task.add_done_callback, _done)
    except RuntimeError:  # (its loop is closed: the task runs no more)
        return
    waited = asyncio.wrap_future(finished)
    while not finished.done():
        if loop.is_closed() or not loop.is_running():
            return  # (nothing will run it to its end: nothing of it to wait for)
        await asyncio.wait((waited,), timeout=_CANCEL_AGAIN)
        if not finished.done():
            _cancel(task)


class Lifecycle:
    """``close`` and ``async with`` of a manager (mixed into ``DistributedMemoryManager``)."""

    store: Store
    _owns_store: bool
    _store_closed: bool
    _closed: bool
    _syncs: SyncsUnderWay
    _sessions: dict[str, SessionReplica]
    _auto_task: asyncio.Task[None] | None

    if TYPE_CHECKING:  # defined by the manager

        async def sync_session_memory(
            self, session_id: str, strategy: str | None = None
        ) -> SyncResult: ...

        def start_auto_sync(self) -> None: ...

    async def close(self) -> None:
        """Stop auto-sync, let the syncs under way finish, then close the store if this
        manager opened it from a URL.

        Pending changes are not flushed: call ``sync_session_memory`` first to keep them (leaving
        an ``async with`` block does). From the moment ``close`` begins, the manager refuses
        writes and syncs (``ValidationError``); syncs that began before it finish first, so
        none commits after ``close`` returns or reopens the store it closed (auto-sync's is
        cancelled, as ``stop_auto_sync`` does: its keys stay pending). What the manager holds
        can still be read.
        """
        task, self._auto_task = self._auto_task, None
        if task is not None and not task.done():
            _cancel(task)  # (before the refusal below: its sync is cancelled, not refused)
        self._closed = True  # (the task ends at its next step if a cancel was lost: see below)
        self._syncs.close()
        if task is not None and not task.done():
            await _ended(task)  # (its end is logged by the task's own callback)
        await self._syncs.idle()
        if self._owns_store and not self._store_closed:
            self._store_closed = True
            await self.store.close()

    async def __aenter__(self: _M) -> _M:
        self.start_auto_sync()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Sync what is pending, then close: leaving the block keeps every write made in it.

        A flush that fails raises once the manager is closed (the class of the first failure,
        e.g. ``BackendError``; ``ConflictError`` when the compare-and-set race was lost every
        time; a store's own error that is no ``MemcoreError`` as it is, as a sync raises it),
        unless the block is already leaving on an exception: that one is not masked, and any
        failure of the flush or the close is logged instead.
        """
        leaving_on_error = exc_type is not None
        try:
            await self._flush(quiet=leaving_on_error)
        except BaseException:
            await self._close_logged()  # (the flush's error is the one to see)
            raise
        if leaving_on_error:
            await self._close_logged()
        else:
            await self.close()

    async def _close_logged(self) -> None:
        """``close``, its failure logged rather than raised over another error."""
        try:
            await self.close()
        except Exception:
            logger.exception("closing the manager on leaving the block failed")

    async def _flush(self, *, quiet: bool) -> None:
        """Sync every session with pending changes (each attempted even if another fails);
        ``quiet``: log a failure instead of raising it."""
        if self._closed:
            return
        failed: list[str] = []
        first: Exception | None = None
        for session_id in [s for s, replica in self._sessions.items() if replica.pending]:
            try:
                result = await self.sync_session_memory(session_id)
            except Exception as exc:  # (a store's own error too: the other sessions still try)
                named = str(exc) if isinstance(exc, MemcoreError) else f"{exc!r}"
                failed.append(f"{session_id!r}: {named}")
                first = first or exc
                continue
            if not result.success:
                failed.append(f"{session_id!r}: {result.error}")
        if not failed:
            return
        message = "pending changes not synced on leaving the block: " + "; ".join(failed)
        foreign = first is not None and not isinstance(first, MemcoreError)
        if quiet:  # a store's own error is a bug somewhere: its traceback helps
            logger.error("%s", message, exc_info=first if foreign else None)
        elif isinstance(first, MemcoreError):
            raise type(first)(message) from first  # (the class of the first failure)
        elif first is not None:
            if len(failed) > 1:  # (the others' failures, beside the one raised)
                logger.error("%s", message)
            raise first  # as a sync raises it (sync.py passes a store's own errors through)
        else:
            raise ConflictError(message)


__all__ = ["CLOSED", "Lifecycle", "SyncsUnderWay"]
