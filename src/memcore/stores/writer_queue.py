"""The turn at an SQLite database's write lock, among this machine's memcore writers.

SQLite serializes writers on one lock and lets a writer that finds it taken only poll it with
sleeps, which leaves the lock idle between tries. Writers of memcore's syncs (see
``memcore.stores.sqlite_locked``) take their turn here first: an exclusive ``flock`` on a file
beside the database (``<database>-writers``). A waiter waits in the kernel, on a thread of its
own so that its event loop goes on, and gets the turn the moment the holder lets it go.

**A turn lasts while its holder keeps syncing.** Each handover costs: the next holder's process
must wake, and its first sync must read and merge everything the others committed meanwhile,
in SQLite's lock. So a holder keeps the turn after its sync (``done``) until its event loop
has a moment with no sync in it (it then has nothing more to commit at once), or, if it syncs
back to back, until ``TURN`` has passed and someone waits: a writer in a tight loop commits at
the speed of a lone one, and the others take over in turn. Whoever waits says so by holding a
shared ``flock`` on ``<database>-waiters`` meanwhile, which the holder tests without waiting.
While it waits, a writer's event loop catches up with what the holder commits (the caller's
``while_waiting``), so its own turn starts with little left to read.

An event loop blocked in other work right after its sync (a process that syncs, then waits on
something else) has no moment to let its turn go: one thread per process (``_Releaser``) lets
go of a turn unused for ``STUCK_AFTER``. The queue only orders memcore's syncs; SQLite's lock
still guards the data, and a waiter that has waited ``PATIENCE`` goes on to it without the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Literal

from memcore.errors import BackendError
from memcore.stores import process_id

try:
    import fcntl
except ImportError:  # not POSIX: writers poll SQLite's lock instead
    fcntl = None  # type: ignore[assignment]

QUEUES_POSSIBLE = fcntl is not None

logger = logging.getLogger("memcore.stores.sqlite")

# how long a turn may be kept across back-to-back syncs while another writer waits: long
# beside a handover's cost (2-4 ms: the next holder wakes, reads and merges what this one
# committed, its caches cold), which a turn of 5 ms paid every few dozen syncs (4 processes
# syncing in a tight loop reached 0.5x one process's syncs per second; 0.7-0.9x with 50 ms)
TURN = 0.05
# when a waiter first catches up: most waits end at once (a turn let go at the holder's next
# moment), and those have nothing to merge
FIRST_CATCH_UP = 0.001
# how many looks in a row that find no sync ended since the last one let a kept turn go: a look
# runs first in its moment (``call_soon``), before that moment's syncs, so the first to find
# none may still be followed by a sync in its own moment; two mean a whole moment without one
QUIET_MOMENTS = 2
# how long a writer that let the turn go for others waits before it asks again
HANDOVER = 0.001  # (the event loop sleeps in whole milliseconds anyway)
# how long a sync waits for its turn before it goes on to SQLite's lock without it (several
# whole turns: a writer behind three others in tight loops waits about 3 TURNs)
PATIENCE = 0.5
# how long a kept turn may go unused before the releaser's thread lets it go (the event loop
# that keeps it is blocked in other work); a turn it finds in use it looks at again later and
# later, up to RECHECK_MAX (each look takes the GIL from a busy event loop)
STUCK_AFTER = 0.002
RECHECK_MAX = 0.05


class TurnTimeout(BackendError):
    """No turn within the time given (another writer holds it)."""


class WaitUnneeded(Exception):
    """Raised by ``take`` when ``while_waiting`` says the turn is no longer needed."""


_open_queues: weakref.WeakSet[WriterQueue] = weakref.WeakSet()


class WriterQueue:
    """The turn: an exclusive ``flock`` on ``<database>-writers``, per open file (one per
    process and store: a forked child opens its own, since a lock belongs to every descriptor
    of one open file)."""

    def __init__(self, database: str) -> None:
        self.path = f"{database}-writers"
        self.waiters_path = f"{database}-waiters"
        self._fd: int | None = None
        self._waiters_fd: int | None = None
        self._pid = 0
        self._guard = threading.Lock()  # the descriptors, between the loop and waiter threads
        self._threads = 0  # waiter threads on the descriptors
        self._closing = False
        # the turn's state, between the event loop's thread and the releaser's (see _Releaser)
        self._turn = threading.Lock()
        self._since: float | None = None  # when this turn began (None: not ours)
        self._in_use = 0  # syncs between ``take`` and ``done`` (of tasks sharing this store)
        self._idle_since = 0.0  # when the last sync in this turn ended
        self._recheck = STUCK_AFTER  # when the releaser looks again at a turn in use
        self._let_go_soon = False  # a release is scheduled for the loop's next moment
        self._syncs = 0  # syncs ended (``done``): whether the loop's last moment had one
        self._looks = 0  # the looks ``done`` armed (``_let_go``): only the last one is live
        self._left_waiting: asyncio.Future[None] | None = None  # a wait given up, still on
        _open_queues.add(self)

    # --- descriptors -------------------------------------------------------------------------

    def _descriptors(self) -> tuple[int, int]:
        if self._pid != process_id.PID:  # a forked child: no turn, and its own open files
            self._forget_turn()
            self._fd = self._waiters_fd = None
            self._pid = os.getpid()
        if self._fd is None or self._waiters_fd is None:
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            fd = os.open(self.path, flags, 0o600)
            try:
                waiters = os.open(self.waiters_path, flags, 0o600)
            except OSError:
                os.close(fd)
                raise
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
            self._fd, self._waiters_fd = fd, waiters
        return self._fd, self._waiters_fd

    def _forget_turn(self) -> None:
        self._since = None
        self._in_use = 0
        self._let_go_soon = False

    @property
    def held(self) -> bool:
        return self._since is not None and self._pid == process_id.PID

    # --- taking the turn ---------------------------------------------------------------------

    def try_take(self) -> bool:
        """Take the turn if nobody has it (never waits). ``OSError`` when the file cannot be
        made or locked (a read-only folder, a file system without ``flock``)."""
        with self._turn:
            if self.held:
                self._in_use += 1
                return True
            fd, _ = self._descriptors()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self._began()
            return True

    def _began(self) -> None:
        self._since = time.monotonic()
        self._in_use = 1
        self._recheck = STUCK_AFTER

    def _others_wait(self) -> bool:
        """Whether another writer waits for the turn (holds the waiters file shared)."""
        _, waiters = self._descriptors()
        try:
            fcntl.flock(waiters, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(waiters, fcntl.LOCK_UN)
        return False

    async def take(
        self,
        timeout: float,
        while_waiting: Callable[[], Awaitable[float | None]] | None = None,
    ) -> bool:
        """The turn, kept from an earlier sync or waited for on a thread, at most ``timeout`` s
        (then ``TurnTimeout``). Meanwhile the event loop goes on, and calls ``while_waiting``
        after ``FIRST_CATCH_UP`` s, then again after as many seconds as it returns (None: the
        turn is no longer needed, ``WaitUnneeded``). False when there can be no queue here (see
        ``try_take``): go without it."""
        try:
            kept = self._kept()
            if kept == "kept" or (kept == "none" and self.try_take()):
                return True
        except OSError as exc:
            logger.debug("sqlite store: no writer queue at %r (%s)", self.path, exc)
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if kept == "let go":
            # Just let go for those waiting: one of them must take it before this writer asks
            # again, or being awake it would likely win the turn back at once (a lock let go
            # goes to whoever asks first, and the woken waiters must first be scheduled).
            await asyncio.sleep(HANDOVER)
        waiting = self._left_waiting
        if waiting is not None and not waiting.done() and waiting.get_loop() is loop:
            waiting.remove_done_callback(self._give_back_if_taken)  # still waiting: go on
        else:
            waiting = self._wait_on_thread(loop)
        self._left_waiting = None
        pause: float | None = FIRST_CATCH_UP if while_waiting is not None else None
        try:
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    raise asyncio.TimeoutError
                done, _ = await asyncio.wait(
                    (waiting,), timeout=left if pause is None else min(left, pause)
                )
                if done:
                    waiting.result()  # its OSError, if any
                    with self._turn:
                        self._began()
                    return True
                if while_waiting is not None:
                    pause = await while_waiting()
                    if pause is None:
                        raise WaitUnneeded
        except BaseException as exc:
            # the thread may still get the turn: give it back then, unless a later take,
            # which goes on waiting on this very thread, takes it
            self._left_waiting = waiting
            waiting.add_done_callback(self._give_back_if_taken)
            if isinstance(exc, asyncio.TimeoutError):  # before OSError: a subclass of it
                raise TurnTimeout(
                    f"sqlite store: no turn to write in {timeout} s (another process holds it)"
                ) from exc
            if isinstance(exc, OSError):
                raise BackendError(f"sqlite store: cannot lock {self.path!r}: {exc}") from exc
            raise

    def _kept(self) -> Literal["kept", "let go", "none"]:
        """Go on with a turn kept from an earlier sync ("kept"): for ``TURN`` s, or while nobody
        waits. When others wait, let it go ("let go": the caller waits behind them)."""
        with self._turn:
            if self._since is None or not self.held:
                return "none"
            if self._keep_locked():
                return "kept"
            self._give_back_locked()
        return "let go"

    def _keep_locked(self) -> bool:
        """Under ``_turn``, with the turn held: go on with it if its ``TURN`` s are not over or
        nobody waits (then a new turn begins)."""
        now = time.monotonic()
        since = self._since
        assert since is not None
        if now - since < TURN or not self._others_wait():
            if now - since >= TURN:
                self._since = now  # nobody waits: a new turn
            self._in_use += 1
            return True
        return False

    def take_now(self) -> bool:
        """The turn without waiting: kept as ``take`` keeps it, or free (``try_take``). False
        otherwise; a kept turn that others wait for is left for ``take`` to let go (it then
        waits behind them). ``OSError`` as ``try_take``."""
        with self._turn:
            if self._since is not None and self.held:
                return self._keep_locked()
        return self.try_take()

    def _wait_on_thread(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """``_wait_blocking`` on a daemon thread of its own, its outcome in the future returned.

        Not on the event loop's default executor: ``asyncio.run`` waits for that executor's
        threads as it ends, and a wait behind a writer that never lets go (a process stopped
        while it held the turn) kept a hook's process from ending after its work was done."""
        future: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if future.cancelled():
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        def wait() -> None:
            error: BaseException | None = None
            try:
                self._wait_blocking()
            except BaseException as exc:  # (handed to the waiting coroutine)
                error = exc
            try:
                loop.call_soon_threadsafe(settle, error)
            except RuntimeError:  # the loop is closed: no one will use the turn
                if error is None:
                    self._let_go_unless_held()

        threading.Thread(target=wait, name="memcore-writer-turn", daemon=True).start()
        return future

    def _wait_blocking(self) -> None:
        """On a thread: say so in the waiters file, and wait for the turn. The descriptors stay
        open meanwhile (``close`` leaves them to the last waiter thread)."""
        with self._guard:
            fd, waiters = self._descriptors()
            self._threads += 1
        try:
            fcntl.flock(waiters, fcntl.LOCK_SH)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            finally:
                fcntl.flock(waiters, fcntl.LOCK_UN)
        finally:
            with self._guard:
                self._threads -= 1
                if self._closing and not self._threads:
                    self._close_locked()

    def _give_back_if_taken(self, waiting: asyncio.Future[None]) -> None:
        """After a wait given up: the thread may have got the turn. Let it go, unless a later
        ``take`` holds it now (the same open file's lock, taken again)."""
        if self._left_waiting is waiting:
            self._left_waiting = None
        if waiting.cancelled() or waiting.exception() is not None:
            return
        self._let_go_unless_held()

    def _let_go_unless_held(self) -> None:
        """A turn a waiter's thread got after its wait was given up: let it go, unless a later
        ``take`` holds it now (the same open file's lock, taken again)."""
        with self._turn:
            if not self.held and self._fd is not None and self._pid == process_id.PID:
                with contextlib.suppress(OSError):
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    # --- letting it go -----------------------------------------------------------------------

    def done(self) -> None:
        """The sync that took the turn is over: keep the turn until the event loop has a moment
        with no sync in it (a sync that follows at once keeps it, see the module docstring),
        or, if the loop has none for ``STUCK_AFTER`` s, until the releaser's thread lets it
        go."""
        with self._turn:
            self._in_use = max(self._in_use - 1, 0)
            self._idle_since = time.monotonic()
            self._syncs += 1
            held = self.held
        if held and not self._let_go_soon:
            self._let_go_soon = True
            self._looks += 1  # a look still pending from a turn given back since is stale
            # at the loop's next moment; the group commit (memcore.sync), which yields for
            # other tasks about to sync, knows this callback for what it is (is_turn_look)
            asyncio.get_running_loop().call_soon(self._let_go, self._looks, self._syncs)
            _RELEASER.watch(self)

    def _let_go(self, look: int, syncs: int, quiet: int = 0) -> None:
        """The loop's next moments after a sync: let the turn go once a whole moment passed
        without a sync ending (``QUIET_MOMENTS`` looks in a row found none), else look again at
        the moment after. Tasks syncing in every moment, like a group commit's, which yields
        once to gather its callers, keep it: letting go and taking again cost each group two
        ``flock`` calls. A look is a plain ``call_soon`` callback: a timer (``call_later(0)``),
        as it was, cost the loop its heap at every moment, and 4 tasks syncing one session 10 %
        of their speed. ``TURN`` still bounds such a turn when others wait (``_keep_locked``)."""
        with self._turn:
            if look != self._looks:
                return
            if self._in_use:
                self._let_go_soon = False  # the sync in flight arms a new look when done
            elif self.held and (self._syncs != syncs or quiet + 1 < QUIET_MOMENTS):
                again = 0 if self._syncs != syncs else quiet + 1
                asyncio.get_running_loop().call_soon(self._let_go, look, self._syncs, again)
            else:
                self._let_go_soon = False
                self._give_back_locked()

    def _let_go_if_idle(self, now: float) -> float | None:
        """For the releaser: let the turn go if no sync has used it for ``STUCK_AFTER`` s.
        None when it is not held (any more); else the seconds until it may be idle enough."""
        with self._turn:
            if not self.held:
                return None
            idle = now - self._idle_since
            if not self._in_use and idle >= STUCK_AFTER:
                self._give_back_locked()
                return None
            self._recheck = min(self._recheck * 2, RECHECK_MAX)  # in use: look later
            return max(self._recheck, STUCK_AFTER - idle)

    def give_back(self) -> None:
        """Let the turn go now."""
        with self._turn:
            self._give_back_locked()

    def _give_back_locked(self) -> None:
        if self.held:
            self._forget_turn()
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Let the turn go and close the files; with a waiter's thread still on them, when that
        thread is done: a descriptor closed under it could be reused for another file. A later
        ``take`` opens them again."""
        if not self._in_use:
            self.give_back()
        with self._guard:
            if self._threads:
                self._closing = True
            else:
                self._close_locked()

    def _close_locked(self) -> None:
        fds = (self._fd, self._waiters_fd)
        self._fd = self._waiters_fd = None
        self._forget_turn()  # closing the file let it go
        self._closing = False
        if self._pid == process_id.PID:
            for fd in fds:
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)


def is_turn_look(handle: object) -> bool:
    """Whether an event loop's ready callback is a writer queue's look at its turn
    (``WriterQueue._let_go``): no task's step, so no sync about to join a group commit."""
    callback = getattr(handle, "_callback", None)
    return getattr(callback, "__func__", None) is WriterQueue._let_go


