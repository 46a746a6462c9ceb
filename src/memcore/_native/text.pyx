# cython: freethreading_compatible = False
"""Compiled ``text`` kernels: token counting, sentence splitting, words and the facts an agent
must not lose. The pure-Python twin is ``memcore/_pure/text.py``: same names, signatures and
results (checked by hypothesis in ``tests/test_pipeline_kernels.py``); ``pipeline`` re-exports
them and cimports the C-level pieces declared in ``text.pxd``.

Characters are read as ``Py_UCS4`` straight from the string's buffer (``PyUnicode_READ``, no
copies; every index is checked against the range being scanned before it is read); character
classes (``_chars.pxd``) are ASCII-based like the twin's. Constants come from
``memcore._pure._text_tables``. Table words (stopwords, abbreviations, error words) are looked
up in C hash tables of their lower-cased ASCII bytes; words with non-ASCII characters take the
twin's path (``str.lower()``) instead.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.pyport cimport PY_SSIZE_T_MAX
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ
from libc.stdint cimport uint64_t

from memcore._native._chars cimport (
    _alnum,
    _ascii_lower,
    _is_digit,
    _is_letter,
    _is_mark,
    _is_space,
    _joins_space,
)
from memcore._pure._text_tables import (
    ABBREVIATIONS,
    DIGIT_COST,
    GLUED_STARTS,
    ERROR_WORDS,
    FNV_OFFSET,
    FNV_PRIME,
    LETTER_COST,
    LETTER_COST_PER_EXTRA,
    NON_ASCII_COST,
    PUNCT_COST,
    SPACE_RUN_COST,
    STOPWORDS,
)
from memcore._native.text_literals import literal_hits  # noqa: F401  (the family's: masking)

cdef double _LETTER_COST[64]
cdef Py_ssize_t _TABLE = len(LETTER_COST)
if _TABLE > 64:
    raise ImportError("LETTER_COST has more than 64 entries")
for _k in range(_TABLE):
    _LETTER_COST[_k] = LETTER_COST[_k]
cdef double _PER_EXTRA = LETTER_COST_PER_EXTRA
cdef double _DIGIT_COST = DIGIT_COST
cdef double _PUNCT_COST = PUNCT_COST
cdef double _NON_ASCII_COST = NON_ASCII_COST
cdef double _SPACE_RUN_COST = SPACE_RUN_COST
cdef uint64_t _FNV_OFFSET = FNV_OFFSET
cdef uint64_t _FNV_PRIME = FNV_PRIME
cdef frozenset _ABBREVIATIONS = ABBREVIATIONS
cdef frozenset _ERROR_WORDS = ERROR_WORDS
cdef frozenset _GLUED_STARTS = GLUED_STARTS


# --- byte-string hash tables -------------------------------------------------------------------
#
# Open addressing (linear probing, at most half full) over keys stored back to back in an arena.
# A key is written at the arena's end first (``_table_pending``) and kept only when new
# (``_table_commit``), so a lookup of a word never allocates a Python object.


cdef int _table_alloc_slots(_Table* t, Py_ssize_t capacity) except -1:
    cdef Py_ssize_t k
    t.offs = <Py_ssize_t*>PyMem_Malloc(capacity * sizeof(Py_ssize_t))
    t.lens = <Py_ssize_t*>PyMem_Malloc(capacity * sizeof(Py_ssize_t))
    t.vals = <Py_ssize_t*>PyMem_Malloc(capacity * sizeof(Py_ssize_t))
    t.hashes = <uint64_t*>PyMem_Malloc(capacity * sizeof(uint64_t))
    if t.offs == NULL or t.lens == NULL or t.vals == NULL or t.hashes == NULL:
        raise MemoryError()
    for k in range(capacity):
        t.offs[k] = -1
    t.mask = capacity - 1
    return 0


cdef void _table_free_slots(_Table* t) noexcept:
    PyMem_Free(t.offs)
    PyMem_Free(t.lens)
    PyMem_Free(t.vals)
    PyMem_Free(t.hashes)
    t.offs = NULL
    t.lens = NULL
    t.vals = NULL
    t.hashes = NULL


cdef void _table_free(_Table* t) noexcept:
    _table_free_slots(t)
    PyMem_Free(t.arena)
    t.arena = NULL


cdef int _table_init(_Table* t, Py_ssize_t capacity, Py_ssize_t arena_cap) except -1:
    """An empty table; the caller frees it with ``_table_free`` even when this raises."""
    t.offs = NULL
    t.lens = NULL
    t.vals = NULL
    t.hashes = NULL
    t.used = 0
    t.arena_len = 0
    t.arena_cap = arena_cap
    t.arena = <char*>PyMem_Malloc(arena_cap)
    if t.arena == NULL:
        raise MemoryError()
    return _table_alloc_slots(t, capacity)


cdef char* _table_pending(_Table* t, Py_ssize_t length) except NULL:
    """Room for a ``length``-byte key at the arena's end: the address to write it at."""
    cdef Py_ssize_t need = t.arena_len + length, cap
    cdef char* grown
    if need > t.arena_cap:
        cap = 2 * t.arena_cap
        if cap < need:
            cap = need
        grown = <char*>PyMem_Realloc(t.arena, cap)
        if grown == NULL:
            raise MemoryError()
        t.arena = grown
        t.arena_cap = cap
    return t.arena + t.arena_len


