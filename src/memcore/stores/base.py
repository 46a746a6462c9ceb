"""The Store protocol every backend implements, and the records it keeps.

A store holds, per session:

* ``items``: key -> the latest encoded entry for that key, tagged with the session version that
  last changed it (what a store finds a delta by, in an index of items by version or through the
  journal, so that a sync costs what changed, not the session's size);
* ``journal``: an append-only list of ``(version, key, entry)``, the recovery journal, whose
  oldest entries may be dropped by ``truncate_journal`` (compaction, once backups cover them);
* ``meta``: the session version (bumped once per commit), the digest of the live state
  (``StateDigest`` of the non-deleted values) written by the committing replica, the version of
  the last ``replace_state`` (``replaced_at``: a replica that merged less than it knows a delta
  is the whole session) and the journal floor (the highest version ``truncate_journal`` dropped);
* ``backups``: compressed snapshots tagged with the version they hold.

A store never interprets entries: they are opaque checksummed records (see ``encode_entry``).
Commits are compare-and-set on the session version, so no lock is held across a round trip.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeGuard, runtime_checkable

from memcore._kernels import records as _records
from memcore.codec import StateDigest
from memcore.errors import ValidationError
from memcore.lazy_re import lazy_compile

# Session ids and keys end up inside Redis key names and SQLite rows: a strict alphabet means no
# input can name another session's keys (no ':' in session ids, no glob characters anywhere).
_SESSION_RE = lazy_compile(r"[A-Za-z0-9._@-][A-Za-z0-9._@+=-]{0,199}")
MAX_KEY_BYTES = 1024
_CONTROL_RE = lazy_compile(r"[\x00-\x1f\x7f]")
#: The C1 controls (``\x9b`` is CSI to some terminals): refused in the keys a replica writes,
#: still read in the keys stored before they were (an older memcore's backups and journal).
_C1_RE = lazy_compile(r"[\x80-\x9f]")


def validate_session_id(session_id: object) -> str:
    """Return ``session_id`` if it is a safe session name, else raise ``ValidationError``."""
    if not isinstance(session_id, str) or not _SESSION_RE.fullmatch(session_id):
        raise ValidationError(
            f"invalid session id {shown_session_id(session_id)}: use 1-200 characters from "
            "ASCII letters, digits and . _ @ - + = (not starting with + or =)"
        )
    return session_id


def shown_session_id(session_id: object, width: int = 40) -> str:
    """An invalid session id as a message shows it: quoted, cut to its first ``width``
    characters when longer (a 300-character id, a whole pasted line, filled the message)."""
    if isinstance(session_id, str) and len(session_id) > width:
        return f"{session_id[:width]!r}... ({len(session_id)} characters)"
    shown = repr(session_id)
    return shown if len(shown) <= 2 * width else f"{shown[: 2 * width]}..."


def session_by_prefix(prefix: str, sessions: Sequence[str]) -> str | None:
    """The one session of ``sessions`` whose id starts with ``prefix`` (``847ff7d2`` for a Claude
    Code session's uuid), None when none does; ``ValidationError`` when several do."""
    matches = [s for s in sessions if s.startswith(prefix)]
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (
            f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        )
        raise ValidationError(
            f"{prefix!r} starts the ids of {len(matches)} sessions ({shown}): give more of it"
        )
    return matches[0] if matches else None


def validate_key(key: object) -> str:
    """Return ``key`` if it is a usable item key, else raise ``ValidationError``."""
    if not isinstance(key, str) or not key:
        raise ValidationError(f"invalid key {key!r}: keys are non-empty strings")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValidationError(f"invalid key {key!r}: not encodable as UTF-8") from exc
    if size > MAX_KEY_BYTES:
        raise ValidationError(f"key too long ({size} bytes of UTF-8, at most {MAX_KEY_BYTES})")
    if _CONTROL_RE.search(key):
        raise ValidationError(f"invalid key {key!r}: control characters are not allowed")
    return key


def validate_new_key(key: object) -> str:
    """``validate_key``, and no C1 control either: a key written from now on."""
    checked = validate_key(key)
    if _C1_RE.search(checked):
        raise ValidationError(f"invalid key {checked!r}: control characters are not allowed")
    return checked


#: A backup a store lists apart as unusable (a row, a record no read can take): its id (None
#: when that is no integer) and what is wrong (``readable_backups``).
UnusableBackup = tuple[int | None, str]


# --- entries: what a key holds ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One key's value as written by one replica at one hybrid-logical-clock stamp.

    ``deleted`` marks a tombstone (``value`` is then None): deletions must travel through sync
    like writes, or a replica that missed them would resurrect the key.
    """

    value: Any
    stamp: int
    replica: str
    deleted: bool = False


def encode_entry(entry: Entry) -> bytes:
    """A checksummed record (see ``memcore.codec.encode_record``) of the msgpack map
    ``{"v": value, "t": stamp, "r": replica, "d": deleted}``; the ``records`` kernel writes it."""
    return _records.encode_entry(entry.value, entry.stamp, entry.replica, entry.deleted)


def decode_entry(data: bytes | bytearray | memoryview) -> Entry:
    """Check and decode a record written by ``encode_entry``; ``CorruptedMemoryError`` if bad."""
    return Entry(*_records.decode_entry(data))


def live_digest(entries: Mapping[str, Entry]) -> int:
    """The digest a store keeps for a state: ``StateDigest`` over the non-deleted values."""
    digest = StateDigest()
    for key, entry in entries.items():
        if not entry.deleted:
            digest.add(key, entry.value)
    return digest.value


# --- what stores return ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delta:
    """Keys changed after some version: their latest encoded entries, the current version, and,
    read in the same atomic read, the kept digest of that version (None if never written) and
    the version of the last ``replace_state`` (0 if none).

    When ``replaced_at`` is above the version the delta was read from, the delta holds every key
    of the session (a replacement tags all surviving keys with its version): a reader can treat
    it as the whole state and drop whatever else it held. ``digest`` lets a reader with nothing
    pending check that it now holds exactly the stored state.
    """

    version: int
    records: dict[str, bytes]
    digest: int | None = None
    replaced_at: int = 0
    # the store's incarnation, read in the same request by stores that can (Redis): saves the
    # sync's ``incarnation()`` round trip (None: ask ``incarnation()``); not part of equality
    incarnation: Incarnation | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A whole session as stored: every key's encoded entry, the version and the kept digest."""

    version: int
    records: dict[str, bytes]
    digest: int | None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    version: int
    key: str
    record: bytes


#: The key of a journal entry recovery left where an unreadable one was moved aside (no item has
#: it: keys are never empty): a commit of its version lost what it wrote, keys unknown
#: (``memcore.stores.redis_journal_aside``, ``memcore.stores.sqlite_journal_aside``).
MOVED_ASIDE = ""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    backup_id: int  # increasing per session; the newest backup has the largest id
    version: int
    created_at: float  # seconds since the epoch
    size: int


@dataclass(frozen=True, slots=True)
class Incarnation:
    """Which life of a store, and of one session in it, a replica is talking to.

    ``store`` is a random id the store writes when it is created (SQLite: one per file; Redis: one
    per session, in the session's hash slot, made once the session exists, so a node that lost
    its slots shows new ones; "" while there is none yet): a store that lost its data (a Redis
    server restarted without persistence or flushed, a database file deleted) comes back with
    another one. ``deletions`` counts ``delete_session`` calls on the session, so a replica
    tells a deliberate deletion (drop its copies) from a loss (heal the store from its copies).
    A session whose version went down with neither changed went back in time (an SQLite file
    replaced by an older copy). See ``memcore.store_health``.
    """

    store: str
    deletions: int = 0


@dataclass(frozen=True, slots=True)
class Expected:
    """The exact state of a session a replica last saw in the store: the version it merged, the
    digest the store kept at that version and the store's incarnation. A commit conditioned on
    all three (``CommitsIfUnchanged``) lands only if nothing changed remotely since, not even a
    loss or a rollback of the store (see ``memcore.store_health``)."""

    version: int
    digest: int
    incarnation: Incarnation


@runtime_checkable
class Store(Protocol):
    """What ``DistributedMemoryManager``, recovery and the CLI need from a backend.

    Every method validates its session id and keys and raises ``ValidationError`` on bad ones,
    ``BackendError`` (with the cause chained) when the backend cannot be reached or times out.
    """

    url: str

    async def version(self, session_id: str) -> int:
        """The session's current version; 0 for a session never written."""
        ...

    async def incarnation(self, session_id: str) -> Incarnation:
        """The store's incarnation id (written now if the store has none yet) and how many
        times ``session_id`` was deleted (see ``Incarnation``)."""
        ...

    async def read_changes(self, session_id: str, since_version: int) -> Delta:
        """Latest records of the keys changed at versions above ``since_version``."""
        ...

    async def read_snapshot(self, session_id: str) -> Snapshot:
        """Every key's record, the version and the stored digest (None if never written)."""
        ...

    async def commit(
        self,
        session_id: str,
        expected_version: int,
        records: Mapping[str, bytes],
        digest: int,
    ) -> int | None:
        """Compare-and-set: if the session is still at ``expected_version``, write ``records``
        (to items and journal) and ``digest`` as version ``expected_version + 1`` in one
        transaction and return the new version; return None, writing nothing, if it moved."""
        ...

    async def replace_state(
        self,
        session_id: str,
        expected_version: int,
        records: Mapping[str, bytes],
        digest: int,
    ) -> int | None:
        """Compare-and-set like ``commit``, but the session's items become exactly ``records``
        (keys absent from it are dropped), all tagged with the new version so every replica
        refetches them. The journal is left as it is. The new version is recorded as the
        session's ``replaced_at`` (see ``Delta``). Used by recovery."""
        ...

    async def read_journal(self, session_id: str, since_version: int = 0) -> list[JournalEntry]:
        """Journal entries with versions above ``since_version``, oldest first (entries at or
        below ``journal_floor`` may have been dropped by ``truncate_journal``)."""
        ...

    async def truncate_journal(self, session_id: str, through_version: int) -> int:
        """Atomically drop the journal entries with versions up to ``through_version`` and
        return how many were dropped. The floor only rises: it becomes ``min(through_version,
        current version)`` when that is above the old floor (entries of later commits are never
        dropped in advance), else nothing changes and 0 is returned."""
        ...

    async def journal_floor(self, session_id: str) -> int:
        """The highest version whose journal entries were dropped (0: the journal is whole).
        Entries above it are all kept, so a replay forward is complete from any base at or
        above the floor. Read it after ``read_journal`` to know how far that read is whole."""
        ...

    async def put_backup(self, session_id: str, version: int, blob: bytes) -> BackupInfo: ...

    async def list_backups(self, session_id: str) -> list[BackupInfo]:
        """Backups of the session, newest first."""
        ...

    async def get_backup(self, session_id: str, backup_id: int) -> bytes:
        """The backup's bytes; ``NotFoundError`` if there is no such backup."""
        ...

    async def delete_backup(self, session_id: str, backup_id: int) -> None: ...

    async def list_sessions(self) -> list[str]: ...

    async def delete_session(self, session_id: str) -> None:
        """Drop a session's items, journal, meta and backups."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Store: ...

    async def __aexit__(self, *exc: object) -> None: ...


#: The members of ``Store`` a duck-typed store must answer (its methods and ``url``).
_STORE_METHODS = tuple(n for n, v in vars(Store).items() if callable(v) and not n.startswith("_"))


def is_store(obj: object) -> TypeGuard[Store]:
    """Whether ``obj`` serves as a ``Store``: an instance of the protocol, or an object that
    answers each of its methods and ``url`` through attribute lookup (a wrapper forwarding
    unknown attributes to a store). Since Python 3.12, ``isinstance`` of a runtime protocol
    looks members up statically and no longer sees forwarded ones: the same wrapper must be
    a store on every version."""
    if isinstance(obj, Store):
        return True
    if isinstance(obj, (str, bytes)) or not isinstance(getattr(obj, "url", None), str):
        return False
    return all(callable(getattr(obj, name, None)) for name in _STORE_METHODS)


@runtime_checkable
class SelfChecking(Protocol):
    """A store whose engine can check its own files (SQLite): recovery runs the check before it
    repairs and again before it reports success, since a damaged index can make a write land
    beside the row it should replace."""

    async def integrity_problems(self) -> list[str]:
        """What the engine's own consistency check reports (empty: nothing wrong)."""
        ...

    async def rebuild_indexes(self) -> None:
        """Rebuild every index from its table (the table rows are what the store reads)."""
        ...


# After a ``commit`` of a session loses its compare-and-set, ``commit_if_unchanged`` on that
# session fails for this many seconds, for every replica. A replica that commits first is done
# in one transaction; one that lost a race must read, merge and commit, and against a writer
# that commits first in a tight loop that window would nearly always be taken: it would never
# commit. The loser's failed commit marks the session contended in the store, so every writer
# reads first (the fair, pre-commit-first loop) until the contention is over.
CONTENTION_WINDOW = 0.25


@runtime_checkable
class CommitsIfUnchanged(Protocol):
    """A store that can commit conditioned on a session's exact state (memory, SQLite, Redis):
    a sync whose replica knows that state commits first and reads only if that fails. A store
    that has it marks a session contended when a ``commit`` loses its compare-and-set, and
    refuses conditional commits there for ``CONTENTION_WINDOW`` seconds after."""

    async def commit_if_unchanged(
        self,
        session_id: str,
        expected: Expected,
        records: Mapping[str, bytes],
        digest: int,
    ) -> int | None:
        """Like ``commit`` from ``expected.version``, but only if the session is still exactly
        ``expected``: that version, that stored digest, the same store incarnation id and the
        same deletion count, and no ``commit`` lost its race on the session in the last
        ``CONTENTION_WINDOW`` seconds. Otherwise, or when it would have to wait for another
        writer, write nothing and return None (the caller then reads, merges and commits as
        usual)."""
        ...


def commit_if_unchanged_of(store: object) -> CommitsIfUnchanged | None:
    """``store`` when its class implements ``commit_if_unchanged``, else None. Looked up on the
    class, not the object: a wrapper that forwards unknown attributes to a store (and intercepts
    ``commit``) must not have its commits bypassed through the inner store's method."""
    if callable(getattr(type(store), "commit_if_unchanged", None)):
        return store  # type: ignore[return-value]
    return None


@runtime_checkable
class CommitsNow(Protocol):
    """A store that can make a quiet session's conditional commit synchronously, on the
    caller's thread, when nothing needs waiting for (SQLite's inline path): a writer's sync is
    then one transaction (one statement for one key), with no coroutine between it and the
    store."""

    def commit_now(
        self, session_id: str, expected: Expected, records: Mapping[str, bytes], digest: int
    ) -> int | Literal[False] | None:
        """``commit_if_unchanged``, made now: the new version if it landed; None
        when the session is not exactly ``expected`` (nothing written); False when it cannot
        be tried without waiting (for a connection, a turn, a lock): the caller then syncs as
        usual. The arguments are the caller's own replica's, checked when they were written:
        they are not checked again."""
        ...


def commit_now_of(store: object) -> CommitsNow | None:
    """``store`` when its class implements ``commit_now`` (see ``commit_if_unchanged_of``)."""
    if callable(getattr(type(store), "commit_now", None)):
        return store  # type: ignore[return-value]
    return None


# What a sync commits once it has merged a delta: the records and the digest of its state, or
# None for nothing (the read stays a read)
Plan = Callable[[Delta], "tuple[Mapping[str, bytes], int] | None"]
# What a sync commits first if the session is exactly as it expects: that state, the records
# and the digest (see ``CommitsUnderLock``)
First = tuple["Expected", Mapping[str, bytes], int]
# What a sync waiting for the lock does meanwhile: it merges what others committed, and returns
# the version to read from and the ``First`` to try (or None) once the lock is its, and in how
# many seconds to call it again; None when the merge left nothing to commit: the wait is over
CatchUp = Callable[[], Awaitable["tuple[int, First | None, float] | None"]]


@runtime_checkable
class CommitsUnderLock(Protocol):
    """A store whose writers serialize on a lock anyway (SQLite): a sync reads, merges and
    commits holding it, one transaction that cannot lose a race and so needs no retry."""

    async def read_and_commit(
        self,
        session_id: str,
        since_version: int,
        plan: Plan,
        first: First | None = None,
        *,
        catch_up: CatchUp | None = None,
    ) -> tuple[Delta | None, int | None] | None:
        """Take the write lock and, before letting go of it: when ``first`` is given (expected
        state, records, digest), commit those records as ``commit_if_unchanged`` would and
        return ``(None, new version)`` if that landed; otherwise read the changes after
        ``since_version``, call ``plan(delta)`` (synchronously, on the caller's thread) and
        commit what it returns (records and digest) as version ``delta.version + 1``,
        returning the delta and the new version (None when ``plan`` returned None: nothing was
        written). None when this store cannot do it here (the caller then reads and commits as
        usual). Waiting for the lock never blocks the event loop; meanwhile ``catch_up`` may be
        called, any number of times: what it returns replaces ``since_version`` and ``first``.
        An exception from ``plan`` rolls everything back."""
        ...


def read_and_commit_of(store: object) -> CommitsUnderLock | None:
    """``store`` when its class implements ``read_and_commit`` (see
    ``commit_if_unchanged_of`` for why on the class)."""
    if callable(getattr(type(store), "read_and_commit", None)):
        return store  # type: ignore[return-value]
    return None


def validate_expected(expected: object) -> Expected:
    """``ValidationError`` unless ``expected`` is an ``Expected`` of sane values."""
    if not isinstance(expected, Expected) or not isinstance(expected.incarnation, Incarnation):
        raise ValidationError(f"invalid expected state {expected!r}")
    validate_version(expected.version)
    validate_digest(expected.digest)
    return expected


def validate_records(records: Mapping[str, bytes]) -> None:
    """Raise ``ValidationError`` unless ``records`` maps valid keys to bytes."""
    for key, record in records.items():
        validate_key(key)
        if not isinstance(record, (bytes, bytearray)):
            raise ValidationError(f"record for {key!r} must be bytes")


def validate_digest(digest: object) -> int:
    """A state digest is an unsigned 64-bit integer (what ``StateDigest.value`` gives)."""
    if not isinstance(digest, int) or isinstance(digest, bool) or not 0 <= digest < 1 << 64:
        raise ValidationError(f"invalid digest {digest!r}: an unsigned 64-bit integer")
    return digest


def validate_backup_id(backup_id: object) -> int:
    if not isinstance(backup_id, int) or isinstance(backup_id, bool):
        raise ValidationError(f"invalid backup id {backup_id!r}")
    return backup_id


def validate_version(version: object) -> int:
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValidationError(f"invalid version {version!r}")
    return version


def sorted_newest_first(backups: Iterable[BackupInfo]) -> list[BackupInfo]:
    return sorted(backups, key=lambda b: b.backup_id, reverse=True)


__all__ = [
    "CONTENTION_WINDOW",
    "MAX_KEY_BYTES",
    "MOVED_ASIDE",
    "BackupInfo",
    "CatchUp",
    "CommitsIfUnchanged",
    "CommitsNow",
    "CommitsUnderLock",
    "Delta",
    "Entry",
    "Expected",
    "First",
    "Incarnation",
    "JournalEntry",
    "Plan",
    "SelfChecking",
    "Snapshot",
    "Store",
    "UnusableBackup",
    "commit_if_unchanged_of",
    "commit_now_of",
    "decode_entry",
    "encode_entry",
    "is_store",
    "live_digest",
    "read_and_commit_of",
    "shown_session_id",
    "sorted_newest_first",
    "validate_backup_id",
    "validate_digest",
    "validate_expected",
    "validate_key",
    "validate_new_key",
    "validate_records",
    "validate_session_id",
    "validate_version",
]
