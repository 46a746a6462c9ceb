# Included by records.pyx: days and civil dates, and the bounds-checked msgpack reader that
# decodes a record into an entry (every read checks the bytes left first).

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
