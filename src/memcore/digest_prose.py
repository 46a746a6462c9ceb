"""The agent's own words as candidate lines of a session digest: which sentences of its replies,
thinking and reports conclude, decide or name something exact, and what they are worth.

Split from :mod:`memcore.digest_lines` (which turns tool calls, commands, edits, errors and todos
into lines): this is the prose side, with the text helpers both use. A sentence counts when it
names something exact (a code span, a path, a called name) or concludes ("all 19 tests pass",
"the bug was ..."); narration ("Let me check `x`"), instructions to the user ("Report whether it
works") and questions weigh less or nothing; the rest is *spare*: said only when room is left.
Which sentences those are is the ``prose`` kernels' walk (``statement_sentences``, compiled with a
pure twin, as are the name and conclusion scans): this module gives them their scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from memcore._kernels import prose
from memcore.claude_code.compaction import is_compaction_summary, summary_statements
from memcore.claude_code.transcripts import KIND_PRIORITY
from memcore.digest_cut import tidy_cut
from memcore.digest_done import as_done
from memcore.digest_fragments import FRAGMENT_PENALTY, fragment_lead, is_fragment, merged
from memcore.digest_settled import (
    ANNOUNCING,
    as_proposal,
    guessing,
    is_bare_title,
    unsettled,
)
from memcore.digest_standalone import (
    says_of_its_names,
    standalone,
)
from memcore.digest_subject import (
    ANTECEDENT_INITIALS,
    in_glossary,
    lead_under,
    opener_of,
    plan_step_under,
    subject_under,
    weighs_options,
    weighs_under,
    with_antecedent,
)
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

_AGENT_KINDS = frozenset(KIND_PRIORITY)
#: A list item's mark ("- ", "1. "), from the prose kernels' definition.
BULLET = prose.BULLET
#: Weights of a sentence's exact names and of its recency in its score.
ID_WEIGHT = 0.5
RECENT = 1.5
#: How much less a narrating sentence ("Let me check `x`") is worth than a concluding one.
NARRATION_PENALTY = 3.0
#: What thinking says is still to look at ("Thread 1 (line 1339): About Phase 6.6 - need to
#: read the full comment to understand"): the agent's next step, not a finding.
_STILL_TO_LOOK = lazy_compile(
    r"(?i)(?:^|[-\u2013\u2014:;,]\s*)needs? to (?:read|check|look|see|understand|find out|"
    r"verify|investigate|figure out)\b"
)
#: Thinking that restates what the user said ("The user wants me to: Update `.env` ...", "The
#: user is pointing out that ...", "They want me to move it ..."): the request's own line says
#: it, in the user's words; no finding of the agent's.
_RESTATES_USER = lazy_compile(
    r"^(?:The user|User|They)(?:'s)? (?:(?:is |was )?(?:asking|saying|pointing out|telling|"
    r"reporting|requesting|suggesting)|wants?|asked|asks|says|said|reports|requests|would like|"
    r"mentions|mentioned)\b"
)
#: Base score of spare lines (prose that names nothing, routine commands that succeeded).
SPARE = 0.5
SENTENCE_WORDS = 60
#: A dash that opens a sentence split off a line ('"Write the plan, don't commit." - I wrote
#: it'): the line's separator, not a list item's mark.
_DASHES = frozenset({"- ", "– ", "— "})
#: A lettered list item's mark ("b. Adding tests", "c) Creating"), which no sentence opens with.
_LETTERED_ITEM = lazy_compile(r"[a-h][.)] +\S")
_LETTER_MARKS = frozenset({". ", ") "})
#: Base score of a statement of the agent's text, by what the import judged the text to be.
_STATEMENT_BASE = {"conclusion": 3.0, "decision": 3.0, "answer": 2.0}
#: How a line from a sub-agent's report (or its own transcript) starts: a reviewer's "Both test
#: runs pass" or an explorer's account of a documentation page is its claim, which the session
#: may have checked, declined or not acted on.
REPORTED = "A sub-agent reported: "
#: A thinking block that is only its bold title (some models show only that): it states nothing
#: (a markdown heading is no statement anyway: the ``prose`` walk leaves it out)
#: (matched whole: no copy of a long text stripped)
_TITLE_ONLY = lazy_compile(r"\s*\*\*[^*\n]{1,100}\*\*\s*")
#: A code fence glued to the text before it ("it only checks:```go"): the walk knows a fence by
#: a line that starts with one, so such a block would be read as sentences.
_FENCES = ("```", "~~~")
GLUED_FENCE = lazy_compile(r"(?<=\S)[ \t]*(```|~~~)")  # what unglue_fences does, as a pattern


def unglue_fences(text: str) -> str:
    """``text`` with each code fence that follows a word on its line ("... like this:```go")
    moved to a line of its own, the spaces and tabs before it dropped. It gives what the
    regular expression ``GLUED_FENCE`` substituted by a newline and the fence gives (a test
    holds them equal), finding fences with ``str.find``: the expression tried every position of
    a long message, 0.7 ms of a digest of a 2 MB session."""
    out: list[str] = []
    done = at = 0  # copied up to ``done``; the next fence is looked for from ``at``
    ahead = [text.find(mark) for mark in _FENCES]  # each kind's next one, -1: none
    while True:
        for kind, mark in enumerate(_FENCES):
            if 0 <= ahead[kind] < at:
                ahead[kind] = text.find(mark, at)
        found = [f for f in ahead if f >= 0]
        if not found:
            break
        fence = min(found)
        start = fence
        while start > done and text[start - 1] in " \t":
            start -= 1
        if start > 0 and not text[start - 1].isspace():
            out += (text[done:start], "\n", text[fence : fence + 3])
            done = at = fence + 3
        else:
            at = fence + 1
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


#: Thinking aloud ("Wait, ...", "Hmm, ...", "But wait, ..."): a step of the reasoning, not where
#: it ended; tried only on a sentence opening with one of its first letters (the long s is the
#: one other letter ``re`` folds to them).
_THINKING_ALOUD = lazy_compile(
    r"(?i)^(?:(?:but|and|so|ok(?:ay)?),?\s+)?(?:wait|hmm+|hold on|oh|ah)\b[\s,.!:-]"
)
_ALOUD_OPENINGS = frozenset("wWhHoOaAbBsS\u017f")
#: A finding's heading over its fix ("**8. Per-Branch Commit Limit vs Global**", "### 3.
#: Symlinks followed"): its title, without marks or number.
_FINDING_HEADING = lazy_compile(
    r"^\s*(?:#{1,6}\s+|\*\*)(?:\d{1,2}[.)]\s*)?(?P<title>[^*#].*?)\**\s*$"
)
_FINDING_LOOK_BACK = 8
_FINDING_WORDS = 10


def _of_finding(proposed: str, lines: list[str], line_no: int) -> str:
    """ "Proposed fix: ..." said of the finding whose heading is above it, a few lines up
    ("Proposed fix for Per-Branch Commit Limit vs Global: Add global commit limit."): alone,
    what it fixes is another line's, or none."""
    for at in range(min(line_no, len(lines)) - 1, max(line_no - _FINDING_LOOK_BACK, 0) - 1, -1):
        found = _FINDING_HEADING.match(lines[at])
        if found is not None and not lines[at].lstrip().lower().startswith(("**fix", "fix")):
            if "**" in found.group("title"):  # ("**Problem:** The CI ...": a labelled
                return proposed  # paragraph, the finding itself, said by its own line)
            title = cut_words(found.group("title").strip().rstrip(":"), _FINDING_WORDS)
            return proposed.replace("Proposed fix:", f"Proposed fix for {title}:", 1)
    return proposed


