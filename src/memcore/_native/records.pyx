"""Stored entries to and from their parts: the sync path's record codec (compiled twin).

Same bytes and same results as ``memcore._pure.records`` (whose docstring describes the format);
what this module adds is speed. Decoding walks the msgpack bytes with a bounds-checked reader
(every length is checked against what is left before a byte is read or an object allocated)
and builds Python objects with the C API: no msgpack call, no extension hook, MemoryItems made
without ``__init__`` (the record's XXH64 has vouched for its bytes; only field types are
checked), priorities by table, UTC datetimes from their fields. Encoding writes msgpack directly
for the types memcore stores (None, bool, int, float, str, bytes, list, tuple, dict, datetime,
MemoryItem), exact types only; anything else (a subclass: see ``memcore.plain``), or a value
nested deeper than ``_PACK_DEPTH``, goes through the pure twin, so bytes and errors are the same
either way.
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
cdef object _Priority = Priority
cdef object _xxh64 = _checksums.xxh64
cdef object _entry_hash = _checksums.entry_hash
cdef object _pure_encode = _pure.encode_entry
cdef object _pure_encode_held = _pure.encode_held
cdef object _pure_pack_plain = _pure.pack_plain
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



include "records_decode.pxi"

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


include "records_encode.pxi"


def encode_entry(value, stamp, replica, deleted):
    """The record of one entry; ``ValidationError`` when the value cannot be encoded."""
    cdef bytes data = _encode(value, stamp, replica, deleted)
    if data is None:
        return _pure_encode(value, stamp, replica, deleted)
    return data


def encode_held(value, stamp, replica, deleted):
    """``encode_entry`` and the value the record holds (``value``, or its plain copy)."""
    cdef bytes data = _encode(value, stamp, replica, deleted)
    if data is None:
        return _pure_encode_held(value, stamp, replica, deleted)
    return data, value


def make_record(key, value, stamp, replica, deleted):
    """Encode a local write and hash it for the digest (``ValidationError`` if it cannot)."""
    cdef bytes data = _encode(value, stamp, replica, deleted)
    if data is None:  # (hashed as the pure twin encoded it: plain, when it held subclasses)
        data, value = _pure_encode_held(value, stamp, replica, deleted)
    digest_hash = 0 if deleted else _entry_hash(key, value)
    return _tuple_new(_Record, (data, stamp, replica, deleted, digest_hash))


def pack_plain(value):
    """``value`` as msgpack (``memcore.codec``'s value format), and the value the bytes hold."""
    cdef bytes data = _pack_value(value)
    if data is None:  # (the pure twin packs it, plain when it holds subclasses, or refuses it)
        return _pure_pack_plain(value)
    return data, value
