# Walking a dict's entries in place, and fetching a state's items ahead of use: C helpers for
# ``checksums.pyx`` (cimported, so they compile into it and inline into its hashing loop). The
# layout mirrored here is CPython's own; ``checksums._probe_dict_walk`` checks it at import.

from cpython.object cimport PyObject


# Dict entries read in place. On CPython 3.11 to 3.14 (GIL builds) a combined-table dict keeps its
# entries in one array after its index table (the layout mirrored below). An ``mc_walk`` walks it
# exactly as ``PyDict_Next`` does (same order, deleted entries skipped), inlined into the hashing
# loop, with the table's address and length read once per dict rather than once per entry. Only
# Python code can change a dict, so the walker re-reads its table (``mc_walk_sync``) after every
# entry whose hashing may have run some (a callback could have resized it): an entry of plain
# leaves never does. Split tables and other versions go through ``PyDict_Next``; so does
# everything if the import-time probe (``checksums._probe_dict_walk``) finds the two walks
# disagree on this build.
cdef extern from *:
    """
    #if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030F0000 && !defined(Py_GIL_DISABLED) && !defined(PYPY_VERSION)
    #define MC_DICT_INLINE 1
    typedef struct {
        Py_ssize_t dk_refcnt;
        uint8_t dk_log2_size;
        uint8_t dk_log2_index_bytes;
        uint8_t dk_kind;  /* 0: general keys (entries carry the hash), else str keys */
        uint32_t dk_version;
        Py_ssize_t dk_usable;
        Py_ssize_t dk_nentries;
        char dk_indices[];
    } mc_dictkeys;
    typedef struct { Py_hash_t hash; PyObject *key; PyObject *value; } mc_general_entry;
    typedef struct { PyObject *key; PyObject *value; } mc_unicode_entry;
    #else
    #define MC_DICT_INLINE 0
    #endif
    static int mc_dict_inline_on = MC_DICT_INLINE;
    static void mc_dict_walk_disable(void) { mc_dict_inline_on = 0; }
    static int mc_dict_walk_enabled(void) { return mc_dict_inline_on; }

    typedef struct {
        PyObject *dict;
        const char *entries;  /* NULL: walked by PyDict_Next */
        Py_ssize_t n;         /* entry slots in use (deleted ones included) */
        Py_ssize_t pos;       /* the next slot, or PyDict_Next's position */
        int unicode;          /* entries without their hash */
    } mc_walk;

    /* (Re-)read the table of the dict being walked; ``pos`` is kept. */
    static inline void mc_walk_sync(mc_walk *w) {
    #if MC_DICT_INLINE
        PyDictObject *mp = (PyDictObject *)w->dict;
        if (mc_dict_inline_on && mp->ma_values == NULL && w->pos >= 0) {
            const mc_dictkeys *dk = (const mc_dictkeys *)mp->ma_keys;
            w->entries = dk->dk_indices + ((size_t)1 << dk->dk_log2_index_bytes);
            w->n = dk->dk_nentries;
            w->unicode = dk->dk_kind != 0;
            return;
        }
    #endif
        w->entries = NULL;
    }
    static inline void mc_walk_start(mc_walk *w, PyObject *dict) {
        w->dict = dict;
        w->pos = 0;
        mc_walk_sync(w);
    }
    /* The next entry as borrowed references, like PyDict_Next; 0 at the end. */
    static inline int mc_walk_next(mc_walk *w, PyObject **pkey, PyObject **pvalue) {
    #if MC_DICT_INLINE
        if (w->entries != NULL) {
            Py_ssize_t i = w->pos, n = w->n;
            if (w->unicode) {
                const mc_unicode_entry *e = (const mc_unicode_entry *)w->entries;
                while (i < n && e[i].value == NULL) i++;
                if (i >= n) { w->pos = i; return 0; }
                *pkey = e[i].key; *pvalue = e[i].value;
            } else {
                const mc_general_entry *e = (const mc_general_entry *)w->entries;
                while (i < n && e[i].value == NULL) i++;
                if (i >= n) { w->pos = i; return 0; }
                *pkey = e[i].key; *pvalue = e[i].value;
            }
            w->pos = i + 1;
            return 1;
        }
    #endif
        return PyDict_Next(w->dict, &w->pos, pkey, pvalue);
    }
    /* The value in slot ``i`` of the walked table, or NULL (a deleted entry, past the end, or a
       dict not walked in place). Only read for prefetching: never used. */
    static inline PyObject *mc_walk_peek(const mc_walk *w, Py_ssize_t i) {
    #if MC_DICT_INLINE
        if (w->entries != NULL && i < w->n)
            return w->unicode ? ((const mc_unicode_entry *)w->entries)[i].value
                              : ((const mc_general_entry *)w->entries)[i].value;
    #endif
        (void)w; (void)i;
        return NULL;
    }
    /* The value of slot ``i`` of any dict's table, as mc_walk_peek. */
    static inline PyObject *mc_dict_slot_value(PyObject *op, Py_ssize_t i) {
    #if MC_DICT_INLINE
        PyDictObject *mp = (PyDictObject *)op;
        if (mc_dict_inline_on && mp->ma_values == NULL) {
            const mc_dictkeys *dk = (const mc_dictkeys *)mp->ma_keys;
            const char *entries = dk->dk_indices + ((size_t)1 << dk->dk_log2_index_bytes);
            if (i < 0 || i >= dk->dk_nentries) return NULL;
            return dk->dk_kind != 0 ? ((const mc_unicode_entry *)entries)[i].value
                                    : ((const mc_general_entry *)entries)[i].value;
        }
    #endif
        (void)op; (void)i;
        return NULL;
    }
    /* Prefetch stages for the items of a state, a few entries ahead of the one hashed: the item
       object; then (for a dict item, whose header has arrived) its entry table; then each of
       its values. A state too large for the caches otherwise waits on each of these loads in
       turn, item after item. */
    #if defined(__GNUC__) || defined(__clang__)
    #define MC_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define MC_PREFETCH(p) ((void)(p))
    #endif
    static inline void mc_prefetch_object(PyObject *op) {
        if (op != NULL) MC_PREFETCH(op);
    }
    static inline void mc_prefetch_table(PyObject *op) {
        if (op != NULL && Py_IS_TYPE(op, &PyDict_Type) && ((PyDictObject *)op)->ma_values == NULL) {
            const char *dk = (const char *)((PyDictObject *)op)->ma_keys;
            MC_PREFETCH(dk);
            MC_PREFETCH(dk + 64);
            MC_PREFETCH(dk + 128);
        }
    }
    static inline void mc_prefetch_values(PyObject *op) {
        Py_ssize_t i;
        if (op == NULL || !Py_IS_TYPE(op, &PyDict_Type)) return;
        for (i = 0; i < 8; i++) mc_prefetch_object(mc_dict_slot_value(op, i));
    }
    """
    ctypedef struct mc_walk:
        Py_ssize_t pos
    void mc_dict_walk_disable() noexcept
    int mc_dict_walk_enabled() noexcept
    void mc_walk_start(mc_walk* w, object d) noexcept
    void mc_walk_sync(mc_walk* w) noexcept
    bint mc_walk_next(mc_walk* w, PyObject** pkey, PyObject** pvalue) noexcept
    PyObject* mc_walk_peek(const mc_walk* w, Py_ssize_t i) noexcept
    void mc_prefetch_object(PyObject* op) noexcept
    void mc_prefetch_table(PyObject* op) noexcept
    void mc_prefetch_values(PyObject* op) noexcept
