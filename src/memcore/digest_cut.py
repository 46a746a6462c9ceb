"""Cutting a digest line to fit the room left: at a word, with an ellipsis, never ending on a
word that promises what the cut took away ("and…", "added…"), never leaving a code span or an
aside open, and never keeping so little that the line says nothing.
"""

from __future__ import annotations

from memcore._kernels import prose
from memcore.lazy_re import lazy_compile
from memcore.tokens import TokenCounter
from memcore.wide_letters import WIDE_LETTER

#: A line cut to fit must keep at least this many tokens, or it is left out.
MIN_CUT_TOKENS = 10
#: A cut line must keep at least this share of its words, or it says too little to be kept.
MIN_CUT_SHARE = 0.5
#: A cut line that names nothing exact (no code span, path or call) must keep at least this
#: many words: "Both will be condensed…" is a stub that says nothing a reader can use.
MIN_PLAIN_CUT_WORDS = 6
#: A cut line whose statement follows a label ("X says:", "Done:") keeps at least this many
#: of the statement's own words.
MIN_STATEMENT_CUT_WORDS = 3
#: A topic line cut to fit (``digest_seeds.seed_topic``) keeps at least this many words,
#: whatever its share.
MIN_TOPIC_WORDS = 8
#: Words a cut line must not end on (lowercased): they promise what the cut took away.
DANGLING = frozenset(
    [
        "&&",
        "+",
        "-",
        "->",
        "=",
        "a",
        "about",
        "accept",
        "accepts",
        "added",
        "after",
        "all",
        "allows",
        "also",
        "an",
        "and",
        "another",
        "any",
        "are",
        "as",
        "at",
        "avoids",
        "be",
        "because",
        "been",
        "before",
        "between",
        "both",
        "but",
        "by",
        "calls",
        "can",
        "caused",
        "causes",
        "changed",
        "changing",
        "contain",
        "contains",
        "converts",
        "could",
        "defines",
        "defining",
        "did",
        "do",
        "does",
        "during",
        "each",
        "ensure",
        "ensures",
        "every",
        "first",
        "for",
        "found",
        "from",
        "had",
        "handles",
        "happened",
        "happens",
        "has",
        "have",
        "how",
        "i",
        "i'll",
        "i'm",
        "if",
        "implements",
        "in",
        "include",
        "instead",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "last",
        "let",
        "let's",
        "like",
        "make",
        "makes",
        "may",
        "means",
        "might",
        "more",
        "most",
        "must",
        "my",
        "naming",
        "need",
        "needs",
        "new",
        "next",
        "no",
        "not",
        "occurred",
        "occurs",
        "of",
        "on",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "per",
        "prevents",
        "ran",
        "rather",
        "renamed",
        "replaced",
        "requires",
        "returns",
        "said",
        "same",
        "says",
        "second",
        "section",
        "sections",
        "should",
        "similar",
        "since",
        "so",
        "some",
        "stored",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "then",
        "there's",
        "these",
        "they",
        "third",
        "this",
        "those",
        "though",
        "through",
        "to",
        "took",
        "under",
        "unless",
        "until",
        "use",
        "uses",
        "using",
        "via",
        "want",
        "wanted",
        "wants",
        "was",
        "we",
        "we'll",
        "we're",
        "were",
        "what",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "whose",
        "will",
        "with",
        "within",
        "without",
        "would",
        "you",
        "your",
        "|",
        "||",
        "–",
        "—",
        "→",
    ]
)
#: Verbs whose line says what they introduce (the digest's "`f` calls `a`, `b`", "an edit of
#: `f` added `x`", "`c` ran twice and failed once"): a cut that ends just before one (or whose
#: tidied end took one away) keeps the line's subject and nothing of its point ("The code read
#: in `f`…"), so the line is left out instead (:func:`_point_cut_away`).
LIST_VERBS = frozenset(
    ["added", "calls", "changed", "defines", "found", "ran", "renamed", "replaced", "took"]
)
_WORDS = lazy_compile(r"\S+")
_CODE_SPAN = lazy_compile(r"`[^`]*`")
#: What an exact name has and plain words do not: a code span, a path, a call.
_NAMES_SOMETHING = lazy_compile(r"[`/(]")
#: The most words a line's label may take ("- Before the compaction (Claude's summary):").
_LABEL_MOST_WORDS = 8
#: A document's section names (``said_added``) cut inside one: 'the sections "A", "Pro'.
_OPEN_SECTION = lazy_compile(r'\bsections? (?:"[^"]*",? (?:and )?)*"[^"]*$')
#: How many times a command "ran", at a cut's end ("`mise run lint` ran twice…"): what it is
#: said for, the outcome, is what the cut took (tidied away with the verb).
_RAN_COUNT = lazy_compile(r"(?<=\bran)\s+(?:once|twice|\d+\s+times)$")
#: The start of a file line's last clause, cut before what the edits it counts did ("...;
#: 2 of these edits fixed…", "...once, which fixed…"): the clause says nothing, and goes.
_FIXES_CLAUSE = lazy_compile(
    r";\s+(?:in each,\s+)?(?:\d+|each)(?:\s+of(?:\s+these(?:\s+edits(?:\s+fixed)?)?)?)?$"
    r"|,\s+which(?:\s+fixed)?$"
)


