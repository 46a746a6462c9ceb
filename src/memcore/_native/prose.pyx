# cython: freethreading_compatible = False
"""Compiled ``prose`` kernels: what a digest reads in an agent's prose, in one pass over the
characters each. The pure twin ``memcore/_pure/prose.py`` defines the results by two regular
expressions, and these scans reproduce them (a hypothesis test in
``tests/test_prose_kernels.py`` holds the twins equal):

* ``find_identifiers``: ``re.findall`` of ``IDENTIFIER`` (code spans, paths, called names), with
  the engine's choices (leftmost match, alternatives in order, greedy repeats with their
  backtracking), without trying the pattern at every character;
* ``concludes``: whether ``CONCLUSION`` occurs; every phrase starts and ends with a word
  character, so it is tried only where a word starts, and must end where a word ends;
* ``find_names``: the same matches without their backticks and call parenthesis;
* ``other_words``: the words of a sentence outside its code spans, in one pass;
* ``echo_names``, ``stemmed_words`` and ``stem`` (``prose_echo.pxi``): what a digest's echo
  check reads of a line (names in prose, plain words stemmed), in one pass each;
* ``statement_sentences`` (``prose_walk.pxi``): the twin's sentence walk, the same statements
  compiled (typed flags and counts, these scans for names and conclusions, the compiled
  ``split_sentences`` called in C, the list marks stripped by a scan; the narration and
  instruction patterns tried only where their first two letters can open them; a list of options
  put to the user, under a line that offers a choice, skipped as the twin skips it:
  ``offers_choice`` and ``LIST_ITEM`` are the twin's own, called only where a line ends in ``:``
  or ``?`` or an offer is open; a bold line that is a title, by ``is_bold_title``: the twin's
  test with these scans).

``\\w`` and ``\\d`` are Unicode's, as in ``re``: ``str.isalnum()`` or ``_``, and
``str.isdecimal()``. Characters are read straight from the string's buffer; every index is
checked against the length before it is read.
"""

from cpython.unicode cimport (
    Py_UNICODE_ISSPACE,
    PyUnicode_1BYTE_KIND,
    PyUnicode_DATA,
    PyUnicode_KIND,
    PyUnicode_READ,
)
from libc.string cimport strlen

from memcore._native.text cimport sentence_spans
from memcore._pure.prose import _INSTRUCTION, _MARKS, _NARRATION, BULLET, LIST_ITEM
from memcore._pure.prose import offers_choice
from memcore._pure.prose import _INSTRUCTION_PAIRS, _NARRATION_PAIRS, TITLE_QUESTIONS
from memcore._pure.prose import OTHER_SCRIPT_CONCLUSIONS


cdef inline bint _word(Py_UCS4 c) noexcept:
    if c < 128:
        return (97 <= c <= 122) or (65 <= c <= 90) or (48 <= c <= 57) or c == 95
    return c.isalnum()


cdef inline bint _path_char(Py_UCS4 c) noexcept:
    # ``[\w.-]``
    return c == 46 or c == 45 or _word(c)


cdef Py_ssize_t _code_span(int kind, void *data, Py_ssize_t n, Py_ssize_t p) noexcept:
    # end of `[^`\n]{2,80}` ` at p (a backtick), or -1
    cdef Py_ssize_t q = p + 1
    cdef Py_UCS4 c
    while q < n and q - p - 1 <= 80:
        c = PyUnicode_READ(kind, data, q)
        if c == 96:
            if q - p - 1 >= 2:
                return q + 1
            return -1
        if c == 10:
            return -1
        q += 1
    return -1


