"""memcore's byte formats: msgpack values, checksummed records and bundles (lz4 or zstd frames).

Also the public home of the checksum kernels (``xxh64``, ``state_checksum``, ``StateDigest``,
``entry_hash``), re-exported from whichever twin ``memcore._kernels`` selected. Nothing here ever
pickles; every decoder checks lengths and checksums before trusting a byte and raises
:class:`~memcore.errors.CorruptedMemoryError` (and only that) on bad input.

Values (``packb``/``unpackb``): msgpack (``use_bin_type``; ``raw=False``; map keys str or bytes)
with three extensions:

* tz-aware ``datetime`` -> msgpack's standard Timestamp (ext -1); it decodes as the same instant
  in UTC (the original zone is not kept). One whose UTC time falls outside the years 1-9999
  (year 1 at +14:00) is a ``ValidationError``: no decoder could build it again.
* naive ``datetime`` -> ext 1: i64 big-endian microseconds since 1970-01-01T00:00 as written.
* ``MemoryItem`` -> ext 2: msgpack array ``[id, content, priority, created_at, metadata]``.

Tuples come back as lists (msgpack has one array type; ``state_checksum`` also treats them alike).
A value holding subclasses of builtin types (a ``list`` whose ``__iter__`` says otherwise) is
encoded as its plain copy (:func:`memcore.plain.plain_value`): msgpack's own packer read them by
their overridable methods, and wrote truncated payloads under valid checksums.

Record (one stored item or journal entry), little-endian::

    offset 0   2  magic b"MR"
    offset 2   1  format version (1)
    offset 3   4  u32 payload length n
    offset 7   n  payload: packb(obj)
    offset 7+n 8  u64 XXH64 (seed 0) of bytes [0, 7+n)

Bundle: a *skippable frame* (ignored by every lz4 and zstd decoder: the two formats share that
magic range, so the stock ``lz4 -d`` or ``zstd -d`` turns a bundle file into the msgpack bytes)
holding memcore's header, then one standard lz4 frame (the default) or zstd frame::

    offset 0   4  u32 0x184D2A5D  skippable-frame magic (this exact value)
    offset 4   4  u32 42          skippable-frame content size
    offset 8   4  magic b"MCBN"
    offset 12  2  u16 format version (1)
    offset 14  4  u32 flags (the caller's; memcore does not interpret them)
    offset 18  8  u64 XXH64 (seed 0) of the frame
    offset 26  8  u64 length of the frame
    offset 34  8  u64 length of the msgpack payload once decompressed
    offset 42  8  u64 XXH64 (seed 0) of bytes [8, 42): the header's own checksum
    offset 50     the frame of packb(obj), content size and content checksum on: an lz4 frame
                  (magic 04 22 4D 18) or a zstd frame (magic 28 B5 2F FD); see ``memcore.frames``
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import msgpack

from memcore import frames
from memcore._kernels import checksums
from memcore.errors import CorruptedMemoryError, MemcoreError, ValidationError, msgpack_error
from memcore.model import MemoryItem, Priority
from memcore.plain import plain_value

xxh64 = checksums.xxh64
state_checksum = checksums.state_checksum
entry_hash = checksums.entry_hash
StateDigest = checksums.StateDigest
XXH64State = checksums.XXH64State

# --- values -------------------------------------------------------------------------------------

EXT_NAIVE_DATETIME = 1
EXT_MEMORY_ITEM = 2

_NAIVE_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MIN_SECONDS = (datetime.min - _NAIVE_EPOCH) // timedelta(seconds=1)  # 0001-01-01T00:00:00
_MAX_SECONDS = (datetime.max - _NAIVE_EPOCH) // timedelta(seconds=1)  # 9999-12-31T23:59:59
_I64_BE = struct.Struct(">q")


class _NotPlain(Exception):
    """Raised by the packer's hook at a value that is not built of exact types (see
    ``memcore.plain``): the value is then made plain and packed again."""


#: The types whose subclasses ``plain_value`` turns into them.
_PLAIN_TYPES = (str, int, float, bytes, bytearray, list, tuple, dict, datetime, MemoryItem)


def _default(obj: Any) -> Any:
    # The packer is strict: it packs only exact types itself and hands this hook the rest
    # (datetimes too: it is made without ``datetime=True``, see ``_timestamp``).
    kind = type(obj)
    if kind is Priority:  # (memcore's own str enum: its value, as it always was)
        return obj._value_
    if kind is tuple:
        return list(obj)
    if kind is datetime and obj.tzinfo is not None:
        return _timestamp(obj)
    if kind is datetime:  # naive
        micros = (obj - _NAIVE_EPOCH) // timedelta(microseconds=1)
        return msgpack.ExtType(EXT_NAIVE_DATETIME, _I64_BE.pack(micros))
    if kind is MemoryItem:
        if not _exact_fields(obj):
            raise _NotPlain
        fields = [obj.id, obj.content, obj.priority._value_, obj.created_at, obj.metadata]
        return msgpack.ExtType(EXT_MEMORY_ITEM, _pack_exact(fields))
    if kind not in _PLAIN_TYPES and isinstance(obj, _PLAIN_TYPES):  # a subclass
        raise _NotPlain
    # (an exact int here is one beyond 64 bits)
    raise ValidationError(f"cannot encode a value of type {kind.__name__!r}")


def _timestamp(moment: datetime) -> msgpack.Timestamp:
    """An aware ``moment`` as msgpack's Timestamp (the bytes msgpack's ``datetime=True`` wrote).

    Refused when its UTC time falls outside the years 1-9999 (``MemoryItem.created_at`` is
    checked alike): msgpack would write the offset, but no decoder can build that datetime, so
    every replica would fail every sync on the record.
    """
    try:
        delta = moment - _UTC_EPOCH
    except TypeError as exc:  # a zone whose utcoffset() is None: naive after all
        raise ValidationError(f"cannot encode value: {exc}") from exc
    seconds = delta.days * 86400 + delta.seconds
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS:
        raise ValidationError(
            f"datetime out of range in UTC (years 1-9999 only): {moment.isoformat()}"
        )
    return msgpack.Timestamp(seconds, delta.microseconds * 1000)


def _exact_fields(item: MemoryItem) -> bool:
    """Whether ``item``'s fields are of the exact types its decoder takes (else it is rebuilt,
    or refused, by ``plain_value``)."""
    created_at = item.created_at
    return (
        type(item.id) is str
        and item.id != ""
        and type(item.content) is str
        and type(item.priority) is Priority
        and type(created_at) is datetime
        and created_at.tzinfo is not None
        and type(item.metadata) is dict
    )


_packers = (
    threading.local()
)  # Packers keep a buffer: a per-thread pool, reused (creating one costs)


def _pack_exact(obj: Any) -> bytes:
    """``obj`` packed; ``_NotPlain`` when it holds a value of no exact type."""
    pool: list[msgpack.Packer] | None = getattr(_packers, "pool", None)
    if pool is None:
        pool = _packers.pool = []
    # a nested call (a MemoryItem's fields, from _default) takes another packer from the pool
    packer = (
        pool.pop()
        if pool
        else msgpack.Packer(default=_default, use_bin_type=True, strict_types=True)
    )
    try:
        packed: bytes = packer.pack(obj)
    except (MemcoreError, _NotPlain):
        packer.reset()  # a failed pack may leave partial bytes in the buffer
        raise
    except (TypeError, ValueError, OverflowError) as exc:  # e.g. an int beyond 64 bits, deep nest
        packer.reset()
        raise ValidationError(f"cannot encode value: {exc}") from exc
    finally:
        pool.append(packer)
    return packed


def _pack_plain(obj: Any) -> tuple[bytes, Any]:
    """``obj`` packed, and the value the bytes hold: ``obj`` itself, or its plain copy when it
    holds a subclass (read once: what is packed is what the caller hashes).

    By the records kernel's ``pack_plain``: the compiled twin writes the exact types memcore
    stores itself (UTC datetimes with no Python call, their range checked by construction) and
    hands the rest to ``_pack_plain_msgpack``, the pure twin's way."""
    global _kernel_pack_plain
    if _kernel_pack_plain is None:  # (loaded late: the records kernels import this module)
        from memcore._kernels import records

        _kernel_pack_plain = records.pack_plain
    return _kernel_pack_plain(obj)


