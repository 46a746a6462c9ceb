"""The words of a text's compound code names (compiled twin of ``memcore._pure.search.code_words``,
whose docstring defines them): ``parse_session`` is "parse session", ``HTTPServer`` "http
server". One walk over the string's own buffer, typed by its width (every read at an index
below its length); the words are written lowercased into one growing byte buffer, each after a
space check of its room, and made one ``str`` at the end. A Python object is made only for each
name that has words to give (to say it once), none for the rest.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdint cimport uint8_t, uint16_t, uint32_t

from memcore._native.search_vocab cimport mc_data, mc_kind

ctypedef fused char_t:
    uint8_t
    uint16_t
    uint32_t

cdef enum:
    OTHER = 0
    UPPER = 1
    LOWER = 2
    DIGIT = 3
    UNDERSCORE = 4

cdef uint8_t CLASS[128]
for _c in range(128):
    CLASS[_c] = OTHER
for _c in range(ord("A"), ord("Z") + 1):
    CLASS[_c] = UPPER
for _c in range(ord("a"), ord("z") + 1):
    CLASS[_c] = LOWER
for _c in range(ord("0"), ord("9") + 1):
    CLASS[_c] = DIGIT
CLASS[ord("_")] = UNDERSCORE


cdef inline uint8_t _class(uint32_t c) noexcept nogil:
    return CLASS[c] if c < 128 else OTHER


cdef inline Py_ssize_t _part_end(const char_t *s, Py_ssize_t i, Py_ssize_t end) noexcept nogil:
    """Where the part starting at ``i`` (a letter or a digit, ``i < end``) ends, as the pure
    twin's ``[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+`` matches there: a run of capitals followed by
    a small letter gives up its last capital to the word that letter ends."""
    cdef uint8_t first = _class(s[i])
    cdef Py_ssize_t j = i + 1
    if first == UPPER:
        while j < end and _class(s[j]) == UPPER:
            j += 1
        if j < end and _class(s[j]) == LOWER:
            if j - i >= 2:
                return j - 1  # "HTTPServer": "HTTP", then "Server"
            while j < end and _class(s[j]) == LOWER:
                j += 1
        return j
    while j < end and _class(s[j]) == first:
        j += 1
    return j


cdef inline Py_ssize_t _parts(const char_t *s, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    """How many parts of two or more characters the name ``[start, end)`` has."""
    cdef Py_ssize_t i = start, j, count = 0
    while i < end:
        if _class(s[i]) == UNDERSCORE:  # between parts, no part
            i += 1
            continue
        j = _part_end(s, i, end)
        count += j - i >= 2
        i = j
    return count


cdef class _Words:
    """The growing buffer of lowercased words, separated by spaces."""

    cdef char *buf
    cdef Py_ssize_t length, room

    def __cinit__(self):
        self.room = 256
        self.length = 0
        self.buf = <char *>PyMem_Malloc(self.room)
        if self.buf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.buf)

    cdef str text(self):
        return self.buf[: self.length].decode("ascii")


cdef int _add(_Words w, const char_t *s, Py_ssize_t start, Py_ssize_t end) except -1:
    """Append the part ``[start, end)`` of ``s`` (ASCII letters or digits), lowercased."""
    cdef Py_ssize_t need = w.length + (end - start) + 1, i
    cdef char *grown
    if need > w.room:
        while w.room < need:
            w.room *= 2
        grown = <char *>PyMem_Realloc(w.buf, w.room)
        if grown == NULL:
            raise MemoryError()
        w.buf = grown
    if w.length:
        w.buf[w.length] = 32  # " "
        w.length += 1
    for i in range(start, end):
        w.buf[w.length] = <char>(s[i] + 32 if _class(s[i]) == UPPER else s[i])
        w.length += 1
    return 0


cdef str _code_words(str text, const char_t *s, Py_ssize_t n):
    cdef Py_ssize_t i = 0, start, j, end
    cdef set seen = set()
    cdef _Words words = _Words()
    cdef str name
    while i < n:
        while i < n and _class(s[i]) == OTHER:
            i += 1
        start = i
        while i < n and _class(s[i]) != OTHER:
            i += 1
        if i - start < 4 or _parts(s, start, i) < 2:  # (two parts of 2+: 4+ long)
            continue
        name = text[start:i]
        if name in seen:
            continue
        seen.add(name)
        j = start
        while j < i:
            if _class(s[j]) == UNDERSCORE:
                j += 1
                continue
            end = _part_end(s, j, i)
            if end - j >= 2:
                _add(words, s, j, end)
            j = end
    return words.text()


def code_words(str text):
    """The words of each distinct compound name of ``text``, lowercased, space-separated."""
    cdef int kind = mc_kind(text)
    cdef const void *data = mc_data(text)
    cdef Py_ssize_t n = len(text)
    if kind == 1:
        return _code_words(text, <const uint8_t *>data, n)
    if kind == 2:
        return _code_words(text, <const uint16_t *>data, n)
    return _code_words(text, <const uint32_t *>data, n)
