"""What only the SQLite store can show: real processes racing on one file, a locked, foreign or
older-schema file, URL forms, private in-memory databases, one event loop after another.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from memcore import DistributedMemoryManager, MemoryItem
from memcore.errors import BackendError, ValidationError
from memcore.stores import open_store, sqlite_numbered
from memcore.stores.sqlite import SQLiteStore, parse_sqlite_url
from memcore.stores.sqlite_schema import _READ_CHANGES
from tests.store_support import sqlite_url

# --- SQLite ------------------------------------------------------------------------------------


def _sqlite_worker(url: str, idx: int, commits: int, start: Any, out: Any) -> None:
    """A separate process committing ``commits`` records to one SQLite file, retrying on None.

    All workers open the file, then wait at one barrier, so their commits really overlap."""

    async def run() -> tuple[list[int], int]:
        won: list[int] = []
        retries = 0
        async with SQLiteStore(url) as target:
            await target.version("shared")
            start.wait(60)
            for n in range(commits):
                while True:
                    current = await target.version("shared")
                    new = await target.commit(
                        "shared",
                        current,
                        {f"p{idx}-{n}": f"{idx}/{n}".encode(), "last": str(idx).encode()},
                        current + 1,
                    )
                    if new is not None:
                        won.append(new)
                        break
                    retries += 1
        return won, retries

    try:
        out.put((idx, *asyncio.run(run())))
    except BaseException as exc:
        out.put((idx, repr(exc), -1))
        raise


def test_sqlite_many_processes_lose_no_write(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path, "shared/many.db")
    processes, commits = 4, 50
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(processes), ctx.Queue()
    workers = [
        ctx.Process(target=_sqlite_worker, args=(url, i, commits, start, out))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        reports = [out.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
    failures = [report for report in reports if report[2] < 0]
    assert not failures, failures
    assert all(worker.exitcode == 0 for worker in workers)
    results = [won for _, won, _ in reports]

    async def check() -> None:
        async with SQLiteStore(url) as target:
            snap = await target.read_snapshot("shared")
            journal = await target.read_journal("shared")
        total = processes * commits
        assert sorted(v for won in results for v in won) == list(range(1, total + 1))
        assert snap.version == total
        assert snap.digest == total
        for i in range(processes):
            for n in range(commits):
                assert snap.records[f"p{i}-{n}"] == f"{i}/{n}".encode()
        assert len(snap.records) == total + 1
        assert [e.version for e in journal] == sorted(list(range(1, total + 1)) * 2)

    asyncio.run(check())


async def test_a_file_locked_while_its_owner_is_checked_is_said_to_be_locked(
    tmp_path: Path,
) -> None:
    """A file another connection holds exclusively (a process making it, stopped mid-way) is
    locked, not "not an SQLite database": the check of whose file it is has no verdict."""
    path = tmp_path / "memory.db"
    holder = sqlite3.connect(path, isolation_level=None)  # (a new file: rollback journal)
    try:
        holder.execute("CREATE TABLE other (x)")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO other VALUES (1)")
        store = SQLiteStore(f"sqlite:///{path}?timeout=0.2")
        with pytest.raises(BackendError) as caught:
            await store.list_sessions()
        assert "database is locked" in str(caught.value)
        assert "not an SQLite database" not in str(caught.value)
        await store.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_sqlite_locked_beyond_the_timeout_is_a_backend_error(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path) + "?timeout=0.2"
    async with SQLiteStore(url) as target:
        assert await target.commit("s", 0, {"k": b"v"}, 1) == 1
        holder = sqlite3.connect(tmp_path / "stores.db", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("INSERT INTO meta (session, version) VALUES ('held', 7)")
            done = False
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while not done:
                    ticks += 1
                    await asyncio.sleep(0)

            async def blocked_commit() -> None:
                nonlocal done
                try:
                    with pytest.raises(BackendError) as caught:
                        await target.commit("s", 1, {"k": b"w"}, 2)
                    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
                    assert "locked" in str(caught.value)
                finally:
                    done = True

            await asyncio.gather(blocked_commit(), ticker())
            assert ticks > 1, "the event loop was blocked while SQLite waited for the lock"
            # readers are not blocked by the writer (WAL)
            assert (await target.read_snapshot("s")).records == {"k": b"v"}
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert await target.commit("s", 1, {"k": b"w"}, 2) == 2
        assert await target.version("held") == 0


async def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not an sqlite database, just some bytes\n" * 200)
    target = SQLiteStore(f"sqlite:///{path}")
    with pytest.raises(BackendError) as caught:
        await target.version("s")
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    with pytest.raises(BackendError):
        await target.commit("s", 0, {"k": b"v"}, 1)
    await target.close()
    assert path.read_bytes().startswith(b"this is not")


async def test_sqlite_database_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE items (id INTEGER, name TEXT)")
    async with SQLiteStore(f"sqlite:///{path}") as target:
        with pytest.raises(BackendError, match="not made by memcore"):
            await target.version("s")


async def test_sqlite_creates_parent_dirs_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c" / "deep.db"
    opened = open_store(f"sqlite:///{path}")
    assert isinstance(opened, SQLiteStore)
    async with opened as target:
        await target.commit("s", 0, {"k": b"v"}, 2**64 - 1)
    with sqlite_numbered.connect(str(path)) as raw:  # (its numbered statements, as the store)
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # the unsigned digest is kept as its signed two's complement
        assert raw.execute("SELECT digest FROM meta").fetchone()[0] == -1
        # a delta is a seek into the session's journal range (or a scan of its items): a
        # commit writes no index beside the three tables
        plan = raw.execute("EXPLAIN QUERY PLAN " + _READ_CHANGES, ("s", 1)).fetchall()
        assert any("SEARCH commits USING INTEGER PRIMARY KEY" in str(row) for row in plan)
        assert any("SEARCH items USING PRIMARY KEY (session=?)" in str(row) for row in plan)
        indexes = raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        assert indexes == []


def _old_tables(raw: sqlite3.Connection, *, schema: int) -> None:
    """The tables of a file as memcore wrote it with ``schema`` 1 or 2 (2 added two meta columns):
    both had an index of items and of journal entries by version, a journal row a key."""
    later = ", replaced_at INTEGER NOT NULL DEFAULT 0, journal_floor INTEGER NOT NULL DEFAULT 0"
    raw.execute(
        "CREATE TABLE meta (session TEXT PRIMARY KEY, version INTEGER NOT NULL, "
        f"digest INTEGER, next_backup INTEGER NOT NULL DEFAULT 1{later if schema >= 2 else ''})"
    )
    raw.execute(
        "CREATE TABLE items (session TEXT NOT NULL, key TEXT NOT NULL, record BLOB NOT NULL, "
        "version INTEGER NOT NULL, PRIMARY KEY (session, key)) WITHOUT ROWID"
    )
    raw.execute("CREATE INDEX items_by_version ON items (session, version)")
    raw.execute(
        "CREATE TABLE journal (id INTEGER PRIMARY KEY, session TEXT NOT NULL, "
        "version INTEGER NOT NULL, key TEXT NOT NULL, record BLOB NOT NULL)"
    )
    raw.execute("CREATE INDEX journal_by_version ON journal (session, version)")
    raw.execute(
        "CREATE TABLE backups (session TEXT NOT NULL, backup_id INTEGER NOT NULL, "
        "version INTEGER NOT NULL, created_at REAL NOT NULL, blob BLOB NOT NULL, "
        "PRIMARY KEY (session, backup_id))"
    )
    raw.execute(f"PRAGMA application_id = {0x6D656D63}")  # "memc"
    raw.execute(f"PRAGMA user_version = {schema}")


async def test_sqlite_schema_1_file_is_upgraded_in_place(tmp_path: Path) -> None:
    """A file written before replaced_at / journal_floor existed opens, keeps its data and gains
    the new columns; a second store opening it afterwards finds nothing left to do."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        _old_tables(raw, schema=1)
        raw.execute("INSERT INTO meta (session, version, digest) VALUES ('s', 2, 7)")
        raw.execute("INSERT INTO items VALUES ('s', 'k', x'01', 2)")
        raw.execute(
            "INSERT INTO journal (session, version, key, record) VALUES ('s', 1, 'k', x'00')"
        )
        raw.execute(
            "INSERT INTO journal (session, version, key, record) VALUES ('s', 2, 'k', x'01')"
        )
    async with SQLiteStore(f"sqlite:///{path}") as target:
        delta = await target.read_changes("s", 0)
        assert (delta.version, delta.records, delta.digest, delta.replaced_at) == (
            2,
            {"k": b"\x01"},
            7,
            0,
        )
        # upgraded with its incarnation id, as a new file is made (replicas' first syncs)
        assert delta.incarnation is not None
        assert delta.incarnation.store
        assert await target.journal_floor("s") == 0
        assert await target.truncate_journal("s", 1) == 1
        assert await target.replace_state("s", 2, {"k": b"\x02"}, 8) == 3
    async with SQLiteStore(f"sqlite:///{path}") as again:
        assert (await again.read_changes("s", 0)).replaced_at == 3
        assert await again.journal_floor("s") == 1
        assert [e.version for e in await again.read_journal("s")] == [2]
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 3