cdef Py_ssize_t _tail(int kind, void *data, Py_ssize_t start, Py_ssize_t stop) noexcept:
    # end of `[\w.-]+\.\w+` matched at start within the run [start, stop) of ``[\w.-]``, or -1:
    # the longest ``[\w.-]+`` first, as the engine backtracks
    cdef Py_ssize_t a = stop - 2
    cdef Py_ssize_t e
    while a >= start + 1:
        if PyUnicode_READ(kind, data, a) == 46 and _word(PyUnicode_READ(kind, data, a + 1)):
            e = a + 1
            while e < stop and _word(PyUnicode_READ(kind, data, e)):
                e += 1
            return e
        a -= 1
    return -1


cdef Py_ssize_t _path(int kind, void *data, Py_ssize_t n, Py_ssize_t p) noexcept:
    # end of `(?:[\w.-]+/)+[\w.-]+\.\w+` at p (its lookbehind already checked), or -1
    cdef Py_ssize_t m = 0
    cdef Py_ssize_t s = p
    cdef Py_ssize_t j, k, i, stop, end
    # the segments "x/": each a maximal run of [\w.-] followed by a slash
    while True:
        j = s
        while j < n and _path_char(PyUnicode_READ(kind, data, j)):
            j += 1
        if j == s or j >= n or PyUnicode_READ(kind, data, j) != 47:
            break
        m += 1
        s = j + 1
    # the greedy repeat takes all m segments, then gives back one at a time
    k = m
    while k >= 1:
        s = p
        for i in range(k):  # after the k-th slash
            j = s
            while j < n and PyUnicode_READ(kind, data, j) != 47:
                j += 1
            s = j + 1
        stop = s
        while stop < n and _path_char(PyUnicode_READ(kind, data, stop)):
            stop += 1
        end = _tail(kind, data, s, stop)
        if end >= 0:
            return end
        k -= 1
    return -1


def find_identifiers(str text) -> list:
    """Every code span, path and called name in ``text``, left to right, as the pure twin's
    ``re.findall`` gives them."""
    return _find(text, False)


def find_names(str text) -> list:
    """The names ``find_identifiers`` finds, without their backticks and call parenthesis."""
    return _find(text, True)


cdef inline bint _wrapper(Py_UCS4 c) noexcept:
    return c == 96 or c == 40  # a backtick or an opening parenthesis


cdef inline void _add(list out, str text, int kind, void *data, Py_ssize_t p, Py_ssize_t end,
                      bint bare):
    # the match text[p:end], or with ``bare`` the name inside it (``.strip("`(")``)
    if bare:
        while p < end and _wrapper(PyUnicode_READ(kind, data, p)):
            p += 1
        while end > p and _wrapper(PyUnicode_READ(kind, data, end - 1)):
            end -= 1
    out.append(text[p:end])


cdef list _find(str text, bint bare):
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t p = 0
    cdef Py_ssize_t end, j
    cdef Py_UCS4 c, before
    cdef bint after_word, after_path
    cdef list out = []
    # a path needs a slash and a call its parenthesis: without one in the text, neither is
    # tried at each word (most sentences have backticks only)
    cdef bint slash = "/" in text
    cdef bint paren = "(" in text
    while p < n:
        c = PyUnicode_READ(kind, data, p)
        if c == 96:
            end = _code_span(kind, data, n, p)
            if end >= 0:
                _add(out, text, kind, data, p, end, bare)
                p = end
                continue
            p += 1
            continue
        if not _path_char(c) and c != 47:
            p += 1
            continue
        if p > 0:
            before = PyUnicode_READ(kind, data, p - 1)
            after_word = _word(before)
            after_path = after_word or before == 46 or before == 45
        else:
            after_word = after_path = False
        if slash and not after_path:
            end = _path(kind, data, n, p)
            if end >= 0:
                _add(out, text, kind, data, p, end, bare)
                p = end
                continue
        if paren and not after_word and (c == 95 or (97 <= c <= 122) or (65 <= c <= 90)):
            j = p + 1
            while j < n and _word(PyUnicode_READ(kind, data, j)):
                j += 1
            if j < n and PyUnicode_READ(kind, data, j) == 40:
                _add(out, text, kind, data, p, j + 1, bare)
                p = j + 1
                continue
        p += 1
        if _word(c):  # inside a word nothing can start (a word character comes before)
            while p < n and _word(PyUnicode_READ(kind, data, p)):
                p += 1
    return out


