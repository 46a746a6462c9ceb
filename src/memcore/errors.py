"""memcore's exception hierarchy: every error it raises on purpose is a :class:`MemcoreError`."""

from __future__ import annotations


class MemcoreError(Exception):
    """Base of every error memcore raises on purpose."""


class ValidationError(MemcoreError, ValueError):
    """An argument or a value handed to memcore is not of the expected shape."""


class CorruptedMemoryError(MemcoreError):
    """Stored or transmitted bytes failed a length, format or checksum check."""


class ConflictError(MemcoreError):
    """A compare-and-set lost its race too many times, or a conflict could not be resolved."""


class BackendError(MemcoreError):
    """The storage backend failed (server down, database locked beyond its timeout, ...)."""


class NotFoundError(MemcoreError, KeyError):
    """A session, key, backup or bundle that was asked for does not exist."""


class ContextBudgetError(MemcoreError):
    """Items that may not be dropped (critical ones) alone exceed the token budget."""


class NoHomeError(MemcoreError):
    """A default that lives in the user's home is needed and this process has no home: no
    absolute ``$HOME``, and no entry for its user id in the password database (a container
    started with ``--user 1000`` and no ``/etc/passwd`` line)."""


class ProcessGoneError(MemcoreError, ProcessLookupError):
    """The process being watched does not exist (any more), or has exited and is a zombie."""


def msgpack_error(exc: BaseException) -> str:
    """What a msgpack decoding error says, never nothing: its ``StackError`` (nesting past the
    unpacker's limit) has no message of its own, and another silent one is named by its type."""
    said = str(exc)
    if said:
        return said
    name = type(exc).__name__
    return "nested too deep to be read" if name == "StackError" else name


__all__ = [
    "BackendError",
    "ConflictError",
    "ContextBudgetError",
    "CorruptedMemoryError",
    "MemcoreError",
    "NoHomeError",
    "NotFoundError",
    "ProcessGoneError",
    "ValidationError",
]
