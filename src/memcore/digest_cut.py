"""Cutting a digest line to fit the room left: at a word, with an ellipsis, never ending on a
word that promises what the cut took away ("and…", "added…"), never leaving a code span or an
aside open, and never keeping so little that the line says nothing.
"""

from __future__ import annotations

import re

from memcore.tokens import TokenCounter

#: A line cut to fit must keep at least this many tokens, or it is left out.
MIN_CUT_TOKENS = 10
#: A cut line must keep at least this share of its words, or it says too little to be kept.
MIN_CUT_SHARE = 0.5
#: A topic line cut to fit (``memcore.digest.TOPIC_BELOW``) keeps at least this many words,
#: whatever its share.
MIN_TOPIC_WORDS = 8
#: Words a cut line must not end on (lowercased): they promise what the cut took away.
DANGLING = frozenset(
    [
        "-",
        "a",
        "about",
        "added",
        "after",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "but",
        "by",
        "can",
        "changed",
        "changing",
        "could",
        "for",
        "found",
        "from",
        "had",
        "has",
        "have",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "must",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "out",
        "said",
        "says",
        "should",
        "since",
        "so",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "there's",
        "these",
        "they",
        "this",
        "those",
        "to",
        "took",
        "use",
        "using",
        "via",
        "was",
        "we",
        "were",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "would",
        "you",
        "–",
        "—",
    ]
)
_WORDS = re.compile(r"\S+")


def _dangles(word: str) -> bool:
    return word.rstrip(",;:").lower().replace("\u2019", "'") in DANGLING


def cut_line(
    text: str,
    room: int,
    count: TokenCounter,
    *,
    min_words: int = 3,
    min_share: float = MIN_CUT_SHARE,
) -> str | None:
    """The longest word prefix of ``text`` that, with an ellipsis, counts at most ``room``
    (None: it would keep fewer than ``min_words`` words, or than ``min_share`` of them)."""
    words = _WORDS.findall(text)
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(" ".join(words[:mid]) + "\u2026") <= room:
            lo = mid
        else:
            hi = mid - 1
    if lo < min_words or lo < len(words) * min_share:  # a stump ("x was edited twice,…")
        return None
    cut = " ".join(words[:lo])
    while True:
        before = cut
        kept = cut.split()
        while kept and _dangles(kept[-1]):  # no "and…", "added…"
            kept.pop()
        cut = " ".join(kept).rstrip(",;:")
        if cut.count("`") % 2:  # do not leave a code span open
            cut = cut[: cut.rfind("`")].rstrip().rstrip(",;:")
        if cut.count("(") > cut.count(")"):  # nor an aside ("... (seen…")
            cut = cut[: cut.rfind("(")].rstrip().rstrip(",;:")
        if cut == before:
            break
    bullet = 1 if words and words[0] == "-" else 0  # a list mark is no word of the statement
    kept_words = len(cut.split()) - bullet
    if kept_words < min_words or kept_words < (len(words) - bullet) * min_share:
        return None
    return cut + "\u2026"


__all__ = ["DANGLING", "MIN_CUT_SHARE", "MIN_CUT_TOKENS", "MIN_TOPIC_WORDS", "cut_line"]