cdef inline bint _at(int kind, void *data, Py_ssize_t n, Py_ssize_t p, const char *word) noexcept:
    # ``word`` (ASCII) starts at p
    cdef Py_ssize_t i = 0
    while word[i] != 0:
        if p + i >= n or PyUnicode_READ(kind, data, p + i) != <Py_UCS4>word[i]:
            return False
        i += 1
    return True


cdef inline bint _ends(int kind, void *data, Py_ssize_t n, Py_ssize_t q) noexcept:
    # a word ends at q (``\\b`` after a word character)
    return q >= n or not _word(PyUnicode_READ(kind, data, q))


cdef bint _phrase(int kind, void *data, Py_ssize_t n, Py_ssize_t p, const char *word) noexcept:
    # ``word`` then a word's end, at p
    return _at(kind, data, n, p, word) and _ends(kind, data, n, p + <Py_ssize_t>strlen(word))


cdef Py_ssize_t _digits(int kind, void *data, Py_ssize_t n, Py_ssize_t p) noexcept:
    # end of the run of decimal digits at p
    while p < n and PyUnicode_READ(kind, data, p).isdecimal():
        p += 1
    return p


cdef bint _all_tests(int kind, void *data, Py_ssize_t n, Py_ssize_t p) noexcept:
    # ``all \\d+ tests?`` then a word's end, at p
    cdef Py_ssize_t q
    if not _at(kind, data, n, p, "all "):
        return False
    q = _digits(kind, data, n, p + 4)
    if q == p + 4 or not _at(kind, data, n, q, " test"):
        return False
    q += 5
    if _ends(kind, data, n, q):
        return True
    return PyUnicode_READ(kind, data, q) == 115 and _ends(kind, data, n, q + 1)


cdef bint _tests_pass(int kind, void *data, Py_ssize_t n, Py_ssize_t p) noexcept:
    # ``tests? (?:now )?pass\\w*`` at p (``\\w*`` always reaches a word's end)
    return (
        _at(kind, data, n, p, "test pass")
        or _at(kind, data, n, p, "tests pass")
        or _at(kind, data, n, p, "test now pass")
        or _at(kind, data, n, p, "tests now pass")
    )


cdef bint _noun_is(int kind, void *data, Py_ssize_t n, Py_ssize_t q, const char *noun) noexcept:
    # ``noun`` (with its space) then ``is`` or ``was``, at q
    if not _at(kind, data, n, q, noun):
        return False
    q += <Py_ssize_t>strlen(noun)
    return _phrase(kind, data, n, q, "is") or _phrase(kind, data, n, q, "was")


cdef bint _the(int kind, void *data, Py_ssize_t n, Py_ssize_t p) noexcept:
    # ``the (?:bug|error|cause|fix) (?:is|was)`` at p
    cdef Py_ssize_t q = p + 4
    if not _at(kind, data, n, p, "the "):
        return False
    return (  # "the problem", "the issue" alone are in the table of phrases
        _noun_is(kind, data, n, q, "bug ")
        or _noun_is(kind, data, n, q, "error ")
        or _noun_is(kind, data, n, q, "cause ")
        or _noun_is(kind, data, n, q, "fix ")
    )


cdef bint _tested(int kind, void *data, Py_ssize_t n, Py_ssize_t p) noexcept:
    # ``\\d+ (?:passed|failed)`` at p
    cdef Py_ssize_t q = _digits(kind, data, n, p)
    if q == p:
        return False
    return _phrase(kind, data, n, q, " passed") or _phrase(kind, data, n, q, " failed")