cdef int _table_commit(
    _Table* t, Py_ssize_t slot, Py_ssize_t length, uint64_t h, Py_ssize_t val
) except -1:
    """Keep the pending key (``length`` bytes at the arena's end) in the empty ``slot``."""
    cdef _Table old
    cdef Py_ssize_t k, s
    t.offs[slot] = t.arena_len
    t.lens[slot] = length
    t.vals[slot] = val
    t.hashes[slot] = h
    t.arena_len += length
    t.used += 1
    if 2 * t.used > t.mask:
        old = t[0]
        try:
            _table_alloc_slots(t, 2 * (old.mask + 1))
            for k in range(old.mask + 1):
                if old.offs[k] >= 0:
                    s = <Py_ssize_t>(old.hashes[k] & <uint64_t>t.mask)
                    while t.offs[s] >= 0:
                        s = (s + 1) & t.mask
                    t.offs[s] = old.offs[k]
                    t.lens[s] = old.lens[k]
                    t.vals[s] = old.vals[k]
                    t.hashes[s] = old.hashes[k]
        except MemoryError:
            _table_free_slots(t)
            t.offs = old.offs
            t.lens = old.lens
            t.vals = old.vals
            t.hashes = old.hashes
            t.mask = old.mask
            raise
        _table_free_slots(&old)
    return 0


cdef inline uint64_t _write_lower(
    char* out, int kind, const void* data, Py_ssize_t a, Py_ssize_t b
) noexcept:
    """Write ``text[a:b]`` (ASCII, ``a <= b`` within the text) lower-cased to ``out``; its hash."""
    cdef uint64_t h = _FNV_OFFSET
    cdef Py_ssize_t k
    cdef Py_UCS4 c
    for k in range(a, b):
        c = _ascii_lower(PyUnicode_READ(kind, <void*>data, k))
        out[k - a] = <char>c
        h = (h ^ <uint64_t>c) * _FNV_PRIME
    return _finish_hash(h)


cdef int _table_add_words(_Table* t, words, Py_ssize_t val) except -1:
    """Add the ASCII lower-case ``words`` not in ``t`` yet, with value ``val``; the length of the
    longest. Others are left out: a lower-cased ASCII word never equals them (non-ASCII words
    are looked up in the Python sets instead)."""
    cdef Py_ssize_t longest = 0, length, slot
    cdef uint64_t h
    cdef char* key
    cdef str word
    for word in sorted(words):
        if not word.isascii() or word.lower() != word:
            continue
        length = len(word)
        key = _table_pending(t, length)
        h = _write_lower(key, PyUnicode_KIND(word), PyUnicode_DATA(word), 0, length)
        slot = _table_slot(t, key, length, h)
        if t.offs[slot] < 0:
            _table_commit(t, slot, length, h, val)
        if length > longest:
            longest = length
    return longest


