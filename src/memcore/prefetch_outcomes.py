"""How a session's own top predictions have fared, to correct the confidence the calibration
table states (:class:`memcore.prefetch.PredictiveMemoryPrefetcher`).

The table is fitted on many sessions, and one session may be easier or harder than their mix:
on the development Claude Code sessions, a table fitted on one half of them stated 0.038 more
than the other half achieved. So each prediction's top item is kept until the next access is
recorded; then it counts as stated (its calibrated confidence) and as achieved (1 when that
access was it, else 0), and the odds of the session's later confidences are multiplied by
``(achieved + PRIOR) / (stated + PRIOR)``, at most 1: 1 while the session is young, its own
record as it grows. Only lowered: a session easier than the mix keeps the table's word, as
overconfidence is what costs (a prefetch above the threshold is a read), and a high confidence
raised by an easy start overshot (0.85 stated, 0.65 achieved, when raising was allowed). A
prediction followed by no access, or by more than one, counts for nothing.

Threads may record and predict at once: each method holds the record's lock, so a prediction
is settled once (two threads settling it raised ``KeyError``) and both sums move together.
"""

from __future__ import annotations

import threading

#: The stated confidence the table's word is worth against a session's own record. On the
#: development sessions (``benchmarks/prefetch_quality.py --fit``: the table fitted on one half,
#: checked on the other, then the other way), the mean confidence minus the hit rate went from
#: -0.009 and +0.038 to -0.017 and +0.020 with 10 (all 23 sessions: +0.007 to -0.003), -0.021
#: and +0.014 with 5 (all: -0.007), -0.024 and +0.009 with 3 (all: -0.010).
PRIOR = 10.0


class SessionOutcomes:
    """Per session: the top prediction not settled yet, and the stated and achieved sums."""

    __slots__ = ("_lock", "_open", "_tally")

    def __init__(self) -> None:
        #: session -> (its access count when predicted, the top item, its stated confidence)
        self._open: dict[str, tuple[int, str, float]] = {}
        #: session -> [stated, achieved]
        self._tally: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._tally) + len(self._open)

    def factor(self, session: str, accesses: int, latest: str | None) -> float:
        """Settle the prediction made one access ago (its top item against ``latest``, the
        access recorded since; ``accesses`` the session's count now), then the factor the odds
        of its confidences are multiplied by (at most 1)."""
        with self._lock:
            made = self._open.get(session)
            if made is not None and made[0] != accesses:  # (no access since: it waits for one)
                del self._open[session]
                if latest is not None and made[0] + 1 == accesses:
                    settled = self._tally.setdefault(session, [0.0, 0.0])
                    settled[0] += made[2]
                    settled[1] += 1.0 if latest == made[1] else 0.0
            return self._factor(session)

    def current(self, session: str) -> float:
        """The factor as the record stands, settling nothing: for a prediction made while
        another thread recorded (its view of the session moved under it)."""
        with self._lock:
            return self._factor(session)

    def _factor(self, session: str) -> float:
        tally = self._tally.get(session)
        return 1.0 if tally is None else min(1.0, (tally[1] + PRIOR) / (tally[0] + PRIOR))

    def predicted(self, session: str, accesses: int, item: str, stated: float) -> None:
        """A prediction of ``item`` first, at ``stated`` confidence, after ``accesses``."""
        with self._lock:
            self._open[session] = (accesses, item, stated)

    def forget(self, session: str) -> None:
        with self._lock:
            self._open.pop(session, None)
            self._tally.pop(session, None)

    def keep_only(self, sessions: set[str]) -> None:
        """Drop the record of every session not in ``sessions`` (those with a model)."""
        with self._lock:
            for table in (self._open, self._tally):
                for session in [s for s in table if s not in sessions]:
                    del table[session]


__all__ = ["PRIOR", "SessionOutcomes"]
