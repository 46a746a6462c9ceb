"""The SQLite store's journal (schema 3): one row a commit in its session's rowid range, and the
deltas it serves. Whatever serves a delta (the journal, or the items when the journal cannot),
it must be exactly the items written after the version asked about."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memcore.errors import BackendError, CorruptedMemoryError
from memcore.stores import sqlite_numbered
from memcore.stores.sqlite import SQLiteStore
from memcore.stores.sqlite_schema import (
    _JOURNAL_DELTA_MAX,
    _MAX_SESSION_NUMBER,
    _READ_CHANGES,
    MAX_VERSION,
)

KEYS = [f"k{i}" for i in range(80)]  # more than _ROWS_AT_ONCE: both ways of writing rows

operations = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.lists(st.sampled_from(KEYS), max_size=70, unique=True)),
        st.tuples(st.just("replace"), st.lists(st.sampled_from(KEYS), max_size=5, unique=True)),
        st.tuples(st.just("truncate"), st.integers(0, 12)),
        st.tuples(st.just("delete"), st.just([])),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_every_delta_is_the_items_written_after_its_version(
    tmp_path: Path, ops: list[tuple[str, Any]]
) -> None:
    """After any mix of commits (one key, several, more than 64), replacements, journal cuts
    and a deletion, ``read_changes(since)`` for every ``since`` gives the items whose version is
    above it, and ``read_journal`` the journaled entries above the floor, in order."""

    async def run() -> None:
        path = tmp_path / f"j{abs(hash(repr(ops)))}.db"
        path.unlink(missing_ok=True)
        store = SQLiteStore(f"sqlite:///{path}")
        items: dict[str, tuple[bytes, int]] = {}  # key -> (record, version written)
        journal: list[tuple[int, str, bytes]] = []
        version = floor = 0
        try:
            for n, (op, arg) in enumerate(ops):
                if op == "commit":
                    records = {key: f"{key}@{n}".encode() for key in arg}
                    assert await store.commit("s", version, records, n) == version + 1
                    version += 1
                    items.update({key: (record, version) for key, record in records.items()})
                    journal += [(version, key, record) for key, record in records.items()]
                elif op == "replace":
                    records = {key: f"{key}#{n}".encode() for key in arg}
                    assert await store.replace_state("s", version, records, n) == version + 1
                    version += 1
                    items = {key: (record, version) for key, record in records.items()}
                elif op == "truncate":
                    cut = min(arg, version)
                    dropped = await store.truncate_journal("s", arg)
                    if cut > floor:
                        assert dropped == sum(1 for v, _, _ in journal if v <= cut)
                        journal = [entry for entry in journal if entry[0] > cut]
                        floor = cut
                    else:
                        assert dropped == 0
                else:
                    await store.delete_session("s")
                    items, journal, version, floor = {}, [], 0, 0
                for since in range(version + 1):
                    delta = await store.read_changes("s", since)
                    assert delta.version == version
                    assert delta.records == {k: r for k, (r, v) in items.items() if v > since}
                entries = [(e.version, e.key, e.record) for e in await store.read_journal("s")]
                assert entries == journal
                assert await store.journal_floor("s") == floor
        finally:
            await store.close()

    asyncio.run(run())


async def test_a_replica_far_behind_gets_its_delta_from_the_items(tmp_path: Path) -> None:
    """More than _JOURNAL_DELTA_MAX versions behind, the delta is read from the items (one row
    a key, not one a version): still exactly what changed."""
    async with SQLiteStore(f"sqlite:///{tmp_path / 'far.db'}") as store:
        assert await store.commit("s", 0, {"a": b"a0", "b": b"b0"}, 1) == 1
        version = 1
        for n in range(_JOURNAL_DELTA_MAX + 2):
            version = await store.commit("s", version, {"hot": f"{n}".encode()}, 1) or 0
        delta = await store.read_changes("s", 1)
        assert delta.records == {"hot": f"{_JOURNAL_DELTA_MAX + 1}".encode()}
        assert (await store.read_changes("s", version - 2)).records == delta.records
        assert set((await store.read_changes("s", 0)).records) == {"a", "b", "hot"}


def _steps(path: Path, since: int) -> int:
    """SQLite virtual-machine steps of one delta read (counted, not timed)."""
    conn = sqlite_numbered.connect(str(path))  # (the store's numbered statement, as it runs it)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    conn.set_progress_handler(count, 1)
    conn.execute(_READ_CHANGES, ("s", since)).fetchall()
    conn.close()
    return steps[0]


async def test_a_journal_delta_does_not_visit_the_sessions_items(tmp_path: Path) -> None:
    """A recent delta is a seek into the journal: the same work on a session of 20 items and of
    4,000 (a condition tested beside an items scan made it 1.9 ms on 10,000 items)."""
    counts = {}
    for size in (20, 4_000):
        path = tmp_path / f"{size}.db"
        async with SQLiteStore(f"sqlite:///{path}") as store:
            await store.commit("s", 0, {f"k{i}": b"x" * 100 for i in range(size)}, 1)
            await store.commit("s", 1, {"k1": b"y"}, 2)
        counts[size] = _steps(path, 1)
    assert counts[4_000] <= counts[20] + 50
    assert _steps(tmp_path / "4000.db", 0) > 4_000  # the measure sees a scan


async def test_the_format_limits_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "limits.db"
    async with SQLiteStore(f"sqlite:///{path}") as store:
        await store.commit("s", 0, {"k": b"v"}, 1)
    with sqlite3.connect(path) as raw:  # the session at its last version; sessions used up
        raw.execute("UPDATE meta SET version = ? WHERE session = 's'", (MAX_VERSION,))
        raw.execute(
            "UPDATE sqlite_sequence SET seq = ? WHERE name = 'meta'", (_MAX_SESSION_NUMBER,)
        )
    async with SQLiteStore(f"sqlite:///{path}") as store:
        with pytest.raises(BackendError, match="last one this file format numbers"):
            await store.commit("s", MAX_VERSION, {"k": b"w"}, 2)
        with pytest.raises(BackendError, match="CHECK constraint"):
            await store.commit("new", 0, {"k": b"v"}, 1)
        assert (await store.read_snapshot("s")).records == {"k": b"v"}


async def test_a_damaged_packed_journal_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "packed.db"
    async with SQLiteStore(f"sqlite:///{path}") as store:
        await store.commit("s", 0, {"a": b"1", "b": b"2"}, 1)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE commits SET record = x'c1ff' WHERE key IS NULL")
    async with SQLiteStore(f"sqlite:///{path}") as store:
        with pytest.raises(CorruptedMemoryError, match="journal entry of session 's'"):
            await store.read_journal("s")
        assert (await store.read_snapshot("s")).records == {"a": b"1", "b": b"2"}
        assert await store.truncate_journal("s", 1) == 0  # a damaged row counts for nothing
