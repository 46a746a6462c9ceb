# Included by patterns.pyx: where a PatternCounter keeps its contexts. Records of fixed size in one
# C array with a chained hash index and an intrusive least-recently-updated list, successors in a
# flat array beside them (``max_successors`` per record). The arrays grow by doubling up to
# ``max_contexts`` records, the index rebuilt as they do; past that, a new context takes the least
# recently updated one's record. The counter decides what a record counts; this is where it is.

ctypedef struct Context:
    int64_t key[MAXO]
    uint64_t hash
    int64_t total
    int32_t order
    int32_t nsucc
    int32_t prev      # least-recently-updated list
    int32_t next
    int32_t hnext     # hash chain

ctypedef struct Successor:
    int64_t id
    int64_t count
    int64_t stamp

ctypedef struct Contexts:
    Context *ctx
    Successor *succ  # ``max_successors`` a record, record i's from i * max_successors
    int32_t *buckets
    int32_t cap, count, nbuckets, head, tail  # head: least recently updated; -1: none
    int64_t max_contexts, max_successors


cdef inline uint64_t _mix(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t _hash_step(uint64_t h, int64_t item) noexcept nogil:
    return _mix(h ^ <uint64_t>item) + <uint64_t>0x9E3779B97F4A7C15ULL


cdef inline uint64_t _hash_key(const int64_t *key, int order) noexcept nogil:
    """Hash of a context, folded from its newest id back to its oldest: the hashes of all the
    suffixes of the history then come one step each (see ``_record``)."""
    cdef uint64_t h = 0
    cdef int i
    for i in range(order - 1, -1, -1):
        h = _hash_step(h, key[i])
    return h


cdef void _contexts_free(Contexts *s) noexcept:
    PyMem_Free(s.ctx)
    PyMem_Free(s.succ)
    PyMem_Free(s.buckets)
    s.ctx = NULL
    s.succ = NULL
    s.buckets = NULL


cdef int _contexts_grow(Contexts *s) except -1:
    """Double the record arrays (up to max_contexts) and rebuild the hash index."""
    cdef int64_t cap = 64 if s.cap == 0 else 2 * <int64_t>s.cap
    if cap > s.max_contexts:
        cap = s.max_contexts
    cdef int64_t nbuckets = 1
    while nbuckets < 2 * cap:
        nbuckets *= 2
    cdef Context *ctx = <Context *>PyMem_Realloc(s.ctx, cap * sizeof(Context))
    if ctx == NULL:
        raise MemoryError()
    s.ctx = ctx
    cdef Successor *succ = <Successor *>PyMem_Realloc(
        s.succ, cap * s.max_successors * sizeof(Successor)
    )
    if succ == NULL:
        raise MemoryError()
    s.succ = succ
    cdef int32_t *buckets = <int32_t *>PyMem_Realloc(s.buckets, nbuckets * sizeof(int32_t))
    if buckets == NULL:
        raise MemoryError()
    s.buckets = buckets
    s.cap = <int32_t>cap
    s.nbuckets = <int32_t>nbuckets
    cdef int32_t i, b
    for i in range(s.nbuckets):
        buckets[i] = -1
    for i in range(s.count):
        b = <int32_t>(ctx[i].hash & <uint64_t>(nbuckets - 1))
        ctx[i].hnext = buckets[b]
        buckets[b] = i
    return 0


# --- the hash index and the LRU list -----------------------------------------------------------

cdef int32_t _find(const Contexts *s, const int64_t *key, int order, uint64_t h) noexcept:
    if s.buckets == NULL:  # never initialized: nothing is there
        return -1
    cdef int32_t i = s.buckets[h & <uint64_t>(s.nbuckets - 1)]
    cdef int j
    cdef Context *c
    while i >= 0:
        c = &s.ctx[i]
        if c.hash == h and c.order == order:
            for j in range(order):
                if c.key[j] != key[j]:
                    break
            else:
                return i
        i = c.hnext
    return -1


cdef void _lru_unlink(Contexts *s, int32_t i) noexcept:
    cdef Context *c = &s.ctx[i]
    if c.prev >= 0:
        s.ctx[c.prev].next = c.next
    else:
        s.head = c.next
    if c.next >= 0:
        s.ctx[c.next].prev = c.prev
    else:
        s.tail = c.prev


cdef void _lru_append(Contexts *s, int32_t i) noexcept:
    cdef Context *c = &s.ctx[i]
    c.prev = s.tail
    c.next = -1
    if s.tail >= 0:
        s.ctx[s.tail].next = i
    else:
        s.head = i
    s.tail = i


cdef void _unhash(Contexts *s, int32_t i) noexcept:
    cdef int32_t b = <int32_t>(s.ctx[i].hash & <uint64_t>(s.nbuckets - 1))
    cdef int32_t j = s.buckets[b]
    if j == i:
        s.buckets[b] = s.ctx[i].hnext
        return
    while j >= 0:
        if s.ctx[j].hnext == i:
            s.ctx[j].hnext = s.ctx[i].hnext
            return
        j = s.ctx[j].hnext


cdef int32_t _contexts_add(Contexts *s, const int64_t *key, int order, uint64_t h) except -1:
    """The record of a new context (``key``, hashed ``h``), empty, indexed and the most recently
    updated: the least recently updated one's when ``max_contexts`` are kept, else a new one."""
    cdef int32_t i, b
    cdef int j
    cdef Context *c
    if s.count >= s.max_contexts:
        i = s.head
        _unhash(s, i)
        _lru_unlink(s, i)
    else:
        if s.count >= s.cap:
            _contexts_grow(s)
        i = s.count
        s.count += 1
    c = &s.ctx[i]
    memset(c.key, 0, sizeof(c.key))
    for j in range(order):
        c.key[j] = key[j]
    c.hash = h
    c.order = order
    c.total = 0
    c.nsucc = 0
    b = <int32_t>(h & <uint64_t>(s.nbuckets - 1))
    c.hnext = s.buckets[b]
    s.buckets[b] = i
    _lru_append(s, i)
    return i


cdef inline void _contexts_touch(Contexts *s, int32_t i) noexcept:
    """Record ``i`` becomes the most recently updated."""
    if i != s.tail:
        _lru_unlink(s, i)
        _lru_append(s, i)