_kernel_pack_plain: Callable[[Any], tuple[bytes, Any]] | None = None


def _pack_plain_msgpack(obj: Any) -> tuple[bytes, Any]:
    """``_pack_plain`` by msgpack's packer and this module's hook (the pure twin's way)."""
    try:
        packed, held = _pack_exact(obj), obj
    except _NotPlain:
        held = plain_value(obj)
        try:
            packed = _pack_exact(held)
        except _NotPlain:  # (never: plain_value makes plain every value the hook refuses)
            raise ValidationError("cannot encode value: it holds subclasses") from None
    _refuse_odd_keys(held)
    return packed, held


_CONTAINERS = (dict, list, tuple, MemoryItem)


def _refuse_odd_keys(value: Any) -> None:
    """Refuse a map key of a type the decoder refuses (msgpack's packer writes any scalar key:
    an ``int`` key made a bundle that packed fine and never decoded again)."""
    stack = [value]
    while stack:
        held = stack.pop()
        kind = type(held)
        if kind is dict:
            for key, inner in held.items():
                if type(key) is not str and type(key) is not bytes:
                    raise ValidationError(
                        f"map keys must be str or bytes (got {type(key).__name__}: {key!r:.40})"
                    )
                if type(inner) in _CONTAINERS:
                    stack.append(inner)
        elif kind is list or kind is tuple:
            stack.extend(inner for inner in held if type(inner) in _CONTAINERS)
        elif kind is MemoryItem:
            stack.append(held.metadata)


