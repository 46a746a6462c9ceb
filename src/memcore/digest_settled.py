"""What the agent said that states nothing settled: its thinking's guesses, plans and questions
(``UNSETTLED``), its guesses in words to the user (``GUESSING``), its announcements of a next
step (``ANNOUNCING``), the user's request said over (``RESTATED_REQUEST``), and a review's fix
put forward rather than made (``as_proposal``). Said in a digest, each would read as what was
found or done. Each pattern has a cheap test of hints before its search (most sentences hold
none); property tests hold the two equal. Part of :mod:`memcore.digest_prose`.
"""

from __future__ import annotations

from memcore.lazy_re import lazy_compile

#: A sentence of the agent's thinking that is not a finding: a guess ("The issue might be
#: ...", "that's likely the issue", "The delay must be in `Close()`"), the agent's plan ("I'll
#: add ...", "I need to read ..."), the user's request said over ("The user wants me to ..."),
#: or a question. Thinking is provisional: said in a digest, such sentences read as what was
#: found or decided, and the theory a later turn dropped as one held.
_RESTATED = (
    r"^(?:(?:so|but|ok(?:ay)?),? )*the user(?:'s)? (?:wants|is asking|asks|asked|would like"
    r"|needs|said|says|is saying|mentioned|request|is reporting|reports)"
)
UNSETTLED = lazy_compile(
    r"(?i)(?:\?[\s\"'`)*]*$"
    r"|^(?:(?:so|but|and|now|ok(?:ay)?|then|also|first|next),? )*(?:i|we)(?:'ll| will|'d| would"
    r"| need| should| must| have to| want|'m going| am going| can| could)\b"
    r"(?! (?:now )?(?:see|tell|confirm|verify)\b)"
    rf"|{_RESTATED}"
    r"|\b(?:might|maybe|perhaps|probably|possibly|presumably|i think|i suspect|i guess"
    r"|i wonder|not sure|could be|(?:un)?likely|must (?:be|have)|should (?:be|have)"
    r"|seems? to|appears? to)\b)"
)
#: A guess in the agent's words to the user ("that's likely the issue", "The delay must be in
#: `Close()`", "I suspect `f` ..."): provisional as thinking is.
GUESSING = lazy_compile(
    r"(?i)\b(?:might be|maybe|perhaps|probably|possibly|presumably|i think|i suspect|i guess"
    r"|not sure|could be|(?:un)?likely|must be)\b"
)
#: What every sentence ``GUESSING`` finds holds (lowercased), tested before its search.
_GUESSING_HINTS = (
    "might be", "maybe", "perhaps", "probabl", "possibl", "presumabl", "i think", "i suspect",
    "i guess", "not sure", "could be", "likely", "must be",
)  # fmt: skip


def guessing(sentence: str) -> bool:
    """``GUESSING.search(sentence)``, searched only when a hint of it is there."""
    lowered = sentence.lower()
    return any(hint in lowered for hint in _GUESSING_HINTS) and (
        GUESSING.search(sentence) is not None
    )


#: The agent announcing its next step ("Now let me run these tests", "I'll start by adding
#: ...", "Let me check `f`"): narration, said as what was done only when an edit made it
#: (:mod:`memcore.digest_done`).
ANNOUNCING = lazy_compile(
    r"(?i)^(?:(?:now|next|first|then|ok(?:ay)?|great|good|perfect),?\s+)*(?:let me|let's|i'll|"
    r"i will|i'm going to|i am going to)\b"
)
#: What every sentence ``UNSETTLED`` finds holds (lowercased): most sentences hold none, and
#: a test of these is 10-20 times cheaper than the pattern's search (a quarter of a digest's
#: statements time went to it).
_UNSETTLED_HINTS = (
    "might", "maybe", "perhaps", "probabl", "possibl", "presumabl", "i think", "i suspect",
    "i guess", "i wonder", "not sure", "could be", "likely", "must ", "should ", "seem",
    "appear",
)  # fmt: skip
#: First words of a sentence the pattern's opening alternatives may match ("I'll", "So we").
_UNSETTLED_FIRST = frozenset(
    ["i", "we", "so", "but", "and", "now", "ok", "okay", "then", "also", "first", "next", "the"]
)


def unsettled(sentence: str) -> bool:
    """``UNSETTLED.search(sentence)``, its search made only for a sentence that may match."""
    lowered = sentence.lower()
    first = lowered.split(None, 1)[0].rstrip(",") if lowered.strip() else ""
    if (
        "?" not in sentence
        and first not in _UNSETTLED_FIRST
        and not first.startswith(("i'", "we'"))
        and not any(hint in lowered for hint in _UNSETTLED_HINTS)
    ):
        return False
    return UNSETTLED.search(sentence) is not None


#: A sentence of the agent's that says the user's request over ("The user wants me to ..."):
#: what was asked, which the request's own line says, not where the work stood.
RESTATED_REQUEST = lazy_compile(rf"(?i){_RESTATED}")


#: "Fix: Add a global commit limit." in a review's findings puts a fix forward, in the
#: imperative; "Fix: Added symlink detection" tells one made. Said alone, the first reads as
#: done: it is said as "Proposed fix: ...".
_FIX_LABEL = lazy_compile(r"^(?:[Ff]ix|[Ss]olution|[Rr]emedy)\s*:\s+([A-Z][a-z]+)\b")
#: First words after such a label that open a statement, not an instruction.
_NOT_IMPERATIVE = frozenset(
    ["the", "this", "that", "these", "it", "we", "i", "now", "a", "an", "both", "all", "each"]
)


def as_proposal(said: str) -> str:
    """``said`` with its "Fix:" label made "Proposed fix:" when the fix is in the imperative
    (see ``_FIX_LABEL``); ``said`` itself otherwise."""
    found = _FIX_LABEL.match(said)
    if found is None:
        return said
    word = found.group(1).lower()
    if word.endswith(("ed", "ing")) or word in _NOT_IMPERATIVE:
        return said
    return f"Proposed fix: {said[found.start(1) :]}"


__all__ = [
    "ANNOUNCING",
    "GUESSING",
    "RESTATED_REQUEST",
    "UNSETTLED",
    "as_proposal",
    "guessing",
    "unsettled",
]
