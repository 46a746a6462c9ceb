# cython: freethreading_compatible = False
"""Compiled ``pipeline`` kernels: text splitting, token counting, sentence scoring, SimHash
grouping and level partitioning. The pure-Python twin is ``memcore/_pure/pipeline.py``: same
names, signatures and results (checked by hypothesis in ``tests/test_pipeline_kernels.py``).

Characters are read as ``Py_UCS4`` straight from the string's buffer (``PyUnicode_READ``, no
copies; every index is checked against the range being scanned before it is read); character
classes are ASCII-based like the twin's. Constants come from ``memcore._pure._text_tables``.

Sentence scoring interns words to small integer ids in first-occurrence order through a C hash
table of their lower-cased ASCII bytes, so TF-IDF runs over C arrays while every floating-point
sum keeps the twin's order (its dicts iterate in insertion order = first-occurrence order): the
scores are bit-identical. Table words (stopwords, abbreviations, error words) are looked up the
same way; words with non-ASCII characters take the twin's path (``str.lower()``) instead.
"""

from array import array

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.pyport cimport PY_SSIZE_T_MAX
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ
from libc.math cimport log, sqrt
from libc.stdint cimport uint64_t
from libc.stdlib cimport qsort
from libc.string cimport memcmp

from memcore._pure._text_tables import (
    ABBREVIATIONS,
    CENTROID_WEIGHT,
    DIGIT_COST,
    ERROR_WORDS,
    FACT_CAP,
    FACT_WEIGHT,
    FNV_OFFSET,
    FNV_PRIME,
    GROUP_RECENT,
    LETTER_COST,
    LETTER_COST_PER_EXTRA,
    MASK64,
    MIN_CLIPPED_WORDS,
    NON_ASCII_COST,
    POSITION_WEIGHT,
    PUNCT_COST,
    SPACE_RUN_COST,
    STOPWORDS,
)

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
cdef double _CENTROID_WEIGHT = CENTROID_WEIGHT
cdef double _POSITION_WEIGHT = POSITION_WEIGHT
cdef double _FACT_WEIGHT = FACT_WEIGHT
cdef Py_ssize_t _FACT_CAP = FACT_CAP
cdef uint64_t _FNV_OFFSET = FNV_OFFSET
cdef uint64_t _FNV_PRIME = FNV_PRIME
cdef Py_ssize_t _GROUP_RECENT = GROUP_RECENT
cdef frozenset _ABBREVIATIONS = ABBREVIATIONS
cdef frozenset _STOPWORDS = STOPWORDS
cdef frozenset _ERROR_WORDS = ERROR_WORDS


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
    """A character of ``tokenize_words``'s words: ``_`` or ``str.isalnum()``."""
    if c < 128:
        return _is_letter(c) or _is_digit(c) or c == 95
    return c.isalnum()


cdef inline Py_UCS4 _ascii_lower(Py_UCS4 c) noexcept:
    return <Py_UCS4>(<unsigned int>c + 32) if 65 <= c <= 90 else c


# --- byte-string hash tables -------------------------------------------------------------------
#
# Open addressing (linear probing, at most half full) over keys stored back to back in an arena.
# A key is written at the arena's end first (``_table_pending``) and kept only when new
# (``_table_commit``), so a lookup of a word never allocates a Python object.


cdef struct _Table:
    Py_ssize_t mask  # capacity - 1; the capacity is a power of two
    Py_ssize_t used
    Py_ssize_t* offs  # arena offset of each slot's key; -1 for an empty slot
    Py_ssize_t* lens
    Py_ssize_t* vals
    uint64_t* hashes
    char* arena
    Py_ssize_t arena_len
    Py_ssize_t arena_cap


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


cdef inline uint64_t _finish_hash(uint64_t h) noexcept:
    return h ^ (h >> 29) ^ (h >> 47)


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


cdef inline Py_ssize_t _table_slot(
    const _Table* t, const char* key, Py_ssize_t length, uint64_t h
) noexcept:
    """The slot holding ``key``, else the empty slot where it would go."""
    cdef Py_ssize_t slot = <Py_ssize_t>(h & <uint64_t>t.mask)
    while t.offs[slot] >= 0:
        if (
            t.hashes[slot] == h
            and t.lens[slot] == length
            and memcmp(t.arena + t.offs[slot], key, length) == 0
        ):
            return slot
        slot = (slot + 1) & t.mask
    return slot


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


