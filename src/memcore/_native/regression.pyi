"""Type stub of the compiled regression kernels; the pure twin ``memcore._pure.regression``
matches."""

from __future__ import annotations

DEFAULT_CAPACITY: int
DEFAULT_LAST_N: int
MAX_CAPACITY: int
SAFE_LOW: float
SAFE_HIGH: float

def check_real(value: object, what: str) -> float: ...
def check_count(value: object, what: str, minimum: int) -> int: ...

class SampleRing:
    def __init__(self, capacity: int = 100) -> None: ...
    @property
    def capacity(self) -> int: ...
    @property
    def count(self) -> int: ...
    def __len__(self) -> int: ...
    def push(self, t: float, mb: float) -> None: ...
    def clear(self) -> None: ...
    def samples(self, last_n: int = 100) -> list[tuple[float, float]]: ...
    def ols_slope(self, last_n: int = 50) -> float: ...
    def theil_sen_slope(self, last_n: int = 50) -> float: ...

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_LAST_N",
    "MAX_CAPACITY",
    "SAFE_HIGH",
    "SAFE_LOW",
    "SampleRing",
    "check_count",
    "check_real",
]
