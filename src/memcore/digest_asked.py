"""The lines of a digest's "asked" section beyond the requests themselves: what a compaction
summary says was asked, the sentences of a long request past its first line that name something
exact, and the briefs the agent read or wrote (a plan or spec file, the plan it proposed, its
brief to a sub-agent).
"""

from __future__ import annotations

from collections.abc import Iterator

from memcore._kernels import pipeline
from memcore.claude_code import briefs
from memcore.claude_code.compaction import summary_request
from memcore.claude_code.tools import PLAN_PROPOSED
from memcore.digest_prose import (
    ID_WEIGHT,
    SENTENCE_WORDS,
    SPARE,
    Candidate,
    count_identifiers,
    cut_word_list,
    cut_words,
)
from memcore.digest_standalone import standalone
from memcore.digest_work import shown_path, strs
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

#: Where a flattened list goes on to its next item (" - "): a request's items, joined.
_LIST_ITEM_GAP = lazy_compile(r"\s+-\s+(?=\S)")
#: A paragraph that is a heading or a lead-in of a few words ("### 3. Hidden command",
#: "**File: `a.go`**", "Helper functions:"): said with the statement after it, not alone.
_HEADING = lazy_compile(r"#{1,6}\s.*|\*\*[^*]+\*\*:?|[^.!?]+:")
_HEADING_MARKS = lazy_compile(r"^#{1,6}\s+(?:\d{1,2}[.)]\s+)?|\*\*")
_HEADING_WORDS = 10
#: A line of a program pasted into a request ("def main():", "return x"): no statement.
_CODE_LINE = lazy_compile(
    r"\s*(?:def|class|func|fn|import|return|const|let|var|if __name__|from \S+ import)\b"
)
#: A checklist item's box ("[ ] `mise run test` passes", "[x] done").
_CHECKBOX = lazy_compile(r"^\[[ xX]\] +")
#: A numbered list's item flattened into a line: its number after a space (or at the start).
_NUMBERED_ITEM = lazy_compile(r"(?:^|(?<=\s))(\d{1,2})[.)]\s+(?=\S)")
#: Where a line opens a list item ("- ", "* ", "2. "): the request's items, one by one.
_ITEM_START = lazy_compile(r"\n[ \t]*(?:[-*+\u2022]|\d{1,2}[.)])[ \t]+")
#: A blank line: the end of a paragraph, a heading or a list ("...default `flash`\n\nHelper
#: functions:" are two statements, however they end).
_PARAGRAPH_GAP = lazy_compile(r"\n\s*\n")
#: Base score of a statement of a plan or spec the agent read: worth what it names (a plan
#: restates much that the session then does, so its lines win only where they name more).
BRIEF_SCORE = 0.0
#: A brief's line that only defines a name ("`text` - Plain text response": a field of a
#: format, an entry of a glossary) asks for nothing: its score falls by this much (it still
#: keeps the names it defines, which a model's summary often keeps too).
DEFINITION_PENALTY = 1.0
_DEFINITION = lazy_compile(r"`[^`]+`\s*(?:[-:\u2013\u2014]|=>|->)\s")
#: Tool calls whose ``brief`` the agent wrote itself, and how a digest names it.
BRIEF_CALLS = {
    "ExitPlanMode": "The plan the agent proposed",
    "Task": "The agent's brief to a sub-agent",
    "Agent": "The agent's brief to a sub-agent",  # (the ``Task`` tool's newer name)
}
#: A plan with no statement naming something exact is said by its title alone, worth this; a
#: title of fewer words than this ("Plan") names no plan.
PLAN_TITLE_SCORE = 2.0
_MIN_TITLE_WORDS = 2
#: The words of a request said in its line (its exact sentences past them: ``request_rest``)
REQUEST_WORDS = 150
#: A request longer than ``REQUEST_WORDS`` that is a document (a plan, a spec pasted in) is said
#: in its line up to the end of its first paragraph of at least this many words in all (its
#: title and the context that says what it is for, as Claude's summaries put it): its exact
#: statements past it are lines of their own (``request_rest``).
HEAD_LEAST_WORDS = 30
#: The words of a compaction summary's request said in its line; its sentences past them that
#: name something exact are lines of their own, as a long request's are (the others spare lines
#: of at least this many words).
_SUMMARY_WORDS = 40
_PLAIN_LEAST_WORDS = 4