def count_tokens(str text not None) -> int:
    """Estimate the BPE tokens of ``text`` (cl100k-like) from runs of letters, digits, marks."""
    return _count_range(PyUnicode_KIND(text), PyUnicode_DATA(text), 0, len(text))


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
    if dot - b == 1 and _is_letter(PyUnicode_READ(kind, <void*>data, b)):
        return True
    return _mark_of(kind, data, b, dot) == 1


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


def split_sentences(str text not None) -> list:
    """``(start, end)`` offsets of the sentences of ``text``, whitespace trimmed (see the twin)."""
    cdef list spans = []
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t start = 0, i = 0, j, k, m
    cdef bint in_code = False
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
            i += 1
            continue
        if c == 10:
            j = i + 1
            while j < n:
                d = PyUnicode_READ(kind, <void*>data, j)
                if d != 32 and d != 9 and d != 13:
                    break
                j += 1
            if j < n and (PyUnicode_READ(kind, <void*>data, j) == 10 or _is_bullet(kind, data, j, n)):
                _push(kind, data, spans, start, i)
                start = j
                i = j
                continue
            i += 1
            continue
        if c == 46 or c == 33 or c == 63:
            j = i + 1
            while j < n:
                d = PyUnicode_READ(kind, <void*>data, j)
                if d != 46 and d != 33 and d != 63:
                    break
                j += 1
            k = j
            while k < n and PyUnicode_READ(kind, <void*>data, k) in "\"')]}»":
                k += 1
            if k >= n:
                i = k
                continue
            if not _is_space(PyUnicode_READ(kind, <void*>data, k)):
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


# --- words and facts ---------------------------------------------------------------------------


def tokenize_words(str text) -> list:
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
            if c not in ".,;:!?\"')]}>`":
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


def fact_tokens(str text not None) -> list:
    """The tokens an agent must not lose: numbers, identifiers, paths, URLs, error words."""
    cdef list facts = []
    _scan_facts(text, PyUnicode_KIND(text), PyUnicode_DATA(text), 0, len(text), facts, PY_SSIZE_T_MAX)
    return facts


# --- sentence scoring --------------------------------------------------------------------------


cdef struct _Ids:
    # per word id (first-occurrence order): sentences containing it, its idf then its centroid
    # weight, the last sentence it was seen in and where that sentence's entry for it is
    Py_ssize_t count
    Py_ssize_t cap
    Py_ssize_t* df
    double* value
    Py_ssize_t* last
    Py_ssize_t* pos


cdef int _ids_grow(_Ids* ids) except -1:
    cdef Py_ssize_t cap = 2 * ids.cap if ids.cap else 64
    cdef void* p
    p = PyMem_Realloc(ids.df, cap * sizeof(Py_ssize_t))
    if p == NULL:
        raise MemoryError()
    ids.df = <Py_ssize_t*>p
    p = PyMem_Realloc(ids.value, cap * sizeof(double))
    if p == NULL:
        raise MemoryError()
    ids.value = <double*>p
    p = PyMem_Realloc(ids.last, cap * sizeof(Py_ssize_t))
    if p == NULL:
        raise MemoryError()
    ids.last = <Py_ssize_t*>p
    p = PyMem_Realloc(ids.pos, cap * sizeof(Py_ssize_t))
    if p == NULL:
        raise MemoryError()
    ids.pos = <Py_ssize_t*>p
    ids.cap = cap
    return 0


cdef inline Py_ssize_t _new_id(_Ids* ids) except -1:
    cdef Py_ssize_t wid = ids.count
    if wid == ids.cap:
        _ids_grow(ids)
    ids.df[wid] = 0
    ids.value[wid] = 0.0
    ids.last[wid] = -1
    ids.pos[wid] = -1
    ids.count = wid + 1
    return wid


cdef Py_ssize_t _intern(
    _Table* words, _Ids* ids, const char* key, Py_ssize_t length, uint64_t h
) except -2:
    """The id of the pending lower-cased ASCII word ``key`` (at ``words``' arena end, hash
    ``h``); -1 for a stopword. A new word is kept with a new id."""
    cdef Py_ssize_t slot, wid
    slot = _table_slot(words, key, length, h)
    if words.offs[slot] >= 0:
        return words.vals[slot]
    wid = -1
    if length > _STOP_LONGEST or _STOP_TABLE.offs[_table_slot(&_STOP_TABLE, key, length, h)] < 0:
        wid = _new_id(ids)
    _table_commit(words, slot, length, h, wid)
    return wid


