"""Recovery's repair of an SQLite journal row no read can take (another program or a hand edit):
a record that is no blob, a key that is neither text nor NULL, a version that is no number, a
packed row (key NULL) whose map does not decode. Every read of the journal failed on it, so
recovery could rebuild nothing from the journal nor from a backup plus the journal since it
("journal unreadable", nothing changed), and verification named no row.

The row is copied as it was into the ``damaged_commits`` table (made when first needed, as
``damaged_items`` is: no schema change, so a file keeps opening in every memcore of schema 3;
``delete_session`` drops the session's rows there), and a marker takes its place: the same id,
the version its id gives, key ``''`` and an empty record (:data:`MOVED_ASIDE`, the marker the
Redis store leaves too). It tells recovery that the commit of that version lost what it wrote,
keys unknown: a replay crosses it only when the items' versions (``SQLiteStore.last_changed``)
put every key the replay has to take from the journal at a change the journal still holds
readable (``memcore.recovery_plan``). A delta since before a marker is read from the items, not
the journal (whose row there no longer says what changed).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from memcore.errors import CorruptedMemoryError
from memcore.stores.base import MOVED_ASIDE, decode_entry
from memcore.stores.sqlite_schema import _VERSION_BITS, MAX_VERSION, _journal_entries

#: Where the rows moved aside go: the five cells of the ``commits`` row as they were, the session
#: whose journal held it and the version its place there gives (what the marker says).
_DAMAGED_COMMITS = """CREATE TABLE IF NOT EXISTS damaged_commits (
        journal_of TEXT NOT NULL, at_version INTEGER NOT NULL,
        id, session, version, key, record, moved_at REAL NOT NULL
    )"""
# a delta read from the items alone (the journal's rows hold a marker), as ``_READ_CHANGES`` and
# ``_READ_CHANGES_AND_INCARNATION`` give it: one statement, one consistent read
_META_ROW = "SELECT NULL, version, digest, replaced_at FROM meta WHERE session = ?1"
_INFO_ROWS = "SELECT NULL, name, value, NULL FROM store_info WHERE name IN ('incarnation', ?3)"
_ITEM_ROWS = "SELECT key, record, NULL, NULL FROM items WHERE session = ?1 AND version > ?2"
_ITEMS_SINCE = f"{_META_ROW} UNION ALL {_ITEM_ROWS}"
_ITEMS_SINCE_AND_INFO = f"{_META_ROW} UNION ALL {_INFO_ROWS} UNION ALL {_ITEM_ROWS}"


def unreadable_rows(
    conn: sqlite3.Connection, session_id: str, base: int, *, checked: bool = False
) -> list[tuple[int, int]]:
    """``(id, version its place gives)`` of each row of the session's journal range (ids above
    ``base``, its number shifted) that gives no journal entries, oldest first; ``checked``: or
    whose records fail their checks (``decode_entry``; a marker is none)."""
    found = []
    rows = conn.execute(
        "SELECT id, version, key, record FROM commits WHERE id > ?1 AND id <= ?2 ORDER BY id",
        (base, base + MAX_VERSION),
    )
    for row_id, version, key, record in rows:
        try:
            entries = _journal_entries(session_id, [(version, key, record)])
            if checked:
                for _, name, blob in entries:
                    if name != MOVED_ASIDE or blob:
                        decode_entry(blob)
        except CorruptedMemoryError:
            found.append((int(row_id), int(row_id) - base))
    return found


def journal_base(conn: sqlite3.Connection, session_id: str) -> int | None:
    """Where the session's journal rows start (its meta number shifted): their ids are above
    it; None when its meta row, or the number in it, is gone."""
    meta = conn.execute("SELECT number FROM meta WHERE session = ?", (session_id,)).fetchone()
    if meta is None or not isinstance(meta[0], int):
        return None
    return int(meta[0]) << _VERSION_BITS


def move_aside(
    conn: sqlite3.Connection, session_id: str, base: int, *, checked: bool = False
) -> str:
    """Move the session's unreadable journal rows (``checked``: and those whose records fail
    their checks) to ``damaged_commits``, a marker in each one's place (inside the caller's
    write transaction); what was done ('' for nothing)."""
    bad = unreadable_rows(conn, session_id, base, checked=checked)
    if not bad:
        return ""
    conn.execute(_DAMAGED_COMMITS)
    now = time.time()
    for row_id, version in bad:
        conn.execute(
            "INSERT INTO damaged_commits (journal_of, at_version, id, session, version, key, "
            "record, moved_at) SELECT ?1, ?2, id, session, version, key, record, ?3 "
            "FROM commits WHERE id = ?4",
            (session_id, version, now, row_id),
        )
        conn.execute(
            "UPDATE commits SET session = ?1, version = ?2, key = ?3, record = X'' WHERE id = ?4",
            (session_id, version, MOVED_ASIDE, row_id),
        )
    count = len(bad)
    versions = ", ".join(str(version) for _, version in bad)
    what = "damaged" if checked else "unreadable"
    return (
        f"{count} {what} journal row{'' if count == 1 else 's'} (of version"
        f"{'' if count == 1 else 's'} {versions}) moved to the table damaged_commits, a marker "
        f"in {'its' if count == 1 else 'each'} place"
    )


def located(
    conn: sqlite3.Connection, session_id: str, since: int, exc: CorruptedMemoryError
) -> CorruptedMemoryError:
    """``exc`` (a journal read failed on a row) naming the first unreadable row past ``since``
    and what repairs it; ``exc`` itself when no such row is found (gone meanwhile)."""
    base = journal_base(conn, session_id)
    if base is None:
        return exc
    found = unreadable_rows(conn, session_id, base)
    bad = [(row, version) for row, version in found if version > since]
    if not bad:
        return exc
    row, version = bad[0]
    more = f", and {len(bad) - 1} more" if len(bad) > 1 else ""
    return CorruptedMemoryError(
        f"{exc} (the journal row of version {version}, id {row} of the table commits{more}; "
        f"`memcore recover {session_id}` moves it aside)"
    )


def holds_marker(rows: list[Any]) -> bool:
    """Whether a delta's rows (``sqlite_schema._CHANGED_ROWS``: key or '', record, version, 1
    if packed) hold a marker: a journal row, not packed, of key ''."""
    return any(row[3] == 0 and row[0] == MOVED_ASIDE for row in rows)


def items_since(
    conn: sqlite3.Connection, session_id: str, since_version: int, deletions: str | None
) -> list[Any]:
    """A delta's rows read from the items alone (the meta row, with ``deletions`` the
    ``store_info`` rows too), for a delta whose journal rows hold a marker."""
    if deletions is None:
        return conn.execute(_ITEMS_SINCE, (session_id, since_version)).fetchall()
    return conn.execute(_ITEMS_SINCE_AND_INFO, (session_id, since_version, deletions)).fetchall()


def drop_moved(conn: sqlite3.Connection, session_id: str) -> None:
    """Delete the session's rows in ``damaged_commits`` (inside the caller's write transaction):
    a deleted session leaves nothing of itself behind."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'damaged_commits'"
    ).fetchone()
    if found is not None:
        conn.execute("DELETE FROM damaged_commits WHERE journal_of = ?", (session_id,))


__all__ = [
    "drop_moved",
    "holds_marker",
    "items_since",
    "journal_base",
    "located",
    "move_aside",
    "unreadable_rows",
]
