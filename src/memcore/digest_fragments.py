"""List items that state nothing alone, said under the lead-in of their list. An agent's lists
often read

    I have two lint issues to fix:

    1. `appendAssign` - appending to a different slice
    2. `noctx` - using `exec.Command` instead of `exec.CommandContext`

where each item is a fragment: a name and a gloss, a noun phrase ("Main's new tests (`f`,
`g`)"), a rename ("typegen() -> codegen()"), with no verb. Said alone, a digest line made of one
reads as a result nobody can place (lint findings? the plan? what was done?). Such items are
merged under the lead-in that opens their list, siblings together, into one statement: "I have
two lint issues to fix: `appendAssign` - appending to a different slice; `noctx` - using
`exec.Command` instead of `exec.CommandContext`" (:func:`fragment_lead`, :func:`merged`). An
item whose list opens with no lead-in that can be said (the agent announcing what it is about to
do, a bare "So:") gives way to the lines that state something (:data:`FRAGMENT_PENALTY`).
An item that names nothing, said with its list's plain lead-in
(:func:`memcore.digest_subject.lead_under`), joins its list's fragments on their line. Part of
:mod:`memcore.digest_prose`, which builds the lines.
"""

from __future__ import annotations

import functools

from memcore.digest_subject import SUBJECT_VERBS
from memcore.lazy_re import lazy_compile

#: What a fragment without a lead-in loses of its score: it is said only when the lines that
#: state something have had their chance (as much as a list of names loses).
FRAGMENT_PENALTY = 1.5
#: The most words of a merged line (its lead-in and its items): more items start another line
#: under the same lead-in.
MERGED_WORDS = 48
#: The most words of a lead-in said before its list's fragments.
_LEAD_WORDS = 14

#: Words that make a clause of the words around them: the verbs "to be", "to have", "to do",
#: the modals, and their contractions.
_CLAUSE_WORD_LIST = """is are was were be been being am has have had do does did can could will
    would should must may might shall isn't aren't wasn't weren't hasn't haven't hadn't doesn't
    don't didn't can't cannot couldn't won't wouldn't shouldn't mustn't it's that's there's
    here's what's who's he's she's let's"""
#: Verbs in the third person (beside ``SUBJECT_VERBS``) that an item's statement often has.
_MORE_VERB_LIST = """means needs says seems exists happens works goes comes becomes remains
    appears lacks expects depends belongs refers points describes explains provides represents
    wants knows tries fixes contains recommends retrieves confirms maps holds gives makes lets
    causes breaks loops iterates condenses lives owns"""
_CLAUSE_WORDS = frozenset(_CLAUSE_WORD_LIST.split()) | frozenset(_MORE_VERB_LIST.split())
#: Pronouns, each a clause's subject ("We store `x` in the state", "since they share `x`").
_PRONOUNS = frozenset(["i", "we", "you", "they", "he", "she", "it"])
#: The words that make a clause of an item: ``_CLAUSE_WORDS``, ``SUBJECT_VERBS``, pronouns.
_CLAUSE = _CLAUSE_WORDS | SUBJECT_VERBS | _PRONOUNS
#: What a word of a sentence may be wrapped in ("**x**", "x,", "x;").
_WRAPS = ".,;:!?\"'*<>"
#: Contractions that end a verb ("they're", "we've", "it'll", "doesn't").
_CONTRACTED = (
    "'re",
    "'ve",
    "'ll",
    "'d",
    "n't",
    "\u2019re",
    "\u2019ve",
    "\u2019ll",
    "\u2019d",
    "n\u2019t",
)


def is_fragment(sentence: str) -> bool:
    """Whether ``sentence``, a list item's, states nothing: no verb outside its code spans and
    asides ("`noctx` - using `exec.Command`", "Main's new tests (`f`, `g`)", "`--ours` =
    main's version"); not a lead-in of a list of its own (it ends with a colon). A walk over
    its words that stops at the first verb: it is asked of every list item that names
    something, and most state something."""
    if sentence[-1:] == ":":
        return False
    if sentence[:1] == "`" and _name_then_verb(sentence):
        return False
    quoted = False  # in a code span
    nested = 0  # in brackets
    first = True  # (no plain word yet)
    for token in sentence.split():
        ticks = token.count("`")
        if quoted or ticks:  # (a code span's piece, or a word holding one: a name)
            if ticks % 2 or not quoted:  # (and what it has outside the span: "(`f`)")
                nested = max(0, nested + token.count("(") - token.count(")"))
            if ticks % 2:
                quoted = not quoted
            continue
        opens = token.count("(")
        if nested or opens:  # (an aside, or a name called: "f()")
            nested = max(0, nested + opens - token.count(")"))
            continue
        word = token.strip(_WRAPS)
        lower = word.lower()
        if first and lower not in _DASH_TOKENS:
            # (names first, then what they are for: a phrase, no clause)
            if lower in _PREPOSITIONS and sentence[:1] == "`":
                return True
            first = False
        if lower in _CLAUSE:
            if word[1:].islower() or word == "I":  # (not a name: "Uses", "PR")
                return False
            continue
        if "-" in lower:  # ("re-checks", "auto-changed"; not "ETS-backed")
            if not word[1:].islower():
                continue
            word = word.rsplit("-", 1)[-1]
            lower = word.lower()
            if lower in _CLAUSE and word[1:].islower():
                return False
        if lower.endswith("ed"):  # ("added", "removed", "fixed"; not "markSessionEnded")
            if len(word) > 4 and word.isalpha() and word[1:].islower():
                return False
        elif ("'" in lower or "\u2019" in lower) and lower.endswith(_CONTRACTED):
            return False
    return True