cdef int _score_core(
    str text, Py_ssize_t n, const Py_ssize_t* starts, const Py_ssize_t* ends, double* out
) except -1:
    """``score_sentences`` over ``n >= 1`` spans already checked to lie within ``text``."""
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    cdef _Table words
    cdef _Ids ids
    cdef Py_ssize_t* sent = NULL  # sentence s's entries are sent[s]:sent[s + 1]
    cdef Py_ssize_t* ent_id = NULL
    cdef double* ent_w = NULL
    cdef Py_ssize_t ent_count = 0, ent_cap = 0
    cdef Py_ssize_t s, e, i, j, end, wid, length, facts
    cdef Py_UCS4 c
    cdef uint64_t h
    cdef char* key
    cdef void* p
    cdef dict other = None  # words with non-ASCII characters, lower-cased: their ids
    cdef double weight, dot, norm, similarity, centroid_norm, position
    cdef double dn = <double>n
    ids.count = 0
    ids.cap = 0
    ids.df = NULL
    ids.value = NULL
    ids.last = NULL
    ids.pos = NULL
    words.offs = NULL
    words.lens = NULL
    words.vals = NULL
    words.hashes = NULL
    words.arena = NULL
    try:
        _table_init(&words, 256, 1024)
        sent = <Py_ssize_t*>PyMem_Malloc((n + 1) * sizeof(Py_ssize_t))
        if sent == NULL:
            raise MemoryError()
        # term counts per sentence, in first-occurrence order like the twin's ``tf`` dicts
        for s in range(n):
            sent[s] = ent_count
            i = starts[s]
            end = ends[s]
            while i < end:
                c = PyUnicode_READ(kind, <void*>data, i)
                if not _word_char(c):
                    i += 1
                    continue
                # one pass lower-cases and hashes an ASCII word into the arena's pending key
                key = _table_pending(&words, end - i)  # room for the longest word from i
                h = _FNV_OFFSET
                j = i
                while j < end:
                    c = PyUnicode_READ(kind, <void*>data, j)
                    if c >= 128 or not (_is_letter(c) or _is_digit(c) or c == 95):
                        break
                    c = _ascii_lower(c)
                    key[j - i] = <char>c
                    h = (h ^ <uint64_t>c) * _FNV_PRIME
                    j += 1
                if j == end or PyUnicode_READ(kind, <void*>data, j) < 128 or not _word_char(
                    PyUnicode_READ(kind, <void*>data, j)
                ):
                    length = j - i
                    if length < 2:
                        i = j
                        continue
                    wid = _intern(&words, &ids, key, length, _finish_hash(h))
                else:
                    # a non-ASCII word character: find the word's end, lower-case it like the twin
                    j += 1
                    while j < end and _word_char(PyUnicode_READ(kind, <void*>data, j)):
                        j += 1
                    word = text[i:j].lower()
                    length = len(<str>word)
                    if length < 2:
                        i = j
                        continue
                    if (<str>word).isascii():  # e.g. the Kelvin sign lower-cases to "k"
                        key = _table_pending(&words, length)
                        h = _FNV_OFFSET
                        for e in range(length):
                            c = PyUnicode_READ(PyUnicode_KIND(word), PyUnicode_DATA(word), e)
                            key[e] = <char>c
                            h = (h ^ <uint64_t>c) * _FNV_PRIME
                        wid = _intern(&words, &ids, key, length, _finish_hash(h))
                    else:
                        if other is None:
                            other = {}
                        found = other.get(word)
                        if found is not None:
                            wid = found
                        else:
                            wid = -1 if word in _STOPWORDS else _new_id(&ids)
                            other[word] = wid
                i = j
                if wid < 0:
                    continue
                if ids.last[wid] == s:
                    ent_w[ids.pos[wid]] += 1.0
                    continue
                if ent_count == ent_cap:
                    ent_cap = 2 * ent_cap if ent_cap else 256
                    p = PyMem_Realloc(ent_id, ent_cap * sizeof(Py_ssize_t))
                    if p == NULL:
                        raise MemoryError()
                    ent_id = <Py_ssize_t*>p
                    p = PyMem_Realloc(ent_w, ent_cap * sizeof(double))
                    if p == NULL:
                        raise MemoryError()
                    ent_w = <double*>p
                ids.last[wid] = s
                ids.pos[wid] = ent_count
                ids.df[wid] += 1
                ent_id[ent_count] = wid
                ent_w[ent_count] = 1.0
                ent_count += 1
        sent[n] = ent_count
        # TF-IDF weights; the centroid sums them sentence by sentence, as the twin does
        for wid in range(ids.count):
            ids.value[wid] = log(1.0 + dn / <double>ids.df[wid])
        for e in range(ent_count):
            ent_w[e] = ent_w[e] * ids.value[ent_id[e]]
        for wid in range(ids.count):
            ids.value[wid] = 0.0
        for e in range(ent_count):
            ids.value[ent_id[e]] += ent_w[e]
        centroid_norm = 0.0
        for wid in range(ids.count):  # the centroid's insertion order: id order
            centroid_norm += ids.value[wid] * ids.value[wid]
        centroid_norm = sqrt(centroid_norm)
        for s in range(n):
            dot = 0.0
            norm = 0.0
            for e in range(sent[s], sent[s + 1]):
                weight = ent_w[e]
                dot += weight * ids.value[ent_id[e]]
                norm += weight * weight
            similarity = 0.0
            if norm > 0.0 and centroid_norm > 0.0:
                similarity = dot / (sqrt(norm) * centroid_norm)
            position = <double>(n - s) / dn
            facts = _scan_facts(text, kind, data, starts[s], ends[s], None, _FACT_CAP)
            if facts > _FACT_CAP:
                facts = _FACT_CAP
            out[s] = (
                _CENTROID_WEIGHT * similarity
                + _POSITION_WEIGHT * position
                + _FACT_WEIGHT * (<double>facts / <double>_FACT_CAP)
            )
    finally:
        _table_free(&words)
        PyMem_Free(ids.df)
        PyMem_Free(ids.value)
        PyMem_Free(ids.last)
        PyMem_Free(ids.pos)
        PyMem_Free(sent)
        PyMem_Free(ent_id)
        PyMem_Free(ent_w)
    return 0


