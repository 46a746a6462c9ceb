"""Recovery of corrupted sessions; also the home of the backup and verification API.

Every stored item and journal entry is a checksummed record, and a store keeps, beside the items,
the digest of the live state (``live_digest``) written by the replica that committed it. That
gives three independent witnesses of a session: its items, its journal and the kept digest, plus
any backups (:mod:`memcore.backups`). Recovery rebuilds the state from backups and the journal
and trusts a rebuilt state only when it matches the kept digest; it writes with compare-and-set
(``Store.replace_state``), so it never overwrites a commit it did not see, and it writes nothing
at all unless the new state checks out. After writing it reads the session back and checks it
again (and asks the storage engine to check itself) before it reports success. A session it
cannot repair is left exactly as it was.

A damaged journal entry whose key's stored record passes its own checksum does not end a
replay: that record is the key's last write, so it stands in for the entry, and the state so
rebuilt is trusted only when it gives the kept digest (an item and its own last journal entry
both damaged still leave nothing to go by). A Redis journal entry that is no entry at all, or
an SQLite journal row no read can take, is moved aside by the store's ``repair_cells``, a marker
in its place whose key is unknown: it is crossed only when the store's own versions (the Redis
index, the SQLite item rows) name a readable last change for every damaged key
(:mod:`memcore.stores.redis_journal_aside`, :mod:`memcore.stores.sqlite_journal_aside`,
:func:`memcore.recovery_plan._bridged`).

Once the journal was compacted (``create_backup(..., compact_journal=True)``) a replay forward
is only complete from a backup at or above the journal floor: recovery never replays from a
backup below it, and a rebuild from the journal alone is impossible.

A kept digest that is itself damaged (it fails its own check, a whole number below 2**64, and
the store's repair of unreadable cells clears it; or it is gone) has nothing to match: the
session's records are kept, and their digest written again, when every one passes its own
checksum and a backup plus the journal since it (or the whole journal) give exactly them. A
digest that passes its check is trusted over records it disagrees with, as before.

``create_backup`` lives in :mod:`memcore.backups`, ``verify_session`` / ``verify_store`` in
:mod:`memcore.verification`, the rule for records no replica can take in
:mod:`memcore.quarantine`; all are importable from here too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from memcore.backups import (
    BACKUP_FORMAT,
    DEFAULT_KEEP,
    StoreArg,
    create_backup,
    opened_store,
)
from memcore.codec import entry_hash
from memcore.errors import CorruptedMemoryError, ValidationError
from memcore.hlc import HybridLogicalClock
from memcore.model import RecoveryResult
from memcore.quarantine import Decoded, decode_records, digest_of, digest_ok
from memcore.recovery_history import tidy_history
from memcore.recovery_plan import plan
from memcore.recovery_steps import (
    GO_ON,
    confirm,
    engine_check,
    repair_versions,
    result,
    unchanged,
)
from memcore.stores.base import (
    Entry,
    Snapshot,
    Store,
    encode_entry,
    validate_session_id,
)
from memcore.verification import (
    SessionHealth,
    StoreHealth,
    VersionReporting,
    verify_session,
    verify_store,
)

# How often recovery re-reads the session when a commit lands between its read and its write.
MAX_ATTEMPTS = 5
# The writer named in the tombstones that quarantine records no replica can take.
QUARANTINE_REPLICA = "memcore-recovery"


async def arecover_corrupted_memory(session_id: str, store: StoreArg = None) -> RecoveryResult:
    """Check a session against its kept digest and repair it if it does not match.

    Steps: if every record decodes and the digest matches, nothing is done. Otherwise the newest
    backup that decodes and checks out (backups with a flipped byte are skipped) is taken as a
    base and the journal entries past its version are replayed; if no backup leads to the kept
    digest, the state is rebuilt from the whole journal (from version 0; only while it was
    never compacted; backups below the journal floor are never a base). A corrupted journal
    entry stops a replay before its version, and a replay stopped that way is not used. The
    first rebuilt state that matches the kept digest is written with ``replace_state``
    (compare-and-set on the version read; if a commit landed meanwhile, start over, up to
    ``MAX_ATTEMPTS`` times). Nothing is written unless a state checks out, and success is only
    reported once the session, read back, holds exactly what was written and matches its
    digest, and the storage engine's own check passes (SQLite: ``quick_check`` and
    ``integrity_check``; a damaged index is rebuilt with ``REINDEX`` first, since it can make a
    write land beside the row it should replace).

    On SQLite, cells that hold what memcore never writes there (a version that is no number,
    a record that is no blob: another program or a hand edit) are repaired first, so the
    session can be read at all: an unreadable item row is moved to the ``damaged_items`` table
    as it was (its item then comes back from the backups and journal like any other damage),
    an unreadable journal row to ``damaged_commits`` (a marker in its place), meta cells are
    set from the session's own rows (:mod:`memcore.stores.sqlite_cells`).

    Records that decode but that no replica can take (see :mod:`memcore.quarantine`) are
    quarantined: when they are the only damage and the rest of the state checks out, each is
    replaced by a tombstone (one commit, so the journal keeps the original for inspection).

    Result fields:

    * ``success``: the session's state now checks out (it already did, or was repaired).
    * ``updates_applied``: journal entries replayed into the state that was written (0 when
      nothing was written).
    * ``rebuild_required``: True when no backup could serve as the base, so the state had to
      be rebuilt from the journal alone: with ``success`` that rebuild was done and written;
      without it, the session is corrupted and could not be rebuilt from what is stored (it is
      left untouched). False when the state was fine, was restored from a backup, or when
      recovery gave up only because the session kept changing underneath it. Once the journal
      was compacted (``create_backup(..., compact_journal=True)``) a journal-only rebuild is
      impossible: with no intact backup at or above the journal floor, recovery fails with
      ``rebuild_required`` True and a message that says the journal was compacted.

    ``store``: a URL (opened and closed here) or an open store (left open); None means the
    default store. Bad session ids raise ``ValidationError``; backend faults raise
    ``BackendError``; a URL that names no store ``NotFoundError`` (a mistyped path was made,
    folders and file, and its session reported intact). A session never written is intact.
    """
    validate_session_id(session_id)
    async with opened_store(store, create=False) as opened:
        repaired: list[str] = []  # (said by every attempt's result: done once, before them)
        repair_cells = getattr(opened, "repair_cells", None)  # (cells no read can take)
        if repair_cells is not None:
            repaired = await repair_cells(session_id)
        for _ in range(MAX_ATTEMPTS):
            result = await _recover_once(opened, session_id, repaired)
            if result is not None:
                return result
        return RecoveryResult(
            success=False,
            message=(
                f"session {session_id!r} kept changing during recovery ({MAX_ATTEMPTS} "
                "attempts); nothing was written, run recovery again"
            ),
            updates_applied=0,
            rebuild_required=False,
        )


async def _recover_once(
    store: Store, session_id: str, repaired: list[str]
) -> RecoveryResult | None:
    """One attempt (``repaired``: what the repair of unreadable cells did before it); None when
    the compare-and-set write lost to a concurrent commit."""
    fixed = list(repaired)
    if isinstance(store, VersionReporting):
        versions = await repair_versions(store, session_id, fixed)
        if versions is not GO_ON:
            return versions  # type: ignore[return-value]  # a failure, or None: lost a race
    snapshot = await store.read_snapshot(session_id)
    decoded = decode_records(snapshot.records)
    if digest_ok(decoded, snapshot.version, snapshot.digest):
        live = sum(1 for e in decoded.entries.values() if not e.deleted)
        fixed += await tidy_history(store, session_id)  # (what ``verify --deep`` names)
        if fixed:
            return result(
                True,
                f"session {session_id!r}: {'; '.join(fixed)}; read back and verified "
                f"({live} items, now version {snapshot.version})",
            )
        return result(
            True,
            f"session {session_id!r} is intact ({live} items, version {snapshot.version}); "
            "nothing to do",
        )
    if decoded.refused and set(decoded.refused) == set(decoded.bad):
        quarantined = await _quarantine(store, session_id, snapshot, decoded)
        if quarantined is not None or _refused_digest_ok(decoded, snapshot.digest) is not False:
            return quarantined
    if decoded.bad:
        keys = ", ".join(repr(k) for k in sorted(decoded.bad))
        damage = f"{len(decoded.bad)} corrupted record(s) ({keys})"
    elif snapshot.digest is None:
        damage = "no valid digest is stored (it was lost, or cleared as damaged)"
    else:
        damage = "records do not match the stored digest"
    damage = "; ".join((*fixed, damage))
    # (with no stored digest, records that all decode and a backup + the journal since it, or
    # the whole journal, can still agree: two witnesses, see ``recovery_plan.plan``; corrupted
    # records with no digest have none to go by)
    if snapshot.digest is None and decoded.bad:
        return result(
            False,
            f"session {session_id!r}: {damage}, and no stored digest to validate a rebuilt "
            f"state against; {unchanged(fixed)}",
            rebuild_required=True,
        )
    engine = await engine_check(store)
    if engine is not None:
        return result(False, f"session {session_id!r}: {damage}; {engine}; {unchanged(fixed)}")
    notes: list[str] = []
    candidate = await plan(
        store, session_id, snapshot.version, snapshot.digest, snapshot.records, notes
    )
    if candidate is None:
        return result(
            False,
            f"session {session_id!r}: {damage}; no backup or journal rebuild matches the "
            f"stored digest ({'; '.join(notes)}); {unchanged(fixed)}",
            rebuild_required=True,
        )
    digest = snapshot.digest if candidate.digest is None else candidate.digest
    if digest is None:  # (nothing to write it with: an empty state and no digest stored)
        return result(False, f"session {session_id!r}: {damage}; nothing to rebuild it from")
    try:
        written = await store.replace_state(session_id, snapshot.version, candidate.records, digest)
    except CorruptedMemoryError as exc:
        return result(False, f"session {session_id!r}: {damage}; writing the repair failed: {exc}")
    if written is None:
        return None
    problem = await confirm(store, session_id, written, candidate.records, digest)
    if problem is not None:
        return result(
            False,
            f"session {session_id!r}: {damage}; wrote {candidate.source} as version {written}, "
            f"but {problem}: the store is damaged beneath memcore (restore its file or server "
            "from a copy)",
        )
    skipped = f" (skipped: {'; '.join(notes)})" if notes else ""
    return RecoveryResult(
        success=True,
        message=(
            f"session {session_id!r}: {damage}; restored from {candidate.source}, read back "
            f"and verified, now version {written}{skipped}"
        ),
        updates_applied=candidate.replayed,
        rebuild_required=candidate.rebuilt,
    )


# --- quarantine: records no replica can take --------------------------------------------------


def _refused_digest_ok(decoded: Decoded, stored: int | None) -> bool | None:
    """Whether the state, without its refused records (committed by a replica that set them
    aside) or with them (by their writer), gives the stored digest; None when a refused record
    has no digest (a value nested too deep) and the rest alone does not match."""
    if stored is not None and digest_of(decoded.hashes) == stored:
        return True
    hashes = dict(decoded.hashes)
    for key, entry in decoded.refused.items():
        if not entry.deleted:
            try:
                hashes[key] = entry_hash(key, entry.value)
            except ValidationError:
                return None
    return stored is not None and digest_of(hashes) == stored


async def _quarantine(
    store: Store, session_id: str, snapshot: Snapshot, decoded: Decoded
) -> RecoveryResult | None:
    """Replace each refused record with a tombstone in one commit, when the rest of the state
    checks out (with the refused records, against the stored digest; or, for a value no digest
    can take, on its own). None when the commit lost a race, or when the rest does not check
    out (the caller then tries a repair from backups and the journal)."""
    if _refused_digest_ok(decoded, snapshot.digest) is False:
        return None
    stamp = HybridLogicalClock().now()
    tombstones = {
        key: encode_entry(Entry(None, stamp, QUARANTINE_REPLICA, True)) for key in decoded.refused
    }
    digest = digest_of(decoded.hashes)
    written = await store.commit(session_id, snapshot.version, tombstones, digest)
    if written is None:
        return None
    expected = {**snapshot.records, **tombstones}
    problem = await confirm(store, session_id, written, expected, digest)
    reasons = "; ".join(decoded.bad[key] for key in sorted(decoded.refused))
    if problem is not None:
        return result(
            False, f"session {session_id!r}: quarantining failed at version {written}: {problem}"
        )
    return result(
        True,
        f"session {session_id!r}: quarantined {len(tombstones)} record(s) no replica can take "
        f"({reasons}): each is now a tombstone (version {written}; the journal keeps the "
        "original), read back and verified",
    )


def recover_corrupted_memory(session_id: str, store: StoreArg = None) -> RecoveryResult:
    """Synchronous ``arecover_corrupted_memory`` (see there for what it does and returns).

    Runs the work with ``asyncio.run``; called from a thread whose event loop is running, it
    runs it on a worker thread with its own loop (blocking the caller until done). In that case
    pass a URL rather than a store bound to the running loop, or await
    ``arecover_corrupted_memory`` instead.
    """
    validate_session_id(session_id)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arecover_corrupted_memory(session_id, store))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="memcore-recover") as pool:
        return pool.submit(asyncio.run, arecover_corrupted_memory(session_id, store)).result()


__all__ = [
    "BACKUP_FORMAT",
    "DEFAULT_KEEP",
    "MAX_ATTEMPTS",
    "SessionHealth",
    "StoreHealth",
    "arecover_corrupted_memory",
    "create_backup",
    "recover_corrupted_memory",
    "verify_session",
    "verify_store",
]