# Stopwords (value 0) and the fact tables (1: abbreviation, which wins; 2: error word), plus which
# ASCII characters occur in a fact-table word in either case (a quick rejection before hashing).
cdef _Table _STOP_TABLE
cdef _Table _MARK_TABLE
cdef Py_ssize_t _STOP_LONGEST, _MARK_LONGEST
cdef bint _MARK_CHAR[128]
cdef unsigned int _MARK_FIRST[257]  # by length: the first characters (bit ``c & 31``) ...
cdef unsigned int _MARK_LAST[257]  # ... and the last ones of the ASCII table words
cdef char _SCRATCH[256]
_table_init(&_STOP_TABLE, 256, 1024)
_table_init(&_MARK_TABLE, 256, 1024)
_STOP_LONGEST = _table_add_words(&_STOP_TABLE, STOPWORDS, 0)
_MARK_LONGEST = max(
    _table_add_words(&_MARK_TABLE, ABBREVIATIONS, 1), _table_add_words(&_MARK_TABLE, ERROR_WORDS, 2)
)
if _MARK_LONGEST > 256:
    raise ImportError("an abbreviation or error word is longer than 256 characters")
for _k in range(128):
    _MARK_CHAR[_k] = False
for _k in range(257):
    _MARK_FIRST[_k] = 0
    _MARK_LAST[_k] = 0
for _word in ABBREVIATIONS | ERROR_WORDS:
    if not _word.isascii() or _word.lower() != _word:
        continue
    for _c in _word:
        _MARK_CHAR[ord(_c)] = True
        _MARK_CHAR[ord(_c.upper())] = True
    if _word:
        _MARK_FIRST[len(_word)] |= 1u << (ord(_word[0]) & 31)
        _MARK_LAST[len(_word)] |= 1u << (ord(_word[len(_word) - 1]) & 31)


cdef bint _is_stopword(const char* key, Py_ssize_t length, uint64_t h) noexcept:
    """Whether the lower-cased ASCII word ``key`` (its hash ``h`` as ``_write_lower`` makes it)
    is a stopword: ``pipeline``'s scoring leaves those out."""
    return length <= _STOP_LONGEST and _STOP_TABLE.offs[_table_slot(&_STOP_TABLE, key, length, h)] >= 0


cdef Py_ssize_t _mark_of(int kind, const void* data, Py_ssize_t a, Py_ssize_t b) noexcept:
    """The fact-table value of the ASCII word ``text[a:b]`` lower-cased (0: in neither table)."""
    cdef Py_ssize_t k, slot
    cdef Py_UCS4 c
    cdef uint64_t h
    if b - a > _MARK_LONGEST or b <= a:
        return 0
    # case-insensitive shape filter: ``c & 31`` is the same for a letter in either case
    if not (_MARK_FIRST[b - a] >> (<unsigned int>PyUnicode_READ(kind, <void*>data, a) & 31)) & 1:
        return 0
    if not (_MARK_LAST[b - a] >> (<unsigned int>PyUnicode_READ(kind, <void*>data, b - 1) & 31)) & 1:
        return 0
    for k in range(a, b):
        c = PyUnicode_READ(kind, <void*>data, k)
        if c >= 128 or not _MARK_CHAR[c]:
            return 0
    h = _write_lower(_SCRATCH, kind, data, a, b)
    slot = _table_slot(&_MARK_TABLE, _SCRATCH, b - a, h)
    return _MARK_TABLE.vals[slot] if _MARK_TABLE.offs[slot] >= 0 else 0


# --- token counting ----------------------------------------------------------------------------