#: How a line of a request past its own line starts when said apart from it (``request_rest``):
#: the request's own line was left out, so the lead says whose it is, not "the request also said"
#: of a request the digest never said.
REQUEST_REST_LEAD = "- The user asked, in a longer request: "

#: How the line of what a compaction summary says was asked starts.
SUMMARY_LEAD_IN = "Before the compaction (Claude's summary): "


def summary_request_words(item: MemoryItem) -> list[str]:
    """The words of what a compaction summary says the user asked (empty: it says nothing of
    it): the importer's ``request``, or else the summary's request section."""
    kept = item.metadata.get("request")
    return kept.split() if isinstance(kept, str) else summary_request(item.content)


def summary_request_lines(item: MemoryItem, seq: int) -> list[Candidate]:
    """What a compaction summary says the user asked, as a request: the requests themselves are
    in the summarized part, gone from what the agent saw since, and often from the transcript
    too (a session continued from another). The importer keeps it whole in ``request``."""
    kept = item.metadata.get("request")
    words = summary_request_words(item)
    if not words:
        return []
    shown = sum(word != "-" for word in words[:_SUMMARY_WORDS])  # (cut where it always was)
    said = cut_word_list(_items_as_clauses(words), shown)
    line = f"- {SUMMARY_LEAD_IN}{said}"
    out = [Candidate("asked", seq, 8.0, line, topic=True)]
    if len(words) > _SUMMARY_WORDS:
        # (the importer keeps it on one line, its items joined by " - ": split as such)
        source = kept if isinstance(kept, str) and "\n" in kept else None
        rest = request_rest(" ".join(words), words, seq, _SUMMARY_WORDS, source, plain=True)
        out.extend(rest)
    return out


def _items_as_clauses(words: list[str]) -> list[str]:
    """A flattened list's words read as one line: each item's dash left out, the item before
    it closed by ``;`` ("- Create a script - The script should" -> "Create a script; The
    script should"): a line of the digest is a bullet already, and dashes inside it read as
    ranges or asides."""
    out: list[str] = []
    for word in words:
        if word != "-":
            out.append(word)
        elif out and not out[-1].endswith((".", ":", ";", "!", "?", ",")):
            out[-1] += ";"
    return out


def request_rest(
    flat: str,
    words: list[str],
    seq: int,
    said: int = REQUEST_WORDS,
    source: str | None = None,
    *,
    plain: bool = False,
) -> list[Candidate]:
    """Sentences past the cut of a long request (``flat``: its ``words`` joined by single
    spaces; ``source``: the text they were split from, whose blank lines end statements) that
    name something exact; with ``plain``, the others too, as spare lines (said when a digest
    has room left: a compaction summary's list of what was asked is short and all of it
    matters, "Write integration tests for mid-session commits" as much as its named items)."""
    cut = len(" ".join(words[:said]))
    out: list[Candidate] = []
    # A request's list items, flattened, are one "sentence" to the splitter ("... - Script
    # should use `go run` - Script should inspect ..."): the rest goes by items and sentences,
    # and the one the cut fell in, begun by the first line, is not taken up in its middle.
    pieces = (
        [item for piece in _LIST_ITEM_GAP.split(flat[cut:]) for item in numbered_items(piece)]
        if source is None
        else _rest_pieces(source, words, said)
    )
    for number, piece in enumerate(pieces):
        spans = pipeline.split_sentences(piece)
        if number == 0 and not flat[:cut].endswith((".", "!", "?", ":")):
            spans = spans[1:]  # (the cut fell mid-item or mid-sentence)
        for start, end in spans:
            sentence = piece[start:end].strip()
            ids = count_identifiers(sentence)
            if ids and sentence.endswith(":"):  # a lead-in, its list a piece of its own
                sentence = standalone(sentence, ids) or ""
            told = _told_how(sentence)  # (the task itself, or how the user wants it done)
            spare = not ids and not told and plain and len(sentence.split()) >= _PLAIN_LEAST_WORDS
            if (ids or told or spare) and sentence and not (spare and sentence.endswith(":")):
                # (in the request's order, after its first line)
                stated = cut_words(sentence, SENTENCE_WORDS)
                at = seq + (len(out) + 1) / 1_000_000
                # indented under the request's line, or a line before it of the same request;
                # alone, it says whose it is (see Candidate.lead)
                lead = f"{REQUEST_REST_LEAD}{stated}"
                score = SPARE if spare else max(told, 3.0 + min(ids, 4) * ID_WEIGHT)
                out.append(Candidate("asked", at, score, f"  - {stated}", lead=lead, spare=spare))
    return out


