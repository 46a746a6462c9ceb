# Included by text.pyx: sentence splitting (the stops that end a sentence and the ones that do
# not: decimals, paths, abbreviations, asides, code spans; sentences glued with no space).

# --- sentence splitting ------------------------------------------------------------------------


cdef bint _is_bullet(int kind, const void* data, Py_ssize_t j, Py_ssize_t n) noexcept:
    """Whether a bullet item starts at ``j`` (``j < n``)."""
    cdef Py_UCS4 c = PyUnicode_READ(kind, <void*>data, j)
    cdef Py_ssize_t k
    if c == 45 or c == 42 or c == 43 or c == 0x2022:
        return j + 1 < n and PyUnicode_READ(kind, <void*>data, j + 1) == 32
    if _is_digit(c):
        k = j
        while k < n and _is_digit(PyUnicode_READ(kind, <void*>data, k)):
            k += 1
        if k + 1 >= n:
            return False
        c = PyUnicode_READ(kind, <void*>data, k)
        return (c == 46 or c == 41) and PyUnicode_READ(kind, <void*>data, k + 1) == 32
    return False


cdef bint _is_heading(int kind, const void* data, Py_ssize_t j, Py_ssize_t n) noexcept:
    """A Markdown heading at ``j`` (``j < n``): one to six ``#`` and a space."""
    cdef Py_ssize_t k = j
    while k < n and k - j < 7 and PyUnicode_READ(kind, <void*>data, k) == 35:
        k += 1
    return 0 < k - j < 7 and k < n and PyUnicode_READ(kind, <void*>data, k) == 32


cdef bint _ends_with_line(
    int kind, const void* data, Py_ssize_t line, Py_ssize_t newline
) noexcept:
    """Whether a bullet item's or a heading's line, from ``line`` to the break at ``newline``,
    ends a sentence there (see the twin)."""
    cdef Py_UCS4 c
    while line < newline:
        c = PyUnicode_READ(kind, <void*>data, line)
        if c != 32 and c != 9:
            break
        line += 1
    if line >= newline:
        return False
    return _is_bullet(kind, data, line, newline) or _is_heading(kind, data, line, newline)


cdef bint _is_list_marker(
    int kind, const void* data, Py_ssize_t line, Py_ssize_t dot, Py_ssize_t n
) noexcept:
    """Whether the full stop at ``dot`` (``dot < n``) closes a numbered list item's marker at
    the start of its line (from ``line``; up to three emphasis marks before its digits, as in
    "**1. "): it stays with its item (see the twin)."""
    cdef Py_ssize_t k = line, marks, digits
    cdef Py_UCS4 c
    while k < dot:
        c = PyUnicode_READ(kind, <void*>data, k)
        if c != 32 and c != 9:
            break
        k += 1
    marks = k
    while k < dot and k - marks < 3:
        c = PyUnicode_READ(kind, <void*>data, k)
        if c != 42 and c != 95:  # "*", "_"
            break
        k += 1
    digits = k
    while k < dot and _is_digit(PyUnicode_READ(kind, <void*>data, k)):
        k += 1
    return (
        k == dot and k > digits and dot + 1 < n
        and PyUnicode_READ(kind, <void*>data, dot + 1) == 32
    )


cdef bint _is_dash_aside(int kind, const void* data, Py_ssize_t j, Py_ssize_t n) noexcept:
    """A dash (hyphen, en or em), a space and a small letter at ``j`` (``j < n``)."""
    cdef Py_UCS4 c = PyUnicode_READ(kind, <void*>data, j)
    if c != 45 and c != 0x2013 and c != 0x2014:
        return False
    if j + 2 >= n or PyUnicode_READ(kind, <void*>data, j + 1) != 32:
        return False
    c = PyUnicode_READ(kind, <void*>data, j + 2)
    return 97 <= c <= 122


cdef bint _is_abbreviation(int kind, const void* data, Py_ssize_t start, Py_ssize_t dot) noexcept:
    """Whether the letters and dots before ``dot`` (back to ``start``) are an abbreviation."""
    cdef Py_ssize_t b = dot
    cdef Py_UCS4 c
    while b > start:
        c = PyUnicode_READ(kind, <void*>data, b - 1)
        if not (_is_letter(c) or c == 46):
            break
        b -= 1
    if b == dot:
        return False
    if b > start and _is_digit(PyUnicode_READ(kind, <void*>data, b - 1)):
        return False  # a unit after its number ("800ms."): no title
    if dot - b == 1 and _is_letter(PyUnicode_READ(kind, <void*>data, b)):
        return True
    return _mark_of(kind, data, b, dot) == 1


