"""Pure-Python twin of the ``pipeline`` kernels: text splitting, token counting, sentence scoring,
SimHash grouping and level partitioning.

Every function here has a compiled twin in ``memcore/_native/pipeline.pyx`` with the same name,
signature and results. Character classes are ASCII-based on purpose (non-ASCII characters are
treated uniformly), so both twins agree on every input, and hashes are FNV-1a + splitmix64 over
code points, never Python's salted ``hash()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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

_SPACE = " \t\r\n"
_CLOSERS = "\"')]}»"
_OPENERS = "\"'([`*-"
_LEAD_STRIP = "\"'([{<`"
_TAIL_STRIP = ".,;:!?\"')]}>`"


def _is_letter(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_mark(c: str) -> bool:
    return ord(c) < 128 and not (_is_letter(c) or _is_digit(c) or c in _SPACE)


def _joins_space(c: str) -> bool:
    return _is_letter(c) or _is_mark(c)


# --- token counting ----------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Estimate the BPE tokens of ``text`` (cl100k-like) from runs of letters, digits, marks."""
    n = len(text)
    i = 0
    cost = 0.0
    table = len(LETTER_COST)
    while i < n:
        c = text[i]
        if _is_letter(c):
            j = i + 1
            while j < n and _is_letter(text[j]):
                if "a" <= text[j - 1] <= "z" and "A" <= text[j] <= "Z":
                    break  # camelCase: BPE starts a new piece at the capital
                j += 1
            length = j - i
            if length < table:
                cost += LETTER_COST[length]
            else:
                cost += LETTER_COST[table - 1] + (length - table + 1) * LETTER_COST_PER_EXTRA
            i = j
        elif _is_digit(c):
            j = i + 1
            while j < n and _is_digit(text[j]):
                j += 1
            cost += ((j - i + 2) // 3) * (3.0 * DIGIT_COST)
            i = j
        elif c == " " and i + 1 < n and _joins_space(text[i + 1]):
            i += 1  # one space before a word or a mark is part of that token
        elif c in _SPACE:
            j = i + 1
            while j < n and text[j] in _SPACE:
                j += 1
            if j < n and text[j - 1] == " " and j - i > 1 and _joins_space(text[j]):
                j -= 1  # the last space belongs to the next word or mark
            cost += SPACE_RUN_COST
            i = j
        elif ord(c) < 128:
            j = i + 1
            while j < n and _is_mark(text[j]):
                j += 1
            if j - i == 1 and j < n and _is_letter(text[j]) and (i == 0 or text[i - 1] != " "):
                i = j  # ".name", "(x": a lone mark joins the word after it
                continue
            marks = (j - i) * PUNCT_COST
            cost += marks if marks > 1.0 else 1.0
            while j < n and (text[j] == "\n" or text[j] == "\r"):
                j += 1  # line breaks right after marks share their token
            i = j
        else:
            cost += NON_ASCII_COST
            i += 1
    return int(cost + 0.5)


# --- sentence splitting ------------------------------------------------------------------------


def _is_bullet(text: str, j: int) -> bool:
    n = len(text)
    c = text[j]
    if c in "-*+\u2022":
        return j + 1 < n and text[j + 1] == " "
    if _is_digit(c):
        k = j
        while k < n and _is_digit(text[k]):
            k += 1
        return k + 1 < n and text[k] in ".)" and text[k + 1] == " "
    return False


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    b = dot
    while b > start and (_is_letter(text[b - 1]) or text[b - 1] == "."):
        b -= 1
    word = text[b:dot].lower()
    if not word:
        return False
    return word in ABBREVIATIONS or (len(word) == 1 and _is_letter(word))


def _push(text: str, spans: list[tuple[int, int]], start: int, end: int) -> None:
    while start < end and text[start] in _SPACE:
        start += 1
    while end > start and text[end - 1] in _SPACE:
        end -= 1
    if start < end:
        spans.append((start, end))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences of ``text``, whitespace trimmed.

    A sentence ends at ``.``/``!``/``?`` followed by whitespace and a capital, digit, quote or
    bullet (so decimals, versions, paths and URLs never split), at a blank line, or before a
    bullet item. Abbreviations and initials do not end sentences; nothing inside backticks does.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    i = 0
    in_code = False
    while i < n:
        c = text[i]
        if c == "`":
            in_code = not in_code
            i += 1
            continue
        if in_code:
            i += 1
            continue
        if c == "\n":
            j = i + 1
            while j < n and text[j] in " \t\r":
                j += 1
            if j < n and (text[j] == "\n" or _is_bullet(text, j)):
                _push(text, spans, start, i)
                start = j
                i = j
                continue
            i += 1
            continue
        if c == "." or c == "!" or c == "?":
            j = i + 1
            while j < n and text[j] in ".!?":
                j += 1
            k = j
            while k < n and text[k] in _CLOSERS:
                k += 1
            if k >= n:
                i = k
                continue
            if text[k] not in _SPACE:
                i = j  # a decimal, a version, a path, a URL, "e.g.x"
                continue
            m = k
            while m < n and text[m] in " \t":
                m += 1
            if m < n and text[m] not in "\r\n":
                nxt = text[m]
                if not (("A" <= nxt <= "Z") or _is_digit(nxt) or nxt in _OPENERS or ord(nxt) > 127):
                    i = k
                    continue
            if c == "." and j == i + 1 and _is_abbreviation(text, start, i):
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


def tokenize_words(text: str) -> list[str]:
    """Lower-cased words: runs of letters, digits and ``_`` (any script)."""
    words: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "_" or c.isalnum():
            j = i + 1
            while j < n and (text[j] == "_" or text[j].isalnum()):
                j += 1
            words.append(text[i:j].lower())
            i = j
        else:
            i += 1
    return words


def _is_fact(token: str) -> bool:
    n = len(token)
    if n < 2:
        return _is_digit(token) if n == 1 else False
    lowered = token.lower()
    if lowered in ABBREVIATIONS:
        return False
    if lowered in ERROR_WORDS or token.endswith(("Error", "Exception", "()")):
        return True
    if "://" in token or "_" in token:
        return True
    for k in range(n):
        c = token[k]
        if _is_digit(c):
            return True
        if k > 0 and k + 1 < n:
            before = token[k - 1]
            after = token[k + 1]
            if (c == "/" or c == "." or c == "\\") and (before.isalnum() or after.isalnum()):
                return True
        if k > 0 and "a" <= token[k - 1] <= "z" and "A" <= c <= "Z":
            return True  # camelCase identifier
    return token[0] == "/" and token[1].isalnum()


def fact_tokens(text: str) -> list[str]:
    """The tokens an agent must not lose: numbers, identifiers, paths, URLs, error words."""
    facts: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        while i < n and text[i] in _SPACE:
            i += 1
        j = i
        while j < n and text[j] not in _SPACE:
            j += 1
        a = i
        b = j
        while a < b and text[a] in _LEAD_STRIP:
            a += 1
        while b > a and text[b - 1] in _TAIL_STRIP:
            if text[b - 1] == ")" and b - 2 >= a and text[b - 2] == "(":
                break  # keep the call parentheses of "name()"
            b -= 1
        if a < b and _is_fact(text[a:b]):
            facts.append(text[a:b])
        i = j
    return facts


# --- sentence scoring --------------------------------------------------------------------------


def score_sentences(text: str, spans: Sequence[tuple[int, int]]) -> list[float]:
    """A score per sentence: TF-IDF cosine to the document centroid, position, and facts."""
    if not isinstance(text, str):  # as the compiled twin's typed argument does
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    n = len(spans)
    if n == 0:
        return []
    vectors: list[dict[str, float]] = []
    df: dict[str, int] = {}
    for start, end in spans:
        if not (0 <= start <= end <= len(text)):
            raise ValueError(f"span ({start}, {end}) is outside the text")
        tf: dict[str, float] = {}
        for word in tokenize_words(text[start:end]):
            if len(word) > 1 and word not in STOPWORDS:
                tf[word] = tf.get(word, 0.0) + 1.0
        for word in tf:
            df[word] = df.get(word, 0) + 1
        vectors.append(tf)
    centroid: dict[str, float] = {}
    for tf in vectors:
        for word, count in tf.items():
            weight = count * math.log(1.0 + n / df[word])
            tf[word] = weight
            centroid[word] = centroid.get(word, 0.0) + weight
    centroid_norm = 0.0
    for value in centroid.values():
        centroid_norm += value * value
    centroid_norm = math.sqrt(centroid_norm)
    scores: list[float] = []
    for index in range(n):
        tf = vectors[index]
        dot = 0.0
        norm = 0.0
        for word, weight in tf.items():
            dot += weight * centroid[word]
            norm += weight * weight
        similarity = 0.0
        if norm > 0.0 and centroid_norm > 0.0:
            similarity = dot / (math.sqrt(norm) * centroid_norm)
        position = (n - index) / n
        start, end = spans[index]
        facts = len(fact_tokens(text[start:end]))
        if facts > FACT_CAP:
            facts = FACT_CAP
        scores.append(
            CENTROID_WEIGHT * similarity
            + POSITION_WEIGHT * position
            + FACT_WEIGHT * (facts / FACT_CAP)
        )
    return scores


def pick_sentences(text: str, budget: int) -> list[tuple[int, int]]:
    """The best-scored sentences of ``text`` that fit ``budget`` tokens together, in order, and
    the start of the next best one in what budget they leave (see :func:`pick_scored`)."""
    if budget <= 0:
        return []
    spans = split_sentences(text)
    if not spans:
        return []
    return pick_scored(text, spans, score_sentences(text, spans), budget, count_tokens)


def pick_scored(
    text: str,
    spans: Sequence[tuple[int, int]],
    scores: Sequence[float],
    budget: int,
    count: Callable[[str], int],
) -> list[tuple[int, int]]:
    """``pick_sentences`` over sentences already split and scored, counting with ``count``.

    Greedy by score (ties: earlier first); a sentence repeating a chosen one (case and spacing
    aside) is skipped; the join of the chosen sentences (by single spaces) is re-counted and
    the weakest dropped until it fits, since pieces and their join can differ by a token; then
    :func:`fill_budget`. Not a kernel of its own: the compiled ``pick_sentences`` inlines the
    same rules, and ``memcore.summarize`` runs this with a plugged-in counter.
    """
    order = sorted(range(len(spans)), key=lambda k: (-scores[k], k))
    chosen: list[int] = []
    seen: set[str] = set()
    used = 0
    for k in order:
        sentence = text[spans[k][0] : spans[k][1]]
        key = _repeat_key(sentence)
        if key in seen:
            continue
        cost = count(sentence)
        if used + cost <= budget:
            chosen.append(k)
            seen.add(key)
            used += cost
    chosen.sort()
    while chosen and count(" ".join(text[spans[k][0] : spans[k][1]] for k in chosen)) > budget:
        chosen.remove(min(chosen, key=lambda k: (scores[k], -k)))
    return fill_budget(text, spans, order, chosen, budget, count)


def _repeat_key(sentence: str) -> str:
    return " ".join(sentence.lower().split())


def fill_budget(
    text: str,
    spans: Sequence[tuple[int, int]],
    order: Sequence[int],
    chosen: Sequence[int],
    budget: int,
    count: Callable[[str], int],
) -> list[tuple[int, int]]:
    """The spans ``chosen`` (ascending indices into ``spans``) and, in what budget they leave,
    the longest prefix of the first other sentence in ``order`` (best score first) that does not
    repeat a chosen one, ends after a word, holds ``MIN_CLIPPED_WORDS`` words or more, and keeps
    the join of all the pieces within ``budget`` tokens by ``count``; in source order.

    The last step of :func:`pick_scored`.
    """
    pieces = [spans[k] for k in chosen]
    taken = set(chosen)
    keys = {_repeat_key(text[a:b]) for a, b in pieces}
    best = -1
    for k in order:
        if k not in taken and _repeat_key(text[spans[k][0] : spans[k][1]]) not in keys:
            best = k
            break
    if best < 0:
        return pieces
    start, end = spans[best]
    cuts = [i for i in range(start + 1, end) if text[i] in _SPACE and text[i - 1] not in _SPACE]

    def fits(cut: int) -> bool:
        return count(" ".join(text[a:b] for a, b in sorted([*pieces, (start, cut)]))) <= budget

    # counts grow with the prefix (near enough): bisect for the longest, then step back to be exact
    lo, hi = 0, len(cuts)
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(cuts[mid]):
            lo = mid + 1
        else:
            hi = mid
    for k in range(lo - 1, MIN_CLIPPED_WORDS - 2, -1):
        if fits(cuts[k]):
            return sorted([*pieces, (start, cuts[k])])
    return pieces


# --- SimHash and grouping ----------------------------------------------------------------------


def _mix(h: int) -> int:
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK64
    return h ^ (h >> 31)


def _fnv(h: int, piece: str) -> int:
    for c in piece:
        h = ((h ^ ord(c)) * FNV_PRIME) & MASK64
    return h


def simhash(text: str) -> int:
    """64-bit SimHash of ``text`` over its words and word bigrams (each weighted 1)."""
    words = tokenize_words(text)
    if not words:
        return 0
    counts = [0] * 64
    count = len(words)
    for k in range(2 * count - 1):
        h = _fnv(FNV_OFFSET, words[k >> 1])
        if k & 1:
            h = _fnv(((h ^ 32) * FNV_PRIME) & MASK64, words[(k >> 1) + 1])
        h = _mix(h)
        for bit in range(64):
            if (h >> bit) & 1:
                counts[bit] += 1
            else:
                counts[bit] -= 1
    fingerprint = 0
    for bit in range(64):
        if counts[bit] > 0:
            fingerprint |= 1 << bit
    return fingerprint


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit fingerprints."""
    return bin((a ^ b) & MASK64).count("1")


def group_similar(fingerprints: Sequence[int], max_distance: int) -> list[int]:
    """Group fingerprints within ``max_distance`` bits: a group label (its first index) per item.

    Near-linear: fingerprints are bucketed by ``max_distance + 1`` bands (two within the distance
    share a band, by pigeonhole); each item is checked only against its bucket's first member
    and its ``GROUP_RECENT`` latest members. Deterministic: labels are the smallest index of each
    group.
    """
    if not 0 <= max_distance <= 31:
        raise ValueError(f"max_distance must be within 0..31 (got {max_distance})")
    n = len(fingerprints)
    for value in fingerprints:
        if not 0 <= value <= MASK64:
            raise ValueError(f"fingerprint {value!r} is not a 64-bit unsigned integer")
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra = find(a)
        rb = find(b)
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb

    bands = max_distance + 1
    width = 64 // bands
    first: dict[int, int] = {}
    recent: dict[int, list[int]] = {}
    for i in range(n):
        fp = fingerprints[i]
        for band in range(bands):
            low = band * width
            high = 64 if band == bands - 1 else low + width
            key = (((fp >> low) & ((1 << (high - low)) - 1)) << 6) | band
            lead = first.get(key)
            if lead is None:
                first[key] = i
                recent[key] = [i]
                continue
            if hamming(fp, fingerprints[lead]) <= max_distance:
                union(lead, i)
            members = recent[key]
            for other in members:
                if other != lead and hamming(fp, fingerprints[other]) <= max_distance:
                    union(other, i)
            members.append(i)
            if len(members) > GROUP_RECENT:
                del members[0]
    return [find(i) for i in range(n)]


# --- level partitioning ------------------------------------------------------------------------


def partition_levels(
    ranks: Sequence[int],
    ages: Sequence[float],
    level1_seconds: float,
    level2_seconds: float,
    level3_seconds: float,
) -> bytearray:
    """The compression level (1-4) of each item from its priority rank (3 = critical) and age.

    critical or younger than level1 -> 1; high (rank 2) or younger than level2 -> 2; younger
    than level3 -> 3; else 4. An age exactly at a threshold is not younger than it.
    """
    n = len(ranks)
    if len(ages) != n:
        raise ValueError(f"{n} ranks but {len(ages)} ages")
    out = bytearray(n)
    for i in range(n):
        rank = ranks[i]
        age = ages[i]
        if rank >= 3 or age < level1_seconds:
            out[i] = 1
        elif rank == 2 or age < level2_seconds:
            out[i] = 2
        elif age < level3_seconds:
            out[i] = 3
        else:
            out[i] = 4
    return out


__all__ = [
    "count_tokens",
    "fact_tokens",
    "group_similar",
    "hamming",
    "partition_levels",
    "pick_sentences",
    "score_sentences",
    "simhash",
    "split_sentences",
    "tokenize_words",
]
