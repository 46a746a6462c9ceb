"""Pure-Python twin of the ``pipeline`` kernels: sentence scoring and the choice of a summary's
sentences (``memcore/_native/pipeline.pyx``: same names, signatures and results). The family
re-exports the ``text`` (token counting, sentences, words, facts), ``grouping`` (SimHash) and
``partition`` (compression levels) twins, so it keeps every name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from memcore._pure._text_tables import (
    CENTROID_WEIGHT,
    CLOSING_MARKS,
    CODE_FENCES,
    ELLIPSIS,
    FACT_CAP,
    FACT_WEIGHT,
    MAX_WHOLE_FILLS,
    MIN_CLIPPED_WORDS,
    POSITION_WEIGHT,
    SENTENCE_ENDS,
    STOPWORDS,
)
from memcore._pure.grouping import group_similar, hamming, simhash
from memcore._pure.partition import partition_levels
from memcore._pure.text import (
    _SPACE,
    _as_text,
    count_tokens,
    fact_tokens,
    split_sentences,
    tokenize_words,
)

# --- sentence scoring --------------------------------------------------------------------------


def score_sentences(text: str, spans: Sequence[tuple[int, int]]) -> list[float]:
    """A score per sentence: TF-IDF cosine to the document centroid, position, and facts."""
    text = _as_text(text)
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


# --- the choice of a summary's sentences (the compiled twin's ``pipeline_pick.pxi``) -----------


#: A piece of a summary: ``(start, end, cut)``; ``cut`` when it is the start of a sentence cut
#: short, which a summary shows followed by :data:`ELLIPSIS`.
Piece = tuple[int, int, bool]


def ended(piece: str) -> str:
    """``piece`` with a full stop when it ends in no sentence end (see ``SENTENCE_ENDS``)."""
    stripped = piece.rstrip(CLOSING_MARKS)
    return piece if not stripped or stripped[-1] in SENTENCE_ENDS else piece + "."


def fence_lines(piece: str) -> int:
    """How many lines of ``piece`` open or close a fenced code block."""
    return sum(1 for line in piece.split("\n") if line.lstrip().startswith(CODE_FENCES))


def _ends_on_fence(piece: str) -> bool:
    """Whether the last line of ``piece`` opens or closes a fenced code block."""
    return piece[piece.rfind("\n") + 1 :].lstrip().startswith(CODE_FENCES)


def render(text: str, pieces: Sequence[Piece]) -> str:
    """The summary text of ``pieces`` (in source order): joined by single spaces, a cut one
    followed by an ellipsis and one that ends in no sentence end by a full stop (:func:`ended`),
    so that no piece reads as joined to the next one.

    Code blocks stay code blocks: a full stop after a closing fence ("```.") is no fence, and
    text after it on its line is none either, so the rest of a summary read as code. A piece
    that ends on a fence line or inside a block is followed by a line break and no full stop, a
    piece that opens with a fence line is preceded by one, and a block a piece leaves open is
    closed after it (with a fence line of its own) unless the next piece goes on with it."""
    said = [text[a:b] + ELLIPSIS if cut else text[a:b] for a, b, cut in pieces]
    out: list[str] = []
    inside = False  # in a code block the pieces so far opened
    after_fence = False  # the piece before ends on a fence line
    last = len(said) - 1
    for k, piece in enumerate(said):
        fenced = "```" in piece or "~~~" in piece  # (else no line of it is a fence)
        if k:
            opens = fenced and piece.lstrip().startswith(CODE_FENCES)
            out.append("\n" if inside or after_fence or opens else " ")
        if fenced and fence_lines(piece) % 2 == 1:
            inside = not inside
        if inside:
            _, end, cut = pieces[k]
            if cut or k == last or text[end : pieces[k + 1][0]].strip():
                piece += "\n```"
                inside = False
        elif k < last and not (fenced and _ends_on_fence(piece)):
            piece = ended(piece)
        after_fence = ("```" in piece or "~~~" in piece) and _ends_on_fence(piece)
        out.append(piece)
    return "".join(out)


def pick_sentences(text: str, budget: int) -> list[Piece]:
    """The best-scored sentences of ``text`` that fit ``budget`` tokens together, in order, and
    the start of the next best one in what budget they leave (see :func:`pick_scored`)."""
    text = _as_text(text)
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
) -> list[Piece]:
    """``pick_sentences`` over sentences already split and scored, counting with ``count``.

    Greedy by score (ties: earlier first); a sentence repeating a chosen one (case and spacing
    aside) is skipped; the summary of the chosen sentences (:func:`render`: joined by single
    spaces, full stops added) is re-counted and the weakest dropped until it fits, since pieces
    and their summary can differ by tokens (:func:`fewest_dropped`); then :func:`fill_budget`.
    Not a kernel of its own: the compiled ``pick_sentences`` inlines the same rules, and
    ``memcore.summarize`` runs this with a plugged-in counter.
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
    weakest = sorted(chosen, key=lambda k: (scores[k], -k))  # the order they are dropped in

    def fits(drop: int) -> bool:
        gone = set(weakest[:drop])
        kept = [(spans[k][0], spans[k][1], False) for k in chosen if k not in gone]
        return count(render(text, kept)) <= budget

    gone = set(weakest[: fewest_dropped(len(weakest), fits)])
    return fill_budget(text, spans, order, [k for k in chosen if k not in gone], budget, count)


