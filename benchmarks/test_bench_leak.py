"""Leak-detector kernels: the per-sample cost (push + slope) of each twin, and the 50-point fit
beside ``numpy.polyfit``, ``scipy.stats.linregress`` and ``scipy.stats.theilslopes``.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_leak.py --benchmark-only -q``. The RSS
read is left out on purpose (it is a /proc read, the same for every fitting method); what is
timed is what the detector adds per sample. Numpy and scipy get ready-made float64 arrays, the
setting most favourable to them.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

np = pytest.importorskip("numpy")
stats = pytest.importorskip("scipy.stats")

POINTS = 50


def trace(count: int = 100, seed: int = 0) -> list[tuple[float, float]]:
    """Epoch-second times every ~10 s, RSS growing 20 MiB/h under a GC sawtooth and noise."""
    rng = random.Random(seed)
    start = 1_780_000_000.0
    return [
        (
            start + 10.0 * i + rng.random(),
            400.0 + i * 20.0 / 360.0 + 6.0 * ((i % 7) / 7) + rng.gauss(0, 1),
        )
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def samples() -> list[tuple[float, float]]:
    return trace()


def endless(samples: list[tuple[float, float]]) -> Iterator[tuple[float, float]]:
    """The trace again and again, shifted forward in time each lap, like a live process."""
    span = samples[-1][0] - samples[0][0] + 10.0
    for lap in itertools.count(1):
        for t, mb in samples:
            yield t + lap * span, mb


def full_ring(impl: ModuleType, samples: list[tuple[float, float]]) -> Any:
    ring = impl.SampleRing(100)
    for t, mb in samples:
        ring.push(t, mb)
    return ring


# --- per sample: push alone, push + fit --------------------------------------------------------


@pytest.mark.benchmark(group="per sample: push, 1000 samples per round")
def test_push_1000(
    benchmark: Any, regression_impl: ModuleType, samples: list[tuple[float, float]]
) -> None:
    ring = full_ring(regression_impl, samples)
    batch = list(itertools.islice(endless(samples), 1000))
    push = ring.push

    def push_all() -> None:
        for t, mb in batch:
            push(t, mb)

    benchmark(push_all)
    assert ring.samples(1) == [batch[-1]]


@pytest.mark.benchmark(group="per sample: push + OLS slope over 50")
def test_push_and_ols(
    benchmark: Any, regression_impl: ModuleType, samples: list[tuple[float, float]]
) -> None:
    ring = full_ring(regression_impl, samples)
    feed = endless(samples)

    def step() -> float:
        ring.push(*next(feed))
        return float(ring.ols_slope(POINTS))

    assert math.isfinite(benchmark(step))


@pytest.mark.benchmark(group="per sample: push + Theil-Sen slope over 50")
def test_push_and_theil_sen(
    benchmark: Any, regression_impl: ModuleType, samples: list[tuple[float, float]]
) -> None:
    ring = full_ring(regression_impl, samples)
    feed = endless(samples)

    def step() -> float:
        ring.push(*next(feed))
        return float(ring.theil_sen_slope(POINTS))

    assert math.isfinite(benchmark(step))


# --- the fit alone: memcore vs numpy / scipy ----------------------------------------------------
# Each call fits the next of 16 different windows: on one fixed window the CPU's branch predictor
# learns the Theil-Sen selection by heart and the timing is half of what a live detector sees.

WINDOWS = 16


@pytest.fixture(scope="module")
def windows() -> list[list[tuple[float, float]]]:
    return [trace(POINTS, seed) for seed in range(WINDOWS)]


@pytest.fixture(scope="module")
def arrays(windows: list[list[tuple[float, float]]]) -> list[tuple[Any, Any]]:
    return [(np.array([t for t, _ in w]), np.array([mb for _, mb in w])) for w in windows]


def rotating(functions: list[Callable[[], Any]]) -> Callable[[], Any]:
    cycle = itertools.cycle(functions)
    return lambda: next(cycle)()


@pytest.mark.benchmark(group="least-squares slope, 50 points")
def test_ols_memcore(
    benchmark: Any,
    regression_impl: ModuleType,
    windows: list[list[tuple[float, float]]],
    arrays: list[tuple[Any, Any]],
) -> None:
    rings = [full_ring(regression_impl, w) for w in windows]
    benchmark(rotating([functools.partial(ring.ols_slope, POINTS) for ring in rings]))
    for ring, (t, mb) in zip(rings, arrays, strict=True):
        assert ring.ols_slope(POINTS) == pytest.approx(float(np.polyfit(t, mb, 1)[0]), rel=1e-6)


@pytest.mark.benchmark(group="least-squares slope, 50 points")
def test_ols_numpy_polyfit(benchmark: Any, arrays: list[tuple[Any, Any]]) -> None:
    benchmark(rotating([functools.partial(np.polyfit, t, mb, 1) for t, mb in arrays]))


@pytest.mark.benchmark(group="least-squares slope, 50 points")
def test_ols_scipy_linregress(benchmark: Any, arrays: list[tuple[Any, Any]]) -> None:
    benchmark(rotating([functools.partial(stats.linregress, t, mb) for t, mb in arrays]))


@pytest.mark.benchmark(group="Theil-Sen slope, 50 points")
def test_theil_sen_memcore(
    benchmark: Any,
    regression_impl: ModuleType,
    windows: list[list[tuple[float, float]]],
    arrays: list[tuple[Any, Any]],
) -> None:
    rings = [full_ring(regression_impl, w) for w in windows]
    benchmark(rotating([functools.partial(ring.theil_sen_slope, POINTS) for ring in rings]))
    for ring, (t, mb) in zip(rings, arrays, strict=True):
        expected = float(stats.theilslopes(mb, t).slope)
        assert ring.theil_sen_slope(POINTS) == pytest.approx(expected, rel=1e-6)


@pytest.mark.benchmark(group="Theil-Sen slope, 50 points")
def test_theil_sen_scipy(benchmark: Any, arrays: list[tuple[Any, Any]]) -> None:
    benchmark(rotating([functools.partial(stats.theilslopes, mb, t) for t, mb in arrays]))


@pytest.mark.benchmark(group="100 samples pushed, then one OLS fit")
def test_fill_and_fit(
    benchmark: Any, regression_impl: ModuleType, samples: list[tuple[float, float]]
) -> None:
    def run() -> float:
        return float(full_ring(regression_impl, samples).ols_slope(POINTS))

    assert math.isfinite(benchmark(run))


@pytest.mark.benchmark(group="monitor_memory_usage, whole call (incl. the /proc read)")
def test_monitor_whole_call(benchmark: Any) -> None:
    from memcore.leak import MemoryLeakDetector

    detector = MemoryLeakDetector(threshold_mb=1e9, leak_rate_threshold_mb_per_hour=1e9)
    status = benchmark(detector.monitor_memory_usage, "bench")
    assert not status.leak_detected
