"""Benchmarks reuse the tests' fixtures, so every kernel reports ``c`` and ``py`` side by side.

Run with ``python -m pytest benchmarks`` (see the README); the suite skips cleanly when
pytest-benchmark is not installed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytest_benchmark")

from tests.conftest import (  # after the skip on purpose (it also turns hooks' catch-up off)
    _no_user_data,
    checksums_impl,
    memcore_home,
    native_kernels,
    patterns_impl,
    pipeline_impl,
    prose_impl,
    pure_kernels,
    redis_cluster,
    redis_cluster_url,
    redis_server,
    redis_url,
    regression_impl,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Warm every benchmark up before calibrating it.

    pytest-benchmark picks the iterations per round from a first timed call; a cold first call
    (caches, lazy setup) over its 5 us target leaves a sub-microsecond kernel at one iteration
    per round, so the timer's own overhead is measured with it. Warmup calibrates on the
    fastest of up to ``warmup_iterations`` calls instead. A test's own marker settings win.
    """
    for item in items:
        if "benchmark" not in getattr(item, "fixturenames", ()):
            continue
        marker = item.get_closest_marker("benchmark")
        settings = {"warmup": True, "warmup_iterations": 2000, **(marker.kwargs if marker else {})}
        item.add_marker(pytest.mark.benchmark(**settings), append=False)


__all__ = [
    "_no_user_data",
    "checksums_impl",
    "memcore_home",
    "native_kernels",
    "patterns_impl",
    "pipeline_impl",
    "prose_impl",
    "pure_kernels",
    "redis_cluster",
    "redis_cluster_url",
    "redis_server",
    "redis_url",
    "regression_impl",
]
