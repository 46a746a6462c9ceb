"""Steps of a recovery (:mod:`memcore.recovery`): the repair of a session's versions before its
records, the storage engine's own check, and the read back that a write is confirmed by before
success is said; and how a result says what it left as it was.
"""

from __future__ import annotations

from collections.abc import Mapping

from memcore.errors import CorruptedMemoryError
from memcore.model import RecoveryResult
from memcore.quarantine import decode_records, digest_ok
from memcore.stores.base import SelfChecking, Snapshot, Store
from memcore.verification import VersionReporting


def unchanged(fixed: list[str]) -> str:
    """How a failure says what it left as it was: all of it, or all but what was repaired."""
    return "nothing else was changed" if fixed else "nothing was changed"


# ``repair_versions``: nothing (more) to repair there, go on with the records and digest
GO_ON = object()


async def repair_versions(store: VersionReporting, session_id: str, fixed: list[str]) -> object:
    """Repair the session's versions before its records (``memcore.verification``): journal
    commits stray outside its journal are put back in order (SQLite), then a version below the
    one its items or journal hold is raised to it; records and digest are left as they are,
    so nothing stored is lost. Each repair is a compare-and-set on the version read, and is
    read back. ``GO_ON`` (said in ``fixed``), a failure, or None when a commit came between."""
    version, items, journal, stray = await store.stored_versions(session_id)
    adopt = getattr(store, "adopt_stray_journal", None)
    if stray and adopt is not None:
        adopted = await adopt(session_id, version)
        if not adopted:
            return (
                None
                if await moved(store, session_id, version)
                else result(
                    False,
                    f"session {session_id!r}: {stray} journal commit(s) lie outside its journal "
                    "and cannot be put back (it has no meta row, or its journal was compacted: "
                    "a replica's next sync makes the row again); nothing was changed",
                )
            )
        fixed.append(
            f"{adopted} journal commit(s) left outside its journal when its meta row was lost "
            f"put back as versions 1-{adopted}, the later ones and the version moved up by "
            f"{adopted}"
        )
        version, items, journal, stray = await store.stored_versions(session_id)
    highest = max(items, journal)
    if highest > version:
        if not await store.raise_version(session_id, version, highest):
            return None
        fixed.append(
            f"version {version} was below the highest one its items ({items}) or journal "
            f"({journal}) hold: raised to {highest}"
        )
        version, items, journal, stray = await store.stored_versions(session_id)
    if stray or max(items, journal) > version:
        return result(
            False,
            f"session {session_id!r}: {'; '.join(fixed) or 'its versions are damaged'}, but "
            f"reading it back gives version {version} with items at {items}, journal at "
            f"{journal} and {stray} stray journal commit(s): the store is damaged beneath "
            "memcore",
        )
    return GO_ON


async def moved(store: VersionReporting, session_id: str, version: int) -> bool:
    return (await store.stored_versions(session_id))[0] != version


def result(success: bool, message: str, *, rebuild_required: bool = False) -> RecoveryResult:
    return RecoveryResult(
        success=success, message=message, updates_applied=0, rebuild_required=rebuild_required
    )


async def engine_check(store: Store) -> str | None:
    """Run the storage engine's own check (if it has one); rebuild the indexes when it fails.
    None when the engine is sound (now), else what is still wrong."""
    if not isinstance(store, SelfChecking):
        return None
    problems = await store.integrity_problems()
    if not problems:
        return None
    try:
        await store.rebuild_indexes()
    except CorruptedMemoryError as exc:
        return (
            f"the database file is damaged ({'; '.join(problems[:3])}) and rebuilding its "
            f"indexes failed: {exc}"
        )
    still = await store.integrity_problems()
    if still:
        return f"the database file is damaged beyond its indexes ({'; '.join(still[:3])})"
    return None


async def confirm(
    store: Store, session_id: str, written: int, records: Mapping[str, bytes], digest: int
) -> str | None:
    """Read the session back after a write: None when it holds ``records`` (or, if a commit
    already followed, a state that checks out) and the engine's check passes, else what is
    wrong."""
    again: Snapshot = await store.read_snapshot(session_id)
    if again.version == written and again.records != dict(records):
        lost = sorted(set(records) - set(again.records))
        extra = sorted(set(again.records) - set(records))
        changed = sorted(
            k for k in records if k in again.records and again.records[k] != records[k]
        )
        return (
            f"reading it back gives other records (missing {lost}, unexpected {extra}, "
            f"different {changed})"
        )
    if again.version == written and again.digest != digest:
        return "reading it back gives another digest"
    if again.version != written and not digest_ok(
        decode_records(again.records), again.version, again.digest
    ):
        return f"the session read back at version {again.version} does not verify"
    if isinstance(store, SelfChecking):
        problems = await store.integrity_problems()
        if problems:
            return f"the database check reports {'; '.join(problems[:3])}"
    return None


__all__ = [
    "GO_ON",
    "confirm",
    "engine_check",
    "moved",
    "repair_versions",
    "result",
    "unchanged",
]
