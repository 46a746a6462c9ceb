"""Whether a sentence of the agent's stands on its own as a digest line: a line that names
something says something of it (not only where it is), a finding says what it found, and a
lead-in whose list was left behind is closed at its last whole clause or is no line.

Split from :mod:`memcore.digest_prose`, which scores the sentences; the brief and plan lines of
:mod:`memcore.digest_asked` ask the same of theirs.
"""

from __future__ import annotations

from memcore.lazy_re import lazy_compile

#: A sentence that only says a finding exists ("I found the bug!", "The trace reveals the
#: problem."): the sentences after it say what it is, and alone it states nothing.
_FINDING_ONLY = lazy_compile(
    r"(?i)^[\w' ,]{0,40}\b(?:the|a|an|one|another)\s+(?:real\s+|actual\s+|root\s+)?"
    r"(?:bug|issue|problem|cause|culprit)\s*[.!]*$"
)
#: The most words a sentence of ``_FINDING_ONLY`` may have (the value these rules were
#: measured with: the constant of the same name in ``digest_prose`` had shadowed an 8 here).
_FINDING_ONLY_WORDS = 10
#: A statement that work is done that names no work ("The fix is complete.", "All changes are
#: complete.", "All test modifications verified."): the lines about that work say it.
_DONE_ONLY = lazy_compile(
    r"(?i)^(?:the|all|all the|everything|my|our|this|these|both)?\s*(?:\w+\s+)?"
    r"(?:fix|fixes|change|changes|implementation|work|task|tasks|refactor|refactoring|update|"
    r"updates|modifications|edits)\s+(?:is|are|has been|have been|was|were)?\s*(?:now\s+)?"
    r"(?:complete|completed|done|finished|in place|verified|ready)\s*[.!]*$"
)
#: A statement that a tool did what it was asked, naming nothing ("The file was modified.",
#: "Both edits were applied successfully.", "The command completed successfully."): the
#: tool's own records say which file, edit or command; the line adds nothing to them.
_APPLIED_ONLY = lazy_compile(
    r"(?i)^(?:the|all|all the|both|these|my|our)?\s*(?:\w+\s+)?(?:file|files|edit|edits|"
    r"change|changes|command|commands|write|writes|update|updates)\s+(?:was|were|has been|"
    r"have been|got)?\s*(?:now\s+)?(?:modified|applied|made|saved|written|updated|completed|"
    r"executed|run|ran|succeeded|went through)(?:\s+(?:successfully|correctly|fine|cleanly|"
    r"as expected))?\s*[.!]*$"
)
#: A line that names something must say something of it: at least this many words outside its
#: code spans and asides ("`import random` (1 line)", a nested list item of a worked example,
#: says nothing on its own).
_MIN_WORDS_BESIDE_NAMES = 1
_ASIDE = lazy_compile(r"\([^()]*\)")
#: Labels that only say where what follows is ("File: `a.go`"): no words of a statement.
_LABELS = frozenset(["file", "files", "path", "paths", "location", "source", "see", "ref", "link"])
#: Words beside names that only say where they are or join them: "and", "lines 373-419" (a
#: dash is not one: "`a.go:329` - `T.CreatedAt`" says where a name is defined).
_LOCATOR_INITIALS = frozenset("aAoOlL&,;0123456789")
#: What a line of places opens with: a code span, an aside, a locator or a label.
_PLACES_INITIALS = _LOCATOR_INITIALS | frozenset("`()-fFpPsSrR")
_LOCATOR_WORD = lazy_compile(r"(?i:and|or|&|[,;]|lines?|L?\d+(?:[-\u2013:]L?\d+)?)[,;.]?")
#: A place in a file: a path with an extension or a folder, maybe a line or a range.
_FILE_PLACE = lazy_compile(r"[\w./~-]*(?:/[\w.-]+|\.[A-Za-z]\w{0,9})(?::\d+(?:-\d+)?)?")
_FINDING_NOUNS = ("bug", "issue", "problem", "cause", "culprit")


