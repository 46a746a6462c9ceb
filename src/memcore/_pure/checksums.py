"""XXH64 and the canonical, order-independent hash of a memory state (pure-Python twin).

``memcore._native.checksums`` computes the same numbers, bit for bit; this module is the reference
and is what runs when the compiled kernels are not in use.

Canonical encoding (what ``entry_hash`` streams into XXH64, seed 0; constants in
``_checksum_tables``; all integers little-endian; ``u64``/``i64`` are 8 bytes):

* ``None`` -> ``N``; ``True`` -> ``T``; ``False`` -> ``F`` (so ``True != 1``).
* ``int`` in int64 -> ``i`` + i64; larger -> ``I`` + u64 length ``n`` + ``n`` bytes of two's
  complement with ``n = (bit_length + 8) // 8``. ``1`` and ``1.0`` differ (different tags).
* ``float`` -> ``f`` + its IEEE-754 bits; every NaN hashes as one canonical NaN; ``-0.0`` and
  ``0.0`` have different bits and so different hashes.
* ``str`` (and ``str`` subclasses such as ``Priority``, by their text) -> ``s`` + u64 UTF-8 length
  + UTF-8 bytes. Strings holding lone surrogates cannot be UTF-8 and are refused.
* ``bytes``/``bytearray`` -> ``b`` + u64 length + bytes.
* ``list``/``tuple`` -> ``l`` + u64 count + each element (a tuple hashes like the equal list).
* ``dict`` (``str`` keys only) -> ``d`` + its 8-byte digest, the same number ``state_checksum``
  gives that dict, so nesting is order-independent at every level without sorting.
* tz-aware ``datetime`` -> ``t`` + i64 microseconds since the Unix epoch in UTC (equal instants in
  different zones hash alike); naive ``datetime`` -> ``u`` + i64 microseconds as written.
* ``MemoryItem`` -> exactly its ``to_dict()`` (a dict of id, content, priority, created_at,
  metadata), so an item and its plain form have the same checksum.
* Anything else raises ``ValidationError``; containers deeper than ``MAX_DEPTH`` too (a
  self-referencing list ends there instead of crashing).
* Subclasses of these types hash as what they hold, read through the base type (``list``'s own
  iterator, ``dict.items``, ``str.encode``), never through methods they override: the compiled
  twin reads the objects themselves.

``entry_hash(key, value)`` = XXH64(encoding of ``key`` as a str, then of ``value``).

A digest of entries (a state, or a nested dict) keeps ``count``, ``sum`` of the entry hashes mod
2**64 and ``mixed``, the sum of XXH64's avalanche of each entry hash mod 2**64, and finalizes as
XXH64(u64 count, u64 sum, u64 mixed; seed ``DIGEST_SEED``). Addition commutes, so the result does
not depend on insertion order, and :class:`StateDigest` adds or removes one entry in O(1). Removing
an entry that was never added cannot be detected in O(1) (only removing from an empty digest is);
the digest then simply no longer matches any real state. None of this uses Python's ``hash()``:
results are stable across runs, processes and platforms.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from memcore._pure import _checksum_tables as T
from memcore.errors import ValidationError
from memcore.model import MemoryItem
from memcore.plain import exact_datetime as _exact_datetime

_MASK = 0xFFFFFFFFFFFFFFFF
_P1, _P2, _P3, _P4, _P5 = T.PRIME64_1, T.PRIME64_2, T.PRIME64_3, T.PRIME64_4, T.PRIME64_5
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_EPOCH_ORDINAL = T.EPOCH_ORDINAL

_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
_STRIPE = struct.Struct("<4Q")
_DIGEST = struct.Struct("<QQQ")
_ALL = slice(None)


# --- XXH64 --------------------------------------------------------------------------------------


def _check_seed(seed: object) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValidationError(f"xxh64 seed must be an int (got {type(seed).__name__})")
    if not 0 <= seed <= _MASK:
        raise ValidationError(f"xxh64 seed must be in 0..2**64-1 (got {seed})")
    return seed


def _as_bytes_view(data: object) -> memoryview:
    if isinstance(data, str):
        raise ValidationError("xxh64 hashes bytes-like data, not str (encode it first)")
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValidationError(
            f"xxh64 needs a bytes-like object (got {type(data).__name__})"
        ) from exc
    if not view.c_contiguous:
        raise ValidationError("xxh64 needs a C-contiguous buffer")
    if "O" in view.format:
        raise ValidationError("xxh64 cannot hash a buffer of Python objects (their addresses)")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & _MASK
    acc = ((acc << 31) | (acc >> 33)) & _MASK
    return (acc * _P1) & _MASK


def _merge(h: int, acc: int) -> int:
    h ^= _round(0, acc)
    return (h * _P1 + _P4) & _MASK


def _avalanche(h: int) -> int:
    h ^= h >> 33
    h = (h * _P2) & _MASK
    h ^= h >> 29
    h = (h * _P3) & _MASK
    return h ^ (h >> 32)


def _stripes(lanes: list[int], view: memoryview) -> None:
    """Consume whole 32-byte stripes of ``view`` (its length a multiple of 32) into ``lanes``."""
    v1, v2, v3, v4 = lanes
    m, p1, p2 = _MASK, _P1, _P2
    for a, b, c, d in _STRUCT_ITER(view):
        v1 = (v1 + a * p2) & m
        v1 = (((v1 << 31) | (v1 >> 33)) & m) * p1 & m
        v2 = (v2 + b * p2) & m
        v2 = (((v2 << 31) | (v2 >> 33)) & m) * p1 & m
        v3 = (v3 + c * p2) & m
        v3 = (((v3 << 31) | (v3 >> 33)) & m) * p1 & m
        v4 = (v4 + d * p2) & m
        v4 = (((v4 << 31) | (v4 >> 33)) & m) * p1 & m
    lanes[:] = [v1, v2, v3, v4]


_STRUCT_ITER = _STRIPE.iter_unpack


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _MASK


def _finish(
    seed: int, lanes: list[int] | None, total: int, tail: memoryview | bytes | bytearray
) -> int:
    """The XXH64 result from the lanes (``None`` when fewer than 32 bytes), length and tail."""
    if lanes is None:
        h = (seed + _P5) & _MASK
    else:
        v1, v2, v3, v4 = lanes
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _MASK
        for v in lanes:
            h = _merge(h, v)
    h = (h + total) & _MASK
    n = len(tail)
    pos = 0
    while pos + 8 <= n:
        (lane,) = _U64.unpack_from(tail, pos)
        h ^= _round(0, lane)
        h = (_rotl(h, 27) * _P1 + _P4) & _MASK
        pos += 8
    if pos + 4 <= n:
        lane = int.from_bytes(tail[pos : pos + 4], "little")
        h ^= (lane * _P1) & _MASK
        h = (_rotl(h, 23) * _P2 + _P3) & _MASK
        pos += 4
    while pos < n:
        h ^= (tail[pos] * _P5) & _MASK
        h = (_rotl(h, 11) * _P1) & _MASK
        pos += 1
    return _avalanche(h)


def _initial_lanes(seed: int) -> list[int]:
    return [(seed + _P1 + _P2) & _MASK, (seed + _P2) & _MASK, seed, (seed - _P1) & _MASK]


def _xxh64_view(view: memoryview | bytes | bytearray, seed: int) -> int:
    n = len(view)
    if n < 32:
        return _finish(seed, None, n, view)
    lanes = _initial_lanes(seed)
    whole = n - n % 32
    _stripes(lanes, memoryview(view)[:whole])
    return _finish(seed, lanes, n, memoryview(view)[whole:])


def xxh64(data: Any, seed: int = 0) -> int:
    """Standard XXH64 of a bytes-like object (bit-exact with the reference implementation)."""
    return _xxh64_view(_as_bytes_view(data), _check_seed(seed))


class XXH64State:
    """Streaming XXH64: ``update`` with pieces, ``intdigest`` any time (the state is kept)."""

    __slots__ = ("_buffer", "_lanes", "_seed", "_total")

    def __init__(self, seed: int = 0) -> None:
        self._seed = _check_seed(seed)
        self._lanes = _initial_lanes(self._seed)
        self._buffer = bytearray()
        self._total = 0

    def update(self, data: Any) -> None:
        view = _as_bytes_view(data)
        self._total += len(view)
        buffer = self._buffer
        if buffer:
            take = min(32 - len(buffer), len(view))
            buffer += view[:take]
            view = view[take:]
            if len(buffer) < 32:
                return
            _stripes(self._lanes, memoryview(bytes(buffer)))
            buffer.clear()
        whole = len(view) - len(view) % 32
        if whole:
            _stripes(self._lanes, view[:whole])
        buffer += view[whole:]

    def intdigest(self) -> int:
        lanes = self._lanes if self._total >= 32 else None
        return _finish(self._seed, lanes, self._total, bytes(self._buffer))

    def copy(self) -> XXH64State:
        twin = XXH64State(self._seed)
        twin._lanes = list(self._lanes)
        twin._buffer = bytearray(self._buffer)
        twin._total = self._total
        return twin


# --- canonical encoding -------------------------------------------------------------------------


def _utf8(text: str) -> bytes:
    try:  # (str's own encode: a subclass's characters, whatever its ``encode`` says)
        return str.encode(text, "utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            "cannot checksum a str holding lone surrogates (not valid UTF-8)"
        ) from exc


def _put_str(out: bytearray, text: str) -> None:
    raw = _utf8(text)
    out.append(T.TAG_STR)
    out += _U64.pack(len(raw))
    out += raw


def _epoch_micros(moment: datetime, offset: timedelta | None) -> int:
    days = moment.toordinal() - _EPOCH_ORDINAL
    seconds = days * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second
    micros = seconds * 1_000_000 + moment.microsecond
    if offset is not None:
        micros -= (offset.days * 86400 + offset.seconds) * 1_000_000 + offset.microseconds
    return micros


def _encode(value: Any, out: bytearray, depth: int) -> None:
    if value is None:
        out.append(T.TAG_NONE)
    elif value is True:
        out.append(T.TAG_TRUE)
    elif value is False:
        out.append(T.TAG_FALSE)
    elif isinstance(value, str):
        _put_str(out, value)
    elif isinstance(value, int):
        if type(value) is not int:  # (its value, not what its comparisons say)
            value = int.__index__(value)
        if _INT64_MIN <= value <= _INT64_MAX:
            out.append(T.TAG_INT)
            out += _I64.pack(value)
        else:
            size = (value.bit_length() + 8) // 8
            out.append(T.TAG_BIGINT)
            out += _U64.pack(size)
            out += int.to_bytes(value, size, "little", signed=True)
    elif isinstance(value, float):
        out.append(T.TAG_FLOAT)
        if math.isnan(value):
            out += _U64.pack(T.CANONICAL_NAN)
        else:
            out += _F64.pack(value)
    elif isinstance(value, (bytes, bytearray)):
        if type(value) is not bytes and type(value) is not bytearray:  # (its bytes, not what
            value = (  # its ``__len__`` says)
                bytes.__getitem__(value, _ALL)
                if isinstance(value, bytes)
                else bytearray.__getitem__(value, _ALL)
            )
        out.append(T.TAG_BYTES)
        out += _U64.pack(len(value))
        out += value
    elif isinstance(value, (list, tuple)):
        if depth >= T.MAX_DEPTH:
            raise _too_deep()
        if type(value) is not list and type(value) is not tuple:  # (its items, as compiled)
            value = list(list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value))
        out.append(T.TAG_LIST)
        out += _U64.pack(len(value))
        for element in value:
            _encode(element, out, depth + 1)
    elif isinstance(value, dict):
        if depth >= T.MAX_DEPTH:
            raise _too_deep()
        out.append(T.TAG_DICT)
        out += _U64.pack(_dict_digest(value, depth + 1))
    elif isinstance(value, datetime):
        if type(value) is not datetime:  # (its fields, not its methods)
            value = _exact_datetime(value)
        offset = None if value.tzinfo is None else value.utcoffset()
        out.append(T.TAG_NAIVE_DATETIME if offset is None else T.TAG_AWARE_DATETIME)
        out += _I64.pack(_epoch_micros(value, offset))
    elif isinstance(value, MemoryItem):
        if depth >= T.MAX_DEPTH:
            raise _too_deep()
        out.append(T.TAG_DICT)
        out += _U64.pack(_dict_digest(value.to_dict(), depth + 1))
    else:
        raise ValidationError(f"cannot checksum a value of type {type(value).__name__!r}")


def _too_deep() -> ValidationError:
    return ValidationError(
        f"value nested deeper than {T.MAX_DEPTH} levels (a container that holds itself?)"
    )


def _entry_hash(key: object, value: Any, depth: int) -> int:
    if not isinstance(key, str):
        raise ValidationError(f"state and dict keys must be str (got {type(key).__name__})")
    out = bytearray()
    _put_str(out, key)
    _encode(value, out, depth)
    return _xxh64_view(out, 0)


def _mix(entry: int) -> int:
    return _avalanche(entry)


def _finalize(count: int, total: int, mixed: int) -> int:
    return _xxh64_view(_DIGEST.pack(count, total, mixed), T.DIGEST_SEED)


def _dict_digest(mapping: Mapping[Any, Any], depth: int) -> int:
    total = mixed = 0
    # Dicts (and subclasses) by their stored entries, like the compiled twin's PyDict_Next.
    entries = dict.items(mapping) if isinstance(mapping, dict) else mapping.items()
    for key, value in entries:
        entry = _entry_hash(key, value, depth)
        total += entry
        mixed += _mix(entry)
    count = dict.__len__(mapping) if isinstance(mapping, dict) else len(mapping)
    return _finalize(count, total & _MASK, mixed & _MASK)


def entry_hash(key: str, value: Any) -> int:
    """The 64-bit hash of one ``(key, value)`` entry of a state."""
    return _entry_hash(key, value, 0)


def state_checksum(state: Mapping[str, Any]) -> int:
    """Canonical, insertion-order-independent 64-bit checksum of a mapping of items."""
    if not isinstance(state, Mapping):
        raise ValidationError(f"state must be a mapping (got {type(state).__name__})")
    return _dict_digest(state, 0)


class StateDigest:
    """``state_checksum`` kept up to date one entry at a time, in O(1) per ``add``/``remove``.

    ``remove`` must be given an entry that was added (same key and value); a digest cannot tell
    in O(1) that an entry was never added, except when it is empty.
    """

    __slots__ = ("_count", "_mixed", "_total")

    def __init__(self) -> None:
        self._count = 0
        self._total = 0
        self._mixed = 0

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> StateDigest:
        if not isinstance(state, Mapping):
            raise ValidationError(f"state must be a mapping (got {type(state).__name__})")
        digest = cls()
        for key, value in state.items():
            digest.add(key, value)
        return digest

    def add(self, key: str, value: Any) -> None:
        self.add_hash(_entry_hash(key, value, 0))

    def remove(self, key: str, value: Any) -> None:
        self.remove_hash(_entry_hash(key, value, 0))

    def add_hash(self, entry: int) -> None:
        """Add an entry by its ``entry_hash`` (for callers that keep hashes, not values)."""
        entry = _check_entry(entry)
        self._count += 1
        self._total = (self._total + entry) & _MASK
        self._mixed = (self._mixed + _mix(entry)) & _MASK

    def remove_hash(self, entry: int) -> None:
        """Remove an entry by its ``entry_hash``."""
        entry = _check_entry(entry)
        if self._count == 0:
            raise ValidationError("cannot remove an entry from an empty StateDigest")
        self._count -= 1
        self._total = (self._total - entry) & _MASK
        self._mixed = (self._mixed - _mix(entry)) & _MASK

    @property
    def value(self) -> int:
        return _finalize(self._count, self._total, self._mixed)

    @property
    def count(self) -> int:
        return self._count

    def copy(self) -> StateDigest:
        twin = StateDigest()
        twin._count, twin._total, twin._mixed = self._count, self._total, self._mixed
        return twin

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StateDigest):
            return NotImplemented
        return (self._count, self._total, self._mixed) == (other._count, other._total, other._mixed)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"StateDigest(count={self._count}, value=0x{self.value:016x})"


def _check_entry(entry: object) -> int:
    if not isinstance(entry, int) or isinstance(entry, bool) or not 0 <= entry <= _MASK:
        raise ValidationError(f"an entry hash is an int in 0..2**64-1 (got {entry!r})")
    return entry


__all__ = ["StateDigest", "XXH64State", "entry_hash", "state_checksum", "xxh64"]
