"""The agent's announcement of a change, said as the change made once an edit carried it out.

An agent says what it is about to change ("Now let me wire `Transition()` into
`InitializeSession`.") and then edits: said as it was, the line reads as narration, an
intention; the edit's own line names the file and the names it changed, not why. When an edit
that succeeded follows the announcement (before the agent speaks again), the announcement is
the purpose of that edit, and the digest says it as done: "Wired `Transition()` into
`InitializeSession`." Only verbs of change are taken, with their past forms listed (no guessed
morphology); "Let me check `f`" announces a look, not a change, and stays as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore.claude_code.tools import EDIT_TOOLS
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

#: Verbs of change an agent announces, and their past forms.
_PAST = {
    "add": "Added",
    "adjust": "Adjusted",
    "apply": "Applied",
    "change": "Changed",
    "clean": "Cleaned",
    "convert": "Converted",
    "create": "Created",
    "delete": "Deleted",
    "drop": "Dropped",
    "extract": "Extracted",
    "fix": "Fixed",
    "implement": "Implemented",
    "make": "Made",
    "move": "Moved",
    "refactor": "Refactored",
    "remove": "Removed",
    "rename": "Renamed",
    "replace": "Replaced",
    "restore": "Restored",
    "revert": "Reverted",
    "rewrite": "Rewrote",
    "simplify": "Simplified",
    "switch": "Switched",
    "update": "Updated",
    "wire": "Wired",
    "wrap": "Wrapped",
    "write": "Wrote",
}
#: "Now let me wire ...", "Let's update ...", "I'll add ...", "Now I'll also fix ...", "Next,
#: update ...", "Now add ...": the announcement, its verb and the rest.
_ANNOUNCED = lazy_compile(
    r"(?i)^(?:(?:now|next|then|ok(?:ay)?|first|finally),?\s+)?"
    r"(?:let me|let's|i'll|i will|i'm going to|i am going to|i need to|we need to)?\s*"
    r"(?:(?:now|also|then|just|quickly)\s+)?(?P<verb>[a-z]+)\s+(?P<rest>\S.*)$"
)
#: An announcement with no opener at all ("Update the tests.") is an instruction more often than
#: not: only taken after one of these openers.
_OPENERS = lazy_compile(
    r"(?i)^(?:now|next|then|let me|let's|i'll|i will|i'm going|i am going|i need|we need)\b"
)


_ENDS = (".", "!", "\u2026")
#: An announcement whose change waits on something ("Let me update the docs if needed.",
#: "I'll fix it later.", "... once the tests pass"), or that is no change of the code ("Let me
#: make sure it works.", "Let me move on to the next task"): the edit that followed may be
#: another change, so it is left as said.
_NOT_DONE = lazy_compile(
    r"(?i)\b(?:unless|once|later|until|in case|eventually|maybe|perhaps|probably|might"
    r"|possibly|if\s+(?:needed|necessary|required|possible|so|any|present|missing|appropriate"
    r"|applicable|it|they|there|we|you|I|the user)"
    r"|when\s+(?:you|I|we|the user|ready|done|needed))\b"
    r"|^(?:\S+\s+)*?(?:make\s+(?:sure|certain)|move\s+on)\b"
)
#: Where an announcement goes on to a step that is no change ("... and run the tests", "...,
#: but first let me read it"), left out: the edit did not do it.
_AND_NOT_CHANGE = lazy_compile(
    r"(?i)(?:,|;)?\s+(?:and\s+(?:also\s+)?(?:run|rerun|re-run|check|test|see|verify|confirm|try"
    r"|build|read|look|commit|push|compile|lint|debug|investigate|understand|continue|ensure"
    r"|retry|validate|inspect|review|examine)\b|but\b)"
)
#: Where an announcement goes on to a later step, left out ("..., then run the tests").
_THEN = lazy_compile(r"(?i)(?:,|;)?\s+(?:and\s+)?then\s")
#: Another verb of the same change, after "and" or a dash: said in the past as well.
_ALSO_VERB = lazy_compile(
    r"(?i)(\s+and\s+(?:also\s+)?|\s+-\s+|\s+\u2014\s+)(" + "|".join(_PAST) + r")\b"
)


def as_done(sentence: str) -> str | None:
    """``sentence`` said as the change made ("Now let me wire `f` into `g`." -> "Wired `f`
    into `g`."), or None when it announces no change (see the module)."""
    if not _OPENERS.match(sentence):
        return None
    found = _ANNOUNCED.match(sentence)
    if found is None:
        return None
    past = _PAST.get(found.group("verb").lower())
    if past is None:
        return None
    rest = found.group("rest").rstrip()
    if rest.endswith((":", "?")):
        return None  # (a list or a question follows: the change is not in this sentence)
    if _NOT_DONE.search(sentence):
        return None
    for later in (_THEN.search(rest), _AND_NOT_CHANGE.search(rest)):
        if later is not None:  # ("..., then implement all changes together": not done yet)
            rest = rest[: later.start()].rstrip(" ,;")
    if not rest:
        return None
    # the change's other verbs said as done too ("... and add the new flags")
    rest = _ALSO_VERB.sub(lambda m: m.group(1) + _PAST[m.group(2).lower()].lower(), rest)
    ended = rest if rest.endswith(_ENDS) else f"{rest}."
    return f"{past} {ended}"


def announced_edits(items: Sequence[MemoryItem]) -> set[int]:
    """The places of the agent's replies that an edit which succeeded follows, before the agent
    speaks again or the user does: their announcements of a change were carried out."""
    found: set[int] = set()
    said: int | None = None
    for seq, item in enumerate(items):
        meta = item.metadata
        kind = meta.get("kind")
        if kind == "fact" and meta.get("role") == "assistant":
            said = seq
        elif kind in ("task", "preference", "shortcut"):
            said = None
        elif (
            said is not None
            and kind == "tool_result"
            and meta.get("tool") in EDIT_TOOLS
            and meta.get("is_error") is not True  # (a guard's refusal changed nothing)
        ):
            found.add(said)
    return found


__all__ = ["announced_edits", "as_done"]
