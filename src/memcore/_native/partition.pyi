"""Type stub of the compiled partition kernel; the pure twin ``memcore._pure.partition`` matches."""

from __future__ import annotations

from collections.abc import Sequence

def partition_levels(
    ranks: Sequence[int],
    ages: Sequence[float],
    level1_seconds: float,
    level2_seconds: float,
    level3_seconds: float,
) -> bytearray: ...
