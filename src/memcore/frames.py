"""The compressed frames inside a bundle: one standard lz4 frame or one standard zstd frame.

lz4 is the default: it is the fastest to write. zstd trades write speed for size: lz4 has no
entropy coding and zstd has, so zstd bundles of agent notes come out 17-36 % smaller
(``benchmarks/bundle_size.py``) and read back as fast. Both are the stock tools' own formats, so
``lz4 -d`` or ``zstd -d`` decodes a bundle file, and both formats share the skippable-frame magic
range that memcore's header uses. A frame says which codec wrote it by its first four bytes, so
decoding needs no flag.

Every decoder check raises :class:`~memcore.errors.CorruptedMemoryError`; a frame's declared size
is checked against the bundle header before decoding, and :func:`iter_decompress` hands the
payload out in pieces of at most ``PIECE`` bytes, so a reader that finds the payload is not what
the header claims (``codec.decode_bundle`` feeds the pieces to a msgpack unpacker) stops after a
piece or two instead of after gigabytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, Literal

import lz4.frame

from memcore.errors import CorruptedMemoryError, ValidationError

FrameCodec = Literal["lz4", "zstd"]

FRAME_CODECS: Final[tuple[FrameCodec, ...]] = ("lz4", "zstd")
#: The level range each codec accepts (lz4: 0 fast, 3-12 high compression, 13-16 = 12;
#: zstd: 1-22, 20-22 being its "ultra" levels).
LEVEL_RANGES: Final[dict[FrameCodec, range]] = {"lz4": range(17), "zstd": range(1, 23)}
#: The level used when the caller gives none: each library's own default.
DEFAULT_LEVELS: Final[dict[FrameCodec, int]] = {"lz4": 0, "zstd": 3}

LZ4_MAGIC: Final = b"\x04\x22\x4d\x18"  # 0x184D2204, little-endian
ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"  # 0xFD2FB528, little-endian

# The most a frame can expand: lz4 ~255x; zstd's RLE blocks reach ~32,000x (128 KiB from 4 bytes).
# A header claiming more than this over its frame is lying, and is refused before allocating.
_MAX_RATIO: Final[dict[FrameCodec, int]] = {"lz4": 256, "zstd": 1 << 16}
#: The most payload one step of :func:`iter_decompress` yields.
PIECE: Final = 1 << 20


def check_codec(codec: object, level: object) -> tuple[FrameCodec, int]:
    """Validate a (codec, level) pair; ``level=None`` is the codec's default."""
    if codec not in FRAME_CODECS:
        raise ValidationError(
            f"bundle codec must be one of {', '.join(FRAME_CODECS)} (got {codec!r})"
        )
    name: FrameCodec = "zstd" if codec == "zstd" else "lz4"
    if level is None:
        return name, DEFAULT_LEVELS[name]
    allowed = LEVEL_RANGES[name]
    if not isinstance(level, int) or isinstance(level, bool) or level not in allowed:
        raise ValidationError(
            f"{name} compression level must be in {allowed.start}..{allowed.stop - 1} "
            f"(got {level!r})"
        )
    return name, level


def compress(payload: bytes, codec: FrameCodec, level: int) -> bytes:
    """One frame of ``payload``, with its content size and content checksum recorded."""
    if codec == "zstd":
        import zstandard  # imported on first use: ~10 ms that lz4-only users never pay

        # a fresh context per call: reusing one saved nothing measurable, and a used context
        # keeps its 2-10 MiB of tables for as long as it is cached
        compressor = zstandard.ZstdCompressor(
            level=level, write_checksum=True, write_content_size=True
        )
        return compressor.compress(payload)
    frame: bytes = lz4.frame.compress(
        payload, compression_level=level, content_checksum=True, store_size=True
    )
    return frame


def frame_codec(frame: bytes | bytearray | memoryview) -> FrameCodec:
    """Which codec wrote ``frame``, from its magic number."""
    magic = bytes(frame[:4])
    if magic == LZ4_MAGIC:
        return "lz4"
    if magic == ZSTD_MAGIC:
        return "zstd"
    raise CorruptedMemoryError(
        f"bundle holds neither an lz4 nor a zstd frame (magic {magic.hex()})"
    )