#: A sentence of a long request that says the task itself ("Your task: wire ..."), and one
#: that says how the user wants it done ("Write tests first (TDD).", "Run `make check` before
#: considering complete.", "Don't touch the public API.", "also use superpowers:execute-plan"):
#: what the next session must honour, named thing or not, worth more than a request's detail.
_TASK_SENTENCE = lazy_compile(
    r"(?i)^(?:your|the|main|my)\s+(?:main\s+)?(?:task|goal|job)\s*(?::\s|is\s*:\s|is\s+(?:not\s+)?to\s)"
)
_HOW_SENTENCE = lazy_compile(
    r"(?i)^(?:(?:also|and|then|please|but),?\s+)*(?:don'?t|do not|never|always|make sure|be sure"
    r"|ensure|avoid|only|write (?:the )?tests?|run\s|use\s|keep\s|follow\s|stick to|prefer\s"
    r"|no need to|without\s)"
)
#: A sentence of a request that reports what is wrong ("That said, it's currently not
#: working.", "The build is still broken"): the problem the work is for, named thing or not.
_PROBLEM_SENTENCE = lazy_compile(
    r"(?i)(?<!\bnothing\s)(?<!\bno one\s)(?<!\bnever\s)"
    r"\b(?:is|are|it's|that's|they're|keeps?|still)\s+(?:currently\s+|still\s+|now\s+)?"
    r"(?:not\s+working|broken|failing|crashing|hanging|wrong)\b|\bdoes(?:n't| not)\s+work\b"
)
#: A label a sentence starts with ("Note:", "Constraints:", "**Testing**:", a heading said with
#: its paragraph): no instruction itself, what follows it may be one ("Note: don't push").
_LABEL = lazy_compile(r"(?P<label>[A-Za-z][\w'./-]*(?:[ \t][\w'./-]+){0,3})[ \t]*:(?:\s+|$)")
#: A label's colon is within this many characters of its sentence's start.
_LABEL_CHARS = 80
#: A label that introduces what the work is for, what it is like or what was seen, not how to
#: do it: the context, the background, a use case, an example, output pasted in ("Use case:
#: users paste notes into a wiki", "For example: run it twice", "Some background:", "Run
#: output: 3 failed"). Its sentence is no instruction, whatever its first words ("Use case" is
#: no "use X", "Run output" no "run X"); what it says is wrong is still the problem.
_CONTEXT_LABEL = lazy_compile(
    r"(?i)(?:(?:some|more|additional|extra|further|quick|brief|short|a\s+bit\s+of|for|"
    r"real[- ]world|concrete|an?|the|my|our|this|that|typical|current|main|one)\s+)*"
    r"(?:context|background|use[- ]cases?|examples?|e\.\s?g\.?|eg|instance|scenarios?"
    r"|motivation|rationale|history|(?:user\s+)?stor(?:y|ies)|situation|overview|reference"
    r"|fyi|why|repro(?:duction)?|steps\s+to\s+reproduce|symptoms?|(?:stack\s+)?trace(?:back)?"
    r"|(?:(?:test|run|build|ci|error|command|console|server|sample|example|expected|actual"
    r"|current|full|relevant)\s+)?(?:output|logs?))"
)
_TASK_SCORE = 6.0
_HOW_SCORE = 4.5