cdef Py_ssize_t _count_range(int kind, const void* data, Py_ssize_t lo, Py_ssize_t hi) noexcept:
    """``count_tokens(text[lo:hi])`` read in place (``0 <= lo <= hi <= len(text)``)."""
    cdef Py_ssize_t i = lo, j, length
    cdef double cost = 0.0, marks
    cdef Py_UCS4 c, d
    while i < hi:
        c = PyUnicode_READ(kind, <void*>data, i)
        if _is_letter(c):
            j = i + 1
            while j < hi:
                d = PyUnicode_READ(kind, <void*>data, j)
                if not _is_letter(d):
                    break
                if 65 <= d <= 90 and 97 <= PyUnicode_READ(kind, <void*>data, j - 1) <= 122:
                    break  # camelCase: BPE starts a new piece at the capital
                j += 1
            length = j - i
            if length < _TABLE:
                cost += _LETTER_COST[length]
            else:
                cost += _LETTER_COST[_TABLE - 1] + (length - _TABLE + 1) * _PER_EXTRA
            i = j
        elif _is_digit(c):
            j = i + 1
            while j < hi and _is_digit(PyUnicode_READ(kind, <void*>data, j)):
                j += 1
            cost += ((j - i + 2) // 3) * (3.0 * _DIGIT_COST)
            i = j
        elif c == 32 and i + 1 < hi and _joins_space(PyUnicode_READ(kind, <void*>data, i + 1)):
            i += 1
        elif _is_space(c):
            j = i + 1
            while j < hi and _is_space(PyUnicode_READ(kind, <void*>data, j)):
                j += 1
            if (
                j < hi
                and j - i > 1
                and PyUnicode_READ(kind, <void*>data, j - 1) == 32
                and _joins_space(PyUnicode_READ(kind, <void*>data, j))
            ):
                j -= 1
            cost += _SPACE_RUN_COST
            i = j
        elif c < 128:
            j = i + 1
            while j < hi and _is_mark(PyUnicode_READ(kind, <void*>data, j)):
                j += 1
            if (
                j - i == 1
                and j < hi
                and _is_letter(PyUnicode_READ(kind, <void*>data, j))
                and (i == lo or PyUnicode_READ(kind, <void*>data, i - 1) != 32)
            ):
                i = j
                continue
            marks = (j - i) * _PUNCT_COST
            cost += marks if marks > 1.0 else 1.0
            while j < hi:
                d = PyUnicode_READ(kind, <void*>data, j)
                if d != 10 and d != 13:
                    break
                j += 1
            i = j
        else:
            cost += _NON_ASCII_COST
            i += 1
    return <Py_ssize_t>(cost + 0.5)


include "text_arg.pxi"


def count_tokens(text) -> int:
    """Estimate the BPE tokens of ``text`` (cl100k-like) from runs of letters, digits, marks."""
    cdef str exact = _as_text(text)
    return _count_range(PyUnicode_KIND(exact), PyUnicode_DATA(exact), 0, len(exact))


include "text_sentences.pxi"


# --- words and facts ---------------------------------------------------------------------------


def tokenize_words(text) -> list:
    """Lower-cased words: runs of letters, digits and ``_`` (any script)."""
    return _tokenize_words(_as_text(text))


cdef list _tokenize_words(str text):
    """Lower-cased words: runs of letters, digits and ``_`` (any script)."""
    cdef list words = []
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t i = 0, j
    cdef Py_UCS4 c
    cdef bint ascii = text.isascii()
    lowered = text.lower() if ascii else text
    while i < n:
        c = text[i]
        if c == 95 or _alnum(c):
            j = i + 1
            while j < n and (text[j] == 95 or _alnum(text[j])):
                j += 1
            words.append(lowered[i:j] if ascii else text[i:j].lower())
            i = j
        else:
            i += 1
    return words


cdef Py_ssize_t _MAX_MARKED = max(len(word) for word in ABBREVIATIONS | ERROR_WORDS)


cdef inline bint _ends_with(
    int kind, const void* data, Py_ssize_t a, Py_ssize_t b, const char* suffix, Py_ssize_t m
) noexcept:
    """Whether ``text[a:b]`` ends with the ``m`` ASCII characters of ``suffix``."""
    cdef Py_ssize_t k
    if b - a < m:
        return False
    for k in range(m):
        if PyUnicode_READ(kind, <void*>data, b - m + k) != <Py_UCS4>(<unsigned char>suffix[k]):
            return False
    return True


cdef bint _is_fact_at(str text, int kind, const void* data, Py_ssize_t a, Py_ssize_t b) except -1:
    """``_is_fact(text[a:b])`` of the twin, reading the text in place (``0 <= a <= b <= len``).

    The twin's tests are an abbreviation (never a fact), an error word (a fact), then structural
    tests that each make a fact; the structural ones are side-effect free, so one pass evaluates
    them all and the table lookups decide first.
    """
    cdef Py_ssize_t n = b - a
    cdef Py_ssize_t k, mark = 0
    cdef Py_UCS4 c, prev = 0, top = 0
    cdef bint hit = False
    if n < 2:
        return _is_digit(PyUnicode_READ(kind, <void*>data, a)) if n == 1 else False
    for k in range(a, b):
        c = PyUnicode_READ(kind, <void*>data, k)
        if c > top:
            top = c
        if not hit:
            if _is_digit(c) or c == 95:  # a number, a snake_case name
                hit = True
            elif c == 58:  # "://"
                hit = (
                    k + 2 < b
                    and PyUnicode_READ(kind, <void*>data, k + 1) == 47
                    and PyUnicode_READ(kind, <void*>data, k + 2) == 47
                )
            elif c == 47 or c == 46 or c == 92:  # a path or dotted name
                hit = (
                    k > a
                    and k + 1 < b
                    and (_alnum(prev) or _alnum(PyUnicode_READ(kind, <void*>data, k + 1)))
                )
            elif 65 <= c <= 90 and 97 <= prev <= 122 and k > a:  # camelCase identifier
                hit = True
        prev = c
    if not hit:
        hit = (
            _ends_with(kind, data, a, b, b"Error", 5)
            or _ends_with(kind, data, a, b, b"Exception", 9)
            or _ends_with(kind, data, a, b, b"()", 2)
            or (
                PyUnicode_READ(kind, <void*>data, a) == 47
                and _alnum(PyUnicode_READ(kind, <void*>data, a + 1))
            )
        )
    if n <= _MAX_MARKED:
        # lower() never shortens a string, so a longer token cannot be a table word
        if top < 128:
            mark = _mark_of(kind, data, a, b)
        else:
            lowered = text[a:b].lower()
            mark = 1 if lowered in _ABBREVIATIONS else 2 if lowered in _ERROR_WORDS else 0
        if mark == 1:
            return False
        if mark == 2:
            return True
    return hit


cdef Py_ssize_t _scan_facts(
    str text, int kind, const void* data, Py_ssize_t lo, Py_ssize_t hi, list out, Py_ssize_t cap
) except -1:
    """The facts of ``text[lo:hi]`` (``0 <= lo <= hi <= len``): appended to ``out`` unless it
    is None; their number, or ``cap`` once that many are found (a score counts no further)."""
    cdef Py_ssize_t count = 0
    cdef Py_ssize_t i = lo, j, a, b
    cdef Py_UCS4 c
    while i < hi and count < cap:
        while i < hi and _is_space(PyUnicode_READ(kind, <void*>data, i)):
            i += 1
        j = i
        while j < hi and not _is_space(PyUnicode_READ(kind, <void*>data, j)):
            j += 1
        a = i
        b = j
        while a < b and PyUnicode_READ(kind, <void*>data, a) in "\"'([{<`":
            a += 1
        while b > a:
            c = PyUnicode_READ(kind, <void*>data, b - 1)
            if c not in ".,;:!?\"')]}>`\u2026":  # the twin's _TAIL_STRIP, ellipsis included
                break
            if c == 41 and b - 2 >= a and PyUnicode_READ(kind, <void*>data, b - 2) == 40:
                break  # keep the call parentheses of "name()"
            b -= 1
        if a < b and _is_fact_at(text, kind, data, a, b):
            count += 1
            if out is not None:
                out.append(text[a:b])
        i = j
    return count


def fact_tokens(text) -> list:
    """The tokens an agent must not lose: numbers, identifiers, paths, URLs, error words."""
    return _fact_tokens(_as_text(text))


cdef list _fact_tokens(str text):
    """The tokens an agent must not lose: numbers, identifiers, paths, URLs, error words."""
    cdef list facts = []
    _scan_facts(text, PyUnicode_KIND(text), PyUnicode_DATA(text), 0, len(text), facts, PY_SSIZE_T_MAX)
    return facts
