# cython: freethreading_compatible = False
"""Compiled ``pipeline`` kernels: text splitting, token counting, sentence scoring, SimHash
grouping and level partitioning. The pure-Python twin is ``memcore/_pure/pipeline.py``: same
names, signatures and results (checked by hypothesis in ``tests/test_pipeline_kernels.py``).

Characters are read as ``Py_UCS4`` straight from the string's buffer (no copies); character
classes are ASCII-based like the twin's. Constants come from ``memcore._pure._text_tables``.
"""

from array import array

cimport cython
from libc.math cimport log, sqrt
from libc.stdint cimport uint64_t

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


# --- token counting ----------------------------------------------------------------------------


def count_tokens(str text) -> int:
    """Estimate the BPE tokens of ``text`` (cl100k-like) from runs of letters, digits, marks."""
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t i = 0, j, length
    cdef double cost = 0.0, marks
    cdef Py_UCS4 c
    while i < n:
        c = text[i]
        if _is_letter(c):
            j = i + 1
            while j < n and _is_letter(text[j]):
                if 97 <= text[j - 1] <= 122 and 65 <= text[j] <= 90:
                    break
                j += 1
            length = j - i
            if length < _TABLE:
                cost += _LETTER_COST[length]
            else:
                cost += _LETTER_COST[_TABLE - 1] + (length - _TABLE + 1) * _PER_EXTRA
            i = j
        elif _is_digit(c):
            j = i + 1
            while j < n and _is_digit(text[j]):
                j += 1
            cost += ((j - i + 2) // 3) * (3.0 * _DIGIT_COST)
            i = j
        elif c == 32 and i + 1 < n and _joins_space(text[i + 1]):
            i += 1
        elif _is_space(c):
            j = i + 1
            while j < n and _is_space(text[j]):
                j += 1
            if j < n and text[j - 1] == 32 and j - i > 1 and _joins_space(text[j]):
                j -= 1
            cost += _SPACE_RUN_COST
            i = j
        elif c < 128:
            j = i + 1
            while j < n and _is_mark(text[j]):
                j += 1
            if j - i == 1 and j < n and _is_letter(text[j]) and (i == 0 or text[i - 1] != 32):
                i = j
                continue
            marks = (j - i) * _PUNCT_COST
            cost += marks if marks > 1.0 else 1.0
            while j < n and (text[j] == 10 or text[j] == 13):
                j += 1
            i = j
        else:
            cost += _NON_ASCII_COST
            i += 1
    return <Py_ssize_t>(cost + 0.5)


# --- sentence splitting ------------------------------------------------------------------------


cdef bint _is_bullet(str text, Py_ssize_t j, Py_ssize_t n):
    cdef Py_UCS4 c = text[j]
    cdef Py_ssize_t k
    if c == 45 or c == 42 or c == 43 or c == 0x2022:
        return j + 1 < n and text[j + 1] == 32
    if _is_digit(c):
        k = j
        while k < n and _is_digit(text[k]):
            k += 1
        return k + 1 < n and (text[k] == 46 or text[k] == 41) and text[k + 1] == 32
    return False


cdef bint _is_abbreviation(str text, Py_ssize_t start, Py_ssize_t dot):
    cdef Py_ssize_t b = dot
    while b > start and (_is_letter(text[b - 1]) or text[b - 1] == 46):
        b -= 1
    if b == dot:
        return False
    word = text[b:dot].lower()
    return word in _ABBREVIATIONS or (dot - b == 1 and _is_letter(text[b]))


cdef inline void _push(str text, list spans, Py_ssize_t start, Py_ssize_t end):
    while start < end and _is_space(text[start]):
        start += 1
    while end > start and _is_space(text[end - 1]):
        end -= 1
    if start < end:
        spans.append((start, end))


def split_sentences(str text) -> list:
    """``(start, end)`` offsets of the sentences of ``text``, whitespace trimmed (see the twin)."""
    cdef list spans = []
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t start = 0, i = 0, j, k, m
    cdef bint in_code = False
    cdef Py_UCS4 c, nxt
    while i < n:
        c = text[i]
        if c == 96:
            in_code = not in_code
            i += 1
            continue
        if in_code:
            i += 1
            continue
        if c == 10:
            j = i + 1
            while j < n and (text[j] == 32 or text[j] == 9 or text[j] == 13):
                j += 1
            if j < n and (text[j] == 10 or _is_bullet(text, j, n)):
                _push(text, spans, start, i)
                start = j
                i = j
                continue
            i += 1
            continue
        if c == 46 or c == 33 or c == 63:
            j = i + 1
            while j < n and (text[j] == 46 or text[j] == 33 or text[j] == 63):
                j += 1
            k = j
            while k < n and text[k] in "\"')]}»":
                k += 1
            if k >= n:
                i = k
                continue
            if not _is_space(text[k]):
                i = j
                continue
            m = k
            while m < n and (text[m] == 32 or text[m] == 9):
                m += 1
            if m < n and text[m] != 13 and text[m] != 10:
                nxt = text[m]
                if not ((65 <= nxt <= 90) or _is_digit(nxt) or nxt in "\"'([`*-" or nxt > 127):
                    i = k
                    continue
            if c == 46 and j == i + 1 and _is_abbreviation(text, start, i):
                i = k
                continue
            _push(text, spans, start, k)
            start = k
            i = k
            continue
        i += 1
    _push(text, spans, start, n)
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


cdef Py_ssize_t _MAX_ABBREVIATION = max(len(word) for word in ABBREVIATIONS)
cdef Py_ssize_t _MAX_ERROR_WORD = max(len(word) for word in ERROR_WORDS)


cdef inline bint _alnum(Py_UCS4 c):
    if c < 128:
        return _is_letter(c) or _is_digit(c)
    return c.isalnum()


cdef bint _ends_with(str text, Py_ssize_t a, Py_ssize_t b, str suffix):
    cdef Py_ssize_t m = len(suffix), k
    if b - a < m:
        return False
    for k in range(m):
        if text[b - m + k] != suffix[k]:
            return False
    return True


cdef bint _is_fact_at(str text, Py_ssize_t a, Py_ssize_t b):
    """``_is_fact(text[a:b])`` of the twin, reading the text in place."""
    cdef Py_ssize_t n = b - a
    cdef Py_ssize_t k
    cdef Py_UCS4 c
    if n < 2:
        return _is_digit(text[a]) if n == 1 else False
    if n <= _MAX_ABBREVIATION or n <= _MAX_ERROR_WORD:
        lowered = text[a:b].lower()
        if lowered in _ABBREVIATIONS:
            return False
        if lowered in _ERROR_WORDS:
            return True
    if _ends_with(text, a, b, "Error") or _ends_with(text, a, b, "Exception"):
        return True
    if _ends_with(text, a, b, "()"):
        return True
    for k in range(a, b):
        c = text[k]
        if c == 95:
            return True
        if c == 58 and k + 2 < b and text[k + 1] == 47 and text[k + 2] == 47:
            return True
    for k in range(a, b):
        c = text[k]
        if _is_digit(c):
            return True
        if k > a and k + 1 < b:
            if (c == 47 or c == 46 or c == 92) and (_alnum(text[k - 1]) or _alnum(text[k + 1])):
                return True
        if k > a and 97 <= text[k - 1] <= 122 and 65 <= c <= 90:
            return True
    return text[a] == 47 and _alnum(text[a + 1])


cdef list _fact_tokens(str text, Py_ssize_t lo, Py_ssize_t hi, bint collect):
    """Facts of ``text[lo:hi]`` (a list when ``collect``, else a one-element count list)."""
    cdef list facts = []
    cdef Py_ssize_t count = 0
    cdef Py_ssize_t i = lo, j, a, b
    while i < hi:
        while i < hi and _is_space(text[i]):
            i += 1
        j = i
        while j < hi and not _is_space(text[j]):
            j += 1
        a = i
        b = j
        while a < b and text[a] in "\"'([{<`":
            a += 1
        while b > a and text[b - 1] in ".,;:!?\"')]}>`":
            if text[b - 1] == 41 and b - 2 >= a and text[b - 2] == 40:
                break
            b -= 1
        if a < b and _is_fact_at(text, a, b):
            if collect:
                facts.append(text[a:b])
            else:
                count += 1
        i = j
    if not collect:
        facts.append(count)
    return facts


def fact_tokens(str text) -> list:
    """The tokens an agent must not lose: numbers, identifiers, paths, URLs, error words."""
    return _fact_tokens(text, 0, len(text), True)


# --- sentence scoring --------------------------------------------------------------------------


def score_sentences(str text, spans) -> list:
    """A score per sentence: TF-IDF cosine to the document centroid, position, and facts."""
    cdef Py_ssize_t n = len(spans)
    cdef Py_ssize_t start, end, index, facts, length = len(text)
    cdef double weight, dot, norm, similarity, centroid_norm, position
    cdef dict tf, df = {}, centroid = {}
    cdef list vectors = [], scores = []
    cdef Py_ssize_t i, j
    cdef Py_UCS4 c
    cdef bint ascii = text.isascii()
    if n == 0:
        return []
    lowered = text.lower() if ascii else text
    for span in spans:
        start, end = span
        if not (0 <= start <= end <= length):
            raise ValueError(f"span ({start}, {end}) is outside the text")
        tf = {}
        i = start
        while i < end:
            c = text[i]
            if c == 95 or _alnum(c):
                j = i + 1
                while j < end and (text[j] == 95 or _alnum(text[j])):
                    j += 1
                word = lowered[i:j] if ascii else text[i:j].lower()
                i = j
                if len(<str>word) > 1 and word not in _STOPWORDS:
                    tf[word] = tf.get(word, 0.0) + 1.0
            else:
                i += 1
        for word in tf:
            df[word] = df.get(word, 0) + 1
        vectors.append(tf)
    for tf in vectors:
        for word, count in tf.items():
            weight = <double>count * log(1.0 + <double>n / <double>(<Py_ssize_t>df[word]))
            tf[word] = weight
            centroid[word] = centroid.get(word, 0.0) + weight
    centroid_norm = 0.0
    for value in centroid.values():
        centroid_norm += <double>value * <double>value
    centroid_norm = sqrt(centroid_norm)
    for index in range(n):
        tf = vectors[index]
        dot = 0.0
        norm = 0.0
        for word, value in tf.items():
            weight = value
            dot += weight * <double>centroid[word]
            norm += weight * weight
        similarity = 0.0
        if norm > 0.0 and centroid_norm > 0.0:
            similarity = dot / (sqrt(norm) * centroid_norm)
        position = <double>(n - index) / <double>n
        start, end = spans[index]
        facts = _fact_tokens(text, start, end, False)[0]
        if facts > _FACT_CAP:
            facts = _FACT_CAP
        scores.append(
            _CENTROID_WEIGHT * similarity
            + _POSITION_WEIGHT * position
            + _FACT_WEIGHT * (<double>facts / <double>_FACT_CAP)
        )
    return scores


def pick_sentences(str text, Py_ssize_t budget) -> list:
    """The best-scored sentences of ``text`` that fit ``budget`` tokens together, in order
    (see the twin)."""
    cdef list spans, scores, order, chosen
    cdef set seen
    cdef Py_ssize_t used = 0, cost, k, start, end
    if budget <= 0:
        return []
    spans = split_sentences(text)
    if not spans:
        return []
    scores = score_sentences(text, spans)
    order = sorted(range(len(spans)), key=lambda k: (-scores[k], k))
    chosen = []
    seen = set()
    for k in order:
        start, end = spans[k]
        sentence = text[start:end]
        key = " ".join(sentence.lower().split())
        if key in seen:
            continue
        cost = count_tokens(sentence)
        if used + cost <= budget:
            chosen.append(k)
            seen.add(key)
            used += cost
    chosen.sort()
    while chosen and count_tokens(" ".join([text[spans[k][0] : spans[k][1]] for k in chosen])) > budget:
        chosen.remove(min(chosen, key=lambda k: (scores[k], -k)))
    return [spans[k] for k in chosen]


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


def simhash(str text) -> int:
    """64-bit SimHash of ``text`` over its words and word bigrams (each weighted 1)."""
    cdef list words = tokenize_words(text)
    cdef Py_ssize_t count, k
    cdef int bit
    cdef long long counts[64]
    cdef uint64_t h, fingerprint = 0
    if not words:
        return 0
    for bit in range(64):
        counts[bit] = 0
    count = len(words)
    for k in range(2 * count - 1):
        h = _fnv(_FNV_OFFSET, words[k >> 1])
        if k & 1:
            h = _fnv((h ^ 32) * _FNV_PRIME, words[(k >> 1) + 1])
        h = _mix(h)
        for bit in range(64):
            if (h >> bit) & 1:
                counts[bit] += 1
            else:
                counts[bit] -= 1
    for bit in range(64):
        if counts[bit] > 0:
            fingerprint |= (<uint64_t>1) << bit
    return fingerprint


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
