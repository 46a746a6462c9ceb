"""Constants of the canonical state hash, defined once for both checksum twins.

The compiled twin imports these at module level, so the two can never drift. Changing any of them
changes every checksum memcore has ever stored: the known-answer vectors in the tests pin them.
"""

from __future__ import annotations

# XXH64's five primes (the published algorithm's constants).
PRIME64_1 = 0x9E3779B185EBCA87
PRIME64_2 = 0xC2B2AE3D27D4EB4F
PRIME64_3 = 0x165667B19E3779F9
PRIME64_4 = 0x85EBCA77C2B2AE63
PRIME64_5 = 0x27D4EB2F165667C5

# One-byte type tags that open the canonical encoding of every value.
TAG_NONE = 0x4E  # "N"
TAG_TRUE = 0x54  # "T"
TAG_FALSE = 0x46  # "F"
TAG_INT = 0x69  # "i": fits in int64, 8 bytes little-endian two's complement
TAG_BIGINT = 0x49  # "I": u64 length, then minimal-ish little-endian two's complement bytes
TAG_FLOAT = 0x66  # "f": IEEE-754 binary64 bits, little-endian; every NaN as CANONICAL_NAN
TAG_STR = 0x73  # "s": u64 UTF-8 length, then the UTF-8 bytes
TAG_BYTES = 0x62  # "b": u64 length, then the bytes
TAG_LIST = 0x6C  # "l": u64 element count, then each element's encoding
TAG_DICT = 0x64  # "d": the dict's 8-byte digest (see state_checksum)
TAG_AWARE_DATETIME = 0x74  # "t": i64 microseconds since the Unix epoch, UTC
TAG_NAIVE_DATETIME = 0x75  # "u": i64 microseconds since 1970-01-01T00:00 as written (no zone)

CANONICAL_NAN = 0x7FF8000000000000

# Datetimes count microseconds from 1970-01-01 (``date(1970, 1, 1).toordinal()``).
EPOCH_ORDINAL = 719163

# Containers nested deeper than this are refused (a self-referencing list would never end).
MAX_DEPTH = 256

# Seed of the finalizing hash of a digest: (count, sum, mixed sum) -> 64 bits.
DIGEST_SEED = 0x6D656D636F726531  # b"memcore1"

__all__ = [
    "CANONICAL_NAN",
    "DIGEST_SEED",
    "EPOCH_ORDINAL",
    "MAX_DEPTH",
    "PRIME64_1",
    "PRIME64_2",
    "PRIME64_3",
    "PRIME64_4",
    "PRIME64_5",
    "TAG_AWARE_DATETIME",
    "TAG_BIGINT",
    "TAG_BYTES",
    "TAG_DICT",
    "TAG_FALSE",
    "TAG_FLOAT",
    "TAG_INT",
    "TAG_LIST",
    "TAG_NAIVE_DATETIME",
    "TAG_NONE",
    "TAG_STR",
    "TAG_TRUE",
]
