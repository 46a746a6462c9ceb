"""The candidate lines as the greedy sees them (:mod:`memcore.digest_greedy` chooses among
them): the sections in the order they are written, with their titles and first-pass budget
shares, one line per distinct text, and each line's cost, names, hold and the line it waits for,
worked out once for all the budgets a digest is made at (:mod:`memcore.digest_engine`).
"""

from __future__ import annotations

from typing import NamedTuple

from memcore.digest_asked import REQUEST_REST_LEAD
from memcore.digest_echo import EchoTexts
from memcore.digest_lines import Candidate, line_identifiers
from memcore.tokens import TokenCounter

#: Sections in the order they are written, with their headings and first-pass budget shares.
SECTIONS: tuple[tuple[str, str, float], ...] = (
    ("asked", "What was asked", 0.22),
    ("decisions", "Decisions and results", 0.25),
    ("files", "Files and functions touched", 0.25),
    ("commands", "Commands and outcomes", 0.05),
    ("errors", "Errors and fixes", 0.12),
    ("open", "Still open", 0.08),
    ("notes", "Notes", 0.30),
)
_TITLES = {name: title for name, title, _ in SECTIONS}
#: Each section's place in that order, and its first-pass share of the budget.
SECTION_ORDER = {name: index for index, (name, _, _) in enumerate(SECTIONS)}
SECTION_SHARES = {name: share for name, _, share in SECTIONS}


def unique_lines(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per distinct line: the best scored (the latest on a tie)."""
    best: dict[str, Candidate] = {}
    for cand in candidates:
        held = best.get(cand.text)
        if held is None or (cand.score, cand.seq) > (held.score, held.seq):
            best[cand.text] = cand
    return list(best.values())


def heading(section: str) -> str:
    return f"## {_TITLES[section]}"


class Lines(NamedTuple):
    """The candidate lines in the greedy's order, with what choosing them costs and names:
    the same for every budget a digest is made at, so worked out once."""

    cands: list[Candidate]
    costs: list[int]
    names: list[frozenset[str]]
    heading_cost: dict[str, int]
    #: each line's names and words for its echoes (``memcore.digest_echo``)
    echo_texts: EchoTexts
    #: whether each line waits for ``release_spare``: a spare line, or one of the items a
    #: compaction summarized (flagged here, not copied into a new ``Candidate`` each)
    held: list[bool]
    #: the line each line waits for (-1: none): a long request's further lines wait for the
    #: request's own line, which says what they are part of (cheaper, they would fill the
    #: section before it and be said as "the request also said" of a request never said)
    needs: list[int]


def prepare_lines(
    candidates: list[Candidate], count: TokenCounter, cut: int = 0, asked_before: bool = False
) -> Lines:
    """The greedy's view of ``candidates``; the lines of items before ``cut`` (a compaction
    summary's place) are held back, except, with ``asked_before``, what the user asked there
    (the summary says nothing of it: they are the only account of it)."""
    cands = sorted(candidates, key=lambda c: (SECTION_ORDER[c.section], c.seq, c.text, c.score))
    return Lines(
        cands,
        [count(c.text) + 1 for c in cands],
        [frozenset(line_identifiers(c.text) if c.names is None else c.names) for c in cands],
        {name: count(heading(name)) + 2 for name in _TITLES},
        EchoTexts(),
        [  # (the title, at -1, is never held)
            c.spare
            or (0 <= c.seq < cut and not c.early and not (asked_before and c.section == "asked"))
            for c in cands
        ],
        _needs(cands),
    )


def _needs(cands: list[Candidate]) -> list[int]:
    """``Lines.needs`` of ``cands`` (in the greedy's order: a request's line comes just
    before its further lines, at fractions of its ``seq``)."""
    needs = [-1] * len(cands)
    head = -1
    for i, cand in enumerate(cands):
        if cand.lead is None:
            if cand.section == "asked" and cand.seq == int(cand.seq):
                head = i
        elif (
            cand.lead.startswith(REQUEST_REST_LEAD)
            and head >= 0
            and cands[head].seq == int(cand.seq)
        ):
            needs[i] = head
    return needs


__all__ = [
    "SECTIONS",
    "SECTION_ORDER",
    "SECTION_SHARES",
    "Lines",
    "heading",
    "prepare_lines",
    "unique_lines",
]
