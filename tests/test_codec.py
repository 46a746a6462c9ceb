"""The codec: msgpack values, checksummed records and bundles (lz4 or zstd frames); every damaged
byte is caught."""

from __future__ import annotations

import ast
import contextlib
import functools
import math
import random
import shutil
import struct
import subprocess
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import lz4.frame
import msgpack
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memcore
from memcore import codec, frames
from memcore._kernels import checksums
from memcore.errors import CorruptedMemoryError, MemcoreError, ValidationError
from memcore.model import MemoryItem, Priority
from tests.param_ids import value_id

characters = st.characters(exclude_categories=["Cs"])
texts = st.text(alphabet=characters, max_size=40)
aware = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-7, minutes=-30))]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),  # msgpack's integer range
    st.floats(),
    texts,
    st.binary(max_size=40),
    aware,
    st.datetimes(),
)
plain = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(texts, children, max_size=4),
    ),
    max_leaves=15,
)
items = st.builds(
    MemoryItem,
    id=st.text(alphabet=characters, min_size=1, max_size=12),
    content=texts,
    priority=st.sampled_from(list(Priority)),
    created_at=aware,
    metadata=st.dictionaries(texts, plain, max_size=3),
)
values = st.one_of(plain, items, st.dictionaries(texts, items, max_size=4))


def same(left: Any, right: Any) -> bool:
    """Equal up to what msgpack cannot tell apart (tuple/list, NaN, a zone for the same instant).

    ``state_checksum`` draws exactly those lines, and nothing else: floats by bits, types by tag.
    """
    return bool(checksums.entry_hash("v", left) == checksums.entry_hash("v", right))


SAMPLE: dict[str, Any] = {
    "item": MemoryItem(
        id="m-1",
        content="the build needs Cython 3",
        priority="high",
        created_at=datetime(2025, 5, 1, 9, 30, tzinfo=timezone.utc),
        metadata={"kind": "fact", "tags": ["build"], "score": 0.5},
    ),
    "naive": datetime(2020, 5, 5, 1, 2, 3, 4),
    "aware": datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=2))),
    "blob": b"\x00\x01",
    "nums": [1, -1, 2**64 - 1, -(2**63), 1.5, -0.0],
    "text": "héllo 中文 😀",
}


def test_public_names_resolve_to_the_codec() -> None:
    assert memcore.xxh64 is codec.xxh64 is checksums.xxh64
    assert memcore.state_checksum is codec.state_checksum is checksums.state_checksum
    assert memcore.StateDigest is codec.StateDigest is checksums.StateDigest
    assert codec.entry_hash is checksums.entry_hash


# --- values -------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(value=values)
def test_packb_round_trip(value: Any) -> None:
    back = codec.unpackb(codec.packb(value))
    assert same(back, value)


def test_round_trip_types() -> None:
    back = codec.unpackb(codec.packb(SAMPLE))
    assert back["item"] == SAMPLE["item"]
    assert isinstance(back["item"].priority, Priority)
    assert back["naive"] == SAMPLE["naive"]
    assert back["naive"].tzinfo is None
    assert back["aware"] == SAMPLE["aware"]
    assert back["aware"].utcoffset() == timedelta(0)
    assert back["blob"] == b"\x00\x01"
    assert isinstance(back["blob"], bytes)
    assert back["nums"] == SAMPLE["nums"]
    assert math.copysign(1.0, back["nums"][-1]) == -1.0
    assert back["text"] == SAMPLE["text"]
    assert codec.unpackb(codec.packb((1, (2,)))) == [1, [2]]


@pytest.mark.parametrize(
    "value", [{1, 2}, object(), 2**64, -(2**63) - 1, complex(1, 2)], ids=value_id
)
def test_packb_refuses_what_it_cannot_encode(value: Any) -> None:
    with pytest.raises(ValidationError):
        codec.packb({"x": value})
    with pytest.raises(ValidationError):
        codec.encode_record(value)
    with pytest.raises(ValidationError):
        codec.encode_bundle(value)


