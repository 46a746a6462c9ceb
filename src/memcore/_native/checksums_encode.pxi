# The canonical encoding of values for ``checksums.pyx`` (included there): what each value
# streams into an entry's ``XState`` (the pure twin's docstring specifies it), from borrowed
# references where no Python code can run.

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
    offset = _DATETIME.utcoffset(moment)  # (its zone's offset: a subclass may redefine it)
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
    size = (int.bit_length(value) + 8) // 8  # (int's own: a subclass may redefine it)
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
    """XXH64 (seed ``DIGEST_SEED``) of the 24 bytes u64 count, u64 total, u64 mixed: under 32
    bytes, so three 8-byte tail steps, each reading back one of the three numbers as written."""
    cdef uint64_t h = DIGEST_SEED + MC_P5 + 24
    return _avalanche(_step8(_step8(_step8(h, count), total), mixed))
