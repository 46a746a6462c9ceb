# The text kernels' C-level pieces that ``pipeline`` (sentence scoring and picking) cimports:
# the byte-string hash table, the stopword lookup, token counting over a range, the fact scan, and
# (for ``prose``) the sentence split.
# Struct and inline helpers are defined here, the other functions in ``text.pyx``.

from libc.stdint cimport uint64_t
from libc.string cimport memcmp


cdef struct _Table:
    Py_ssize_t mask  # capacity - 1; the capacity is a power of two
    Py_ssize_t used
    Py_ssize_t* offs  # arena offset of each slot's key; -1 for an empty slot
    Py_ssize_t* lens
    Py_ssize_t* vals
    uint64_t* hashes
    char* arena
    Py_ssize_t arena_len
    Py_ssize_t arena_cap


cdef int _table_init(_Table* t, Py_ssize_t capacity, Py_ssize_t arena_cap) except -1
cdef void _table_free(_Table* t) noexcept
cdef char* _table_pending(_Table* t, Py_ssize_t length) except NULL
cdef int _table_commit(
    _Table* t, Py_ssize_t slot, Py_ssize_t length, uint64_t h, Py_ssize_t val
) except -1
cdef bint _is_stopword(const char* key, Py_ssize_t length, uint64_t h) noexcept
cdef Py_ssize_t _count_range(int kind, const void* data, Py_ssize_t lo, Py_ssize_t hi) noexcept
cdef list sentence_spans(str text)
cdef Py_ssize_t _scan_facts(
    str text, int kind, const void* data, Py_ssize_t lo, Py_ssize_t hi, list out, Py_ssize_t cap
) except -1


cdef inline uint64_t _finish_hash(uint64_t h) noexcept:
    return h ^ (h >> 29) ^ (h >> 47)


cdef inline Py_ssize_t _table_slot(
    const _Table* t, const char* key, Py_ssize_t length, uint64_t h
) noexcept:
    """The slot holding ``key``, else the empty slot where it would go."""
    cdef Py_ssize_t slot = <Py_ssize_t>(h & <uint64_t>t.mask)
    while t.offs[slot] >= 0:
        if (
            t.hashes[slot] == h
            and t.lens[slot] == length
            and memcmp(t.arena + t.offs[slot], key, length) == 0
        ):
            return slot
        slot = (slot + 1) & t.mask
    return slot
