# What a digest's echo check and a task list's done steps read of a line, in ``prose.pyx``
# (included there): the pure twin's ``echo_names`` and ``stemmed_words`` as single scans. Their
# regular expressions cost most where the text has no match (``\b\w*(?:[a-z][A-Z]|_)\w*\b``
# backtracks through every word), and every line the digest's greedy weighs is read by them.
#
# ``str.lower()`` turns only two characters beyond ASCII into ASCII letters: U+212A (the Kelvin
# sign) into "k", and U+0130 (a dotted capital I) into "i" and a combining dot, which ends the
# word. Both are read so here.

from cpython.set cimport PySet_Add


cdef Py_ssize_t _whole_span(int kind, void *data, Py_ssize_t n, Py_ssize_t p) noexcept:
    # end of `[^`]+` ` at p (a backtick), or -1
    cdef Py_ssize_t q = p + 1
    if q >= n or PyUnicode_READ(kind, data, q) == 96:
        return -1
    q += 1
    while q < n:
        if PyUnicode_READ(kind, data, q) == 96:
            return q + 1
        q += 1
    return -1


def echo_names(str text, object names) -> frozenset:
    """A line's exact names for the echo check (see the pure twin)."""
    cdef set found
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t p = 0, start, end
    cdef Py_UCS4 c, before
    cdef bint inner
    if names is None:
        found = set(_find(text, True)) if _may_name(text) else set()
    else:
        found = set(names)
    while p < n:
        c = PyUnicode_READ(kind, data, p)
        if c == 96:
            end = _whole_span(kind, data, n, p)
            if end >= 0:
                PySet_Add(found, text[p:end])
                p = end
            else:
                p += 1
            continue
        if not _word(c):
            p += 1
            continue
        # a word: a name when it holds an underscore or a small letter before a capital
        start = p
        inner = False
        before = 0
        while p < n:
            c = PyUnicode_READ(kind, data, p)
            if not _word(c):
                break
            if c == 95 or (65 <= c <= 90 and 97 <= before <= 122):
                inner = True
            before = c
            p += 1
        if inner:
            PySet_Add(found, text[start:p])
    return frozenset(found)


cdef inline int _plain(Py_UCS4 c) noexcept:
    # what ``c`` is in the lowercased text: 1 a letter or digit of ``[a-z0-9]`` (as is, or
    # lowercased), 2 the dotted capital I ("i", then a mark that ends the word), 0 neither
    if c < 128:
        return (97 <= c <= 122) or (65 <= c <= 90) or (48 <= c <= 57)
    if c == 0x212A:
        return 1
    if c == 0x130:
        return 2
    return 0


cdef str _stem(str word):
    # the pure twin's ``stem``: the first of "ing", "ed", "es", "s" it ends with, leaving 3
    cdef Py_ssize_t n = len(word)
    if n >= 6 and word.endswith("ing"):
        return word[: n - 3]
    if n >= 5 and (word.endswith("ed") or word.endswith("es")):
        return word[: n - 2]
    if n >= 4 and word.endswith("s"):
        return word[: n - 1]
    return word


def stem(str word) -> str:
    """``word`` without an inflection's ending (see the pure twin)."""
    return _stem(word)


def stemmed_words(str text, frozenset stop, bint outside_spans, bint skip_first) -> frozenset:
    """The stems of the lowercased words not in ``stop`` (see the pure twin)."""
    cdef set found = set()
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t p = 0, start, end
    cdef Py_UCS4 c
    cdef int what = 0
    cdef bint lower, first = skip_first
    cdef str word
    while p < n:
        c = PyUnicode_READ(kind, data, p)
        if outside_spans and c == 96:
            end = _whole_span(kind, data, n, p)
            p = end if end >= 0 else p + 1
            continue
        what = _plain(c)
        if not what:
            p += 1
            continue
        start = p
        lower = True  # (already lowercase: no copy to lower)
        while p < n:
            c = PyUnicode_READ(kind, data, p)
            what = _plain(c)
            if not what:
                break
            if not (97 <= c <= 122 or c < 58):  # (a capital: ASCII, or one of the two)
                lower = False
            p += 1
            if what == 2:
                break
        if what == 2:  # the dotted capital I: "i" ends the word (its mark is no letter)
            word = text[start : p - 1].lower() + "i"
        elif lower:
            word = text[start:p]
        else:
            word = text[start:p].lower()
        if first:
            first = False
            continue
        if word in stop:
            continue
        PySet_Add(found, _stem(word))
    return frozenset(found)