def _schema_2_file(path: Path) -> dict[str, list[tuple[int, str, bytes]]]:
    """A file as memcore wrote it with schema 2 (journal rows one a key, two version indexes),
    two sessions numbered 5 and 6 (a deleted one before them), and their journal entries."""
    entries = {
        "a": [(1, "x", b"x1"), (1, "y", b"y1"), (2, "x", b"x2"), (3, "z", b"z3")],
        "b": [(1, "p", b"p1"), (2, "p", b"p2"), (2, "q", b"q2")],
    }
    with sqlite3.connect(path) as raw:
        _old_tables(raw, schema=2)
        raw.execute("INSERT INTO meta (rowid, session, version, digest) VALUES (4, 'gone', 0, 0)")
        raw.execute("DELETE FROM meta")  # a deleted session: the rowids that follow skip it
        for rowid, (session, rows) in enumerate(sorted(entries.items()), start=5):
            latest = {key: (version, record) for version, key, record in rows}
            top = max(version for version, _, _ in rows)
            raw.execute(
                "INSERT INTO meta (rowid, session, version, digest) VALUES (?, ?, ?, 9)",
                (rowid, session, top),
            )
            for key, (version, record) in latest.items():
                raw.execute(
                    "INSERT INTO items VALUES (?, ?, ?, ?)", (session, key, record, version)
                )
        for version, key, record, session in sorted(
            (v, k, r, session) for session, rows in entries.items() for v, k, r in rows
        ):  # the sessions' entries interleaved, as writers left them
            raw.execute(
                "INSERT INTO journal (session, version, key, record) VALUES (?, ?, ?, ?)",
                (session, version, key, record),
            )
    return entries


