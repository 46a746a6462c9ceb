"""MemoryLeakDetector's own memory stays bounded however many sessions report through it, and a
reading no process can have (or a clock value that is no number) is refused before anything is
kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from memcore.errors import ValidationError
from memcore.leak import MAX_STATUSES, MemoryLeakDetector


def test_statuses_keep_the_sessions_reported_last_and_stay_bounded() -> None:
    # One status was kept per session id ever monitored: a service monitoring every agent
    # session it served grew a dict without end, in the detector meant to catch such growth.
    ticks = iter(range(10**9))
    detector = MemoryLeakDetector(
        clock=lambda: float(next(ticks)), rss_reader=lambda: 100.0, auto_recover=False
    )
    detector.monitor_memory_usage("kept")
    for number in range(MAX_STATUSES * 3):
        detector.monitor_memory_usage(f"session-{number}")
        if number % 100 == 0:
            detector.monitor_memory_usage("kept")  # reported again: among the latest
    assert len(detector.statuses) == MAX_STATUSES
    assert "kept" in detector.statuses
    assert f"session-{MAX_STATUSES * 3 - 1}" in detector.statuses
    assert "session-0" not in detector.statuses
    assert detector.last_status is detector.statuses[f"session-{MAX_STATUSES * 3 - 1}"]


@pytest.mark.parametrize("reading", [-1.0, -1e-9, -(2**40)])
def test_a_negative_reading_is_refused_and_nothing_is_kept(reading: float) -> None:
    values = iter([100.0, 100.0, reading])
    detector = MemoryLeakDetector(rss_reader=lambda: next(values), auto_recover=False)
    detector.monitor_memory_usage("s")  # (the constructor read the first value)
    with pytest.raises(ValidationError, match="rss_reader"):
        detector.monitor_memory_usage("s")
    assert detector.sample_count == 1
    assert detector.baseline_mb == 100.0
    assert detector.statuses["s"].current_mb == 100.0


def test_a_negative_first_reading_fails_the_constructor() -> None:
    with pytest.raises(ValidationError, match=">= 0"):
        MemoryLeakDetector(rss_reader=lambda: -5.0)


@pytest.mark.parametrize(
    "bad",
    ["60", None, Decimal("60"), float("nan"), True],
    ids=["str", "None", "Decimal", "nan", "bool"],
)
def test_a_clock_value_that_is_no_number_is_refused_on_every_sample(bad: object) -> None:
    # The first sample refused it (ValidationError from the sample ring); a later one computed
    # ``now - last`` first, a TypeError for a str, None or Decimal.
    ticks = iter([bad, 0.0, bad])
    detector = MemoryLeakDetector(
        clock=lambda: next(ticks),  # type: ignore[arg-type,return-value]
        rss_reader=lambda: 100.0,
        auto_recover=False,
    )
    with pytest.raises(ValidationError, match="clock"):
        detector.monitor_memory_usage("s")  # the first sample
    detector.monitor_memory_usage("s")
    with pytest.raises(ValidationError, match="clock"):
        detector.monitor_memory_usage("s")  # a later one
    assert detector.sample_count == 1
    assert detector.statuses["s"].current_mb == 100.0
