"""The regression kernels: the ring buffer and both slopes on each twin, against plain references
(numpy's least squares, a brute-force median), and the compiled twin equal to the pure one."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from fractions import Fraction
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.errors import ValidationError


@pytest.fixture(scope="module")
def twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> tuple[ModuleType, ModuleType]:
    return native_kernels("regression"), pure_kernels("regression")


def test_native_module_is_the_compiled_one(native_kernels: Callable[[str], ModuleType]) -> None:
    module = native_kernels("regression")
    assert module.__name__ == "memcore._native.regression"
    assert module.SampleRing.__module__ == "memcore._native.regression"


def filled(impl: ModuleType, points: list[tuple[float, float]], capacity: int = 100) -> Any:
    ring = impl.SampleRing(capacity)
    for t, mb in points:
        ring.push(t, mb)
    return ring


def same(a: float, b: float) -> bool:
    """Equal within float rounding; NaN equals NaN, infinities must match exactly."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)


# --- behaviour, on each twin -------------------------------------------------------------------


def test_ring_keeps_the_newest_in_arrival_order(regression_impl: ModuleType) -> None:
    ring = regression_impl.SampleRing(5)
    assert ring.capacity == 5
    assert len(ring) == 0
    assert ring.count == 0
    for i in range(12):
        ring.push(float(i), float(10 * i))
    assert len(ring) == 5
    assert ring.samples() == [(float(i), float(10 * i)) for i in range(7, 12)]
    assert ring.samples(2) == [(10.0, 100.0), (11.0, 110.0)]
    ring.clear()
    assert len(ring) == 0
    assert ring.samples() == []
    ring.push(1, 2)  # ints are accepted and kept as floats
    assert ring.samples() == [(1.0, 2.0)]


def test_exact_line_gives_its_slope(regression_impl: ModuleType) -> None:
    ring = filled(regression_impl, [(float(t), 3.0 * t + 7.0) for t in range(60)])
    assert ring.ols_slope() == pytest.approx(3.0, rel=1e-12)
    assert ring.theil_sen_slope() == pytest.approx(3.0, rel=1e-12)
    assert ring.ols_slope(2) == pytest.approx(3.0, rel=1e-12)


def test_epoch_timestamps_lose_no_precision(regression_impl: ModuleType) -> None:
    # Uncentred sums of t*t at t ~ 1.8e9 would cancel catastrophically; centring keeps ~1e-7.
    start = 1_780_000_000.0
    points = [(start + 0.5 * i, 200.0 + 0.002 * i) for i in range(50)]
    ring = filled(regression_impl, points)
    assert ring.ols_slope() == pytest.approx(0.004, rel=1e-6)
    assert ring.theil_sen_slope() == pytest.approx(0.004, rel=1e-6)


def test_too_few_samples_and_equal_times_give_zero(regression_impl: ModuleType) -> None:
    ring = regression_impl.SampleRing()
    assert ring.ols_slope() == 0.0
    assert ring.theil_sen_slope() == 0.0
    ring.push(1.0, 5.0)
    assert ring.ols_slope() == 0.0
    assert ring.theil_sen_slope() == 0.0
    for mb in (7.0, 90.0, -3.0):
        ring.push(1.0, mb)  # all at one instant: no trend can be measured
    assert ring.ols_slope() == 0.0
    assert ring.theil_sen_slope() == 0.0
    ring.push(2.0, 10.0)
    assert ring.ols_slope(1) == 0.0
    assert ring.theil_sen_slope(1) == 0.0
    # Pairs at equal times are skipped; the rest still give a slope.
    assert ring.theil_sen_slope(2) == pytest.approx(10.0 - -3.0)


def test_window_larger_than_held_uses_all(regression_impl: ModuleType) -> None:
    ring = filled(regression_impl, [(0.0, 0.0), (1.0, 2.0), (2.0, 4.0)])
    assert ring.ols_slope(1000) == pytest.approx(2.0)
    assert ring.theil_sen_slope(1000) == pytest.approx(2.0)