def test_no_pickle_anywhere() -> None:
    tree = ast.parse(Path(codec.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"pickle", "marshal", "shelve", "dill", "cloudpickle"}


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xc1",  # never used in msgpack
        b"\x92\x01",  # an array missing an element
        b"\x01\x02",  # extra data
        b"\x81\x01\x02",  # an int map key (strict_map_key)
        b"\xa2\xff\xfe",  # a str that is not UTF-8
        b"\xd4\x07\x00",  # an unknown extension type
        b"\xd7\x01" + b"\x00" * 8 + b"x",  # naive datetime ext followed by junk
        b"\xd5\x01\x00\x00",  # naive datetime ext of the wrong size
        b"\xc7\x01\x02\xc0",  # MemoryItem ext holding nil
        msgpack.packb(msgpack.ExtType(2, msgpack.packb(["", "c", "low", None, {}]))),
        msgpack.packb(msgpack.ExtType(2, msgpack.packb(["i", "c", "nope", 0, {}]))),
        b"\xc7\x0c\xff" + bytes(4) + (2**62).to_bytes(8, "big"),  # a Timestamp past year 9999
        b"\xc7\x0c\xff" + (2**31).to_bytes(4, "big") + bytes(8),  # nanoseconds out of range
        b"\x91" * 100_000,  # deeper than msgpack's stack
        b"\xdd\xff\xff\xff\xff",  # an array claiming 4G elements
        b"\xdb\x7f\xff\xff\xff",  # a str claiming 2 GiB
    ],
)
def test_unpackb_raises_only_corrupted(payload: bytes) -> None:
    with pytest.raises(CorruptedMemoryError):
        codec.unpackb(payload)


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=64))
def test_unpackb_on_random_bytes(payload: bytes) -> None:
    with contextlib.suppress(CorruptedMemoryError):
        codec.unpackb(payload)


# --- records and bundles ------------------------------------------------------------------------

encode_zstd_bundle = functools.partial(codec.encode_bundle, codec="zstd")
FORMATS = [
    pytest.param(codec.encode_record, codec.decode_record, id="record"),
    pytest.param(codec.encode_bundle, codec.decode_bundle, id="bundle"),
    pytest.param(encode_zstd_bundle, codec.decode_bundle, id="bundle-zstd"),
]


@pytest.mark.parametrize(("encode", "decode"), FORMATS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values)
def test_round_trip(encode: Any, decode: Any, value: Any) -> None:
    data = encode(value)
    assert same(decode(data), value)
    assert same(decode(bytearray(data)), value)
    assert same(decode(memoryview(data)), value)


def test_record_layout() -> None:
    data = codec.encode_record({"a": 1})
    payload = codec.packb({"a": 1})
    assert data[:3] == b"MR\x01"
    assert struct.unpack_from("<I", data, 3)[0] == len(payload)
    assert data[7 : 7 + len(payload)] == payload
    assert int.from_bytes(data[-8:], "little") == codec.xxh64(data[:-8])
    assert len(data) == codec.RECORD_OVERHEAD + len(payload)


def _plain_lz4(frame: bytes) -> bytes:
    return bytes(lz4.frame.decompress(frame))


def _plain_zstd(frame: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(frame)


@pytest.mark.parametrize(
    ("name", "levels", "plain"),
    [("lz4", (None, 0, 3, 9, 16), _plain_lz4), ("zstd", (None, 1, 3, 12, 19, 22), _plain_zstd)],
)
def test_bundle_layout_flags_and_levels(name: Any, levels: Any, plain: Any) -> None:
    for level in levels:
        data = codec.encode_bundle(SAMPLE, flags=0xDEADBEEF, level=level, codec=name)
        assert codec.bundle_flags(data) == 0xDEADBEEF
        assert codec.bundle_codec(data) == name
        assert same(codec.decode_bundle(data), SAMPLE)
        magic, size = struct.unpack_from("<II", data, 0)
        assert 0x184D2A50 <= magic <= 0x184D2A5F  # skippable in both the lz4 and zstd formats
        assert size == codec.BUNDLE_HEADER_SIZE - 8
        assert data[8:12] == b"MCBN"
        frame = data[codec.BUNDLE_HEADER_SIZE :]
        assert plain(frame) == codec.packb(SAMPLE)
        assert int.from_bytes(data[18:26], "little") == codec.xxh64(frame)
    assert codec.bundle_flags(codec.encode_bundle([])) == 0
    assert codec.bundle_codec(codec.encode_bundle([])) == "lz4"  # the default


def test_zstd_bundles_are_smaller_on_text() -> None:
    text = " ".join(
        f"note {i}: the build of module_{i % 37}.py failed at step {i % 11}" for i in range(400)
    )
    assert len(codec.encode_bundle(text, codec="zstd", level=12)) < len(
        codec.encode_bundle(text, codec="lz4", level=12)
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"flags": -1},
        {"flags": 2**32},
        {"level": 17},
        {"level": -1},
        {"level": True},
        {"level": 3.0},
        {"codec": "gzip"},
        {"codec": None},
        {"codec": "zstd", "level": 0},
        {"codec": "zstd", "level": 23},
    ],
    ids=value_id,
)
def test_bundle_refuses_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        codec.encode_bundle({}, **kwargs)


