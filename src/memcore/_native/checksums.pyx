"""XXH64 and the canonical, order-independent hash of a memory state (compiled twin).

Bit-for-bit the same results as ``memcore._pure.checksums``, whose docstring specifies the
canonical encoding; the tags and constants come from ``memcore._pure._checksum_tables`` (imported
below, never copied). What this module adds is speed: XXH64 runs over raw buffers without the GIL,
values are walked with the CPython C API (dict entries read in place, see ``_dict_walk.pxd``;
list/tuple items, PEP 393 string data, datetime fields) and streamed into an on-stack XXH64 state,
so no per-value Python object and no encoded copy of the state is ever made. Compact ASCII strings
are hashed straight from their storage; others by the UTF-8 form CPython caches on them (see
``_put_str_general``). A state's items are fetched from memory a few entries ahead of the one
being hashed (``_dict_walk.pxd`` too): a state larger than the caches is otherwise waited on load
after load.
"""

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.buffer cimport (
    PyBUF_RECORDS_RO,
    PyBUF_SIMPLE,
    PyBuffer_Release,
    PyObject_GetBuffer,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.datetime cimport (
    PyDateTime_Check,
    PyDateTime_DATE_GET_HOUR,
    PyDateTime_DATE_GET_MICROSECOND,
    PyDateTime_DATE_GET_MINUTE,
    PyDateTime_DATE_GET_SECOND,
    PyDateTime_DATE_GET_TZINFO,
    PyDateTime_DELTA_GET_DAYS,
    PyDateTime_DELTA_GET_MICROSECONDS,
    PyDateTime_DELTA_GET_SECONDS,
    PyDateTime_GET_DAY,
    PyDateTime_GET_MONTH,
    PyDateTime_GET_YEAR,
    PyDelta_Check,
    import_datetime,
)
from cpython.dict cimport PyDict_Next
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_1BYTE_DATA, PyUnicode_GET_LENGTH
from libc.math cimport isnan
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove, strchr

from memcore._native._dict_walk cimport (
    mc_dict_next,
    mc_dict_slot_value,
    mc_dict_walk_disable,
    mc_dict_walk_enabled,
    mc_prefetch_object,
    mc_prefetch_table,
    mc_prefetch_values,
)

from collections.abc import Mapping
from datetime import datetime, timezone

from memcore._pure import _checksum_tables as _tables
from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority

import_datetime()

cdef extern from *:
    """
    #define MC_IS_COMPACT_ASCII_EXACT(o) (PyUnicode_CheckExact(o) && \
        ((PyASCIIObject *)(o))->state.compact && ((PyASCIIObject *)(o))->state.ascii)
    /* the characters of a compact ASCII str: right after its header */
    #define MC_ASCII_DATA(o) ((const uint8_t *)(((PyASCIIObject *)(o)) + 1))
    #define mc_type(o) ((PyObject *)Py_TYPE(o))
    """
    bint MC_IS_COMPACT_ASCII "PyUnicode_IS_COMPACT_ASCII" (object o)
    bint MC_IS_COMPACT_ASCII_EXACT(PyObject* o) noexcept
    const uint8_t* MC_ASCII_DATA(PyObject* o) noexcept
    PyObject* mc_type(PyObject* o) noexcept
    Py_ssize_t PyDict_GET_SIZE(object o) noexcept
    const char* PyUnicode_AsUTF8AndSize(object o, Py_ssize_t* size) except NULL

# Little-endian loads and stores of unaligned words; big-endian hosts byte-swap.
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    #  define MC_BSWAP64(x) __builtin_bswap64(x)
    #  define MC_BSWAP32(x) __builtin_bswap32(x)
    #else
    #  define MC_BSWAP64(x) (x)
    #  define MC_BSWAP32(x) (x)
    #endif
    static inline uint64_t mc_read64(const unsigned char *p) {
        uint64_t v; memcpy(&v, p, 8); return MC_BSWAP64(v);
    }
    static inline uint32_t mc_read32(const unsigned char *p) {
        uint32_t v; memcpy(&v, p, 4); return MC_BSWAP32(v);
    }
    static inline void mc_write64(unsigned char *p, uint64_t v) {
        v = MC_BSWAP64(v); memcpy(p, &v, 8);
    }
    /* memcpy for the short pieces most entries are made of, without a libc call: two
       overlapping fixed-size moves cover any length up to twice their size */
    static inline void mc_copy(unsigned char *dst, const unsigned char *src, size_t n) {
        uint64_t a, b; uint32_t c, d;
        if (n >= 8 && n <= 16) {
            memcpy(&a, src, 8); memcpy(&b, src + n - 8, 8);
            memcpy(dst, &a, 8); memcpy(dst + n - 8, &b, 8);
        } else if (n >= 4 && n < 8) {
            memcpy(&c, src, 4); memcpy(&d, src + n - 4, 4);
            memcpy(dst, &c, 4); memcpy(dst + n - 4, &d, 4);
        } else if (n < 4) {
            if (n) { dst[0] = src[0]; dst[n / 2] = src[n / 2]; dst[n - 1] = src[n - 1]; }
        } else if (n <= 32) {
            unsigned char x[16], y[16];
            memcpy(x, src, 16); memcpy(y, src + n - 16, 16);
            memcpy(dst, x, 16); memcpy(dst + n - 16, y, 16);
        } else if (n <= 64) {
            unsigned char x[32], y[32];
            memcpy(x, src, 32); memcpy(y, src + n - 32, 32);
            memcpy(dst, x, 32); memcpy(dst + n - 32, y, 32);
        } else {
            memcpy(dst, src, n);
        }
    }
    """
    uint64_t mc_read64(const uint8_t *p) noexcept nogil
    void mc_copy(uint8_t *dst, const uint8_t *src, size_t n) noexcept nogil
    uint32_t mc_read32(const uint8_t *p) noexcept nogil
    void mc_write64(uint8_t *p, uint64_t v) noexcept nogil

# XXH64's published constants, as compile-time literals (checked against the tables at import).
cdef extern from *:
    """
    #define MC_P1 0x9E3779B185EBCA87ULL
    #define MC_P2 0xC2B2AE3D27D4EB4FULL
    #define MC_P3 0x165667B19E3779F9ULL
    #define MC_P4 0x85EBCA77C2B2AE63ULL
    #define MC_P5 0x27D4EB2F165667C5ULL
    """
    const uint64_t MC_P1
    const uint64_t MC_P2
    const uint64_t MC_P3
    const uint64_t MC_P4
    const uint64_t MC_P5

if (MC_P1, MC_P2, MC_P3, MC_P4, MC_P5) != (
    _tables.PRIME64_1, _tables.PRIME64_2, _tables.PRIME64_3, _tables.PRIME64_4, _tables.PRIME64_5
):
    raise ImportError("memcore._native.checksums: XXH64 primes differ from the shared tables")

# Tags and limits: module-level C copies of the shared table, filled at import.
cdef uint8_t TAG_NONE = _tables.TAG_NONE
cdef uint8_t TAG_TRUE = _tables.TAG_TRUE
cdef uint8_t TAG_FALSE = _tables.TAG_FALSE
cdef uint8_t TAG_INT = _tables.TAG_INT
cdef uint8_t TAG_BIGINT = _tables.TAG_BIGINT
cdef uint8_t TAG_FLOAT = _tables.TAG_FLOAT
cdef uint8_t TAG_STR = _tables.TAG_STR
cdef uint8_t TAG_BYTES = _tables.TAG_BYTES
cdef uint8_t TAG_LIST = _tables.TAG_LIST
cdef uint8_t TAG_DICT = _tables.TAG_DICT
cdef uint8_t TAG_AWARE_DATETIME = _tables.TAG_AWARE_DATETIME
cdef uint8_t TAG_NAIVE_DATETIME = _tables.TAG_NAIVE_DATETIME
cdef uint64_t CANONICAL_NAN = _tables.CANONICAL_NAN
cdef int MAX_DEPTH = _tables.MAX_DEPTH
cdef uint64_t DIGEST_SEED = _tables.DIGEST_SEED

cdef object _UTC = timezone.utc
cdef type _DATETIME = datetime
cdef object _MemoryItem = MemoryItem
cdef object _Priority = Priority
cdef int64_t _EPOCH_ORDINAL = _tables.EPOCH_ORDINAL
_MASK = 0xFFFFFFFFFFFFFFFF
cdef Py_ssize_t _NOGIL_THRESHOLD = 1 << 16


cdef bint _same_walk(dict probe):
    """Whether ``mc_dict_next`` and ``PyDict_Next`` give ``probe``'s entries alike."""
    cdef Py_ssize_t a = 0, b = 0
    cdef PyObject* ka
    cdef PyObject* va
    cdef PyObject* kb
    cdef PyObject* vb
    cdef bint more
    while True:
        more = mc_dict_next(probe, &a, &ka, &va)
        if more != PyDict_Next(probe, &b, &kb, &vb):
            return False
        if not more:
            return True
        if a != b or ka != kb or va != vb:
            return False


def _probe_dict_walk():
    """Check the in-place dict walk against ``PyDict_Next`` on dicts of every table kind (str
    keys, other keys, deleted entries, a resized table); on any difference use only
    ``PyDict_Next`` from then on. Returns whether the in-place walk is in use."""
    str_keys = {f"k{i}": i for i in range(40)}
    for i in range(0, 40, 3):
        del str_keys[f"k{i}"]
    mixed_keys = {1: "a", "b": 2, (3,): None, 4.5: [], "e": {}}
    del mixed_keys["b"]
    probes = [{}, {"a": 1}, str_keys, mixed_keys, dict.fromkeys(range(300))]
    if not all(_same_walk(probe) for probe in probes):
        mc_dict_walk_disable()
    return bool(mc_dict_walk_enabled())


_probe_dict_walk()


# --- XXH64 core ---------------------------------------------------------------------------------

cdef inline uint64_t _rotl(uint64_t x, int r) noexcept nogil:
    return (x << r) | (x >> (64 - r))


cdef inline uint64_t _round(uint64_t acc, uint64_t lane) noexcept nogil:
    acc = acc + lane * MC_P2
    acc = _rotl(acc, 31)
    return acc * MC_P1


cdef inline uint64_t _merge(uint64_t h, uint64_t acc) noexcept nogil:
    h = h ^ _round(0, acc)
    return h * MC_P1 + MC_P4


cdef inline uint64_t _avalanche(uint64_t h) noexcept nogil:
    h = h ^ (h >> 33)
    h = h * MC_P2
    h = h ^ (h >> 29)
    h = h * MC_P3
    return h ^ (h >> 32)


cdef inline uint64_t _finish(uint64_t h, const uint8_t* p, size_t n) noexcept nogil:
    """Fold the last ``n < 32`` bytes at ``p`` into ``h`` and avalanche."""
    while n >= 8:
        h = h ^ _round(0, mc_read64(p))
        h = _rotl(h, 27) * MC_P1 + MC_P4
        p += 8
        n -= 8
    if n >= 4:
        h = h ^ (<uint64_t>mc_read32(p) * MC_P1)
        h = _rotl(h, 23) * MC_P2 + MC_P3
        p += 4
        n -= 4
    while n > 0:
        h = h ^ (<uint64_t>p[0] * MC_P5)
        h = _rotl(h, 11) * MC_P1
        p += 1
        n -= 1
    return _avalanche(h)


cdef enum:
    XS_BUFFER = 256  # pending bytes are batched: small writes are plain stores, no stripe work


cdef struct XState:
    uint64_t v1
    uint64_t v2
    uint64_t v3
    uint64_t v4
    uint64_t total
    uint64_t seed
    size_t used  # pending bytes in buf, not yet folded into the lanes
    uint8_t buf[XS_BUFFER]


cdef inline void xs_init(XState* st, uint64_t seed) noexcept nogil:
    st.v1 = seed + MC_P1 + MC_P2
    st.v2 = seed + MC_P2
    st.v3 = seed
    st.v4 = seed - MC_P1
    st.total = 0
    st.seed = seed
    st.used = 0


cdef inline const uint8_t* _xs_stripes(XState* st, const uint8_t* p, size_t n) noexcept nogil:
    """Fold the whole 32-byte stripes of ``n`` bytes at ``p``; return where the rest starts."""
    cdef uint64_t v1 = st.v1, v2 = st.v2, v3 = st.v3, v4 = st.v4
    while n >= 32:
        v1 = _round(v1, mc_read64(p))
        v2 = _round(v2, mc_read64(p + 8))
        v3 = _round(v3, mc_read64(p + 16))
        v4 = _round(v4, mc_read64(p + 24))
        p += 32
        n -= 32
    st.v1, st.v2, st.v3, st.v4 = v1, v2, v3, v4
    return p


cdef inline uint64_t _converge(const XState* lanes) noexcept nogil:
    """Fold the four lanes into one hash (XXH64's start of the finish for inputs >= 32 bytes)."""
    cdef uint64_t h = (
        _rotl(lanes.v1, 1) + _rotl(lanes.v2, 7) + _rotl(lanes.v3, 12) + _rotl(lanes.v4, 18)
    )
    h = _merge(h, lanes.v1)
    h = _merge(h, lanes.v2)
    h = _merge(h, lanes.v3)
    h = _merge(h, lanes.v4)
    return h


cdef uint64_t xxh64_raw(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    """One-shot XXH64 of ``n`` bytes at ``p``."""
    cdef XState lanes  # only the lanes are used: the buffer stays untouched
    cdef const uint8_t* rest
    cdef uint64_t h
    cdef size_t total = n
    if n >= 32:
        xs_init(&lanes, seed)
        rest = _xs_stripes(&lanes, p, n)
        n -= <size_t>(rest - p)
        p = rest
        h = _converge(&lanes)
    else:
        h = seed + MC_P5
    h = h + <uint64_t>total
    return _finish(h, p, n)


cdef inline void _xs_flush(XState* st) noexcept nogil:
    """Fold the buffer's whole stripes, keeping its (< 32 byte) tail at the front."""
    cdef const uint8_t* rest = _xs_stripes(st, st.buf, st.used)
    cdef size_t left = st.used - <size_t>(rest - st.buf)
    if left:
        memmove(st.buf, rest, left)
    st.used = left


cdef void _xs_update_long(XState* st, const uint8_t* p, size_t n) noexcept nogil:
    """Top the buffer up to a stripe boundary, fold it, then fold straight from the input."""
    cdef size_t fill = (32 - st.used % 32) % 32
    memcpy(&st.buf[st.used], p, fill)
    st.used += fill
    p += fill
    n -= fill
    _xs_stripes(st, st.buf, st.used)
    st.used = 0
    p = _xs_stripes(st, p, n)
    n = n % 32
    memcpy(st.buf, p, n)
    st.used = n


cdef inline void xs_update(XState* st, const uint8_t* p, size_t n) noexcept nogil:
    st.total += n
    if st.used + n <= XS_BUFFER:  # the common case, small pieces: a plain copy
        mc_copy(&st.buf[st.used], p, n)
        st.used += n
    else:
        _xs_update_long(st, p, n)


cdef inline uint64_t xs_digest(const XState* st) noexcept nogil:
    """The XXH64 of everything streamed so far; the state itself is left as it was."""
    cdef XState lanes
    cdef const uint8_t* tail
    cdef uint64_t h
    if st.total >= 32:
        lanes.v1, lanes.v2, lanes.v3, lanes.v4 = st.v1, st.v2, st.v3, st.v4
        tail = _xs_stripes(&lanes, st.buf, st.used)
        h = _converge(&lanes)
    else:
        tail = <const uint8_t*>st.buf
        h = st.seed + MC_P5
    h = h + st.total
    return _finish(h, tail, st.used - <size_t>(tail - st.buf))


cdef inline void xs_tag_u64(XState* st, uint8_t tag, uint64_t value) noexcept nogil:
    """Stream a tag byte followed by a little-endian u64 (the shape of most encodings)."""
    if st.used + 9 > XS_BUFFER:
        _xs_flush(st)
    st.buf[st.used] = tag
    mc_write64(&st.buf[st.used + 1], value)
    st.used += 9
    st.total += 9


cdef inline void xs_tag(XState* st, uint8_t tag) noexcept nogil:
    if st.used + 1 > XS_BUFFER:
        _xs_flush(st)
    st.buf[st.used] = tag
    st.used += 1
    st.total += 1


# --- argument checks ----------------------------------------------------------------------------

cdef uint64_t _seed_arg(object seed) except? 0:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValidationError(f"xxh64 seed must be an int (got {type(seed).__name__})")
    if seed < 0 or seed > _MASK:
        raise ValidationError(f"xxh64 seed must be in 0..2**64-1 (got {seed})")
    return <uint64_t>seed


cdef int _get_buffer(object data, Py_buffer* view) except -1:
    cdef Py_buffer described
    cdef bint objects
    if isinstance(data, str):
        raise ValidationError("xxh64 hashes bytes-like data, not str (encode it first)")
    try:
        PyObject_GetBuffer(data, view, PyBUF_SIMPLE)
    except TypeError as exc:
        raise ValidationError(
            f"xxh64 needs a bytes-like object (got {type(data).__name__})"
        ) from exc
    except (BufferError, ValueError) as exc:  # numpy says ValueError for strided arrays
        raise ValidationError("xxh64 needs a C-contiguous buffer") from exc
    if type(data) is bytes or type(data) is bytearray:
        return 0
    # A buffer of Python objects would hash their addresses: ask the exporter for its format.
    try:
        PyObject_GetBuffer(data, &described, PyBUF_RECORDS_RO)
    except BaseException:
        PyBuffer_Release(view)
        raise
    objects = described.format != NULL and strchr(described.format, b"O") != NULL
    PyBuffer_Release(&described)
    if objects:
        PyBuffer_Release(view)
        raise ValidationError("xxh64 cannot hash a buffer of Python objects (their addresses)")
    return 0


def xxh64(data, seed=0):
    """Standard XXH64 of a bytes-like object (bit-exact with the reference implementation)."""
    cdef uint64_t s = _seed_arg(seed)
    cdef Py_buffer view
    cdef uint64_t h
    _get_buffer(data, &view)
    try:
        if view.len >= _NOGIL_THRESHOLD:
            with nogil:
                h = xxh64_raw(<const uint8_t*>view.buf, <size_t>view.len, s)
        else:
            h = xxh64_raw(<const uint8_t*>view.buf, <size_t>view.len, s)
    finally:
        PyBuffer_Release(&view)
    return h


@cython.auto_pickle(False)  # memcore never pickles
cdef class XXH64State:
    """Streaming XXH64: ``update`` with pieces, ``intdigest`` any time (the state is kept)."""

    cdef XState _st

    def __init__(self, seed=0):
        xs_init(&self._st, _seed_arg(seed))

    def update(self, data):
        cdef Py_buffer view
        _get_buffer(data, &view)
        try:
            if view.len >= _NOGIL_THRESHOLD:
                with nogil:
                    xs_update(&self._st, <const uint8_t*>view.buf, <size_t>view.len)
            else:
                xs_update(&self._st, <const uint8_t*>view.buf, <size_t>view.len)
        finally:
            PyBuffer_Release(&view)

    def intdigest(self):
        return xs_digest(&self._st)

    def copy(self):
        cdef XXH64State twin = XXH64State.__new__(XXH64State)
        twin._st = self._st
        return twin


# --- canonical encoding -------------------------------------------------------------------------

cdef object _too_deep():
    return ValidationError(
        f"value nested deeper than {MAX_DEPTH} levels (a container that holds itself?)"
    )


cdef int _put_str_general(XState* st, object text) except -1:
    """``put_str`` for strings that are not compact ASCII.

    Their UTF-8 comes from ``PyUnicode_AsUTF8AndSize``: CPython's own encoder, run once per string
    and cached on it (the same cache orjson and every C API asking for UTF-8 fill), so a state
    hashed on every sync encodes each string once and then streams it at memory speed.
    """
    cdef Py_ssize_t n
    cdef const char* utf8
    try:
        utf8 = PyUnicode_AsUTF8AndSize(text, &n)
    except UnicodeEncodeError as exc:
        raise ValidationError(
            "cannot checksum a str holding lone surrogates (not valid UTF-8)"
        ) from exc
    xs_tag_u64(st, TAG_STR, <uint64_t>n)
    xs_update(st, <const uint8_t*>utf8, <size_t>n)
    return 0


cdef inline int put_str(XState* st, object text) except -1:
    """Stream ``s`` + u64 UTF-8 length + UTF-8 bytes; compact ASCII is its own UTF-8."""
    cdef Py_ssize_t n
    if MC_IS_COMPACT_ASCII(text):
        n = PyUnicode_GET_LENGTH(text)
        xs_tag_u64(st, TAG_STR, <uint64_t>n)
        xs_update(st, <const uint8_t*>PyUnicode_1BYTE_DATA(text), <size_t>n)
        return 0
    return _put_str_general(st, text)


cdef int _DAYS_BEFORE_MONTH[13]
_DAYS_BEFORE_MONTH[:] = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]


@cython.cdivision(True)  # every divisor below is a non-zero literal and every dividend >= 0
cdef int64_t _days_before(int year, int month) noexcept nogil:
    """Days from 0001-01-01 to the first of ``month`` in ``year`` (proleptic Gregorian)."""
    cdef int64_t y = year - 1
    cdef int64_t days = y * 365 + y // 4 - y // 100 + y // 400
    cdef int leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    days += _DAYS_BEFORE_MONTH[month]
    if leap and month > 2:
        days += 1
    return days


cdef int put_datetime(XState* st, object moment) except -1:
    cdef PyObject* tz = PyDateTime_DATE_GET_TZINFO(moment)
    cdef int64_t days, micros
    cdef object offset
    days = (
        _days_before(PyDateTime_GET_YEAR(moment), PyDateTime_GET_MONTH(moment))
        + PyDateTime_GET_DAY(moment) - _EPOCH_ORDINAL
    )
    micros = (
        days * 86400
        + PyDateTime_DATE_GET_HOUR(moment) * 3600
        + PyDateTime_DATE_GET_MINUTE(moment) * 60
        + PyDateTime_DATE_GET_SECOND(moment)
    ) * 1000000 + PyDateTime_DATE_GET_MICROSECOND(moment)
    if tz == <PyObject*>None:
        xs_tag_u64(st, TAG_NAIVE_DATETIME, <uint64_t>micros)
        return 0
    if tz == <PyObject*>_UTC:
        xs_tag_u64(st, TAG_AWARE_DATETIME, <uint64_t>micros)
        return 0
    offset = moment.utcoffset()
    if offset is None:
        xs_tag_u64(st, TAG_NAIVE_DATETIME, <uint64_t>micros)
        return 0
    if not PyDelta_Check(offset):
        raise ValidationError("a datetime's utcoffset() must be a timedelta")
    micros -= (
        (<int64_t>PyDateTime_DELTA_GET_DAYS(offset) * 86400 + PyDateTime_DELTA_GET_SECONDS(offset))
        * 1000000
        + PyDateTime_DELTA_GET_MICROSECONDS(offset)
    )
    xs_tag_u64(st, TAG_AWARE_DATETIME, <uint64_t>micros)
    return 0


cdef int put_int(XState* st, object value) except -1:
    cdef int overflow = 0
    cdef long long small = PyLong_AsLongLongAndOverflow(value, &overflow)
    cdef bytes raw
    if overflow == 0:
        xs_tag_u64(st, TAG_INT, <uint64_t>small)
        return 0
    size = (value.bit_length() + 8) // 8
    raw = int.to_bytes(value, size, "little", signed=True)
    xs_tag_u64(st, TAG_BIGINT, <uint64_t>PyBytes_GET_SIZE(raw))
    xs_update(st, <const uint8_t*>PyBytes_AS_STRING(raw), <size_t>PyBytes_GET_SIZE(raw))
    return 0


cdef inline void put_float(XState* st, double value) noexcept nogil:
    cdef uint64_t bits
    if isnan(value):
        bits = CANONICAL_NAN
    else:
        memcpy(&bits, &value, 8)
    xs_tag_u64(st, TAG_FLOAT, bits)


cdef int encode(XState* st, object value, int depth) except -1:
    """Stream the canonical encoding of ``value`` (see the pure twin's docstring)."""
    cdef Py_ssize_t i, n
    cdef uint64_t digest
    cdef object element
    cdef type kind = type(value)
    # The exact common types first, each by one pointer comparison; then the general chain
    # (subclasses), its type-flag checks (int, list, tuple, dict) before the ones that may call
    # PyType_IsSubtype (float, bytearray, datetime); no type passes two of them.
    if kind is str:
        return put_str(st, value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            raise _too_deep()
        dict_digest(value, depth + 1, &digest)
        xs_tag_u64(st, TAG_DICT, digest)
        return 0
    if kind is float:
        put_float(st, PyFloat_AS_DOUBLE(value))
        return 0
    if kind is _DATETIME:
        return put_datetime(st, value)
    if value is None:
        xs_tag(st, TAG_NONE)
    elif value is True:
        xs_tag(st, TAG_TRUE)
    elif value is False:
        xs_tag(st, TAG_FALSE)
    elif isinstance(value, str):
        put_str(st, value)
    elif isinstance(value, int):
        put_int(st, value)
    elif isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise _too_deep()
        n = PyList_GET_SIZE(value)
        xs_tag_u64(st, TAG_LIST, <uint64_t>n)
        i = 0
        # Re-read the size each step: a callback (a tzinfo, an int subclass) may shrink the list.
        while i < n and i < PyList_GET_SIZE(value):
            element = <object>PyList_GET_ITEM(value, i)
            encode(st, element, depth + 1)
            i += 1
    elif isinstance(value, tuple):
        if depth >= MAX_DEPTH:
            raise _too_deep()
        n = PyTuple_GET_SIZE(value)
        xs_tag_u64(st, TAG_LIST, <uint64_t>n)
        for i in range(n):
            encode(st, <object>PyTuple_GET_ITEM(value, i), depth + 1)
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise _too_deep()
        dict_digest(value, depth + 1, &digest)
        xs_tag_u64(st, TAG_DICT, digest)
    elif isinstance(value, float):
        put_float(st, PyFloat_AS_DOUBLE(value))
    elif isinstance(value, bytes):
        xs_tag_u64(st, TAG_BYTES, <uint64_t>PyBytes_GET_SIZE(value))
        xs_update(st, <const uint8_t*>PyBytes_AS_STRING(value), <size_t>PyBytes_GET_SIZE(value))
    elif isinstance(value, bytearray):
        xs_tag_u64(st, TAG_BYTES, <uint64_t>PyByteArray_GET_SIZE(value))
        xs_update(
            st, <const uint8_t*>PyByteArray_AS_STRING(value), <size_t>PyByteArray_GET_SIZE(value)
        )
    elif PyDateTime_Check(value):
        put_datetime(st, value)
    elif isinstance(value, _MemoryItem):
        if depth >= MAX_DEPTH:
            raise _too_deep()
        item_digest(value, depth + 1, &digest)
        xs_tag_u64(st, TAG_DICT, digest)
    else:
        raise ValidationError(f"cannot checksum a value of type {type(value).__name__!r}")
    return 0


cdef inline void _put_ascii(XState* st, PyObject* text) noexcept:
    """``put_str`` of a str known to be compact ASCII."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(<object>text)
    xs_tag_u64(st, TAG_STR, <uint64_t>n)
    xs_update(st, MC_ASCII_DATA(text), <size_t>n)


cdef inline bint _put_leaf(XState* st, PyObject* value) noexcept:
    """Stream ``value`` if it is a common leaf whose encoding runs no Python code; else False."""
    cdef PyObject* tz
    if MC_IS_COMPACT_ASCII_EXACT(value):
        _put_ascii(st, value)
    elif value == <PyObject*>None:
        xs_tag(st, TAG_NONE)
    elif value == <PyObject*>True:
        xs_tag(st, TAG_TRUE)
    elif value == <PyObject*>False:
        xs_tag(st, TAG_FALSE)
    elif mc_type(value) == <PyObject*>float:
        put_float(st, PyFloat_AS_DOUBLE(<object>value))
    elif mc_type(value) == <PyObject*>_DATETIME:
        tz = PyDateTime_DATE_GET_TZINFO(<object>value)
        if tz != <PyObject*>None and tz != <PyObject*>_UTC:
            return False  # its utcoffset() may be Python code
        put_datetime(st, <object>value)  # cannot fail for these zones
    else:
        return False
    return True


cdef inline int entry_encode(XState* st, object key, object value, int depth) except -1:
    """Stream one entry (its key as a str, then its value) into a fresh state."""
    if not isinstance(key, str):
        raise ValidationError(f"state and dict keys must be str (got {type(key).__name__})")
    xs_init(st, 0)
    put_str(st, key)
    encode(st, value, depth)
    return 0


cdef int entry_hash_c(object key, object value, int depth, uint64_t* out) except -1:
    cdef XState st
    entry_encode(&st, key, value, depth)
    out[0] = xs_digest(&st)
    return 0


cdef inline uint64_t finalize(uint64_t count, uint64_t total, uint64_t mixed) noexcept nogil:
    cdef uint8_t buf[24]
    mc_write64(buf, count)
    mc_write64(&buf[8], total)
    mc_write64(&buf[16], mixed)
    return xxh64_raw(buf, 24, DIGEST_SEED)


# --- digests of entries, four at a time ---------------------------------------------------------
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
    cdef Py_ssize_t pos = 0
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
    while mc_dict_next(mapping, &pos, &kptr, &vptr):
        if depth == 0:  # the state's items: fetch ahead (``pos`` is one past this entry)
            mc_prefetch_object(mc_dict_slot_value(mapping, pos + 7))
            mc_prefetch_table(mc_dict_slot_value(mapping, pos + 3))
            mc_prefetch_values(mc_dict_slot_value(mapping, pos))
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
            acc_add(&acc, h)
            continue
        entry_encode(&batch[k], key, value, depth)
        k += 1
        if k == BATCH:
            digest_batch(batch, k, &acc)
            k = 0
    digest_batch(batch, k, &acc)
    # the count is the dict's length, as the definition says, even if a callback resized it
    n = PyDict_GET_SIZE(mapping) if type(mapping) is dict else len(mapping)
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


def entry_hash(key, value):
    """The 64-bit hash of one ``(key, value)`` entry of a state."""
    cdef uint64_t h
    entry_hash_c(key, value, 0, &h)
    return h


def state_checksum(state):
    """Canonical, insertion-order-independent 64-bit checksum of a mapping of items."""
    cdef uint64_t h
    if not isinstance(state, Mapping):
        raise ValidationError(f"state must be a mapping (got {type(state).__name__})")
    mapping_digest(state, 0, &h)
    return h


cdef uint64_t _entry_arg(object entry) except? 0:
    if not isinstance(entry, int) or isinstance(entry, bool) or not 0 <= entry <= _MASK:
        raise ValidationError(f"an entry hash is an int in 0..2**64-1 (got {entry!r})")
    return <uint64_t>entry


@cython.auto_pickle(False)
cdef class StateDigest:
    """``state_checksum`` kept up to date one entry at a time, in O(1) per ``add``/``remove``.

    ``remove`` must be given an entry that was added (same key and value); a digest cannot tell
    in O(1) that an entry was never added, except when it is empty.
    """

    cdef uint64_t _count
    cdef uint64_t _total
    cdef uint64_t _mixed

    def __init__(self):
        self._count = 0
        self._total = 0
        self._mixed = 0

    @classmethod
    def from_state(cls, state):
        if not isinstance(state, Mapping):
            raise ValidationError(f"state must be a mapping (got {type(state).__name__})")
        digest = cls()
        for key, value in state.items():
            digest.add(key, value)
        return digest

    cdef inline void _add(self, uint64_t h) noexcept:
        self._count += 1
        self._total += h
        self._mixed += _avalanche(h)

    cdef int _remove(self, uint64_t h) except -1:
        if self._count == 0:
            raise ValidationError("cannot remove an entry from an empty StateDigest")
        self._count -= 1
        self._total -= h
        self._mixed -= _avalanche(h)
        return 0

    def add(self, key, value):
        cdef uint64_t h
        entry_hash_c(key, value, 0, &h)
        self._add(h)

    def remove(self, key, value):
        cdef uint64_t h
        entry_hash_c(key, value, 0, &h)
        self._remove(h)

    def add_hash(self, entry):
        """Add an entry by its ``entry_hash`` (for callers that keep hashes, not values)."""
        self._add(_entry_arg(entry))

    def remove_hash(self, entry):
        """Remove an entry by its ``entry_hash``."""
        self._remove(_entry_arg(entry))

    @property
    def value(self):
        return finalize(self._count, self._total, self._mixed)

    @property
    def count(self):
        return self._count

    def copy(self):
        cdef StateDigest twin = StateDigest.__new__(StateDigest)
        twin._count = self._count
        twin._total = self._total
        twin._mixed = self._mixed
        return twin

    def __eq__(self, other):
        cdef StateDigest that
        if not isinstance(other, StateDigest):
            return NotImplemented
        that = <StateDigest>other
        return (
            self._count == that._count
            and self._total == that._total
            and self._mixed == that._mixed
        )

    __hash__ = None  # mutable

    def __repr__(self):
        return f"StateDigest(count={self._count}, value=0x{self.value:016x})"


__all__ = ["StateDigest", "XXH64State", "entry_hash", "state_checksum", "xxh64"]
