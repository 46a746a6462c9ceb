"""The prefetcher's confidence: a raw score mapped to the hit rate measured for scores like it
(:data:`CALIBRATION`, :func:`calibrate`), and the fit that makes such a table from ``(score,
hit)`` observations (:func:`fit_calibration`, also for one's own streams). Apart from the
prefetcher because it is fitted and checked offline (``benchmarks/prefetch_quality.py --fit``),
not per access.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable

from memcore.errors import ValidationError


def check_positive(name: str, value: object) -> int:
    """``value``, an int >= 1, or ValidationError (the prefetcher's sizes, ``fit_calibration``'s
    bins)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be an int >= 1 (got {value!r})")
    return value


#: Score -> measured probability of being the next access: ``(mean score, hit rate)`` knots of
#: pools of predictions, piecewise linear between them (and past the last towards (1, 1): see
#: :func:`calibrate`). Fitted (equal-count bins, then made
#: monotone by pooling adjacent violators) on the top predictions over the real Claude Code
#: sessions of ``../shared/data/claude-code``, online, cold and warm-started;
#: ``benchmarks/prefetch_quality.py --fit`` reprints it, with a fit on each half of the sessions
#: checked on the other half.
Calibration = tuple[tuple[float, float], ...]

CALIBRATION: Calibration = (
    (0.0314, 0.0),
    (0.0705, 0.0873),
    (0.1048, 0.1268),
    (0.3002, 0.215),
    (0.3726, 0.3014),
    (0.415, 0.4141),
    (0.4733, 0.4901),
    (0.6335, 0.6482),
)


def calibrate(score: float, table: Calibration | None = None) -> float:
    """The measured hit rate of a raw ``score`` in ``table`` (default :data:`CALIBRATION`):
    linear between the knots, flat below the first (no data says less there), and past the last
    linear towards ``(1.0, 1.0)``: a raw score of 1 is certainty in the model's terms, and a
    pattern that never failed must be able to pass any threshold. ``ValidationError`` for a
    score that is no finite number or a table that is no calibration."""
    if not _is_finite(score):
        raise ValidationError(f"a score is a finite number (got {score!r})")
    return calibrated(float(score), CALIBRATION if table is None else check_calibration(table))


def calibrated(score: float, knots: Calibration) -> float:
    """``calibrate`` on a checked table (the prefetcher's own: no check per prediction)."""
    low_x, low_y = knots[0]
    if score <= low_x:
        return low_y
    for x, y in knots[1:]:
        if score <= x:
            return low_y + (y - low_y) * (score - low_x) / (x - low_x)
        low_x, low_y = x, y
    if low_x >= 1.0:
        return low_y
    return low_y + (1.0 - low_y) * (min(score, 1.0) - low_x) / (1.0 - low_x)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_finite(value: object) -> bool:
    """A real number that is a finite float: an int past the float range is not (``isfinite``
    and ``float`` raise ``OverflowError`` on it, which is no memcore error)."""
    if not _is_number(value):
        return False
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except OverflowError:
        return False


def check_calibration(table: object) -> Calibration:
    """``table`` as knots of finite scores rising with hit rates not falling in [0, 1], or
    ValidationError."""
    try:
        pairs = [tuple(knot) for knot in table]  # type: ignore[attr-defined]
    except TypeError as exc:
        raise ValidationError("a calibration is a sequence of (score, hit rate) knots") from exc
    if not pairs or any(len(knot) != 2 or not all(map(_is_number, knot)) for knot in pairs):
        raise ValidationError("a calibration is a non-empty sequence of (score, hit rate) numbers")
    if not all(_is_finite(x) for x, _ in pairs):
        raise ValidationError("calibration knot scores must be finite")
    if any(not 0.0 <= y <= 1.0 for _, y in pairs):  # (before float(): a huge int overflows it)
        raise ValidationError("a calibration needs knots with hit rates in [0, 1]")
    knots = tuple((float(x), float(y)) for x, y in pairs)
    for (x0, y0), (x1, y1) in itertools.pairwise(knots):
        if x1 <= x0 or y1 < y0:
            raise ValidationError("calibration knots must rise in score and not fall in hit rate")
    return knots


def _observations(observed: object) -> list[tuple[float, bool]]:
    """``(score, hit)`` pairs checked: a finite real score and a bool hit (a string such as
    ``"no"`` would count as a hit, a NaN score would become a knot)."""
    try:
        pairs = [tuple(pair) for pair in observed]  # type: ignore[attr-defined]
    except TypeError as exc:
        raise ValidationError("fit_calibration takes (score, hit) pairs") from exc
    points: list[tuple[float, bool]] = []
    for pair in pairs:
        if len(pair) != 2:
            raise ValidationError(f"fit_calibration takes (score, hit) pairs (got {pair!r})")
        score, hit = pair
        if not _is_finite(score):
            raise ValidationError(f"an observed score is a finite number (got {score!r})")
        if not isinstance(hit, bool):
            # numpy's bools, and 0 and 1 (a column of hits counted as numbers), are hits too
            is_bool = getattr(getattr(hit, "dtype", None), "kind", None) == "b"  # (numpy's)
            if not (is_bool or (isinstance(hit, numbers.Integral) and hit in (0, 1))):
                raise ValidationError(f"an observed hit is True or False (got {hit!r})")
            hit = bool(hit)
        points.append((float(score), hit))
    return points


def _rate(pool: list[float]) -> float:
    return pool[1] / pool[2]


def fit_calibration(observed: Iterable[tuple[float, bool | int]], bins: int = 12) -> Calibration:
    """A calibration from ``(score, hit)`` observations (see
    :meth:`PredictiveMemoryPrefetcher.score_next_accesses`): equal-count bins of the scores,
    adjacent bins pooled until the hit rates rise with the score (isotonic regression), one knot
    ``(mean score, hit rate)`` per pool."""
    check_positive("bins", bins)
    points = sorted(_observations(observed))
    if not points:
        raise ValidationError("fit_calibration needs at least one observation")
    size = max(1, len(points) // bins)
    starts = list(range(0, len(points), size))
    if len(starts) > 1 and len(points) - starts[-1] < size:
        starts.pop()  # a short last chunk joins the one before: every knot has support
    pooled: list[list[float]] = []  # [summed score, hits, count]
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(points)
        chunk = points[start:end]
        pooled.append([sum(score for score, _ in chunk), sum(hit for _, hit in chunk), len(chunk)])
        while len(pooled) > 1 and _rate(pooled[-2]) >= _rate(pooled[-1]):
            last = pooled.pop()
            for field in range(3):
                pooled[-1][field] += last[field]
    knots: list[tuple[float, float]] = []
    for total, hits, count in pooled:
        x = round(total / count, 4)
        if knots and x <= knots[-1][0]:  # equal scores pooled apart by rounding: keep one
            continue
        knots.append((x, round(hits / count, 4)))
    return tuple(knots)


__all__ = ["CALIBRATION", "Calibration", "calibrate", "fit_calibration"]
