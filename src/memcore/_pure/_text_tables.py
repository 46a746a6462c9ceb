"""Constants shared by both pipeline twins (imported by ``_native/pipeline.pyx`` too).

Defined once so the compiled kernels and their pure-Python twins cannot drift apart.
"""

from __future__ import annotations

# fmt: off
#: Words that end in a full stop without ending a sentence (compared lower-cased, dots kept).
ABBREVIATIONS: frozenset[str] = frozenset(
    [
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "e.g", "i.e", "cf", "fig",
        "figs", "no", "nos", "vol", "approx", "dept", "est", "inc", "ltd", "co", "corp", "jan",
        "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "al",
        "resp", "sec", "eq", "eqs", "ref", "refs", "a.m", "p.m", "u.s", "u.k", "ph.d", "min",
        "max"
    ]
)

#: Words that start a sentence glued to the one before it with no space between ("...save
#: it.Let me check"; an agent's text blocks are often joined so): a stop, then one of these and
#: a space, comma or apostrophe, ends a sentence. Only these: a name like ``os.Exit`` must not.
GLUED_STARTS: frozenset[str] = frozenset(
    [
        "Let", "Now", "Wait", "Actually", "But", "So", "The", "This", "That", "It", "I",
        "Also", "However", "Perfect", "Great", "Good", "Looking", "First", "Then", "Hmm",
        "Here", "There", "Both", "All", "Excellent", "Interesting", "Next", "Finally", "Okay",
        "OK", "Yes"
    ]
)

#: Words too common to carry a sentence's topic (left out of TF-IDF).
STOPWORDS: frozenset[str] = frozenset(
    [
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did",
        "do", "does", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if",
        "in", "into", "is", "it", "its", "may", "might", "more", "most", "must", "not", "of",
        "on", "or", "our", "she", "should", "so", "such", "than", "that", "the", "their",
        "them", "then", "there", "these", "they", "this", "those", "to", "too", "was", "we",
        "were", "what", "when", "where", "which", "while", "who", "will", "with", "would",
        "you", "your", "also", "any", "all", "each", "other", "only", "some", "same", "both",
        "very", "just", "one", "use", "used", "using", "returns", "return"
    ]
)

#: Words that mark an error message, a fact an agent must not lose.
ERROR_WORDS: frozenset[str] = frozenset(
    [
        "error", "errors", "exception", "exceptions", "traceback", "failed", "failure", "fails",
        "raise", "raises", "raised", "warning", "fatal", "denied", "timeout", "refused",
        "invalid"
    ]
)

# fmt: on

#: Weights of the sentence score: similarity to the document centroid, position, facts.
CENTROID_WEIGHT = 1.0
POSITION_WEIGHT = 0.2
FACT_WEIGHT = 1.0
FACT_CAP = 4  # facts beyond this many in one sentence add nothing more

#: Grouping compares an item with its bucket's first member and this many latest members.
GROUP_RECENT = 4

#: A sentence cut short to fill a summary's budget keeps at least this many words: a lone "The"
#: or "Set" is noise, not worth its token.
MIN_CLIPPED_WORDS = 2
#: How many more whole sentences the fill takes, best first, before it cuts one: the picked
#: sentences' own counts, summed, exceed their summary's (each count rounds), so a sentence
#: the greedy pick left out may fit whole, and was cut a word or two short of its end ("...
#: before running the…" at ratio 1.0). Bounded: each try counts the whole summary.
MAX_WHOLE_FILLS = 8

#: What follows a sentence start cut short in a summary: the cut is marked, never glued to the
#: next sentence (one token, counted in the summary's budget).
ELLIPSIS = "\u2026"

#: 64-bit FNV-1a over code points, then a splitmix64 finalizer: deterministic on every platform.
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = 0xFFFFFFFFFFFFFFFF

#: Expected BPE tokens of a run of ASCII letters by its length (index = length, fitted to
#: cl100k_base on prose and code); longer runs add LETTER_COST_PER_EXTRA per letter.
LETTER_COST: tuple[float, ...] = (
    0.0,
    1.0,
    1.0,
    1.03,
    1.04,
    1.07,
    1.09,
    1.16,
    1.22,
    1.25,
    1.28,
    1.33,
    1.6,
    1.65,
    1.85,
    2.3,
    2.6,
    3.0,
)
LETTER_COST_PER_EXTRA = 0.35
#: Tokens per digit (cl100k groups digits by three), per punctuation mark, per non-ASCII char.
DIGIT_COST = 1.0 / 3.0
PUNCT_COST = 0.5
NON_ASCII_COST = 1.0
#: A whitespace run that does not just precede a word (newlines, indentation) costs this much.
SPACE_RUN_COST = 1.0

#: The literal parts of the secrets ``memcore.claude_code.masking`` masks: ``literal_hits``
#: tells which of them a line holds (bit ``i`` for ``SECRET_LITERALS[i]``), and only those
#: lines' patterns run. Every literal is 2 to 32 bytes long.
SECRET_LITERALS: tuple[bytes, ...] = (
    b"-----BEGIN ",
    b"AKIA",
    b"ASIA",
    b"gh",
    b"github_pat_",
    b"sk-ant-",
    b"sk-",
    b"xox",
    b"AIza",
    b"k_live_",
    b"k_test_",
    b"eyJ",
    b"earer ",
    b"://",
)


#: What ends a sentence in a summary (its closing quotes and brackets after it aside). A piece
#: that ends in none (a list item, a heading) gets a full stop before the next piece: "2.
#: Creates a regular file" then "I'll add this test." read as one sentence, "Creates a regular
#: file I'll add this test." (``memcore._pure.pipeline.render``).
SENTENCE_ENDS = ".!?:;\u2026\u3002\uff01\uff1f"
CLOSING_MARKS = "\"')]}*`_\u201d\u2019"
#: What opens or closes a fenced code block in markdown, at the start of a line (a summary
#: keeps such lines whole and on lines of their own: ``render``).
CODE_FENCES = ("```", "~~~")