def decompress(frame: memoryview, payload_len: int) -> bytes:
    """The payload of exactly one frame that must decompress to exactly ``payload_len`` bytes."""
    return b"".join(iter_decompress(frame, payload_len))


def iter_decompress(frame: memoryview, payload_len: int) -> Iterator[bytes]:
    """The payload of exactly one frame, in pieces of at most ``PIECE`` bytes (about that for
    zstd); ``CorruptedMemoryError`` as soon as the frame turns out not to hold exactly
    ``payload_len`` bytes, or to be corrupt, or to be followed by anything."""
    codec = frame_codec(frame)
    if payload_len > len(frame) * _MAX_RATIO[codec]:
        raise CorruptedMemoryError(f"bundle claims an absurd payload size ({payload_len})")
    pieces = (
        _zstd_pieces(frame, payload_len) if codec == "zstd" else _lz4_pieces(frame, payload_len)
    )
    total = 0
    try:
        for piece in pieces:
            total += len(piece)
            if total > payload_len:
                raise CorruptedMemoryError(
                    f"bundle {codec} frame holds more than the stated payload"
                )
            yield piece
    except CorruptedMemoryError:
        raise
    except Exception as exc:  # lz4 and zstandard raise RuntimeError / ZstdError on bad frames
        raise CorruptedMemoryError(f"bundle {codec} frame is corrupt: {exc}") from exc
    if total != payload_len:
        raise CorruptedMemoryError(f"bundle {codec} frame does not hold the stated payload")


def _lz4_pieces(frame: memoryview, payload_len: int) -> Iterator[bytes]:
    data = bytes(frame)
    stated = lz4.frame.get_frame_info(data).get("content_size")
    if stated and stated != payload_len:  # 0: the frame does not record its size
        raise CorruptedMemoryError("bundle lz4 frame does not hold the stated payload")
    decompressor = lz4.frame.LZ4FrameDecompressor()
    piece: bytes = decompressor.decompress(data, max_length=PIECE)
    while True:
        if piece:
            yield piece
        if decompressor.eof:
            break
        if decompressor.needs_input:
            raise CorruptedMemoryError("bundle lz4 frame is cut short")
        piece = decompressor.decompress(b"", max_length=PIECE)
    if decompressor.unused_data:
        raise CorruptedMemoryError("bundle lz4 frame does not end where the bundle does")


def _zstd_pieces(frame: memoryview, payload_len: int) -> Iterator[bytes]:
    import zstandard  # imported on first use, as in compress()

    data = bytes(frame)
    if zstandard.frame_content_size(data) != payload_len:
        raise CorruptedMemoryError("bundle zstd frame does not hold the stated payload")
    if _zstd_frame_length(data) != len(data):
        raise CorruptedMemoryError("bundle zstd frame does not end where the bundle does")
    # never one-shot: that allocates the size a frame claims before decoding a byte
    reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=False)
    while piece := reader.read(PIECE):
        yield piece


def _zstd_frame_length(data: bytes) -> int:
    """Where the zstd frame starting ``data`` ends, from its block headers (RFC 8878 3.1.1.2):
    what lets a reader that stops at the frame's end notice bytes after it."""
    import zstandard

    end = zstandard.frame_header_size(data)
    while True:
        if end + 3 > len(data):
            raise CorruptedMemoryError("bundle zstd frame is cut short")
        header = int.from_bytes(data[end : end + 3], "little")
        last, kind, size = header & 1, (header >> 1) & 3, header >> 3
        if kind == 3:
            raise CorruptedMemoryError("bundle zstd frame has a block of the reserved type")
        end += 3 + (1 if kind == 1 else size)  # an RLE block is one byte, repeated
        if last:
            break
    return end + (4 if zstandard.get_frame_parameters(data).has_checksum else 0)


__all__ = [
    "DEFAULT_LEVELS",
    "FRAME_CODECS",
    "LEVEL_RANGES",
    "FrameCodec",
    "check_codec",
    "compress",
    "decompress",
    "frame_codec",
    "iter_decompress",
]
