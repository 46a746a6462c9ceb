# Included by pipeline.pyx: the choice of a summary's sentences (``pick_sentences``): the
# best-scored ones that fit a token budget, repeats dropped, in source order, and the start of the
# next best one cut to what budget they leave; the twin's ``pick_sentences``, ``pick_scored`` and
# ``fill_budget``, on C arrays and qsort.


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


cdef int _by_weakness(const void* x, const void* y) noexcept nogil:
    """Worst score first, ties by the later position: the twin's ``sorted(key=(score,
    -index))``, the order ``pick_sentences`` drops sentences in."""
    cdef Py_ssize_t a = (<const Py_ssize_t*>x)[0], b = (<const Py_ssize_t*>y)[0]
    cdef double sa = _ORDER_SCORES[a], sb = _ORDER_SCORES[b]
    if sa < sb:
        return -1
    if sa > sb:
        return 1
    return -1 if a > b else (1 if a < b else 0)


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
            return _fnv(_FNV_OFFSET, _repeat_key(text, a, b), _FNV_PRIME)
        if _split_space(c):
            gap = started
            continue
        if gap:
            h = (h ^ 32) * _FNV_PRIME
            gap = False
        h = (h ^ <uint64_t>_ascii_lower(c)) * _FNV_PRIME
        started = True
    return h


def pick_sentences(text, Py_ssize_t budget) -> list:
    """The best-scored sentences of ``text`` that fit ``budget`` tokens together, in order, as
    ``(start, end, cut)`` pieces (see the twin)."""
    return _pick_sentences(_as_text(text), budget)


cdef list _pick_sentences(str text, Py_ssize_t budget):
    """The best-scored sentences of ``text`` that fit ``budget`` tokens together, in order, as
    ``(start, end, cut)`` pieces (see the twin).

    Repeats are found by a hash of the twin's key (computed in place for ASCII sentences) in a
    C table, the keys themselves compared only when two hashes match.
    """
    global _ORDER_SCORES
    cdef list spans
    cdef Py_ssize_t n, k, r, q, slot, mask = 1, used = 0, cost, picked_count = 0, dropped
    cdef Py_ssize_t* starts = NULL
    cdef Py_ssize_t* ends = NULL
    cdef Py_ssize_t* order = NULL
    cdef double* scores = NULL
    cdef char* picked = NULL
    cdef Py_ssize_t* weak = NULL  # the picked sentences, weakest first (``_by_weakness``)
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
        # the summary of the picked sentences (full stops added) must fit: the weakest are
        # dropped until it does, as few as the twin's ``fewest_dropped`` finds
        weak = <Py_ssize_t*>PyMem_Malloc((picked_count + 1) * sizeof(Py_ssize_t))
        if weak == NULL:
            raise MemoryError()
        r = 0
        for k in range(n):
            if picked[k]:
                weak[r] = k
                r += 1
        _ORDER_SCORES = scores
        qsort(weak, picked_count, sizeof(Py_ssize_t), _by_weakness)
        _ORDER_SCORES = NULL
        dropped = _fewest_dropped(text, n, starts, ends, picked, weak, picked_count, budget)
        for r in range(dropped):
            picked[weak[r]] = 0
        return _fill_budget(text, kind, data, spans, n, starts, ends, order, picked, budget)
    finally:
        PyMem_Free(starts)
        PyMem_Free(ends)
        PyMem_Free(order)
        PyMem_Free(scores)
        PyMem_Free(picked)
        PyMem_Free(weak)
        PyMem_Free(seen)
        PyMem_Free(seen_hash)


cdef inline bint _fence_line(str line):
    return line.lstrip().startswith(_CODE_FENCES)


cdef inline bint _ends_on_fence(str piece):
    """Whether the last line of ``piece`` is a fence line."""
    return _fence_line(piece[piece.rfind("\n") + 1 :])


cdef str _render(str text, list pieces):
    """The twin's ``render``: the pieces' text in source order, a cut one with its ellipsis, one
    that ends in no sentence end with a full stop but the last (the pure ``ended``); code blocks
    kept code blocks (fence lines on lines of their own, a block left open closed: the pure
    ``render``)."""
    pieces = sorted(pieces)
    cdef list said = [text[a:b] + _ELLIPSIS if cut else text[a:b] for a, b, cut in pieces]
    cdef list out = []
    cdef Py_ssize_t last = len(said) - 1
    cdef Py_ssize_t k, fences
    cdef bint inside = False, after_fence = False, fenced
    cdef str piece, stripped, line
    for k in range(last + 1):
        piece = said[k]
        fenced = "```" in piece or "~~~" in piece  # (else no line of it is a fence)
        if k:
            if inside or after_fence or (fenced and _fence_line(piece)):
                out.append("\n")
            else:
                out.append(" ")
        if fenced:
            fences = 0
            for line in piece.split("\n"):
                if _fence_line(line):
                    fences += 1
            if fences % 2:
                inside = not inside
        if inside:
            if pieces[k][2] or k == last or text[pieces[k][1] : pieces[k + 1][0]].strip():
                piece = piece + "\n```"
                inside = False
        elif k < last and not (fenced and _ends_on_fence(piece)):
            stripped = piece.rstrip(_CLOSING_MARKS)
            if stripped and stripped[len(stripped) - 1] not in _SENTENCE_ENDS:
                piece = piece + "."
        after_fence = ("```" in piece or "~~~" in piece) and _ends_on_fence(piece)
        out.append(piece)
    return "".join(out)


cdef inline bint _fits(str text, list pieces, Py_ssize_t budget):
    """Whether the pieces, rendered as a summary (``_render``), fit ``budget``."""
    cdef str joined = _render(text, pieces)
    return _count_range(PyUnicode_KIND(joined), PyUnicode_DATA(joined), 0, len(joined)) <= budget