cdef bint _is_glued_start(
    str text, int kind, const void* data, Py_ssize_t stop, Py_ssize_t k, Py_ssize_t n
) except -1:
    """A sentence glued to the one before it at ``k`` (``k < n``), after the stop at ``stop``
    (see the twin): a small letter or closing mark, the stop, a ``GLUED_STARTS`` word."""
    cdef Py_UCS4 c
    cdef Py_ssize_t e
    if stop == 0:
        return False
    c = PyUnicode_READ(kind, <void*>data, k)
    if not (65 <= c <= 90):
        return False
    c = PyUnicode_READ(kind, <void*>data, stop - 1)
    if not (97 <= c <= 122 or c == 41 or c == 96 or c == 34 or c == 39):
        return False
    e = k
    while e < n:
        c = PyUnicode_READ(kind, <void*>data, e)
        if not (97 <= c <= 122 or 65 <= c <= 90):
            break
        e += 1
    if e >= n:
        return False
    c = PyUnicode_READ(kind, <void*>data, e)
    if c != 32 and c != 44 and c != 39:
        return False
    return text[k:e] in _GLUED_STARTS


cdef inline int _push(
    int kind, const void* data, list spans, Py_ssize_t start, Py_ssize_t end
) except -1:
    while start < end and _is_space(PyUnicode_READ(kind, <void*>data, start)):
        start += 1
    while end > start and _is_space(PyUnicode_READ(kind, <void*>data, end - 1)):
        end -= 1
    if start < end:
        spans.append((start, end))
    return 0


def split_sentences(text) -> list:
    """``(start, end)`` offsets of the sentences of ``text``, whitespace trimmed (see the twin)."""
    return sentence_spans(_as_text(text))


cdef list sentence_spans(str text):
    """``split_sentences`` for the kernels that cimport it (no Python call a line)."""
    cdef list spans = []
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t start = 0, i = 0, j, k, m
    cdef Py_ssize_t line = 0  # where the line of ``i`` starts
    cdef bint in_code = False
    cdef bint indented
    cdef Py_UCS4 c, d, nxt
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    while i < n:
        c = PyUnicode_READ(kind, <void*>data, i)
        if c == 96:
            in_code = not in_code
            i += 1
            continue
        if in_code:
            if c == 10:
                line = i + 1
            i += 1
            continue
        if c == 10:
            j = i + 1
            indented = False
            while j < n:
                d = PyUnicode_READ(kind, <void*>data, j)
                if d != 32 and d != 9 and d != 13:
                    break
                if d != 13:
                    indented = True
                j += 1
            if j < n and (
                PyUnicode_READ(kind, <void*>data, j) == 10
                or _is_bullet(kind, data, j, n)
                or _is_heading(kind, data, j, n)
                or (not indented and _ends_with_line(kind, data, line, i))
            ):
                _push(kind, data, spans, start, i)
                start = j
                i = j
                line = j
                continue
            i += 1
            line = i
            continue
        if c == 0x3002 or c == 0xFF01 or c == 0xFF1F:  # a wide stop (see the twin)
            k = i + 1
            # (the twin's ``_WIDE_CLOSERS``: the wide stops, the closers, corner brackets and
            # wide parentheses)
            while k < n and PyUnicode_READ(kind, <void*>data, k) in (
                "\u3002\uff01\uff1f\"')]}\u00bb\u300d\u300f\uff09\u3011"
            ):
                k += 1
            _push(kind, data, spans, start, k)
            start = k
            i = k
            continue
        if c == 46 or c == 33 or c == 63:
            j = i + 1
            while j < n:
                d = PyUnicode_READ(kind, <void*>data, j)
                if d != 46 and d != 33 and d != 63:
                    break
                j += 1
            if j == i + 1 and c == 46 and _is_list_marker(kind, data, line, i, n):
                i = j  # "1. " at a line's start: its item's marker
                continue
            k = j
            while k < n and PyUnicode_READ(kind, <void*>data, k) in "\"')]}»":
                k += 1
            if k >= n:
                i = k
                continue
            if not _is_space(PyUnicode_READ(kind, <void*>data, k)):
                if _is_glued_start(text, kind, data, i, k, n):  # "it.Let me": two sentences
                    _push(kind, data, spans, start, k)
                    start = k
                    i = k
                    continue
                i = j
                continue
            m = k
            while m < n:
                d = PyUnicode_READ(kind, <void*>data, m)
                if d != 32 and d != 9:
                    break
                m += 1
            if m < n:
                nxt = PyUnicode_READ(kind, <void*>data, m)
                if nxt != 13 and nxt != 10:
                    if not ((65 <= nxt <= 90) or _is_digit(nxt) or nxt in "\"'([`*-" or nxt > 127):
                        i = k
                        continue
                    if _is_dash_aside(kind, data, m, n):  # an aside, not a bullet (see the twin)
                        i = k
                        continue
            if c == 46 and j == i + 1 and _is_abbreviation(kind, data, start, i):
                i = k
                continue
            _push(kind, data, spans, start, k)
            start = k
            i = k
            continue
        i += 1
    _push(kind, data, spans, start, n)
    return spans
