"""The subject a list item leaves to the line above it. An agent's lists often go

    **1. `TestWriteTemporary_Deduplication`** (`checkpoint/checkpoint_test.go`)
    - Tests that the first checkpoint is created normally

where the item alone ("Tests that the first checkpoint is created normally") says what was done
but not by what: a digest line needs its subject back. :func:`with_subject` gives the item the
heading (or lead-in) that opens its list when that names something exact, as the subject of a
statement: "`TestWriteTemporary_Deduplication` (`checkpoint/checkpoint_test.go`): tests that
the first checkpoint is created normally". An item of a lead-in's list ("In `f()`:", "Fix:
replaced `paths` with export conditions:") is said with the lead-in it completes, whatever its
first word; the agent's narration ("I need to read `f` to understand:") is no subject.
"""

from __future__ import annotations

import functools

from memcore.lazy_re import lazy_compile

#: Verbs in the third person that open a list item whose subject is its list's heading. A list
#: of words, not a rule ("Tests", "Changes" and "Results" open plural nouns as often).
_VERB_WORDS = """accepts adds allows appends applies asserts avoids blocks builds caches calls
    catches checks cleans clears collects compares computes contains converts counts covers creates
    defines deletes detects displays does emits enables ensures exposes extracts fails falls
    fetches filters finds fires forwards generates gets handles ignores implements includes
    initializes injects invokes keeps lists loads logs looks marks matches merges moves
    normalizes opens outputs overrides parses passes persists populates prevents prints
    produces reads records registers removes renders replaces reports requires resets resolves
    restores retries returns reuses runs sanitizes saves sends serializes sets shows simulates
    skips sorts spawns splits starts stops stores strips supports takes throws tracks
    transforms triggers truncates updates uploads uses validates verifies waits walks warns
    wraps writes"""
SUBJECT_VERBS = frozenset(_VERB_WORDS.split())
#: "Tests" opens a statement only before these ("Tests that ...", "Tests the ..."): "Tests
#: expecting an error were failing" is about tests.
_TESTS_BEFORE = frozenset(["that", "the", "a", "an", "whether", "both", "each", "all", "for"])
#: First words of an agent's narration ("Actually, looking at `f`:", "I need to read `g` to
#: understand:"): what opens such a list is no subject of its items.
_NARRATION_WORDS = """i let actually looking now aha so here wait hmm ok okay but and then first
    next also found checking reading"""
_NARRATION = frozenset(_NARRATION_WORDS.split())
#: A list item's mark with its indentation.
_ITEM = lazy_compile(r"^(\s*)(?:[-*+\u2022]|\d{1,2}[.)])[ \t]+")
#: How far up a list's heading is looked for, and how long a subject may be.
_LOOK_BACK = 16
_SUBJECT_WORDS = 12


def opens_without_subject(sentence: str) -> bool:
    """Whether ``sentence`` starts with a verb whose subject it leaves out ("Returns `x`...")."""
    first, _, rest = sentence.partition(" ")
    word = first.lower()
    if word not in SUBJECT_VERBS and word != "tests":
        return False
    if not first[:1].isupper():
        return False
    return word != "tests" or rest.split(" ", 1)[0].lower() in _TESTS_BEFORE


def list_subject(lines: list[str], line_no: int) -> str | None:
    """The heading or lead-in over the list item at ``lines[line_no]``, cleaned to a subject
    ("**1. `f`** (`a.go`):" -> "`f` (`a.go`)"), or None when the line is no list item or what
    opens its list names nothing exact or is too long to be a subject."""
    opener = _opener(lines, line_no)
    return None if opener is None else _as_subject(opener)


def opener_of(lines: list[str], line_no: int) -> str | None:
    """The line that opens the list of the item at ``lines[line_no]`` (None: no item, or no
    such line close above it): looked up once for the ``*_under`` tests of one item."""
    return _opener(lines, line_no)


