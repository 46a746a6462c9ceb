"""Masking secrets in transcripts (``memcore.claude_code.masking``): the ``literal_hits``
kernel that decides which lines need a pattern at all, compiled against its pure twin, and a
parse of a real 2.9 MB transcript with masking against the same parse without it.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_masking.py --benchmark-only -q``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from benchmarks.test_bench_hooks import BIG, DATA
from memcore.claude_code import parse_transcript
from memcore.claude_code.masking import OFF_SWITCH

pytestmark = pytest.mark.skipif(
    not (DATA / BIG).is_file(), reason="the shared transcripts are not here"
)


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return (DATA / BIG).read_bytes().splitlines(keepends=True)


@pytest.mark.benchmark(group="masking: literal_hits of a 2.9 MB transcript's lines")
@pytest.mark.parametrize("impl", ["c", "py"])
def test_literal_hits(
    benchmark: Any,
    impl: str,
    lines: list[bytes],
    native_kernels: Callable[[str], ModuleType],
    pure_kernels: Callable[[str], ModuleType],
) -> None:
    text = native_kernels("text") if impl == "c" else pure_kernels("text")
    hits = text.literal_hits

    def scan() -> int:
        return sum(1 for line in lines if hits(line))

    assert benchmark(scan) > 0


def test_parse_masked_and_not_alternated(benchmark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parse with masking (the default) and with ``MEMCORE_MASK_SECRETS=0``, in turn."""
    path: Path = DATA / BIG
    masked: list[float] = []
    plain: list[float] = []

    def both() -> None:
        for mode, times in (("1", masked), ("0", plain)):
            monkeypatch.setenv(OFF_SWITCH, mode)
            start = time.perf_counter()
            parse_transcript(path)
            times.append(time.perf_counter() - start)

    benchmark.group = "masking: parse of a 2.9 MB transcript, alternated"
    benchmark.pedantic(both, rounds=8, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(
        masked_median_ms=round(statistics.median(masked) * 1e3, 2),
        plain_median_ms=round(statistics.median(plain) * 1e3, 2),
        masked_to_plain=round(statistics.median(masked) / statistics.median(plain), 3),
    )
    assert len(masked) == len(plain) >= 1