#: The agent saying it now sees or knows what it looked at, naming nothing ("I can see the
#: structure.", "Now I have a clear picture.", "I now have comprehensive research findings.",
#: "Now I have all the information I need."): what it saw is in the lines after it, if anywhere.
_SEEN_ONLY = lazy_compile(
    r"(?i)^(?:now,?\s+|ok(?:ay)?,?\s+|good,?\s+|great,?\s+)?i\s+(?:can\s+)?(?:now\s+)?"
    r"(?:see|understand|get|have|know)\s+(?:the|a|an|all\s+the|enough)?\s*(?:full\s+|whole\s+|"
    r"complete\s+|clear\s+|clearer\s+|better\s+|good\s+|comprehensive\s+|thorough\s+|"
    r"detailed\s+|sufficient\s+)?(?:research\s+)?(?:structure|code|file|files|flow|"
    r"layout|picture|context|codebase|situation|setup|pattern|overview|idea|understanding|"
    r"findings|information|info|details|data)(?:\s+of\s+(?:everything|it|this|that|the\s+\w+))?"
    r"(?:\s+(?:i|we)\s+need(?:ed)?)?(?:\s+now)?\s*[.!]*$"
)

#: The agent saying it sees or looks at one named thing, and nothing of it ("I can see the
#: `checkConcurrentSessions()` function.", "Looking at the `Session` struct."): where it
#: looked, which the tool's own record says.
_SEEN_NAMED = lazy_compile(
    r"(?i)^(?:now,?\s+|ok(?:ay)?,?\s+|good,?\s+)?(?:i\s+(?:can\s+)?(?:now\s+)?(?:see|found)"
    r"|looking\s+at|let\s+me\s+look\s+at)\s+(?:the\s+)?`[^`]+`(?:\s+(?:function|method|file|"
    r"struct|class|type|interface|code|definition|implementation|module|constant|variable|"
    r"field|hook|command|package))?\s*[.!]*$"
)
#: What every line ``_SEEN_NAMED`` takes opens with (lowercased, after a first "now, "...).
_SEEN_NAMED_HINTS = ("i ", "looking ", "let me ", "now", "ok", "good")

#: A line that only says something became plain ("The issue is clear.", "Now it's clear."):
#: what was clear is in the lines after it.
_CLEAR_ONLY = lazy_compile(
    r"(?i)^(?:now,?\s+|ok(?:ay)?,?\s+|good,?\s+)?(?:(?:the|this|that)\s+(?:issue|problem|"
    r"error|bug|cause|picture|situation|fix|solution|answer)\s+is|it\s+is|it's|that's|this\s+is)"
    r"\s+(?:now\s+)?(?:clear|obvious|straightforward|simple)(?:\s+and\s+(?:correct|clean|"
    r"minimal|safe))?(?:\s+now)?\s*[.!]*$"
)

#: The agent saying it is ready ("Ready for your next instructions.", "Ready to proceed with
#: UAT testing."): nothing done, nothing found (a reply that ends waiting for the user's go is
#: said as open: ``digest_open``). The work's own readiness ("Ready to merge.", "Ready for
#: review.") is a verdict, and stays.
_READY_ONLY = lazy_compile(
    r"(?i)(?:(?:all set|done|ok(?:ay)?|great)[,.!]?\s+)?(?:i'm\s+|i am\s+|we're\s+|we are\s+)?"
    r"(?:all\s+)?ready\s+(?:for|to)\b(?!\s+(?:be\s+)?(?:merge|ship|deploy|release|land|review|"
    r"publish|commit|push))[^`]*"
)
#: A caption of what the agent is busy with ("Setting up the environment variables...", a
#: thinking step's): nothing done yet, nothing found.
_CAPTION = lazy_compile(r"[A-Z][a-z]+ing\b[^.!?:`]*(?:\.\.\.|\u2026)")