async def test_sqlite_schema_2_journal_becomes_one_row_a_commit(tmp_path: Path) -> None:
    """A schema-2 file (journal rows one a key, two version indexes) opens as schema 3: every
    journal entry is still read in order, the sessions keep their meta rows (numbered by their
    old rowids) and their deltas, the indexes are gone and commits go on."""
    path = tmp_path / "v2.db"
    entries = _schema_2_file(path)
    async with SQLiteStore(f"sqlite:///{path}") as target:
        for session, rows in entries.items():
            journal = [(e.version, e.key, e.record) for e in await target.read_journal(session)]
            assert journal == rows
            later = {key: record for version, key, record in rows if version > 1}
            assert (await target.read_changes(session, 1)).records == later
        assert await target.truncate_journal("b", 2) == 3
        assert await target.commit("a", 3, {"x": b"x4"}, 10) == 4
        assert (await target.read_changes("a", 3)).records == {"x": b"x4"}
        assert [e.key for e in await target.read_journal("a", 3)] == ["x"]
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 3
        assert raw.execute("SELECT number, session FROM meta ORDER BY number").fetchall() == [
            (5, "a"),
            (6, "b"),
        ]
        indexes = raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        assert indexes == []
        # a: one row a version, v1 packed (2 keys); b: cut
        assert raw.execute("SELECT count(*) FROM commits").fetchone()[0] == 4