def score_sentences(str text not None, spans) -> list:
    """A score per sentence: TF-IDF cosine to the document centroid, position, and facts."""
    cdef Py_ssize_t n = len(spans)
    cdef Py_ssize_t index, length = len(text)
    cdef Py_ssize_t* starts = NULL
    cdef Py_ssize_t* ends = NULL
    cdef double* scores = NULL
    if n == 0:
        return []
    try:
        starts = <Py_ssize_t*>PyMem_Malloc(n * sizeof(Py_ssize_t))
        ends = <Py_ssize_t*>PyMem_Malloc(n * sizeof(Py_ssize_t))
        scores = <double*>PyMem_Malloc(n * sizeof(double))
        if starts == NULL or ends == NULL or scores == NULL:
            raise MemoryError()
        index = 0
        for span in spans:
            if index == n:
                raise ValueError("spans changed size while being read")
            start, end = span
            if not (0 <= start <= end <= length):
                raise ValueError(f"span ({start}, {end}) is outside the text")
            starts[index] = start
            ends[index] = end
            index += 1
        if index != n:
            raise ValueError("spans changed size while being read")
        _score_core(text, n, starts, ends, scores)
        return [scores[index] for index in range(n)]
    finally:
        PyMem_Free(starts)
        PyMem_Free(ends)
        PyMem_Free(scores)


cdef const double* _ORDER_SCORES = NULL  # the scores ``_by_score`` compares (set around qsort)


cdef int _by_score(const void* x, const void* y) noexcept nogil:
    """Best score first, ties by position: the twin's ``sorted(key=(-score, index))``."""
    cdef Py_ssize_t a = (<const Py_ssize_t*>x)[0], b = (<const Py_ssize_t*>y)[0]
    cdef double sa = _ORDER_SCORES[a], sb = _ORDER_SCORES[b]
    if sa > sb:
        return -1
    if sa < sb:
        return 1
    return -1 if a < b else (1 if a > b else 0)


