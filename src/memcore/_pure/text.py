"""Pure-Python twin of the ``text`` kernels: token counting, sentence splitting, words, the
facts an agent must not lose, and which secrets' literal parts a line holds
(``memcore/_native/text.pyx`` and ``text_literals.pyx``: same names, signatures and results).
Character classes are ASCII-based on purpose (non-ASCII characters are treated uniformly), so
both twins agree on every input. ``pipeline`` re-exports these functions.
"""

from __future__ import annotations

from memcore._pure._text_tables import (
    ABBREVIATIONS,
    DIGIT_COST,
    ERROR_WORDS,
    GLUED_STARTS,
    LETTER_COST,
    LETTER_COST_PER_EXTRA,
    NON_ASCII_COST,
    PUNCT_COST,
    SECRET_LITERALS,
    SPACE_RUN_COST,
)
from memcore.wide_letters import WIDE_STOPS

_SPACE = " \t\r\n"
_CLOSERS = "\"')]}»"
_OPENERS = "\"'([`*-"
_DASHES = "-\u2013\u2014"  # hyphen, en dash, em dash
#: The full stop, exclamation and question marks of Chinese and Japanese text: they end a
#: sentence with no space after them (the text has none between words either).
_WIDE_STOPS = WIDE_STOPS
#: What may close a sentence after a wide stop: the wide stops again, the closers, and the
#: corner brackets and wide parentheses of that text.
_WIDE_CLOSERS = _WIDE_STOPS + _CLOSERS + "\u300d\u300f\uff09\u3011"
_LEAD_STRIP = "\"'([{<`"
_TAIL_STRIP = ".,;:!?\"')]}>`\u2026"  # a summary's ellipsis (…) is no part of a fact


