"""What a digest reads in an agent's prose (the pure twin of ``memcore._native.prose``): the
exact names a line carries (backtick code spans, path-like tokens ``a/b.ext`` and called names
``name(``), whether a sentence concludes or decides ("all 19 tests pass", "the bug was ...",
"fixed"), and which sentences of a text may become digest lines. The compiled twin scans the
characters for the first two and runs the same sentence walk compiled; the regular expressions
here are their definition.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from memcore._pure.text import split_sentences
from memcore.lazy_re import lazy_compile
from memcore.wide_letters import WIDE_LETTER

#: A path is tried only where a token with a slash starts (the lookbehind and lookahead): the
#: same matches, without retrying the path at every letter of every word.
IDENTIFIER = lazy_compile(
    r"`[^`\n]{2,80}`|(?<![\w.-])(?=[\w.-]*/)(?:[\w.-]+/)+[\w.-]+\.\w+|\b[A-Za-z_]\w*\("
)
#: Conclusions in scripts whose text gives a phrase no word ends to anchor on (Chinese and
#: Japanese write no spaces) or whose words take endings (Korean's particles, Russian's
#: inflections): fixed, resolved, completed, succeeded, tests pass / passed, works,
#: successfully, the cause is. Found anywhere in a text (``CONCLUSION``; the compiled twin
#: reads this tuple).
OTHER_SCRIPT_CONCLUSIONS = (
    # Chinese: fixed (twice), resolved, completed, succeeded, tests pass, all pass, the cause is
    "\u4fee\u590d\u4e86",
    "\u5df2\u4fee\u590d",
    "\u89e3\u51b3\u4e86",
    "\u5b8c\u6210\u4e86",
    "\u6210\u529f",
    "\u6d4b\u8bd5\u901a\u8fc7",
    "\u90fd\u901a\u8fc7",
    "\u539f\u56e0\u662f",
    # Japanese: fixed, completed, the cause is
    "\u4fee\u6b63\u3057\u307e\u3057\u305f",
    "\u5b8c\u4e86\u3057\u307e\u3057\u305f",
    "\u539f\u56e0\u306f",
    # Korean, by stems: fixed, passed, completed, succeeded, resolved, the cause is
    "\uc218\uc815\ud588",
    "\uc218\uc815\ub418\uc5c8",
    "\ud1b5\uacfc\ud588",
    "\ud1b5\uacfc\ud569\ub2c8\ub2e4",
    "\uc644\ub8cc\ud588",
    "\uc644\ub8cc\ub418\uc5c8",
    "\uc131\uacf5\ud588",
    "\uc131\uacf5\uc801",
    "\ud574\uacb0\ud588",
    "\ud574\uacb0\ub418\uc5c8",
    "\uc6d0\uc778\uc740",
    # Russian, by stems: fixed, tests pass / passed, works, successfully, solved, the cause is in
    "\u0438\u0441\u043f\u0440\u0430\u0432\u043b\u0435\u043d",
    "\u0438\u0441\u043f\u0440\u0430\u0432\u0438\u043b",
    "\u0442\u0435\u0441\u0442\u044b \u043f\u0440\u043e\u0445\u043e\u0434\u044f\u0442",
    "\u0442\u0435\u0441\u0442\u044b \u043f\u0440\u043e\u0448\u043b\u0438",
    "\u0440\u0430\u0431\u043e\u0442\u0430\u0435\u0442",
    "\u0443\u0441\u043f\u0435\u0448\u043d\u043e",
    "\u0440\u0435\u0448\u0435\u043d\u043e",
    "\u0440\u0435\u0448\u0435\u043d\u0430",
    "\u043f\u0440\u0438\u0447\u0438\u043d\u0430 \u0432",
)
#: Words and phrases that conclude or decide, matched against lowercased text; written as a
#: trie by first letter (several times faster than the plain alternation, same matches).
CONCLUSION = lazy_compile(
    r"\b(?:a(?:ll \d+ tests?|dded)"
    r"|t(?:ests? (?:now )?pass\w*|he (?:(?:bug|issue|problem|error|cause|fix) (?:is|was)|problem"
    r"|issue)|urns out)"
    r"|\d+ (?:passed|failed)|pass(?:es|ing)|f(?:ixed|ound (?:that|the))|w(?:orks|orking|ill use)"
    r"|succeeded|c(?:ompleted|onfirmed|reated|aused by|hose)|because|i(?:mplemented|nstead)"
    r"|r(?:emoved|enamed|efactored|oot cause)|updated|verified|decided"
    # the same in German, Spanish, Portuguese, Italian and French, where written in ASCII:
    # fixed, passed, successfully, works, solved
    r"|behoben|bestanden|erfolgreich|funktioniert|corregido|solucionado|exitosamente|funciona"
    r"|pasan|corrigido|resolvido|passaram|risolto|funziona|superati|fonctionne)\b"
    + "|"
    + "|".join(map(re.escape, OTHER_SCRIPT_CONCLUSIONS))
)

#: The agent announcing its next step or thinking aloud ("Let me check", "Maybe ...", "It seems
#: ...", "But first ..."): no result; a sentence of these that names nothing is no statement.
_NARRATION = re.compile(
    r"(?i)^(let me|let's|now let me|now i('ll| will)|i('ll| will) (now |first )?|first,? |next,? |"
    r"perfect|great|good|excellent|ok(ay)?\b|now\b|looking at|i see|i need to|actually\b|maybe\b|"
    r"hmm+\b|wait\b|it (seems|looks like)\b|but first\b"
    # the same openings in Chinese (let me, I'll, first I'll, I will, I need to, next, first,
    # it looks like, hmm), Japanese (first, next, well then) and Korean (first, next); not
    # "now", which opens as many results there ("现在所有测试都通过了") as steps
    r"|\u8ba9\u6211|\u6211\u6765|\u6211\u5148|\u6211\u5c06|\u6211\u4f1a|\u6211\u9700\u8981"
    r"|\u63a5\u4e0b\u6765|\u9996\u5148|\u770b\u8d77\u6765|\u55ef"
    r"|\u307e\u305a|\u6b21\u306b|\u305d\u308c\u3067\u306f|\u3067\u306f"
    r"|\uba3c\uc800|\ub2e4\uc74c\uc73c\ub85c"
    # and in Spanish, Portuguese, German, French and Italian: I'm going to, let's, let me, I
    # will, let's see
    r"|voy a\b|vamos a\b|d[e\u00e9]jame\b|vou\b|deixe-me\b|deixa eu\b|ich werde\b"
    r"|lass mich\b|lassen sie mich\b|je vais\b|laisse-moi\b|laissez-moi\b|voyons\b"
    r"|vado a\b|lasciami\b)"
)
#: Sentences that tell the user what to do ("Try `/continue`", "Report whether it works").
_INSTRUCTION = re.compile(
    r"(?i)^(try|report|please|let me know|tell me|make sure|restart|open|navigate|go to|type|"
    r"press|click|copy|paste|run|launch|start|exit|quit|reload|refresh|feel free|you (can|could|"
    r"should|may|might|will need))\b"
)
#: How a heading that asks opens ("### 1. How `enable` works and its flags"): a title of what
#: follows, even where its words conclude ("works").
TITLE_QUESTIONS = ("how ", "what ", "why ", "where ", "when ", "which ", "who ")
#: The first two letters of the alternatives of :data:`_NARRATION` and :data:`_INSTRUCTION`: a
#: sentence whose lowercased first two characters are ASCII and not one of these pairs is
#: neither ("the", "this", "it": most of them), so the patterns are not tried there, whatever the
#: case folding (a character that folds to ASCII only in ``re`` is not ASCII lowercased). One
#: table for both twins.
_NARRATION_PAIRS = frozenset(
    ["le", "no", "i'", "i ", "fi", "ne", "pe", "gr", "go", "ex", "ok", "lo", "ac", "ma", "hm", "wa",
     "it", "bu", "vo", "va", "de", "ic", "la", "je"]
)  # fmt: skip
_INSTRUCTION_PAIRS = frozenset(
    [
        "tr", "re", "pl", "le", "te", "ma", "op", "na", "go", "ty", "pr",
        "cl", "co", "pa", "ru", "la", "st", "ex", "qu", "fe", "yo",
    ]
)  # fmt: skip
_BULLET_STARTS = frozenset("-*+0123456789")
BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
#: Status marks that open a checklist line ("✅ Added ..."): the statement is what follows.
_MARKS = re.compile("^[\\s\u2705\u2714\u2713\u2611\U0001f389\U0001f680]+")
#: A line offering the user a choice ("Would you like me to:", "Two options:", "The question is
#: whether I should:"): the list under it holds options, not what was decided or done ("2.
#: **Implement** the `session` command" was said as a decision, where the user chose the other).
OFFER = lazy_compile(
    r"\b(?:would you (?:like|prefer)|do you want|want me to|(?:should|shall) (?:i|we)\b"
    r"|whether (?:i|we|to)\b|which (?:approach|option|one|way|would)"
    r"|(?:two|three|a few|some|possible) (?:options|ways|approaches)|options?:|alternatives?:)"
)
#: Words every offer holds one of (lowercase): tried before the pattern, which few lines reach.
_OFFER_WORDS = (
    "you", "should", "shall", "whether", "which", "option", "ways", "approach", "altern",
)  # fmt: skip
#: A list item's opening: one or two digits and ``.`` or ``)``, or a bullet, then a space or tab.
LIST_ITEM = re.compile("(?:\\d{1,2}[.)]|[-*+\u2022])[ \t]")


def is_bold_title(stripped: str) -> bool:
    """Whether a line (its indentation stripped) is a title, no statement: all one bold run, a
    colon after it or not ("**Gemini's behavior (now fixed):**" over a table), naming nothing,
    and introducing what follows (a colon) or concluding nothing ("**All 19 tests pass!**" is a
    result; "**`f` returns early on zero changes**" states something)."""
    text = stripped.rstrip()
    colon = text.endswith(":")
    if colon:
        text = text[:-1].rstrip()
    if not (len(text) > 4 and text.startswith("**") and text.endswith("**")):
        return False
    if text.count("**") != 2 or find_identifiers(stripped):
        return False
    return colon or text.endswith(":**") or not concludes(stripped.lower())


def offers_choice(line: str) -> bool:
    """Whether ``line`` offers the user a choice: it ends (but for spaces) with ``:`` or ``?``,
    is no list item nor indented, and its last sentence (after the last ``". "``, ``"? "`` or
    ``"! "``) says an offer (:data:`OFFER`, any case): "Would you like me to add it? It would
    be:" introduces what the proposal would be, not options."""
    end = line.rstrip()
    if not end.endswith((":", "?")) or line[:1] in (" ", "\t"):
        return False
    before = len(end) - 1
    start = max(end.rfind(". ", 0, before), end.rfind("? ", 0, before), end.rfind("! ", 0, before))
    lower = (end[start + 2 :] if start >= 0 else end).lower()
    for word in _OFFER_WORDS:
        if word in lower:
            return OFFER.search(lower) is not None and LIST_ITEM.match(line) is None
    return False


