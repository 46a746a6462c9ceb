"""What a twin's call gave, for tests that hold the compiled and pure twins equal on bad
arguments as well as good ones."""

from __future__ import annotations

from collections.abc import Callable


def outcome(call: Callable[[], object]) -> tuple[str, str]:
    """What a call gave: its result, or its exception's type and message."""
    try:
        return "ok", repr(call())
    except Exception as exc:  # (any type: the twins must agree on it too)
        return type(exc).__name__, str(exc)