def fewest_dropped(most: int, fits: Callable[[int], bool]) -> int:
    """The fewest of ``most`` sentences to drop, weakest first, for ``fits(dropped)`` to hold
    (``most`` when none fits: nothing is left).

    Dropping them one by one and recounting the whole summary after each was quadratic (5 s for
    40,000 list items). By ``count_tokens`` each drop takes a token or more off the summary (a
    sentence costs one at least; its space and full stop go with it), so ``fits`` once true
    stays true, and doubling then bisecting finds the same number in a logarithmic number of
    counts (a plugged-in counter is taken to grow with its text too, as in :func:`fill_budget`).
    """
    if fits(0):
        return 0
    low, high = 0, 1  # fits(low) is false; fits(high) is true once high reaches most
    while high < most and not fits(high):
        low, high = high, 2 * high
    high = min(high, most)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle
    return high


def _repeat_key(sentence: str) -> str:
    return " ".join(sentence.lower().split())


def _after_marker(text: str, start: int, end: int) -> int:
    """Where the sentence ``text[start:end]`` goes on after the marker of the list item it
    opens with ("- ", "* ", "2. ", "3) "), or ``start``: a cut piece is never a marker alone
    ("2.…", read as numbering what follows it, its number as a fact; "**2. " too)."""
    k = start
    while k < end and k - start < 3 and text[k] in "*_":  # the emphasis of "**2. "
        k += 1
    if k in (start, end) or not "0" <= text[k] <= "9":
        k = start
    digits = k
    if k == start and text[k] in "-*+\u2022":
        k += 1
    else:
        while k < end and "0" <= text[k] <= "9":
            k += 1
        if k in (digits, end) or text[k] not in ".)":
            return start
        k += 1
    return k + 1 if k < end and text[k] == " " else start


def fill_budget(
    text: str,
    spans: Sequence[tuple[int, int]],
    order: Sequence[int],
    chosen: Sequence[int],
    budget: int,
    count: Callable[[str], int],
) -> list[Piece]:
    """The spans ``chosen`` (ascending indices into ``spans``) as whole pieces and, in what
    budget they leave, the longest prefix of the first other sentence in ``order`` (best score
    first) that does not repeat a chosen one, ends after a word (not a list item's marker),
    holds ``MIN_CLIPPED_WORDS`` words or more (one is enough when nothing else was chosen, so
    that a summary is never empty when a word fits, or when that word is a fact such as an
    identifier) and keeps :func:`render` of all the pieces within ``budget`` tokens by
    ``count``; in source order. The cut piece's ellipsis is counted.

    Before that, up to ``MAX_WHOLE_FILLS`` of those sentences, best first, are taken whole
    while the summary with each still fits (the greedy pick sums the sentences' own counts,
    which exceed their summary's).

    The last step of :func:`pick_scored`.
    """
    pieces: list[Piece] = [(spans[k][0], spans[k][1], False) for k in chosen]
    taken = set(chosen)
    keys = {_repeat_key(text[a:b]) for a, b, _ in pieces}
    for tries in range(MAX_WHOLE_FILLS + 1):
        best = -1
        for k in order:
            if k not in taken and _repeat_key(text[spans[k][0] : spans[k][1]]) not in keys:
                best = k
                break
        if best < 0:
            return pieces
        whole = sorted([*pieces, (spans[best][0], spans[best][1], False)])
        if tries == MAX_WHOLE_FILLS or count(render(text, whole)) > budget:
            break
        pieces = whole
        taken.add(best)
        keys.add(_repeat_key(text[spans[best][0] : spans[best][1]]))
    start, end = spans[best]
    item = _after_marker(text, start, end)
    # a cut follows a visible character (not even a control space such as "\x1f") of the
    # sentence's own words, past a list item's marker
    cuts = [i for i in range(item + 1, end) if text[i] in _SPACE and not text[i - 1].isspace()]
    # a lone word is noise beside whole sentences ("The", "Set"), unless it is a fact itself
    least = 1 if not pieces or (cuts and fact_tokens(text[item : cuts[0]])) else MIN_CLIPPED_WORDS

    def fits(cut: int) -> bool:
        return count(render(text, sorted([*pieces, (start, cut, True)]))) <= budget

    # counts grow with the prefix (near enough): bisect for the longest, then step back to be exact
    lo, hi = 0, len(cuts)
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(cuts[mid]):
            lo = mid + 1
        else:
            hi = mid
    for k in range(lo - 1, least - 2, -1):
        if fits(cuts[k]):
            return sorted([*pieces, (start, cuts[k], True)])
    return pieces


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
