# cython: freethreading_compatible = False
"""Compiled ``literal_hits`` of the ``text`` family (re-exported by ``text``; the pure twin is
``memcore._pure.text.literal_hits``, held equal by hypothesis in ``tests/test_masking.py``).

One pass over the bytes: a table of the literals by their first byte (built once from
``SECRET_LITERALS``), and at a byte that starts one, its next bytes compared, each index
checked against the length before it is read. The scan stops once every literal was found.
The pure twin asks ``literal in data`` for each literal: a full scan each, at about 1.5 GB/s,
fourteen times; this is one scan.
"""

from libc.string cimport memcmp, memset

from memcore._pure._text_tables import SECRET_LITERALS

cdef enum:
    MAX_LITERALS = 32
    MAX_LENGTH = 32

cdef unsigned char _lit[MAX_LITERALS][MAX_LENGTH]
cdef Py_ssize_t _len[MAX_LITERALS]
cdef Py_ssize_t _count = 0
# for each first byte: a bit per literal that starts with it
cdef unsigned long long _starts[256]


cdef int _build() except -1:
    global _count
    cdef Py_ssize_t i, j
    cdef bytes literal
    if len(SECRET_LITERALS) > MAX_LITERALS:
        raise ValueError("too many secret literals for the compiled table")
    memset(_starts, 0, sizeof(_starts))
    for i, literal in enumerate(SECRET_LITERALS):
        if not 2 <= len(literal) <= MAX_LENGTH:
            raise ValueError(f"secret literal {literal!r} is not 2 to {MAX_LENGTH} bytes long")
        _len[i] = len(literal)
        for j in range(len(literal)):
            _lit[i][j] = literal[j]
        _starts[literal[0]] |= 1ULL << i
    _count = len(SECRET_LITERALS)
    return 0


_build()


cdef extern from *:
    int __builtin_ctzll(unsigned long long) nogil


cdef unsigned long long _scan(const unsigned char *p, Py_ssize_t n) noexcept nogil:
    """The bits of the literals in ``p[0:n]`` (``p[i]`` read only for ``i < n``, a literal's
    bytes only when all of them are within ``n``)."""
    cdef Py_ssize_t i = 0
    cdef int k
    cdef unsigned long long found = 0, wanted
    cdef unsigned long long every = (1ULL << _count) - 1
    while i < n:
        wanted = _starts[p[i]] & ~found
        while wanted:
            k = __builtin_ctzll(wanted)
            wanted &= wanted - 1
            if (
                n - i >= _len[k]
                and p[i + 1] == _lit[k][1]
                and memcmp(p + i, _lit[k], _len[k]) == 0
            ):
                found |= 1ULL << k
                if found == every:
                    return found
        i += 1
    return found


def literal_hits(const unsigned char[::1] data) -> int:
    """Which of ``SECRET_LITERALS`` occur in ``data``: bit ``i`` set when ``SECRET_LITERALS[i]``
    does."""
    cdef Py_ssize_t n = data.shape[0]
    cdef unsigned long long found
    if _count == 0 or n == 0:
        return 0
    with nogil:
        found = _scan(&data[0], n)
    return found
