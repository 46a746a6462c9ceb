"""A hybrid logical clock (HLC) whose stamps are plain 64-bit integers.

Replicas stamp every local write so that "last writer wins" means something across machines
whose wall clocks disagree: a stamp is never older than any stamp its replica has seen (writes
that causally follow others sort after them), and it stays close to wall time, so concurrent
writes order roughly by when they happened.

Layout of a stamp (an unsigned 64-bit int, so it packs into msgpack and SQLite as one integer)::

    bits 63..16  wall time in milliseconds since the Unix epoch (48 bits: until year ~10889)
    bits 15..0   logical counter: orders events within one millisecond

Comparing stamps as integers compares (wall, counter) lexicographically. Two replicas can produce
the same stamp; :func:`order_key` breaks that tie by replica id so that every replica picks the
same winner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from memcore.errors import ValidationError

WALL_BITS = 48
COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
MAX_WALL_MS = (1 << WALL_BITS) - 1
MAX_STAMP = (1 << 64) - 1


def wall_clock_ms() -> int:
    """The system wall clock in whole milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


def pack(wall_ms: int, counter: int = 0) -> int:
    """Build a stamp from its wall-time and counter parts."""
    if not isinstance(wall_ms, int) or not 0 <= wall_ms <= MAX_WALL_MS:
        raise ValidationError(f"HLC wall time must be 0..{MAX_WALL_MS} ms (got {wall_ms!r})")
    if not isinstance(counter, int) or not 0 <= counter <= COUNTER_MASK:
        raise ValidationError(f"HLC counter must be 0..{COUNTER_MASK} (got {counter!r})")
    return (wall_ms << COUNTER_BITS) | counter


def unpack(stamp: int) -> tuple[int, int]:
    """``(wall_ms, counter)`` of a stamp."""
    stamp = check_stamp(stamp)
    return stamp >> COUNTER_BITS, stamp & COUNTER_MASK


def check_stamp(stamp: object) -> int:
    """Return ``stamp`` if it is a valid 64-bit stamp, else raise ``ValidationError``."""
    if not isinstance(stamp, int) or isinstance(stamp, bool) or not 0 <= stamp <= MAX_STAMP:
        raise ValidationError(f"an HLC stamp is an unsigned 64-bit integer (got {stamp!r})")
    return stamp


def order_key(stamp: int, replica: str) -> tuple[int, str]:
    """The total order of writes: by stamp, then by replica id (the same answer everywhere)."""
    return (stamp, replica)


def is_newer(stamp: int, replica: str, other_stamp: int, other_replica: str) -> bool:
    """True when the write ``(stamp, replica)`` sorts after ``(other_stamp, other_replica)``."""
    return order_key(stamp, replica) > order_key(other_stamp, other_replica)


class HybridLogicalClock:
    """One replica's clock: :meth:`now` for local events, :meth:`observe` for received stamps.

    ``wall`` returns milliseconds since the epoch; tests inject a fake one to produce ties and
    clock skew on purpose. ``max_drift_ms`` (optional) refuses remote stamps further ahead of the
    local wall clock than that, so one replica with a wild clock cannot drag everyone's stamps
    into the future (a sync sets such records aside until the wall clock catches up: see
    :meth:`ahead_limit`). Thread-safe: a manager may be used from several threads.
    """

    __slots__ = ("_last", "_lock", "_wall", "max_drift_ms")

    def __init__(
        self,
        wall: Callable[[], int] | None = None,
        *,
        max_drift_ms: int | None = None,
        last: int = 0,
    ) -> None:
        if max_drift_ms is not None and (not isinstance(max_drift_ms, int) or max_drift_ms < 0):
            raise ValidationError(f"max_drift_ms must be a non-negative int (got {max_drift_ms!r})")
        self._wall = wall if wall is not None else wall_clock_ms
        self.max_drift_ms = max_drift_ms
        self._last = check_stamp(last)
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        """The most recent stamp issued or observed."""
        return self._last

    def _physical(self) -> int:
        wall = self._wall()
        if not isinstance(wall, int) or isinstance(wall, bool) or wall < 0:
            raise ValidationError(f"the wall clock returned {wall!r}, not milliseconds")
        return min(wall, MAX_WALL_MS) << COUNTER_BITS

    def _advance(self, floor: int, physical: int) -> int:
        # physical time moved past everything seen: restart the counter at 0; otherwise tick
        # the counter of the largest stamp seen (its carry moves into the wall-time bits, which
        # keeps stamps strictly increasing even past 65535 events in one millisecond).
        stamp = physical if physical > floor else floor + 1
        if stamp > MAX_STAMP:
            raise ValidationError("HLC stamp space exhausted")
        self._last = stamp
        return stamp

    def now(self) -> int:
        """A stamp for a local event: greater than every stamp issued or observed so far."""
        with self._lock:
            return self._advance(self._last, self._physical())

    def ahead_limit(self) -> int | None:
        """The largest remote stamp :meth:`observe` takes now; None without ``max_drift_ms``
        (any). A sync sets aside the records stamped above it, and takes them once the wall
        clock has caught up, instead of failing on them (``memcore.sync_merge.merge``)."""
        if self.max_drift_ms is None:
            return None
        wall = self._physical() >> COUNTER_BITS
        return min(MAX_STAMP, ((wall + self.max_drift_ms) << COUNTER_BITS) | COUNTER_MASK)

    def observe(self, remote: int, *, limit: int | None = None) -> int:
        """Merge a stamp received from another replica; returns the clock's new stamp.

        Every later :meth:`now` sorts after ``remote``, so a write made after seeing another
        write wins over it under the timestamp strategy. A stamp more than ``max_drift_ms``
        ahead of the wall clock is a ``ValidationError``; ``limit``: the :meth:`ahead_limit`
        the caller already checked ``remote`` against (the check is then made against it, not
        against a wall clock that may have stepped back since).
        """
        remote = check_stamp(remote)
        with self._lock:
            physical = self._physical()
            if self.max_drift_ms is not None and (
                remote > limit
                if limit is not None
                else (remote >> COUNTER_BITS) > (physical >> COUNTER_BITS) + self.max_drift_ms
            ):
                raise ValidationError(
                    f"remote HLC stamp is more than {self.max_drift_ms} ms ahead of this clock"
                )
            return self._advance(max(self._last, remote), physical)


__all__ = [
    "COUNTER_BITS",
    "COUNTER_MASK",
    "MAX_STAMP",
    "MAX_WALL_MS",
    "WALL_BITS",
    "HybridLogicalClock",
    "check_stamp",
    "is_newer",
    "order_key",
    "pack",
    "unpack",
    "wall_clock_ms",
]