def test_only_the_window_counts(regression_impl: ModuleType) -> None:
    # Flat for 50 samples, then a steep line for the newest 10.
    points = [(float(t), 100.0) for t in range(50)] + [(float(t), 5.0 * t) for t in range(50, 60)]
    ring = filled(regression_impl, points)
    assert ring.ols_slope(10) == pytest.approx(5.0)
    assert ring.theil_sen_slope(10) == pytest.approx(5.0)


def test_theil_sen_ignores_spikes_that_move_least_squares(regression_impl: ModuleType) -> None:
    points = [(float(t), 100.0 + (400.0 if t in (45, 47, 48) else 0.0)) for t in range(50)]
    ring = filled(regression_impl, points)
    assert ring.theil_sen_slope() == 0.0
    assert ring.ols_slope() > 1.0


def test_huge_and_tiny_magnitudes_stay_finite(regression_impl: ModuleType) -> None:
    big = [(1e300 * t, 1e307 * (t % 7) + 1e306 * t) for t in range(20)]
    ring = filled(regression_impl, big)
    expected = np.polyfit([t for t in range(20)], [10.0 * (t % 7) + t for t in range(20)], 1)[0]
    assert ring.ols_slope() == pytest.approx(expected * 1e6, rel=1e-9)
    assert math.isfinite(ring.theil_sen_slope())
    tiny = [(5e-324 * t, 1e-310 * t) for t in range(10)]
    assert math.isfinite(filled(regression_impl, tiny).ols_slope())
    # A slope beyond the float range saturates to +-inf rather than raising.
    steep = filled(regression_impl, [(0.0, -1e308), (1e-300, 1e308)])
    assert steep.ols_slope() == math.inf
    assert steep.theil_sen_slope() == math.inf


def test_scaling_by_a_power_of_two_is_exact(regression_impl: ModuleType) -> None:
    points = [(1.5 * t + 0.25 * (t % 3), 40.0 + math.sin(t)) for t in range(40)]
    base = filled(regression_impl, points)
    scaled = filled(regression_impl, [(t * 2.0**40, mb * 2.0**-30) for t, mb in points])
    assert scaled.ols_slope() == base.ols_slope() * 2.0**-70
    assert scaled.theil_sen_slope() == base.theil_sen_slope() * 2.0**-70


@pytest.mark.parametrize(
    "bad", [math.nan, math.inf, -math.inf, "1.0", b"1", None, True, 10**400, 1j]
)
def test_push_refuses_non_finite_and_non_numbers(regression_impl: ModuleType, bad: object) -> None:
    ring = regression_impl.SampleRing()
    with pytest.raises(ValidationError):
        ring.push(bad, 1.0)
    with pytest.raises(ValidationError):
        ring.push(1.0, bad)
    assert len(ring) == 0


def test_push_accepts_other_reals(regression_impl: ModuleType) -> None:
    ring = regression_impl.SampleRing()
    ring.push(np.float64(1.0), np.int64(3))
    ring.push(Fraction(3, 2), np.float32(4.0))
    assert ring.samples() == [(1.0, 3.0), (1.5, 4.0)]


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "5", None])
def test_last_n_must_be_a_positive_int(regression_impl: ModuleType, bad: object) -> None:
    ring = filled(regression_impl, [(0.0, 0.0), (1.0, 1.0)])
    with pytest.raises(ValidationError):
        ring.ols_slope(bad)
    with pytest.raises(ValidationError):
        ring.theil_sen_slope(bad)
    with pytest.raises(ValidationError):
        ring.samples(bad)


@pytest.mark.parametrize("bad", [1, 0, -5, True, 3.0, "100", 1 << 17])
def test_capacity_is_checked(regression_impl: ModuleType, bad: object) -> None:
    with pytest.raises(ValidationError):
        regression_impl.SampleRing(bad)


# --- against plain references ------------------------------------------------------------------

