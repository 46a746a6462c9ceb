"""The SQLite store's version checks and repairs, for verification and recovery.

A session's meta row says its version; its items and journal rows carry the versions they were
written at, and its journal rows are ids ``number << 40 | version`` in its number's range (see
``memcore.stores.sqlite_schema``). A meta row edited or restored to a lower version makes every
later commit collide with a journal row it already holds; a meta row deleted and made again
(by the next commit) gets a new number, leaving the journal rows of the old one stray: outside
the range the session's journal is read from, their versions used again by the new rows. Both
leave the records and the digest intact, so only these checks see them.

A meta version outside ``0..MAX_VERSION`` (a hand edit: ``-5``, ``2**40``) is no version this
format can hold: the journal's ids cannot number it, so every commit onto it fails. Every read
of it raises ``CorruptedMemoryError`` (:func:`version_cell`), as for one that is no number, and
recovery sets it from the session's rows (``memcore.stores.sqlite_cells``). An item row's version
out of that range (which hides the item from every delta, or would have recovery raise the
session's version to it) is reported by :func:`stored_versions` alike, and moved aside.
"""

from __future__ import annotations

import sqlite3

from memcore.errors import CorruptedMemoryError
from memcore.stores.sqlite_schema import _VERSION_BITS, MAX_VERSION, _int_cell


def version_cell(value: object, what: str) -> int:
    """A meta version read from the file: ``CorruptedMemoryError`` naming ``what`` unless it
    is a whole number this format can hold (see the module)."""
    version = _int_cell(value, what)
    if not 0 <= version <= MAX_VERSION:
        raise CorruptedMemoryError(
            f"{what} is {version}, not a version this file format holds (0 to {MAX_VERSION}): "
            "run `memcore recover` (recover_corrupted_memory)"
        )
    return version


def _meta(conn: sqlite3.Connection, session_id: str) -> tuple[int, int, int, int] | None:
    """(number, version, journal_floor, replaced_at) of the session, None without a meta row."""
    row = conn.execute(
        "SELECT number, version, journal_floor, replaced_at FROM meta WHERE session = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        return None
    what = f"the meta row of session {session_id!r}"
    return (
        _int_cell(row[0], what),
        version_cell(row[1], f"{what}: its version"),
        _int_cell(row[2], what),
        _int_cell(row[3], what),
    )


def stored_versions(conn: sqlite3.Connection, session_id: str) -> tuple[int, int, int, int]:
    """(meta version, items' highest, journal's highest, stray journal rows): see the module.
    The stray rows are counted by a scan of the whole journal table (no index by session),
    which verification and recovery can afford."""
    meta = _meta(conn, session_id)
    highest, lowest = conn.execute(
        "SELECT coalesce(max(version), 0), coalesce(min(version), 0) FROM items WHERE session = ?",
        (session_id,),
    ).fetchone()
    what = f"an item version of session {session_id!r}"
    version_cell(lowest, what)  # (one out of range hides its item from every delta)
    items = version_cell(highest, what)
    total = conn.execute("SELECT count(*) FROM commits WHERE session = ?", (session_id,)).fetchone()
    if meta is None:
        return 0, items, 0, int(total[0])
    base = meta[0] << _VERSION_BITS
    journal, inside = conn.execute(
        "SELECT coalesce(max(id), ?1) - ?1, count(*) FROM commits WHERE id > ?1 AND id <= ?2",
        (base, base + MAX_VERSION),
    ).fetchone()
    return meta[1], items, int(journal), int(total[0]) - int(inside)


def raise_version(
    conn: sqlite3.Connection, session_id: str, expected_version: int, version: int
) -> bool:
    """Set the session's version from ``expected_version`` up to ``version``, digest and rows
    unchanged (inside the caller's write transaction); False when it is not at that version."""
    return (
        conn.execute(
            "UPDATE meta SET version = ?3 WHERE session = ?1 AND version = ?2 AND ?3 > ?2",
            (session_id, expected_version, version),
        ).rowcount
        == 1
    )


def adopt_stray_journal(conn: sqlite3.Connection, session_id: str, expected_version: int) -> int:
    """Put the session's stray journal rows back into its range, before its own (inside the
    caller's write transaction): the stray ones, in the order they were written, become
    versions 1..n, the range's rows and the meta row's versions move up by n, so the journal
    again holds every commit once, in order. How many rows were adopted; 0 (nothing changed)
    when the session is not at ``expected_version`` or its journal was compacted (a stray row
    then has no place below the floor)."""
    meta = _meta(conn, session_id)
    if meta is None or meta[1] != expected_version or meta[2] > 0:
        return 0
    number, version = meta[0], meta[1]
    base = number << _VERSION_BITS
    stray = conn.execute(
        "SELECT id, key, record FROM commits WHERE session = ?1 AND NOT (id > ?2 AND id <= ?3) "
        "ORDER BY id",
        (session_id, base, base + MAX_VERSION),
    ).fetchall()
    shift = len(stray)
    if shift == 0 or version + shift > MAX_VERSION:
        return 0
    own = conn.execute(
        "SELECT id - ?1, key, record FROM commits WHERE id > ?1 AND id <= ?2 ORDER BY id",
        (base, base + MAX_VERSION),
    ).fetchall()
    conn.execute("DELETE FROM commits WHERE id > ?1 AND id <= ?2", (base, base + MAX_VERSION))
    conn.executemany("DELETE FROM commits WHERE id = ?", [(row[0],) for row in stray])
    rows = [(n, key, record) for n, (_, key, record) in enumerate(stray, start=1)]
    rows += [(int(v) + shift, key, record) for v, key, record in own]
    conn.executemany(
        "INSERT INTO commits (id, session, version, key, record) VALUES (?, ?, ?, ?, ?)",
        [(base + v, session_id, v, key, record) for v, key, record in rows],
    )
    conn.execute("UPDATE items SET version = version + ?2 WHERE session = ?1", (session_id, shift))
    conn.execute(
        "UPDATE meta SET version = version + ?2, replaced_at = "
        "CASE WHEN replaced_at > 0 THEN replaced_at + ?2 ELSE 0 END WHERE session = ?1",
        (session_id, shift),
    )
    return shift


__all__ = ["adopt_stray_journal", "raise_version", "stored_versions", "version_cell"]
