"""Line breaks that assistant and thinking text lost on its way into the transcript, put back.

Claude Code records some assistant text, and thinking most of all, with line breaks of its
lists missing: "the user either:1. Hasn't rebuilt the binary2. Or is running ...", "better
because:- Builds once (faster)- Can run anywhere", "maps to `transcript_path`So `input` is",
"I found the issue!Session `a` has". Read as is, such a text glues one statement onto the
next, and a digest would quote the glued line as if it said one thing. Each rule below puts a
break back only where the glue is unmistakable, and never inside code.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from memcore.lazy_re import lazy_compile

#: The dot after a numbered list item's number (a digit 1-9, checked apart: a pattern led by a
#: literal is found fast), the number glued onto the text before it or at a line's start.
_ITEM_DOT = lazy_compile(r"\. (?=[A-Z`*])")

#: A bullet glued onto the text before it: ``- `` right after a letter, digit, ``:``, ``)``,
#: ``.`` or a code span (or `` - `` after a sentence's end), and before what starts an item. A
#: hyphen in a word has no blank after it; one between words, a blank before it.
_BULLET_DASH = lazy_compile(r"- (?=[A-Z`*\[])")  # (then what stands before it is checked)
_GLUED_BEFORE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:).`")
_LINE_BULLET = lazy_compile(r"(?m)^[ \t]*- \S")

#: A code span's closing backtick with a capitalized word glued on (it follows the span's
#: text: no blank or opening bracket before it, as before an opening one).
_GLUED_AFTER_SPAN = lazy_compile(r"`(?=[A-Z][a-z])")
_OPENS_SPAN = frozenset(" \t\n([{\"'`")

#: A sentence glued onto an exclamation or a question (a lowercase letter before the mark).
_GLUED_SENTENCE = lazy_compile(r"[!?](?=[A-Z][a-z])")

#: An agent's next sentence glued onto the last word before it, its line break lost
#: ("... CapturesRenamedFiles- FilenamesWithSpacesLet me also check"): an opener of the agent's
#: own narration right after a lowercase letter, a digit or ``)``, with no blank between. A
#: name in code never holds "Let me " with its blank.
_GLUED_OPENER = lazy_compile(
    r"(?<=[a-z0-9)])(?:Let me|Let's|Now let me|Now I|I'll|I need to|I should|I see|I think) "
)

_TICKS = lazy_compile("```|`")
_NEWLINE = lazy_compile("\n")


class _Code:
    """Where a text's code is: fenced blocks, and spans within a line. Built once per text, in
    one pass, so that asking about each candidate costs a lookup, not a rescan (a long text
    with many glued spans stays linear)."""

    def __init__(self, text: str) -> None:
        self.fences: list[int] = []  # as str.count counts them: "```" runs, left to right
        self.ticks: list[int] = []  # the other backticks
        for match in _TICKS.finditer(text):
            (self.fences if len(match.group()) == 3 else self.ticks).append(match.start())
        self.newlines = [m.start() for m in _NEWLINE.finditer(text)]

    def in_fence(self, at: int) -> bool:
        """Whether ``at`` falls in a fenced block: an odd number of fences before it."""
        return bisect_left(self.fences, at) % 2 == 1

    def in_code(self, at: int) -> bool:
        """Whether ``at`` falls in a fenced block or in a code span of its line: an odd number
        of backticks before it on that line, fences not counted (a fence's line break is lost
        at times too, "```Initialized ...")."""
        if self.in_fence(at):
            return True
        line = bisect_left(self.newlines, at)
        line_start = self.newlines[line - 1] + 1 if line else 0
        ticks = bisect_left(self.ticks, at) - bisect_left(self.ticks, line_start)
        return ticks % 2 == 1


def _parted(text: str, cuts: list[int], *, trim: bool = False) -> str:
    """``text`` with a line break before each of ``cuts`` (ascending; ``trim``: the blanks
    before each break dropped)."""
    pieces = [text[: cuts[0]]]
    for start, end in zip(cuts, [*cuts[1:], len(text)], strict=True):
        pieces.append("\n" + text[start:end])
    if trim:
        pieces = [piece.rstrip(" ") for piece in pieces]
    return "".join(pieces)


def _unglue_spans(text: str) -> str:
    """A line break after each code span that a capitalized word follows with no blank: the
    text's own line break, lost (a span's text is never cut)."""
    found = [
        match.start()
        for match in _GLUED_AFTER_SPAN.finditer(text)
        if match.start() and text[match.start() - 1] not in _OPENS_SPAN
    ]
    if not found:
        return text
    code = _Code(text)
    cuts = [at + 1 for at in found if code.in_code(at) and not code.in_fence(at)]
    return _parted(text, cuts) if cuts else text


def _glued_dashes(text: str) -> list[int]:
    """Where a bullet's dash is glued on: right after a letter, digit, ``:``, ``)``, ``.`` or a
    code span, or after ``.``/``:`` and one blank (a sentence's end, its break lost)."""
    found = []
    for match in _BULLET_DASH.finditer(text):
        at = match.start()
        if at and (
            text[at - 1] in _GLUED_BEFORE
            or (text[at - 1] == " " and text[at - 2 : at - 1] in (".", ":") and at >= 2)
        ):
            found.append(at)
    return found


def _unglue_bullets(text: str) -> str:
    """Each glued bullet on a line of its own, where the text is a list: it has a bullet at a
    line's start too, or two glued ones."""
    found = _glued_dashes(text)
    if not found or (len(found) < 2 and not _LINE_BULLET.search(text)):
        return text
    code = _Code(text)
    cuts = [at for at in found if not code.in_code(at)]
    if not cuts or (len(cuts) < 2 and not _LINE_BULLET.search(text)):
        return text
    return _parted(text, cuts, trim=True)


def _item_start(text: str, at: int) -> int | None:
    """Where the list item whose number is at ``at`` starts, or None if that number is no
    item's: glued, it follows a word of 3 letters or more, ``:``, ``)`` or a code span (``v2.
    Then`` is a version); else only blanks stand between it and the start of its line."""
    before = text[max(0, at - 3) : at]
    if before[-1:] in ":)`" or (len(before) == 3 and before.isalpha()):
        return at
    line_start = text.rfind("\n", 0, at) + 1
    return line_start if not text[line_start:at].strip(" \t") else None


def _unglue_numbers(text: str) -> str:
    """Each glued numbered item on a line of its own. Only numbers that count 1, 2, 3 ...
    (glued or not) make a list, of two items at least: ``python3. The`` is no item."""
    lists: list[list[tuple[int, int]]] = []  # per list: (number, where its item starts)
    for match in _ITEM_DOT.finditer(text):
        at = match.start() - 1  # where the number is
        if at < 0 or not "1" <= text[at] <= "9":
            continue
        start = _item_start(text, at)
        if start is None:
            continue
        number = int(text[at])
        if number == 1:
            lists.append([(1, start)])
        elif lists and number == lists[-1][-1][0] + 1:
            lists[-1].append((number, start))
    cuts = [
        start
        for items in lists
        if len(items) >= 2
        for _, start in items
        if start > 0 and text[start - 1] != "\n"
    ]
    return _parted(text, cuts) if cuts else text


def _part_sentence(match: re.Match[str]) -> str:
    at = match.start()
    glued = at > 0 and "a" <= match.string[at - 1] <= "z"
    return match.group() + " " if glued else match.group()


def unglue_lists(text: str) -> str:
    """``text`` with each glued list item on a line of its own (bullets and numbered items),
    and a line glued onto a code span, a question, an exclamation or a word (an opener of the
    agent's narration, ``_GLUED_OPENER``) parted from it."""
    if "`" in text:
        text = _unglue_spans(text)
    if "- " in text:
        text = _unglue_bullets(text)
    if "!" in text or "?" in text:
        text = _GLUED_SENTENCE.sub(_part_sentence, text)
    if "1. " in text:  # a numbered list may start here (the common case: a quick no)
        text = _unglue_numbers(text)
    if "I" in text or "L" in text or "N" in text:
        text = _unglue_openers(text)
    return text


def _unglue_openers(text: str) -> str:
    """A line break before each of the agent's sentence openers glued onto a word
    (``_GLUED_OPENER``), outside code."""
    found = [match.start() for match in _GLUED_OPENER.finditer(text)]
    if not found:
        return text
    code = _Code(text)
    cuts = [at for at in found if not code.in_code(at)]
    return _parted(text, cuts) if cuts else text
