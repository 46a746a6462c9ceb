# Digests of dicts and memory items for ``checksums.pyx`` (included there): the entries of a
# dict are encoded a batch at a time and their hashes summed, so the result does not depend
# on the order of the entries.
#
# An entry's hash is a short XXH64 whose tail is one serial chain of multiplies: hashed as soon as
# each entry is encoded, every entry would wait on its own chain's latency. A digest only sums the
# entry hashes, so entries are first encoded into a batch of states, then their hashes are
# computed back to back: four independent chains close together in the instruction stream, which
# the CPU runs overlapped. Deep containers (past BATCH_DEPTH) hash entry by entry, which keeps the
# stack small for pathological nesting.

cdef enum:
    BATCH = 4
    BATCH_DEPTH = 8


cdef struct Acc:
    uint64_t count
    uint64_t total
    uint64_t mixed


cdef inline void acc_add(Acc* acc, uint64_t h) noexcept nogil:
    acc.count += 1
    acc.total += h
    acc.mixed += _avalanche(h)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void digest_batch(XState* states, int k, Acc* acc) noexcept nogil:
    """Fold the digests of the first ``k`` (<= BATCH) states into ``acc``."""
    cdef int i
    for i in range(k):
        acc_add(acc, xs_digest(&states[i]))


cdef inline bint _start_ascii_entry(XState* st, PyObject* key, PyObject* value) noexcept:
    """Start ``st`` afresh with an entry whose key is compact ASCII, by plain stores.

    The value is written too when it is compact ASCII and the whole entry fits the buffer (the
    common entry: one length check instead of one per piece); then True. Otherwise False, with
    the key written, or nothing (``st.used == 0``) when the key alone does not fit.
    """
    cdef size_t kn = <size_t>PyUnicode_GET_LENGTH(<object>key)
    cdef size_t vn, at
    xs_init(st, 0)
    if kn + 9 > XS_BUFFER:
        return False
    st.buf[0] = TAG_STR
    mc_write64(&st.buf[1], <uint64_t>kn)
    mc_copy(&st.buf[9], MC_ASCII_DATA(key), kn)
    at = kn + 9
    if MC_IS_COMPACT_ASCII_EXACT(value):
        vn = <size_t>PyUnicode_GET_LENGTH(<object>value)
        if at + 9 + vn <= XS_BUFFER:
            st.buf[at] = TAG_STR
            mc_write64(&st.buf[at + 1], <uint64_t>vn)
            mc_copy(&st.buf[at + 9], MC_ASCII_DATA(value), vn)
            at += 9 + vn
            st.used = st.total = at
            return True
    st.used = st.total = at
    return False


cdef int dict_digest(object mapping, int depth, uint64_t* out) except -1:
    """Digest of a dict's entries (``mapping`` must be a dict or a dict subclass)."""
    cdef mc_walk walk
    cdef PyObject* kptr
    cdef PyObject* vptr
    cdef object key, value
    cdef uint64_t h
    cdef Acc acc
    cdef XState batch[BATCH]
    cdef XState* st
    cdef Py_ssize_t n
    cdef int k = 0
    acc.count = acc.total = acc.mixed = 0
    mc_walk_start(&walk, mapping)
    while mc_walk_next(&walk, &kptr, &vptr):
        if depth == 0:  # the state's items: fetch ahead (``walk.pos`` is one past this entry)
            mc_prefetch_object(mc_walk_peek(&walk, walk.pos + 7))
            mc_prefetch_table(mc_walk_peek(&walk, walk.pos + 3))
            mc_prefetch_values(mc_walk_peek(&walk, walk.pos))
        if depth < BATCH_DEPTH and MC_IS_COMPACT_ASCII_EXACT(kptr):
            # The common entry, an ASCII key: hashed from borrowed references, since nothing
            # here calls back into Python; values that might are owned first, below.
            st = &batch[k]
            if not _start_ascii_entry(st, kptr, vptr):
                if st.used == 0:
                    _put_ascii(st, kptr)
                if not _put_leaf(st, vptr):
                    value = <object>vptr
                    encode(st, value, depth)
                    mc_walk_sync(&walk)  # Python code may have run and resized the dict
            k += 1
            if k == BATCH:
                digest_batch(batch, k, &acc)
                k = 0
            continue
        # Own references while hashing: a callback could otherwise free them under us.
        key = <object>kptr
        value = <object>vptr
        if depth >= BATCH_DEPTH:
            entry_hash_c(key, value, depth, &h)
            mc_walk_sync(&walk)
            acc_add(&acc, h)
            continue
        entry_encode(&batch[k], key, value, depth)
        mc_walk_sync(&walk)
        k += 1
        if k == BATCH:
            digest_batch(batch, k, &acc)
            k = 0
    digest_batch(batch, k, &acc)
    # the count is the dict's length, as the definition says, even if a callback resized it
    # (its own: a subclass's ``__len__`` has no say, as the pure twin's ``dict.__len__``)
    n = PyDict_GET_SIZE(mapping)
    out[0] = finalize(<uint64_t>n, acc.total, acc.mixed)
    return 0


