"""The vocabulary of the compiled BM25 index: term interning, and the terms' postings.

Split from ``search.pyx`` (which cimports it through ``search_vocab.pxd``); the default
tokenizer that feeds it is ``search_scan.pyx``. Terms are kept in an open-addressing hash table
(a 32-bit tag and the term id per entry, at most half full) over an arena of code points (1, 2
or 4 bytes each, the smallest that fits; a term starts at a multiple of its width), so no
Python object is made per token. A term of one byte per code point keeps its first 8 bytes in
its ``head``: up to 8 bytes, told apart with no arena read. The lookup of an ASCII token is
inline in ``search_vocab.pxd``.
"""
cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

cdef uint64_t FNV_OFFSET = 0xCBF29CE484222325ULL


cdef inline uint64_t _hash_bytes(const uint8_t *p, Py_ssize_t n) noexcept nogil:
    """The hash of a term whose code points are all below 256: its bytes as little-endian
    words (the last one zero-filled), mixed one by one, then the length. ``search_scan`` makes
    the same value from the words of ``low`` as it finds the token."""
    cdef uint64_t h = HASH_SEED, w
    cdef Py_ssize_t j, rest = n
    while rest >= 8:
        h = _mix_word(h, mc_load_le64(p))
        p += 8
        rest -= 8
    if rest > 0:
        w = 0
        for j in range(rest):
            w |= (<uint64_t>p[j]) << (8 * j)
        h = _mix_word(h, w)
    return _finish(h, n)


cdef inline uint64_t _mix(uint64_t h, uint32_t c) noexcept nogil:
    h ^= c
    return h * <uint64_t>0x100000001B3ULL


cdef inline uint64_t _entry(uint64_t h, Py_ssize_t tid) noexcept nogil:
    """A table entry: the hash's high half as a tag, the term id in the low half."""
    return ((h >> 32) << 32) | <uint32_t>tid


cdef void *grow(void *ptr, Py_ssize_t *cap, Py_ssize_t need, size_t item) except NULL:
    """Realloc ``ptr`` to hold at least ``need`` items (capacity doubles)."""
    cdef Py_ssize_t c = cap[0]
    if need <= c and ptr != NULL:
        return ptr
    if c < 2:
        c = 2
    while c < need:
        c *= 2
    cdef void *p = PyMem_Realloc(ptr, <size_t>c * item)
    if p == NULL:
        raise MemoryError()
    cap[0] = c
    return p


cdef inline Py_ssize_t _aligned(Py_ssize_t off, int kind) noexcept:
    """``off`` rounded up to a multiple of ``kind`` (1, 2 or 4): a term's code points are read
    in place as ``uint16_t`` or ``Py_UCS4``, which C reads only at addresses so aligned (x86
    forgives it, the language does not: UBSan reported every such read)."""
    return (off + kind - 1) & ~(<Py_ssize_t>kind - 1)


cdef inline uint64_t _head(const Term *t, const char *bytes) noexcept:
    """A one-byte term's ``head``: its first (up to) 8 bytes, a little-endian word."""
    cdef uint64_t w = 0
    cdef Py_ssize_t j
    for j in range(t.length if t.length < 8 else 8):
        w |= (<uint64_t>(<const uint8_t *>bytes)[j]) << (8 * j)
    return w


cdef uint64_t _term_hash(Vocab v, const Term *t) noexcept:
    """The hash ``intern`` gave the term (terms do not keep it: the table holds its tag)."""
    cdef const char *data = v.arena + t.off
    cdef uint64_t h = FNV_OFFSET
    cdef Py_ssize_t i
    if t.kind == 1:
        return _hash_bytes(<const uint8_t *>data, t.length)
    for i in range(t.length):
        h = _mix(h, mc_read(t.kind, data, i))
    return h


