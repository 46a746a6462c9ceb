# Character classes and a hash step shared by the text kernels (``pipeline``, ``grouping``),
# cimported by both: inline, so each module compiles these few lines from this one source. The
# classes are ASCII-based like the pure twins' (``memcore._pure.pipeline``).

from libc.stdint cimport uint64_t


cdef inline bint _is_letter(Py_UCS4 c) noexcept:
    return (c >= 97 and c <= 122) or (c >= 65 and c <= 90)


cdef inline bint _is_digit(Py_UCS4 c) noexcept:
    return c >= 48 and c <= 57


cdef inline bint _is_space(Py_UCS4 c) noexcept:
    return c == 32 or c == 9 or c == 13 or c == 10


cdef inline bint _is_mark(Py_UCS4 c) noexcept:
    return c < 128 and not (_is_letter(c) or _is_digit(c) or _is_space(c))


cdef inline bint _joins_space(Py_UCS4 c) noexcept:
    return _is_letter(c) or _is_mark(c)


cdef inline bint _alnum(Py_UCS4 c) noexcept:
    if c < 128:
        return _is_letter(c) or _is_digit(c)
    return c.isalnum()


cdef inline bint _word_char(Py_UCS4 c) noexcept:
    # a character of ``tokenize_words``'s words: ``_`` or ``str.isalnum()``
    if c < 128:
        return _is_letter(c) or _is_digit(c) or c == 95
    return c.isalnum()


cdef inline Py_UCS4 _ascii_lower(Py_UCS4 c) noexcept:
    return <Py_UCS4>(<unsigned int>c + 32) if 65 <= c <= 90 else c


cdef inline uint64_t _fnv(uint64_t h, str piece, uint64_t prime):
    # FNV-1a continued over the code points of ``piece``
    cdef Py_UCS4 c
    for c in piece:
        h = (h ^ <uint64_t>c) * prime
    return h