def _pack(obj: Any) -> bytes:
    return _pack_plain(obj)[0]


def _ext_hook(code: int, data: bytes) -> Any:
    if code == EXT_NAIVE_DATETIME:
        if len(data) != 8:
            raise CorruptedMemoryError("naive datetime extension of the wrong size")
        (micros,) = _I64_BE.unpack(data)
        return _NAIVE_EPOCH + timedelta(microseconds=micros)
    if code == EXT_MEMORY_ITEM:
        fields = _unpack(data)
        if not isinstance(fields, list) or len(fields) != 5:
            raise CorruptedMemoryError("memory item extension is not a 5-field array")
        item_id, content, priority, created_at, metadata = fields
        if not isinstance(created_at, datetime) or not isinstance(metadata, dict):
            raise CorruptedMemoryError("memory item extension has fields of the wrong types")
        try:
            return MemoryItem(item_id, content, priority, created_at, metadata)
        except ValidationError as exc:
            raise CorruptedMemoryError(f"memory item extension is invalid: {exc}") from exc
    raise CorruptedMemoryError(f"unknown msgpack extension type {code}")


def _unpack(data: bytes | bytearray | memoryview) -> Any:
    budget: _Containers | None = getattr(_BUDGET, "current", None)  # (inside a bundle's)
    try:
        if budget is None:
            return msgpack.unpackb(
                data, raw=False, strict_map_key=True, ext_hook=_ext_hook, timestamp=3
            )
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            ext_hook=_ext_hook,
            timestamp=3,
            list_hook=budget.take,
            object_hook=budget.take,
        )
    except CorruptedMemoryError:
        raise
    except Exception as exc:  # msgpack raises many types (ValueError, ExtraData, StackError...)
        raise CorruptedMemoryError(f"malformed msgpack payload: {msgpack_error(exc)}") from exc


def packb(obj: Any) -> bytes:
    """Encode a value as msgpack (datetimes and MemoryItems as extensions); never pickles."""
    return _pack(obj)


def unpackb(data: bytes | bytearray | memoryview) -> Any:
    """Decode ``packb`` output; anything malformed raises ``CorruptedMemoryError``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CorruptedMemoryError(f"expected bytes to decode (got {type(data).__name__})")
    return _unpack(data)


# --- records ------------------------------------------------------------------------------------

RECORD_MAGIC = b"MR"
RECORD_VERSION = 1
_RECORD_HEAD = struct.Struct("<2sBI")
_U64 = struct.Struct("<Q")
RECORD_OVERHEAD = _RECORD_HEAD.size + _U64.size


def encode_record(obj: Any) -> bytes:
    """One stored item or journal entry: header + msgpack payload + XXH64 of both."""
    return encode_plain_record(obj)[0]


def encode_plain_record(obj: Any) -> tuple[bytes, Any]:
    """``encode_record(obj)`` and the value the record holds: ``obj``, or its plain copy when
    ``obj`` holds subclasses of builtin types (``memcore.plain``). Hash that value, not ``obj``:
    the two are read once, alike."""
    payload, held = _pack_plain(obj)
    return _sealed(payload), held


def _sealed(payload: bytes) -> bytes:
    """``payload`` as a record: header, payload, XXH64 of both."""
    if len(payload) > 0xFFFFFFFF:
        raise ValidationError("a record payload must be under 4 GiB")
    body = _RECORD_HEAD.pack(RECORD_MAGIC, RECORD_VERSION, len(payload)) + payload
    return body + _U64.pack(xxh64(body))


def decode_record(data: bytes | bytearray | memoryview) -> Any:
    """Check a record's header, length and checksum, then decode its payload."""
    view = _bytes_view(data, "record")
    if len(view) < RECORD_OVERHEAD:
        raise CorruptedMemoryError(f"record too short ({len(view)} bytes)")
    magic, version, length = _RECORD_HEAD.unpack_from(view, 0)
    if magic != RECORD_MAGIC:
        raise CorruptedMemoryError("not a memcore record (bad magic)")
    if version != RECORD_VERSION:
        raise CorruptedMemoryError(f"unsupported record version {version}")
    if length != len(view) - RECORD_OVERHEAD:
        raise CorruptedMemoryError(
            f"record length mismatch: header says {length}, have {len(view) - RECORD_OVERHEAD}"
        )
    end = _RECORD_HEAD.size + length
    (expected,) = _U64.unpack_from(view, end)
    if xxh64(view[:end]) != expected:
        raise CorruptedMemoryError("record checksum mismatch")
    return _unpack(view[_RECORD_HEAD.size : end])