def _opener(lines: list[str], line_no: int) -> str | None:
    """The line that opens the list of the item at ``lines[line_no]`` (None: no item, or no
    such line close above it)."""
    if not 0 <= line_no < len(lines):
        return None
    item = _ITEM.match(lines[line_no])
    if item is None:
        return None
    indent = len(item.group(1).expandtabs())
    for back in range(line_no - 1, max(line_no - _LOOK_BACK, 0) - 1, -1):
        line = lines[back]
        if not line.strip():
            continue
        sibling = _ITEM.match(line)
        depth = len(line) - len(line.lstrip()) if sibling is None else len(sibling.group(1))
        if sibling is not None and depth == indent:
            continue  # an item of the same list
        if sibling is None and depth > indent:
            continue  # an item's continuation
        if depth > indent:  # an item of a list nested in a sibling
            continue
        return line
    return None


_SENTENCE_GAP = lazy_compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _narrates(first_word: str) -> bool:
    """Whether a lead-in whose first word is ``first_word`` opens as the agent telling what it
    does next ("I need to read `f` to see:", "Now let me check:"): no subject, nor a lead, of
    the items under it."""
    first = first_word.lower().strip(",;:-")
    return first in _NARRATION or first.startswith(("i'", "let'"))


def _opener_text(stripped: str) -> str:
    """A list's opening line (stripped) without its heading marks, bold, item mark and
    closing colon."""
    return _ITEM.sub("", stripped.lstrip("#").strip().replace("**", "")).strip().rstrip(" :\t")


def _said_with(lead: str, sentence: str) -> str:
    """``sentence`` after ``lead`` and a colon, its first letter lowered unless the word is
    an acronym ("PR", "CLI")."""
    rest = sentence if sentence[1:2].isupper() else sentence[0].lower() + sentence[1:]
    return f"{lead}: {rest}"


@functools.lru_cache(maxsize=1024)
def _as_subject(line: str) -> str | None:
    """What opens a list, as its items' subject: a heading, a bold title or a lead-in (ending
    with a colon), naming something exact in a few words; an item over a nested list only as a
    lead-in (an item "`f` now returns `r`" states something of its own)."""
    stripped = line.strip()
    lead_in = stripped.endswith(":") or stripped.endswith(":**")
    title = stripped.startswith(("#", "**"))
    if not (lead_in or (title and _ITEM.match(line) is None)):
        return None
    text = _opener_text(stripped)
    # (a lead-in after a sentence of its own, "Yes, `f` is right. Looking at:", opens the list
    # with its last sentence alone: the one before is said as itself)
    if "!" not in text:  # ("Aha! Session `x` has:": the agent exclaiming, no subject)
        text = _SENTENCE_GAP.split(text)[-1]
    if text.count("`") < 2 or text.count("`") % 2 or len(text.split()) > _SUBJECT_WORDS:
        return None  # names nothing exact, a code span cut, or a sentence, not a subject
    if text.endswith((".", "!", "?")) or "!" in text:
        return None  # a statement of its own
    if _narrates(text.split(" ", 1)[0]):
        return None  # the agent telling what it does next ("I need to read `f` to see:")
    return text


def with_subject(sentence: str, lines: list[str], line_no: int) -> str | None:
    """``sentence`` (the first of list item ``lines[line_no]``) with what opens its list, or
    None when there is nothing to add. An item that opens with a verb whose subject it leaves
    out takes a heading, a title or a lead-in; any other item only a lead-in, which its item
    completes ("Fix: replaced `paths` with export conditions:" over "- `tsconfig.base.json`
    -- Added `customConditions`", "In `captureInitialState()`:" over "- `f()` returns
    false")."""
    return subject_under(sentence, _opener(lines, line_no))


def subject_under(sentence: str, opener: str | None) -> str | None:
    """:func:`with_subject` of an item whose list ``opener`` opens (:func:`opener_of`)."""
    if opener is None:
        return None
    if not opens_without_subject(sentence) and not opener.rstrip().endswith((":", ":**")):
        return None
    subject = _as_subject(opener)
    return None if subject is None else _said_with(subject, sentence)