async def test_a_read_only_open_upgrades_an_older_file_it_may_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands that only look, and the session-start hook, keep working across a memcore
    upgrade: an older file is upgraded in place first when it can be written; one that cannot
    be is refused with what to do, and left as it was."""
    path = tmp_path / "v2.db"
    entries = _schema_2_file(path)
    unwritable = tmp_path / "unwritable.db"
    _schema_2_file(unwritable)
    monkeypatch.setattr(
        "memcore.stores.sqlite_connection.os.access",
        lambda where, mode: "unwritable" not in str(where),
    )
    async with SQLiteStore(f"sqlite:///{path}", read_only=True) as reader:
        journal = [(e.version, e.key, e.record) for e in await reader.read_journal("a")]
        assert journal == entries["a"]
        assert (await reader.read_changes("b", 1)).records == {"p": b"p2", "q": b"q2"}
    async with SQLiteStore(f"sqlite:///{unwritable}", read_only=True) as reader:
        with pytest.raises(BackendError, match="older memcore schema and cannot be written"):
            await reader.read_changes("a", 0)
    for file, schema in ((path, 3), (unwritable, 2)):
        with sqlite3.connect(file) as raw:
            assert raw.execute("PRAGMA user_version").fetchone()[0] == schema


async def test_an_older_memcore_still_writing_an_upgraded_file_is_refused(tmp_path: Path) -> None:
    """A process of an older memcore that had the file open when it was upgraded (a long-lived
    MCP server) writes its journal entries into ``journal``: refused whole, saying what to do,
    where they would have landed in another session's range."""
    path = tmp_path / "v2.db"
    _schema_2_file(path)
    async with SQLiteStore(f"sqlite:///{path}") as store:
        assert await store.commit("a", 3, {"x": b"x4"}, 10) == 4
    with sqlite3.connect(path, isolation_level=None) as raw:  # as schema 2's commit wrote
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("UPDATE meta SET version = 5 WHERE session = 'a' AND version = 4")
        with pytest.raises(sqlite3.DatabaseError, match="upgraded to schema 3 by a newer"):
            raw.execute(
                "INSERT INTO journal (session, version, key, record) VALUES ('a', 5, 'x', x'05')"
            )
        raw.execute("ROLLBACK")
        for change in ("DELETE FROM journal WHERE session = 'a'", "UPDATE journal SET key = 'y'"):
            raw.execute(change)  # (a view of no rows: nothing to refuse, nothing changed)
    async with SQLiteStore(f"sqlite:///{path}", read_only=True) as store:
        assert [e.version for e in await store.read_journal("a")] == [1, 1, 2, 3, 4]
        assert (await store.read_changes("a", 3)).version == 4


def test_sqlite_url_forms(tmp_path: Path) -> None:
    assert parse_sqlite_url("sqlite:///relative/x.db") == ("relative/x.db", 5.0, "NORMAL")
    assert parse_sqlite_url("sqlite:////abs/x.db?timeout=0.5&synchronous=full") == (
        "/abs/x.db",
        0.5,
        "FULL",
    )
    assert parse_sqlite_url("sqlite:////abs/100%.db")[0] == "/abs/100%.db"
    for bad in (
        "sqlite://",
        "sqlite:///",
        "sqlite://host/x.db",
        "sqlite:///x.db?timeout=-1",
        "sqlite:///x.db?timeout=soon",
        "sqlite:///x.db?synchronous=off",
        "sqlite:///x.db?mode=ro",
        "memory://",
    ):
        with pytest.raises(ValidationError):
            parse_sqlite_url(bad)


async def test_sqlite_in_memory_database_is_private_to_the_store() -> None:
    async with SQLiteStore("sqlite:///:memory:") as target:
        assert await target.commit("s", 0, {"k": b"v"}, 1) == 1
        assert (await target.read_snapshot("s")).records == {"k": b"v"}
    async with SQLiteStore("sqlite:///:memory:") as other:
        assert await other.version("s") == 0


def test_sqlite_store_serves_one_event_loop_after_another(tmp_path: Path) -> None:
    target = SQLiteStore(sqlite_url(tmp_path))
    assert asyncio.run(target.commit("s", 0, {"k": b"1"}, 1)) == 1
    assert asyncio.run(target.commit("s", 1, {"k": b"2"}, 2)) == 2
    assert asyncio.run(target.read_snapshot("s")).records == {"k": b"2"}
    asyncio.run(target.close())


async def test_sqlite_wal_starts_over_under_back_to_back_syncs(tmp_path: Path) -> None:
    """A writer syncing back to back adds frames during every passive checkpoint, so its WAL
    never found itself all copied and grew without end (about 11 kB a one-key sync); the
    checkpoint's second step lets it start over."""
    path = tmp_path / "wal.db"
    manager = DistributedMemoryManager(f"sqlite:///{path}", replica_id="a")
    try:
        syncs = 3000
        for n in range(syncs):
            key = f"k{n % 50}"
            manager.set("s", key, MemoryItem(key, str(n)))
            assert (await manager.sync_session_memory("s")).success
        grown = (tmp_path / "wal.db-wal").stat().st_size
    finally:
        await manager.close()
    # without starting over: ~11 kB x 3000 syncs = 32 MB; starting over every 500 syncs, the
    # file holds at most the frames of the last 500 to 1000 (6-12 MB)
    assert grown < 16 << 20, grown