# --- bundles ------------------------------------------------------------------------------------

SKIPPABLE_MAGIC = 0x184D2A5D
BUNDLE_MAGIC = b"MCBN"
BUNDLE_VERSION = 1
_FRAME_HEAD = struct.Struct("<II")
_BUNDLE_FIELDS = struct.Struct("<4sHIQQQ")
BUNDLE_HEADER_SIZE = _FRAME_HEAD.size + _BUNDLE_FIELDS.size + _U64.size
_HEADER_CONTENT_SIZE = BUNDLE_HEADER_SIZE - _FRAME_HEAD.size
#: The largest decompressed payload ``decode_bundle`` accepts unless told otherwise (its
#: ``max_payload``): a header claiming more is refused before anything is decompressed.
MAX_BUNDLE_PAYLOAD = 1 << 30
_UNPACKER_LIMIT = (1 << 31) - 1  # msgpack's buffer limit is a C int
#: Arrays and maps a payload may build, past ``_CONTAINERS_FLOOR``: one per this many of its
#: bytes, and at most this many per byte of its compressed frame. Strings and binaries cost
#: what they weigh; an empty array weighs 1 byte and costs about 70 as a Python list, and a
#: crafted bundle of 685 bytes held 20 MB of them (1.4 GB of lists before it failed). Memory
#: items' extensions, the densest values memory's bundles hold, take 11 bytes for their two
#: (fields, metadata) with two-letter ids and no content, and their ids and stamps do not
#: compress away: 0.4 per frame byte there, 4.6 for 100,000 identical notes in zstd.
_BYTES_PER_CONTAINER = 6
_CONTAINERS_PER_FRAME_BYTE = 64
_CONTAINERS_FLOOR = 100_000


def encode_bundle(
    obj: Any, *, flags: int = 0, level: int | None = None, codec: frames.FrameCodec = "lz4"
) -> bytes:
    """Compress ``packb(obj)`` into a bundle: skippable-frame header + one standard frame.

    ``codec`` is ``"lz4"`` (fastest) or ``"zstd"`` (smallest); ``level`` defaults to the codec's
    own default (lz4 0..16, zstd 1..22).
    """
    if not isinstance(flags, int) or isinstance(flags, bool) or not 0 <= flags <= 0xFFFFFFFF:
        raise ValidationError(f"bundle flags must be an int in 0..2**32-1 (got {flags!r})")
    codec, level = frames.check_codec(codec, level)
    payload = _pack(obj)
    frame = frames.compress(payload, codec, level)
    fields = _BUNDLE_FIELDS.pack(
        BUNDLE_MAGIC, BUNDLE_VERSION, flags, xxh64(frame), len(frame), len(payload)
    )
    header = (
        _FRAME_HEAD.pack(SKIPPABLE_MAGIC, _HEADER_CONTENT_SIZE) + fields + _U64.pack(xxh64(fields))
    )
    return header + frame