#: The most words of a plain lead-in an item names nothing without (:func:`lead_under`).
_LEAD_WORDS = 10


def lead_under(sentence: str, opener: str | None) -> str | None:
    """``sentence``, a list item that names nothing exact, said with the plain lead-in that
    opens its list ("This tests the key attribution scenarios:" over "- Agent editing
    user-created files", "The PR includes:" over "- Documentation updates to promote skill
    installation"): alone, such an item is a fragment that reads as a result of its own.
    None when the item names something (its names carry it), or the list is opened by no
    lead-in of a few words (a heading, a sentence, the agent's narration)."""
    if opener is None or "`" in sentence:
        return None
    lead = _plain_lead(opener)
    return None if lead is None else _said_with(lead, sentence)


@functools.lru_cache(maxsize=1024)
def _plain_lead(line: str) -> str | None:
    """(Cached: every item of a list asks it of the same lead-in.)"""
    stripped = line.strip()
    if not stripped.endswith((":", ":**")):
        return None
    last = _SENTENCE_GAP.split(_opener_text(stripped))[-1]
    words = last.split()
    if not 2 <= len(words) <= _LEAD_WORDS or "?" in last or "!" in last or "`" in last:
        return None
    if _narrates(words[0]):
        return None  # the agent telling what it does next
    return last


#: Verbs an instruction opens with ("Run `bun verify` to validate everything", "Delete
#: `skill.ts`"): an item of a plan, not of what was done ("Removed `skill.ts`").
_IMPERATIVE_WORDS = """add apply build call change check clean commit configure create delete
    document edit ensure extract find fix implement install investigate keep look make merge
    modify move open push read refactor remove rename replace rerun restore revert review run
    search set split test update use verify wire write"""
_IMPERATIVES = frozenset(_IMPERATIVE_WORDS.split())
#: What a lead-in says when its list is a plan, steps to take, or what comes next.
_PLAN_LEAD = lazy_compile(
    r"(?i)\b(?:plan|steps?|to-?dos?|tasks?|next|let me|let's|i'll|i will|i need to|"
    r"i'm going to|going to|we need to|should)\b"
)


def is_plan_step(sentence: str, lines: list[str], line_no: int) -> bool:
    """Whether ``sentence``, the first of list item ``lines[line_no]``, is a step of a plan:
    it opens with an instruction's verb, and its list's lead-in says the list is a plan or
    what to do next ("Let me understand the plan:", "Next steps:"). A digest line made of it
    would read as done ("Run `bun verify` to validate everything works")."""
    return plan_step_under(sentence, _opener(lines, line_no))


def plan_step_under(sentence: str, opener: str | None) -> bool:
    """:func:`is_plan_step` of an item whose list ``opener`` opens (:func:`opener_of`)."""
    first = sentence.split(" ", 1)[0]
    if not first[:1].isupper() or first.lower() not in _IMPERATIVES:
        return False
    return (
        opener is not None
        and opener.rstrip().endswith((":", ":**"))
        and _PLAN_LEAD.search(opener) is not None
    )


#: How a lead-in opens when its list weighs a choice ("**Pros**:", "Trade-offs:"): its items
#: are arguments, not what was decided or done ("- Already tested and working" was the merit
#: of an option nobody took). Lists of the options themselves stay: what was considered is
#: what a model's own summary keeps too; and "Benefits:" at the end of a piece of work often
#: lists what it measured.
_WEIGHING_LEAD = lazy_compile(
    r"(?i)^(?:[#*\s]|\d{1,2}[.)])*(?:pros?|cons?|disadvantages?|drawbacks?|downsides?"
    r"|trade-?offs?)\b"
)


