# cython: freethreading_compatible = False
"""Compiled ``grouping`` kernels: SimHash fingerprints of texts and near-linear grouping of similar
fingerprints. The pure-Python twin is ``memcore/_pure/grouping.py``: same names, signatures and
results (checked by hypothesis in ``tests/test_pipeline_kernels.py``); the ``pipeline`` family
re-exports both. Words are read in place from the string's buffer, as ``pipeline`` does.
"""

from array import array

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ
from libc.stdint cimport uint64_t

from memcore._native._chars cimport _ascii_lower, _fnv, _word_char
from memcore._pure._text_tables import FNV_OFFSET, FNV_PRIME, GROUP_RECENT, MASK64

cdef uint64_t _FNV_OFFSET = FNV_OFFSET
cdef uint64_t _FNV_PRIME = FNV_PRIME
cdef Py_ssize_t _GROUP_RECENT = GROUP_RECENT


# --- SimHash and grouping ----------------------------------------------------------------------

include "text_arg.pxi"


cdef inline uint64_t _mix(uint64_t h) noexcept:
    h = (h ^ (h >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    h = (h ^ (h >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return h ^ (h >> 31)


cdef inline uint64_t _fnv_word(
    uint64_t h, int kind, const void* data, Py_ssize_t start, Py_ssize_t end, list others
):
    """FNV-1a continued over a word of ``tokenize_words``: ``text[start:end]`` lower-cased when
    ``start >= 0`` (an ASCII word, in range), else the lower-cased word ``others[-start - 1]``."""
    cdef Py_ssize_t k
    if start >= 0:
        for k in range(start, end):
            h = (h ^ <uint64_t>_ascii_lower(PyUnicode_READ(kind, <void*>data, k))) * _FNV_PRIME
        return h
    return _fnv(h, <str>others[-start - 1], _FNV_PRIME)


cdef struct _Votes:
    # per bit of the hashes, how many had it set: ``ones`` plus, for the latest ``pending``
    # (< 256) votes, the 8-bit binary counters whose bit ``p`` is plane ``p`` (bit-sliced, so
    # one vote costs a few word operations instead of 64 increments)
    uint64_t planes[8]
    long long ones[64]
    long long total
    int pending


cdef void _flush_votes(_Votes* v) noexcept:
    cdef int p, bit
    cdef uint64_t x
    for p in range(8):
        x = v.planes[p]
        if x:
            for bit in range(64):
                v.ones[bit] += <long long>((x >> bit) & 1) << p
        v.planes[p] = 0
    v.pending = 0


cdef inline void _vote(_Votes* v, uint64_t h) noexcept:
    """Count the set bits of ``h`` (the twin adds 1 per set bit and -1 per clear one)."""
    cdef uint64_t carry = h, both
    cdef int p = 0
    while carry and p < 8:  # 255 pending votes at most: a carry never leaves plane 7
        both = v.planes[p] & carry
        v.planes[p] ^= carry
        carry = both
        p += 1
    v.total += 1
    v.pending += 1
    if v.pending == 255:
        _flush_votes(v)


def simhash(text) -> int:
    """64-bit SimHash of ``text`` over its words and word bigrams (each weighted 1)."""
    return _simhash(_as_text(text))


cdef object _simhash(str text):
    """64-bit SimHash of ``text`` over its words and word bigrams (each weighted 1).

    Words are hashed in place (ASCII ones lower-cased on the fly; others through ``str.lower()``
    like the twin), each once; a bigram continues its first word's hash over a space and the
    second word, which is the twin's hash of the two joined.
    """
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t cap = (n + 1) // 2 + 1  # words are separated, so at most this many
    cdef Py_ssize_t count = 0, i = 0, j, w
    cdef Py_UCS4 c, top
    cdef int bit
    cdef _Votes votes
    cdef uint64_t fingerprint = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    cdef Py_ssize_t* starts = NULL
    cdef Py_ssize_t* ends = NULL
    cdef uint64_t* hashes = NULL
    cdef list others = []
    try:
        starts = <Py_ssize_t*>PyMem_Malloc(cap * sizeof(Py_ssize_t))
        ends = <Py_ssize_t*>PyMem_Malloc(cap * sizeof(Py_ssize_t))
        hashes = <uint64_t*>PyMem_Malloc(cap * sizeof(uint64_t))
        if starts == NULL or ends == NULL or hashes == NULL:
            raise MemoryError()
        while i < n:
            c = PyUnicode_READ(kind, <void*>data, i)
            if not _word_char(c):
                i += 1
                continue
            top = c
            j = i + 1
            while j < n:
                c = PyUnicode_READ(kind, <void*>data, j)
                if not _word_char(c):
                    break
                if c > top:
                    top = c
                j += 1
            if count >= cap:
                raise AssertionError("more words than the text can hold")
            if top < 128:
                starts[count] = i
                ends[count] = j
            else:
                others.append(text[i:j].lower())
                starts[count] = -len(others)
                ends[count] = 0
            hashes[count] = _fnv_word(_FNV_OFFSET, kind, data, starts[count], ends[count], others)
            count += 1
            i = j
        if count == 0:
            return 0
        for bit in range(8):
            votes.planes[bit] = 0
        for bit in range(64):
            votes.ones[bit] = 0
        votes.total = 0
        votes.pending = 0
        for w in range(count):
            _vote(&votes, _mix(hashes[w]))
            if w + 1 < count:
                _vote(
                    &votes,
                    _mix(
                        _fnv_word(
                            (hashes[w] ^ 32) * _FNV_PRIME,
                            kind,
                            data,
                            starts[w + 1],
                            ends[w + 1],
                            others,
                        )
                    ),
                )
        _flush_votes(&votes)
        for bit in range(64):  # the twin's count: ones - (total - ones)
            if 2 * votes.ones[bit] - votes.total > 0:
                fingerprint |= (<uint64_t>1) << bit
        return fingerprint
    finally:
        PyMem_Free(starts)
        PyMem_Free(ends)
        PyMem_Free(hashes)


cdef inline int _popcount(uint64_t x) noexcept:
    cdef int bits = 0
    while x:
        x &= x - 1
        bits += 1
    return bits


def hamming(a, b) -> int:
    """Bits that differ between two 64-bit fingerprints."""
    return _popcount((<uint64_t>(a & MASK64)) ^ (<uint64_t>(b & MASK64)))


cdef long long _find(long long[:] parent, long long x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


cdef void _union(long long[:] parent, long long a, long long b):
    cdef long long ra = _find(parent, a), rb = _find(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


def group_similar(fingerprints, int max_distance) -> list:
    """Group fingerprints within ``max_distance`` bits: a group label (its first index) per item.

    Banded buckets (pigeonhole), each item checked against its bucket's first member and its
    ``GROUP_RECENT`` latest members only: near-linear and deterministic. See the twin for the details.
    """
    if not 0 <= max_distance <= 31:
        raise ValueError(f"max_distance must be within 0..31 (got {max_distance})")
    cdef Py_ssize_t n = len(fingerprints)
    cdef Py_ssize_t i, lead, prev, band
    cdef int bands = max_distance + 1
    cdef int width = 64 // bands
    cdef int low, high
    cdef uint64_t fp, part
    cdef uint64_t[:] fps = array("Q", [0]) * n if n else array("Q")
    cdef long long[:] parent = array("q", range(n))
    cdef dict first = {}, recent = {}
    cdef list members
    for i in range(n):
        value = fingerprints[i]
        if not 0 <= value <= MASK64:
            raise ValueError(f"fingerprint {value!r} is not a 64-bit unsigned integer")
        fps[i] = value
    for i in range(n):
        fp = fps[i]
        for band in range(bands):
            low = band * width
            high = 64 if band == bands - 1 else low + width
            if high - low == 64:
                part = fp
            else:
                part = (fp >> low) & (((<uint64_t>1) << (high - low)) - 1)
            key = ((<object>part) << 6) | band
            found = first.get(key)
            if found is None:
                first[key] = i
                recent[key] = [i]
                continue
            lead = found
            if _popcount(fp ^ fps[lead]) <= max_distance:
                _union(parent, lead, i)
            members = recent[key]
            for other in members:
                prev = other
                if prev != lead and _popcount(fp ^ fps[prev]) <= max_distance:
                    _union(parent, prev, i)
            members.append(i)
            if len(members) > _GROUP_RECENT:
                del members[0]
    return [_find(parent, i) for i in range(n)]
