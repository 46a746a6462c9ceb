"""Pure-Python twin of the ``grouping`` kernels: SimHash fingerprints of texts and near-linear
grouping of similar fingerprints (``memcore/_native/grouping.pyx``: same names, signatures and
results). Hashes are FNV-1a + splitmix64 over code points, never Python's salted ``hash()``.
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore._pure._text_tables import FNV_OFFSET, FNV_PRIME, GROUP_RECENT, MASK64
from memcore._pure.text import tokenize_words


def _mix(h: int) -> int:
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK64
    return h ^ (h >> 31)


def _fnv(h: int, piece: str) -> int:
    for c in piece:
        h = ((h ^ ord(c)) * FNV_PRIME) & MASK64
    return h


def simhash(text: str) -> int:
    """64-bit SimHash of ``text`` over its words and word bigrams (each weighted 1)."""
    words = tokenize_words(text)
    if not words:
        return 0
    counts = [0] * 64
    count = len(words)
    for k in range(2 * count - 1):
        h = _fnv(FNV_OFFSET, words[k >> 1])
        if k & 1:
            h = _fnv(((h ^ 32) * FNV_PRIME) & MASK64, words[(k >> 1) + 1])
        h = _mix(h)
        for bit in range(64):
            if (h >> bit) & 1:
                counts[bit] += 1
            else:
                counts[bit] -= 1
    fingerprint = 0
    for bit in range(64):
        if counts[bit] > 0:
            fingerprint |= 1 << bit
    return fingerprint


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit fingerprints."""
    return bin((a ^ b) & MASK64).count("1")


def group_similar(fingerprints: Sequence[int], max_distance: int) -> list[int]:
    """Group fingerprints within ``max_distance`` bits: a group label (its first index) per item.

    Near-linear: fingerprints are bucketed by ``max_distance + 1`` bands (two within the distance
    share a band, by pigeonhole); each item is checked only against its bucket's first member
    and its ``GROUP_RECENT`` latest members. Deterministic: labels are the smallest index of each
    group.
    """
    if not 0 <= max_distance <= 31:
        raise ValueError(f"max_distance must be within 0..31 (got {max_distance})")
    n = len(fingerprints)
    for value in fingerprints:
        if not 0 <= value <= MASK64:
            raise ValueError(f"fingerprint {value!r} is not a 64-bit unsigned integer")
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra = find(a)
        rb = find(b)
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb

    bands = max_distance + 1
    width = 64 // bands
    first: dict[int, int] = {}
    recent: dict[int, list[int]] = {}
    for i in range(n):
        fp = fingerprints[i]
        for band in range(bands):
            low = band * width
            high = 64 if band == bands - 1 else low + width
            key = (((fp >> low) & ((1 << (high - low)) - 1)) << 6) | band
            lead = first.get(key)
            if lead is None:
                first[key] = i
                recent[key] = [i]
                continue
            if hamming(fp, fingerprints[lead]) <= max_distance:
                union(lead, i)
            members = recent[key]
            for other in members:
                if other != lead and hamming(fp, fingerprints[other]) <= max_distance:
                    union(other, i)
            members.append(i)
            if len(members) > GROUP_RECENT:
                del members[0]
    return [find(i) for i in range(n)]


__all__ = ["group_similar", "hamming", "simhash"]