def _is_letter(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_mark(c: str) -> bool:
    return ord(c) < 128 and not (_is_letter(c) or _is_digit(c) or c in _SPACE)


def _joins_space(c: str) -> bool:
    return _is_letter(c) or _is_mark(c)


def _as_text(text: str) -> str:
    """``text`` as an exact ``str``: a subclass's characters, read by ``str``'s own methods (its
    ``__len__`` or ``__getitem__`` have no say, as in the compiled twin); anything else a
    TypeError, as the compiled twin's."""
    if type(text) is str:
        return text
    if isinstance(text, str):
        return str.__str__(text)
    raise TypeError(f"text must be a str (got {type(text).__name__})")


# --- token counting ----------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Estimate the BPE tokens of ``text`` (cl100k-like) from runs of letters, digits, marks."""
    text = _as_text(text)
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


def _is_heading(text: str, j: int) -> bool:
    """A Markdown heading at ``j``: one to six ``#`` and a space."""
    k = j
    n = len(text)
    while k < n and k - j < 7 and text[k] == "#":
        k += 1
    return 0 < k - j < 7 and k < n and text[k] == " "


def _ends_with_line(text: str, line: int, newline: int) -> bool:
    """Whether a sentence ends at the line break at ``newline``, the end of the line from
    ``line``: a bullet item's or a heading's line ends it, unless the next line is indented
    under it ("- Added the check\nAll tests pass" is two sentences, not "- Added the check All
    tests pass")."""
    while line < newline and text[line] in " \t":
        line += 1
    return line < newline and (_is_bullet(text, line) or _is_heading(text, line))


def _is_list_marker(text: str, line: int, dot: int) -> bool:
    """Whether the full stop at ``dot`` closes a numbered list item's marker at the start of its
    line (from ``line``: indentation, up to three emphasis marks, digits, the stop, a space):
    the marker stays with its item ("1. `go()` is called" was "1." and an item of its own, an
    orphan "1." in summaries; "**1. ADR Document** - ..." was "**1." and "ADR Document** -
    ...", whose summary opened on a dangling "**")."""
    k = line
    while k < dot and text[k] in " \t":
        k += 1
    marks = k
    while k < dot and k - marks < 3 and text[k] in "*_":
        k += 1
    digits = k
    while k < dot and _is_digit(text[k]):
        k += 1
    return k == dot and k > digits and dot + 1 < len(text) and text[dot + 1] == " "


def _is_dash_aside(text: str, j: int) -> bool:
    """A dash, a space and a small letter at ``j``: the sentence goes on after an aside, it is
    no bullet (a bullet's text starts like a sentence)."""
    return (
        text[j] in _DASHES
        and j + 2 < len(text)
        and text[j + 1] == " "
        and "a" <= text[j + 2] <= "z"
    )


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    b = dot
    while b > start and (_is_letter(text[b - 1]) or text[b - 1] == "."):
        b -= 1
    if b > start and _is_digit(text[b - 1]):  # a unit after its number ("800ms."): no title
        return False
    word = text[b:dot].lower()
    if not word:
        return False
    return word in ABBREVIATIONS or (len(word) == 1 and _is_letter(word))


def _is_glued_start(text: str, stop: int, k: int) -> bool:
    """A sentence glued to the one before it at ``k``, after the stop at ``stop``: a small
    letter or a closing mark before the stop, then one of ``GLUED_STARTS`` and a space, comma
    or apostrophe ("it.Let me check"; "os.Exit" or "v1.The" stays one)."""
    if stop == 0 or not ("A" <= text[k] <= "Z"):
        return False
    before = text[stop - 1]
    if not ("a" <= before <= "z" or before in ")`\"'"):
        return False
    n = len(text)
    e = k
    while e < n and ("a" <= text[e] <= "z" or "A" <= text[e] <= "Z"):
        e += 1
    return e < n and text[e] in " ,'" and text[k:e] in GLUED_STARTS


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
    bullet (so decimals, versions, paths and URLs never split; nor does a numbered item's
    marker at the start of its line, "1. "), or directly by a word that
    starts sentences (``GLUED_STARTS``: "it.Let me"), at a Chinese or Japanese stop
    (``_WIDE_STOPS``, with what closes it), at a blank line, before a bullet item or a
    heading, or at the end of a bullet item's or a heading's line when the next line is not
    indented under it.
    Abbreviations and initials do not end sentences; nothing inside backticks does.
    """
    text = _as_text(text)
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    i = 0
    line = 0  # where the line of ``i`` starts
    in_code = False
    while i < n:
        c = text[i]
        if c == "`":
            in_code = not in_code
            i += 1
            continue
        if in_code:
            if c == "\n":
                line = i + 1
            i += 1
            continue
        if c == "\n":
            j = i + 1
            while j < n and text[j] in " \t\r":
                j += 1
            if j < n and (
                text[j] == "\n"
                or _is_bullet(text, j)
                or _is_heading(text, j)
                or (_ends_with_line(text, line, i) and text[i + 1 : j].strip("\r") == "")
            ):
                _push(text, spans, start, i)
                start = j
                i = j
                line = j
                continue
            i += 1
            line = i
            continue
        if c in _WIDE_STOPS:  # (no space follows one: the text has none)
            k = i + 1
            while k < n and text[k] in _WIDE_CLOSERS:
                k += 1
            _push(text, spans, start, k)
            start = k
            i = k
            continue
        if c == "." or c == "!" or c == "?":
            j = i + 1
            while j < n and text[j] in ".!?":
                j += 1
            if j == i + 1 and c == "." and _is_list_marker(text, line, i):
                i = j  # "1. " at a line's start: its item's marker
                continue
            k = j
            while k < n and text[k] in _CLOSERS:
                k += 1
            if k >= n:
                i = k
                continue
            if text[k] not in _SPACE:
                if _is_glued_start(text, i, k):  # "it.Let me check": two sentences
                    _push(text, spans, start, k)
                    start = k
                    i = k
                    continue
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
                if _is_dash_aside(text, m):  # "(10 seconds!) - that's the issue": one sentence
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
    text = _as_text(text)  # (bytes were an AttributeError here, a TypeError compiled)
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
    text = _as_text(text)
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


def literal_hits(data: bytes) -> int:
    """Which of ``SECRET_LITERALS`` occur in ``data``: bit ``i`` set when ``SECRET_LITERALS[i]``
    does (what ``memcore.claude_code.masking`` checks a line for before its patterns run)."""
    found = 0
    for bit, literal in enumerate(SECRET_LITERALS):
        if literal in data:
            found |= 1 << bit
    return found


__all__ = ["count_tokens", "fact_tokens", "literal_hits", "split_sentences", "tokenize_words"]
