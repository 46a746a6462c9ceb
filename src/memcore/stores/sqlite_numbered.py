"""Numbered placeholders (``?1``, ``?2``) on the CPythons that take them for named ones.

The SQLite store's statements number their placeholders (``?1`` used twice is one value bound
once) and bind them from tuples. CPython 3.12.0 to 3.12.3 read ``?NNN`` as a named placeholder
and raise a ``DeprecationWarning`` at each such statement (CPython issue 117995, fixed in
3.12.4): a program that turns warnings into errors could not use the store there. Where the
running ``sqlite3`` does so (found once, by a probe on a memory database), connections are made
as :class:`NumberedConnection`, which rewrites a numbered statement to plain ``?`` placeholders
once (cached) and orders each call's parameters to match; everywhere else connections are
``sqlite3``'s own and nothing is added to a call.
"""

from __future__ import annotations

import re
import sqlite3
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

#: A placeholder, numbered or plain (SQLite gives a plain one the largest number so far, + 1).
_PLACEHOLDER = re.compile(r"\?(\d*)")
#: Each numbered statement's plain spelling and the parameter each of its ``?`` takes.
_PLANS: dict[str, tuple[str, tuple[int, ...]] | None] = {}


def plain_placeholders(sql: str) -> tuple[str, tuple[int, ...]] | None:
    """``sql`` with plain ``?`` placeholders and, for each, the index of the parameter it binds;
    None when ``sql`` numbers none. (The store's statements hold no ``?`` in a literal.)"""
    if sql in _PLANS:
        return _PLANS[sql]
    order: list[int] = []
    numbered = False
    largest = 0

    def plain(found: re.Match[str]) -> str:
        nonlocal numbered, largest
        number = int(found.group(1)) if found.group(1) else largest + 1
        numbered = numbered or bool(found.group(1))
        largest = max(largest, number)
        order.append(number - 1)
        return "?"

    rewritten = _PLACEHOLDER.sub(plain, sql)
    made = (rewritten, tuple(order)) if numbered else None
    _PLANS[sql] = made
    return made


def _bound(sql: str, parameters: Any) -> tuple[str, Any]:
    if not isinstance(parameters, (tuple, list)) or "?" not in sql:
        return sql, parameters
    plan = plain_placeholders(sql)
    if plan is None:
        return sql, parameters
    rewritten, order = plan
    return rewritten, [parameters[index] for index in order]


class NumberedCursor(sqlite3.Cursor):
    """A cursor whose numbered statements are bound as plain ones (see the module)."""

    def execute(self, sql: str, parameters: Any = (), /) -> NumberedCursor:
        return super().execute(*_bound(sql, parameters))

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> NumberedCursor:
        """(Each row a sequence, as the store's are: a numbered statement is bound by order.)"""
        plan = plain_placeholders(sql) if "?" in sql else None
        if plan is None:
            return super().executemany(sql, seq_of_parameters)
        rewritten, order = plan
        rows = ([row[index] for index in order] for row in seq_of_parameters)
        return super().executemany(rewritten, rows)


class NumberedConnection(sqlite3.Connection):
    """A connection whose numbered statements are bound as plain ones (see the module)."""

    def cursor(self, factory: Any = None) -> NumberedCursor:  # type: ignore[override]
        return super().cursor(factory or NumberedCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> NumberedCursor:
        return self.cursor().execute(sql, parameters)

    def executemany(  # type: ignore[override]
        self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /
    ) -> NumberedCursor:
        return self.cursor().executemany(sql, seq_of_parameters)


def numbered_as_named() -> bool:
    """Whether this ``sqlite3`` warns at a numbered placeholder bound from a tuple."""
    probe = sqlite3.connect(":memory:")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            probe.execute("SELECT ?1", (1,)).fetchone()
    finally:
        probe.close()
    return any(issubclass(w.category, DeprecationWarning) for w in caught)


#: The connection class the SQLite store opens its files with.
FACTORY: type[sqlite3.Connection] = (
    NumberedConnection if numbered_as_named() else sqlite3.Connection
)


def connect(database: str, **options: Any) -> sqlite3.Connection:
    """``sqlite3.connect`` with this Python's connection class (:data:`FACTORY`)."""
    return sqlite3.connect(database, factory=FACTORY, **options)


__all__ = [
    "FACTORY",
    "NumberedConnection",
    "NumberedCursor",
    "connect",
    "numbered_as_named",
    "plain_placeholders",
]
