"""The SQLite store's numbered placeholders on CPythons that take them for named ones (3.12.0 to
3.12.3 warn at each): there connections rewrite them to plain ones. The rewrite is forced here
on whatever Python runs the tests, and must give the store the same results, with no warning."""

from __future__ import annotations

import asyncio
import sqlite3
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.stores import sqlite_numbered
from memcore.stores.sqlite import SQLiteStore
from memcore.stores.sqlite_numbered import NumberedConnection, plain_placeholders
from tests.store_support import sqlite_url


def test_numbered_placeholders_become_plain_ones_bound_in_their_order() -> None:
    assert plain_placeholders("SELECT ?2, ?1, ?2") == ("SELECT ?, ?, ?", (1, 0, 1))
    # (a plain one takes the largest number so far, + 1, as SQLite numbers it)
    assert plain_placeholders("SELECT ?2, ?, ?1") == ("SELECT ?, ?, ?", (1, 2, 0))
    assert plain_placeholders("SELECT ?, ?") is None  # nothing numbered: left as it is


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=8), st.booleans())
def test_a_rewritten_statement_selects_what_sqlite_binds(numbers: list[int], plain: bool) -> None:
    """SQLite's own numbering (``?NNN`` and plain ``?`` mixed) is the reference."""
    marks = [f"?{n}" for n in numbers]
    if plain:
        marks.append("?")
    sql = "SELECT " + ", ".join(marks)
    count = max([*numbers, 0]) + (1 if plain else 0)
    values = tuple(f"v{i}" for i in range(count))
    reference = sqlite3.connect(":memory:")
    rewritten = sqlite3.connect(":memory:", factory=NumberedConnection)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # (3.12.0-3.12.3's reference)
            expected = reference.execute(sql, values).fetchall()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert rewritten.execute(sql, values).fetchall() == expected
    finally:
        reference.close()
        rewritten.close()


async def _story(url: str) -> list[Any]:
    """The store's numbered statements at work: commits, deltas, a snapshot, the journal,
    backups, a verify and a deletion."""
    seen: list[Any] = []
    async with SQLiteStore(url) as store:
        for version in range(1, 6):
            records = {f"k{version}": bytes([version]), "shared": bytes([version, version])}
            seen.append(await store.commit("s", version - 1, records, version))
        for since in (0, 2, 5):
            delta = await store.read_changes("s", since)
            seen.append((delta.version, sorted(delta.records.items())))
        snapshot = await store.read_snapshot("s")
        seen.append((snapshot.version, sorted(snapshot.records.items())))
        seen.append([(e.version, e.key, e.record) for e in await store.read_journal("s")])
        await store.put_backup("s", 5, b"backup")
        seen.append([b.version for b in await store.list_backups("s")])
        seen.append(await store.list_sessions())
        await store.delete_session("s")
        seen.append((await store.read_snapshot("s")).version)
    return seen


def test_the_store_gives_the_same_results_through_the_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = asyncio.run(_story(sqlite_url(tmp_path, "plain.db")))
    monkeypatch.setattr(sqlite_numbered, "FACTORY", NumberedConnection)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        rewritten = asyncio.run(_story(sqlite_url(tmp_path, "rewritten.db")))
    assert rewritten == plain
    assert plain[:5] == [1, 2, 3, 4, 5]


def test_the_rewrite_is_used_only_where_sqlite3_warns() -> None:
    warns = sqlite_numbered.numbered_as_named()
    assert warns is (sqlite_numbered.FACTORY is NumberedConnection)
    assert sqlite_numbered.connect(":memory:").__class__ is sqlite_numbered.FACTORY
