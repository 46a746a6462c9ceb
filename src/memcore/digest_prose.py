"""The agent's own words as candidate lines of a session digest: which sentences of its replies,
thinking and reports conclude, decide or name something exact, and what they are worth.

Split from :mod:`memcore.digest_lines` (which turns tool calls, commands, edits, errors and todos
into lines): this is the prose side, with the text helpers both use. A sentence counts when it
names something exact (a code span, a path, a called name) or concludes ("all 19 tests pass",
"the bug was ..."); narration ("Let me check `x`"), instructions to the user ("Report whether it
works") and questions weigh less or nothing; the rest is *spare*: said only when room is left.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memcore._kernels import pipeline
from memcore.claude_code.transcripts import KIND_PRIORITY
from memcore.model import MemoryItem

_AGENT_KINDS = frozenset(KIND_PRIORITY)
#: Words and phrases that conclude or decide ("all 19 tests pass", "the bug was", "fixed",
#: "because", "root cause", ...), written as a trie by first letter and matched against
#: lowercased text: several times faster than the plain case-insensitive alternation, same
#: matches.
CONCLUSION = re.compile(
    r"\b(?:a(?:ll \d+ tests?|dded)"
    r"|t(?:ests? (?:now )?pass\w*|he (?:(?:bug|issue|problem|error|cause|fix) (?:is|was)|problem"
    r"|issue)|urns out)"
    r"|\d+ (?:passed|failed)|pass(?:es|ing)|f(?:ixed|ound (?:that|the))|w(?:orks|orking|ill use)"
    r"|succeeded|c(?:ompleted|onfirmed|reated|aused by|hose)|because|i(?:mplemented|nstead)"
    r"|r(?:emoved|enamed|efactored|oot cause)|updated|verified|decided)\b"
)
_NARRATION = re.compile(
    r"(?i)^(let me|let's|now let me|now i('ll| will)|i('ll| will) (now |first )?|first,? |next,? |"
    r"perfect|great|good|excellent|ok(ay)?\b|now\b|looking at|i see|i need to)"
)
#: A path is tried only where a token with a slash starts (the lookbehind and lookahead): the
#: same matches, without retrying the path at every letter of every word.
_IDENT = re.compile(
    r"`[^`\n]{2,80}`|(?<![\w.-])(?=[\w.-]*/)(?:[\w.-]+/)+[\w.-]+\.\w+|\b[A-Za-z_]\w*\("
)
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_OR_FENCE = re.compile(r"^\s*(\||```|~~~|[-=]{3,}\s*$)")
_BULLET_STARTS = frozenset("-*+0123456789")
BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
#: Status marks that open a checklist line ("✅ Added ..."): the statement is what follows.
_MARKS = re.compile("^[\\s\u2705\u2714\u2713\u2611\U0001f389\U0001f680]+")
#: Sentences that tell the user what to do ("Try `/continue`", "Report whether it works").
_INSTRUCTION = re.compile(
    r"(?i)^(try|report|please|let me know|tell me|make sure|restart|open|navigate|go to|type|"
    r"press|click|copy|paste|run|launch|start|exit|quit|reload|refresh|feel free|you (can|could|"
    r"should|may|might|will need))\b"
)
_PLAIN_WORD = re.compile(r"[A-Za-z]{2,}")
#: Weights of a sentence's exact names and of its recency in its score.
ID_WEIGHT = 0.5
RECENT = 1.5
#: How much less a narrating sentence ("Let me check `x`") is worth than a concluding one.
NARRATION_PENALTY = 3.0
#: Base score of spare lines (prose that names nothing, routine commands that succeeded).
SPARE = 0.5
SENTENCE_WORDS = 60


@dataclass(frozen=True, slots=True)
class Candidate:
    """One line the digest may write: its section, session position, worth, and text."""

    section: str
    seq: float  # position in the session; a detail line sits just after its main line
    score: float
    text: str
    #: the exact names in ``text`` when already known (else found again when choosing)
    names: tuple[str, ...] | None = None
    #: a line said only when every other line has had its chance and room is left
    spare: bool = False


def cut_words(text: str, limit: int) -> str:
    """``text`` on one line, cut after ``limit`` words with an ellipsis (no code span left open)."""
    words = text.split()
    if len(words) <= limit:
        return " ".join(words)
    cut = " ".join(words[:limit])
    if cut.count("`") % 2:
        cut = cut[: cut.rfind("`")].rstrip()
    return cut + "\u2026"


def _key(sentence: str) -> str:
    """What two near-identical sentences share: their words, lowercase, without the end mark."""
    return " ".join(sentence.lower().rstrip(".!:;").split())


def _other_words(sentence: str) -> int:
    """Words of ``sentence`` outside its code spans (names in prose still count as words)."""
    return len(_PLAIN_WORD.findall(re.sub(r"`[^`]*`", " ", sentence)))


def _may_name(text: str) -> bool:
    # every exact name has a backtick, a slash or a parenthesis: most prose has none
    return "`" in text or "/" in text or "(" in text


def count_identifiers(text: str) -> int:
    """How many exact names ``text`` carries."""
    return len(_IDENT.findall(text)) if _may_name(text) else 0


def line_identifiers(text: str) -> list[str]:
    """The exact names a line carries: code spans, paths and called names."""
    if not _may_name(text):
        return []
    return [name.strip("`(") for name in _IDENT.findall(text)]


def is_agent(item: MemoryItem) -> bool:
    """An item imported from a coding agent's session (not a plain note)."""
    return item.metadata.get("source") == "claude-code" or (
        item.metadata.get("kind") in _AGENT_KINDS and "tool" in item.metadata
    )


