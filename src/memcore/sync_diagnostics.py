"""What ``DistributedMemoryManager.sync_diagnostics`` reports of one replica's syncs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SyncDiagnostics:
    """How one replica's syncs of a session went beyond what ``SyncResult`` says.

    ``refetches``: how many times this replica dropped what it had merged and took the whole
    session again (after a ``replace_state``, a rolled-back or deleted session, or a digest that
    did not match), ``resync_session`` calls excluded; ``last_refetch``: why, the last time.
    ``stored_digest_mismatch``: at the last sync with nothing pending, even the whole refetched
    session did not give the stored digest, i.e. the store's digest disagrees with its records
    (run ``verify_session``); False again once a sync matches.
    ``went_back``: how many times the store lost data or went back in time under this replica
    (``memcore.store_health``: it then healed the store from what it held); ``last_went_back``:
    what happened, the last time. ``set_aside``: keys whose stored record this replica cannot
    take (``memcore.quarantine``), left out while the other keys sync.
    """

    session_id: str
    refetches: int
    last_refetch: str | None
    stored_digest_mismatch: bool
    went_back: int = 0
    last_went_back: str | None = None
    set_aside: tuple[str, ...] = ()


__all__ = ["SyncDiagnostics"]
