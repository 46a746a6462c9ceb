"""What the agent said that states nothing settled: its thinking's guesses, plans and questions
(``UNSETTLED``), its guesses in words to the user (``GUESSING``), its announcements of a next
step (``ANNOUNCING``), the user's request said over (``RESTATED_REQUEST``), and a review's fix
put forward rather than made (``as_proposal``). Said in a digest, each would read as what was
found or done; a conversation's bare title (``is_bare_title``) states nothing either. Each
pattern has a cheap test of hints before its search (most sentences hold none); property tests
hold the two equal. Part of :mod:`memcore.digest_prose`.
"""

from __future__ import annotations

import re

from memcore.lazy_re import lazy_compile

#: A sentence of the agent's thinking that is not a finding: a guess ("The issue might be
#: ...", "that's likely the issue", "The delay must be in `Close()`"), the agent's plan ("I'll
#: add ...", "I need to read ..."), the user's request said over ("The user wants me to ..."),
#: or a question. Thinking is provisional: said in a digest, such sentences read as what was
#: found or decided, and the theory a later turn dropped as one held.
_RESTATED_BODY = (
    r"(?:(?:so|but|ok(?:ay)?),? )*the user(?:'s)? (?:wants|is asking|asks|asked|would like"
    r"|needs|said|says|is saying|mentioned|request|is reporting|reports)"
)
_RESTATED = f"^{_RESTATED_BODY}"
#: The opening of a plan ("I'll add", "So we need to"), not of what the agent sees now; in
#: Chinese (after "so", "now", "next", "first", "then"): I / we need to, should, must, am going
#: to, plan to ("我需要", "我们应该", "我得", "我要", "我打算", "我准备").
_PLANNING = (
    r"(?:(?:so|but|and|now|ok(?:ay)?|then|also|first|next),? )*(?:i|we)(?:'ll| will|'d| would"
    r"| need| should| must| have to| want|'m going| am going| can| could)\b"
    r"(?! (?:now )?(?:see|tell|confirm|verify)\b)"
    r"|(?:\u6240\u4ee5|\u73b0\u5728|\u63a5\u4e0b\u6765|\u9996\u5148|\u7136\u540e)?[\uff0c,]? ?"
    r"\u6211\u4eec?(?:\u9700\u8981|\u5e94\u8be5|\u5fc5\u987b|\u5f97(?!\u5230)|\u8981|\u6253\u7b97"
    r"|\u51c6\u5907)"
)
#: A guess's words in Chinese, Japanese and Korean (``GUESSING``, and thinking's ``_HEDGE``):
#: found anywhere in a run of letters.
_WIDE_GUESSES = (
    "\u53ef\u80fd\u662f",
    "\u4e5f\u8bb8",
    "\u5927\u6982",
    "\u4f3c\u4e4e",
    "\u6050\u6015",
    "\u304b\u3082\u3057\u308c\u307e\u305b\u3093",
    "\u304a\u305d\u3089\u304f",
    "\u305f\u3076\u3093",
    "\uac83 \uac19\uc2b5\ub2c8\ub2e4",
)
#: A plan's words in Japanese and Korean thinking, where the verb comes last: need to, let's,
#: I'll try, I'll check, I'll look (必要があります, しましょう, してみます, 確認します, 見てみます);
#: I will, I must, I'll try (하겠습니다, 해야 합니다, 보겠습니다). Found anywhere, as a guess is.
_WIDE_PLANS = (
    "\u5fc5\u8981\u304c\u3042\u308a\u307e\u3059",
    "\u3057\u307e\u3057\u3087\u3046",
    "\u3057\u3066\u307f\u307e\u3059",
    "\u78ba\u8a8d\u3057\u307e\u3059",
    "\u898b\u3066\u307f\u307e\u3059",
    "\ud558\uaca0\uc2b5\ub2c8\ub2e4",
    "\ud574\uc57c \ud569\ub2c8\ub2e4",
    "\ubcf4\uaca0\uc2b5\ub2c8\ub2e4",
)
#: (in thinking, anything it "should" or "would" be or do is expected, not seen: "So
#: `resolveDirs` with an absolute path should work fine", "the `entireSessionID` would be
#: `2026-01-22-abc123`")
_HEDGE = (
    r"\b(?:might|maybe|perhaps|probably|possibly|presumably|i think|i suspect|i guess"
    r"|i wonder|not sure|could be|(?:un)?likely|must (?:be|have)|should|would"
    r"|seems? to|appears? to)\b" + "|" + "|".join((*_WIDE_GUESSES, *_WIDE_PLANS))
)
UNSETTLED = lazy_compile(rf"(?i)(?:[?\uff1f][\s\"'`)*]*$|^(?:{_PLANNING})|{_RESTATED}|{_HEDGE})")
#: ``UNSETTLED``'s parts that :func:`unsettled` tests apart: the anchored openings (matched at
#: the start only) and the hedges (searched only where a hint of one is).
_OPENING = lazy_compile(rf"(?i)(?:{_PLANNING})|{_RESTATED_BODY}")
_HEDGING = lazy_compile(rf"(?i){_HEDGE}")
#: A guess in the agent's words to the user ("that's likely the issue", "The delay must be in
#: `Close()`", "I suspect `f` ..."): provisional as thinking is.
#: (with the same in Chinese, Japanese and Korean, ``_WIDE_GUESSES``)
GUESSING = lazy_compile(
    r"(?i)\b(?:might be|maybe|perhaps|probably|possibly|presumably|i think|i suspect|i guess"
    r"|not sure|could be|(?:un)?likely|must be"
    # what the agent expects of a change ("The `_, _ =` pattern should already satisfy
    # errcheck", "That should fix it"), and how things look ("It looks like `gofmt` removed
    # the comment", "`f` seems to return early"): the records after it say whether it held
    r"|should (?:already |now |still |also )?(?:work|fix|satisfy|pass|resolve|handle|be fine"
    r"|be good|be ok(?:ay)?|be enough|be safe)|seems? (?:to|like)|appears? to|looks? like)\b"
    + "|"
    + "|".join(_WIDE_GUESSES)
)
#: What every sentence ``GUESSING`` finds holds (lowercased), tested before its search.
#: (the wide ones apart: no sentence in ASCII holds them, and most sentences are)
_GUESSING_HINTS = (
    "might be", "maybe", "perhaps", "probabl", "possibl", "presumabl", "i think", "i suspect",
    "i guess", "not sure", "could be", "likely", "must be", "should", "seem", "appear",
    "look",
)  # fmt: skip