_PLAIN_WORD = lazy_compile(r"[A-Za-z]{2,}")
_CODE_SPAN = lazy_compile(r"`[^`]*`")

#: One sentence that may become a digest line: the sentence, its words joined by single spaces,
#: how many words, its exact names, whether it concludes, whether it narrates or instructs,
#: whether it is a bare list of names, and where it is (its line * 1000 + its place in the line:
#: the same in the main and the spare walk, so their lines can be put in the text's order).
Sentence = tuple[str, str, int, list[str], bool, bool, bool, int]


def find_identifiers(text: str) -> list[str]:
    """Every match of :data:`IDENTIFIER` in ``text``, left to right, as ``re.findall`` gives them
    (backticks and the call's parenthesis included)."""
    return IDENTIFIER.findall(text)


def find_names(text: str) -> list[str]:
    """The names :func:`find_identifiers` finds, without their backticks and call parenthesis
    (``.strip("`(")`` of each)."""
    return [found.strip("`(") for found in IDENTIFIER.findall(text)]


def concludes(text: str) -> bool:
    """Whether :data:`CONCLUSION` occurs in ``text`` (give it lowercased text)."""
    return CONCLUSION.search(text) is not None


#: Chinese and Japanese letters (kana, CJK ideographs): that text writes no space between
#: words, so a run of them counts a word for every two letters besides its own.
_WIDE_LETTERS = lazy_compile(f"{WIDE_LETTER}+")


