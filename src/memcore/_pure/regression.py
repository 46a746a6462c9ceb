"""A ring buffer of ``(time, rss)`` samples and the slopes a leak detector needs (pure twin).

``memcore._native.regression`` has the same names and signatures and gives the same numbers
(within float rounding: both run the same operations in the same order). The leak detector pushes
one sample per reading, so ``push`` is O(1) and touches no numpy; a slope is fitted on demand over
the newest ``last_n`` samples.

Rules both twins follow (the tests hold them to it):

* ``push(t, mb)`` takes real numbers (``int``, ``float`` or any ``numbers.Real`` but ``bool``)
  that are finite; anything else raises ``ValidationError``. Times need not be increasing (an
  injected clock may step back); samples are kept in arrival order, the oldest overwritten once
  the ring is full.
* ``last_n`` is an ``int`` >= 1 (else ``ValidationError``); more than are held means all held.
* Fewer than two samples in the window, or all their times equal, give a slope of ``0.0``: no
  trend can be measured, and "no growth measured" is what a detector should act on.
* Numerics: times and values are each scaled by a power of two (exact) so that their largest
  magnitude is below 1 (skipped where it cannot change a bit: magnitudes in
  ``[SAFE_LOW, SAFE_HIGH]``), then centred on their mean before the sums, so that epoch-sized
  timestamps lose no precision and huge values cannot overflow the sums. The slope is scaled back
  at the end; a slope beyond the float range is ``±inf``.
* Theil–Sen: the median of the slopes of all pairs with different times (a pair with equal times
  has no slope and is skipped); an even count averages the two middle slopes as ``0.5*a + 0.5*b``.
  No pair with different times gives ``0.0``. O(n² log n) here, O(n²) in the compiled twin.
"""

from __future__ import annotations

import math
import numbers

from memcore.errors import ValidationError

DEFAULT_CAPACITY = 100
DEFAULT_LAST_N = 50
MAX_CAPACITY = 1 << 16  # Theil-Sen keeps n*(n-1)/2 slopes; 65536 samples is far beyond any use
# Magnitudes between these need no scaling: no square, product or sum of them can overflow or
# underflow (see ``_scaled``).
SAFE_LOW = 2.0**-400
SAFE_HIGH = 2.0**400


def check_real(value: object, what: str) -> float:
    """``value`` as a finite float, or ``ValidationError`` (bools and strings are refused)."""
    if type(value) is float:
        number = value
    else:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValidationError(f"{what} must be a real number (got {type(value).__name__})")
        try:
            number = float(value)
        except (OverflowError, ValueError, TypeError) as exc:
            raise ValidationError(f"{what} is out of the float range: {value!r}") from exc
    if not math.isfinite(number):
        raise ValidationError(f"{what} must be finite (got {number!r})")
    return number