@cython.final
cdef class Vocab:
    """Interned terms (with their postings) and the token buffers of one index."""

    def __cinit__(self):
        self.tcap = 1024
        self.table = <uint64_t *>PyMem_Malloc(self.tcap * sizeof(uint64_t))
        if self.table == NULL:
            raise MemoryError()
        memset(self.table, 0xFF, self.tcap * sizeof(uint64_t))

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.terms != NULL:
            for i in range(self.nterms):
                PyMem_Free(self.terms[i].post)
                PyMem_Free(self.terms[i].blk)
            PyMem_Free(self.terms_raw)
        PyMem_Free(self.table)
        PyMem_Free(self.arena)
        PyMem_Free(self.ids)
        PyMem_Free(self.low)
        PyMem_Free(self.bits)

    cdef Py_ssize_t intern(self, int kind, const void *data, Py_ssize_t n, bint insert) except -2:
        """The term id of the ``n`` code points at ``data``; -1 if unknown and not ``insert``."""
        cdef uint64_t h = FNV_OFFSET
        cdef Py_UCS4 c, top = 0
        cdef Py_ssize_t i, slot, tid
        for i in range(n):
            c = mc_read(kind, data, i)
            if c > top:
                top = c
        if top < 256:  # one byte per code point: hashed as bytes, like the ASCII fast path
            if kind != 1:
                if n > self.clow:
                    self.low = <uint8_t *>grow(self.low, &self.clow, n, 1)
                for i in range(n):
                    self.low[i] = <uint8_t>mc_read(kind, data, i)
                data, kind = self.low, 1
            h = _hash_bytes(<const uint8_t *>data, n)
        else:
            for i in range(n):
                h = _mix(h, mc_read(kind, data, i))
        tid = _find(self, kind, data, n, 0, h, &slot)
        if tid < 0 and insert:
            tid = self.add_term(slot, kind, data, n, h, top)
        return tid

    cdef Py_ssize_t add_term(
        self, Py_ssize_t slot, int kind, const void *data, Py_ssize_t n, uint64_t h, Py_UCS4 top
    ) except -2:
        """A new term in empty table ``slot`` (from ``_find``): hash ``h`` (``_hash_bytes`` when
        every code point is below 256, else ``_mix`` over them), largest code point ``top``."""
        cdef Py_ssize_t i
        cdef Py_UCS4 c
        cdef int32_t tid
        if self.nterms >= INT32_LIMIT:
            raise OverflowError("too many distinct terms for one index")
        cdef int tkind = 1 if top < 256 else (2 if top < 65536 else 4)
        cdef Py_ssize_t at = _aligned(self.narena, tkind)
        # 8 bytes of slack after the last term, for ``_same_padded``'s last word
        self.arena = <char *>grow(self.arena, &self.carena, at + n * tkind + 8, 1)
        cdef char *dst = self.arena + at
        if tkind == kind:
            memcpy(dst, data, <size_t>(n * kind))
        else:
            for i in range(n):
                c = mc_read(kind, data, i)
                if tkind == 1:
                    (<uint8_t *>dst)[i] = <uint8_t>c
                elif tkind == 2:
                    (<uint16_t *>dst)[i] = <uint16_t>c
                else:
                    (<uint32_t *>dst)[i] = <uint32_t>c
        if self.nterms >= self.cterms:
            self.resize_terms(self.cterms * 2 if self.cterms >= 8 else 8)
        tid = <int32_t>self.nterms
        memset(&self.terms[tid], 0, sizeof(Term))
        self.terms[tid].length = <int32_t>n
        self.terms[tid].head = _head(&self.terms[tid], dst) if tkind == 1 else 0
        self.terms[tid].off = at
        self.terms[tid].kind = tkind
        self.terms[tid].mindl = INT32_LIMIT
        self.narena = at + n * tkind
        self.nterms += 1
        self.table[slot] = _entry(h, tid)
        if self.nterms * 2 > self.tcap:
            self.rehash()
        return tid

    cdef int resize_terms(self, Py_ssize_t cap) except -1:
        """Move the terms to an array of ``cap``, each term on its own 64-byte cache line (a
        lookup and the posting append that follows then touch one line)."""
        cdef void *raw = PyMem_Malloc(cap * sizeof(Term) + 64)
        if raw == NULL:
            raise MemoryError()
        cdef Term *terms = <Term *>((<size_t>raw + 63) & ~(<size_t>63))
        if self.nterms:
            memcpy(terms, self.terms, self.nterms * sizeof(Term))
        PyMem_Free(self.terms_raw)
        self.terms_raw, self.terms, self.cterms = raw, terms, cap
        return 0

    cdef int rehash(self) except -1:
        cdef Py_ssize_t cap = self.tcap * 2, i, slot
        cdef uint64_t h
        cdef uint64_t *table = <uint64_t *>PyMem_Malloc(cap * sizeof(uint64_t))
        if table == NULL:
            raise MemoryError()
        memset(table, 0xFF, cap * sizeof(uint64_t))
        for i in range(self.nterms):
            h = _term_hash(self, &self.terms[i])
            slot = <Py_ssize_t>(h & <uint64_t>(cap - 1))
            while table[slot] != EMPTY:
                slot = (slot + 1) & (cap - 1)
            table[slot] = _entry(h, i)
        PyMem_Free(self.table)
        self.table = table
        self.tcap = cap
        return 0

    cdef void clear(self) noexcept:
        """Reset what ``_take`` counted (every path that scanned ends here or resets it itself)."""
        cdef Py_ssize_t j
        for j in range(self.ndist):
            self.terms[self.ids[j]].scratch = 0
        self.ndist = 0


    cdef Py_ssize_t scan_tokens(self, list tokens, bint insert) except -1:
        """``scan_text`` for tokens made by another tokenizer."""
        cdef Py_ssize_t count = 0
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"tokens must be str (got {type(token).__name__})")
            if len(<str>token) >= INT32_LIMIT:
                raise OverflowError("a token too long for the index")
        if len(tokens) >= INT32_LIMIT:
            raise OverflowError("a document or query holds too many tokens")
        self.ndist = 0
        try:
            for token in tokens:
                _take(self, self.intern(mc_kind(token), mc_data(token), len(<str>token), insert))
                count += 1
        except BaseException:
            self.clear()
            raise
        return count

    cdef int drop_dead_terms(self, int32_t **remap_out) except -1:
        """Forget the terms no document holds any more (ids, arena and table shrink) once they
        are most of the vocabulary, or most of its bytes (past ``SCRATCH_KEEP``), so churning
        unique words does not grow the index forever, nor one huge word outlive its document.

        Returns 1 and sets ``remap_out`` (old id -> new id or -1; the caller renumbers what
        holds term ids, then frees it) when it did, else 0."""
        cdef Py_ssize_t i, live = 0, nbytes = 0, cap = 1024, slot, size
        cdef uint64_t h
        for i in range(self.nterms):
            if self.terms[i].df > 0:
                live += 1
                size = self.terms[i].length * self.terms[i].kind
                nbytes = _aligned(nbytes, self.terms[i].kind) + size  # (laid out as below)
        if (self.nterms - live <= live or self.nterms - live < 1024) and (
            self.narena - nbytes <= nbytes or self.narena - nbytes < SCRATCH_KEEP
        ):
            return 0
        while cap < 2 * live + 2:
            cap *= 2
        cdef int32_t *remap = <int32_t *>PyMem_Malloc(self.nterms * sizeof(int32_t))
        cdef char *arena = <char *>PyMem_Malloc(nbytes + 8)  # the slack as in ``add_term``
        cdef uint64_t *table = <uint64_t *>PyMem_Malloc(cap * sizeof(uint64_t))
        if remap == NULL or arena == NULL or table == NULL:
            PyMem_Free(remap)
            PyMem_Free(arena)
            PyMem_Free(table)
            raise MemoryError()
        memset(table, 0xFF, cap * sizeof(uint64_t))
        cdef Py_ssize_t new = 0, off = 0
        cdef Term term
        for i in range(self.nterms):  # ids only move down: in place, in order
            term = self.terms[i]
            if term.df == 0:
                remap[i] = -1
                continue
            h = _term_hash(self, &term)  # from the old arena, where ``off`` still points
            size = term.length * term.kind
            off = _aligned(off, term.kind)
            memcpy(arena + off, self.arena + term.off, <size_t>size)
            term.off = off
            off += size
            remap[i] = <int32_t>new
            self.terms[new] = term
            slot = <Py_ssize_t>(h & <uint64_t>(cap - 1))
            while table[slot] != EMPTY:
                slot = (slot + 1) & (cap - 1)
            table[slot] = _entry(h, new)
            new += 1
        remap_out[0] = remap
        PyMem_Free(self.arena)
        PyMem_Free(self.table)
        self.arena, self.narena, self.carena = arena, off, nbytes + 8
        self.table, self.tcap = table, cap
        self.nterms = new
        try:
            self.resize_terms(new + 8)
        except MemoryError:
            pass  # the larger array stays
        return 1

    cdef void trim(self) noexcept:
        """Free the scan buffers grown past ``SCRATCH_KEEP`` bytes once a call is done with
        them: one 50 MB text otherwise left 56 MB behind for the life of the index, removed or
        not. Texts below that size reuse their buffers, as before."""
        if self.ndist:
            return  # (``ids`` still in use: never the case between calls)
        if self.clow > SCRATCH_KEEP:
            PyMem_Free(self.low)
            self.low, self.clow = NULL, 0
        if self.cbits * <Py_ssize_t>sizeof(uint64_t) > SCRATCH_KEEP:
            PyMem_Free(self.bits)
            self.bits, self.cbits = NULL, 0
        if self.cids * <Py_ssize_t>sizeof(int32_t) > SCRATCH_KEEP:
            PyMem_Free(self.ids)
            self.ids, self.cids = NULL, 0

    cdef Py_ssize_t sizeof(self):
        cdef Py_ssize_t size = sizeof(Vocab), i
        size += self.cterms * sizeof(Term) + 64 + self.tcap * sizeof(uint64_t) + self.carena
        size += self.cids * sizeof(int32_t) + self.clow + self.cbits * sizeof(uint64_t)
        for i in range(self.nterms):
            size += self.terms[i].cpost * sizeof(Posting)
            if self.terms[i].blk != NULL:
                size += ((self.terms[i].cpost >> BLOCK_SHIFT) + 1) * sizeof(Block)
        return size