def count_words(sentence: str) -> int:
    """The words of ``sentence``: those ``split()`` gives, and a word more for every two letters
    of each run of Chinese or Japanese letters ("所有测试都通过了。" is five)."""
    return _with_wide(sentence, len(sentence.split()))


def _with_wide(sentence: str, count: int) -> int:
    """``count`` (``sentence``'s words by ``split()``) with its runs of wide letters counted."""
    if sentence.isascii():
        return count
    return count + sum(len(run) // 2 for run in _WIDE_LETTERS.findall(sentence))


def other_words(sentence: str) -> int:
    """Words of ``sentence`` outside its code spans (names in prose still count as words)."""
    return len(_PLAIN_WORD.findall(_CODE_SPAN.sub(" ", sentence)))


#: What a digest's echo check and a task list's done steps read of a line (see
#: ``memcore.digest_echo``): code spans taken whole (anything between two backticks), names in
#: prose (a word with a small letter then a capital, or an underscore), and plain lowercased
#: words, stemmed.
_WHOLE_SPAN = lazy_compile(r"`[^`]+`")
_PROSE_NAME = lazy_compile(r"\b\w*(?:[a-z][A-Z]|_)\w*\b")
_PLAIN = lazy_compile(r"[a-z0-9]+")
_ENDINGS = ("ing", "ed", "es", "s")


def stem(word: str) -> str:
    """``word`` without an inflection's ending, so that "passes locally and passed in prior CI
    runs" echoes "passed in a previous CI run and passes locally": crude (no dictionary), but
    the same for both lines compared, which is all an echo needs."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def echo_names(text: str, names: Collection[str] | None) -> frozenset[str]:
    """A line's exact names for the echo check: ``names`` (by default :func:`find_names` of it),
    its code spans whole with their backticks, and the names in its prose outside them."""
    found = set(names) if names is not None else set(find_names(text) if _may_name(text) else ())
    if "`" in text:
        found.update(_WHOLE_SPAN.findall(text))
        text = _WHOLE_SPAN.sub(" ", text)
    found.update(_PROSE_NAME.findall(text))
    return frozenset(found)


def stemmed_words(
    text: str, stop: frozenset[str], outside_spans: bool, skip_first: bool
) -> frozenset[str]:
    """The stems of ``text``'s lowercased words (runs of ``[a-z0-9]``) that are not in
    ``stop``: with ``outside_spans``, only those outside its code spans; with ``skip_first``,
    not its first word."""
    if outside_spans and "`" in text:
        text = _WHOLE_SPAN.sub(" ", text)
    words = _PLAIN.findall(text.lower())
    if skip_first:
        words = words[1:]
    return frozenset([stem(word) for word in words if word not in stop])


def _is_rule(stripped: str) -> bool:
    """A table row or a horizontal rule (``---``, ``===``), given the line without its indent."""
    if stripped[0] == "|":
        return True
    rule = stripped.rstrip()
    return len(rule) >= 3 and not rule.strip("-=")


def _may_name(text: str) -> bool:
    # every exact name has a backtick, a slash or a parenthesis: most prose has none
    return "`" in text or "/" in text or "(" in text


def statement_sentences(
    content: str, needs_names: bool, spare: bool, seen: set[str], lines: list[str] | None = None
) -> list[Sentence]:
    """The sentences of an agent's ``content`` that may become digest lines, in order, each
    added to ``seen`` (by its words, lowercase, without the end mark) and skipped when already
    there. Code blocks, tables, rules, questions and the options put to the user (the list under
    a line that ``offers_choice``, blank lines and indented continuations included) are left
    out; a sentence counts when it
    names something exact, or concludes (not where ``needs_names``: thinking, reports) and is
    neither an instruction nor narration; a heading counts only when it concludes ("## All 19
    tests pass"), as a title names but states nothing. With ``spare``, instead the plain prose
    sentences these leave out (no names, no conclusion, not a heading or an introduction).
    With ``lines``, ``content``'s lines are put in it (the walk splits them, and its caller
    reads some items' lines again)."""
    out: list[Sentence] = []
    fenced = False
    named_only = needs_names and not spare
    # without a fence no line toggles the code block: a line naming nothing is passed at once
    skim = named_only and "```" not in content and "~~~" not in content
    offering = False  # under a line that offers the user a choice (``offers_choice``)
    split = content.splitlines()
    if lines is not None:
        lines.extend(split)
    for line_no, raw_line in enumerate(split):
        if raw_line and not raw_line.isspace():  # (a blank line keeps the list going)
            if offering and (raw_line[0] in " \t" or LIST_ITEM.match(raw_line)):
                continue  # an option put to the user (or its continuation): no result
            offering = offers_choice(raw_line)
        if skim and "`" not in raw_line and "/" not in raw_line and "(" not in raw_line:
            continue
        stripped = raw_line.lstrip()
        opening = stripped[:3]
        if opening == "```" or opening == "~~~":  # a fence opens or closes a code block
            fenced = not fenced
            continue
        if fenced or not stripped:
            continue
        first = stripped[0]
        if (first == "|" or first == "-" or first == "=") and _is_rule(stripped):
            continue
        if named_only and not _may_name(raw_line):  # no sentence here can count
            continue
        if first == "*" and is_bold_title(stripped):  # "**Gemini's behavior (now fixed):**"
            continue
        heading = first == "#"
        line = stripped.lstrip("#") if heading else stripped
        if first == ">":  # a quoted line ("> To resume ..."): what it says, without the marks
            line = line.lstrip("> ")
        if line[:1] in _BULLET_STARTS:
            line = BULLET.sub("", line)
        if "**" in line:
            line = line.replace("**", "")
        line = line.strip()
        if line and line[0] > "\x7f":
            line = _MARKS.sub("", line)
        if line[:1] in _BULLET_STARTS:  # a bullet after the marks ("✅ - x", "**-** x")
            line = BULLET.sub("", line)
        # a sentence naming nothing is left out of the main lines of thinking, reports and
        # headings, and a sentence naming something out of the spare ones: decided first
        plain_out = named_only or (heading and not spare)
        for k, (start, end) in enumerate(split_sentences(line)):
            position = line_no * 1000 + min(k, 999)  # where it is: lines, then sentences
            sentence = line[start:end].strip()
            may_name = _may_name(sentence)
            if plain_out and not may_name:
                continue
            if sentence[-1:] in ("?", "\uff1f"):  # asked (a wide mark too): not a result
                continue
            if spare:
                if may_name and find_identifiers(sentence):  # the main lines' business
                    continue
                names: list[str] = []
            else:
                names = [n.strip("`(") for n in find_identifiers(sentence)] if may_name else []
            ids = len(names)
            if plain_out and not ids:
                continue
            words = sentence.split()
            n_words = _with_wide(sentence, len(words))
            if ids < 2 and n_words < 4:  # short lines count when they relate names
                continue
            lower = sentence.lower()
            if not ids and not spare and not concludes(lower):  # names nothing, concludes nothing
                continue
            key = " ".join(lower.rstrip(".!:;").split())
            if key in seen:  # said already
                continue
            pair = lower[:2]  # the patterns are tried only where these can open them
            gated = len(pair) == 2 and pair.isascii()
            instruction = (not gated or pair in _INSTRUCTION_PAIRS) and (
                _INSTRUCTION.match(sentence) is not None
            )
            if instruction and ids == 0:  # "Report whether it works": the user's step, not a fact
                continue
            narration = (not gated or pair in _NARRATION_PAIRS) and (
                _NARRATION.match(sentence) is not None
            )
            if narration and ids == 0:
                continue
            # the conclusion test is the costly one: made only where its answer counts
            plain = ids == 0 and (needs_names or heading)
            concluding = not plain and not instruction and concludes(lower)
            if ids == 0 and (not concluding or needs_names or heading):
                if spare and not (heading or sentence.endswith(":")):
                    seen.add(key)
                    joined = " ".join(words)
                    out.append((sentence, joined, n_words, names, False, False, False, position))
                continue
            if spare:
                continue
            if heading and (not concluding or lower.startswith(TITLE_QUESTIONS)):
                continue  # a title naming something ("## How `x` works"): no statement
            seen.add(key)
            listy = ids >= 3 and other_words(sentence) < 3  # a list of names states nothing
            aside = narration or instruction
            joined = " ".join(words)
            out.append((sentence, joined, n_words, names, concluding, aside, listy, position))
    return out


__all__ = [
    "BULLET",
    "CONCLUSION",
    "IDENTIFIER",
    "LIST_ITEM",
    "OFFER",
    "TITLE_QUESTIONS",
    "Sentence",
    "concludes",
    "count_words",
    "echo_names",
    "find_identifiers",
    "find_names",
    "is_bold_title",
    "offers_choice",
    "other_words",
    "statement_sentences",
    "stem",
    "stemmed_words",
]