def check_count(value: object, what: str, minimum: int) -> int:
    """``value`` as an ``int`` >= ``minimum``, or ``ValidationError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be an int (got {type(value).__name__})")
    if value < minimum:
        raise ValidationError(f"{what} must be at least {minimum} (got {value})")
    return value


def _ldexp(value: float, exponent: int) -> float:
    # C's ldexp saturates to +-inf; Python's raises OverflowError. Saturate like C.
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def _scaled(values: list[float]) -> tuple[list[float], int]:
    """``values`` times 2**-e (exact), with e chosen so every magnitude is below 1.

    Scaling by a power of two commutes exactly with every operation of the fits as long as
    nothing overflows or underflows, so magnitudes within ``[SAFE_LOW, SAFE_HIGH]`` (where the
    sums cannot) are left as they are (e = 0): the same numbers, without the extra pass.
    """
    largest = 0.0
    for value in values:
        magnitude = abs(value)
        if magnitude > largest:
            largest = magnitude
    if largest == 0.0 or SAFE_LOW <= largest <= SAFE_HIGH:
        return values, 0
    exponent = math.frexp(largest)[1]
    if -1022 <= -exponent <= 1023:  # 2**-e is a normal float: one exact multiply each
        factor = math.ldexp(1.0, -exponent)
        return [value * factor for value in values], exponent
    return [math.ldexp(value, -exponent) for value in values], exponent


def _mean(values: list[float]) -> float:
    # A plain left-to-right sum, as in C (the builtin sum() compensates from Python 3.12 on).
    total = 0.0
    for value in values:
        total += value
    return total / len(values)


class SampleRing:
    """The newest ``capacity`` samples of ``(time in seconds, rss in MB)``, oldest overwritten."""

    __slots__ = ("_capacity", "_count", "_head", "_times", "_values")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        check_count(capacity, "capacity", 2)
        if capacity > MAX_CAPACITY:
            raise ValidationError(f"capacity must be at most {MAX_CAPACITY} (got {capacity})")
        self._capacity = capacity
        self._times = [0.0] * capacity
        self._values = [0.0] * capacity
        self._head = 0  # where the next sample goes
        self._count = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def push(self, t: float, mb: float) -> None:
        """Add one sample, dropping the oldest when full; O(1)."""
        time_s = check_real(t, "time")
        value = check_real(mb, "rss")
        head = self._head
        self._times[head] = time_s
        self._values[head] = value
        head += 1
        self._head = 0 if head == self._capacity else head
        if self._count < self._capacity:
            self._count += 1

    def clear(self) -> None:
        """Forget every sample (a detector does this after a recovery: a new trend starts)."""
        self._head = 0
        self._count = 0

    def _window(self, last_n: object) -> tuple[list[float], list[float]]:
        n = min(check_count(last_n, "last_n", 1), self._count)
        start = (self._head - n) % self._capacity
        times: list[float] = []
        values: list[float] = []
        for offset in range(n):
            index = (start + offset) % self._capacity
            times.append(self._times[index])
            values.append(self._values[index])
        return times, values

    def samples(self, last_n: int = DEFAULT_CAPACITY) -> list[tuple[float, float]]:
        """The newest ``last_n`` samples, oldest first."""
        times, values = self._window(last_n)
        return list(zip(times, values, strict=True))

    def ols_slope(self, last_n: int = DEFAULT_LAST_N) -> float:
        """Least-squares slope (MB per second) over the newest ``last_n`` samples."""
        times, values = self._window(last_n)
        n = len(times)
        if n < 2 or min(times) == max(times):
            return 0.0
        u, time_exp = _scaled(times)
        v, value_exp = _scaled(values)
        mean_u = _mean(u)
        mean_v = _mean(v)
        sxx = 0.0
        sxy = 0.0
        for a, b in zip(u, v, strict=True):
            du = a - mean_u
            sxx += du * du
            sxy += du * (b - mean_v)
        if sxx == 0.0:
            return 0.0
        return _ldexp(sxy / sxx, value_exp - time_exp)

    def theil_sen_slope(self, last_n: int = DEFAULT_LAST_N) -> float:
        """Median of pairwise slopes (MB per second) over the newest ``last_n`` samples.

        Robust where least squares is not: a few spikes (a burst of allocations, a big request)
        move the median little, so they neither fake a leak nor hide one.
        """
        times, values = self._window(last_n)
        n = len(times)
        if n < 2:
            return 0.0
        u, time_exp = _scaled(times)
        v, value_exp = _scaled(values)
        slopes: list[float] = []
        for i in range(n - 1):
            ui = u[i]
            vi = v[i]
            for j in range(i + 1, n):
                du = u[j] - ui
                if du != 0.0:
                    slopes.append((v[j] - vi) / du)
        m = len(slopes)
        if m == 0:
            return 0.0
        slopes.sort()
        half = m // 2
        middle = slopes[half] if m % 2 else 0.5 * slopes[half - 1] + 0.5 * slopes[half]
        return _ldexp(middle, value_exp - time_exp)


__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_LAST_N",
    "MAX_CAPACITY",
    "SAFE_HIGH",
    "SAFE_LOW",
    "SampleRing",
    "check_count",
    "check_real",
]