@pytest.mark.parametrize("name", ["lz4", "zstd"])
def test_stock_tool_decodes_a_bundle(name: str, tmp_path: Path) -> None:
    tool = shutil.which(name)
    if tool is None:
        pytest.fail(f"the {name} command-line tool is required (the test command installs it)")
    value = {"items": [SAMPLE["item"]] * 50, "text": "repetitive " * 500}
    bundle = tmp_path / f"state.mcb.{name}"
    bundle.write_bytes(codec.encode_bundle(value, level=9, codec=name))  # type: ignore[arg-type]
    out = subprocess.run([tool, "-d", "-c", str(bundle)], capture_output=True, check=True).stdout
    assert out == codec.packb(value)
    assert same(codec.unpackb(out), value)
    assert len(bundle.read_bytes()) < len(out) // 5  # it did compress


def _every_byte_mutation_fails(decode: Any, data: bytes) -> None:
    for index in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[index] ^= flip
            with pytest.raises(CorruptedMemoryError):
                decode(bytes(damaged))
    for size in range(len(data)):
        with pytest.raises(CorruptedMemoryError):
            decode(data[:size])
    for extra in (b"\x00", b"junk", data):
        with pytest.raises(CorruptedMemoryError):
            decode(data + extra)


@pytest.mark.parametrize(("encode", "decode"), FORMATS)
@pytest.mark.parametrize(
    "value", [None, 0, "", [], {"a": 1}, SAMPLE["item"], {"k": SAMPLE["naive"]}], ids=value_id
)
def test_every_mutation_and_truncation_is_caught(encode: Any, decode: Any, value: Any) -> None:
    _every_byte_mutation_fails(decode, encode(value))


def test_every_mutation_of_a_larger_bundle_is_caught() -> None:
    _every_byte_mutation_fails(codec.decode_bundle, codec.encode_bundle(SAMPLE))
    _every_byte_mutation_fails(codec.decode_bundle, encode_zstd_bundle(SAMPLE))
    _every_byte_mutation_fails(codec.decode_record, codec.encode_record(SAMPLE))


@pytest.mark.parametrize(("encode", "decode"), FORMATS)
@settings(max_examples=100, deadline=None)
@given(value=values, data=st.data())
def test_random_damage_raises_only_corrupted(
    encode: Any, decode: Any, value: Any, data: Any
) -> None:
    blob = bytearray(encode(value))
    kind = data.draw(st.sampled_from(["flip", "cut", "insert", "splice"]))
    position = data.draw(st.integers(0, len(blob) - 1))
    if kind == "flip":
        blob[position] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        del blob[position : position + data.draw(st.integers(1, 16))]
    elif kind == "insert":
        blob[position:position] = data.draw(st.binary(min_size=1, max_size=8))
    else:
        blob[position:] = data.draw(st.binary(max_size=32))
        if bytes(blob) == encode(value):
            return
    with pytest.raises(CorruptedMemoryError):
        decode(bytes(blob))


def _bundle_with(frame: bytes, payload_len: int, *, frame_hash: int | None = None) -> bytes:
    """A bundle whose header is self-consistent (valid header checksum) but says what we like."""
    fields = struct.pack(
        "<4sHIQQQ",
        b"MCBN",
        1,
        0,
        codec.xxh64(frame) if frame_hash is None else frame_hash,
        len(frame),
        payload_len,
    )
    head = struct.pack("<II", codec.SKIPPABLE_MAGIC, len(fields) + 8)
    return head + fields + codec.xxh64(fields).to_bytes(8, "little") + frame