cdef inline bint _split_space(Py_UCS4 c) noexcept:
    """An ASCII character ``str.split()`` splits at (``str.isspace()``)."""
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31


cdef inline str _repeat_key(str text, Py_ssize_t a, Py_ssize_t b):
    """The twin's repeat key of a sentence: lower-cased, spacing normalised."""
    return " ".join(text[a:b].lower().split())


cdef uint64_t _repeat_hash(str text, int kind, const void* data, Py_ssize_t a, Py_ssize_t b) except? 0:
    """FNV-1a over the code points of ``_repeat_key(text, a, b)`` (``0 <= a <= b <= len``),
    computed in place for an ASCII sentence."""
    cdef uint64_t h = _FNV_OFFSET
    cdef bint started = False, gap = False
    cdef Py_ssize_t k
    cdef Py_UCS4 c
    for k in range(a, b):
        c = PyUnicode_READ(kind, <void*>data, k)
        if c >= 128:
            return _fnv(_FNV_OFFSET, _repeat_key(text, a, b))
        if _split_space(c):
            gap = started
            continue
        if gap:
            h = (h ^ 32) * _FNV_PRIME
            gap = False
        h = (h ^ <uint64_t>_ascii_lower(c)) * _FNV_PRIME
        started = True
    return h


def pick_sentences(str text not None, Py_ssize_t budget) -> list:
    """The best-scored sentences of ``text`` that fit ``budget`` tokens together, in order
    (see the twin).

    Repeats are found by a hash of the twin's key (computed in place for ASCII sentences) in a
    C table, the keys themselves compared only when two hashes match.
    """
    global _ORDER_SCORES
    cdef list spans
    cdef Py_ssize_t n, k, r, q, slot, mask = 1, used = 0, cost, weakest, picked_count = 0
    cdef Py_ssize_t* starts = NULL
    cdef Py_ssize_t* ends = NULL
    cdef Py_ssize_t* order = NULL
    cdef double* scores = NULL
    cdef char* picked = NULL
    cdef Py_ssize_t* seen = NULL  # open addressing over the chosen sentences' key hashes
    cdef uint64_t* seen_hash = NULL
    cdef uint64_t h
    cdef bint repeat
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    if budget <= 0:
        return []
    spans = split_sentences(text)
    n = len(spans)
    if n == 0:
        return []
    while mask < 2 * n:
        mask *= 2
    mask -= 1  # at least twice as many slots as sentences: the table is at most half full
    try:
        starts = <Py_ssize_t*>PyMem_Malloc(n * sizeof(Py_ssize_t))
        ends = <Py_ssize_t*>PyMem_Malloc(n * sizeof(Py_ssize_t))
        order = <Py_ssize_t*>PyMem_Malloc(n * sizeof(Py_ssize_t))
        scores = <double*>PyMem_Malloc(n * sizeof(double))
        picked = <char*>PyMem_Malloc(n)
        seen = <Py_ssize_t*>PyMem_Malloc((mask + 1) * sizeof(Py_ssize_t))
        seen_hash = <uint64_t*>PyMem_Malloc((mask + 1) * sizeof(uint64_t))
        if (
            starts == NULL
            or ends == NULL
            or order == NULL
            or scores == NULL
            or picked == NULL
            or seen == NULL
            or seen_hash == NULL
        ):
            raise MemoryError()
        for k in range(n):
            starts[k], ends[k] = <tuple>spans[k]  # split_sentences' spans lie within the text
            order[k] = k
            picked[k] = 0
        for slot in range(mask + 1):
            seen[slot] = -1
        _score_core(text, n, starts, ends, scores)
        # scores are finite (no NaN), so this comparison is a total order like the twin's key
        _ORDER_SCORES = scores
        qsort(order, n, sizeof(Py_ssize_t), _by_score)
        _ORDER_SCORES = NULL
        for r in range(n):
            k = order[r]
            # the twin skips a repeat before counting; a sentence that does not fit is skipped
            # either way, so counting first (cheap) and looking for a repeat only when it fits
            # chooses the same sentences
            cost = _count_range(kind, data, starts[k], ends[k])
            if used + cost > budget:
                continue
            h = _repeat_hash(text, kind, data, starts[k], ends[k])
            slot = <Py_ssize_t>(_finish_hash(h) & <uint64_t>mask)
            repeat = False
            while seen[slot] >= 0:
                q = seen[slot]
                if seen_hash[slot] == h and _repeat_key(text, starts[q], ends[q]) == _repeat_key(
                    text, starts[k], ends[k]
                ):
                    repeat = True
                    break
                slot = (slot + 1) & mask
            if repeat:
                continue
            seen[slot] = k  # the empty slot the probe ended at
            seen_hash[slot] = h
            picked[k] = 1
            picked_count += 1
            used += cost
        while picked_count:
            joined = " ".join([text[starts[k] : ends[k]] for k in range(n) if picked[k]])
            if _count_range(PyUnicode_KIND(joined), PyUnicode_DATA(joined), 0, len(joined)) <= budget:
                break
            weakest = -1
            for k in range(n):  # lowest score; the later one on ties
                if picked[k] and (weakest < 0 or scores[k] <= scores[weakest]):
                    weakest = k
            picked[weakest] = 0
            picked_count -= 1
        return _fill_budget(text, kind, data, spans, n, starts, ends, order, picked, budget)
    finally:
        PyMem_Free(starts)
        PyMem_Free(ends)
        PyMem_Free(order)
        PyMem_Free(scores)
        PyMem_Free(picked)
        PyMem_Free(seen)
        PyMem_Free(seen_hash)


