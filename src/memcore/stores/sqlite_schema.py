"""The SQLite store's file format: its schema and upgrades, the statements of a commit, the
checks that read a cell of a possibly damaged file, and the helpers around them.

``memcore.stores.sqlite`` is the store; this module is what it writes and reads.
"""

from __future__ import annotations

import functools
import itertools
import operator
import os
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgpack

from memcore.errors import BackendError, CorruptedMemoryError
from memcore.stores.base import Incarnation
from memcore.stores.sqlite_urls import parse_sqlite_url as parse_sqlite_url  # (its old home)

_APPLICATION_ID = 0x6D656D63  # "memc": marks a file as a memcore database
_SCHEMA_VERSION = 3
_U64 = 1 << 64
_I64_LIMIT = 1 << 63
# The journal keeps one row per commit, its id the session's number (meta.number) shifted left
# by _VERSION_BITS plus the version: a session's journal is one rowid range, in version order,
# read and cut with no index of its own, and a delta since a version is a seek into it (see
# _READ_CHANGES). Hence at most 2**40 - 1 versions a session (2.3 years of one-key commits at
# 15,000 a second) and 2**23 - 1 sessions ever made in one file.
_VERSION_BITS = 40
MAX_VERSION = (1 << _VERSION_BITS) - 1
_MAX_SESSION_NUMBER = (1 << (63 - _VERSION_BITS)) - 1
# The commit's statements, as constants: sqlite3's statement cache then prepares each once.
_CAS_META = "UPDATE meta SET version = ?, digest = ? WHERE session = ? AND version = ?"
_CAS_META_REPLACE = (
    "UPDATE meta SET version = ?1, digest = ?2, replaced_at = ?1 "
    "WHERE session = ?3 AND version = ?4"
)
_CREATE_META = (
    "INSERT INTO meta (session, version, digest, replaced_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (session) DO NOTHING"
)
_UPSERT_ITEM = (
    "INSERT INTO items (session, key, record, version) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (session, key) DO UPDATE SET record = excluded.record, version = excluded.version"
)
# A delta since version ?2: the journal's rows after it when it holds them all (?2 at or above
# the floor it was cut to and the last replacement) and they are few (the replica at most
# _JOURNAL_DELTA_MAX versions behind); else the session's items written after it, by a scan of
# the session's items (no version index: one less B-tree a commit writes). Journal rows come as
# (key or '', record, version, 1 if packed); item rows as (key, record, NULL, NULL).
_JOURNAL_DELTA_MAX = 4096
_JOURNAL_BASE = (
    f"(SELECT number << {_VERSION_BITS} FROM meta WHERE session = ?1 AND ?2 > 0 "
    f"AND ?2 >= journal_floor AND ?2 >= replaced_at AND version - ?2 <= {_JOURNAL_DELTA_MAX})"
)
_CHANGED_ROWS = (
    "SELECT coalesce(key, ''), record, version, key IS NULL FROM commits "
    f"WHERE id > {_JOURNAL_BASE} + ?2 AND id <= {_JOURNAL_BASE} + {MAX_VERSION} UNION ALL "
    # (the session NULL when the journal serves: a seek that finds nothing, where a condition
    # beside it would be tested on every item of the session)
    "SELECT key, record, NULL, NULL FROM items "
    f"WHERE session = (SELECT ?1 WHERE {_JOURNAL_BASE} IS NULL) AND version > ?2"
)
_READ_CHANGES = (
    "SELECT NULL, version, digest, replaced_at FROM meta WHERE session = ?1 UNION ALL "
    + _CHANGED_ROWS
)
_READ_CHANGES_AND_INCARNATION = (
    "SELECT NULL, version, digest, replaced_at FROM meta WHERE session = ?1 UNION ALL "
    "SELECT NULL, name, value, NULL FROM store_info WHERE name IN ('incarnation', ?3) UNION ALL "
    + _CHANGED_ROWS
)
# Session ?1's journal rows are ids base + version (``number << _VERSION_BITS``): those after
# version ?2 read, those through ?2 cut (giving back, to count the entries, whether each is
# packed and its first bytes, the packed map's header: see _packed_count), or all of them.
_SESSION_BASE = f"(SELECT number << {_VERSION_BITS} FROM meta WHERE session = ?1)"
_AFTER = f"id > {_SESSION_BASE} + ?2 AND id <= {_SESSION_BASE} + {MAX_VERSION}"
_READ_JOURNAL = f"SELECT version, key, record FROM commits WHERE {_AFTER} ORDER BY id"
_CUT_JOURNAL = (
    f"DELETE FROM commits WHERE id > {_SESSION_BASE} AND id <= {_SESSION_BASE} + ?2 "
    "RETURNING key IS NULL, substr(record, 1, 5)"
)
_DROP_JOURNAL = (
    f"DELETE FROM commits WHERE id > {_SESSION_BASE} AND id <= {_SESSION_BASE} + {MAX_VERSION}"
)
# a commit's journal row (?3 its one key, or NULL and ?4 its records packed)
_APPEND_JOURNAL = (
    "INSERT INTO commits (id, session, version, key, record) "
    f"SELECT (number << {_VERSION_BITS}) + ?2, ?1, ?2, ?3, ?4 FROM meta WHERE session = ?1"
)
# ``commit_if_unchanged``'s compare-and-set: the meta update, only onto the expected version and
# digest, in the expected store incarnation with the expected deletion count (kept as text '1'
# when first counted, as an integer after), and not while the session is marked contended
# (row ``contended:<session>``: the time.time() of the last lost race, before ?10)
_CAS_CONDITION = (
    "session = {session} AND version = {expected_version} AND digest = {expected_digest} "
    "AND (SELECT value FROM store_info WHERE name = 'incarnation') = {incarnation} "
    "AND coalesce((SELECT value FROM store_info WHERE name = {deletions_name}), 0) "
    "IN ({deletions}, CAST({deletions} AS TEXT)) "
    "AND coalesce((SELECT value FROM store_info WHERE name = {contended_name}), 0) "
    "< {contended_before}"
)
#: The parameters of the compare-and-set, in the order ``conditional_cas`` gives them.
_CAS_PARAMETERS = (
    "new_version",
    "new_digest",
    "session",
    "expected_version",
    "expected_digest",
    "incarnation",
    "deletions_name",
    "deletions",
    "contended_name",
    "contended_before",
)
_CAS_META_UNCHANGED = "UPDATE meta SET version = ?1, digest = ?2 WHERE " + _CAS_CONDITION.format(
    **{name: f"?{n}" for n, name in enumerate(_CAS_PARAMETERS, start=1)}
)
# The same compare-and-set with its one row, as one statement: an insert into a TEMP view whose
# trigger runs the meta UPDATE above, then the item's upsert and its journal entry only if that
# UPDATE changed the row (``changes()`` inside a trigger counts its last statement). One call
# into SQLite instead of three, and outside a transaction one statement is its own: a one-key
# commit on a quiet session is then a single ``execute``. The objects are per connection (TEMP:
# nothing is added to the file, so no schema change), made when it opens; its parameters are
# ``_CAS_META_UNCHANGED``'s ten, then the key and the record. Whether it landed:
# ``total_changes`` moved (it counts the trigger's writes).
_COMMIT_ONE_COLUMNS = (*_CAS_PARAMETERS, "key", "record")
_COMMIT_ONE_OBJECTS = (
    f"""CREATE TEMP VIEW IF NOT EXISTS commit_one ({", ".join(_COMMIT_ONE_COLUMNS)})
    AS SELECT {", ".join(["NULL"] * len(_COMMIT_ONE_COLUMNS))} WHERE 0""",
    f"""CREATE TEMP TRIGGER IF NOT EXISTS commit_one_write INSTEAD OF INSERT ON commit_one BEGIN
        UPDATE meta SET version = NEW.new_version, digest = NEW.new_digest
        WHERE {_CAS_CONDITION.format(**{name: "NEW." + name for name in _CAS_PARAMETERS})};
        INSERT INTO items (session, key, record, version)
        SELECT NEW.session, NEW.key, NEW.record, NEW.new_version WHERE changes() = 1
        ON CONFLICT (session, key) DO UPDATE
        SET record = excluded.record, version = excluded.version;
        INSERT INTO commits (id, session, version, key, record)
        SELECT (number << {_VERSION_BITS}) + NEW.new_version, NEW.session, NEW.new_version,
            NEW.key, NEW.record
        FROM meta WHERE session = NEW.session AND changes() = 1;
    END""",
)
_COMMIT_ONE = f"INSERT INTO temp.commit_one VALUES ({', '.join(['?'] * len(_COMMIT_ONE_COLUMNS))})"
# a commit that lost its compare-and-set marks the session contended (``CONTENTION_WINDOW``)
_MARK_CONTENDED = (
    "INSERT INTO store_info (name, value) VALUES (?1, ?2) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)

_META_TABLE = f"""CREATE TABLE IF NOT EXISTS meta (
        number INTEGER PRIMARY KEY AUTOINCREMENT CHECK (number <= {_MAX_SESSION_NUMBER}),
        session TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL,
        digest INTEGER,
        next_backup INTEGER NOT NULL DEFAULT 1,
        replaced_at INTEGER NOT NULL DEFAULT 0,
        journal_floor INTEGER NOT NULL DEFAULT 0
    )"""
# a commit's journal row: its one key and record, or (key NULL) its records packed (_pack)
_COMMITS_TABLE = """CREATE TABLE IF NOT EXISTS commits (
        id INTEGER PRIMARY KEY,
        session TEXT NOT NULL,
        version INTEGER NOT NULL,
        key TEXT,
        record BLOB NOT NULL
    )"""
# Processes of an older memcore that still have the file open when it is upgraded (a long-lived
# MCP server, say) would go on writing their journal entries into ``journal``: it is now a view
# that refuses every change, so their commits fail whole, saying what to do (the journal itself
# is ``commits``, unknown to them). Nothing of it is on this memcore's own commits.
_OLDER_WRITER = (
    "this memcore store was upgraded to schema 3 by a newer memcore: restart this process with it"
)
_OLD_JOURNAL = (
    "CREATE VIEW IF NOT EXISTS journal (id, session, version, key, record) "
    "AS SELECT id, session, version, key, record FROM commits WHERE 0",
    *(
        f"CREATE TRIGGER IF NOT EXISTS journal_refuses_{change.lower()} INSTEAD OF {change} "
        f"ON journal BEGIN SELECT RAISE(ABORT, '{_OLDER_WRITER}'); END"
        for change in ("INSERT", "UPDATE", "DELETE")
    ),
)
_SCHEMA = (
    _META_TABLE,
    """CREATE TABLE IF NOT EXISTS items (
        session TEXT NOT NULL,
        key TEXT NOT NULL,
        record BLOB NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (session, key)
    ) WITHOUT ROWID""",
    _COMMITS_TABLE,
    *_OLD_JOURNAL,
    """CREATE TABLE IF NOT EXISTS backups (
        session TEXT NOT NULL,
        backup_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        created_at REAL NOT NULL,
        blob BLOB NOT NULL,
        PRIMARY KEY (session, backup_id)
    )""",
)


def _upgrade_to_2(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE meta ADD COLUMN replaced_at INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE meta ADD COLUMN journal_floor INTEGER NOT NULL DEFAULT 0")


def _upgrade_to_3(conn: sqlite3.Connection) -> None:
    """Sessions numbered (their meta rowids kept as numbers), the journal one row a commit in
    its session's range, and no version indexes."""
    conn.execute("ALTER TABLE meta RENAME TO meta_2")
    conn.execute(_META_TABLE)
    columns = "session, version, digest, next_backup, replaced_at, journal_floor"
    conn.execute(
        f"INSERT INTO meta (number, {columns}) SELECT rowid, {columns} FROM meta_2 ORDER BY rowid"
    )
    conn.execute("DROP TABLE meta_2")
    conn.execute(_COMMITS_TABLE)
    # (journal rows of a session without a meta row, which only damage leaves, have no range to
    # go to: they are left out)
    old = conn.execute(
        "SELECT j.session, j.version, j.key, j.record FROM journal j "
        "JOIN meta m ON m.session = j.session ORDER BY m.number, j.version, j.id"
    )
    writer = conn.cursor()
    for (session_id, version), group in itertools.groupby(old, key=operator.itemgetter(0, 1)):
        rows = [(key, record) for _, _, key, record in group]
        key, record = rows[0] if len(rows) == 1 else (None, _pack(rows))
        writer.execute(_APPEND_JOURNAL, (session_id, version, key, record))
    conn.execute("DROP TABLE journal")
    conn.execute("DROP INDEX IF EXISTS items_by_version")
    for statement in _OLD_JOURNAL:
        conn.execute(statement)


# what each schema version changes in the one before (applied in order to older files)
_UPGRADES: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: _upgrade_to_2,
    3: _upgrade_to_3,
}


def _to_signed(digest: int) -> int:
    """SQLite INTEGER is signed 64-bit; digests are unsigned, so store their two's complement."""
    return digest - _U64 if digest >= _I64_LIMIT else digest


def _to_unsigned(value: int | None) -> int | None:
    return None if value is None else _int_cell(value, "digest") % _U64


# --- read-side cell checks: a damaged file must raise CorruptedMemoryError, not TypeError ---------
# (``bytes(4398046511104)`` would allocate 4 TiB; ``int("x")`` raises ValueError)


def _blob_cell(value: object, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise CorruptedMemoryError(f"{what} is not a blob (found {type(value).__name__})")
    return value


def _int_cell(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise CorruptedMemoryError(f"{what} is not an integer (found {type(value).__name__})")
    return value


def _text_cell(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise CorruptedMemoryError(f"{what} is not text (found {type(value).__name__})")
    return value


# the columns every table must have: a damaged schema is named at open, not at some later query
_COLUMNS: dict[str, frozenset[str]] = {
    "meta": frozenset(
        ("number", "session", "version", "digest", "next_backup", "replaced_at", "journal_floor")
    ),
    "items": frozenset(("session", "key", "record", "version")),
    "commits": frozenset(("id", "session", "version", "key", "record")),
    "backups": frozenset(("session", "backup_id", "version", "created_at", "blob")),
}
# SQLite errors that mean the file is damaged, not that the backend failed
# ("file is not a database" stays a BackendError: a file that is not SQLite at all is not ours)
_DAMAGE_MARKERS = (
    "malformed",
    "no such column",
    "no such table",
    "corrupt",
    "could not decode",
)


#: Up to this many rows, a commit writes its items with one multi-row statement (numbered
#: parameters: the session, the version, then each key and record): stepping one statement per
#: row cost a group commit of 4 keys about a tenth of its time.
_ROWS_AT_ONCE = 64


@functools.lru_cache(maxsize=_ROWS_AT_ONCE)
def _many_rows(n: int) -> str:
    """The item upsert of ``n`` rows."""
    rows = ", ".join(f"(?1, ?{3 + 2 * i}, ?{4 + 2 * i}, ?2)" for i in range(n))
    return (
        f"INSERT INTO items (session, key, record, version) VALUES {rows} "
        "ON CONFLICT (session, key) DO UPDATE "
        "SET record = excluded.record, version = excluded.version"
    )


def _write_rows(
    conn: sqlite3.Connection,
    session_id: str,
    rows: list[tuple[str, bytes]],
    version: int,
    *,
    journal: bool,
) -> None:
    """A commit's item upserts (one statement up to ``_ROWS_AT_ONCE`` rows) and, unless
    ``journal`` is False (``replace_state``), its journal row (the session's meta row exists)."""
    if not rows:
        return
    if len(rows) <= _ROWS_AT_ONCE:
        parameters: list[object] = [session_id, version]
        for key, record in rows:
            parameters += (key, record)
        conn.execute(_many_rows(len(rows)), parameters)
    else:
        conn.executemany(_UPSERT_ITEM, [(session_id, k, r, version) for k, r in rows])
    if journal:
        entry = (*rows[0],) if len(rows) == 1 else (None, _pack(rows))
        try:
            appended = conn.execute(_APPEND_JOURNAL, (session_id, version, *entry)).rowcount
        except sqlite3.IntegrityError as exc:
            raise _journal_taken(session_id, version, exc) from exc
        if appended != 1:
            raise BackendError(f"session {session_id!r} has no meta row to journal under")


def _journal_taken(session_id: str, version: int, exc: sqlite3.IntegrityError) -> Exception:
    """The error of a commit whose journal row exists already: the meta row's version went
    below the journal's (a tampered or restored meta row), and every later commit would fail
    alike until recovery raises it again (the items and the journal are left as they are)."""
    if "commits.id" not in str(exc):
        return exc
    return CorruptedMemoryError(
        f"session {session_id!r} is damaged: its journal already holds version {version}, "
        f"which its meta row says comes next (it says {version - 1}); run `memcore recover "
        f"{session_id}` (recover_corrupted_memory) to raise it past the journal"
    )


def _pack(rows: list[tuple[str, bytes]]) -> bytes:
    """A commit's records in one journal row: a msgpack map of key to record."""
    return msgpack.packb(dict(rows), use_bin_type=True)  # type: ignore[no-any-return]


def _unpack(blob: bytes, what: str) -> list[tuple[str, bytes]]:
    """``_pack``'s rows back; ``CorruptedMemoryError`` when ``blob`` is not one."""
    try:
        records = msgpack.unpackb(blob, raw=False, use_list=False, strict_map_key=True)
    except Exception as exc:  # msgpack's errors have no common base: any failure is damage
        raise CorruptedMemoryError(f"{what} does not decode ({exc})") from None
    if not isinstance(records, dict) or not all(
        isinstance(k, str) and k and isinstance(r, bytes) for k, r in records.items()
    ):
        raise CorruptedMemoryError(f"{what} is not a map of keys to records")
    return list(records.items())


def _packed_count(blob: object) -> int:
    """How many records a packed journal row holds, by its msgpack map header alone (its first
    5 bytes are enough; 0 when it has none: a damaged row counts for nothing)."""
    if not isinstance(blob, bytes) or not blob:
        return 0
    head = blob[0]
    if 0x80 <= head <= 0x8F:
        return head & 0x0F
    width = {0xDE: 2, 0xDF: 4}.get(head, 0)
    return int.from_bytes(blob[1 : 1 + width], "big") if len(blob) > width > 0 else 0


def _journal_entries(
    session_id: str, rows: list[tuple[object, object, object]]
) -> list[tuple[int, str, bytes]]:
    """(version, key, record) of each entry in journal rows (version, key, record), a packed
    row (key NULL) giving one per record."""
    what = f"a journal entry of session {session_id!r}"
    entries: list[tuple[int, str, bytes]] = []
    for version, key, record in rows:
        v = _int_cell(version, f"{what}: its version")
        blob = _blob_cell(record, f"{what}: its record")
        if key is None:
            entries += ((v, k, r) for k, r in _unpack(blob, f"{what} (version {v})"))
        else:
            entries.append((v, _text_cell(key, f"{what}: its key"), blob))
    return entries


def _changed_records(session_id: str, rows: list[Any]) -> dict[str, bytes]:
    """The records of a delta's rows (see ``_CHANGED_ROWS``), the last of each key kept."""
    if not rows:  # the common case: nothing changed
        return {}
    if any(packed for _, _, _, packed in rows):  # (NULL for the session's items)
        entries = _journal_entries(session_id, [(v, None if p else k, r) for k, r, v, p in rows])
        return _records(session_id, [(k, r) for _, k, r in entries])
    return _records(session_id, [(k, r) for k, r, _, _ in rows])


def _commit_unchanged(
    conn: sqlite3.Connection,
    session_id: str,
    cas: tuple[Any, ...],
    rows: list[tuple[str, bytes]],
) -> int | None:
    """``commit_if_unchanged``'s writes: the conditional meta ``UPDATE`` (``cas``: its
    parameters, the new version first), then the rows. None, and nothing written, when the
    session is not in the expected state. Several rows need the caller's write transaction; one
    row is one statement, which outside a transaction is its own."""
    new: int = cas[0]
    if len(rows) == 1:  # the common case, one statement (see _COMMIT_ONE_OBJECTS)
        before = conn.total_changes
        try:
            conn.execute(_COMMIT_ONE, (*cas, *rows[0]))
        except sqlite3.IntegrityError as exc:
            raise _journal_taken(session_id, new, exc) from exc
        return new if conn.total_changes != before else None
    if not conn.execute(_CAS_META_UNCHANGED, cas).rowcount:
        return None
    _write_rows(conn, session_id, rows, new, journal=True)
    return new


def next_version(session_id: str, version: int) -> int:
    """The version a commit onto ``version`` makes; ``BackendError`` past ``MAX_VERSION``."""
    if version >= MAX_VERSION:
        raise BackendError(
            f"session {session_id!r} is at version {version}, the last one this file format "
            "numbers: copy its state to a new session (replace_state keeps the version)"
        )
    return version + 1


def _commit_rows(
    conn: sqlite3.Connection,
    session_id: str,
    expected_version: int,
    rows: list[tuple[str, bytes]],
    stored_digest: int,
    *,
    replace: bool = False,
) -> int | None:
    """A commit's writes inside the caller's write transaction: the compare-and-set as the meta
    ``UPDATE`` itself (one statement, no read first; a new session's meta row made at version
    0), then the rows. None, and nothing written, when another writer moved the session."""
    new = next_version(session_id, expected_version)
    moved = conn.execute(
        _CAS_META_REPLACE if replace else _CAS_META,
        (new, stored_digest, session_id, expected_version),
    ).rowcount
    if moved == 0:
        meta = (session_id, new, stored_digest, new if replace else 0)
        if expected_version != 0 or conn.execute(_CREATE_META, meta).rowcount != 1:
            return None
    if replace:
        conn.execute("DELETE FROM items WHERE session = ?", (session_id,))
    _write_rows(conn, session_id, rows, new, journal=not replace)
    return new


def _store_info_exists(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_info'"
        ).fetchone()
        is not None
    )


def _parse_incarnation(session_id: str, found: Mapping[str, object]) -> Incarnation:
    """An ``Incarnation`` from the store_info rows read for ``session_id``."""
    deletions = str(found.get(f"deletions:{session_id}", 0))
    if not deletions.isdigit():
        raise CorruptedMemoryError(f"the deletion count of {session_id!r} is {deletions!r}")
    return Incarnation(
        _text_cell(found.get("incarnation", ""), "the store incarnation"), int(deletions)
    )


def _ensure_store_info(conn: sqlite3.Connection) -> None:
    """The table of store-wide facts (the incarnation id, deletion counts), added to older files
    when first needed (inside the caller's write transaction)."""
    conn.execute("CREATE TABLE IF NOT EXISTS store_info (name TEXT PRIMARY KEY, value NOT NULL)")


def _make_incarnation(conn: sqlite3.Connection) -> None:
    """The file's incarnation id, a random one, unless it has one (inside the caller's write
    transaction)."""
    _ensure_store_info(conn)
    conn.execute(
        "INSERT INTO store_info (name, value) VALUES ('incarnation', ?) "
        "ON CONFLICT (name) DO NOTHING",
        (os.urandom(16).hex(),),
    )


def _new_incarnation(conn: sqlite3.Connection) -> None:
    """Give the file a new incarnation id (inside the caller's write transaction): it was found
    in place of the file a connection had open, so it may lack what replicas merged."""
    _ensure_store_info(conn)
    conn.execute(
        "INSERT INTO store_info (name, value) VALUES ('incarnation', ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (os.urandom(16).hex(),),
    )


def _records(session_id: str, rows: list[tuple[object, object]]) -> dict[str, bytes]:
    records = dict(rows)
    if set(map(type, records)) <= {str} and set(map(type, records.values())) <= {bytes}:
        return records  # type: ignore[return-value]  # the common case: no call per row
    what = f"session {session_id!r}"
    return {
        _text_cell(k, f"a key of {what}"): _blob_cell(r, f"the record of key {k!r} of {what}")
        for k, r in rows
    }


def _busy_error(exc: BackendError) -> bool:
    """Whether a wrapped SQLite error only means that another connection holds the lock."""
    cause = exc.__cause__
    if not isinstance(cause, sqlite3.OperationalError):
        return False
    text = str(cause)
    return "locked" in text or "busy" in text


def _create_private(path: Path) -> None:
    """Make the database's missing folders 0700 and a new database file 0600, whatever the
    umask (SQLite gives its ``-wal`` and ``-shm`` files the database file's mode)."""
    missing = []
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another process made it first
        os.chmod(new, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