def _says_nothing(said: str) -> bool:
    """Whether a short line naming nothing only says work is done, a tool did what it was
    asked, something was seen or became clear, the agent is ready, or what it is busy with
    (each pattern tried only where its words can be: most lines are none of these)."""
    if _DONE_ONLY.match(said) or _SEEN_ONLY.match(said) or _APPLIED_ONLY.match(said):
        return True
    if said.endswith(("...", "\u2026")) and _CAPTION.fullmatch(said):
        return True
    lowered = said.lower()
    return ("eady" in lowered and _READY_ONLY.fullmatch(said) is not None) or (
        any(word in lowered for word in _CLEAR_WORDS) and _CLEAR_ONLY.match(said) is not None
    )


#: The words every line ``_CLEAR_ONLY`` takes holds one of.
_CLEAR_WORDS = ("clear", "obvious", "straightforward", "simple")


#: A line that is only a quoted text ('"✓ Settings saved to settings.json"'), a list's option
#: or example, or one word's quoted description ('test-doc: "Use this agent when ..."', an
#: agent's thinking over the tools it was shown): it states nothing of it.
_QUOTES = frozenset('"\u201c')
_QUOTE_ONLY = lazy_compile(r'(?:"[^"]*"|\u201c[^\u201d]*\u201d)[.,;]?')
_QUOTE_ENDS = frozenset('"\u201d.,;')
_LABELLED_QUOTE = lazy_compile(r'[\w.-]{1,40}: +(?:"[^"]*"|\u201c[^\u201d]*\u201d)[.,;]?')


def _may_be_finding(said: str) -> bool:
    """Whether ``said`` ends as ``_FINDING_ONLY`` needs (a noun, spaces, marks): a test first,
    cheaper than the pattern; a text that is not all ASCII is left to the pattern (its case
    folding takes some other letters for ASCII ones)."""
    if not said.isascii():
        return True
    end = said[:-1] if said.endswith("\n") else said  # (``$`` also matches before one)
    return end.rstrip(".!").rstrip().lower().endswith(_FINDING_NOUNS)


#: A lead-in that only points at what follows it ("Here's what was fixed:", "It looks like
#: this:"): without what follows, nothing is left.
_POINTER_LEAD = lazy_compile(
    r"(?i)^(?:here(?:'s|\s+is|\s+are)|below)\b"
    r"|\b(?:like\s+(?:this|that)|as\s+follows|the\s+following|below|these|following):$"
)
#: Words a lead-in ends on that promise what follows ("Updated `f` to:"): left out with its
#: colon when the lead-in is said alone ("Updated `f`.").
_LEAD_TAIL = frozenset(
    [
        "which",
        "because",
        "since",
        "when",
        "where",
        "whenever",
        "while",
        "if",
        "so",
        "that",
        "to",
        "does",
        "do",
        "did",
        "is",
        "are",
        "was",
        "were",
        "include",
        "includes",
        "including",
        "and",
        "or",
        "but",
        "yet",
        "as",
        "by",
        "with",
        "for",
        "of",
        "in",
        "at",
        "on",
        "from",
        "into",
        "via",
        "using",
        "like",
        "shows",
        "show",
    ]
)
_MIN_LEAD_WORDS = 3
#: Prepositions whose gerund at a lead-in's end ("blocking fixed by setting:", "cleaned up
#: after renaming:") waited for its object in the list: dropped with it.
_GERUND_PREPOSITIONS = frozenset(["by", "after", "before", "for", "from", "without", "via"])
#: Last words of a lead-in (its list or block left behind, its promising words dropped) that
#: leave a clause open: an auxiliary or a verb still waiting for what the list said ("it could
#: be", "session `x` has"), or a question word ("check what `f` (does)").
_OPEN_ENDS = frozenset(
    [
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "could",
        "would",
        "should",
        "might",
        "may",
        "must",
        "will",
        "can",
        "shall",
        "what",
        "how",
        "why",
        "whether",
    ]
)
#: Words that open the clause whose object was the list: a relative ("`f` which adds:") ends a
#: clause the line keeps without it; a subject ("..., it now describes:") one it drops.
_RELATIVES = frozenset(["which", "that", "who"])
_SUBJECTS = frozenset(["it", "this", "they", "he", "she", "we", "you", "i"])
_CLAUSE_OPENERS = _RELATIVES | _SUBJECTS
#: A question whose answer was the list ("Let me check what `f` does:"): nothing is left.
_ASKING = frozenset(["what", "how", "why", "whether", "where"])
#: A sentence opening with one of these is a subordinate clause: alone it states nothing.
_SUBORDINATE = frozenset(
    ["if", "when", "while", "since", "because", "although", "though", "once", "unless"]
)
#: Words that may open such a clause ("Now when ...", "So if ...").
_LEAD_ADVERBS = frozenset(["now", "so", "then", "and", "but", "also"])
#: Words a lead-in ends on that gave the reason its list held ("it's likely because:"), and the
#: hedges that say nothing without that reason.
_BECAUSE = frozenset(["because", "since", "as"])
_HEDGES = frozenset(["likely", "unlikely", "probably", "possibly", "maybe", "perhaps"])
#: Of those, the ones whose list was the rest of the sentence: without it nothing is stated.
_PREDICATE = frozenset(
    ["is", "are", "was", "were", "include", "includes", "including", "like", "shows", "show"]
)


