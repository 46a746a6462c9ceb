"""Diagnoses a later one overtook: while it debugs, an agent says what the problem is several
times ("The main issue is that `prompt_attributions` isn't being saved.", then "So the issue is
in how the hooks find the binary", then the cause it fixed). Said side by side in a digest, the
first guesses read as findings that stand. Within one turn (from a request of the user's to the
next), only the last item's diagnosis is said. Part of :mod:`memcore.digest_lines`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from memcore.digest_prose import Candidate
from memcore.digest_state import USER_SAID
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

#: A sentence that says what the problem is: "the (main|real|root...) issue/problem/bug/cause
#: is", "this means the issue is", "the culprit was".
DIAGNOSIS = lazy_compile(
    r"(?i)\b(?:the|this|that)\s+(?:main\s+|real\s+|root\s+|actual\s+|underlying\s+|core\s+)?"
    r"(?:issue|problem|bug|cause|culprit)\s+(?:here\s+)?(?:is|was)\b"
)
#: What every line ``DIAGNOSIS`` finds holds, lowercased (most lines hold none).
_HINTS = ("issue", "problem", "bug", "cause", "culprit")


def _diagnoses(text: str) -> bool:
    lowered = text.lower()
    for hint in _HINTS:
        if hint in lowered:
            return DIAGNOSIS.search(text) is not None
    return False


def said_overtaken_diagnoses(
    cands: list[Candidate], items: Sequence[MemoryItem]
) -> list[Candidate]:
    """``cands`` without the result lines that diagnose the problem from an earlier item of a
    turn whose later item diagnoses it again: the last diagnosis of a turn is what the agent
    settled on (the lines of one item say one account, and are all kept)."""
    found = [
        k
        for k, cand in enumerate(cands)
        if cand.section == "decisions" and not cand.spare and _diagnoses(cand.text)
    ]
    if len(found) < 2:
        return cands
    starts = [
        seq
        for seq, item in enumerate(items)
        if item.metadata.get("kind") in USER_SAID and item.metadata.get("role") == "user"
    ]
    last: dict[int, int] = {}  # the turn -> the item of its last diagnosis
    for k in found:
        at = int(cands[k].seq)
        turn = _turn(starts, at)
        last[turn] = max(last.get(turn, -1), at)
    dropped = {k for k in found if int(cands[k].seq) < last[_turn(starts, int(cands[k].seq))]}
    if not dropped:
        return cands
    return [cand for k, cand in enumerate(cands) if k not in dropped]


def _turn(starts: list[int], seq: int) -> int:
    """The turn of item ``seq``: the last user request at or before it (-1: none)."""
    at = bisect_right(starts, seq)
    return starts[at - 1] if at else -1


__all__ = ["DIAGNOSIS", "said_overtaken_diagnoses"]