sample_times = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
sample_values = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(st.tuples(sample_times, sample_values), min_size=2, max_size=60),
    last_n=st.integers(2, 70),
)
def test_ols_matches_numpy(
    regression_impl: ModuleType, points: list[tuple[float, float]], last_n: int
) -> None:
    window = points[-last_n:]
    times = np.array([t for t, _ in window])
    values = np.array([mb for _, mb in window])
    spread = float(times.max() - times.min())
    if len(window) < 2 or spread < 1e-3 * max(1.0, float(np.abs(times).max())):
        return  # ill-conditioned for numpy's reference itself; twin equality covers these
    expected = float(np.polyfit(times, values, 1)[0])
    got = filled(regression_impl, points).ols_slope(last_n)
    scale = float(np.abs(values).max()) / spread + 1e-12
    assert abs(got - expected) <= 1e-7 * scale


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.integers(-50, 50).map(float), sample_values), min_size=0, max_size=40
    ),
    last_n=st.integers(1, 45),
)
def test_theil_sen_matches_brute_force(
    regression_impl: ModuleType, points: list[tuple[float, float]], last_n: int
) -> None:
    window = points[-last_n:]
    slopes = [
        (b[1] - a[1]) / (b[0] - a[0])
        for i, a in enumerate(window)
        for b in window[i + 1 :]
        if b[0] != a[0]
    ]
    expected = statistics.median(slopes) if slopes else 0.0
    got = filled(regression_impl, points).theil_sen_slope(last_n)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    points=st.lists(st.tuples(sample_times, sample_values), max_size=150),
    capacity=st.integers(2, 60),
)
def test_ring_holds_the_newest_capacity_samples(
    regression_impl: ModuleType, points: list[tuple[float, float]], capacity: int
) -> None:
    ring = filled(regression_impl, points, capacity)
    kept = points[-capacity:] if points else []
    assert len(ring) == len(kept)
    assert ring.samples(capacity) == kept
    assert ring.samples(3) == kept[-3:]


# --- the compiled twin equals the pure one -----------------------------------------------------

any_finite = st.floats(allow_nan=False, allow_infinity=False)
moderate = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
point_lists = st.one_of(
    st.lists(st.tuples(moderate, moderate), max_size=130),
    st.lists(st.tuples(any_finite, any_finite), max_size=40),  # huge and subnormal magnitudes
    st.lists(st.tuples(st.just(1.7e9), moderate), max_size=30),  # constant times
    st.lists(  # many duplicate times and values: ties everywhere
        st.tuples(st.integers(0, 4).map(float), st.integers(0, 3).map(float)), max_size=60
    ),
)


@settings(max_examples=100, deadline=None)
@given(
    points=point_lists,
    capacity=st.integers(2, 120),
    last_n=st.integers(1, 130),
)
def test_twins_agree(
    twins: tuple[ModuleType, ModuleType],
    points: list[tuple[float, float]],
    capacity: int,
    last_n: int,
) -> None:
    native, pure = twins
    ring_c = filled(native, points, capacity)
    ring_py = filled(pure, points, capacity)
    assert len(ring_c) == len(ring_py) == min(len(points), capacity)
    assert ring_c.samples(last_n) == ring_py.samples(last_n)
    assert same(ring_c.ols_slope(last_n), ring_py.ols_slope(last_n))
    assert same(ring_c.theil_sen_slope(last_n), ring_py.theil_sen_slope(last_n))
    # Reading twice gives the same answer (the compiled twin's scratch is its own per fit).
    assert same(ring_c.theil_sen_slope(last_n), ring_py.theil_sen_slope(last_n))


def test_native_ring_reinitialized_starts_over(twins: tuple[ModuleType, ModuleType]) -> None:
    native, _ = twins
    ring = filled(native, [(0.0, 0.0), (1.0, 1.0)])
    ring.__init__(3)
    assert ring.capacity == 3
    assert len(ring) == 0
    ring.push(0.0, 0.0)
    ring.push(2.0, 4.0)
    assert ring.ols_slope() == 2.0