#: Words after which a verb's "-ing" form promises its object ("by adding…", "after
#: removing…"): the cut took what was added or removed.
_GERUND_AFTER = frozenset(["after", "before", "by", "for", "from", "when", "while", "without"])


def _dangles(word: str) -> bool:
    word = word.rstrip(",;:")
    # a count promises what it counts ("The string has 6…")
    return word.lower().replace("\u2019", "'") in DANGLING or word.isdigit()


def _gerund_dangles(kept: list[str]) -> bool:
    """Whether ``kept`` ends on a verb's "-ing" form after a word of ``_GERUND_AFTER``."""
    return (
        len(kept) > 1
        and kept[-1].lower().endswith("ing")
        and kept[-1].isalpha()
        and kept[-2].lower() in _GERUND_AFTER
    )


def tidy_cut(cut: str, *, asides: bool = True) -> str:
    """``cut`` (a text cut after a word) without an end that promises what the cut took away: no
    last word of ``DANGLING`` ("and", "added", "->"), no count of a command's runs or of a
    file's edits without what they did, no code span left open, and (``asides``) no aside left
    open. May be empty."""
    while True:
        before = cut
        if "ran" in cut:  # (the patterns' own words: most cuts hold neither)
            cut = _RAN_COUNT.sub("", cut)
        if ";" in cut or "which" in cut:
            cut = _FIXES_CLAUSE.sub("", cut)
        kept = cut.split()
        while kept and (_dangles(kept[-1]) or _gerund_dangles(kept)):  # no "and…", "added…"
            kept.pop()
        cut = " ".join(kept).rstrip(",;:")
        if cut.count("`") % 2:  # do not leave a code span open
            cut = cut[: cut.rfind("`")].rstrip().rstrip(",;:")
        if asides and cut.count("(") > cut.count(")"):  # nor an aside ("... (seen…")
            cut = cut[: cut.rfind("(")].rstrip().rstrip(",;:")
        # nor a section's name cut in two ('sections "Pro…')
        if "section" in cut and _OPEN_SECTION.search(cut):
            cut = cut[: cut.rfind('"')].rstrip().rstrip(",;:")
        if cut == before:
            return cut


def _label_words(words: list[str]) -> int:
    """How many of ``words`` (a line's, its list mark first when it has one) name where its
    statement comes from rather than say it: those up to a first word ending in a colon among
    the first ``_LABEL_MOST_WORDS`` ("- The agent's brief to a sub-agent says:", "- Done:");
    0 when there is none, or nothing follows it."""
    for at, word in enumerate(words[:_LABEL_MOST_WORDS]):
        if word.endswith(":") and "`" not in word:
            return at + 1 if at + 1 < len(words) else 0
    return 0


def _point_cut_away(words: list[str], kept: int, cut_at: int) -> bool:
    """Whether a cut keeping ``words[:kept]`` (of the ``cut_at`` that fit, before its end was
    tidied) took away a verb of ``LIST_VERBS``: one of the words tidied away, or of the
    connectives that follow the cut ("each", "also") up to the next other word, or that word."""
    i = kept
    while i < len(words):
        word = words[i]
        if word.lower() in LIST_VERBS:
            return True
        if i >= cut_at and not _dangles(word):
            return False
        i += 1
    return False


#: Words that turn a statement ("It works now, but the numbers are off"): a cut inside the
#: clause they open, or just before it, keeps the half the rest takes back.
_TURNS = frozenset(["but", "however", "although", "though", "yet", "except", "unless", "whereas"])
_DASH_WORDS = ("-", "\u2013", "\u2014")


def _turn_cut_away(words: list[str], kept: int) -> bool:
    """Whether a cut keeping ``words[:kept]`` ends inside a clause that a word of ``_TURNS``
    opens, or takes away the word that opens it ("The attribution is now working, but you're…"
    of "…, but you're right - the numbers are off")."""
    if kept < len(words) and words[kept].lower().strip(",;:") in _TURNS:
        return True
    for word in reversed(words[:kept]):
        if word[-1:] in ".!?:":  # (a sentence's end: "... not wired up yet." opens nothing; a
            return False  # label's: "...is not answered yet: Please..." is its statement's)
        if word.lower().strip(",;:") in _TURNS:
            return True
        if word[-1:] in ",;:" or word in _DASH_WORDS:  # (a clause's start: a turn before it
            return False  # is another clause's)
    return False