#: How a lead-in opens or what it says when its list is supposed, not found: what would
#: happen if ("If you commit your changes in the other session:"; not "When `f()` is called:",
#: which tells how things go), guesses at a cause ("It could be because:", "Likely culprits:"),
#: what a fix would take ("To fix it, you'd need to:"), why an option appeals ("Option 3 seems
#: cleanest because:"). Its items read as results said alone; the session's own lines say what
#: was then found or done.
_SUPPOSING_LEAD = lazy_compile(
    r"(?i)^(?:[#*>\s]|\d{1,2}[.)])*(?:if|unless|suppose|assuming|in case)\b"
    r"|\b(?:could|might|may) be (?:because|due to|caused by)\b|\b(?:likely|possible|potential)"
    r" (?:culprits?|causes?|reasons?|explanations?)\b|\b(?:you|we|i)(?:'d| would) (?:need|have)"
    r" to\b|\bseems? (?:cleanest|best|simplest|better|preferable) because\b"
)

#: How a lead-in opens when its list is what is still to do ("Files NOT YET updated:",
#: "Remaining work:", "Still missing:", "Next steps", "Files that still need updating:"):
#: no results, and what is open at the end when the session did not do them
#: (:mod:`memcore.digest_listed`).
_TODO_PATTERN = (
    r"^(?:[#*>\s]|\d{1,2}[.)])*(?:files? |changes? |work |tasks? )?(?:not yet (?:updated"
    r"|done|implemented|changed|fixed|addressed|migrated|committed)|still (?:to do|to be done"
    r"|needed|missing|pending|open)|remaining(?: work| tasks| items| issues| steps| changes)?"
    r"|outstanding(?: work| tasks| items| issues)?|left to do|next steps?|to-?dos?"
    r"|what'?s (?:left|remaining|missing))\b[^.!?:]{0,40}:?\W*$"
    r"|^(?:[#*>\s]|\d{1,2}[.)])*[^.!?:]{0,40}\bstill (?:needs?|missing|to do)\b[^.!?]{0,40}:\W*$"
)
TODO_LEAD = lazy_compile(r"(?i)" + _TODO_PATTERN)

#: What a lead-in says when its list is what a run is expected to show or cover ("This time we
#: should see:", "This should test:", "Expected output:"): its items read as results said alone
#: ("`prompt_attributions` in the session state"), and what the run then showed is in the
#: session's own lines.
_EXPECTING_LEAD = lazy_compile(
    r"(?i)\b(?:should|will|would|you'll|we'll)(?: now| then| also)? (?:see|show|test|cover|get"
    r"|print|display|output|exercise)\b|^(?:[#*>\s]|\d{1,2}[.)])*expected(?: output| results?"
    r"| behaviou?r)?\W*$"
    # what a test is to show, or a proposal is to change ("Success indicators:", "What to
    # observe:", "Test plan:", "What gets modified:"): none of it happened yet
    r"|^(?:[#*>\s]|\d{1,2}[.)])*(?:success (?:indicators?|criteria)|acceptance criteria"
    r"|what to (?:observe|look for|check|verify|expect|test)|(?:manual )?(?:test|testing"
    r"|verification) (?:plan|steps|checklist)|steps to (?:test|verify|reproduce)"
    r"|what (?:gets|will be|would be) (?:modified|changed|created|added))\b"
    # what is still to do: its items name work not done, which a result line would say as done
    r"|" + _TODO_PATTERN
)


def weighs_options(lines: list[str], line_no: int) -> bool:
    """Whether list item ``lines[line_no]`` argues or supposes rather than states: its list's
    lead-in says the list weighs a choice (:data:`_WEIGHING_LEAD`: its items are merits of an
    option, taken or not), supposes (:data:`_SUPPOSING_LEAD`: what would be, if) or expects
    (:data:`_EXPECTING_LEAD`: what a run should show)."""
    return weighs_under(_opener(lines, line_no))


def weighs_under(opener: str | None) -> bool:
    """:func:`weighs_options` of an item whose list ``opener`` opens (:func:`opener_of`)."""
    return opener is not None and _weighs(opener)


@functools.lru_cache(maxsize=1024)
def _weighs(lead: str) -> bool:
    """(Cached: every item of a list asks it of the same lead-in.)"""
    last = _SENTENCE_GAP.split(lead.strip())[-1]  # ("This breaks. If `f` runs twice, we get:")
    return (
        _WEIGHING_LEAD.match(lead) is not None
        or _SUPPOSING_LEAD.search(last) is not None
        or _EXPECTING_LEAD.search(last) is not None
    )