class _Releaser:
    """One thread per process that lets go of kept turns whose event loop has had no moment
    for ``STUCK_AFTER`` s since their last sync (blocked in other work: the turn must not wait
    for it). It sleeps while no turn is kept."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._queues: set[WriterQueue] = set()
        self._pid = 0

    def watch(self, queue: WriterQueue) -> None:
        with self._wake:
            if self._pid != process_id.PID:
                self._pid = process_id.PID
                self._queues = set()
                threading.Thread(target=self._run, name="memcore-turns", daemon=True).start()
            if queue not in self._queues:
                if not self._queues:
                    self._wake.notify()  # asleep with nothing to watch: wake it
                self._queues.add(queue)  # else it looks at this one when it next wakes

    def _run(self) -> None:
        pid = os.getpid()
        with self._wake:
            while self._pid == pid:
                pause: float | None = None
                now = time.monotonic()
                for queue in list(self._queues):
                    left = queue._let_go_if_idle(now)
                    if left is None:
                        self._queues.discard(queue)
                    else:
                        pause = left if pause is None else min(pause, left)
                self._wake.wait(pause)

    def after_fork_in_child(self) -> None:
        self._wake = threading.Condition()  # its thread is gone, maybe holding the old one
        self._queues = set()
        self._pid = 0


_RELEASER = _Releaser()


def _let_go_before_fork() -> None:
    """A child inherits the parent's open files, and with them a turn the parent keeps: let
    kept turns go first (a sync in progress keeps its own)."""
    for queue in list(_open_queues):
        if not queue._in_use:
            queue.give_back()


def _after_fork_in_child() -> None:
    """Threads do not survive a fork, and a lock one held stays held: make them afresh. The
    parent's descriptors are closed here: the child opens its own files when it first syncs
    (closing a copy lets no lock go: a ``flock`` lasts while any copy of its file is open, and
    the parent keeps its own)."""
    _RELEASER.after_fork_in_child()
    for queue in list(_open_queues):
        queue._turn = threading.Lock()
        queue._guard = threading.Lock()
        queue._forget_turn()
        for fd in (queue._fd, queue._waiters_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        queue._fd = queue._waiters_fd = None
        queue._threads = 0
        queue._closing = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_let_go_before_fork, after_in_child=_after_fork_in_child)


__all__ = [
    "FIRST_CATCH_UP",
    "HANDOVER",
    "PATIENCE",
    "QUEUES_POSSIBLE",
    "RECHECK_MAX",
    "STUCK_AFTER",
    "TURN",
    "TurnTimeout",
    "WaitUnneeded",
    "WriterQueue",
]