def _bundle_header(view: memoryview) -> tuple[int, int, int, int]:
    """Validate the header: (flags, frame XXH64, frame length, decompressed length)."""
    if len(view) < BUNDLE_HEADER_SIZE:
        raise CorruptedMemoryError(f"bundle too short ({len(view)} bytes)")
    skippable, content_size = _FRAME_HEAD.unpack_from(view, 0)
    if skippable != SKIPPABLE_MAGIC or content_size != _HEADER_CONTENT_SIZE:
        raise CorruptedMemoryError("not a memcore bundle (bad skippable-frame header)")
    magic, version, flags, frame_hash, frame_len, payload_len = _BUNDLE_FIELDS.unpack_from(
        view, _FRAME_HEAD.size
    )
    if magic != BUNDLE_MAGIC:
        raise CorruptedMemoryError("not a memcore bundle (bad magic)")
    fields_end = _FRAME_HEAD.size + _BUNDLE_FIELDS.size
    (header_hash,) = _U64.unpack_from(view, fields_end)
    if xxh64(view[_FRAME_HEAD.size : fields_end]) != header_hash:
        raise CorruptedMemoryError("bundle header checksum mismatch")
    if version != BUNDLE_VERSION:
        raise CorruptedMemoryError(f"unsupported bundle version {version}")
    return flags, frame_hash, frame_len, payload_len


def bundle_flags(data: bytes | bytearray | memoryview) -> int:
    """The flags an (intact-headed) bundle was encoded with, without decompressing it."""
    return _bundle_header(_bytes_view(data, "bundle"))[0]


def decode_bundle(
    data: bytes | bytearray | memoryview, *, max_payload: int = MAX_BUNDLE_PAYLOAD
) -> Any:
    """Validate a bundle's header, lengths and checksum, then decompress and decode it.

    A header claiming more than ``max_payload`` decompressed bytes is refused before decoding.
    The payload is decoded as a stream: each decompressed piece goes straight into a msgpack
    unpacker bounded by the claimed size, so a payload that is not one value of exactly the
    claimed size (a decompression bomb of zeros, say) fails after its first piece or two.
    """
    if not isinstance(max_payload, int) or isinstance(max_payload, bool) or max_payload < 0:
        raise ValidationError(f"max_payload must be a non-negative int (got {max_payload!r})")
    view = _bytes_view(data, "bundle")
    _, frame_hash, frame_len, payload_len = _bundle_header(view)
    if frame_len != len(view) - BUNDLE_HEADER_SIZE:
        raise CorruptedMemoryError(
            f"bundle length mismatch: header says {frame_len}, "
            f"have {len(view) - BUNDLE_HEADER_SIZE}"
        )
    if payload_len > min(max_payload, _UNPACKER_LIMIT):
        raise CorruptedMemoryError(
            f"bundle claims a {payload_len:,}-byte payload, over the "
            f"{min(max_payload, _UNPACKER_LIMIT):,}-byte limit (decode_bundle's max_payload)"
        )
    frame = view[BUNDLE_HEADER_SIZE:]
    if xxh64(frame) != frame_hash:
        raise CorruptedMemoryError("bundle payload checksum mismatch")
    budget = _Containers(payload_len, frame_len)
    return _unpack_stream(frames.iter_decompress(frame, payload_len), payload_len, budget)


class _Containers:
    """The arrays and maps a payload may still build (see ``_BYTES_PER_CONTAINER``): every
    one the decoder makes, those in memory items' extensions too, is counted as it is made."""

    __slots__ = ("left",)

    def __init__(self, payload_len: int, frame_len: int) -> None:
        self.left = _CONTAINERS_FLOOR + min(
            payload_len // _BYTES_PER_CONTAINER, frame_len * _CONTAINERS_PER_FRAME_BYTE
        )

    def take(self, value: Any) -> Any:
        self.left -= 1
        if self.left < 0:
            raise CorruptedMemoryError(
                "bundle payload builds more arrays and maps than its size allows (one per "
                f"{_BYTES_PER_CONTAINER} bytes, {_CONTAINERS_PER_FRAME_BYTE} per compressed byte)"
            )
        return value


#: The budget of the bundle being decoded on this thread (its items' extensions draw on it).
_BUDGET = threading.local()


def _unpack_stream(pieces: Iterator[bytes], payload_len: int, budget: _Containers) -> Any:
    """The one msgpack value ``pieces`` hold, exactly ``payload_len`` bytes of it, building no
    more arrays and maps than ``budget``."""
    _BUDGET.current = budget
    try:
        return _unpack_counted(pieces, payload_len, budget)
    finally:
        _BUDGET.current = None


