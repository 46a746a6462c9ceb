"""How ``recall`` ranks memory for a question: the words it looks for and the weight of a hit.

A model asks in sentences ("how do I run the tests"), and the BM25 index (``memcore.search``)
matches words exactly: :func:`question_terms` leaves the question's own words out and adds each
word's other forms (the index holds each item's compound code names' words beside the names:
``memcore.search.item_text``). The index's scores are then weighed by what a hit is
(:func:`weight`: a note someone chose to keep over a line said in passing, a conclusion over
narration) and copies of one text are one hit (:func:`rank`). Used by the MCP server's
``recall`` tool and by ``benchmarks/recall_quality.py``, which measures it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from memcore._kernels import search as _search_kernels
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem
from memcore.search import MemoryIndex, wide_bigrams

#: BM25's parameters for ``recall``'s index. A session's memory holds one-line replies beside
#: long records (a command's output, a sub-agent's report): with Lucene's default length
#: normalization (``b`` 0.75) a short line that shares one common word with the question
#: outranked the long record that answers it. Measured on the development sessions' questions
#: (``benchmarks/recall_quality.py``; ``b`` 0.2 to 0.5 all better than 0.75 on both halves),
#: ``b`` 0.3 and ``k1`` 1.2 took hit@5 / MRR from 0.748 / 0.553 to 0.766 / 0.579 (half A 0.818 /
#: 0.603 to 0.835 / 0.632, half B 0.663 / 0.494 to 0.682 / 0.515). ``MemoryIndex`` keeps
#: Lucene's defaults: they are its contract.
RECALL_K1 = 1.2
RECALL_B = 0.3


def recall_index() -> MemoryIndex:
    """An empty index scored as ``recall`` scores (``RECALL_K1``, ``RECALL_B``)."""
    return MemoryIndex(k1=RECALL_K1, b=RECALL_B)


#: A note remembered through ``remember`` is what someone chose to keep, a line imported from
#: a transcript was said in passing (a tool call, a command run): the note's recall score
#: counts this many times the line's when both match as well. (The line's score is divided,
#: so that a note's score is its plain match.)
REMEMBERED_WEIGHT = 1.5
#: How far down the index's ranking ``recall`` looks first (times ``k``, at least
#: ``RECALL_POOL``) for hits that the weighting lifts; twice as far each time fewer than ``k``
#: remain once folded (``ProjectRecall.ranked``).
RECALL_POOL = 40


#: How much a hit's priority moves its score: an agent's narration and thinking are imported
#: at low priority, its conclusions and the user's requests higher.
PRIORITY_WEIGHT = {"low": 0.7, "normal": 1.0, "high": 1.15, "critical": 1.3}


def weight(item: MemoryItem) -> float:
    """A hit's share of its match: an imported transcript line's less than a remembered note's
    (see ``REMEMBERED_WEIGHT``), and each by its priority (``PRIORITY_WEIGHT``)."""
    source = 1 / REMEMBERED_WEIGHT if item.metadata.get("source") == "claude-code" else 1.0
    return source * PRIORITY_WEIGHT.get(item.priority.value, 1.0)


#: Words a question is made of that name nothing it asks about ("how do I run the tests").
_QUESTION_TEXT = """
a an the and or but of to in on at by for with from into about as is are was were be been
do does did done how what which who whom whose where when why can could should would will
shall may might must i me my we us our you your it its this that these those there here
please any some all get got have has had
"""
_QUESTION_WORDS = frozenset(_QUESTION_TEXT.split())
#: The same in Chinese, Japanese and Korean, as the bigrams a question's run of letters gives:
#: how, what, where, which, why, whether (怎么, 什么, 如何, 哪里, 为什么, 是否...; どう, どこ, なぜ,
#: ですか's すか; 어떻게, 어디, 무엇, 언제). A run is written without spaces, so they come inside
#: its bigrams, and they match every other question in memory.
_WIDE_QUESTION_BIGRAMS = frozenset(
    [
        "\u600e\u4e48", "\u600e\u6837", "\u4ec0\u4e48", "\u5982\u4f55", "\u54ea\u91cc",
        "\u54ea\u513f", "\u54ea\u4e2a", "\u54ea\u4e9b", "\u4e3a\u4f55", "\u4e3a\u4ec0",
        "\u662f\u5426", "\u80fd\u5426", "\u53ef\u5426", "\u6709\u6ca1",
        "\u3069\u3046", "\u3069\u3053", "\u306a\u305c", "\u3069\u308c", "\u3059\u304b",
        "\uc5b4\ub5bb", "\ub5bb\uac8c", "\uc5b4\ub514", "\ubb34\uc5c7", "\uc5b8\uc81c",
    ]
)  # fmt: skip


def question_words(query: str) -> list[tuple[str, str]]:
    """The words of ``query`` to look for, each with its terms (itself and its other forms,
    space-separated): the question's own words left out (when anything is left), each with
    its other forms beside it (``word_forms``; for a run of Chinese, Japanese or Korean
    letters, its bigrams, ``wide_bigrams``, as the items are indexed, but those of the
    question's own words)."""
    words = _search_kernels.tokenize(query)  # (the index's own words)
    bigrams = {w: [] if w.isascii() else wide_bigrams(w).split() for w in words}
    asked = {w: [b for b in bigrams[w] if b not in _WIDE_QUESTION_BIGRAMS] for w in words}
    # (a word that is all question, "어떻게", "怎么", goes as "how" does)
    kept = [w for w in words if w not in _QUESTION_WORDS and (asked[w] or not bigrams[w])]
    compound = _compound_forms(query)
    out: dict[str, str] = {}
    for word in kept or words:
        forms = (asked[word] or bigrams[word]) if bigrams[word] else word_forms(word)
        out.setdefault(word, " ".join(dict.fromkeys([word, *compound.get(word, ()), *forms])))
    return list(out.items())


#: A word of a question as the index's tokenizer finds it, its case kept.
_WORD = lazy_compile(r"(?u)\b\w\w+\b")


def _compound_forms(query: str) -> dict[str, list[str]]:
    """The other forms of the question's compound code names, by the name's word: the name
    written without its underscores (``strip_ide_context_tags`` finds the token of
    ``StripIDEContextTags``) and its words (``code_words``, as the items' names are indexed:
    ``SHADOW_BRANCH_HASH_LENGTH`` finds ``shadowBranchHashLength``'s). The index keeps each name
    whole, in the form it was written, and no question need know that form."""
    found: dict[str, list[str]] = {}
    for name in _WORD.findall(query):
        parts = _search_kernels.code_words(name).split()
        if not parts and "_" not in name:
            continue
        word = name.lower()
        joined = word.replace("_", "")
        found.setdefault(word, list(dict.fromkeys(f for f in (joined, *parts) if f != word)))
    return found


def unmatched_words(query: str, finds: Callable[[str], bool]) -> list[str]:
    """The words of ``query`` (``question_words``) of which ``finds`` (an index: whether any
    item has one of these terms) finds no form: hits match the query's other words only."""
    return [word for word, terms in question_words(query) if not finds(terms)]


def question_terms(query: str) -> str:
    """The terms of ``query`` to look for (:func:`question_words`, all in one): a model asks in
    sentences, and the index matches words exactly."""
    terms: dict[str, None] = {}
    for _, forms in question_words(query):
        terms.update(dict.fromkeys(forms.split()))
    return " ".join(terms)


#: Endings a word of a question may carry that the text it looks for may not ("linter" finds
#: "lint", "fixes" finds "fix"); the first that fits is taken off.
_ENDINGS = ("ing", "ed", "er", "es", "s")


def _has_vowel(base: str) -> bool:
    """Whether ``base`` can be a word's stem ("str" of "string" cannot)."""
    return any(letter in "aeiouy" for letter in base)


def word_forms(word: str) -> list[str]:
    """Other forms of an English ``word`` of four letters or more: its base without a plural,
    verb or agent ending (with the doubled consonant or the silent ``e`` the ending may have
    changed: "running" -> "run", "computed" -> "compute"; an agent noun's plural, its base's
    too: "linters" -> "linter", "lint"), or, when it has none, its plural.
    No stemmer, no dictionary: a form no text has matches nothing and costs one lookup. Each
    form is a term of its own to the index, so a text holding several forms of one word
    scores them all: forms are few, and none is made from a base ("lint" does not look for
    "linting", or every text saying "test", "tests" and "testing" would rank first)."""
    if len(word) < 4 or not word.isalpha():
        return []
    if word.endswith("ies"):
        return [word[:-3] + "y"]
    if not word.endswith("ss"):
        for ending in _ENDINGS:
            base = word[: -len(ending)]
            if ending == "es" and not base.endswith(("s", "x", "z", "ch", "sh")):
                continue  # "handles" is "handle" + "s", "fixes" is "fix" + "es"
            if word.endswith(ending) and len(base) >= 3 and _has_vowel(base):
                if word.endswith("eed"):  # "speed", "need": no ending
                    break
                if base[-1] == base[-2] and base[-1] not in "aeiouls":
                    return [base, base[:-1]]  # "running" -> "runn" -> "run"
                if ending in ("ing", "ed", "er") and base[-1] not in "aeiouyw":
                    return [base, base + "e"]  # "computed" -> "compute"
                if ending == "s" and base.endswith("er"):  # "linters" -> "linter" -> "lint"
                    return [base, *(form for form in word_forms(base) if form != word)]
                return [base]
    plural = "es" if word.endswith(("s", "x", "z", "ch", "sh")) else "s"
    return [word[:-1] + "ies" if word[-1] == "y" and word[-2] not in "aeou" else word + plural]


def said_as(item: MemoryItem) -> tuple[str, str]:
    """What makes two hits one: their words, a command's output plumbing aside (``2>&1``,
    ``| tail -20``): the same command run again is one hit, and so is the same outcome of it;
    its runs that succeeded are one hit whatever they printed (the checks that passed in
    1.2 s and in 1.3 s); its failures stay apart by what they said."""
    words = " ".join(item.content.split())
    command = item.metadata.get("command")
    if not isinstance(command, str) or not command:
        return "text", words
    from memcore.claude_code.background import only_started
    from memcore.claude_code.commands import normalize_command

    core = normalize_command(command)
    meta = item.metadata
    if meta.get("kind") == "tool_call":
        return "run", core
    if (
        meta.get("kind") == "tool_result"
        and not meta.get("is_error")
        and meta.get("exit_code") in (0, None)
        and not only_started(meta)
    ):
        return "succeeded", core
    return "text", words.replace(" ".join(command.split()), core)


#: The most characters of a hit's text ``recall`` shows (its words run together on one line).
SHOWN_CHARS = 600
#: A long hit is shown from where the question's words are; this much before the first of them
#: is shown too (the start of its sentence, often), and a window starting closer to the text's
#: start than this starts there.
LEAD_CHARS = 80
_CUT = "..."
_TOKEN = lazy_compile(r"\w\w+")  # the index's tokens (``memcore.search``), lowercased


def shown_text(content: str, terms: Iterable[str] = ()) -> str:
    """What ``recall`` shows of a hit's text: its words on one line, at most ``SHOWN_CHARS``
    characters. A longer text is shown where the most of ``terms`` (the words looked for,
    :func:`question_terms`) occur within one window, from a little before the first of them
    (``LEAD_CHARS``), marked cut at either end: the part that matched is the part worth
    reading, and a long conclusion or summary often has it well past its start."""
    text = " ".join(content.split())
    if len(text) <= SHOWN_CHARS:
        return text
    start = _window(text, set(terms), SHOWN_CHARS - 2 * len(_CUT))
    if start <= LEAD_CHARS:
        return text[: _word_end(text, SHOWN_CHARS - len(_CUT))] + _CUT
    space = text.find(" ", start - LEAD_CHARS)  # (a word's start, not its middle)
    start = space + 1 if 0 <= space < start else start
    if start + SHOWN_CHARS - len(_CUT) >= len(text):  # to the end: one mark
        return _CUT + text[_word_start(text, len(text) - SHOWN_CHARS + len(_CUT), start) :]
    return _CUT + text[start : _word_end(text, start + SHOWN_CHARS - 2 * len(_CUT))] + _CUT


#: How far back a cut window's end may move to end at a word instead of in one.
WORD_END_BACK = 40


def _word_end(text: str, end: int) -> int:
    """``end``, or the start of the word it falls inside (within ``WORD_END_BACK``; a word:
    letters, digits and ``_``): a name cut in two reads as another name
    (``FileModificationTools`` shown as ``FileModificat...``)."""
    if end >= len(text) or not (_is_word_char(text[end - 1]) and _is_word_char(text[end])):
        return end
    floor = max(0, end - WORD_END_BACK)
    start = end - 1
    while start > floor and _is_word_char(text[start - 1]):
        start -= 1
    if start <= floor:  # (a word longer than that, or the text's first: cut inside it)
        return end
    return len(text[:start].rstrip(" ")) or start  # (the mark after the last word, no space)


def _word_start(text: str, start: int, limit: int) -> int:
    """``start``, or past the word it falls inside and the space after it (within
    ``WORD_END_BACK``, and not past ``limit``, where the part worth showing starts): a window
    shown to the text's end starts at a word, as one cut before its end ends at one."""
    if text[start] == " ":
        return start + 1
    if start <= 0 or not (_is_word_char(text[start - 1]) and _is_word_char(text[start])):
        return start
    ceiling = min(len(text), start + WORD_END_BACK, limit)
    end = start + 1
    while end < ceiling and _is_word_char(text[end]):
        end += 1
    if end >= ceiling:  # (a word longer than that, or the one shown: cut inside it)
        return start
    return end + 1 if text[end] == " " else end


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def shown_hit(content: str, then: Sequence[str] = (), terms: Iterable[str] = ()) -> str:
    """What ``recall`` shows of a hit: its text (:func:`shown_text`) and, for the agent's
    words, the tool calls they led to (``then``, see ``memcore.claude_code.next_actions``):
    the words say why, the calls which file or command."""
    shown = shown_text(content, terms)
    return f"{shown} -> then: {'; '.join(then)}" if then else shown


def _window(text: str, terms: set[str], width: int) -> int:
    """Where in ``text`` the window of ``width`` characters holding the most distinct
    ``terms`` starts (at its first match; 0 when none matches), the earliest of equals.
    A compound code name matches by its words too (``code_words``, as the index has them:
    "phase active" finds ``TestInitializeSession_SetsPhaseActive``), at the whole name, so
    that the window shows the name the hit was found by, from its start."""
    # (start, end, word) of each match that fits a window at all
    matches: list[tuple[int, int, str]] = []
    for m in _TOKEN.finditer(text):
        if m.end() - m.start() >= width:
            continue
        name = m.group()
        word = name.lower()
        if word in terms:
            matches.append((m.start(), m.end(), word))
        if not (word == name and name.isalpha()):  # (a lowercase word has no code words)
            for part in dict.fromkeys(_search_kernels.code_words(name).split()):
                if part in terms:
                    matches.append((m.start(), m.end(), part))
    if not text.isascii():  # a CJK or Korean term is found inside a run of letters
        wide = [term for term in terms if not term.isascii() and wide_bigrams(term) == term]
        matches.extend(_occurrences(text, wide))
        matches.sort()
    best, best_count = 0, 0
    held: dict[str, int] = {}
    last = 0  # the matches from the current one to ``last`` are held: in the window
    for at, _, word in matches:
        while last < len(matches) and matches[last][1] <= at + width:
            held[matches[last][2]] = held.get(matches[last][2], 0) + 1
            last += 1
        if len(held) > best_count:
            best, best_count = at, len(held)
        if held.get(word, 0) > 1:
            held[word] -= 1
        else:
            held.pop(word, None)
    return best


def _occurrences(text: str, terms: list[str]) -> list[tuple[int, int, str]]:
    """``(start, end, term)`` of each occurrence of each of ``terms`` (bigrams: two letters)
    in ``text``, overlapping ones too."""
    found: list[tuple[int, int, str]] = []
    for term in terms:
        at = text.find(term)
        while at >= 0:
            found.append((at, at + len(term), term))
            at = text.find(term, at + 1)
    return found


def pool_size(k: int) -> int:
    """How many hits to ask the index for first, so that ``k`` remain once weighed and folded
    (a caller asks for more when fewer remain: sixty runs of one command fold into one)."""
    return max(k * 4, RECALL_POOL)


def weighed(hits: Iterable[tuple[MemoryItem, float]]) -> list[tuple[float, int]]:
    """The index's ``(item, score)`` hits as ``(score once weighed, place)``, best first
    (:func:`weight`); ties keep the index's order."""
    out = [(score * weight(item), n) for n, (item, score) in enumerate(hits)]
    out.sort(key=lambda pair: (-pair[0], pair[1]))
    return out


def rank(
    hits: Sequence[tuple[str, MemoryItem, float]], k: int
) -> list[tuple[str, MemoryItem, float]]:
    """The ``k`` best of the index's ``(session, item, score)`` hits once weighed
    (:func:`weighed`), copies of one text (:func:`said_as`) said once, best first; ties keep
    the index's order."""
    found: list[tuple[str, MemoryItem, float]] = []
    said: set[tuple[str, str]] = set()
    for score, n in weighed((item, score) for _, item, score in hits):
        name, item, _ = hits[n]
        same = said_as(item)
        if same not in said:
            said.add(same)
            found.append((name, item, float(score)))
            if len(found) == k:
                break
    return found


__all__ = [
    "LEAD_CHARS",
    "PRIORITY_WEIGHT",
    "RECALL_POOL",
    "REMEMBERED_WEIGHT",
    "SHOWN_CHARS",
    "pool_size",
    "question_terms",
    "question_words",
    "rank",
    "said_as",
    "shown_hit",
    "shown_text",
    "unmatched_words",
    "weighed",
    "weight",
    "word_forms",
]