def has_statements(item: MemoryItem) -> bool:
    """An agent's own text (its replies, thinking, a sub-agent's report, an earlier summary)."""
    meta = item.metadata
    if meta.get("report"):
        return True
    return meta.get("kind") in ("fact", "thinking", "summary") and not meta.get("meta")


def spare_lines(items: Sequence[MemoryItem]) -> list[Candidate]:
    """The agent's own plain prose that :func:`build_candidates` leaves out (sentences naming
    nothing exact and concluding nothing; never a user's text): said only when every other line
    has had its chance and room is left, so they are built only then."""
    out: list[Candidate] = []
    n = max(1, len(items))
    seen: set[str] = set()
    for seq, item in enumerate(items):
        meta = item.metadata
        own = meta.get("role") != "user" and "files_changed" not in meta  # the agent's words
        if own and is_agent(item) and has_statements(item):
            out.extend(statements(item, seq, seq / n, seen, spare=True))
    return out


def statements(
    item: MemoryItem, seq: int, recency: float, seen: set[str], *, spare: bool = False
) -> list[Candidate]:
    """The sentences of an assistant's text that conclude or decide, each a candidate; with
    ``spare``, instead the plain prose sentences that these leave out (see :func:`spare_lines`)."""
    statement = item.metadata.get("statement")
    base = {"conclusion": 3.0, "decision": 3.0, "answer": 2.0}.get(str(statement), 1.0)
    # thinking and sub-agent reports count only where they name something exact
    needs_names = item.metadata.get("kind") in ("thinking", "summary") or bool(
        item.metadata.get("report")
    )
    if needs_names and not spare and not _may_name(item.content):  # names nothing
        return []
    if item.metadata.get("kind") == "thinking":
        base = 0.0
    elif item.metadata.get("report") or item.metadata.get("kind") == "summary":
        base = 2.0  # a sub-agent's report, or what an earlier compaction kept
    out: list[Candidate] = []
    fenced = False
    for raw_line in item.content.splitlines():
        if _FENCE.match(raw_line):
            fenced = not fenced
            continue
        if fenced or not raw_line.strip() or _TABLE_OR_FENCE.match(raw_line):
            continue
        if needs_names and not spare and not _may_name(raw_line):  # no sentence here can count
            continue
        heading = raw_line.lstrip().startswith("#")
        line = raw_line.lstrip().lstrip("#")
        if line[:1] in _BULLET_STARTS:
            line = BULLET.sub("", line)
        line = line.replace("**", "").strip()
        if line and line[0] > "\x7f":
            line = _MARKS.sub("", line)
        if line[:1] in _BULLET_STARTS:  # a bullet after the marks ("✅ - x", "**-** x")
            line = BULLET.sub("", line)
        for start, end in pipeline.split_sentences(line):
            sentence = line[start:end].strip()
            key = _key(sentence)
            if key in seen or sentence.endswith("?"):  # said already, or asked: not a result
                continue
            names = line_identifiers(sentence)
            ids = len(names)
            if ids < 2 and len(sentence.split()) < 4:  # short lines count when they relate names
                continue
            instruction = bool(_INSTRUCTION.match(sentence))
            if instruction and ids == 0:  # "Report whether it works": the user's step, not a fact
                continue
            narration = bool(_NARRATION.match(sentence))
            if narration and ids == 0:
                continue
            if spare and ids:  # the main lines' business
                continue
            # the conclusion test is the costly one: made only where its answer counts
            plain = ids == 0 and (needs_names or heading)
            concluding = not plain and not instruction and bool(CONCLUSION.search(sentence.lower()))
            if ids == 0 and (not concluding or needs_names or heading):
                if spare and not (heading or sentence.endswith(":")):
                    seen.add(key)
                    said = cut_words(sentence, SENTENCE_WORDS)
                    score = SPARE + recency - (0.25 if needs_names else 0.0)
                    at = seq + min(len(out), 999) / 1000  # in the text's own order
                    out.append(Candidate("decisions", at, score, f"- {said}", spare=True))
                continue
            if spare:
                continue
            seen.add(key)
            score = base + (2.0 if concluding else 0.0) + min(ids, 4) * ID_WEIGHT + RECENT * recency
            if narration or instruction:  # what it was about to do, or the user's step
                score -= NARRATION_PENALTY
            if sentence.endswith(":"):  # an introduction to a list or a block
                score -= 1.5
            if ids >= 3 and _other_words(sentence) < 3:  # a list of names states nothing
                score -= 1.5
            said = cut_words(sentence, SENTENCE_WORDS)
            known = tuple(names) if said == sentence else None
            at = seq + min(len(out), 999) / 1000  # in the text's own order
            out.append(Candidate("decisions", at, score, f"- {said}", known))
    return out


__all__ = [
    "BULLET",
    "CONCLUSION",
    "ID_WEIGHT",
    "NARRATION_PENALTY",
    "RECENT",
    "SENTENCE_WORDS",
    "SPARE",
    "Candidate",
    "count_identifiers",
    "cut_words",
    "has_statements",
    "is_agent",
    "line_identifiers",
    "spare_lines",
    "statements",
]