#: Letters outside ASCII that a case-blind pattern takes for ASCII ones (dotless and dotted i,
#: long s, the Kelvin sign), which lowercasing does not make them: where one is, the hints
#: could miss a hedge the pattern finds.
FOLDED_TO_ASCII = ("\u0131", "\u0130", "\u017f", "\u212a")


def hinted(sentence: str, hints: tuple[str, ...], wide: tuple[str, ...] = ()) -> bool:
    """One of ``hints`` or of the ``wide`` hints (those outside ASCII) is in ``sentence``
    lowercased (or a letter that makes hints unsure). The wide ones are looked for only in a
    sentence outside ASCII: no other holds them."""
    lowered = sentence.lower()
    for hint in hints:  # (a plain loop: three times as fast as ``any`` over a generator)
        if hint in lowered:
            return True
    if sentence.isascii():
        return False
    for hint in wide:
        if hint in lowered:
            return True
    return any(c in sentence for c in FOLDED_TO_ASCII)


def _found_at_hints(pattern: re.Pattern[str], sentence: str, hints: tuple[str, ...]) -> bool:
    """``pattern.search(sentence)`` for a sentence in ASCII, of a pattern each of whose matches
    opens where one of ``hints`` is in the lowercased sentence, or two letters before "likely"
    ("unlikely"): tried only there (a case-blind search of a long alternation at every place
    of a sentence cost about 6 us; ``match`` at a place reads its word boundary as ``search``
    does, from the letter before it)."""
    lowered = sentence.lower()
    for hint in hints:
        at = lowered.find(hint)
        while at >= 0:
            if pattern.match(sentence, at) is not None:
                return True
            if hint == "likely" and at >= 2 and pattern.match(sentence, at - 2) is not None:
                return True
            at = lowered.find(hint, at + 1)
    return False


def guessing(sentence: str) -> bool:
    """``GUESSING.search(sentence)``, searched only where a hint of it is; or what is
    expected if something holds (:data:`EXPECTED_IF`)."""
    if sentence[:2].lower() in ("if", "on", "un", "as") and EXPECTED_IF.match(sentence):
        return True
    if sentence.isascii():
        return _found_at_hints(GUESSING, sentence, _GUESSING_HINTS)
    return (
        hinted(sentence, _GUESSING_HINTS, _WIDE_GUESSES) and GUESSING.search(sentence) is not None
    )


#: What the agent expects if something holds ("If resumption works, Claude should have the
#: context"): an expectation, not a result (the records after it say whether it held).
EXPECTED_IF = lazy_compile(r"(?i)^(?:if|unless|once|assuming)\b[^.!?]*\bshould\b")


