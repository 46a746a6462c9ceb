"""Memory-leak detection for long-running agent processes, and recovery when one is found.

A long agent session grows: caches fill, transcripts accumulate, a tool result is held too long.
Growth alone is not a leak (a GC sawtooth climbs and falls); *sustained* growth is. So the
detector keeps the newest RSS samples in a ring (``memcore._kernels.regression``: O(1) per
sample, no numpy) and fits a slope over the newest ``window`` of them once ``min_samples``
exist: least squares (``"ols"``, the default, fast and unbiased on clean trends) or Theil–Sen
(``"theil-sen"``, the median pairwise slope, not fooled by spikes; see
``benchmarks/leak_quality.py`` for the measured trade-off). A slope above
``leak_rate_threshold_mb_per_hour``, or RSS above ``threshold_mb``, triggers
:meth:`MemoryLeakDetector.recover_from_leak`: ``gc.collect()``, every registered cache clearer,
the registered long-term-memory compactor, ``malloc_trim`` where glibc has it, and the RSS
actually given back, measured.

RSS comes from ``/proc/<pid>/statm`` where it exists (one small read, no process-table walk),
else from ``psutil``. "MB" here means MiB (2**20 bytes).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import inspect
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from types import TracebackType
from typing import Literal

from memcore import _kernels
from memcore.errors import MemcoreError, ProcessGoneError, ValidationError
from memcore.model import MemoryStatus
from memcore.stores.base import validate_session_id

log = logging.getLogger(__name__)

MIB = float(1 << 20)
SECONDS_PER_HOUR = 3600.0
METHODS = ("ols", "theil-sen")
RING_CAPACITY = 100
#: How many sessions' latest statuses ``statuses`` keeps, the least recently reported dropped
#: first: one kept per session id ever monitored grew without bound in a long-lived process.
MAX_STATUSES = 1024

Method = Literal["ols", "theil-sen"]


# --- reading RSS ---------------------------------------------------------------------------------

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_HAVE_PROC = os.path.exists(f"/proc/{os.getpid()}/statm")


def _read_statm(pid: int) -> float:
    try:
        fd = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
    except (FileNotFoundError, ProcessLookupError) as exc:
        raise ProcessGoneError(f"process {pid} does not exist (it may have exited)") from exc
    try:
        data = os.read(fd, 256)
    except ProcessLookupError as exc:
        raise ProcessGoneError(f"process {pid} exited while its memory was read") from exc
    finally:
        os.close(fd)
    fields = data.split()
    if len(fields) < 2:
        raise ProcessGoneError(f"process {pid}: unreadable /proc statm {data!r}")
    size, resident = int(fields[0]), int(fields[1])
    if size == 0:  # a zombie (exited, not yet reaped) has no address space left
        raise ProcessGoneError(f"process {pid} has exited (zombie, not yet reaped)")
    return resident * _PAGE_SIZE / MIB


def _read_psutil(pid: int) -> float:
    try:
        import psutil
    except ImportError as exc:  # pragma: no cover - psutil is a dependency
        raise MemcoreError(
            "reading another process's memory needs /proc or the psutil package"
        ) from exc
    try:
        rss = psutil.Process(pid).memory_info().rss
    except (psutil.NoSuchProcess, psutil.ZombieProcess) as exc:
        raise ProcessGoneError(f"process {pid} does not exist (it may have exited)") from exc
    except psutil.AccessDenied as exc:
        raise MemcoreError(f"not allowed to read the memory of process {pid}") from exc
    return float(rss) / MIB


def _check_pid(pid: object) -> None:
    # (a path piece, not a number: ``"self"`` or ``"1/../self"`` read this process, ``True``
    # and ``1.5`` named no process as ProcessGoneError says)
    if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0):
        raise ValidationError(f"pid must be a positive int (got {pid!r})")


def read_rss_mb(pid: int | None = None) -> float:
    """Resident set size of ``pid`` (default: this process) in MiB."""
    _check_pid(pid)
    target = os.getpid() if pid is None else pid
    return _read_statm(target) if _HAVE_PROC else _read_psutil(target)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[], object] | None:
    # glibc keeps freed small-object memory in its arenas; malloc_trim(0) hands it back to the OS,
    # which is what makes a recovery visible in RSS. Other C libraries: nothing to do.
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


# --- the detector --------------------------------------------------------------------------------


class MemoryLeakDetector:
    """Watch one process's RSS, tell a leak from noise, and recover memory when one is found.

    ``pid`` is the process to watch (default: this one); ``clock`` returns seconds as a float
    (default ``time.monotonic``; tests inject a faster clock). A rate is fitted over the newest
    ``window`` samples (at most 100) once ``min_samples`` exist and, if ``min_span_seconds`` is
    set, once they span that long; ``method`` is ``"ols"`` or ``"theil-sen"``. Readings closer
    than ``min_spacing_seconds`` to the last kept sample are reported but not kept, so calling
    :meth:`monitor_memory_usage` every agent turn does not shrink the window to a few minutes.
    ``rss_reader`` replaces the RSS reading altogether (a trace in a simulation). Recovery acts
    in *this* process (its GC, its caches, its compactor); when watching another process,
    register clearers that reach it. ``auto_recover=False`` reports leaks without acting on them.

    The defaults follow the design (least squares, no span or spacing rule). Against a GC
    sawtooth and allocation spikes, ``benchmarks/leak_quality.py`` measured far fewer false
    alarms with ``method="theil-sen", min_spacing_seconds=300, min_span_seconds=7200``: no flat
    trace flagged in 12 h, 20 MiB/h leaks caught at the 2 h mark.
    """

    def __init__(
        self,
        threshold_mb: float = 500.0,
        leak_rate_threshold_mb_per_hour: float = 10.0,
        pid: int | None = None,
        clock: Callable[[], float] | None = None,
        *,
        method: Method = "ols",
        min_samples: int = 10,
        min_span_seconds: float = 0.0,
        min_spacing_seconds: float = 0.0,
        window: int = 50,
        auto_recover: bool = True,
        rss_reader: Callable[[], float] | None = None,
    ) -> None:
        check_real = _kernels.regression.check_real
        check_count = _kernels.regression.check_count
        self.threshold_mb = check_real(threshold_mb, "threshold_mb")
        self.leak_rate_threshold_mb_per_hour = check_real(
            leak_rate_threshold_mb_per_hour, "leak_rate_threshold_mb_per_hour"
        )
        if self.threshold_mb <= 0 or self.leak_rate_threshold_mb_per_hour <= 0:
            raise ValidationError("threshold_mb and the leak rate threshold must be positive")
        if method not in METHODS:
            raise ValidationError(f"method must be one of {', '.join(METHODS)} (got {method!r})")
        self.window = check_count(window, "window", 2)
        if self.window > RING_CAPACITY:
            raise ValidationError(f"window must be at most {RING_CAPACITY} (got {window})")
        self.min_samples = check_count(min_samples, "min_samples", 2)
        if self.min_samples > self.window:
            raise ValidationError("min_samples cannot exceed window")
        self.min_span_seconds = check_real(min_span_seconds, "min_span_seconds")
        self.min_spacing_seconds = check_real(min_spacing_seconds, "min_spacing_seconds")
        if self.min_span_seconds < 0 or self.min_spacing_seconds < 0:
            raise ValidationError("min_span_seconds and min_spacing_seconds cannot be negative")
        _check_pid(pid)
        if clock is not None and not callable(clock):
            raise ValidationError("clock must be a callable returning seconds")
        if rss_reader is not None and not callable(rss_reader):
            raise ValidationError("rss_reader must be a callable returning MiB")
        self.pid = pid
        self.method: Method = method
        if not isinstance(auto_recover, bool):  # ("no" read as true: recovery ran anyway)
            raise ValidationError(f"auto_recover must be True or False (got {auto_recover!r})")
        self.auto_recover = auto_recover
        self._clock: Callable[[], float] = clock or time.monotonic
        self._rss_reader = rss_reader
        self._ring = _kernels.regression.SampleRing(RING_CAPACITY)
        self._lock = threading.RLock()
        self._cache_clearers: list[Callable[[], object]] = []
        self._compactor: Callable[[], object] | None = None
        self._trim = _malloc_trim()
        self._baseline_mb: float | None = None
        self._last_kept: float | None = None  # clock time of the newest sample in the ring
        self._leaking = False
        self.last_status: MemoryStatus | None = None
        # the latest status per session id, of the MAX_STATUSES sessions reported last
        self.statuses: OrderedDict[str, MemoryStatus] = OrderedDict()
        self.recoveries = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.background_error: BaseException | None = None
        self.current_mb()  # fail now, clearly, if the process is not there

    # --- readings ---

    def current_mb(self) -> float:
        """The watched process's RSS now, in MiB (``ProcessGoneError`` if it has gone)."""
        if self._rss_reader is not None:
            reading = _kernels.regression.check_real(self._rss_reader(), "rss_reader result")
            if reading < 0:  # (no process holds less than nothing: a bug in the reader)
                raise ValidationError(f"rss_reader result must be >= 0 MiB (got {reading!r})")
            return float(reading)
        return read_rss_mb(self.pid)

    @property
    def baseline_mb(self) -> float | None:
        """RSS at the first sample (None before it)."""
        return self._baseline_mb

    @property
    def sample_count(self) -> int:
        return len(self._ring)

    def leak_rate_mb_per_hour(self) -> float:
        """The fitted growth rate over the newest ``window`` samples.

        0.0 (no trend measured) below ``min_samples``, or while the window spans less than
        ``min_span_seconds``: a GC sawtooth's climb looks like a leak over a span shorter than a
        few of its cycles (``benchmarks/leak_quality.py`` measures how much).
        """
        with self._lock:
            if len(self._ring) < self.min_samples:
                return 0.0
            if self.min_span_seconds > 0:
                window = self._ring.samples(self.window)
                if abs(window[-1][0] - window[0][0]) < self.min_span_seconds:
                    return 0.0
            if self.method == "ols":
                per_second = self._ring.ols_slope(self.window)
            else:
                per_second = self._ring.theil_sen_slope(self.window)
            return float(per_second) * SECONDS_PER_HOUR

    def sample(self) -> float:
        """Read RSS and keep it as a sample (unless the last kept one is less than
        ``min_spacing_seconds`` old); return the RSS in MiB."""
        mb = self.current_mb()
        # checked before any arithmetic: ``now - last`` on a str or None was a TypeError, where
        # the first sample (nothing to subtract yet) said ValidationError
        now = _kernels.regression.check_real(self._clock(), "clock result")
        with self._lock:
            last = self._last_kept
            if last is None or not (0.0 <= now - last < self.min_spacing_seconds):
                self._ring.push(now, mb)
                self._last_kept = now
            if self._baseline_mb is None:
                self._baseline_mb = mb
        return mb

    def monitor_memory_usage(self, session_id: str) -> MemoryStatus:
        """Sample, assess, and recover when a leak (or RSS over ``threshold_mb``) is found.

        After a recovery the ring is cleared: the next rate needs ``min_samples`` fresh samples,
        so one old trend cannot trigger a recovery on every call.
        """
        validate_session_id(session_id)
        with self._lock:
            current = self.sample()
            rate = self.leak_rate_mb_per_hour()
            baseline = self._baseline_mb if self._baseline_mb is not None else current
            leak = rate > self.leak_rate_threshold_mb_per_hour or current > self.threshold_mb
            recovered = 0.0
            if leak and self.auto_recover:
                recovered = self.recover_from_leak()
                self._ring.clear()
                self._last_kept = None
            status = MemoryStatus(
                current_mb=current,
                baseline_mb=baseline,
                growth_mb=current - baseline,
                leak_detected=leak,
                leak_rate_mb_per_hour=rate,
                recovered_mb=recovered,
            )
            self.last_status = status
            self.statuses[session_id] = status
            self.statuses.move_to_end(session_id)
            while len(self.statuses) > MAX_STATUSES:
                self.statuses.popitem(last=False)
            was_leaking, self._leaking = self._leaking, leak
        if leak:
            # Warn when a recovery ran or a leak starts being seen; not on every later sample.
            level = logging.WARNING if (self.auto_recover or not was_leaking) else logging.DEBUG
            log.log(
                level,
                "memory leak suspected in session %s: %.1f MiB (baseline %.1f), %.1f MiB/h; "
                "recovered %.1f MiB",
                session_id,
                current,
                baseline,
                rate,
                recovered,
            )
        return status

    # --- recovery ---

    def register_cache_clearer(self, clearer: Callable[[], object]) -> Callable[[], object]:
        """Add a callable that drops a cache (run on recovery); returns it, so it can decorate."""
        self._check_sync_callable(clearer, "cache clearer")
        with self._lock:
            self._cache_clearers.append(clearer)
        return clearer

    def unregister_cache_clearer(self, clearer: Callable[[], object]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._cache_clearers.remove(clearer)

    def register_compactor(self, compactor: Callable[[], object] | None) -> None:
        """Set the long-term-memory compactor run on recovery (None removes it)."""
        if compactor is not None:
            self._check_sync_callable(compactor, "compactor")
        with self._lock:
            self._compactor = compactor

    @staticmethod
    def _check_sync_callable(function: object, what: str) -> None:
        if not callable(function):
            raise ValidationError(f"a {what} must be callable")
        if inspect.iscoroutinefunction(function):
            raise ValidationError(
                f"a {what} must be a plain function: recovery runs synchronously (wrap async "
                "work, e.g. with asyncio.run_coroutine_threadsafe)"
            )

    def recover_from_leak(self) -> float:
        """Free what can be freed; return the RSS given back in MiB (never negative).

        A failing clearer or compactor is logged and skipped: recovery is best effort, and one bad
        callback must not keep the others from running.
        """
        with self._lock:
            before = self.current_mb()
            gc.collect()
            for clearer in list(self._cache_clearers):
                self._run(clearer, "cache clearer")
            if self._compactor is not None:
                self._run(self._compactor, "compactor")
            gc.collect()  # what the clearers released may sit in reference cycles
            if self._trim is not None:
                self._trim()
            after = self.current_mb()
            self.recoveries += 1
            return max(0.0, before - after)

    @staticmethod
    def _run(function: Callable[[], object], what: str) -> None:
        try:
            function()
        except Exception:
            log.exception("a %s failed during leak recovery", what)

    # --- background sampling ---

    def start(
        self,
        interval: float = 30.0,
        session_id: str = "background",
        on_status: Callable[[MemoryStatus], object] | None = None,
    ) -> MemoryLeakDetector:
        """Sample every ``interval`` seconds (real time) in a daemon thread until :meth:`stop`.

        Returns the detector, so ``with detector.start(5.0): ...`` stops it on exit. An error in
        the thread (the process gone, a failing ``on_status``) stops sampling and is kept in
        ``background_error``.
        """
        seconds = _kernels.regression.check_real(interval, "interval")
        if seconds <= 0:
            raise ValidationError(f"interval must be positive (got {interval!r})")
        validate_session_id(session_id)
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise ValidationError("background sampling is already running")
            self._stop.clear()
            self.background_error = None
            self._thread = threading.Thread(
                target=self._loop,
                args=(seconds, session_id, on_status),
                name="memcore-leak-detector",
                daemon=True,
            )
            self._thread.start()
        return self

    def _loop(
        self,
        interval: float,
        session_id: str,
        on_status: Callable[[MemoryStatus], object] | None,
    ) -> None:
        while not self._stop.is_set():
            try:
                status = self.monitor_memory_usage(session_id)
                if on_status is not None:
                    on_status(status)
            except Exception as exc:
                self.background_error = exc
                log.exception("background leak sampling stopped")
                return
            self._stop.wait(interval)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop background sampling and wait for the thread to end (at most ``timeout``
        seconds; None: as long as it takes)."""
        if timeout is not None:  # (checked first: a bad one raised with the thread still set)
            timeout = _kernels.regression.check_real(timeout, "timeout")
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def __enter__(self) -> MemoryLeakDetector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"MemoryLeakDetector(pid={self.pid or os.getpid()}, method={self.method!r}, "
            f"samples={len(self._ring)}, running={self.running})"
        )


__all__ = ["MAX_STATUSES", "MemoryLeakDetector", "ProcessGoneError", "read_rss_mb"]