#: A glossary entry: a name in a code span (bold or not), its type in brackets maybe, a colon,
#: and a few words of what it is ("- `cwd`: Current working directory").
_ENTRY = lazy_compile(
    r"^\s*(?:[-*+\u2022]|\d{1,2}[.)])[ \t]+(?:\*\*)?`[^`]+`(?:\*\*)?(?:\s*\([^)]*\))?:\s+"
    r"(?P<what>.*)$"
)
#: At most this many words say what an entry's name is; at least this many entries in a row
#: make a glossary.
_ENTRY_WORDS = 20
_GLOSSARY_ENTRIES = 3


def in_glossary(lines: list[str], line_no: int) -> bool:
    """Whether ``lines[line_no]`` is an entry of a glossary: a list of at least three names,
    each followed by a colon and a few words of what it is (a sub-agent's account of a
    document it read: "- `cwd`: Current working directory", "- `session_id`: Current session
    identifier"). Reference, not a decision or a result."""
    if not 0 <= line_no < len(lines) or not _is_entry(lines[line_no]):
        return False
    run = 1
    for step in (-1, 1):
        at = line_no + step
        while 0 <= at < len(lines) and _is_entry(lines[at]):
            run += 1
            at += step
    return run >= _GLOSSARY_ENTRIES


def _is_entry(line: str) -> bool:
    found = _ENTRY.match(line)
    return found is not None and len(found.group("what").split()) <= _ENTRY_WORDS


#: A sentence that opens with a pronoun ("This requires `dist` to exist.") speaks of what the
#: sentence before it said; so does one that says how something was fixed and not what ("Black
#: formatting: 8 files needed reformatting. Fixed with `uvx black`").
_PRONOUNS = ("This", "That", "These", "Those", "It", "They")
_HOW_FIXED = ("Fixed", "Resolved", "Solved", "Caused", "Handled", "Addressed", "Worked around")
_PRONOUN_OPENING = lazy_compile(
    rf"(?:{'|'.join(_PRONOUNS)})\s|(?:{'|'.join(_HOW_FIXED)})\s+(?:by|with|via)\s"
)
#: The first letters of those openings: a sentence opening with none of them is led by none
#: (checked before ``with_antecedent`` is called, on every sentence of the agent's).
ANTECEDENT_INITIALS = frozenset(word[0] for word in (*_PRONOUNS, *_HOW_FIXED))
#: The end of a sentence within a line.
_SENTENCE_END = lazy_compile(r"(?<=[.!?])\s+(?=\S)")
#: The longest sentence taken before a pronoun's (words).
_ANTECEDENT_WORDS = 25


def with_antecedent(sentence: str, lines: list[str], line_no: int) -> str | None:
    """``sentence``, which opens with a pronoun, led by the sentence before it on its line
    (where the pronoun's referent is: "The `paths` mapping points at `dist`. This requires
    `dist` to exist."), or None: no pronoun, no sentence before it on the line, or one too long
    to lead it."""
    if _PRONOUN_OPENING.match(sentence) is None or not 0 <= line_no < len(lines):
        return None
    line = lines[line_no].replace("**", "")
    at = line.find(sentence[:24])
    if at <= 0:
        return None
    before = _ITEM.sub("", line[:at]).strip()
    previous = _SENTENCE_END.split(before)[-1].strip() if before else ""
    words = previous.split()
    if not words or len(words) > _ANTECEDENT_WORDS or previous[-1:] not in ".!":
        return None
    return f"{previous} {sentence}"


__all__ = [
    "ANTECEDENT_INITIALS",
    "SUBJECT_VERBS",
    "TODO_LEAD",
    "in_glossary",
    "is_plan_step",
    "lead_under",
    "list_subject",
    "opener_of",
    "opens_without_subject",
    "plan_step_under",
    "subject_under",
    "weighs_options",
    "weighs_under",
    "with_antecedent",
    "with_subject",
]