#: The agent announcing its next step ("Now let me run these tests", "I'll start by adding
#: ...", "Let me check `f`"): narration, said as what was done only when an edit made it
#: (:mod:`memcore.digest_done`).
ANNOUNCING = lazy_compile(
    r"(?i)^(?:(?:now|next|first|then|ok(?:ay)?|great|good|perfect),?\s+)*(?:let me|let's|i'll|"
    r"i will|i'm going to|i am going to)\b"
    # in Chinese: (now, next, first, then) let me / I'll / I'll first / I will
    r"|^(?:\u73b0\u5728|\u63a5\u4e0b\u6765|\u9996\u5148|\u7136\u540e)?[\uff0c,]?\s*"
    r"(?:\u8ba9\u6211|\u6211\u6765|\u6211\u5148|\u6211\u5c06|\u6211\u4f1a)"
    # in Spanish, Portuguese, German, French and Italian: I'm going to, let's, let me, I will
    r"|^(?:voy a|vamos a|d[e\u00e9]jame|vou|deixe-me|deixa eu|ich werde|lass mich"
    r"|lassen sie mich|je vais|laisse-moi|laissez-moi|vado a|lasciami)\b"
)
#: What every sentence ``UNSETTLED``'s hedges find holds (lowercased): most sentences hold
#: none, and a test of these is 10-20 times cheaper than the pattern's search.
_UNSETTLED_HINTS = (
    "might", "maybe", "perhaps", "probabl", "possibl", "presumabl", "i think", "i suspect",
    "i guess", "i wonder", "not sure", "could be", "likely", "must ", "should", "would", "seem",
    "appear",
)  # fmt: skip
_UNSETTLED_WIDE = (*_WIDE_GUESSES, *_WIDE_PLANS)
#: What closes a question after its mark (the ``UNSETTLED`` question's tail, with whitespace).
_QUESTION_TAIL = "\"'`)*"


def _asks(sentence: str) -> bool:
    """The sentence ends in a question mark (or a wide one, "？"), with only quotes, brackets
    and spaces after it."""
    end = len(sentence)
    while end and (sentence[end - 1].isspace() or sentence[end - 1] in _QUESTION_TAIL):
        end -= 1
    return end > 0 and sentence[end - 1] in "?\uff1f"


#: The letters ``_OPENING`` can start with (case-blind), and those it takes for them; the
#: Chinese opening's (so, now, next, first, then, I, a comma, a space).
_OPENING_INITIALS = frozenset(
    "sbantofiwSBANTOFIW" + "".join(FOLDED_TO_ASCII) + "\u6240\u73b0\u63a5\u9996\u7136\u6211\uff0c, "
)


def _may_open(sentence: str) -> bool:
    return sentence[:1] in _OPENING_INITIALS


def unsettled(sentence: str) -> bool:
    """``UNSETTLED.search(sentence)``, its parts tested apart: the question's end and the
    openings where they can only be, the hedges only where a hint of one is. (The whole
    pattern searched every sentence at every position: 3 ms of a 23 ms digest.)"""
    if _asks(sentence) or (_may_open(sentence) and _OPENING.match(sentence) is not None):
        return True
    if sentence.isascii():
        return _found_at_hints(_HEDGING, sentence, _UNSETTLED_HINTS)
    return (
        hinted(sentence, _UNSETTLED_HINTS, _UNSETTLED_WIDE)
        and _HEDGING.search(sentence) is not None
    )


#: A sentence of the agent's that says the user's request over ("The user wants me to ..."):
#: what was asked, which the request's own line says, not where the work stood.
RESTATED_REQUEST = lazy_compile(rf"(?i){_RESTATED}")


#: "Fix: Add a global commit limit." in a review's findings puts a fix forward, in the
#: imperative; "Fix: Added symlink detection" tells one made. Said alone, the first reads as
#: done: it is said as "Proposed fix: ...".
_FIX_LABEL = lazy_compile(r"^(?:[Ff]ix|[Ss]olution|[Rr]emedy)\s*:\s+([A-Z][a-z]+)\b")
_FIX_LABEL_INITIALS = frozenset("FfSsRr")  # (what it can open with: most lines are passed over)
#: First words after such a label that open a statement, not an instruction.
_NOT_IMPERATIVE = frozenset(
    ["the", "this", "that", "these", "it", "we", "i", "now", "a", "an", "both", "all", "each"]
)


def as_proposal(said: str) -> str:
    """``said`` with its "Fix:" label made "Proposed fix:" when the fix is in the imperative
    (see ``_FIX_LABEL``); ``said`` itself otherwise."""
    found = _FIX_LABEL.match(said) if said[:1] in _FIX_LABEL_INITIALS else None
    if found is None:
        return said
    word = found.group(1).lower()
    if word.endswith(("ed", "ing")) or word in _NOT_IMPERATIVE:
        return said
    return f"Proposed fix: {said[found.start(1) :]}"


#: A summary this short, on one line and with no end mark, is a conversation's title (Claude
#: Code's ``summary`` record of a conversation whose messages are in another file).
_TITLE_WORDS = 10


def is_bare_title(text: str) -> bool:
    """Whether ``text`` is a title: one line of a few words, no sentence's end mark."""
    stripped = text.strip()
    return (
        "\n" not in stripped
        and len(stripped.split()) <= _TITLE_WORDS
        and stripped[-1:] not in (".", "!", "?", ":")
    )


__all__ = [
    "ANNOUNCING",
    "FOLDED_TO_ASCII",
    "GUESSING",
    "RESTATED_REQUEST",
    "UNSETTLED",
    "as_proposal",
    "guessing",
    "hinted",
    "is_bare_title",
    "unsettled",
]