cdef inline bint _fits(str text, list pieces, Py_ssize_t budget):
    """Whether the pieces' spans, joined by single spaces in source order, fit ``budget``."""
    cdef str joined = " ".join([text[a:b] for a, b in sorted(pieces)])
    return _count_range(PyUnicode_KIND(joined), PyUnicode_DATA(joined), 0, len(joined)) <= budget


cdef list _fill_budget(
    str text,
    int kind,
    const void* data,
    list spans,
    Py_ssize_t n,
    Py_ssize_t* starts,
    Py_ssize_t* ends,
    Py_ssize_t* order,
    char* picked,
    Py_ssize_t budget,
):
    """``pick_sentences``' last step, the twin's ``fill_budget``: in what budget the picked
    sentences leave, the longest prefix of the best other sentence (not a repeat of a picked
    one) that ends after a word and holds ``MIN_CLIPPED_WORDS`` words or more."""
    cdef list pieces = [spans[k] for k in range(n) if picked[k]]
    cdef set keys = {_repeat_key(text, starts[k], ends[k]) for k in range(n) if picked[k]}
    cdef list cuts = []
    cdef Py_ssize_t r, k, i, lo, hi, mid, start, end, best = -1
    for r in range(n):  # ``order`` is by score, best first, earlier first on ties
        k = order[r]
        if not picked[k] and _repeat_key(text, starts[k], ends[k]) not in keys:
            best = k
            break
    if best < 0:
        return pieces
    start = starts[best]
    end = ends[best]  # split_sentences' spans lie within the text
    for i in range(start + 1, end):
        if _is_space(PyUnicode_READ(kind, <void*>data, i)) and not _is_space(
            PyUnicode_READ(kind, <void*>data, i - 1)
        ):
            cuts.append(i)
    lo = 0
    hi = len(cuts)
    while lo < hi:  # counts grow with the prefix (near enough): bisect, then step back
        mid = (lo + hi) // 2
        if _fits(text, pieces + [(start, cuts[mid])], budget):
            lo = mid + 1
        else:
            hi = mid
    for k in range(lo - 1, MIN_CLIPPED_WORDS - 2, -1):
        if _fits(text, pieces + [(start, cuts[k])], budget):
            pieces.append((start, cuts[k]))
            pieces.sort()
            return pieces
    return pieces


# --- SimHash and grouping ----------------------------------------------------------------------


