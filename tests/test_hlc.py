"""The hybrid logical clock: strictly increasing stamps, overflow, observing remote stamps, drift
limits and bad input.
"""

from __future__ import annotations

from typing import Any

import pytest

from memcore import hlc
from memcore.errors import ValidationError
from memcore.hlc import HybridLogicalClock
from tests.sync_support import FakeWall

# --- the hybrid logical clock ----------------------------------------------------------------


def test_hlc_now_is_strictly_increasing_when_the_wall_clock_stalls_or_goes_back() -> None:
    wall = FakeWall(5_000)
    clock = HybridLogicalClock(wall)
    first = clock.now()
    assert hlc.unpack(first) == (5_000, 0)
    second = clock.now()
    assert hlc.unpack(second) == (5_000, 1)
    wall.ms = 4_000  # the wall clock steps back: stamps keep increasing
    third = clock.now()
    assert third > second
    assert hlc.unpack(third) == (5_000, 2)
    wall.ms = 6_000
    assert hlc.unpack(clock.now()) == (6_000, 0)


def test_hlc_counter_overflow_carries_into_the_wall_time() -> None:
    clock = HybridLogicalClock(FakeWall(10), last=hlc.pack(10, hlc.COUNTER_MASK))
    stamp = clock.now()
    assert stamp > hlc.pack(10, hlc.COUNTER_MASK)
    assert hlc.unpack(stamp) == (11, 0)


def test_hlc_observe_moves_past_a_remote_stamp_ahead_of_the_wall_clock() -> None:
    clock = HybridLogicalClock(FakeWall(1_000))
    remote = hlc.pack(9_000, 7)
    observed = clock.observe(remote)
    assert observed > remote
    assert clock.now() > observed
    # a remote stamp behind the local wall clock leaves physical time in charge
    late = HybridLogicalClock(FakeWall(50_000))
    assert hlc.unpack(late.observe(hlc.pack(1_000, 3))) == (50_000, 0)


def test_hlc_drift_limit_refuses_stamps_from_the_far_future() -> None:
    clock = HybridLogicalClock(FakeWall(1_000), max_drift_ms=500)
    clock.observe(hlc.pack(1_400))
    with pytest.raises(ValidationError, match="ahead"):
        clock.observe(hlc.pack(1_600))


@pytest.mark.parametrize("bad", [-1, 1 << 64, 1.5, "7", True, None])
def test_hlc_rejects_invalid_stamps(bad: Any) -> None:
    with pytest.raises(ValidationError):
        HybridLogicalClock(FakeWall()).observe(bad)
    with pytest.raises(ValidationError):
        hlc.unpack(bad)


def test_hlc_pack_bounds_and_tiebreak_order() -> None:
    assert hlc.unpack(hlc.pack(hlc.MAX_WALL_MS, hlc.COUNTER_MASK)) == (
        hlc.MAX_WALL_MS,
        hlc.COUNTER_MASK,
    )
    with pytest.raises(ValidationError):
        hlc.pack(hlc.MAX_WALL_MS + 1)
    with pytest.raises(ValidationError):
        hlc.pack(0, hlc.COUNTER_MASK + 1)
    assert hlc.is_newer(5, "b", 5, "a")
    assert not hlc.is_newer(5, "a", 5, "b")
    assert hlc.is_newer(6, "a", 5, "z")


def test_hlc_rejects_a_broken_wall_clock() -> None:
    with pytest.raises(ValidationError, match="wall clock"):
        HybridLogicalClock(lambda: -5).now()
