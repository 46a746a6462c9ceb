"""Benchmarks reuse the tests' fixtures, so every kernel reports ``c`` and ``py`` side by side.

Run with ``python -m pytest benchmarks`` (see the README); the suite skips cleanly when
pytest-benchmark is not installed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytest_benchmark")

from tests.conftest import (  # after the skip on purpose
    checksums_impl,
    memcore_home,
    native_kernels,
    patterns_impl,
    pipeline_impl,
    pure_kernels,
    redis_server,
    redis_url,
    regression_impl,
)

__all__ = [
    "checksums_impl",
    "memcore_home",
    "native_kernels",
    "patterns_impl",
    "pipeline_impl",
    "pure_kernels",
    "redis_server",
    "redis_url",
    "regression_impl",
]