# The phrases that are plain words (a word's end after them), ASCII, lowercase; the rest
# (``all \\d+ tests?``, ``tests? (now )?pass``, ``the <noun> is|was``, ``\\d+ passed|failed``)
# have their own scans.
cdef enum:
    _N_PHRASES = 44
cdef const char *_PHRASES[_N_PHRASES]
_PHRASES[:] = [
    b"added", b"turns out", b"the problem", b"the issue", b"passes", b"passing", b"fixed",
    b"found that", b"found the", b"works", b"working", b"will use", b"succeeded", b"completed",
    b"confirmed", b"created", b"caused by", b"chose", b"because", b"implemented", b"instead",
    b"removed", b"renamed", b"refactored", b"root cause", b"updated", b"verified", b"decided",
    # German, Spanish, Portuguese, Italian and French, where written in ASCII (see the twin)
    b"behoben", b"bestanden", b"erfolgreich", b"funktioniert", b"corregido", b"solucionado",
    b"exitosamente", b"funciona", b"pasan", b"corrigido", b"resolvido", b"passaram", b"risolto",
    b"funziona", b"superati", b"fonctionne",
]


# The letters a phrase can open with (the plain phrases', and "all ...", "tests ...", "the ..."):
# a word opening with another letter is passed at once.
cdef bint _OPENS[128]
_OPENS[:] = [False] * 128
for _k in range(_N_PHRASES):
    _OPENS[<unsigned char>_PHRASES[_k][0] & 127] = True  # (ASCII phrases)
_OPENS[97] = _OPENS[116] = True  # a, t
# The plain phrases by their first letter: those of letter c are _BY_LETTER[_FIRST[c]] up to
# _BY_LETTER[_FIRST[c + 1]] (a word is tried against its letter's phrases, not all of them).
cdef int _BY_LETTER[_N_PHRASES]
cdef int _FIRST[129]
_FIRST[:] = [0] * 129
for _k in range(_N_PHRASES):
    _FIRST[_PHRASES[_k][0] + 1] += 1
for _k in range(128):
    _FIRST[_k + 1] += _FIRST[_k]
_placed = [_FIRST[_c] for _c in range(128)]
for _k in range(_N_PHRASES):
    _BY_LETTER[_placed[_PHRASES[_k][0]]] = _k
    _placed[_PHRASES[_k][0]] += 1


cdef bint _concludes_at(int kind, void *data, Py_ssize_t n, Py_ssize_t p, Py_UCS4 c) noexcept:
    # a phrase starts at p, where a word starting with the letter c starts
    cdef int k, letter
    if c < 128 and not _OPENS[c]:
        return False
    if c == 97 and _all_tests(kind, data, n, p):  # a
        return True
    if c == 116 and (_tests_pass(kind, data, n, p) or _the(kind, data, n, p)):  # t
        return True
    if c >= 128:  # no plain phrase opens with it
        return False
    letter = <int>c
    for k in range(_FIRST[letter], _FIRST[letter + 1]):
        if _phrase(kind, data, n, p, _PHRASES[_BY_LETTER[k]]):
            return True
    return False


def concludes(str text) -> bool:
    """Whether ``text`` (lowercased) has a phrase that concludes or decides, as the pure twin's
    ``CONCLUSION.search`` finds one."""
    return _concludes(text)


#: The twin's conclusions in other scripts (Chinese, Japanese, Korean, Russian), found anywhere
#: in the text.
cdef tuple _WIDE_CONCLUSIONS = OTHER_SCRIPT_CONCLUSIONS


cdef bint _wide_concludes(str text):
    # (each marker opens with a Cyrillic, kana, CJK or Hangul letter: a text with none, as
    # English with an arrow or an accent in it, is passed in one scan, not a search a marker)
    cdef Py_ssize_t n = len(text), p
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_UCS4 c
    cdef str marker
    for p in range(n):
        c = PyUnicode_READ(kind, data, p)
        if (0x0400 <= c <= 0x04FF) or (0x3040 <= c <= 0xD7A3):
            break
    else:
        return False
    for marker in _WIDE_CONCLUSIONS:
        if marker in text:
            return True
    return False