class Candidate(NamedTuple):
    """One line the digest may write: its section, session position, worth, and text (a named
    tuple: a digest builds hundreds, and a frozen dataclass is three times slower to build)."""

    section: str
    seq: float  # position in the session; a detail line sits just after its main line
    score: float
    text: str
    #: the exact names in ``text`` when already known (else found again when choosing)
    names: tuple[str, ...] | None = None
    #: a line said only when every other line has had its chance and room is left
    spare: bool = False
    #: what to say instead when the line before it in its section is not of the same item (a
    #: brief's line indented under the one that names the brief, when that one was left out)
    lead: str | None = None
    #: what the session was about: its first request, or what a compaction summary says was
    #: asked (a digest says it first, see ``digest_seeds.seed_topic``)
    topic: bool = False
    #: the one file the line tells of (as the digest names it): a file's lines are written
    #: together, from where the session first touched it (see ``memcore.digest._in_order``)
    about: str | None = None
    #: a shorter form of the line, said in its place when it does not fit whole where it is
    #: seeded (the state line), never cut
    short: str | None = None
    #: a line of the items a compaction summarized that competes from the start, not held
    #: back with the others (the user's last request before it)
    early: bool = False
    #: the command (``normalize_command``) whose one run, a failure, the line tells of: its
    #: command's line and its error's say the same, and once one is chosen the other is not
    #: (``Greedy.take``)
    failed_once: str | None = None