cdef inline uint64_t _mix(uint64_t h) noexcept:
    h = (h ^ (h >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    h = (h ^ (h >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return h ^ (h >> 31)


cdef inline uint64_t _fnv(uint64_t h, str piece):
    cdef Py_UCS4 c
    for c in piece:
        h = (h ^ <uint64_t>c) * _FNV_PRIME
    return h


cdef inline uint64_t _fnv_word(
    uint64_t h, int kind, const void* data, Py_ssize_t start, Py_ssize_t end, list others
):
    """FNV-1a continued over a word of ``tokenize_words``: ``text[start:end]`` lower-cased when
    ``start >= 0`` (an ASCII word, in range), else the lower-cased word ``others[-start - 1]``."""
    cdef Py_ssize_t k
    if start >= 0:
        for k in range(start, end):
            h = (h ^ <uint64_t>_ascii_lower(PyUnicode_READ(kind, <void*>data, k))) * _FNV_PRIME
        return h
    return _fnv(h, <str>others[-start - 1])


cdef struct _Votes:
    # per bit of the hashes, how many had it set: ``ones`` plus, for the latest ``pending``
    # (< 256) votes, the 8-bit binary counters whose bit ``p`` is plane ``p`` (bit-sliced, so
    # one vote costs a few word operations instead of 64 increments)
    uint64_t planes[8]
    long long ones[64]
    long long total
    int pending


cdef void _flush_votes(_Votes* v) noexcept:
    cdef int p, bit
    cdef uint64_t x
    for p in range(8):
        x = v.planes[p]
        if x:
            for bit in range(64):
                v.ones[bit] += <long long>((x >> bit) & 1) << p
        v.planes[p] = 0
    v.pending = 0


cdef inline void _vote(_Votes* v, uint64_t h) noexcept:
    """Count the set bits of ``h`` (the twin adds 1 per set bit and -1 per clear one)."""
    cdef uint64_t carry = h, both
    cdef int p = 0
    while carry and p < 8:  # 255 pending votes at most: a carry never leaves plane 7
        both = v.planes[p] & carry
        v.planes[p] ^= carry
        carry = both
        p += 1
    v.total += 1
    v.pending += 1
    if v.pending == 255:
        _flush_votes(v)


def simhash(str text not None) -> int:
    """64-bit SimHash of ``text`` over its words and word bigrams (each weighted 1).

    Words are hashed in place (ASCII ones lower-cased on the fly; others through ``str.lower()``
    like the twin), each once; a bigram continues its first word's hash over a space and the
    second word, which is the twin's hash of the two joined.
    """
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t cap = (n + 1) // 2 + 1  # words are separated, so at most this many
    cdef Py_ssize_t count = 0, i = 0, j, w
    cdef Py_UCS4 c, top
    cdef int bit
    cdef _Votes votes
    cdef uint64_t fingerprint = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    cdef Py_ssize_t* starts = NULL
    cdef Py_ssize_t* ends = NULL
    cdef uint64_t* hashes = NULL
    cdef list others = []
    try:
        starts = <Py_ssize_t*>PyMem_Malloc(cap * sizeof(Py_ssize_t))
        ends = <Py_ssize_t*>PyMem_Malloc(cap * sizeof(Py_ssize_t))
        hashes = <uint64_t*>PyMem_Malloc(cap * sizeof(uint64_t))
        if starts == NULL or ends == NULL or hashes == NULL:
            raise MemoryError()
        while i < n:
            c = PyUnicode_READ(kind, <void*>data, i)
            if not _word_char(c):
                i += 1
                continue
            top = c
            j = i + 1
            while j < n:
                c = PyUnicode_READ(kind, <void*>data, j)
                if not _word_char(c):
                    break
                if c > top:
                    top = c
                j += 1
            if count >= cap:
                raise AssertionError("more words than the text can hold")
            if top < 128:
                starts[count] = i
                ends[count] = j
            else:
                others.append(text[i:j].lower())
                starts[count] = -len(others)
                ends[count] = 0
            hashes[count] = _fnv_word(_FNV_OFFSET, kind, data, starts[count], ends[count], others)
            count += 1
            i = j
        if count == 0:
            return 0
        for bit in range(8):
            votes.planes[bit] = 0
        for bit in range(64):
            votes.ones[bit] = 0
        votes.total = 0
        votes.pending = 0
        for w in range(count):
            _vote(&votes, _mix(hashes[w]))
            if w + 1 < count:
                _vote(
                    &votes,
                    _mix(
                        _fnv_word(
                            (hashes[w] ^ 32) * _FNV_PRIME,
                            kind,
                            data,
                            starts[w + 1],
                            ends[w + 1],
                            others,
                        )
                    ),
                )
        _flush_votes(&votes)
        for bit in range(64):  # the twin's count: ones - (total - ones)
            if 2 * votes.ones[bit] - votes.total > 0:
                fingerprint |= (<uint64_t>1) << bit
        return fingerprint
    finally:
        PyMem_Free(starts)
        PyMem_Free(ends)
        PyMem_Free(hashes)


cdef inline int _popcount(uint64_t x) noexcept:
    cdef int bits = 0
    while x:
        x &= x - 1
        bits += 1
    return bits


def hamming(a, b) -> int:
    """Bits that differ between two 64-bit fingerprints."""
    return _popcount((<uint64_t>(a & MASK64)) ^ (<uint64_t>(b & MASK64)))


cdef long long _find(long long[:] parent, long long x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


cdef void _union(long long[:] parent, long long a, long long b):
    cdef long long ra = _find(parent, a), rb = _find(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


def group_similar(fingerprints, int max_distance) -> list:
    """Group fingerprints within ``max_distance`` bits: a group label (its first index) per item.

    Banded buckets (pigeonhole), each item checked against its bucket's first member and its
    ``GROUP_RECENT`` latest members only: near-linear and deterministic. See the twin for the details.
    """
    if not 0 <= max_distance <= 31:
        raise ValueError(f"max_distance must be within 0..31 (got {max_distance})")
    cdef Py_ssize_t n = len(fingerprints)
    cdef Py_ssize_t i, lead, prev, band
    cdef int bands = max_distance + 1
    cdef int width = 64 // bands
    cdef int low, high
    cdef uint64_t fp, part
    cdef uint64_t[:] fps = array("Q", [0]) * n if n else array("Q")
    cdef long long[:] parent = array("q", range(n))
    cdef dict first = {}, recent = {}
    cdef list members
    for i in range(n):
        value = fingerprints[i]
        if not 0 <= value <= MASK64:
            raise ValueError(f"fingerprint {value!r} is not a 64-bit unsigned integer")
        fps[i] = value
    for i in range(n):
        fp = fps[i]
        for band in range(bands):
            low = band * width
            high = 64 if band == bands - 1 else low + width
            if high - low == 64:
                part = fp
            else:
                part = (fp >> low) & (((<uint64_t>1) << (high - low)) - 1)
            key = ((<object>part) << 6) | band
            found = first.get(key)
            if found is None:
                first[key] = i
                recent[key] = [i]
                continue
            lead = found
            if _popcount(fp ^ fps[lead]) <= max_distance:
                _union(parent, lead, i)
            members = recent[key]
            for other in members:
                prev = other
                if prev != lead and _popcount(fp ^ fps[prev]) <= max_distance:
                    _union(parent, prev, i)
            members.append(i)
            if len(members) > _GROUP_RECENT:
                del members[0]
    return [_find(parent, i) for i in range(n)]


# --- level partitioning ------------------------------------------------------------------------


@cython.boundscheck(False)
cdef void _partition(
    const signed char[:] ranks,
    const double[:] ages,
    unsigned char[:] out,
    double level1,
    double level2,
    double level3,
) noexcept nogil:
    cdef Py_ssize_t i
    cdef signed char rank
    cdef double age
    for i in range(out.shape[0]):  # callers check that all three have out's length
        rank = ranks[i]
        age = ages[i]
        if rank >= 3 or age < level1:
            out[i] = 1
        elif rank == 2 or age < level2:
            out[i] = 2
        elif age < level3:
            out[i] = 3
        else:
            out[i] = 4


def partition_levels(
    ranks, ages, double level1_seconds, double level2_seconds, double level3_seconds
) -> bytearray:
    """The compression level (1-4) of each item from its priority rank (3 = critical) and age.

    Runs without the GIL over ``array('b')``/``array('d')`` (or numpy int8/float64) buffers;
    other sequences are copied into such arrays first.
    """
    cdef const signed char[:] rank_view
    cdef const double[:] age_view
    try:
        rank_view = ranks
    except (TypeError, ValueError):
        rank_view = array("b", ranks)
    try:
        age_view = ages
    except (TypeError, ValueError):
        age_view = array("d", ages)
    cdef Py_ssize_t n = rank_view.shape[0]
    if age_view.shape[0] != n:
        raise ValueError(f"{n} ranks but {age_view.shape[0]} ages")
    out = bytearray(n)
    cdef unsigned char[:] out_view = out
    if n:
        with nogil:
            _partition(rank_view, age_view, out_view, level1_seconds, level2_seconds, level3_seconds)
    return out
