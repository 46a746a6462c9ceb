"""Stored entries to and from their parts: the sync path's record codec (compiled twin).

Same bytes and same results as ``memcore._pure.records`` (whose docstring describes the format);
what this module adds is speed. Decoding walks the msgpack bytes with a bounds-checked reader
(every length is checked against what is left before a byte is read or an object allocated)
and builds Python objects with the C API: no msgpack call, no extension hook, MemoryItems made
without ``__init__`` (the record's XXH64 has vouched for its bytes; only field types are
checked), priorities by table, UTC datetimes from their fields. Encoding writes msgpack directly
for the types memcore stores (None, bool, int, float, str, bytes, list, tuple, dict, datetime,
MemoryItem); anything else, or a value nested deeper than ``_PACK_DEPTH``, goes through the pure
twin, so bytes and errors are the same either way.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.datetime cimport (
    PyDateTime_CheckExact,
    PyDateTime_DATE_GET_HOUR,
    PyDateTime_DATE_GET_MICROSECOND,
    PyDateTime_DATE_GET_MINUTE,
    PyDateTime_DATE_GET_SECOND,
    PyDateTime_DATE_GET_TZINFO,
    PyDateTime_GET_DAY,
    PyDateTime_GET_MONTH,
    PyDateTime_GET_YEAR,
    datetime_new,
    import_datetime,
)
from cpython.dict cimport PyDict_Next, PyDict_SetItem
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.long cimport (
    PyLong_AsLongLongAndOverflow,
    PyLong_AsUnsignedLongLong,
    PyLong_FromLongLong,
    PyLong_FromUnsignedLongLong,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.sequence cimport PySequence_Fast_GET_ITEM, PySequence_Fast_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

from collections.abc import Mapping
from datetime import timezone

from memcore import codec as _codec
from memcore._kernels import checksums as _checksums
from memcore._pure import records as _pure
from memcore.errors import CorruptedMemoryError
from memcore.model import MemoryItem, Priority

import_datetime()

cdef extern from "Python.h":
    object PyMemoryView_FromMemory(char* mem, Py_ssize_t size, int flags)
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    int PyBUF_READ

PRIORITY_BY_NAME = _pure.PRIORITY_BY_NAME

cdef object _UTC = timezone.utc
cdef object _MemoryItem = MemoryItem
cdef dict _PRIORITY_BY_NAME = _pure.PRIORITY_BY_NAME
cdef dict _PRIORITY_VALUE = {p: p.value for p in Priority}
cdef object _xxh64 = _checksums.xxh64
cdef object _entry_hash = _checksums.entry_hash
cdef object _pure_encode = _pure.encode_entry
cdef bytes _MAGIC = _codec.RECORD_MAGIC
cdef int _VERSION = _codec.RECORD_VERSION
cdef int _EXT_ITEM = _codec.EXT_MEMORY_ITEM
cdef int _EXT_NAIVE = _codec.EXT_NAIVE_DATETIME
cdef Py_ssize_t _HEAD = 7
cdef Py_ssize_t _OVERHEAD = _codec.RECORD_OVERHEAD
cdef str _K_V = "v"
cdef str _K_T = "t"
cdef str _K_R = "r"
cdef str _K_D = "d"

# msgpack's unpacker accepts 1024 nested containers (an extension's payload starts afresh): the
# decoder keeps that limit so both twins accept and refuse the same records.
cdef int _UNPACK_DEPTH = 1024
# deeper values are left to the pure twin's packer (whose recursion limit then decides)
cdef int _PACK_DEPTH = 256
cdef int64_t _US_PER_S = 1000000
cdef object _STAMP_LIMIT = int("18446744073709551616")  # 2**64, never folded into a C int
cdef int64_t _US_PER_DAY = 86400000000
cdef int64_t _MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00 relative to the epoch
cdef int64_t _MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59
cdef int64_t _MIN_US = _MIN_SECONDS * 1000000
cdef int64_t _MAX_US = _MAX_SECONDS * 1000000 + 999999


Record = _pure.Record
cdef object _Record = _pure.Record
cdef object _tuple_new = tuple.__new__


# --- days and civil dates (proleptic Gregorian, as datetime uses) ------------------------------


@cython.cdivision(True)
cdef inline int64_t _floordiv(int64_t a, int64_t b) noexcept nogil:
    """Floor division (C division truncates; ``b`` is a positive constant here)."""
    cdef int64_t q = a // b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef inline void _civil(int64_t days, int* year, int* month, int* day) noexcept nogil:
    """Days since 1970-01-01 to (year, month, day): Howard Hinnant's civil_from_days."""
    cdef int64_t z = days + 719468
    cdef int64_t era = _floordiv(z, 146097)
    cdef int64_t doe = z - era * 146097
    cdef int64_t yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef int64_t y = yoe + era * 400
    cdef int64_t doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef int64_t mp = (5 * doy + 2) // 153
    cdef int64_t d = doy - (153 * mp + 2) // 5 + 1
    cdef int64_t m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    year[0] = <int>y
    month[0] = <int>m
    day[0] = <int>d


