"""Pure-Python twin of the ``partition`` kernel (``memcore/_native/partition.pyx``): the
compression level of each item from its priority rank and age.
"""

from __future__ import annotations

from collections.abc import Sequence


def partition_levels(
    ranks: Sequence[int],
    ages: Sequence[float],
    level1_seconds: float,
    level2_seconds: float,
    level3_seconds: float,
) -> bytearray:
    """The compression level (1-4) of each item from its priority rank (3 = critical) and age.

    critical or younger than level1 -> 1; high (rank 2) or younger than level2 -> 2; younger
    than level3 -> 3; else 4. An age exactly at a threshold is not younger than it.
    """
    n = len(ranks)
    if len(ages) != n:
        raise ValueError(f"{n} ranks but {len(ages)} ages")
    out = bytearray(n)
    for i in range(n):
        rank = ranks[i]
        age = ages[i]
        if rank >= 3 or age < level1_seconds:
            out[i] = 1
        elif rank == 2 or age < level2_seconds:
            out[i] = 2
        elif age < level3_seconds:
            out[i] = 3
        else:
            out[i] = 4
    return out


__all__ = ["partition_levels"]