def test_bundle_sizes_are_checked_before_decompressing() -> None:
    frame = lz4.frame.compress(codec.packb("x" * 1000))
    assert codec.decode_bundle(_bundle_with(frame, len(codec.packb("x" * 1000)))) == "x" * 1000
    for lie in (0, 10, 999, 1004, 10**6, 2**40, 2**64 - 1):
        with pytest.raises(CorruptedMemoryError):
            codec.decode_bundle(_bundle_with(frame, lie))
    with pytest.raises(CorruptedMemoryError):
        codec.decode_bundle(_bundle_with(b"not an lz4 frame", 10))
    with pytest.raises(CorruptedMemoryError):  # a valid frame holding bytes that are not msgpack
        codec.decode_bundle(_bundle_with(lz4.frame.compress(b"\xc1\xc1"), 2))
    two_frames = frame + lz4.frame.compress(b"more")
    with pytest.raises(CorruptedMemoryError):
        codec.decode_bundle(_bundle_with(two_frames, len(codec.packb("x" * 1000))))


def test_zstd_bundle_sizes_are_checked_before_decompressing() -> None:
    payload = codec.packb("x" * 1000)
    zstd = zstandard.ZstdCompressor(level=3, write_checksum=True)
    frame = zstd.compress(payload)
    assert codec.decode_bundle(_bundle_with(frame, len(payload))) == "x" * 1000
    for lie in (0, 10, len(payload) - 1, len(payload) + 1, 10**6, 2**40, 2**64 - 1):
        with pytest.raises(CorruptedMemoryError):
            codec.decode_bundle(_bundle_with(frame, lie))
    # a frame that does not record its size, or whose size field disagrees with its blocks
    unsized = zstandard.ZstdCompressor(write_content_size=False).compress(payload)
    with pytest.raises(CorruptedMemoryError):
        codec.decode_bundle(_bundle_with(unsized, len(payload)))
    with pytest.raises(CorruptedMemoryError):  # a valid frame holding bytes that are not msgpack
        codec.decode_bundle(_bundle_with(zstd.compress(b"\xc1\xc1"), 2))
    with pytest.raises(CorruptedMemoryError):  # a second frame after the first
        codec.decode_bundle(_bundle_with(frame + zstd.compress(b"more"), len(payload)))
    with pytest.raises(CorruptedMemoryError):  # zstd's magic, then garbage
        codec.decode_bundle(_bundle_with(frame[:4] + b"\xff" * 40, 10))
    with pytest.raises(CorruptedMemoryError):  # the codec of a bundle whose frame is neither
        codec.bundle_codec(_bundle_with(b"\x00" * 16, 10))
    # a frame whose own size field claims 3 GiB over 48 KiB of real blocks: refused, and decoded
    # as a stream, so nothing near 3 GiB is ever allocated on its word
    noise = random.Random(5).randbytes(48 * 1024)
    honest = zstandard.ZstdCompressor(level=1, write_checksum=False).compress(noise)
    header_len = zstandard.frame_header_size(honest)
    descriptor = 0xE0  # 8-byte content size, single segment, no checksum, no dictionary
    forged = honest[:4] + bytes([descriptor]) + (3 << 30).to_bytes(8, "little")
    forged += honest[header_len:]
    assert zstandard.frame_content_size(forged) == 3 << 30
    forged_bundle = _bundle_with(forged, 3 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(CorruptedMemoryError):
            codec.decode_bundle(forged_bundle)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20
    # 1 MiB of zeros in ~40 bytes: a real high ratio is accepted, not mistaken for a lie
    zeros = zstd.compress(codec.packb(bytes(1 << 20)))
    assert codec.decode_bundle(_bundle_with(zeros, len(codec.packb(bytes(1 << 20))))) == bytes(
        1 << 20
    )


def _peak_of(run: Any) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_payload_of_empty_arrays_is_refused_before_it_costs_much() -> None:
    """20 MB of empty arrays (a byte each, about 70 as Python lists) in a 685-byte bundle took
    1.4 GB before it failed; so did the same inside a memory item's metadata. A bundle builds
    at most one array or map per 6 payload bytes and 64 per compressed byte (past 100,000)."""
    n = 20_000_000
    zstd = zstandard.ZstdCompressor(level=19)
    lists = b"\xdd" + n.to_bytes(4, "big") + b"\x90" * n
    bomb = _bundle_with(zstd.compress(lists), len(lists))
    assert len(bomb) < 2000

    def refused(blob: bytes) -> None:
        with pytest.raises(CorruptedMemoryError, match="more arrays and maps"):
            codec.decode_bundle(blob)

    assert _peak_of(lambda: refused(bomb)) < 64 << 20
    # the same arrays as a memory item's metadata value, inside its extension
    stamp = msgpack.Timestamp(1_700_000_000).to_bytes()
    fields = b"\x95\xa1k\xa0\x01" + b"\xd6\xff" + stamp + b"\x81\xa1m" + lists
    ext = b"\xc9" + len(fields).to_bytes(4, "big") + bytes([codec.EXT_MEMORY_ITEM]) + fields
    inside = _bundle_with(zstd.compress(ext), len(ext))
    assert _peak_of(lambda: refused(inside)) < 64 << 20
    # dense but real: 30,000 items of one-letter content, kept whole, decode
    stamp_at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    items = [MemoryItem(f"k{n}", "x", created_at=stamp_at) for n in range(30_000)]
    assert codec.decode_bundle(codec.encode_bundle(items)) == items


@settings(max_examples=300, deadline=None)
@given(
    magic=st.sampled_from([b"\x04\x22\x4d\x18", b"\x28\xb5\x2f\xfd", b""]),
    body=st.binary(max_size=64),
    payload_len=st.one_of(st.integers(0, 4096), st.integers(0, 2**64 - 1)),
)
def test_crafted_frames_behind_a_valid_header_raise_only_corrupted(
    magic: bytes, body: bytes, payload_len: int
) -> None:
    """The frame checksum only proves the frame is what the writer wrote, not that a writer was
    honest: any bytes behind a self-consistent header decode or raise CorruptedMemoryError."""
    with contextlib.suppress(CorruptedMemoryError):
        codec.decode_bundle(_bundle_with(magic + body, payload_len))


def test_wrong_versions_are_refused() -> None:
    record = bytearray(codec.encode_record(1))
    record[2] = 2
    record[-8:] = codec.xxh64(bytes(record[:-8])).to_bytes(8, "little")
    with pytest.raises(CorruptedMemoryError, match="version"):
        codec.decode_record(bytes(record))
    bundle = bytearray(codec.encode_bundle(1))
    bundle[12] = 2
    bundle[42:50] = codec.xxh64(bytes(bundle[8:42])).to_bytes(8, "little")
    with pytest.raises(CorruptedMemoryError, match="version"):
        codec.decode_bundle(bytes(bundle))
    with pytest.raises(CorruptedMemoryError, match="version"):
        codec.bundle_flags(bytes(bundle))


@pytest.mark.parametrize("decode", [codec.decode_record, codec.decode_bundle, codec.unpackb])
@pytest.mark.parametrize("junk", ["text", None, 5, [1, 2]], ids=value_id)
def test_decoders_refuse_non_bytes(decode: Any, junk: Any) -> None:
    with pytest.raises(MemcoreError):
        decode(junk)


@pytest.mark.parametrize("name", frames.FRAME_CODECS)
def test_frames_are_decoded_in_bounded_pieces(name: frames.FrameCodec) -> None:
    """What lets a reader stop early: no piece is larger than ``frames.PIECE``."""
    payload = bytes(5 * frames.PIECE + 123)
    frame = frames.compress(payload, name, frames.DEFAULT_LEVELS[name])
    pieces = list(frames.iter_decompress(memoryview(frame), len(payload)))
    assert b"".join(pieces) == payload
    assert len(pieces) >= 5
    assert max(map(len, pieces)) <= frames.PIECE
    with pytest.raises(CorruptedMemoryError):  # a byte after the frame
        list(frames.iter_decompress(memoryview(frame + b"\x00"), len(payload)))
    with pytest.raises(CorruptedMemoryError):  # the frame cut short
        list(frames.iter_decompress(memoryview(frame[:-5]), len(payload)))


def test_a_payload_nested_past_msgpack_s_limit_says_so() -> None:
    """msgpack's StackError has no message: the error said "malformed msgpack payload:" and
    nothing after it."""
    with pytest.raises(CorruptedMemoryError, match="malformed msgpack payload: nested too deep"):
        codec.unpackb(b"\x91" * 2000 + b"\xc0")