def _told_how(sentence: str) -> float:
    """The worth of a request's sentence that says the task, how to do it, or what is wrong
    (0: none of these). A sentence under a label (``_LABEL``) is judged by what follows it,
    and one under a label of context (``_CONTEXT_LABEL``) says no task nor how, only maybe
    what is wrong."""
    labelled = _LABEL.match(sentence) if ":" in sentence[:_LABEL_CHARS] else None
    if labelled is not None and _CONTEXT_LABEL.fullmatch(labelled.group("label")):
        return _HOW_SCORE if _problem(sentence) else 0.0
    if _TASK_SENTENCE.match(sentence):
        return _TASK_SCORE
    if _HOW_SENTENCE.match(sentence) or _problem(sentence):
        return _HOW_SCORE
    rest = sentence[labelled.end() :] if labelled is not None else ""
    if _TASK_SENTENCE.match(rest):  # ("Reminder: your task is to ...")
        return _TASK_SCORE
    return _HOW_SCORE if _HOW_SENTENCE.match(rest) else 0.0  # ("Note: never push")


#: What every sentence ``_PROBLEM_SENTENCE`` finds holds (lowercased), tested before its search.
_PROBLEM_HINTS = ("work", "broken", "failing", "crashing", "hanging", "wrong")


def _problem(sentence: str) -> bool:
    """``_PROBLEM_SENTENCE.search(sentence)``, searched only when a hint of it is there."""
    lowered = sentence.lower()
    return any(hint in lowered for hint in _PROBLEM_HINTS) and (
        _PROBLEM_SENTENCE.search(sentence) is not None
    )


def _heading(flat: str) -> bool:
    """Whether a paragraph (``flat``: its words joined by single spaces) is a heading or a
    lead-in of a few words: said with the statement after it, not alone."""
    return _HEADING.fullmatch(flat) is not None and len(flat.split()) <= _HEADING_WORDS


def _paragraphs(source: str) -> Iterator[str]:
    """``_PARAGRAPH_GAP.split(source)`` one paragraph at a time: a request pasted at many
    kilobytes is read only as far as its line says it."""
    at = 0
    for gap in _PARAGRAPH_GAP.finditer(source):
        yield source[at : gap.start()]
        at = gap.end()
    yield source[at:]


def head_words(source: str, words: list[str]) -> int:
    """How many of ``words`` (``source``'s, split) a long request's line says: up to the end of
    the first paragraph that brings them to ``HEAD_LEAST_WORDS`` (headings go with what
    follows them), ``REQUEST_WORDS`` at most."""
    if len(words) <= REQUEST_WORDS:
        return len(words)
    count = 0
    for paragraph in _paragraphs(source):
        flat = " ".join(paragraph.split())
        count += len(flat.split())
        if count >= REQUEST_WORDS:
            break
        if count >= HEAD_LEAST_WORDS and not _heading(flat):
            return count
    return REQUEST_WORDS


def head_text(source: str, said: int, total: int) -> str:
    """The first ``said`` words of a request (``source``, ``total`` words in all) as its line
    says them: paragraph by paragraph, a heading's marks left out and its end marked ("# Plan
    X" then "## Context" then a paragraph: "Plan X. Context: ..."), and "…" where the request
    goes on."""
    parts: list[str] = []
    count = 0
    for paragraph in _paragraphs(source):
        if count >= said:
            break
        flat = " ".join(paragraph.split())
        count += len(flat.split())
        if parts and parts[-1].endswith("\0"):  # a heading: ends on what follows it
            heading = parts[-1][:-1]
            parts[-1] = heading + ("." if _heading(flat) else ":")
        if flat.startswith(("#", "**")) and _heading(flat):  # (a lead-in keeps its colon)
            flat = _HEADING_MARKS.sub("", flat).strip(" *:")
            if flat:
                parts.append(flat + "\0")
            continue
        if flat:
            parts.append(flat)
    if parts and parts[-1].endswith("\0"):
        parts[-1] = parts[-1][:-1] + ":"
    text = " ".join(parts)
    return text + "\u2026" if said < total and not text.endswith("\u2026") else text