@pytest.mark.parametrize("keys", [2, 63, 64, 65, 200])
async def test_sqlite_commits_of_any_size_write_every_row_and_its_journal_entry(
    tmp_path: Path, keys: int
) -> None:
    """Up to 64 rows go in one multi-row statement per table, more row by row: the same rows."""
    store = SQLiteStore(f"sqlite:///{tmp_path / 'rows.db'}")
    first = {f"k{i:03d}": f"v{i}".encode() for i in range(keys)}
    assert await store.commit("s", 0, first, 1) == 1
    second = {key: record + b"!" for key, record in list(first.items())[::2]}
    assert await store.commit("s", 1, second, 2) == 2
    assert (await store.read_snapshot("s")).records == {**first, **second}
    assert (await store.read_changes("s", 1)).records == second
    journal = [(e.version, e.key, e.record) for e in await store.read_journal("s")]
    assert journal == [(1, k, r) for k, r in first.items()] + [(2, k, r) for k, r in second.items()]
    await store.close()


async def test_sqlite_replicas_in_one_process_share_the_checkpoint_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four replicas of one file in one process: the rows any of them writes count toward the
    next checkpoint, so checkpoints come as often as with one (each counting only its own rows
    let the WAL grow four times as long). Counted where they are started: whether each then
    starts the WAL over depends on the others' reads at that moment (best effort, by design),
    which made a test of the WAL's size fail now and then."""
    from memcore.stores.sqlite_connection import SQLiteConnection

    started: list[str] = []
    checkpoint = SQLiteConnection._checkpoint

    def counted(self: SQLiteConnection) -> None:
        started.append(self.path)
        checkpoint(self)

    monkeypatch.setattr(SQLiteConnection, "_checkpoint", counted)
    path = tmp_path / "wal.db"
    managers = [DistributedMemoryManager(f"sqlite:///{path}", replica_id=f"r{i}") for i in range(4)]
    try:
        for n in range(1800):
            manager = managers[n % 4]
            key = f"k{n % 50}"
            manager.set("s", key, MemoryItem(key, str(n)))
            assert (await manager.sync_session_memory("s")).success
    finally:
        for manager in managers:
            await manager.close()
    # 1,800 syncs of 2 rows each (the item and its journal entry): each replica counting alone
    # reaches 900 rows, under the 1,000 of a checkpoint, so none starts; counted together, one
    # every 500 syncs
    assert len(started) == 3, started


async def test_a_new_file_has_its_incarnation_from_the_start(tmp_path: Path) -> None:
    """A new session's first delta carries the file's incarnation id: replicas starting
    together commit their first syncs under the write lock (see the next test)."""
    store = SQLiteStore(sqlite_url(tmp_path))
    delta = await store.read_changes("s", 0)
    assert delta.incarnation is not None
    assert delta.incarnation.store
    assert (await store.incarnation("s")) == delta.incarnation
    await store.close()
    again = SQLiteStore(sqlite_url(tmp_path))  # the same file: the same id
    assert (await again.read_changes("s", 0)).incarnation == delta.incarnation
    await again.close()


async def test_replicas_starting_together_on_a_new_file_never_lose_a_race(tmp_path: Path) -> None:
    """Their first syncs commit under the write lock: none reads and then commits, so none can
    lose its race and mark the session contended (which sent every replica down the slow path
    for CONTENTION_WINDOW)."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    managers = [DistributedMemoryManager(url, replica_id=f"r{i}") for i in range(4)]
    plain = 0
    for manager in managers:
        commit = manager.store.commit

        async def counting(*args: Any, _commit: Any = commit) -> Any:
            nonlocal plain
            plain += 1
            return await _commit(*args)

        manager.store.commit = counting  # type: ignore[method-assign,assignment]

    async def first_sync(index: int, manager: DistributedMemoryManager) -> bool:
        manager.set("s", f"k{index}", MemoryItem(f"k{index}", "x"))
        return (await manager.sync_session_memory("s")).success

    try:
        assert all(await asyncio.gather(*(first_sync(i, m) for i, m in enumerate(managers))))
        assert plain == 0
        raw = sqlite3.connect(tmp_path / "new.db")
        marks = raw.execute("SELECT count(*) FROM store_info WHERE name LIKE 'contended:%'")
        assert marks.fetchone()[0] == 0
        raw.close()
    finally:
        for manager in managers:
            await manager.close()
