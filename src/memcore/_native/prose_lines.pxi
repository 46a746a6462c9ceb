# Tests of one line for ``statement_sentences`` in ``prose.pyx`` (included there): a rule, a
# list mark, and whether the line offers the user a choice (the list under such a line holds
# options, not results). Whether a line offers is the pure twin's ``offers_choice`` (``OFFER`` on
# the lowercased line); ``_may_offer`` only passes over, in C, the lines it would refuse: most
# lines end in neither ``:`` nor ``?``, and of those that do, most hold none of the words an
# offer is written with (the twin's regular expression costs about a microsecond a line).


cdef bint _is_rule(str stripped):
    # a table row or a horizontal rule, given the line without its indent
    cdef str rule
    if stripped[0] == "|":
        return True
    rule = stripped.rstrip()
    return len(rule) >= 3 and not rule.strip("-=")


def is_bold_title(str stripped) -> bool:
    """Whether a line (its indentation stripped) is a title, no statement (see the twin)."""
    return _is_bold_title(stripped)


cdef bint _is_bold_title(str stripped):
    # the twin's test, its names and conclusions found by this module's scans (its own are the
    # patterns, about 7 us a bold line)
    cdef str text = stripped.rstrip()
    cdef bint colon = text.endswith(":")
    if colon:
        text = text[: len(text) - 1].rstrip()  # (no negative index: wraparound is off)
    if not (len(text) > 4 and text.startswith("**") and text.endswith("**")):
        return False
    if text.count("**") != 2 or _find(stripped, False):
        return False
    return colon or text.endswith(":**") or not _concludes(stripped.lower())


cdef str _strip_bullet(str line):
    """``BULLET.sub("", line)`` where ``line`` opens with one of ``_BULLET_STARTS`` (``-*+`` or
    an ASCII digit; the walk's gate), as one scan: the mark, then at least one space."""
    cdef Py_ssize_t n = len(line)
    cdef int kind = PyUnicode_KIND(line)
    cdef void *data = PyUnicode_DATA(line)
    cdef Py_ssize_t p = 0, q
    cdef Py_UCS4 c
    if n == 0:
        return line
    c = PyUnicode_READ(kind, data, 0)
    if c == 45 or c == 42 or c == 43:  # - * +
        p = 1
    elif 48 <= c <= 57:  # \d+ then . or )
        p = 1
        while p < n and PyUnicode_READ(kind, data, p).isdecimal():
            p += 1
        if p >= n:
            return line
        c = PyUnicode_READ(kind, data, p)
        if c != 46 and c != 41:
            return line
        p += 1
    else:
        return line
    q = p
    while q < n and PyUnicode_READ(kind, data, q).isspace():
        q += 1
    return line[q:] if q > p else line


cdef inline bint _bullet_start(str line):
    # ``line[:1] in _BULLET_STARTS``
    cdef Py_UCS4 c
    if not line:
        return False
    c = PyUnicode_READ(PyUnicode_KIND(line), PyUnicode_DATA(line), 0)
    return c == 45 or c == 42 or c == 43 or 48 <= c <= 57


cdef Py_UCS4 _last_visible(str line) noexcept:
    """The last character of ``line`` that is no whitespace (``str.isspace``), or 0."""
    cdef Py_ssize_t i = len(line) - 1
    cdef int kind = PyUnicode_KIND(line)
    cdef void *data = PyUnicode_DATA(line)
    cdef Py_UCS4 c
    while i >= 0:
        c = PyUnicode_READ(kind, data, i)
        if not Py_UNICODE_ISSPACE(c):
            return c
        i -= 1
    return 0


cdef inline bint _at_any_case(int kind, void *data, Py_ssize_t n, Py_ssize_t p,
                              const char *word) noexcept:
    # ``word`` (lowercase ASCII) starts at p, in either case
    cdef Py_ssize_t i = 0
    cdef unsigned int c  # (not Py_UCS4: Cython adds to a character as to a str)
    while word[i] != 0:
        if p + i >= n:
            return False
        c = <unsigned int>PyUnicode_READ(kind, data, p + i)
        if c >= 65 and c <= 90:
            c += 32
        if c != <unsigned int>word[i]:
            return False
        i += 1
    return True


cdef bint _may_offer(str line) noexcept:
    """False only where ``offers_choice(line)`` is False: the line's last sentence (after its
    last ". ", "? " or "! ", as the twin cuts it) is ASCII and holds none of the words every
    alternative of ``OFFER`` has (you, should, shall, whether, which, option, ways, approach,
    altern). A sentence with any other character is left to the twin (``str.lower`` may map it
    to ASCII letters: "\u0130" becomes "i" and a combining dot)."""
    cdef Py_ssize_t n = len(line), p, start = 0
    cdef int kind = PyUnicode_KIND(line)
    cdef void *data = PyUnicode_DATA(line)
    cdef unsigned int c
    # the last sentence: back from the last visible character (the twin's ``rstrip``)
    while n > 0 and Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, n - 1)):
        n -= 1
    p = n - 3
    while p >= 0:
        c = <unsigned int>PyUnicode_READ(kind, data, p)
        if (c == 46 or c == 63 or c == 33) and PyUnicode_READ(kind, data, p + 1) == 32:
            start = p + 2
            break
        p -= 1
    for p in range(start, n):
        c = <unsigned int>PyUnicode_READ(kind, data, p)
        if c > 127:
            return True
        if c >= 65 and c <= 90:
            c += 32
        if c == 121:  # y
            if _at_any_case(kind, data, n, p, b"you"):
                return True
        elif c == 115:  # s
            if _at_any_case(kind, data, n, p, b"should") or _at_any_case(kind, data, n, p, b"shall"):
                return True
        elif c == 119:  # w
            if (_at_any_case(kind, data, n, p, b"whether") or _at_any_case(kind, data, n, p, b"which")
                    or _at_any_case(kind, data, n, p, b"ways")):
                return True
        elif c == 111:  # o
            if _at_any_case(kind, data, n, p, b"option"):
                return True
        elif c == 97:  # a
            if _at_any_case(kind, data, n, p, b"approach") or _at_any_case(kind, data, n, p, b"altern"):
                return True
    return False