#: What a list item's first plain word is when the item is a phrase, what its names are for
#: or about ("`hooks.go` - for hook integration points", "`detached.go` - for detached
#: subprocess pattern"): however the words after it read ("points", "detached"), no clause.
_PREPOSITIONS = frozenset(["for", "of", "with", "from", "about", "via", "per", "like"])
#: The marks between a name and its gloss.
_DASH_TOKENS = frozenset(["-", "\u2013", "\u2014", ":", "=", "->", "\u2192", "and", "or", ""])


def _name_then_verb(sentence: str) -> bool:
    """Whether the word after the code span ``sentence`` opens with is a verb in the third
    person ("`f` comes from ...", "`g` maps names"): a statement of that name."""
    close = sentence.find("`", 1)
    if close < 0:
        return False
    after = sentence[close + 1 : close + 24].lstrip()
    word = after.split(" ", 1)[0]
    return (
        len(word) > 2
        and word[-1] == "s"
        and word[-2] not in "su"
        and word.isalpha()
        and word.islower()
    )


#: Words the agent's narration opens a lead-in with ("So:", "OK, now I see:", "ugh all the
#: renames:"): left out of the lead-in said (nothing may be left).
_DISCOURSE_WORDS = """so ok okay now actually aha ah oh wait hmm ugh well great good perfect
    done also but and then first next right alright yes"""
_DISCOURSE = frozenset(_DISCOURSE_WORDS.split())
#: A lead-in that announces what the agent is about to do ("Let me add:", "I'll check:", "I
#: need to look at:"): its items are steps to come, not what is.
_ANNOUNCING_LEAD = lazy_compile(
    r"(?i)^(?:let me|let's|i'll|i will|i'm going to|i am going to|i need to|i want to|i should"
    r"|i'd|we need to|we should|we'll|we will|you'll|you can|you need|you should|to)\b"
)
#: Words that say nothing of a list by themselves: a lead-in of these alone ("Looking at:",
#: "Here are:", "These are the") points at its list and adds nothing to it.
_POINTING_WORDS = """looking checking reading seeing at in on of for to from with by into about
    the a an this that these those here there is are was were be"""
_POINTING = frozenset(_POINTING_WORDS.split())
#: A list item's mark with its indentation, and a gap between sentences.
_ITEM = lazy_compile(r"^(\s*)(?:[-*+\u2022]|\d{1,2}[.)])[ \t]+")
_SENTENCE_GAP = lazy_compile(r"(?<=[.!?])\s+(?=[A-Z])")


@functools.lru_cache(maxsize=1024)
def fragment_lead(opener: str) -> str | None:
    """The lead-in that the line ``opener`` says over its list's fragments: its last sentence
    (a line ending with a colon, or a heading), without the narration's opening words ("So,
    ..."), with a capital; None when nothing is left, it is too long, only points at its list,
    asks, announces what the agent is about to do, or holds a colon of its own or a code span
    cut short."""
    stripped = opener.strip()
    heading = stripped.startswith(("#", "**")) and _ITEM.match(opener) is None
    if not (stripped.endswith((":", ":**")) or heading):
        return None
    text = _ITEM.sub("", stripped.lstrip("#").strip().replace("**", "")).strip().rstrip(" :\t")
    text = _SENTENCE_GAP.split(text)[-1]
    words = text.split()
    said = len(words)
    while words and words[0].lower().strip(",;:!.-\u2014") in _DISCOURSE:
        words.pop(0)
    if len(words) > _LEAD_WORDS or all(w.lower().strip(",;") in _POINTING for w in words):
        return None  # (too long, or only points at its list: "Looking at:"; or nothing left)
    lead = " ".join(words).rstrip(" ,;:-\u2014")
    if not lead or "?" in lead or ":" in lead or lead.count("`") % 2:
        return None
    if _ANNOUNCING_LEAD.match(lead) is not None:
        return None
    return lead if len(words) == said else lead[0].upper() + lead[1:]  # ("ugh, all the ...")


def _as_item(sentence: str) -> str:
    """``sentence`` as one of a merged line's items: without its closing mark, unless that ends
    an abbreviation ("etc."); its first letter kept ("Claude Code hooks", "PR #2" are names)."""
    if sentence.endswith(("etc.", "e.g.", "i.e.")):
        return sentence
    return sentence.rstrip(" .;,")


def merged(lead: str, items: list[str]) -> list[tuple[int, int, str]]:
    """The lines that say ``items`` (a list's fragments, in order) under ``lead``, siblings
    joined by semicolons: "Lead: a; b; c", a new line under the same lead-in when one would
    pass :data:`MERGED_WORDS`; each with the span of ``items`` it says (first, past the last)."""
    out: list[tuple[int, int, str]] = []
    said: list[str] = []
    start = 0
    words = len(lead.split())
    for at, sentence in enumerate(items):
        item = _as_item(sentence)
        size = len(item.split())
        if said and words + size > MERGED_WORDS:
            out.append((start, at, f"{lead}: {'; '.join(said)}"))
            said, start, words = [], at, len(lead.split())
        said.append(item)
        words += size
    if said:
        out.append((start, len(items), f"{lead}: {'; '.join(said)}"))
    return out


__all__ = ["FRAGMENT_PENALTY", "MERGED_WORDS", "fragment_lead", "is_fragment", "merged"]
