"""The compressed frames inside a bundle: one standard lz4 frame or one standard zstd frame.

lz4 is the default: it is the fastest to write. zstd trades write speed for size: lz4 has no
entropy coding and zstd has, so zstd bundles of agent notes come out 17-36 % smaller
(``benchmarks/bundle_size.py``) and read back as fast. Both are the stock tools' own formats, so
``lz4 -d`` or ``zstd -d`` decodes a bundle file, and both formats share the skippable-frame magic
range that memcore's header uses. A frame says which codec wrote it by its first four bytes, so
decoding needs no flag.

Every decoder check raises :class:`~memcore.errors.CorruptedMemoryError`; a frame's declared size
is checked against the bundle header before decoding, and output grows only as it decodes.
"""

from __future__ import annotations

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
    codec = frame_codec(frame)
    if payload_len > len(frame) * _MAX_RATIO[codec]:
        raise CorruptedMemoryError(f"bundle claims an absurd payload size ({payload_len})")
    try:
        payload = (
            _zstd_decompress(frame, payload_len)
            if codec == "zstd"
            else _lz4_decompress(frame, payload_len)
        )
    except CorruptedMemoryError:
        raise
    except Exception as exc:  # lz4 and zstandard raise RuntimeError / ZstdError on bad frames
        raise CorruptedMemoryError(f"bundle {codec} frame is corrupt: {exc}") from exc
    if len(payload) != payload_len:
        raise CorruptedMemoryError(f"bundle {codec} frame does not hold the stated payload")
    return payload


def _lz4_decompress(frame: memoryview, payload_len: int) -> bytes:
    decompressor = lz4.frame.LZ4FrameDecompressor()
    payload: bytes = decompressor.decompress(bytes(frame), max_length=payload_len + 1)
    if not decompressor.eof or decompressor.unused_data:
        raise CorruptedMemoryError("bundle lz4 frame does not hold the stated payload")
    return payload


def _zstd_decompress(frame: memoryview, payload_len: int) -> bytes:
    import zstandard  # imported on first use, as in compress()

    data = bytes(frame)
    if zstandard.frame_content_size(data) != payload_len:
        raise CorruptedMemoryError("bundle zstd frame does not hold the stated payload")
    # streamed, not one-shot: a one-shot call allocates the size a frame claims before decoding
    # a byte, and a forged frame may claim gigabytes; streamed output grows only as real blocks
    # decode, so a lie ends in an error long before that
    stream = zstandard.ZstdDecompressor().decompressobj()
    payload: bytes = stream.decompress(data)
    if not stream.eof or stream.unused_data:
        raise CorruptedMemoryError("bundle zstd frame does not end where the bundle does")
    return payload


__all__ = [
    "DEFAULT_LEVELS",
    "FRAME_CODECS",
    "LEVEL_RANGES",
    "FrameCodec",
    "check_codec",
    "compress",
    "decompress",
    "frame_codec",
]
