"""What a probe of ``memcore.leak`` broke: ``read_rss_mb`` took any pid into a ``/proc`` path
(``"self"`` and ``"1/../self"`` read this process, ``True`` and ``1.5`` were reported as gone
processes), and ``stop(timeout="x")`` was a ``TypeError`` from ``Thread.join`` after it had
already told the sampling thread to stop."""

from __future__ import annotations

from typing import Any

import pytest

from memcore.errors import ValidationError
from memcore.leak import MemoryLeakDetector, read_rss_mb


@pytest.mark.parametrize("pid", ["self", "1/../self", True, 1.5, 0, -1], ids=repr)
def test_read_rss_mb_takes_a_pid_only(pid: Any) -> None:
    with pytest.raises(ValidationError, match="pid must be a positive int"):
        read_rss_mb(pid)


def test_read_rss_mb_of_this_process() -> None:
    import os

    assert read_rss_mb() > 0
    assert read_rss_mb(os.getpid()) > 0


def test_a_bad_stop_timeout_is_refused_and_changes_nothing() -> None:
    detector = MemoryLeakDetector(threshold_mb=1e9, rss_reader=lambda: 10.0)
    detector.start(3600.0)
    try:
        with pytest.raises(ValidationError, match="timeout must be a real number"):
            detector.stop("x")  # type: ignore[arg-type]
        assert detector.running
    finally:
        detector.stop()
    assert not detector.running


@pytest.mark.parametrize("flag", ["no", 0, None, 1.0])
def test_auto_recover_is_true_or_false(flag: Any) -> None:
    """("no" was read as true: the detector recovered when told not to.)"""
    with pytest.raises(ValidationError, match="auto_recover"):
        MemoryLeakDetector(auto_recover=flag)
    assert MemoryLeakDetector(auto_recover=False).auto_recover is False