def numbered_items(text: str) -> list[str]:
    """``text`` split before the items of a numbered list flattened into it ("points: 1.
    `hooks.go`: start 2. `strategy.go`: turn"), found as numbers counting up from 1: a number
    left at the end of the item before it ("start 2.") reads as part of that item, and "line
    54. The fix" is no list."""
    cuts: list[tuple[int, int]] = []  # (where the item's number starts, where its text does)
    expected = 1
    for found in _NUMBERED_ITEM.finditer(text):
        if int(found.group(1)) == expected:
            cuts.append((found.start(1), found.end()))
            expected += 1
    if len(cuts) < 2:
        return [text]
    pieces = [text[: cuts[0][0]].strip()]
    for n, (_, start) in enumerate(cuts):
        end = cuts[n + 1][0] if n + 1 < len(cuts) else len(text)
        pieces.append(text[start:end].strip())
    return [piece for piece in pieces if piece]


#: What stands for a fenced code block among a request's paragraphs (``_fences_apart``).
_CODE_BLOCK = "\0"
_INLINE_CODE_LINES = 2


def _fences_apart(text: str) -> str:
    """``text`` with each fenced code block of more than ``_INLINE_CODE_LINES`` lines (its
    blank lines too) as a paragraph of its own holding only ``_CODE_BLOCK``: a pasted program's
    lines are no statements of the request, nor the words of the heading over it. A shorter
    block stays in its paragraph as a code span (``Add helper: `func updateOpts(...)```)."""
    if "```" not in text and "~~~" not in text:
        return text
    out: list[str] = []
    block: list[str] | None = None  # (the lines of the block being read)
    for line in text.split("\n"):
        if not line.lstrip().startswith(("```", "~~~")):
            if block is None:
                out.append(line)
            elif line.strip():
                block.append(line.strip())
            continue
        if block is None:
            block = []
            continue
        if len(block) <= _INLINE_CODE_LINES and not any("`" in code for code in block):
            out.append(f"`{'; '.join(block)}`" if block else "")
        else:
            out.extend(("", _CODE_BLOCK, ""))
        block = None
    if block is not None:  # (a block left open: the text was cut inside it)
        out.extend(("", _CODE_BLOCK, ""))
    return "\n".join(out)


def _rest_pieces(source: str, words: list[str], said: int) -> list[str]:
    """The list items and paragraphs of ``source`` past its first ``said`` words, each
    flattened; the first is "" when the cut fell between two of them."""
    at = 0
    for word in words[:said]:
        at = source.index(word, at) + len(word)
    pieces: list[str] = []
    heading = ""
    for paragraph in _PARAGRAPH_GAP.split(_fences_apart(source[at:])):
        flat = " ".join(paragraph.split())
        if flat == _CODE_BLOCK:  # (a heading over a code block is said alone, not with its code)
            if heading:
                pieces.append(heading)
                heading = ""
            continue
        if _heading(flat):
            # "**File: `root.go`**" says where its paragraph's statement applies: said with it
            heading = _HEADING_MARKS.sub("", flat).strip(" *:")
            continue
        for piece in _ITEM_START.split("\n" + paragraph):
            # (a checklist's box and the bold marks are no words of the statement)
            piece = _CHECKBOX.sub("", " ".join(piece.split())).replace("**", "")
            if _CODE_LINE.match(piece):
                continue  # a pasted program's lines are no statements of the request
            if heading and piece:
                piece, heading = f"{heading}: {piece}", ""
            pieces.extend(numbered_items(piece) if piece else [piece])
    return pieces


def brief_lines(
    item: MemoryItem, seq: int, recency: float, root: str | None, source: str | None = None
) -> list[Candidate]:
    """What a plan or spec asks for (its statements naming something exact, see
    :mod:`memcore.claude_code.briefs`): part of what was asked. ``source`` names it (by default
    the file the agent read), on its first line that is no glossary entry."""
    shown = source or f"`{shown_path(item.metadata, root)}`"
    return _told(strs(item.metadata.get("brief")), seq, recency, shown)


#: A sub-agent's report saying it wrote a file ("The review has been written to `x.md`").
_WROTE = lazy_compile(r"(?i)\b(?:written|wrote|created|saved|generated)\b")
#: How far before a path its report's word of writing it may be.
_WROTE_BEFORE = 60