def cut_line(
    text: str,
    room: int,
    count: TokenCounter,
    *,
    min_words: int = 3,
    min_share: float = MIN_CUT_SHARE,
    names_kept: bool = True,
    min_said: int = MIN_STATEMENT_CUT_WORDS,
) -> str | None:
    """The longest word prefix of ``text`` that, with an ellipsis, counts at most ``room``
    (None: it would keep fewer than ``min_words`` words, or than ``min_share`` of them, or
    fewer than ``min_said`` of the statement after its label ("- The user asked:"), or, with
    ``names_kept``, none of the exact names ``text`` has, nor any of its code spans when it has
    some: "This means the issue is inside…" of a line that went on to say inside which function
    is a stub)."""
    if not text.isascii() and _WIDE_RUN.search(text):
        return _cut_wide(text, room, count, min_words, min_share, names_kept)
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
    cut = tidy_cut(" ".join(words[:lo]))
    kept = cut.split()
    if _point_cut_away(words, len(kept), lo) or _turn_cut_away(words, len(kept)):
        return None
    bullet = 1 if words and words[0] == "-" else 0  # a list mark is no word of the statement
    kept_words = len(kept) - bullet
    if kept_words < min_words or kept_words < (len(words) - bullet) * min_share:
        return None
    if not _CODE_SPAN.sub(" ", cut).split()[bullet:]:  # a name alone says nothing of it
        return None
    if not _NAMES_SOMETHING.search(cut) and (
        kept_words < MIN_PLAIN_CUT_WORDS or (names_kept and _NAMES_SOMETHING.search(text))
    ):
        return None
    if names_kept and "`" not in cut and "`" in text:
        return None  # (its code spans were its names: "... by adding…" of `updateOpts`)
    # what follows a label is the statement: "...sub-agent says: The full…" keeps two of its
    # words, a stump whatever the label's length
    label = _label_words(words)
    if label and len(kept) - label < min_said:
        return None
    return cut + "\u2026"


#: Two Chinese or Japanese letters side by side (kana, CJK ideographs): text that writes no
#: spaces between its words, cut between any two letters (``_cut_wide``).
_WIDE_RUN = lazy_compile(f"{WIDE_LETTER}{{2}}")
_WIDE_LETTER = lazy_compile(WIDE_LETTER)
#: Marks a cut does not end on before its ellipsis (a comma, an enumeration comma, a colon).
_WIDE_PAUSES = ",;:\uff0c\u3001\uff1b\uff1a"


def _cut_wide(
    text: str,
    room: int,
    count: TokenCounter,
    min_words: int,
    min_share: float,
    names_kept: bool,
) -> str | None:
    """``cut_line`` of a text with Chinese or Japanese in it: cut after any of its letters as
    well as at its spaces, its words counted as ``count_words`` counts them (two letters to a
    word), with the same least words and share, the same tidy end, and the same care for the
    names it had."""
    ends = sorted(
        {m.end() for m in _WORDS.finditer(text)} | {m.end() for m in _WIDE_LETTER.finditer(text)}
    )
    lo, hi = 0, len(ends)
    while lo < hi:  # the most of ``ends`` whose cut fits
        mid = (lo + hi + 1) // 2
        if count(text[: ends[mid - 1]].rstrip() + "\u2026") <= room:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0 or ends[lo - 1] >= len(text.rstrip()):
        return None
    cut = tidy_cut(" ".join(text[: ends[lo - 1]].split()).rstrip(_WIDE_PAUSES))
    kept, whole = prose.count_words(cut), prose.count_words(text)
    bullet = 1 if text.startswith("- ") else 0  # a list mark is no word of the statement
    if kept - bullet < min_words or kept - bullet < (whole - bullet) * min_share:
        return None
    named = _NAMES_SOMETHING.search(cut) is not None
    if names_kept and (
        (not named and _NAMES_SOMETHING.search(text)) or ("`" in text and "`" not in cut)
    ):
        return None  # (its names were what it said)
    return cut + "\u2026"


__all__ = [
    "DANGLING",
    "LIST_VERBS",
    "MIN_CUT_SHARE",
    "MIN_CUT_TOKENS",
    "MIN_PLAIN_CUT_WORDS",
    "MIN_STATEMENT_CUT_WORDS",
    "MIN_TOPIC_WORDS",
    "cut_line",
    "tidy_cut",
]
