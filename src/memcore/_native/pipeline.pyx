# cython: freethreading_compatible = False
"""Compiled ``pipeline`` kernels: sentence scoring, here, and the choice of a summary's sentences
(``pipeline_pick.pxi``, included below). The family re-exports the ``text`` kernels (token
counting, sentence splitting, words, facts), ``grouping`` (SimHash) and ``partition``
(compression levels), each in its own module. The pure-Python twin is
``memcore/_pure/pipeline.py``: same names, signatures and results (checked by hypothesis in
``tests/test_pipeline_kernels.py``).

Sentence scoring interns words to small integer ids in first-occurrence order through a C hash
table of their lower-cased ASCII bytes (``text.pxd``), so TF-IDF runs over C arrays while every
floating-point sum keeps the twin's order (its dicts iterate in insertion order =
first-occurrence order): the scores are bit-identical. Words with non-ASCII characters take the
twin's path (``str.lower()``) instead.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ, Py_UNICODE_ISSPACE
from libc.math cimport log, sqrt
from libc.stdint cimport uint64_t
from libc.stdlib cimport qsort

from memcore._native._chars cimport _ascii_lower, _fnv, _is_digit, _is_letter, _is_space, _word_char
from memcore._native.text cimport (
    _Table,
    _count_range,
    _finish_hash,
    _is_stopword,
    _scan_facts,
    _table_commit,
    _table_free,
    _table_init,
    _table_pending,
    _table_slot,
)

from memcore._native.grouping import group_similar, hamming, simhash
from memcore._native.partition import partition_levels
from memcore._native.text import count_tokens, fact_tokens, split_sentences, tokenize_words
from memcore._pure._text_tables import (
    CENTROID_WEIGHT,
    CLOSING_MARKS,
    CODE_FENCES,
    ELLIPSIS,
    FACT_CAP,
    FACT_WEIGHT,
    FNV_OFFSET,
    FNV_PRIME,
    MAX_WHOLE_FILLS,
    MIN_CLIPPED_WORDS,
    POSITION_WEIGHT,
    SENTENCE_ENDS,
    STOPWORDS,
)

cdef double _CENTROID_WEIGHT = CENTROID_WEIGHT
cdef double _POSITION_WEIGHT = POSITION_WEIGHT
cdef double _FACT_WEIGHT = FACT_WEIGHT
cdef Py_ssize_t _FACT_CAP = FACT_CAP
cdef uint64_t _FNV_OFFSET = FNV_OFFSET
cdef uint64_t _FNV_PRIME = FNV_PRIME
cdef frozenset _STOPWORDS = STOPWORDS
cdef str _ELLIPSIS = ELLIPSIS
cdef tuple _CODE_FENCES = CODE_FENCES
cdef str _SENTENCE_ENDS = SENTENCE_ENDS
cdef str _CLOSING_MARKS = CLOSING_MARKS


include "text_arg.pxi"


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
    if not _is_stopword(key, length, h):
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


def score_sentences(text, spans) -> list:
    """A score per sentence: TF-IDF cosine to the document centroid, position, and facts."""
    return _score_sentences(_as_text(text), spans)


cdef list _score_sentences(str text, spans):
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


include "pipeline_pick.pxi"
