# Included by records.pyx: the msgpack writer that encodes an entry into a record.

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
    # fields of other types than the decoder takes (set after construction) go to the pure
    # twin, which rebuilds the item from them or refuses it (``memcore.plain``)
    cdef object created_at = item.created_at
    if (
        type(item.priority) is not _Priority
        or type(item.id) is not str
        or not item.id
        or type(item.content) is not str
        or not PyDateTime_CheckExact(created_at)
        or <object>PyDateTime_DATE_GET_TZINFO(created_at) is None
        or type(item.metadata) is not dict
    ):
        return 1
    cdef object priority = _PRIORITY_VALUE[item.priority]
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
            if type(<object>key) is not str and type(<object>key) is not bytes:
                return 1  # (refused by the pure twin: no decoder takes it back)
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


cdef bytes _pack_value(object value):
    """``value``'s msgpack bytes, or None when the pure twin must pack it."""
    cdef Writer w
    w.buf = NULL
    w.size = 0
    w.cap = 0
    try:
        _grow(&w, 256)
        if _pack(&w, value, 1) != 0:
            return None
        return PyBytes_FromStringAndSize(w.buf, w.size)
    finally:
        PyMem_Free(w.buf)