cdef inline int64_t _days(int64_t y, int64_t m, int64_t d) noexcept nogil:
    """(year, month, day) to days since 1970-01-01: civil_from_days' inverse."""
    if m <= 2:
        y -= 1
    cdef int64_t era = _floordiv(y, 400)
    cdef int64_t yoe = y - era * 400
    cdef int64_t mp = m - 3 if m > 2 else m + 9
    cdef int64_t doy = (153 * mp + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef object _datetime_from_us(int64_t micros, object tz):
    """A datetime ``micros`` after 1970-01-01T00:00 (in range: checked by the callers)."""
    cdef int64_t days = _floordiv(micros, _US_PER_DAY)
    cdef int64_t rest = micros - days * _US_PER_DAY
    cdef int year, month, day
    _civil(days, &year, &month, &day)
    cdef int64_t seconds = rest // _US_PER_S
    return datetime_new(
        year,
        month,
        day,
        <int>(seconds // 3600),
        <int>((seconds // 60) % 60),
        <int>(seconds % 60),
        <int>(rest % _US_PER_S),
        tz,
    )


# --- decoding ------------------------------------------------------------------------------------


cdef struct Reader:
    const uint8_t* p
    const uint8_t* end


cdef object _corrupt(str what):
    raise CorruptedMemoryError(what)


cdef inline int _need(Reader* r, Py_ssize_t n) except -1:
    if n < 0 or r.end - r.p < n:
        _corrupt("malformed msgpack payload: truncated data")
    return 0


cdef inline uint64_t _be(const uint8_t* p, int n) noexcept nogil:
    cdef uint64_t v = 0
    cdef int i
    for i in range(n):
        v = (v << 8) | p[i]
    return v


cdef inline uint64_t _take(Reader* r, int n) except? 0xFFFFFFFFFFFFFFFF:
    _need(r, n)
    cdef uint64_t v = _be(r.p, n)
    r.p += n
    return v


cdef object _str(Reader* r, Py_ssize_t n):
    _need(r, n)
    cdef const char* start = <const char*>r.p
    r.p += n
    try:
        return PyUnicode_DecodeUTF8(start, n, "strict")
    except UnicodeDecodeError as exc:
        raise CorruptedMemoryError(f"malformed msgpack payload: {exc}") from exc


cdef object _bin(Reader* r, Py_ssize_t n):
    _need(r, n)
    cdef object out = PyBytes_FromStringAndSize(<const char*>r.p, n)
    r.p += n
    return out


cdef object _array(Reader* r, Py_ssize_t n, int depth):
    if depth >= _UNPACK_DEPTH:
        _corrupt("malformed msgpack payload: nested too deep")
    _need(r, n)  # every element takes at least one byte: nothing huge is allocated for a lie
    cdef list out = PyList_New(n)
    cdef Py_ssize_t i
    cdef object value
    for i in range(n):
        value = _decode(r, depth + 1)
        Py_INCREF(value)
        PyList_SET_ITEM(out, i, value)
    return out


cdef object _map(Reader* r, Py_ssize_t n, int depth):
    if depth >= _UNPACK_DEPTH:
        _corrupt("malformed msgpack payload: nested too deep")
    _need(r, 2 * n)
    cdef dict out = {}
    cdef Py_ssize_t i
    cdef object key
    for i in range(n):
        key = _decode(r, depth + 1)
        if type(key) is not str and type(key) is not bytes:
            _corrupt("malformed msgpack payload: map keys must be str or bytes")
        PyDict_SetItem(out, key, _decode(r, depth + 1))
    return out


cdef object _timestamp(const uint8_t* p, Py_ssize_t n):
    cdef int64_t seconds
    cdef uint64_t nanos
    cdef uint64_t word
    if n == 4:
        seconds = <int64_t>_be(p, 4)
        nanos = 0
    elif n == 8:
        word = _be(p, 8)
        nanos = word >> 34
        seconds = <int64_t>(word & 0x3FFFFFFFF)
    elif n == 12:
        nanos = _be(p, 4)
        seconds = <int64_t>_be(p + 4, 8)
    else:
        return _corrupt(f"malformed msgpack payload: invalid timestamp data (length {n})")
    if nanos > 999999999:
        return _corrupt("malformed msgpack payload: timestamp nanoseconds out of range")
    if seconds < _MIN_SECONDS - 1 or seconds > _MAX_SECONDS:
        return _corrupt("malformed msgpack payload: date value out of range")
    cdef int64_t micros = seconds * _US_PER_S + <int64_t>(nanos // 1000)
    if micros < _MIN_US or micros > _MAX_US:
        return _corrupt("malformed msgpack payload: date value out of range")
    return _datetime_from_us(micros, _UTC)


cdef object _priority(object value):
    cdef object found
    if type(value) is str:
        found = _PRIORITY_BY_NAME.get(value)
        if found is None:
            found = _PRIORITY_BY_NAME.get(value.lower())
        if found is not None:
            return found
    return _corrupt(f"memory item has an invalid priority {value!r}")


cdef object _item(const uint8_t* p, Py_ssize_t n):
    cdef Reader sub
    sub.p = p
    sub.end = p + n
    cdef object fields = _decode(&sub, 0)
    if sub.p != sub.end:
        return _corrupt("malformed msgpack payload: extra data after a memory item")
    if type(fields) is not list or PyList_GET_SIZE(fields) != 5:
        return _corrupt("memory item extension is not a 5-field array")
    cdef object item_id = <object>PyList_GET_ITEM(fields, 0)
    cdef object content = <object>PyList_GET_ITEM(fields, 1)
    cdef object created_at = <object>PyList_GET_ITEM(fields, 3)
    cdef object metadata = <object>PyList_GET_ITEM(fields, 4)
    if type(item_id) is not str or not item_id or type(content) is not str:
        return _corrupt("memory item id or content is not a (non-empty) string")
    if not PyDateTime_CheckExact(created_at) or <object>PyDateTime_DATE_GET_TZINFO(created_at) is None:
        return _corrupt("memory item created_at is not an aware timestamp")
    if type(metadata) is not dict:
        return _corrupt("memory item metadata is not a map with string keys")
    cdef Py_ssize_t pos = 0
    cdef PyObject* key
    cdef PyObject* val
    while PyDict_Next(metadata, &pos, &key, &val):
        if type(<object>key) is not str:
            return _corrupt("memory item metadata is not a map with string keys")
    cdef object priority = _priority(<object>PyList_GET_ITEM(fields, 2))
    cdef object item = _MemoryItem.__new__(_MemoryItem)
    item.id = item_id
    item.content = content
    item.priority = priority
    item.created_at = created_at
    item.metadata = metadata
    return item


cdef object _ext(Reader* r, Py_ssize_t n, int code):
    _need(r, n)
    cdef const uint8_t* p = r.p
    r.p += n
    cdef int64_t micros
    if code == -1:
        return _timestamp(p, n)
    if code == _EXT_ITEM:
        return _item(p, n)
    if code == _EXT_NAIVE:
        if n != 8:
            return _corrupt("naive datetime extension of the wrong size")
        micros = <int64_t>_be(p, 8)
        if micros < _MIN_US or micros > _MAX_US:
            return _corrupt("malformed msgpack payload: date value out of range")
        return _datetime_from_us(micros, None)
    return _corrupt(f"unknown msgpack extension type {code}")


cdef object _decode(Reader* r, int depth):
    _need(r, 1)
    cdef uint8_t b = r.p[0]
    r.p += 1
    cdef uint64_t u
    cdef uint32_t bits32
    cdef float f32
    cdef double f64
    cdef Py_ssize_t n
    if b <= 0x7F:
        return PyLong_FromLongLong(b)
    if b >= 0xE0:
        return PyLong_FromLongLong(<int8_t>b)
    if b <= 0x8F:
        return _map(r, b & 0x0F, depth)
    if b <= 0x9F:
        return _array(r, b & 0x0F, depth)
    if b <= 0xBF:
        return _str(r, b & 0x1F)
    if b == 0xC0:
        return None
    if b == 0xC2:
        return False
    if b == 0xC3:
        return True
    if b == 0xC4 or b == 0xC5 or b == 0xC6:
        n = <Py_ssize_t>_take(r, 1 << (b - 0xC4))
        return _bin(r, n)
    if b == 0xC7 or b == 0xC8 or b == 0xC9:
        n = <Py_ssize_t>_take(r, 1 << (b - 0xC7))
        return _ext(r, n, <int8_t>_take(r, 1))
    if b == 0xCA:
        bits32 = <uint32_t>_take(r, 4)
        memcpy(&f32, &bits32, 4)
        return <double>f32
    if b == 0xCB:
        u = _take(r, 8)
        memcpy(&f64, &u, 8)
        return f64
    if 0xCC <= b <= 0xCF:
        return PyLong_FromUnsignedLongLong(_take(r, 1 << (b - 0xCC)))
    if b == 0xD0:
        return PyLong_FromLongLong(<int8_t>_take(r, 1))
    if b == 0xD1:
        return PyLong_FromLongLong(<int16_t>_take(r, 2))
    if b == 0xD2:
        return PyLong_FromLongLong(<int32_t>_take(r, 4))
    if b == 0xD3:
        return PyLong_FromLongLong(<int64_t>_take(r, 8))
    if 0xD4 <= b <= 0xD8:
        n = 1 << (b - 0xD4)
        return _ext(r, n, <int8_t>_take(r, 1))
    if b == 0xD9 or b == 0xDA or b == 0xDB:
        n = <Py_ssize_t>_take(r, 1 << (b - 0xD9))
        return _str(r, n)
    if b == 0xDC or b == 0xDD:
        n = <Py_ssize_t>_take(r, 2 if b == 0xDC else 4)
        return _array(r, n, depth)
    if b == 0xDE or b == 0xDF:
        n = <Py_ssize_t>_take(r, 2 if b == 0xDE else 4)
        return _map(r, n, depth)
    return _corrupt(f"malformed msgpack payload: reserved byte 0x{b:02x}")


cdef tuple _decode_entry(object data):
    """``(value, stamp, replica, deleted)`` of one checked record."""
    cdef const uint8_t* p
    cdef Py_ssize_t size
    cdef bytes raw
    if type(data) is bytes:
        raw = <bytes>data
    elif isinstance(data, (bytearray, memoryview)):
        raw = bytes(data)
    else:
        raise CorruptedMemoryError(
            f"expected the bytes of a record (got {type(data).__name__})"
        )
    p = <const uint8_t*>PyBytes_AS_STRING(raw)
    size = PyBytes_GET_SIZE(raw)
    if size < _OVERHEAD:
        raise CorruptedMemoryError(f"record too short ({size} bytes)")
    if p[0] != _MAGIC[0] or p[1] != _MAGIC[1]:
        raise CorruptedMemoryError("not a memcore record (bad magic)")
    if p[2] != _VERSION:
        raise CorruptedMemoryError(f"unsupported record version {p[2]}")
    cdef uint64_t length = (
        <uint64_t>p[3] | (<uint64_t>p[4] << 8) | (<uint64_t>p[5] << 16) | (<uint64_t>p[6] << 24)
    )
    if length != <uint64_t>(size - _OVERHEAD):
        raise CorruptedMemoryError("record length mismatch")
    cdef Py_ssize_t end = _HEAD + <Py_ssize_t>length
    cdef uint64_t expected = 0
    cdef int i
    for i in range(8):
        expected |= (<uint64_t>p[end + i]) << (8 * i)
    cdef uint64_t actual = _xxh64(PyMemoryView_FromMemory(<char*>p, end, PyBUF_READ))
    if actual != expected:
        raise CorruptedMemoryError("record checksum mismatch")
    cdef Reader r
    r.p = p + _HEAD
    r.end = p + end
    cdef object raw_entry = _decode(&r, 0)
    if r.p != r.end:
        raise CorruptedMemoryError("malformed msgpack payload: extra data after the entry")
    if type(raw_entry) is not dict or len(<dict>raw_entry) != 4:
        raise CorruptedMemoryError("record is not a memcore entry")
    cdef dict entry = <dict>raw_entry
    if _K_V not in entry or _K_T not in entry or _K_R not in entry or _K_D not in entry:
        raise CorruptedMemoryError("record is not a memcore entry")
    cdef object value = entry[_K_V]
    cdef object stamp = entry[_K_T]
    cdef object replica = entry[_K_R]
    cdef object deleted = entry[_K_D]
    if type(stamp) is not int or stamp < 0 or stamp >= _STAMP_LIMIT:
        raise CorruptedMemoryError("entry stamp is not a 64-bit unsigned integer")
    if type(replica) is not str or type(deleted) is not bool:
        raise CorruptedMemoryError("entry replica or deletion flag has the wrong type")
    if deleted is True and value is not None:
        raise CorruptedMemoryError("a tombstone carries a value")
    return (value, stamp, replica, deleted)


def decode_entry(data):
    """``(value, stamp, replica, deleted)`` of a checked record; ``CorruptedMemoryError`` if bad."""
    return _decode_entry(data)


def decode_value(data):
    """The value of a checked record (None for a tombstone)."""
    return _decode_entry(data)[0]


def read_records(records):
    """Decode a delta: each key's ``Record``, and the largest stamp seen (0 if none)."""
    cdef dict out = {}
    cdef uint64_t top = 0
    cdef uint64_t stamp
    cdef tuple entry
    cdef object digest_hash
    cdef object pairs = records.items() if type(records) is not dict else None
    cdef Py_ssize_t pos = 0
    cdef PyObject* key_ptr
    cdef PyObject* data_ptr
    cdef object key
    cdef object data
    cdef object iterator = iter(pairs) if pairs is not None else None
    while True:
        if iterator is None:
            if not PyDict_Next(records, &pos, &key_ptr, &data_ptr):
                break
            key = <object>key_ptr
            data = <object>data_ptr
        else:
            try:
                key, data = next(iterator)
            except StopIteration:
                break
        try:
            entry = _decode_entry(data)
        except CorruptedMemoryError as exc:
            raise CorruptedMemoryError(
                f"the stored record of key {key!r} is corrupted ({exc})"
            ) from exc
        if entry[3] is True:
            digest_hash = 0
        else:
            digest_hash = _entry_hash(key, entry[0])
        if type(data) is not bytes:
            data = bytes(data)
        out[key] = _tuple_new(_Record, (data, entry[1], entry[2], entry[3], digest_hash))
        stamp = PyLong_AsUnsignedLongLong(entry[1])
        if stamp > top:
            top = stamp
    return out, top


# --- encoding ------------------------------------------------------------------------------------


cdef struct Writer:
    char* buf
    Py_ssize_t size
    Py_ssize_t cap


cdef int _grow(Writer* w, Py_ssize_t extra) except -1:
    cdef Py_ssize_t want = w.size + extra
    cdef Py_ssize_t cap
    cdef char* bigger
    if want <= w.cap:
        return 0
    cap = w.cap * 2 if w.cap else 256
    while cap < want:
        cap *= 2
    bigger = <char*>PyMem_Realloc(w.buf, cap)
    if bigger == NULL:
        raise MemoryError()
    w.buf = bigger
    w.cap = cap
    return 0


cdef inline int _put(Writer* w, const void* data, Py_ssize_t n) except -1:
    _grow(w, n)
    memcpy(w.buf + w.size, data, n)
    w.size += n
    return 0


cdef inline int _byte(Writer* w, uint8_t b) except -1:
    _grow(w, 1)
    w.buf[w.size] = <char>b
    w.size += 1
    return 0


cdef inline int _head(Writer* w, uint8_t b, uint64_t v, int n) except -1:
    """One type byte then ``v`` as ``n`` big-endian bytes."""
    _grow(w, 1 + n)
    w.buf[w.size] = <char>b
    cdef int i
    for i in range(n):
        w.buf[w.size + 1 + i] = <char>((v >> (8 * (n - 1 - i))) & 0xFF)
    w.size += 1 + n
    return 0


cdef int _pack_unsigned(Writer* w, uint64_t v) except -1:
    if v < 0x80:
        return _byte(w, <uint8_t>v)
    if v <= 0xFF:
        return _head(w, 0xCC, v, 1)
    if v <= 0xFFFF:
        return _head(w, 0xCD, v, 2)
    if v <= 0xFFFFFFFF:
        return _head(w, 0xCE, v, 4)
    return _head(w, 0xCF, v, 8)


cdef int _pack_signed(Writer* w, int64_t v) except -1:
    if v >= 0:
        return _pack_unsigned(w, <uint64_t>v)
    if v >= -32:
        return _byte(w, <uint8_t>(<int8_t>v))
    if v >= -128:
        return _head(w, 0xD0, <uint8_t>(<int8_t>v), 1)
    if v >= -32768:
        return _head(w, 0xD1, <uint16_t>(<int16_t>v), 2)
    if v >= -2147483648:
        return _head(w, 0xD2, <uint32_t>(<int32_t>v), 4)
    return _head(w, 0xD3, <uint64_t>v, 8)


cdef int _pack_len(Writer* w, Py_ssize_t n, uint8_t fix, uint8_t fix_limit, uint8_t b8,
                   uint8_t b16, uint8_t b32) except -1:
    if n < fix_limit:
        return _byte(w, fix | <uint8_t>n)
    if b8 != 0 and n <= 0xFF:
        return _head(w, b8, <uint64_t>n, 1)
    if n <= 0xFFFF:
        return _head(w, b16, <uint64_t>n, 2)
    return _head(w, b32, <uint64_t>n, 4)


cdef int _pack_str(Writer* w, object text) except -1:
    """0 when packed; 1 when the pure twin must handle it (e.g. a lone surrogate)."""
    cdef Py_ssize_t n
    cdef const char* data
    try:
        data = PyUnicode_AsUTF8AndSize(text, &n)
    except UnicodeEncodeError:
        return 1
    if n > 0xFFFFFFFF:
        return 1
    _pack_len(w, n, 0xA0, 32, 0xD9, 0xDA, 0xDB)
    _put(w, data, n)
    return 0


cdef int _pack_ext(Writer* w, int code, const char* data, Py_ssize_t n) except -1:
    if n == 1:
        _byte(w, 0xD4)
    elif n == 2:
        _byte(w, 0xD5)
    elif n == 4:
        _byte(w, 0xD6)
    elif n == 8:
        _byte(w, 0xD7)
    elif n == 16:
        _byte(w, 0xD8)
    elif n <= 0xFF:
        _head(w, 0xC7, <uint64_t>n, 1)
    elif n <= 0xFFFF:
        _head(w, 0xC8, <uint64_t>n, 2)
    else:
        _head(w, 0xC9, <uint64_t>n, 4)
    _byte(w, <uint8_t>(<int8_t>code))
    _put(w, data, n)
    return 0


cdef int _pack_datetime(Writer* w, object moment) except -1:
    cdef object tz = <object>PyDateTime_DATE_GET_TZINFO(moment)
    if tz is not None and tz is not _UTC:
        return 1
    cdef int64_t micros = (
        _days(PyDateTime_GET_YEAR(moment), PyDateTime_GET_MONTH(moment), PyDateTime_GET_DAY(moment))
        * _US_PER_DAY
        + (
            <int64_t>PyDateTime_DATE_GET_HOUR(moment) * 3600
            + PyDateTime_DATE_GET_MINUTE(moment) * 60
            + PyDateTime_DATE_GET_SECOND(moment)
        )
        * _US_PER_S
        + PyDateTime_DATE_GET_MICROSECOND(moment)
    )
    cdef char word[12]
    cdef int64_t seconds
    cdef uint64_t nanos
    cdef uint64_t packed
    cdef int i
    if tz is None:
        for i in range(8):
            word[i] = <char>((<uint64_t>micros >> (8 * (7 - i))) & 0xFF)
        return _pack_ext(w, _EXT_NAIVE, word, 8)
    seconds = _floordiv(micros, _US_PER_S)
    nanos = <uint64_t>(micros - seconds * _US_PER_S) * 1000
    if seconds >= 0 and (seconds >> 34) == 0:
        if nanos == 0 and (seconds >> 32) == 0:
            for i in range(4):
                word[i] = <char>((<uint64_t>seconds >> (8 * (3 - i))) & 0xFF)
            return _pack_ext(w, -1, word, 4)
        packed = (nanos << 34) | <uint64_t>seconds
        for i in range(8):
            word[i] = <char>((packed >> (8 * (7 - i))) & 0xFF)
        return _pack_ext(w, -1, word, 8)
    for i in range(4):
        word[i] = <char>((nanos >> (8 * (3 - i))) & 0xFF)
    for i in range(8):
        word[4 + i] = <char>((<uint64_t>seconds >> (8 * (7 - i))) & 0xFF)
    return _pack_ext(w, -1, word, 12)


cdef int _pack_item(Writer* w, object item) except -1:
    cdef object priority = _PRIORITY_VALUE.get(item.priority)
    if priority is None:
        return 1
    cdef Writer sub
    sub.buf = NULL
    sub.size = 0
    sub.cap = 0
    cdef int status
    try:
        status = _byte(&sub, 0x95)
        if status == 0:
            status = _pack(&sub, item.id, 1)
        if status == 0:
            status = _pack(&sub, item.content, 1)
        if status == 0:
            status = _pack(&sub, priority, 1)
        if status == 0:
            status = _pack(&sub, item.created_at, 1)
        if status == 0:
            status = _pack(&sub, item.metadata, 1)
        if status == 0:
            _pack_ext(w, _EXT_ITEM, sub.buf, sub.size)
    finally:
        PyMem_Free(sub.buf)
    return status


cdef int _pack(Writer* w, object value, int depth) except -1:
    """Append ``value``: 0 when packed, 1 when the pure twin must encode the entry."""
    cdef type kind = type(value)
    cdef int overflow = 0
    cdef long long signed_value
    cdef Py_ssize_t n, i
    cdef Py_ssize_t pos = 0
    cdef PyObject* key
    cdef PyObject* item
    cdef double real
    cdef uint64_t bits
    cdef int status
    if depth > _PACK_DEPTH:
        return 1
    if value is None:
        return _byte(w, 0xC0)
    if value is True:
        return _byte(w, 0xC3)
    if value is False:
        return _byte(w, 0xC2)
    if kind is str:
        return _pack_str(w, value)
    if kind is int:
        signed_value = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0:
            return _pack_signed(w, signed_value)
        if overflow < 0 or value >= _STAMP_LIMIT:
            return 1
        return _pack_unsigned(w, PyLong_AsUnsignedLongLong(value))
    if kind is float:
        real = PyFloat_AS_DOUBLE(value)
        memcpy(&bits, &real, 8)
        return _head(w, 0xCB, bits, 8)
    if kind is dict:
        n = len(<dict>value)
        _pack_len(w, n, 0x80, 16, 0, 0xDE, 0xDF)
        while PyDict_Next(value, &pos, &key, &item):
            status = _pack(w, <object>key, depth + 1)
            if status == 0:
                status = _pack(w, <object>item, depth + 1)
            if status != 0:
                return status
        return 0
    if kind is list or kind is tuple:  # both are msgpack arrays
        n = PySequence_Fast_GET_SIZE(value)
        _pack_len(w, n, 0x90, 16, 0, 0xDC, 0xDD)
        for i in range(n):
            status = _pack(w, <object>PySequence_Fast_GET_ITEM(value, i), depth + 1)
            if status != 0:
                return status
        return 0
    if kind is bytes:
        n = PyBytes_GET_SIZE(value)
        if n > 0xFFFFFFFF:
            return 1
        _pack_len(w, n, 0, 0, 0xC4, 0xC5, 0xC6)
        return _put(w, PyBytes_AS_STRING(value), n)
    if PyDateTime_CheckExact(value):
        return _pack_datetime(w, value)
    if kind is _MemoryItem:
        return _pack_item(w, value)
    return 1


cdef bytes _encode(object value, object stamp, object replica, object deleted):
    """The record's bytes, or None when the pure twin must encode it."""
    if type(stamp) is not int or type(replica) is not str or type(deleted) is not bool:
        return None
    cdef Writer w
    w.buf = NULL
    w.size = 0
    w.cap = 0
    cdef int status
    cdef Py_ssize_t length
    cdef uint64_t digest
    cdef int i
    try:
        _grow(&w, 256)
        w.size = _HEAD
        status = _put(&w, b"\x84\xa1v", 3)
        status = _pack(&w, value, 1)
        if status == 0:
            _put(&w, b"\xa1t", 2)
            status = _pack(&w, stamp, 1)
        if status == 0:
            _put(&w, b"\xa1r", 2)
            status = _pack(&w, replica, 1)
        if status == 0:
            _put(&w, b"\xa1d", 2)
            status = _pack(&w, deleted, 1)
        if status != 0:
            return None
        length = w.size - _HEAD
        if length > 0xFFFFFFFF:
            return None
        w.buf[0] = _MAGIC[0]
        w.buf[1] = _MAGIC[1]
        w.buf[2] = <char>_VERSION
        for i in range(4):
            w.buf[3 + i] = <char>((<uint64_t>length >> (8 * i)) & 0xFF)
        digest = _xxh64(PyMemoryView_FromMemory(w.buf, w.size, PyBUF_READ))
        _grow(&w, 8)
        for i in range(8):
            w.buf[w.size + i] = <char>((digest >> (8 * i)) & 0xFF)
        w.size += 8
        return PyBytes_FromStringAndSize(w.buf, w.size)
    finally:
        PyMem_Free(w.buf)


def encode_entry(value, stamp, replica, deleted):
    """The record of one entry; ``ValidationError`` when the value cannot be encoded."""
    cdef bytes data = _encode(value, stamp, replica, deleted)
    if data is None:
        return _pure_encode(value, stamp, replica, deleted)
    return data


def make_record(key, value, stamp, replica, deleted):
    """Encode a local write and hash it for the digest (``ValidationError`` if it cannot)."""
    cdef bytes data = _encode(value, stamp, replica, deleted)
    if data is None:
        data = _pure_encode(value, stamp, replica, deleted)
    digest_hash = 0 if deleted else _entry_hash(key, value)
    return _tuple_new(_Record, (data, stamp, replica, deleted, digest_hash))
