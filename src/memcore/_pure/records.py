"""Stored entries to and from their parts: the sync path's record codec (pure-Python twin).

An entry is one key's value as one replica wrote it: a checksummed record (``memcore.codec``'s
record format) whose payload is the msgpack map ``{"v": value, "t": stamp, "r": replica, "d":
deleted}``, values encoded by ``memcore.codec.packb`` (MemoryItems as extension 2). Both twins
read and write exactly those bytes, so stores written before this kernel existed still read.

Once a record's XXH64 matches, its bytes are what a memcore writer produced after validating
them: decoders check only each field's type (cheap), not its content again, and build
``MemoryItem``s with the trusted constructor; priorities come from a table. Everything malformed
raises ``CorruptedMemoryError`` and nothing else.

``Record`` is what a replica keeps per key: the encoded bytes plus what merging needs (stamp,
writer, tombstone flag, and the key's ``entry_hash`` for the incremental state digest).
``read_records`` decodes a whole delta in one call.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import msgpack

from memcore import codec
from memcore._kernels import checksums
from memcore.errors import CorruptedMemoryError, msgpack_error
from memcore.model import MemoryItem, Priority

PRIORITY_BY_NAME: dict[str, Priority] = {p.value: p for p in Priority}
_NAIVE_EPOCH = datetime(1970, 1, 1)
_I64_BE = struct.Struct(">q")
_HEAD = struct.Struct("<2sBI")
_U64 = struct.Struct("<Q")


class Record(NamedTuple):
    """One key as a replica holds it: the stored bytes and what merging needs from them.

    ``digest_hash`` is ``entry_hash(key, value)`` for a live value and 0 for a tombstone (which
    the state digest leaves out).
    """

    data: bytes
    stamp: int
    replica: str
    deleted: bool
    digest_hash: int


def _priority(value: object) -> Priority:
    if isinstance(value, str):
        found = PRIORITY_BY_NAME.get(value)
        if found is None:
            found = PRIORITY_BY_NAME.get(value.lower())
        if found is not None:
            return found
    raise CorruptedMemoryError(f"memory item has an invalid priority {value!r}")


def _item(fields: object) -> MemoryItem:
    if type(fields) is not list or len(fields) != 5:
        raise CorruptedMemoryError("memory item extension is not a 5-field array")
    item_id, content, priority, created_at, metadata = fields
    if type(item_id) is not str or not item_id or type(content) is not str:
        raise CorruptedMemoryError("memory item id or content is not a (non-empty) string")
    if type(created_at) is not datetime or created_at.tzinfo is None:
        raise CorruptedMemoryError("memory item created_at is not an aware timestamp")
    if type(metadata) is not dict or not all(type(k) is str for k in metadata):
        raise CorruptedMemoryError("memory item metadata is not a map with string keys")
    return MemoryItem._trusted(item_id, content, _priority(priority), created_at, metadata)


def _ext_hook(code: int, data: bytes) -> Any:
    if code == codec.EXT_MEMORY_ITEM:
        return _item(_unpack(data))
    if code == codec.EXT_NAIVE_DATETIME:
        if len(data) != 8:
            raise CorruptedMemoryError("naive datetime extension of the wrong size")
        return _NAIVE_EPOCH + timedelta(microseconds=_I64_BE.unpack(data)[0])
    raise CorruptedMemoryError(f"unknown msgpack extension type {code}")


def _unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(
            data, raw=False, strict_map_key=True, ext_hook=_ext_hook, timestamp=3
        )
    except CorruptedMemoryError:
        raise
    except Exception as exc:  # msgpack raises many types (ValueError, StackError, ...)
        raise CorruptedMemoryError(f"malformed msgpack payload: {msgpack_error(exc)}") from exc


def _payload(data: object) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CorruptedMemoryError(f"expected the bytes of a record (got {type(data).__name__})")
    raw = bytes(data)
    if len(raw) < codec.RECORD_OVERHEAD:
        raise CorruptedMemoryError(f"record too short ({len(raw)} bytes)")
    magic, version, length = _HEAD.unpack_from(raw, 0)
    if magic != codec.RECORD_MAGIC:
        raise CorruptedMemoryError("not a memcore record (bad magic)")
    if version != codec.RECORD_VERSION:
        raise CorruptedMemoryError(f"unsupported record version {version}")
    if length != len(raw) - codec.RECORD_OVERHEAD:
        raise CorruptedMemoryError("record length mismatch")
    end = _HEAD.size + length
    if checksums.xxh64(raw[:end]) != _U64.unpack_from(raw, end)[0]:
        raise CorruptedMemoryError("record checksum mismatch")
    return raw[_HEAD.size : end]


def decode_entry(data: bytes | bytearray | memoryview) -> tuple[Any, int, str, bool]:
    """``(value, stamp, replica, deleted)`` of a checked record; ``CorruptedMemoryError`` if bad."""
    raw = _unpack(_payload(data))
    if type(raw) is not dict or len(raw) != 4:
        raise CorruptedMemoryError("record is not a memcore entry")
    try:
        value, stamp, replica, deleted = raw["v"], raw["t"], raw["r"], raw["d"]
    except KeyError:
        raise CorruptedMemoryError("record is not a memcore entry") from None
    if type(stamp) is not int or not 0 <= stamp < 1 << 64:
        raise CorruptedMemoryError("entry stamp is not a 64-bit unsigned integer")
    if type(replica) is not str or type(deleted) is not bool:
        raise CorruptedMemoryError("entry replica or deletion flag has the wrong type")
    if deleted and value is not None:
        raise CorruptedMemoryError("a tombstone carries a value")
    return value, stamp, replica, deleted


def decode_value(data: bytes | bytearray | memoryview) -> Any:
    """The value of a checked record (None for a tombstone)."""
    return decode_entry(data)[0]


def encode_entry(value: Any, stamp: int, replica: str, deleted: bool) -> bytes:
    """The record of one entry; ``ValidationError`` when the value cannot be encoded."""
    return encode_held(value, stamp, replica, deleted)[0]


def encode_held(value: Any, stamp: int, replica: str, deleted: bool) -> tuple[bytes, Any]:
    """``encode_entry`` and the value the record holds: ``value``, or its plain copy when it
    holds subclasses of builtin types (``memcore.plain``), which is what must be hashed."""
    payload, entry = pack_plain({"v": value, "t": stamp, "r": replica, "d": deleted})
    return codec._sealed(payload), entry["v"]


def pack_plain(value: Any) -> tuple[bytes, Any]:
    """``value`` as msgpack (``memcore.codec``'s value format), and the value the bytes hold:
    ``value``, or its plain copy when it holds subclasses of builtin types."""
    return codec._pack_plain_msgpack(value)


def make_record(key: str, value: Any, stamp: int, replica: str, deleted: bool) -> Record:
    """Encode a local write and hash it for the digest (``ValidationError`` if it cannot)."""
    data, held = encode_held(value, stamp, replica, deleted)
    return Record(data, stamp, replica, deleted, 0 if deleted else checksums.entry_hash(key, held))


def read_records(records: Mapping[str, bytes]) -> tuple[dict[str, Record], int]:
    """Decode a delta: each key's ``Record``, and the largest stamp seen (0 if none).

    All or nothing: the first record that does not decode raises ``CorruptedMemoryError``
    naming its key.
    """
    out: dict[str, Record] = {}
    top = 0
    for key, data in records.items():
        try:
            value, stamp, replica, deleted = decode_entry(data)
        except CorruptedMemoryError as exc:
            raise CorruptedMemoryError(
                f"the stored record of key {key!r} is corrupted ({exc})"
            ) from exc
        digest_hash = 0 if deleted else checksums.entry_hash(key, value)
        out[key] = Record(bytes(data), stamp, replica, deleted, digest_hash)
        if stamp > top:
            top = stamp
    return out, top


__all__ = [
    "PRIORITY_BY_NAME",
    "Record",
    "decode_entry",
    "decode_value",
    "encode_entry",
    "encode_held",
    "make_record",
    "read_records",
]
