"""What one replica watches of a store beside its records: going back in time, and set-aside keys.

A store can lose data without any error: a Redis server restarted without persistence or
flushed, an SQLite file replaced by an older copy. Replicas then hold acknowledged writes the
store no longer has. Before this check, a replica that saw its session "go back" dropped its own
copies, and one that saw the version climb past its own again (other replicas committed into the
emptied store) merged only the keys above its old version, missed the rest for good and
committed a digest of a state nobody stored.

Each replica remembers, per session, the ``Incarnation`` the store reported (a random id the
store writes when it is created, and how many times the session was deleted) and the digest the
store kept at the version it merged last. At every sync it compares:

* another store id: the store lost its data;
* the same store id, another deletion count: the session was deleted on purpose (the replica
  drops what it held, keeping its pending writes, as before);
* the same incarnation but a version below the one merged, or the merged version now with
  another digest: the store went back in time.

When the store lost data or went back in time, the replica *heals* it: every key it holds
becomes pending again (marked ``REPUSH``), it refetches the whole session and merges it; a key
the store still holds in the same record is dropped from the pending set, a key both hold in
different records keeps the later write by HLC order (both were acknowledged: no conflict is
reported), and whatever the store lacks is committed again, bit-identical (same stamp, same
writer). Once every replica has synced, all hold the same state with every acknowledged write
that any of them still held. The event is logged and counted in ``SyncDiagnostics``.

Records a replica cannot take (see :mod:`memcore.quarantine`) are kept here too, so the state
digest can still be checked while they are set aside.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from memcore.codec import StateDigest
from memcore.hlc import is_newer
from memcore.quarantine import SetAside
from memcore.stores.base import Delta, Expected, Incarnation, Store

if TYPE_CHECKING:
    from memcore.sync_merge import Record, SessionReplica

logger = logging.getLogger("memcore.sync")

# The ``pending`` marker of a key held before the store lost it: commit it again unless the
# store holds a later write of it. Real markers are (stamp >= 0, replica) or None.
REPUSH: tuple[int, str] = (-1, "")


class Verdict(NamedTuple):
    """How the store changed under a replica: ``heal`` when it lost data or went back in time
    (re-commit what the store lacks), not ``heal`` when the session was deleted on purpose."""

    heal: bool
    reason: str


@dataclass
class ReplicaWatch:
    """Per replica and session: the store's incarnation and the digest of the version merged
    last, the store-went-back events, and the records set aside."""

    incarnation: Incarnation | None = None
    seen_version: int = 0
    seen_digest: int | None = None
    went_back: int = 0
    last_went_back: str | None = None
    set_aside: dict[str, SetAside] = field(default_factory=dict)

    def saw(self, version: int, digest: int | None) -> None:
        """The store kept ``digest`` at ``version`` (read in a delta, or just committed)."""
        self.seen_version, self.seen_digest = version, digest

    def expected(self, merged_version: int) -> Expected | None:
        """The exact store state a commit-first sync conditions its commit on: the version this
        replica merged, the digest the store kept there and the incarnation it last reported.
        None when this replica cannot vouch for all three (nothing merged yet, no incarnation id
        yet, or the last delta read was not merged): the sync then reads first. A commit on
        this condition fails whenever ``inspect`` would have found something, so going back in
        time is detected exactly as strongly: the read that follows the failure finds it."""
        incarnation, digest = self.incarnation, self.seen_digest
        if (
            merged_version == 0
            or incarnation is None
            or not incarnation.store
            or self.seen_version != merged_version
            or digest is None
        ):
            return None
        return Expected(merged_version, digest, incarnation)

    async def read_changes(
        self, store: Store, session_id: str, since_version: int, merged_version: int
    ) -> tuple[Delta, Verdict | None]:
        """``store.read_changes``, then ``store.incarnation`` unless the delta brought it (read
        after the delta: a store that lost its data before the delta was read shows a new
        id), then ``inspect``."""
        delta = await store.read_changes(session_id, since_version)
        current = delta.incarnation or await store.incarnation(session_id)
        return delta, self.inspect(current, merged_version, delta)

    def inspect(self, current: Incarnation, merged_version: int, delta: Delta) -> Verdict | None:
        """Compare the store's incarnation and ``delta`` with what this replica remembers;
        None when nothing happened. Remembers the new values either way."""
        verdict = self.judge(current, merged_version, delta)
        self.accept(current, delta)
        if verdict is not None and verdict.heal:
            self.went_back += 1
            self.last_went_back = verdict.reason
        return verdict

    def accept(self, current: Incarnation, delta: Delta) -> None:
        """Remember the incarnation and the version and digest a delta reported."""
        self.incarnation = current
        self.seen_version, self.seen_digest = delta.version, delta.digest

    def judge(self, current: Incarnation, merged_version: int, delta: Delta) -> Verdict | None:
        """``inspect``'s verdict, remembering nothing (a sync that reads under the store's write
        lock asks first, and leaves anything unusual to the sync's full loop)."""
        previous = self.incarnation
        if previous is None or not previous.store or merged_version == 0:
            return None  # nothing to compare with (an id not made yet is no id)
        if current.store != previous.store:
            return Verdict(True, "the store lost its data (it has a new incarnation id)")
        if current.deletions != previous.deletions:
            return Verdict(False, "the session was deleted")
        if delta.version < merged_version:
            return Verdict(
                True, f"the session went back from version {merged_version} to {delta.version}"
            )
        if (
            delta.version == self.seen_version
            and None not in (delta.digest, self.seen_digest)
            and delta.digest != self.seen_digest
        ):
            return Verdict(True, f"version {delta.version} now has another digest")
        return None

    def heal(self, session_id: str, session: SessionReplica, verdict: Verdict) -> None:
        """Make every key held here pending again (``REPUSH``): the refetch that follows keeps
        what the store lacks, and the commit puts it back."""
        marked = 0
        for key in session.slots:
            if key not in session.pending:
                session.pending[key] = REPUSH
                marked += 1
        logger.warning(
            "session %r: %s; healing it from this replica: %d held records will be committed "
            "again where the store lacks them",
            session_id,
            verdict.reason,
            marked,
        )

    # --- records set aside ----------------------------------------------------------------

    def note_refused(
        self,
        session_id: str,
        session: SessionReplica,
        taken: Mapping[str, Record],
        refused: Mapping[str, SetAside],
        whole: bool,
    ) -> None:
        """After a delta: forget set-aside keys it brought a takeable record for, add the ones
        it refused (dropping the stale copy this replica held, unless it is pending: that write
        will replace the refused record in the store) and log each refused record once."""
        if whole:
            self.set_aside.clear()
        for key in taken:
            self.set_aside.pop(key, None)
        for key, aside in refused.items():
            old = self.set_aside.get(key)
            self.set_aside[key] = aside
            if key not in session.pending:
                held = session.slots.pop(key, None)
                if held is not None and not held.deleted:
                    session.digest.remove_hash(held.digest_hash)
                if held is not None and session.recall is not None:
                    session.recall.changed(key)
            if old is None or old.record != aside.record:
                logger.warning(
                    "session %r: %s; set aside, the other keys sync on "
                    "(recover_corrupted_memory / `memcore recover` removes it from the store)",
                    session_id,
                    aside.reason,
                )

    def committed(self, keys: Mapping[str, object]) -> None:
        """Keys this replica just committed replaced whatever the store held for them."""
        for key in keys:
            self.set_aside.pop(key, None)

    def digest_agrees(self, local: StateDigest, stored: int) -> bool:
        """Whether this replica's state, with or without the set-aside records, gives the
        stored digest (a replica that set them aside commits the digest of its state without
        them; the writer of a refused record, with it). True when a set-aside record has no
        digest hash: then nothing can be checked."""
        if local.value == stored:
            return True
        if not self.set_aside:
            return False
        if any(aside.digest_hash is None for aside in self.set_aside.values()):
            return True
        combined = local.copy()
        for aside in self.set_aside.values():
            if aside.digest_hash:
                combined.add_hash(aside.digest_hash)
        return combined.value == stored


def repush_winner(local: Record, remote: Record) -> str:
    """A key held before the store lost it and a different record of it in the store: both were
    acknowledged, so the later write by HLC order stays ("local" or "remote")."""
    return (
        "local" if is_newer(local.stamp, local.replica, remote.stamp, remote.replica) else "remote"
    )


__all__ = ["REPUSH", "ReplicaWatch", "Verdict", "repush_winner"]
