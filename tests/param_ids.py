"""Test ids of parametrized values that are the same in every process: ``repr`` less the memory
addresses some reprs carry (``<object object at 0x...>``). pytest-xdist's workers each collect
the tests and must agree on their ids."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def value_id(value: object) -> str:
    """``repr(value)`` without memory addresses."""
    return _ADDRESS.sub("", repr(value))