def cut_words(text: str, limit: int) -> str:
    """``text`` on one line, cut after ``limit`` words with an ellipsis, its end tidied as
    :func:`memcore.digest_cut.tidy_cut` does (kept as it was when that leaves nothing)."""
    return cut_word_list(text.split(), limit)


def cut_word_list(words: list[str], limit: int) -> str:
    """:func:`cut_words` of a text already split into ``words``."""
    if len(words) <= limit:
        return " ".join(words)
    cut = " ".join(words[:limit])
    tidy = tidy_cut(cut, asides=False)
    if tidy:
        return tidy + "\u2026"
    if cut.count("`") % 2:
        cut = cut[: cut.rfind("`")].rstrip()
    return cut + "\u2026"


def _may_name(text: str) -> bool:
    # every exact name has a backtick, a slash or a parenthesis: most prose has none
    return "`" in text or "/" in text or "(" in text


def count_identifiers(text: str) -> int:
    """How many exact names ``text`` carries."""
    return len(prose.find_identifiers(text)) if _may_name(text) else 0


def line_identifiers(text: str) -> list[str]:
    """The exact names a line carries: code spans, paths and called names."""
    if not _may_name(text):
        return []
    return prose.find_names(text)


def is_agent(item: MemoryItem) -> bool:
    """An item imported from a coding agent's session (not a plain note)."""
    kind = item.metadata.get("kind")  # metadata is anyone's: a kind may be no string
    return item.metadata.get("source") == "claude-code" or (
        isinstance(kind, str) and kind in _AGENT_KINDS and "tool" in item.metadata
    )


def has_statements(item: MemoryItem) -> bool:
    """An agent's own text (its replies, thinking, a sub-agent's report, an earlier summary)."""
    meta = item.metadata
    if meta.get("report"):
        return True
    return meta.get("kind") in ("fact", "thinking", "summary") and not meta.get("meta")


def spare_lines(items: Sequence[MemoryItem], *, thinking: bool) -> list[Candidate]:
    """The agent's own plain prose that :func:`build_candidates` leaves out (sentences naming
    nothing exact and concluding nothing; never a user's text): said only when every other line
    has had its chance and room is left, so they are built only then: the thinking's alone
    (``thinking``), or all but the thinking's."""
    out: list[Candidate] = []
    n = max(1, len(items))
    seen: set[str] = set()
    for seq, item in enumerate(items):
        meta = item.metadata
        own = meta.get("role") != "user" and "files_changed" not in meta  # the agent's words
        if (meta.get("kind") == "thinking") != thinking:
            continue
        if own and is_agent(item) and has_statements(item):
            out.extend(statements(item, seq, seq / n, seen, spare=True))
    return out


def _before_announcing(sentence: str, content: str, *, named: bool = True) -> str | None:
    """``sentence`` without what the agent was about to do after a dash ("Gemini already has
    `f` returning a struct - let me add an int version" -> "Gemini already has `f` returning a
    struct."); "" when what comes before is a point's bold title ("**3. Renamed files** - Let
    me check if...": the point was not weighed yet, and the records after it say what came of
    it) or, with ``named``, names nothing. None when no such dash is there."""
    if " - " not in sentence and " \u2014 " not in sentence:  # (most sentences)
        return None
    for dash in (" - ", " \u2014 "):
        at = sentence.find(dash)
        if at > 0 and ANNOUNCING.match(sentence[at + len(dash) :]):
            before = sentence[:at].rstrip(" ,;:")
            if (named and "`" not in before) or f"{before}**" in content:
                return ""
            return before if before[-1] in ".!?" else f"{before}."
    return None


def _tidy_ellipsis(said: str) -> str:
    """``said``, which ends in an ellipsis, without an end that promises what was cut away
    (:func:`memcore.digest_cut.tidy_cut`): the import cuts a long text at a word, whatever the
    word ("The file has both, which is…\n[... 7672 more characters]")."""
    tidy = tidy_cut(said[:-1], asides=False)
    return f"{tidy}\u2026" if tidy else said


def _undashed(said: str) -> str:
    """``said`` without the dash that led it after a quote's end ('don't commit." - I wrote
    `x`'), which separated it from the quote and marks no list item."""
    return said[2:].lstrip() if said[:2] in _DASHES else said


