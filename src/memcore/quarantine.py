"""Records a replica cannot take: found by verification, set aside by sync, removed by recovery.

A record can pass every check of the record format (length, XXH64, field types) and still be
impossible to merge. Two kinds are known:

* an HLC stamp that leaves the clock no room: a replica observing ``2**64 - 1`` can never stamp
  another write ("HLC stamp space exhausted"), so every sync of that session failed, on every
  replica. Stamps at or above ``TAKEABLE_STAMP_LIMIT`` (wall time past the year 4100, far beyond
  any real clock) are refused. A replica's clock observes stamps only up to
  ``OBSERVED_STAMP_CAP``, 2**48 stamps below that limit, so taking a stamp just under the limit
  can never push this replica's own later writes over it;
* a value nested deeper than the state digest goes (msgpack reads up to 511 levels,
  ``entry_hash`` stops at 256): its digest hash cannot be computed.

The rule depends only on the record, so every replica refuses the same records and they still
converge on everything else. Sync sets such a record aside (the key is reported in
``SyncDiagnostics.set_aside`` and logged) and merges the rest; ``verify_session`` reports it as a
bad record; ``create_backup`` refuses the session naming it (``CorruptedMemoryError``); recovery
replaces it with a tombstone, so the journal keeps the original for inspection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from memcore._kernels import records as _records
from memcore.codec import StateDigest, entry_hash
from memcore.errors import CorruptedMemoryError, ValidationError
from memcore.stores.base import Entry, decode_entry

TAKEABLE_STAMP_LIMIT = 1 << 62
OBSERVED_STAMP_CAP = TAKEABLE_STAMP_LIMIT - (1 << 48)


def _untakeable(key: str, why: str) -> CorruptedMemoryError:
    return CorruptedMemoryError(f"the record of key {key!r} cannot be taken by a replica: {why}")


def _stamp_reason(stamp: int) -> str:
    return f"its HLC stamp {stamp} leaves the clock no room"


def check_stamp(key: str, stamp: int) -> None:
    """``CorruptedMemoryError`` naming ``key`` if ``stamp`` is past ``TAKEABLE_STAMP_LIMIT``."""
    if stamp >= TAKEABLE_STAMP_LIMIT:
        raise _untakeable(key, _stamp_reason(stamp))


def digest_hash(key: str, entry: Entry) -> int:
    """``entry``'s hash in the state digest (0 for a tombstone) once it is known takeable;
    ``CorruptedMemoryError`` naming ``key`` if it is not."""
    check_stamp(key, entry.stamp)
    if entry.deleted:
        return 0
    try:
        return entry_hash(key, entry.value)
    except ValidationError as exc:
        raise _untakeable(key, str(exc)) from exc


# --- the sync side: a delta with the records no replica can take left out ---------------------


class SetAside(NamedTuple):
    """A stored record a replica left out of its state: why, and its digest hash when it has one
    (a refused stamp does; a value nested too deep does not), so the replica can still check
    its state against the stored digest."""

    record: bytes
    reason: str
    digest_hash: int | None


def read_takeable(
    records: Mapping[str, bytes],
) -> tuple[dict[str, _records.Record], int, dict[str, SetAside]]:
    """``records_kernel.read_records`` that sets untakeable records aside instead of failing.

    Returns the takeable records, the largest stamp the clock may observe (capped at
    ``OBSERVED_STAMP_CAP``) and the refused records. A record that does not decode still
    raises ``CorruptedMemoryError`` (the delta is then not applied at all). The fast path is one
    kernel call; records are read one by one only when the delta holds a refused one.
    """
    refused: dict[str, SetAside] = {}
    try:
        incoming, top = _records.read_records(records)
    except ValidationError:  # a value nested too deep for its digest hash: find which
        incoming = {}
        for key, data in records.items():
            try:
                incoming.update(_records.read_records({key: data})[0])
            except ValidationError as exc:
                refused[key] = SetAside(bytes(data), str(_untakeable(key, str(exc))), None)
        top = max((r.stamp for r in incoming.values()), default=0)
    if top >= TAKEABLE_STAMP_LIMIT:
        for key, record in list(incoming.items()):
            if record.stamp >= TAKEABLE_STAMP_LIMIT:
                why = str(_untakeable(key, _stamp_reason(record.stamp)))
                refused[key] = SetAside(record.data, why, record.digest_hash)
                del incoming[key]
        top = max((r.stamp for r in incoming.values()), default=0)
    return incoming, min(top, OBSERVED_STAMP_CAP), refused


# --- the verification side: records decoded one by one -----------------------------------------


class Decoded(NamedTuple):
    """Records decoded one by one: the good entries (with their digest hashes), the keys whose
    record is corrupted and the keys whose record decodes but cannot be taken (``refused``).
    ``bad`` holds both kinds, each with why."""

    entries: dict[str, Entry]
    hashes: dict[str, int]
    bad: dict[str, str]
    refused: dict[str, Entry]

    @property
    def digest(self) -> int | None:
        """The live state's digest, or None when some record is bad."""
        return None if self.bad else digest_of(self.hashes)


def digest_of(hashes: Mapping[str, int]) -> int:
    """``live_digest`` from precomputed hashes (tombstones hash to 0 and are left out)."""
    digest = StateDigest()
    for value in hashes.values():
        if value:
            digest.add_hash(value)
    return digest.value


def decode_records(records: Mapping[str, bytes]) -> Decoded:
    entries: dict[str, Entry] = {}
    hashes: dict[str, int] = {}
    bad: dict[str, str] = {}
    refused: dict[str, Entry] = {}
    for key, record in records.items():
        try:
            entry = decode_entry(record)
        except CorruptedMemoryError as exc:
            bad[key] = str(exc)
            continue
        try:
            hashes[key] = digest_hash(key, entry)
        except CorruptedMemoryError as exc:
            bad[key] = str(exc)
            refused[key] = entry
            continue
        entries[key] = entry
    return Decoded(entries, hashes, bad, refused)


def digest_ok(decoded: Decoded, version: int, stored: int | None) -> bool:
    """Whether decoded records agree with the kept digest (a never-written session has none)."""
    if decoded.bad:
        return False
    if stored is None:
        return version == 0 and not decoded.entries
    return decoded.digest == stored


__all__ = [
    "OBSERVED_STAMP_CAP",
    "TAKEABLE_STAMP_LIMIT",
    "Decoded",
    "SetAside",
    "check_stamp",
    "decode_records",
    "digest_hash",
    "digest_of",
    "digest_ok",
    "read_takeable",
]