def written_by_sub_agent(path: str, reports: list[str]) -> bool:
    """Whether one of this session's sub-agents ``reports`` says it wrote ``path`` (its last
    segments, as a report names it): the agent's own work read back, no brief of its task."""
    tail = "/".join(path.rsplit("/", 2)[-2:])
    for report in reports:
        at = report.find(tail)
        while at >= 0:
            start = at  # (where the path the report writes begins: it may be absolute)
            while start > 0 and not report[start - 1].isspace() and report[start - 1] != "`":
                start -= 1
            if _WROTE.search(report, max(0, start - _WROTE_BEFORE), start) is not None:
                return True
            at = report.find(tail, at + 1)
    return False


def _told(lines: list[str], seq: int, recency: float, shown: str) -> list[Candidate]:
    """``brief_lines`` of the brief ``lines`` of the source named ``shown``."""
    kept: list[tuple[str, float, bool]] = []
    for line in lines:
        names = count_identifiers(line)
        said = standalone(cut_words(line, SENTENCE_WORDS), names)
        if said is None:  # it pointed at a list or a block the brief does not keep
            continue
        score = BRIEF_SCORE + min(names, 4) * ID_WEIGHT + recency
        defines = _DEFINITION.match(said) is not None  # ("`text` - Plain text response")
        kept.append((said, score - DEFINITION_PENALTY if defines else score, defines))
    if not kept:
        return []
    lead = next((i for i, (_, _, defines) in enumerate(kept) if not defines), 0)
    out: list[Candidate] = []
    for position, (said, score, _) in enumerate([kept[lead], *kept[:lead], *kept[lead + 1 :]]):
        named = f"- {shown} says: {said}"
        if not position:
            out.append(Candidate("asked", seq, score, named))
        else:  # indented under the line before: the source is named once (see Candidate.lead)
            where = seq + min(position, 999) / 1000
            out.append(Candidate("asked", where, score, f"  - {said}", lead=named))
    return out


def sub_agent_brief_lines(item: MemoryItem, seq: int, recency: float) -> list[Candidate]:
    """The brief a sub-agent's transcript opens with, told as the agent's call that gave it is
    (``BRIEF_CALLS``): in a session joined with its sub-agents both say the same lines, once.
    An item stored before the import kept its brief lines has them made here."""
    kept = item.metadata.get("brief")
    brief = briefs.brief_lines(item.content) if kept is None else strs(kept)
    lines = _told(brief, seq, recency, BRIEF_CALLS["Task"])
    if lines or not item.content.strip():
        return lines
    # a brief naming nothing exact (a question to look into): what it asks, its start
    said = cut_words(item.content, SENTENCE_WORDS)
    return [Candidate("asked", seq, BRIEF_SCORE + recency, f"- {BRIEF_CALLS['Task']}: {said}")]


def plan_lines(item: MemoryItem, seq: int, recency: float, root: str | None) -> list[Candidate]:
    """The plan the agent proposed: named by its title (its first line, which the import
    keeps in the item), with its statements that name something exact (``brief_lines``); only its
    title when none does."""
    title = item.content.removeprefix(PLAN_PROPOSED).strip().rstrip(".")
    if len(title.split()) < _MIN_TITLE_WORDS:
        title = ""
    source = f'The plan the agent proposed, "{title}",' if title else BRIEF_CALLS["ExitPlanMode"]
    lines = brief_lines(item, seq, recency, root, source) if item.metadata.get("brief") else []
    if lines or not title:
        return lines
    return [
        Candidate(
            "asked", seq, PLAN_TITLE_SCORE + recency, f"- The agent proposed a plan: {title}."
        )
    ]


__all__ = [
    "BRIEF_CALLS",
    "BRIEF_SCORE",
    "DEFINITION_PENALTY",
    "HEAD_LEAST_WORDS",
    "PLAN_TITLE_SCORE",
    "REQUEST_REST_LEAD",
    "REQUEST_WORDS",
    "SUMMARY_LEAD_IN",
    "brief_lines",
    "head_text",
    "head_words",
    "plan_lines",
    "request_rest",
    "sub_agent_brief_lines",
    "summary_request_lines",
    "summary_request_words",
    "written_by_sub_agent",
]