def statements(
    item: MemoryItem,
    seq: int,
    recency: float,
    seen: set[str],
    *,
    spare: bool = False,
    edited: bool = False,
) -> list[Candidate]:
    """The sentences of an assistant's text that conclude or decide, each a candidate; with
    ``spare``, instead the plain prose sentences that these leave out (see :func:`spare_lines`).
    With ``edited`` (an edit that succeeded followed the text), its announcements of a change
    are said as the change made (:func:`memcore.digest_done.as_done`)."""
    meta = item.metadata
    kind, report = meta.get("kind"), meta.get("report")
    base = _STATEMENT_BASE.get(str(meta.get("statement")), 1.0)
    # thinking and sub-agent reports count only where they name something exact
    needs_names = kind in ("thinking", "summary") or bool(report)
    if needs_names and not spare and not _may_name(item.content):  # names nothing
        return []
    if kind == "thinking":
        if _TITLE_ONLY.fullmatch(item.content):  # "**Planning file reads**": no statement
            return []
        base = 0.0
    elif report or kind == "summary":
        if kind == "summary" and is_bare_title(item.content):
            return []  # ("CSS Details Margin Styling": a conversation's title, no statement)
        base = 2.0  # a sub-agent's report, or what an earlier compaction kept
    out: list[Candidate] = []
    content = item.content
    if is_compaction_summary(meta):
        content = summary_statements(content)  # (its request is a request: digest_lines)
    if "```" in content or "~~~" in content:
        content = unglue_fences(content)
    lines: list[str] = []  # the content's lines (the walk splits them), for an item's subject
    found = prose.statement_sentences(content, needs_names, spare, seen, lines)
    musing = kind == "thinking"
    if spare:
        score = SPARE + recency - (0.25 if needs_names else 0.0)
        for sentence, _, _, names, _, _, _, position in found:
            if musing and _unsettled_thought(sentence):
                continue
            before = _before_announcing(sentence, content, named=False)
            if before == "":
                continue
            sentence = sentence if before is None else before
            # (a later line's first, a list item's maybe, under a line weighing options)
            if position and position % 1000 == 0 and weighs_options(lines, position // 1000):
                continue
            said = _undashed(cut_words(sentence, SENTENCE_WORDS))
            if said[-1:] == "\u2026":
                said = _tidy_ellipsis(said)
            stated = standalone(said, len(names)) if said else None
            if stated is not None:  # in the text's own order, the spare sentences among the others
                at = seq + (position if position < 999_999 else 999_999) / 1_000_000
                stated = as_proposal(stated)
                out.append(Candidate("decisions", at, score, f"- {stated}", spare=True))
        return out
    lift = RECENT * recency
    # a list's fragments, by the line that opens it: its lead-in, and each one's place and score
    fragments: dict[str, tuple[str, list[tuple[float, float, str]]]] = {}
    # the items naming nothing said with their list's plain lead-in, by the line opening it
    alone: list[tuple[str, Candidate, str]] = []
    # (a sub-agent's words are its claims, not what the session found or did: said as its)
    told = REPORTED if (report or meta.get("sidechain")) and not musing else ""
    for sentence, joined, words, names, concluding, aside, listy, position in found:
        if musing and _unsettled_thought(sentence):
            continue
        done = as_done(sentence) if edited and aside and not musing else None
        if done is not None:  # an announced change the edit after it made: a result
            sentence = joined = done
            aside = False
        before = _before_announcing(sentence, content)
        if before == "":
            continue
        if before is not None:  # (what was found stands; what was to come goes)
            sentence = joined = before
            names, words = line_identifiers(before), len(before.split())
        at = seq + (position if position < 999_999 else 999_999) / 1_000_000
        ids = len(names)
        score = base + (2.0 if concluding else 0.0) + (ids if ids < 4 else 4) * ID_WEIGHT + lift
        if not musing and guessing(sentence):
            continue  # (a guess said to the user: the findings after it say what held)
        if aside and ANNOUNCING.match(sentence):
            continue  # (what the agent was about to do: the records after it say what it did)
        if aside or (sentence[0] in _ALOUD_OPENINGS and _THINKING_ALOUD.match(sentence)):
            score -= NARRATION_PENALTY  # about to do, the user's step, or musing
        if sentence[-1] == ":":  # an introduction to a list or a block
            score -= 1.5
        if listy:  # a list of names states nothing
            score -= 1.5
        said = joined if words <= SENTENCE_WORDS else cut_words(sentence, SENTENCE_WORDS)
        if said[-1] == "\u2026":  # (a text the import cut: "..., which is…")
            said = _tidy_ellipsis(said)
        if said[:2] in _DASHES:
            said = _undashed(said)
            if not said:
                continue
        elif said[1:3] in _LETTER_MARKS and _LETTERED_ITEM.match(said):  # "b. Adding tests ..."
            said = said[3:].lstrip()
        if ids and said[-1] != ":":  # (what standalone says of it)
            if not says_of_its_names(said, ids):
                continue
            kept = said
        else:
            stood = standalone(said, ids)
            if stood is None:
                continue
            kept = stood
        proposed = as_proposal(kept)
        if proposed is not kept:  # (a fix put forward, not made: said as one, of its finding)
            kept, said = _of_finding(proposed, lines, position // 1000), ""
        # (a lead-in said alone loses plain words only: its names are the sentence's)
        known = tuple(names) if said == sentence else None
        if position and position % 1000 == 0:  # a later line's first: a list item's, maybe
            opener = opener_of(lines, position // 1000)  # (what opens its list, looked up once)
            if musing and opener is not None and _RESTATES_USER.match(opener) is not None:
                continue  # ("The user wants me to:", then what the request says again)
            if plan_step_under(kept, opener):
                continue  # what was to be done, not what was: no decision, no result
            if weighs_under(opener):
                continue
            if (report or meta.get("sidechain")) and in_glossary(lines, position // 1000):
                continue  # a sub-agent's account of what names mean: reference, not a result
            subject = subject_under(kept, opener)
            if subject is not None:
                kept, known = subject, None
                score += ID_WEIGHT  # (a statement now, where it was half of one)
            elif not ids:
                led = lead_under(kept, opener)
                if led is not None and opener is not None:  # (with its list's fragments, if any)
                    cand = Candidate("decisions", at, score, f"- {told}{led}", known)
                    alone.append((opener, cand, kept))
                    continue
            elif is_fragment(kept):  # ("`noctx` - using `exec.Command`": said under its lead-in)
                lead = None if opener is None else fragment_lead(opener)
                if lead is not None and opener is not None:
                    fragments.setdefault(opener, (lead, []))[1].append((at, score, kept))
                    continue
                score -= FRAGMENT_PENALTY  # (no lead-in to say it with: better lines first)
        elif position % 1000 and kept[:1] in ANTECEDENT_INITIALS:  # "This means ...": of what?
            led = with_antecedent(kept, lines, position // 1000)
            if led is not None:  # said with the sentence before it, unless that one is said
                line = f"- {told}{kept}"
                out.append(Candidate("decisions", at, score, line, known, lead=f"- {told}{led}"))
                continue
        out.append(Candidate("decisions", at, score, f"- {told}{kept}", known))
    for opener, cand, plain in alone:  # (an item naming nothing joins its list's fragments)
        group = fragments.get(opener)
        if group is None:
            out.append(cand)
        else:
            group[1].append((cand.seq, cand.score, plain))
            group[1].sort()
    for lead, members in fragments.values():  # (siblings merged, each line where its first was)
        for first, end, text in merged(lead, [member[2] for member in members]):
            worth = sum(member[1] for member in members[first:end])  # (each still says its own)
            line = f"- {told}{text}"
            out.append(Candidate("decisions", members[first][0], worth + ID_WEIGHT, line))
    return out


def _unsettled_thought(sentence: str) -> bool:
    """Whether a sentence of the agent's thinking is no finding: a guess, a plan, a thought
    trailing off ("But our fuse.pc references `libfuse-t`..."), what it has yet to look at
    ("Thread 1: About Phase 6.6 - need to read the full comment"), or what the user said, told
    again ("The user wants me to: ...")."""
    return (
        unsettled(sentence)
        or sentence.endswith("...")
        or _STILL_TO_LOOK.search(sentence) is not None
        or _RESTATES_USER.match(sentence) is not None
    )


__all__ = [
    "BULLET",
    "ID_WEIGHT",
    "NARRATION_PENALTY",
    "RECENT",
    "SENTENCE_WORDS",
    "SPARE",
    "Candidate",
    "count_identifiers",
    "cut_word_list",
    "cut_words",
    "has_statements",
    "is_agent",
    "line_identifiers",
    "spare_lines",
    "statements",
]