def says_of_names(said: str) -> bool:
    """Whether a line that names something has words of its own beside the names (outside its
    code spans, its asides and a list mark)."""
    pieces = said.split("`")  # code spans are the odd pieces (a last one unclosed is outside)
    outside = " ".join(pieces[0::2] if len(pieces) % 2 else [*pieces[0::2], pieces[-1]])
    if "(" in outside:
        outside = _ASIDE.sub(" ", outside)
    words = _said_words(outside.split(), said)
    if len(words) < _MIN_WORDS_BESIDE_NAMES:
        return False
    # (where the name is, "`a.go`, lines 3-9", says nothing of it)
    return not all(map(_is_locator, words))


def _said_words(words: list[str], said: str) -> list[str]:
    """``words`` (those of ``said`` outside its names) without its list mark and a label that
    only says where ("File: `a/b.json` (lines 7-12)": where, not what); a dash between two
    names is a word."""
    if words[:1] == ["-"] and said.startswith("-"):
        words = words[1:]
    if words and words[0].endswith(":") and words[0][:-1].lower() in _LABELS:
        words = words[1:]
    return words


def says_of_its_names(said: str, names: int) -> bool:
    """Whether a line naming ``names`` things (one or more) says something of them: one name
    needs a word of its own beside it (:func:`says_of_names`), and more than that the agent
    sees it; several need more than the places they are at (:func:`only_locations`)."""
    if names == 1:
        return says_of_names(said) and not _seen_named(said)
    return not only_locations(said)


def _seen_named(said: str) -> bool:
    """Whether ``said`` only says the agent sees or looks at one named thing
    (``_SEEN_NAMED``), tried only on a line opening as those do."""
    return said.lower().startswith(_SEEN_NAMED_HINTS) and _SEEN_NAMED.match(said) is not None


def _opening(said: str) -> str:
    """The first character of ``said`` past a list mark ("" when there is none)."""
    return said[2:3] if said[:2] == "- " else said[:1]


def only_locations(said: str) -> bool:
    """Whether a line names only places in files and joins them ("`a.go:69-79` and
    `b/c.go:377-387`"): it says nothing of them. A name beside its place ("`TestX`
    (`x_test.go:186-309`)", "`a.go:329` - `T.CreatedAt`") says where that name is."""
    if _opening(said) not in _PLACES_INITIALS:
        return False  # (most lines open on a word that says something: no more is read)
    pieces = said.split("`")
    if len(pieces) % 2 == 0 or len(pieces) < 3:  # (a code span left open, or none)
        return False
    words = " ".join(pieces[0::2]).replace("(", " ").replace(")", " ").split()
    if not all(map(_is_locator, _said_words(words, said))):
        return False
    return all(_FILE_PLACE.fullmatch(span) for span in pieces[1::2])


