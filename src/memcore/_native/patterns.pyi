"""Type stub of the compiled pattern kernels; the pure twin ``memcore._pure.patterns`` matches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, final

MAX_ORDER: int
MAX_WINDOW: int
MAX_SUCCESSORS: int
MAX_CONTEXTS: int
ContextState = tuple[tuple[int, ...], int, list[tuple[int, int, int]]]

def as_item_id(value: object) -> int: ...

@final
class PatternCounter:
    def __init__(
        self,
        window_size: int = 5,
        max_order: int | None = None,
        max_contexts: int = 65536,
        max_successors: int = 16,
        decay_at: int = 1024,
    ) -> None: ...
    @property
    def window_size(self) -> int: ...
    @property
    def max_order(self) -> int: ...
    @property
    def max_contexts(self) -> int: ...
    @property
    def max_successors(self) -> int: ...
    @property
    def decay_at(self) -> int: ...
    @property
    def accesses(self) -> int: ...
    @property
    def context_count(self) -> int: ...
    def last(self) -> int | None: ...
    def record(self, item: int) -> None: ...
    def record_many(self, items: Iterable[Any]) -> None: ...
    def predict(self, current: int, n: int = 5) -> list[tuple[int, float]]: ...
    def successors(self, context: Iterable[int]) -> dict[int, int]: ...
    def state(self) -> list[ContextState]: ...

__all__ = [
    "MAX_CONTEXTS",
    "MAX_ORDER",
    "MAX_SUCCESSORS",
    "MAX_WINDOW",
    "ContextState",
    "PatternCounter",
    "as_item_id",
]