cdef int mapping_digest(object mapping, int depth, uint64_t* out) except -1:
    """Digest of any ``Mapping`` (dicts take the fast path)."""
    cdef uint64_t h
    cdef Acc acc
    if isinstance(mapping, dict):
        return dict_digest(mapping, depth, out)
    acc.count = acc.total = acc.mixed = 0
    for key, value in mapping.items():
        entry_hash_c(key, value, depth, &h)
        acc_add(&acc, h)
    out[0] = finalize(<uint64_t>len(mapping), acc.total, acc.mixed)
    return 0


cdef str _K_ID = "id"
cdef str _K_CONTENT = "content"
cdef str _K_PRIORITY = "priority"
cdef str _K_CREATED_AT = "created_at"
cdef str _K_METADATA = "metadata"


# MemoryItem is a slots dataclass: its fields are read at their slot offsets, found once here
# from the member descriptors (-1, and plain attribute access, if a field is not such a slot).
cdef extern from *:
    """
    #include "structmember.h"
    static Py_ssize_t mc_slot_offset(PyObject *descr) {
        PyMemberDef *member;
        if (Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) return -1;
        return member->offset;
    }
    static inline PyObject *mc_slot(PyObject *obj, Py_ssize_t offset) {
        return *(PyObject **)((char *)obj + offset);
    }
    """
    Py_ssize_t mc_slot_offset(object descr)
    PyObject* mc_slot(object obj, Py_ssize_t offset)


cdef Py_ssize_t _OFF_ID = mc_slot_offset(MemoryItem.__dict__.get("id"))
cdef Py_ssize_t _OFF_CONTENT = mc_slot_offset(MemoryItem.__dict__.get("content"))
cdef Py_ssize_t _OFF_PRIORITY = mc_slot_offset(MemoryItem.__dict__.get("priority"))
cdef Py_ssize_t _OFF_CREATED_AT = mc_slot_offset(MemoryItem.__dict__.get("created_at"))
cdef Py_ssize_t _OFF_METADATA = mc_slot_offset(MemoryItem.__dict__.get("metadata"))


cdef inline object _field(object item, Py_ssize_t offset, str name):
    """A MemoryItem field by its slot (an unset slot raises AttributeError, as getattr would)."""
    cdef PyObject* raw
    if offset >= 0:
        raw = mc_slot(item, offset)
        if raw != NULL:
            return <object>raw
    return getattr(item, name)


cdef int item_digest(object item, int depth, uint64_t* out) except -1:
    """Digest of a MemoryItem, equal to that of its ``to_dict()`` without building the dict."""
    cdef Acc acc
    cdef XState batch[BATCH]
    cdef uint64_t h
    cdef object priority
    if type(item) is not _MemoryItem:  # a subclass may redefine its plain form
        return mapping_digest(item.to_dict(), depth, out)
    priority = _field(item, _OFF_PRIORITY, _K_PRIORITY)
    # A Priority member is a str whose text is its value; anything else goes by ``.value``.
    if type(priority) is not _Priority:
        priority = priority.value
    acc.count = acc.total = acc.mixed = 0
    if depth >= BATCH_DEPTH:  # deep in a value: entry by entry, like dict_digest
        for name, value in (
            (_K_ID, _field(item, _OFF_ID, _K_ID)),
            (_K_CONTENT, _field(item, _OFF_CONTENT, _K_CONTENT)),
            (_K_PRIORITY, priority),
            (_K_CREATED_AT, _field(item, _OFF_CREATED_AT, _K_CREATED_AT)),
            (_K_METADATA, _field(item, _OFF_METADATA, _K_METADATA)),
        ):
            entry_hash_c(name, value, depth, &h)
            acc_add(&acc, h)
        out[0] = finalize(5, acc.total, acc.mixed)
        return 0
    entry_encode(&batch[0], _K_ID, _field(item, _OFF_ID, _K_ID), depth)
    entry_encode(&batch[1], _K_CONTENT, _field(item, _OFF_CONTENT, _K_CONTENT), depth)
    entry_encode(&batch[2], _K_PRIORITY, priority, depth)
    entry_encode(&batch[3], _K_CREATED_AT, _field(item, _OFF_CREATED_AT, _K_CREATED_AT), depth)
    digest_batch(batch, BATCH, &acc)
    entry_hash_c(_K_METADATA, _field(item, _OFF_METADATA, _K_METADATA), depth, &h)
    acc_add(&acc, h)
    out[0] = finalize(5, acc.total, acc.mixed)
    return 0
