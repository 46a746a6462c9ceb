# The vocabulary of the compiled BM25 index (``search_vocab.pyx``): terms, their table and
# postings, shared by ``search.pyx`` and the tokenizer ``search_scan.pyx``.
cimport cython
from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* 8 bytes as a little-endian word (the first byte lowest), on any machine */
    static inline uint64_t mc_load_le64(const void *p) {
        uint64_t w;
        memcpy(&w, p, 8);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
    #endif
        return w;
    }
    static inline void mc_store_le64(void *p, uint64_t w) {
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
    #endif
        memcpy(p, &w, 8);
    }
    #if defined(__GNUC__) || defined(__clang__)
    #define mc_prefetch(p) __builtin_prefetch((p), 1)
    #else
    #define mc_prefetch(p) ((void)(p))
    #endif
    #define MC_HASH_SEED 0x9E3779B97F4A7C15ULL
    #define MC_EMPTY 0xFFFFFFFFFFFFFFFFULL
    """
    uint64_t mc_load_le64(const void *p) noexcept nogil
    void mc_store_le64(void *p, uint64_t w) noexcept nogil
    void mc_prefetch(const void *p) noexcept nogil  # a hint: fetch this line, soon used
    const uint64_t HASH_SEED "MC_HASH_SEED"  # the start of every term hash
    const uint64_t EMPTY "MC_EMPTY"  # a free table entry

cdef extern from "Python.h":
    unsigned int mc_kind "PyUnicode_KIND"(object o)
    void *mc_data "PyUnicode_DATA"(object o)
    Py_UCS4 mc_read "PyUnicode_READ"(int kind, const void *data, Py_ssize_t index) nogil
    bint mc_is_ascii "PyUnicode_IS_ASCII"(object o)

ctypedef struct Posting:
    int32_t doc
    int32_t tf

ctypedef struct Block:    # per BLOCK postings, for the bound of their scores:
    int32_t maxtf        # the largest tf in them
    int32_t rtf          # and the posting with the smallest dl / tf (the densest)
    int32_t rdl

ctypedef struct Term:    # 64 bytes: one cache line (the array is aligned)
    uint64_t head        # a one-byte term's first 8 bytes (a little-endian word, zero-filled)
    Py_ssize_t off       # code points at arena[off], `length` of them, `kind` bytes each
    int32_t length
    int32_t kind
    int32_t df           # live documents holding the term
    int32_t npost
    Posting *post        # postings (live and dead) in doc order; owned by the Vocab
    Block *blk           # bounds of postings [64 i, 64 i + 64); as many as `cpost` needs
    int32_t cpost
    int32_t maxtf        # upper bounds for pruning: only tighten at compaction
    int32_t mindl
    int32_t scratch      # per-document tf while adding; seen-flag while querying

cdef enum:
    INT32_LIMIT = 0x7FFFFFF0
    BLOCK_SHIFT = 6  # 64 postings a block
    SCRATCH_KEEP = 1 << 20  # bytes of each scan buffer kept between calls (``Vocab.trim``)

cdef void *grow(void *ptr, Py_ssize_t *cap, Py_ssize_t need, size_t item) except NULL


@cython.final
cdef class Vocab:
    cdef Term *terms  # 64-byte aligned inside terms_raw (the allocation)
    cdef void *terms_raw
    cdef Py_ssize_t nterms, cterms
    cdef uint64_t *table  # tag << 32 | term id, all ones empty; power of two, <= half full
    cdef Py_ssize_t tcap
    cdef char *arena
    cdef Py_ssize_t narena, carena
    cdef int32_t *ids  # distinct term ids of the text being added or queried
    cdef Py_ssize_t cids, ndist
    cdef uint8_t *low  # the text (or a token) being scanned, lowercased; 8 bytes of slack
    cdef Py_ssize_t clow
    cdef uint64_t *bits  # which characters of an ASCII text are word characters
    cdef Py_ssize_t cbits

    cdef Py_ssize_t intern(self, int kind, const void *data, Py_ssize_t n, bint insert) except -2
    cdef Py_ssize_t add_term(
        self, Py_ssize_t slot, int kind, const void *data, Py_ssize_t n, uint64_t h, Py_UCS4 top
    ) except -2
    cdef int resize_terms(self, Py_ssize_t cap) except -1
    cdef int rehash(self) except -1
    cdef void clear(self) noexcept
    cdef Py_ssize_t scan_tokens(self, list tokens, bint insert) except -1
    cdef int drop_dead_terms(self, int32_t **remap) except -1
    cdef void trim(self) noexcept
    cdef Py_ssize_t sizeof(self)


# --- hashing and looking terms up, inline in both modules (``search_scan`` per token) ---

cdef inline uint64_t _mix_word(uint64_t h, uint64_t w) noexcept nogil:
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL
    return h ^ (h >> 29)


cdef inline uint64_t _finish(uint64_t h, Py_ssize_t n) noexcept nogil:
    h ^= <uint64_t>n * 0xFF51AFD7ED558CCDULL
    h ^= h >> 33
    h *= 0xFF51AFD7ED558CCDULL
    return h ^ (h >> 33)


cdef inline bint _same_padded(const uint8_t *a, const uint8_t *b, Py_ssize_t n) noexcept nogil:
    """``memcmp(a, b, n) == 0`` in whole words, where both may be read up to 8 bytes past
    ``n`` (the token buffer and the arena keep that slack): the last word masked to ``n``."""
    cdef Py_ssize_t i
    for i in range(0, n - 8, 8):
        if mc_load_le64(a + i) != mc_load_le64(b + i):
            return False
    i = (n - 1) & ~7  # the last word, 1 to 8 bytes of it counted
    return ((mc_load_le64(a + i) ^ mc_load_le64(b + i)) & (
        0xFFFFFFFFFFFFFFFFULL >> (8 * (8 - (n - i))))) == 0


cdef inline bint _same_bytes(const char *a, const char *b, Py_ssize_t n) noexcept nogil:
    """``memcmp(a, b, n) == 0`` for the short strings terms are, without a call."""
    cdef uint64_t x, y
    while n >= 8:
        memcpy(&x, a, 8)
        memcpy(&y, b, 8)
        if x != y:
            return False
        a += 8
        b += 8
        n -= 8
    while n > 0:
        if a[0] != b[0]:
            return False
        a += 1
        b += 1
        n -= 1
    return True


cdef enum:
    PADDED = 0  # the ``kind`` of a one-byte token in a buffer readable 8 bytes past it (``low``)


cdef inline bint _matches(
    Vocab v, const Term *t, int kind, const void *data, Py_ssize_t n, uint64_t head
) noexcept:
    """Whether term ``t`` is the ``n`` code points at ``data``, ``kind`` bytes each. ``PADDED``:
    one byte each, the first 8 as ``head``; a term of up to 8 bytes is told by it alone."""
    if t.length != n:
        return False
    cdef const char *mine = v.arena + t.off
    if kind == PADDED:
        return t.kind == 1 and t.head == head and (
            n <= 8 or _same_padded(<const uint8_t *>mine + 8, <const uint8_t *>data + 8, n - 8)
        )
    if t.kind == kind:
        return _same_bytes(mine, <const char *>data, n * kind)
    cdef Py_ssize_t i
    for i in range(n):
        if mc_read(t.kind, mine, i) != mc_read(kind, data, i):
            return False
    return True


cdef inline Py_ssize_t _find(
    Vocab v, int kind, const void *data, Py_ssize_t n, uint64_t head, uint64_t h,
    Py_ssize_t *slot_out,
) noexcept:
    """The id of the term (hash ``h``; see ``_matches``) or -1, with the empty slot it would
    take."""
    cdef Py_ssize_t mask = v.tcap - 1
    cdef Py_ssize_t slot = <Py_ssize_t>(h & <uint64_t>mask)
    cdef uint64_t entry
    while True:
        entry = v.table[slot]
        if entry == EMPTY:
            slot_out[0] = slot
            return -1
        if (entry >> 32) == (h >> 32):  # the tag: most other terms are told apart here
            if _matches(v, &v.terms[<uint32_t>entry], kind, data, n, head):
                return <uint32_t>entry
        slot = (slot + 1) & mask


cdef inline int _take(Vocab v, Py_ssize_t tid) except -1:
    """Count one token of term ``tid`` (-1: unknown, skipped): its first occurrence goes into
    ``ids``, and ``scratch`` counts them (its tf). Touches the line the lookup just read, so
    adding a document needs no second pass over the terms."""
    if tid < 0:
        return 0
    cdef Term *t = &v.terms[tid]
    if t.scratch == 0:
        if v.ndist >= v.cids:
            v.ids = <int32_t *>grow(v.ids, &v.cids, v.ndist + 1, sizeof(int32_t))
        v.ids[v.ndist] = <int32_t>tid
        v.ndist += 1
    t.scratch += 1
    return 0