def _is_locator(word: str) -> bool:
    """Whether ``word`` only says where names are or joins them (``_LOCATOR_WORD``); its first
    character rules most words out before the pattern is tried."""
    return word[0] in _LOCATOR_INITIALS and _LOCATOR_WORD.fullmatch(word) is not None


def standalone(said: str, names: int) -> str | None:
    """``said`` as a line that stands on its own, or None when it would state nothing: a
    finding it does not name, or a lead-in that only points at what follows. A lead-in whose
    list or block was left behind ends at its last word that does not promise that list, with
    a full stop ("Updated `f` in `g.go` to:" -> "Updated `f` in `g.go`.")."""
    if (
        not names
        and len(said.split()) <= _FINDING_ONLY_WORDS
        and _may_be_finding(said)
        and _FINDING_ONLY.match(said)
    ):
        return None
    if names and not says_of_its_names(said, names):
        return None
    if not names and len(said) <= 60 and _says_nothing(said):
        return None
    if said[:1] in _QUOTES and _QUOTE_ONLY.fullmatch(said):
        return None  # (a quoted text alone, an option's message: what it is for is elsewhere)
    if said[-1:] in _QUOTE_ENDS and _LABELLED_QUOTE.fullmatch(said):
        return None
    if not said.endswith(":") or said.count("`") % 2:  # (a colon inside a code span cut short)
        return said
    if _POINTER_LEAD.search(said):
        return None
    words = said[:-1].split()
    dropped: list[str] = []
    while words:
        last = words[-1].lower().strip(",;")
        if last in _LEAD_TAIL:
            dropped.append(words.pop().lower().strip(",;"))
        elif len(words) > 1 and last.endswith("ing") and words[-2] in _GERUND_PREPOSITIONS:
            dropped.extend([words.pop().lower(), words.pop()])
        else:
            break
    if len(words) < _MIN_LEAD_WORDS or _PREDICATE.intersection(dropped):
        return None  # ("The changes are:", "It now shows:": a subject whose predicate was the list)
    opening = 1 if len(words) > 1 and words[0].lower().strip(",") in _LEAD_ADVERBS else 0
    if words[opening].lower() in _SUBORDINATE and not any(w.endswith(",") for w in words[1:]):
        return None  # ("When `f()` is called:", "Now when running `x`:": a clause whose main
        # clause was the list)
    if _BECAUSE.intersection(dropped) and words[-1].lower().strip(",;") in _HEDGES:
        return None  # ("..., it's likely because:": what is likely was the list)
    closed = _closed(words, asked=bool(dropped))
    if closed is None:
        return None
    return " ".join(closed).rstrip(",;") + "."


def _closed(words: list[str], *, asked: bool) -> list[str] | None:
    """A lead-in's words without the clause its list completed: "X uses `f` which adds" ->
    "X uses `f`", "Rewrote `a.md` - it now describes" -> "Rewrote `a.md`"; None when nothing
    whole is left ("it could be", "session `x` has", "check what `f` (does)", a clause opening
    with "if")."""
    tail = [w.lower().strip(",;") for w in words[-3:]]
    if asked and _ASKING.intersection(tail):
        return None  # the question's verb was dropped: its answer was the list
    last = tail[-1]
    if last in _SUBJECTS and len(words) > 1 and words[-2].endswith(","):
        return None  # ("when `f` is called, it": the subject of a clause the list said)
    open_end = last in _OPEN_ENDS or (
        last.endswith("s") and not _CLAUSE_OPENERS.isdisjoint(tail[:-1])
    )
    if not open_end:
        return words
    for at in range(len(words) - 1, max(len(words) - 5, 0) - 1, -1):
        word = words[at].lower().strip(",;")
        if word in _CLAUSE_OPENERS:
            kept = words[:at]
            while kept and kept[-1] in ("-", "\u2014", "\u2013", "--"):
                kept.pop()
            if len(kept) < _MIN_LEAD_WORDS or kept[0].lower() in _SUBORDINATE:
                return None
            return kept
    return None


__all__ = ["only_locations", "says_of_its_names", "says_of_names", "standalone"]