cdef bint _fits_dropping(
    str text,
    Py_ssize_t n,
    const Py_ssize_t* starts,
    const Py_ssize_t* ends,
    char* picked,
    const Py_ssize_t* weak,
    Py_ssize_t drop,
    Py_ssize_t budget,
) except -1:
    """Whether the picked sentences but the ``drop`` weakest (``weak[:drop]``) fit ``budget``
    as a summary (``picked`` is left as it was)."""
    cdef Py_ssize_t r, k
    cdef list pieces
    for r in range(drop):
        picked[weak[r]] = 0
    pieces = [(starts[k], ends[k], False) for k in range(n) if picked[k]]
    for r in range(drop):
        picked[weak[r]] = 1
    return _fits(text, pieces, budget)


cdef Py_ssize_t _fewest_dropped(
    str text,
    Py_ssize_t n,
    const Py_ssize_t* starts,
    const Py_ssize_t* ends,
    char* picked,
    const Py_ssize_t* weak,
    Py_ssize_t most,
    Py_ssize_t budget,
) except -1:
    """The twin's ``fewest_dropped``: the fewest of the ``most`` picked sentences to drop,
    weakest first, for their summary to fit (a drop takes a token or more off its count, so
    doubling then bisecting finds the number; dropping one at a time was quadratic)."""
    cdef Py_ssize_t low = 0, high = 1, middle
    if _fits_dropping(text, n, starts, ends, picked, weak, 0, budget):
        return 0
    while high < most and not _fits_dropping(text, n, starts, ends, picked, weak, high, budget):
        low = high
        high = 2 * high
    if high > most:
        high = most
    while high - low > 1:
        middle = (low + high) // 2
        if _fits_dropping(text, n, starts, ends, picked, weak, middle, budget):
            high = middle
        else:
            low = middle
    return high


cdef Py_ssize_t _after_marker(
    int kind, const void* data, Py_ssize_t start, Py_ssize_t end
) noexcept:
    """Where the sentence from ``start`` (``start < end``) goes on after the marker of the list
    item it opens with, or ``start`` (the twin's ``_after_marker``)."""
    cdef Py_ssize_t k = start, digits
    cdef Py_UCS4 c = PyUnicode_READ(kind, <void*>data, k)
    while k < end and k - start < 3:  # the emphasis of "**2. "
        c = PyUnicode_READ(kind, <void*>data, k)
        if c != 42 and c != 95:
            break
        k += 1
    if k == start or k == end or not _is_digit(PyUnicode_READ(kind, <void*>data, k)):
        k = start
    digits = k
    c = PyUnicode_READ(kind, <void*>data, k)
    if k == start and (c == 45 or c == 42 or c == 43 or c == 0x2022):
        k += 1
    else:
        while k < end and _is_digit(PyUnicode_READ(kind, <void*>data, k)):
            k += 1
        if k == digits or k == end:
            return start
        c = PyUnicode_READ(kind, <void*>data, k)
        if c != 46 and c != 41:
            return start
        k += 1
    if k < end and PyUnicode_READ(kind, <void*>data, k) == 32:
        return k + 1
    return start


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
    one) that ends after a word (not a list item's marker) and holds ``MIN_CLIPPED_WORDS``
    words or more (one when nothing was picked or when that word is a fact), its ellipsis
    counted; before that, up to ``MAX_WHOLE_FILLS`` of those sentences taken whole while they
    fit (the twin's ``fill_budget``)."""
    cdef list pieces = [(starts[k], ends[k], False) for k in range(n) if picked[k]]
    cdef set keys = {_repeat_key(text, starts[k], ends[k]) for k in range(n) if picked[k]}
    cdef set taken = set()
    cdef list cuts = []
    cdef list whole
    cdef Py_ssize_t r, k, i, lo, hi, mid, start, end, item, tries, best = -1
    cdef Py_ssize_t least = MIN_CLIPPED_WORDS
    for tries in range(MAX_WHOLE_FILLS + 1):
        best = -1
        for r in range(n):  # ``order`` is by score, best first, earlier first on ties
            k = order[r]
            if (
                not picked[k] and k not in taken
                and _repeat_key(text, starts[k], ends[k]) not in keys
            ):
                best = k
                break
        if best < 0:
            return pieces
        whole = sorted(pieces + [(starts[best], ends[best], False)])
        if tries == MAX_WHOLE_FILLS or not _fits(text, whole, budget):
            break
        pieces = whole
        taken.add(best)
        keys.add(_repeat_key(text, starts[best], ends[best]))
    start = starts[best]
    end = ends[best]  # split_sentences' spans lie within the text
    item = _after_marker(kind, data, start, end)
    # after a visible character (not even a control space) of the sentence's own words, past a
    # list item's marker
    for i in range(item + 1, end):
        if _is_space(PyUnicode_READ(kind, <void*>data, i)) and not Py_UNICODE_ISSPACE(
            PyUnicode_READ(kind, <void*>data, i - 1)
        ):
            cuts.append(i)
    # a lone word is noise beside whole sentences ("The", "Set"), unless it is a fact itself
    if not pieces or (cuts and _scan_facts(text, kind, data, item, cuts[0], None, 1) > 0):
        least = 1
    lo = 0
    hi = len(cuts)
    while lo < hi:  # counts grow with the prefix (near enough): bisect, then step back
        mid = (lo + hi) // 2
        if _fits(text, pieces + [(start, cuts[mid], True)], budget):
            lo = mid + 1
        else:
            hi = mid
    for k in range(lo - 1, least - 2, -1):
        if _fits(text, pieces + [(start, cuts[k], True)], budget):
            pieces.append((start, cuts[k], True))
            pieces.sort()
            return pieces
    return pieces