cdef bint _concludes(str text):
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t p = 0
    cdef Py_UCS4 c
    cdef bint after_word = False
    while p < n:
        c = PyUnicode_READ(kind, data, p)
        if _word(c):
            if not after_word:  # a word starts here
                if (48 <= c <= 57) if c < 128 else c.isdecimal():
                    if _tested(kind, data, n, p):
                        return True
                elif _concludes_at(kind, data, n, p, c):
                    return True
            after_word = True
            p += 1
            while p < n and _word(PyUnicode_READ(kind, data, p)):  # the rest of the word
                p += 1
            continue
        after_word = False
        p += 1
    # (those letters take two bytes or more a character)
    return kind != PyUnicode_1BYTE_KIND and _wide_concludes(text)



cdef bint _may_name(str text):
    # every exact name has a backtick, a slash or a parenthesis: most prose has none (one pass)
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t p
    cdef Py_UCS4 c
    for p in range(n):
        c = PyUnicode_READ(kind, data, p)
        if c == 96 or c == 47 or c == 40:
            return True
    return False


def other_words(str sentence) -> int:
    """Words of ``sentence`` outside its code spans, as the pure twin's regular expressions
    count them."""
    return _other_words(sentence)


cdef Py_ssize_t _other_words(str text):
    # runs of two or more ASCII letters, a code span (a backtick to the next one) ending a run
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t p = 0, q, words = 0, run = 0
    cdef Py_UCS4 c
    while p < n:
        c = PyUnicode_READ(kind, data, p)
        if c == 96:
            q = p + 1
            while q < n and PyUnicode_READ(kind, data, q) != 96:
                q += 1
            if q < n:  # a code span, read as a space; an unclosed backtick is a plain mark
                if run >= 2:
                    words += 1
                run = 0
                p = q + 1
                continue
        if (65 <= c <= 90) or (97 <= c <= 122):
            run += 1
        else:
            if run >= 2:
                words += 1
            run = 0
        p += 1
    if run >= 2:
        words += 1
    return words


cdef inline bint _is_wide_letter(Py_UCS4 c) noexcept:
    # a kana or CJK ideograph (``memcore.wide_letters.WIDE_LETTER``, the twin's class)
    return (
        (0x3040 <= c <= 0x30FF)
        or (0x3400 <= c <= 0x4DBF)
        or (0x4E00 <= c <= 0x9FFF)
        or (0xF900 <= c <= 0xFAFF)
    )


cdef Py_ssize_t _count_words(str text, bint *single):
    # the twin's ``count_words``: how many words ``text.split()`` gives, and one more for every
    # two letters of a run of Chinese or Japanese letters; ``single`` when " ".join of the
    # words is ``text`` itself (one space between words, none around them)
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t p, words = 0, wide = 0
    cdef Py_UCS4 c
    cdef bint in_word = False
    cdef bint after_space = True  # at the start, as after a space: no space may open the text
    single[0] = True
    for p in range(n):
        c = PyUnicode_READ(kind, data, p)
        if c >= 0x3040 and _is_wide_letter(c):
            wide += 1
        elif wide:
            words += wide // 2
            wide = 0
        if c.isspace():
            if c != 32 or after_space:
                single[0] = False
            in_word = False
            after_space = True
        else:
            if not in_word:
                words += 1
            in_word = True
            after_space = False
    if n and after_space:  # a space closes the text
        single[0] = False
    return words + wide // 2


include "prose_lines.pxi"
include "prose_echo.pxi"


def count_words(str sentence) -> int:
    """The words of ``sentence``, Chinese and Japanese letters counted two to a word (see the
    twin)."""
    cdef bint single
    return _count_words(sentence, &single)


include "prose_walk.pxi"
