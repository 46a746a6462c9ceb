"""Recovery's repair of an SQLite store's cells that hold what memcore never writes there: a
meta row's version, floor or digest that is not an integer, a version outside the ones the
format holds (``-5``, ``2**40``), an item row whose record is not a blob or whose version is
none (``UPDATE meta SET version = 'abc'``: another program or a hand edit). Every read of such
a session raises ``CorruptedMemoryError``, so recovery could not even start; after this repair
it goes on as for any other damage (a state rebuilt from the backups and journal, checked
against the digest, before anything is written over the items).

Nothing is deleted: an item row that cannot be read is moved to the ``damaged_items`` table, as
it was, for inspection (a journal row, to ``damaged_commits``, a marker in its place:
``sqlite_journal_aside``); the meta cells are set from what the session's own rows say (its
version the highest its items, journal, backups, floor or last replacement hold, its floor below
its lowest journal entry).
"""

from __future__ import annotations

import sqlite3
import time

from memcore.stores.sqlite_journal_aside import drop_moved, journal_base, move_aside
from memcore.stores.sqlite_schema import _VERSION_BITS, MAX_VERSION

_DAMAGED_TABLE = """CREATE TABLE IF NOT EXISTS damaged_items (
        session TEXT, key, record, version, moved_at REAL NOT NULL
    )"""


def _a_version(column: str) -> str:
    """SQL: ``column`` holds a version (one outside 0..MAX_VERSION is none: the journal's ids
    cannot number it, see ``sqlite_versions``)."""
    return f"(typeof({column}) = 'integer' AND {column} BETWEEN 0 AND {MAX_VERSION})"


_BAD_ITEMS = (
    "session = ?1 AND (typeof(key) != 'text' OR typeof(record) != 'blob' "
    f"OR NOT {_a_version('version')})"
)
# the highest version the session's rows hold: its items (the bad ones moved aside), backups,
# journal floor, last replacement and journal (?2)
_HIGHEST = (
    "SELECT max(?2, (SELECT coalesce(max(version), 0) FROM items WHERE session = ?1), "
    "(SELECT coalesce(max(version), 0) FROM backups WHERE session = ?1 "
    f"AND {_a_version('version')}), "
    f"CASE WHEN {_a_version('journal_floor')} THEN journal_floor ELSE 0 END, "
    f"CASE WHEN {_a_version('replaced_at')} THEN replaced_at ELSE 0 END) "
    "FROM meta WHERE session = ?1"
)


def repair_cells(conn: sqlite3.Connection, session_id: str) -> list[str]:
    """Repair the session's unreadable cells (inside the caller's write transaction); what
    was done, one phrase each (empty: nothing was wrong). A meta row whose number is damaged
    is left as it is: which journal rows are the session's is then unknown."""
    done: list[str] = []
    moved = conn.execute(f"SELECT count(*) FROM items WHERE {_BAD_ITEMS}", (session_id,))
    bad = int(moved.fetchone()[0])
    if bad:
        conn.execute(_DAMAGED_TABLE)
        conn.execute(
            "INSERT INTO damaged_items (session, key, record, version, moved_at) "
            f"SELECT session, key, record, version, ?2 FROM items WHERE {_BAD_ITEMS}",
            (session_id, time.time()),
        )
        conn.execute(f"DELETE FROM items WHERE {_BAD_ITEMS}", (session_id,))
        done.append(f"{bad} unreadable item row(s) moved to the table damaged_items")
    row = conn.execute(
        "SELECT number, version, typeof(journal_floor), typeof(replaced_at), "
        "typeof(digest) FROM meta WHERE session = ?",
        (session_id,),
    ).fetchone()
    if row is None or not isinstance(row[0], int):
        return done
    number, stored, floor_type, replaced_type, digest_type = row
    base = number << _VERSION_BITS
    aside = move_aside(conn, session_id, base)  # (journal rows: sqlite_journal_aside)
    if aside:
        done.append(aside)
    lowest, highest = conn.execute(
        "SELECT min(id) - ?1, max(id) - ?1 FROM commits WHERE id > ?1 AND id <= ?2",
        (base, base + MAX_VERSION),
    ).fetchone()
    if not isinstance(stored, int) or not 0 <= stored <= MAX_VERSION:
        version = int(conn.execute(_HIGHEST, (session_id, int(highest or 0))).fetchone()[0])
        conn.execute("UPDATE meta SET version = ? WHERE session = ?", (version, session_id))
        what = (
            "not a number"
            if not isinstance(stored, int)
            else f"{stored}, outside the versions this file format holds (0 to {MAX_VERSION})"
        )
        done.append(f"its version, {what}, set to {version} (the highest its rows hold)")
    if floor_type != "integer":
        floor = int(lowest) - 1 if lowest is not None else 0
        conn.execute("UPDATE meta SET journal_floor = ? WHERE session = ?", (floor, session_id))
        done.append(f"its journal floor, not a number, set to {floor}")
    if replaced_type != "integer":
        conn.execute("UPDATE meta SET replaced_at = 0 WHERE session = ?", (session_id,))
        done.append("its replacement mark, not a number, cleared")
    if digest_type not in ("integer", "null"):
        conn.execute("UPDATE meta SET digest = NULL WHERE session = ?", (session_id,))
        done.append("its digest, not a number, cleared (made again from a checked state)")
    return done


def drop_damaged(conn: sqlite3.Connection, session_id: str) -> None:
    """Delete the session's rows moved to ``damaged_items`` and ``damaged_commits`` (inside
    the caller's write transaction): a deleted session leaves nothing of itself behind."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'damaged_items'"
    ).fetchone()
    if found is not None:
        conn.execute("DELETE FROM damaged_items WHERE session = ?", (session_id,))
    drop_moved(conn, session_id)


def move_damaged_journal(conn: sqlite3.Connection, session_id: str) -> str:
    """Move the session's journal rows whose records fail their checks aside, a marker in each
    one's place (inside the caller's write transaction; ``sqlite_journal_aside``): recovery's
    tidy of an intact session's history. What was done ('' for nothing)."""
    base = journal_base(conn, session_id)
    return "" if base is None else move_aside(conn, session_id, base, checked=True)


__all__ = ["drop_damaged", "move_damaged_journal", "repair_cells"]
