"""MemoryLeakDetector: real child processes that leak (or only sawtooth), recovery that frees and
measures real memory, the decision rules on scripted traces, and background sampling."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from memcore import leak as leak_module
from memcore.errors import MemcoreError, ValidationError
from memcore.leak import MemoryLeakDetector, ProcessGoneError, read_rss_mb
from memcore.model import MemoryStatus

MIB = 1 << 20

# Leaks 2 MiB every 50 ms (40 MiB/s), up to 300 MiB, then holds it.
LEAKER = """
import sys, time
chunks = []
print("ready", flush=True)
while True:
    if len(chunks) < 150:
        chunks.append(b"\\x01" * (2 << 20))
    time.sleep(0.05)
"""

# A GC-like sawtooth: grows 2 MiB every 20 ms up to 10 MiB, frees it all, again and again.
SAWTOOTH = """
import sys, time
chunks = []
for _ in range(3):  # settle the allocator before saying ready
    chunks = [b"\\x01" * (2 << 20) for _ in range(5)]
    chunks.clear()
print("ready", flush=True)
while True:
    chunks.append(b"\\x01" * (2 << 20))
    if len(chunks) == 5:
        chunks.clear()
    time.sleep(0.02)
"""


def real_seconds_as_hours() -> float:
    """A clock on which one real second is one hour: 40 MiB/s reads as 40 MiB/h."""
    return time.monotonic() * 3600.0


@pytest.fixture
def spawn() -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    children: list[subprocess.Popen[str]] = []

    def start(code: str) -> subprocess.Popen[str]:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        children.append(child)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()


def watch(detector: MemoryLeakDetector, seconds: float, until_leak: bool) -> list[MemoryStatus]:
    statuses: list[MemoryStatus] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = detector.monitor_memory_usage("child-session")
        statuses.append(status)
        if until_leak and status.leak_detected:
            break
        time.sleep(0.05)
    return statuses


# --- real processes ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["ols", "theil-sen"])
def test_a_steadily_leaking_child_is_detected(
    spawn: Callable[[str], subprocess.Popen[str]], method: str
) -> None:
    child = spawn(LEAKER)
    detector = MemoryLeakDetector(
        threshold_mb=100_000.0,  # only the growth rate may trigger
        leak_rate_threshold_mb_per_hour=10.0,
        pid=child.pid,
        clock=real_seconds_as_hours,
        method=method,  # type: ignore[arg-type]
        min_samples=20,  # a window of at least a second: many sawtooth cycles, in the other test
    )
    statuses = watch(detector, 8.0, until_leak=True)
    last = statuses[-1]
    assert last.leak_detected, [s.leak_rate_mb_per_hour for s in statuses]
    assert len(statuses) >= detector.min_samples
    assert not any(s.leak_detected for s in statuses[:-1])
    # 40 MiB per real second read as MiB/h (not per second, not per 3600 h); a busy machine
    # stretches the child's sleeps, so only the order of magnitude is pinned.
    assert 10.0 < last.leak_rate_mb_per_hour < 200.0
    assert last.growth_mb > 10.0
    assert last.current_mb == pytest.approx(last.baseline_mb + last.growth_mb)
    assert last.recovered_mb >= 0.0
    assert detector.sample_count == 0  # the recovery started a fresh trend


@pytest.mark.parametrize("method", ["ols", "theil-sen"])
def test_a_sawtooth_child_is_not_a_leak(
    spawn: Callable[[str], subprocess.Popen[str]], method: str
) -> None:
    child = spawn(SAWTOOTH)
    detector = MemoryLeakDetector(
        threshold_mb=100_000.0,
        leak_rate_threshold_mb_per_hour=10.0,
        pid=child.pid,
        clock=real_seconds_as_hours,
        method=method,  # type: ignore[arg-type]
        min_samples=20,
    )
    statuses = watch(detector, 3.0, until_leak=False)
    assert len(statuses) > 2 * detector.min_samples
    assert not any(s.leak_detected for s in statuses), [
        round(s.leak_rate_mb_per_hour, 1) for s in statuses
    ]
    assert max(s.current_mb for s in statuses) - min(s.current_mb for s in statuses) < 60.0


def test_a_vanished_pid_is_a_clear_memcore_error(
    spawn: Callable[[str], subprocess.Popen[str]],
) -> None:
    child = spawn(SAWTOOTH)
    detector = MemoryLeakDetector(pid=child.pid)
    child.kill()
    child.wait(timeout=10)  # reaped: the pid is gone
    with pytest.raises(ProcessGoneError, match=str(child.pid)) as caught:
        detector.monitor_memory_usage("s")
    assert isinstance(caught.value, MemcoreError)
    with pytest.raises(ProcessGoneError, match="does not exist"):
        MemoryLeakDetector(pid=child.pid)


def test_an_exited_unreaped_child_counts_as_gone(
    spawn: Callable[[str], subprocess.Popen[str]],
) -> None:
    child = spawn(SAWTOOTH)
    detector = MemoryLeakDetector(pid=child.pid)
    child.kill()
    deadline = time.monotonic() + 10

    def read_until_gone() -> None:
        while time.monotonic() < deadline:
            detector.current_mb()
            time.sleep(0.01)

    with pytest.raises(ProcessGoneError):  # a zombie until the fixture reaps it
        read_until_gone()


def test_psutil_path_reads_the_same_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from_proc = read_rss_mb()
    monkeypatch.setattr(leak_module, "_HAVE_PROC", False)
    from_psutil = read_rss_mb()
    assert from_psutil == pytest.approx(from_proc, abs=32.0)
    with pytest.raises(ProcessGoneError):
        read_rss_mb(2**22 + 12345)  # above Linux's pid_max default; never a live pid


# --- recovery, measured in this process ----------------------------------------------------------


def test_recovery_runs_clearers_and_compactor_and_measures_rss() -> None:
    cache: list[bytes] = [b"\x01" * (96 * MIB)]  # pages touched, far above mmap's threshold
    calls: list[str] = []

    def clear_cache() -> None:
        calls.append("clear")
        cache.clear()

    def compact() -> None:
        calls.append("compact")

    current = read_rss_mb()
    detector = MemoryLeakDetector(threshold_mb=current - 50.0)  # already over: must recover
    assert detector.register_cache_clearer(clear_cache) is clear_cache
    detector.register_compactor(compact)
    status = detector.monitor_memory_usage("session-1")
    assert status.leak_detected
    assert calls == ["clear", "compact"]
    assert status.recovered_mb > 60.0
    assert detector.recoveries == 1
    assert detector.statuses["session-1"] is status is detector.last_status


def test_recovery_survives_a_failing_clearer(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("cache backend is down")

    detector = MemoryLeakDetector()
    detector.register_cache_clearer(broken)
    detector.register_cache_clearer(lambda: calls.append("second"))
    detector.register_compactor(lambda: calls.append("compact"))
    with caplog.at_level(logging.ERROR, logger="memcore.leak"):
        recovered = detector.recover_from_leak()
    assert recovered >= 0.0
    assert calls == ["second", "compact"]
    assert "cache clearer failed" in caplog.text
    detector.unregister_cache_clearer(broken)
    detector.register_compactor(None)
    calls.clear()
    detector.recover_from_leak()
    assert calls == ["second"]


def test_async_callbacks_are_refused() -> None:
    async def clear() -> None:
        await asyncio.sleep(0)

    detector = MemoryLeakDetector()
    with pytest.raises(ValidationError, match="plain function"):
        detector.register_cache_clearer(clear)
    with pytest.raises(ValidationError):
        detector.register_compactor(clear)
    with pytest.raises(ValidationError):
        detector.register_cache_clearer("not callable")  # type: ignore[arg-type]


# --- decision rules on scripted traces -----------------------------------------------------------


class Trace:
    """A scripted RSS reading and clock: ``step()`` advances one minute."""

    def __init__(self, values: Callable[[int], float]) -> None:
        self.values = values
        self.index = 0

    def rss(self) -> float:
        return self.values(self.index)

    def clock(self) -> float:
        return 60.0 * self.index


def run_trace(detector: MemoryLeakDetector, trace: Trace, steps: int) -> list[MemoryStatus]:
    statuses = []
    for index in range(steps):
        trace.index = index
        statuses.append(detector.monitor_memory_usage("trace"))
    return statuses


def detector_for(trace: Trace, **options: object) -> MemoryLeakDetector:
    return MemoryLeakDetector(
        threshold_mb=10_000.0,
        leak_rate_threshold_mb_per_hour=10.0,
        clock=trace.clock,
        rss_reader=trace.rss,
        **options,  # type: ignore[arg-type]
    )


def test_rate_is_reported_in_mb_per_hour_after_min_samples() -> None:
    trace = Trace(lambda i: 300.0 + 0.5 * i)  # 0.5 MiB per minute = 30 MiB/h
    detector = detector_for(trace, auto_recover=False)
    statuses = run_trace(detector, trace, 12)
    assert [s.leak_rate_mb_per_hour for s in statuses[:9]] == [0.0] * 9
    assert statuses[9].leak_rate_mb_per_hour == pytest.approx(30.0)
    assert [s.leak_detected for s in statuses] == [False] * 9 + [True] * 3
    assert statuses[-1].baseline_mb == 300.0
    assert statuses[-1].growth_mb == pytest.approx(5.5)
    assert statuses[-1].recovered_mb == 0.0  # reported, not acted on


def test_slow_growth_below_the_threshold_is_not_a_leak() -> None:
    trace = Trace(lambda i: 300.0 + 0.1 * i)  # 6 MiB/h
    statuses = run_trace(detector_for(trace), trace, 80)
    assert not any(s.leak_detected for s in statuses)
    assert statuses[-1].leak_rate_mb_per_hour == pytest.approx(6.0)


def test_recovery_restarts_the_trend() -> None:
    trace = Trace(lambda i: 300.0 + 0.5 * i)
    detector = detector_for(trace)
    statuses = run_trace(detector, trace, 30)
    # detected at the 10th sample, again 10 fresh samples later, and again.
    assert [i for i, s in enumerate(statuses) if s.leak_detected] == [9, 19, 29]
    assert detector.recoveries == 3


def test_rss_over_the_threshold_triggers_without_growth() -> None:
    trace = Trace(lambda i: 600.0)
    detector = MemoryLeakDetector(
        threshold_mb=500.0, clock=trace.clock, rss_reader=trace.rss, auto_recover=False
    )
    status = detector.monitor_memory_usage("s")
    assert status.leak_detected
    assert status.leak_rate_mb_per_hour == 0.0


def test_theil_sen_ignores_spikes_that_fool_least_squares() -> None:
    def spiky(i: int) -> float:  # flat, with three 150 MiB bursts late in the window
        return 400.0 + (150.0 if i in (40, 43, 47) else 0.0)

    trace = Trace(spiky)
    ols = run_trace(detector_for(trace, auto_recover=False), trace, 50)
    trace = Trace(spiky)
    robust = run_trace(detector_for(trace, method="theil-sen", auto_recover=False), trace, 50)
    assert any(s.leak_detected for s in ols)
    assert not any(s.leak_detected for s in robust)


def test_window_limits_the_fit() -> None:
    # Steep early growth, then flat: with window 20 the old growth has left the fit.
    trace = Trace(lambda i: 300.0 + 2.0 * min(i, 30))
    statuses = run_trace(detector_for(trace, window=20, auto_recover=False), trace, 60)
    assert statuses[29].leak_detected
    assert not statuses[-1].leak_detected
    assert statuses[-1].leak_rate_mb_per_hour == 0.0


def test_min_span_holds_the_verdict_until_the_window_is_long_enough() -> None:
    trace = Trace(lambda i: 300.0 + 0.5 * i)  # 30 MiB/h, one reading a minute
    detector = detector_for(trace, min_span_seconds=30 * 60.0, auto_recover=False)
    statuses = run_trace(detector, trace, 40)
    flagged = [i for i, s in enumerate(statuses) if s.leak_detected]
    assert flagged[0] == 30  # samples 0..30 span 30 minutes
    assert statuses[29].leak_rate_mb_per_hour == 0.0
    assert statuses[30].leak_rate_mb_per_hour == pytest.approx(30.0)


def test_min_spacing_keeps_one_sample_per_interval() -> None:
    trace = Trace(lambda i: 300.0 + 0.5 * i)  # read every minute, kept every 5 minutes
    detector = detector_for(trace, min_spacing_seconds=300.0, auto_recover=False)
    statuses = run_trace(detector, trace, 60)
    assert detector.sample_count == 12
    assert statuses[-1].current_mb == 300.0 + 0.5 * 59  # every reading is still reported
    assert [s.leak_detected for s in statuses].index(True) == 45  # the 10th kept sample
    assert statuses[-1].leak_rate_mb_per_hour == pytest.approx(30.0)


@pytest.mark.parametrize(
    "options",
    [
        {"method": "linear"},
        {"window": 101},
        {"window": 1},
        {"min_samples": 60, "window": 50},
        {"min_samples": 1},
        {"pid": 0},
        {"pid": True},
        {"pid": "123"},
        {"threshold_mb": -1.0},
        {"leak_rate_threshold_mb_per_hour": 0.0},
        {"threshold_mb": float("nan")},
        {"clock": 5},
        {"min_span_seconds": -1.0},
        {"min_spacing_seconds": -5.0},
    ],
)
def test_bad_options_are_validation_errors(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MemoryLeakDetector(**options)  # type: ignore[arg-type]


def test_bad_session_id_and_bad_clock_values() -> None:
    detector = MemoryLeakDetector(clock=lambda: float("nan"))
    with pytest.raises(ValidationError):
        detector.monitor_memory_usage("no spaces allowed")
    with pytest.raises(ValidationError):
        detector.monitor_memory_usage("s")


# --- background sampling -------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_background_thread_samples_until_stopped() -> None:
    seen: list[MemoryStatus] = []
    trace = Trace(lambda i: 100.0)
    ticks = iter(range(10**9))
    detector = MemoryLeakDetector(clock=lambda: float(next(ticks)), rss_reader=trace.rss)
    with detector.start(0.005, session_id="bg", on_status=seen.append):
        assert detector.running
        with pytest.raises(ValidationError, match="already running"):
            detector.start(0.005)
        wait_for(lambda: len(seen) >= 5)
    assert not detector.running
    count = len(seen)
    time.sleep(0.05)
    assert len(seen) == count
    assert detector.statuses["bg"] is not None
    assert detector.background_error is None


def test_background_thread_keeps_the_error_that_stopped_it() -> None:
    alive = threading.Event()
    alive.set()

    def reading() -> float:
        if not alive.is_set():
            raise ProcessGoneError("process 1234 does not exist")
        return 100.0

    detector = MemoryLeakDetector(rss_reader=reading)
    detector.start(0.005)
    alive.clear()
    wait_for(lambda: not detector.running)
    assert isinstance(detector.background_error, ProcessGoneError)
    detector.stop()
    with pytest.raises(ValidationError):
        detector.start(0.0)


def test_repr_names_the_process_and_state() -> None:
    detector = MemoryLeakDetector()
    detector.monitor_memory_usage("s")
    assert repr(detector) == (
        f"MemoryLeakDetector(pid={os.getpid()}, method='ols', samples=1, running=False)"
    )