def _unpack_counted(pieces: Iterator[bytes], payload_len: int, budget: _Containers) -> Any:
    # every string, array and map is bounded by the claimed size (an element costs a byte)
    unpacker = msgpack.Unpacker(
        raw=False,
        strict_map_key=True,
        ext_hook=_ext_hook,
        timestamp=3,
        max_buffer_size=max(payload_len, 1),
        list_hook=budget.take,
        object_hook=budget.take,
    )
    found, value = False, None
    fed, before = 0, b""  # bytes fed so far; the last few of them before the current piece
    stall_at, stall_head = -1, b""  # where the unpacker last stopped, and the bytes before that
    try:
        for piece in pieces:
            unpacker.feed(piece)
            start, fed = fed, fed + len(piece)
            for obj in unpacker:
                if found or unpacker.tell() != payload_len:
                    raise CorruptedMemoryError(
                        f"bundle payload is not one value of {payload_len:,} bytes "
                        f"(a value ends at byte {unpacker.tell():,})"
                    )
                found, value = True, obj
            at = unpacker.tell()
            if at != stall_at:
                stall_at, stall_head = at, _bytes_before(before, piece, at - start)
            if fed - at > _PENDING_CHECK:
                _check_pending(stall_head, payload_len - at)
            before = (before + piece[-_HEAD_MAX:])[-_HEAD_MAX:]
    except CorruptedMemoryError:
        raise
    except Exception as exc:  # msgpack raises many types (ValueError, StackError, BufferFull...)
        raise CorruptedMemoryError(f"malformed msgpack payload: {msgpack_error(exc)}") from exc
    if not found:
        raise CorruptedMemoryError("bundle payload ends in the middle of a value")
    return value


# msgpack buffers a string, bin or ext value whole before it checks its length field, so a
# forged length (a bin claiming 2 GiB in a payload claiming 256 MiB) would grow the buffer to the
# whole claimed payload. Once this much is pending, the length field that ends where the unpacker
# stopped is read here and checked against what the payload has left.
_PENDING_CHECK = 8 << 20
_HEAD_MAX = 6  # the longest header with a 32-bit length: ext32 (c9, u32 length, i8 type)


def _bytes_before(before: bytes, piece: bytes, offset: int) -> bytes:
    """The ``_HEAD_MAX`` stream bytes before ``offset`` into ``piece`` (``before`` precedes it)."""
    if offset >= _HEAD_MAX:
        return piece[offset - _HEAD_MAX : offset]
    return (before + piece[: max(offset, 0)])[-_HEAD_MAX:]


def _check_pending(head: bytes, left: int) -> None:
    """Refuse when every 32-bit length field ``head`` can end with declares more than ``left``
    (only those fit: a pending value this long cannot have a shorter length field)."""
    declared = []
    if len(head) >= 5 and head[-5] in (0xC6, 0xDB):  # bin32, str32
        declared.append(int.from_bytes(head[-4:], "big"))
    if len(head) >= 6 and head[-6] == 0xC9:  # ext32
        declared.append(int.from_bytes(head[-5:-1], "big"))
    if declared and min(declared) > left:
        raise CorruptedMemoryError(
            f"bundle payload declares a {min(declared):,}-byte value with {left:,} bytes left"
        )


def bundle_codec(data: bytes | bytearray | memoryview) -> frames.FrameCodec:
    """Which codec compressed an (intact-headed) bundle, without decompressing it."""
    view = _bytes_view(data, "bundle")
    _bundle_header(view)
    return frames.frame_codec(view[BUNDLE_HEADER_SIZE:])


def _bytes_view(data: object, what: str) -> memoryview:
    """``data`` as a flat byte view. A strided view (``memoryview(b)[::2]``) is the caller's
    mistake, not damage: a ``ValidationError`` (as ``xxh64`` says), never a builtin
    ``BufferError`` from deep in the decoder."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CorruptedMemoryError(f"expected the bytes of a {what} (got {type(data).__name__})")
    view = memoryview(data)
    if not view.c_contiguous:
        raise ValidationError(
            f"a {what} must be a contiguous byte buffer (got a strided view: pass bytes(view))"
        )
    if view.format != "B" or view.ndim != 1:
        try:
            view = view.cast("B")
        except TypeError as exc:
            raise ValidationError(f"a {what} must be a flat byte buffer") from exc
    return view


__all__ = [
    "BUNDLE_HEADER_SIZE",
    "RECORD_OVERHEAD",
    "StateDigest",
    "XXH64State",
    "bundle_codec",
    "bundle_flags",
    "decode_bundle",
    "decode_record",
    "encode_bundle",
    "encode_plain_record",
    "encode_record",
    "entry_hash",
    "packb",
    "state_checksum",
    "unpackb",
    "xxh64",
]
