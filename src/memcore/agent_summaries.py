"""What a coding-agent session's older levels say (:mod:`memcore.compression`): their digest at
the level's budget, a level-3 group's budget raised until it names every file the group holds,
and the line listing the agent's scaffolding in place of a summary.

A level-3 group of an agent session is mostly one-line records ("Read `cmd/cli/setup.go` (lines
400-479)", "Updated `cmd/cli/hooks.go` in `checkConcurrentSessions()`"): a fifth of their
tokens is a few tokens a record, while the digest's statement about one file ("- `cmd/cli/
setup.go` was read, not changed.") costs the file's whole path and more. At the level's budget
the digest fitted one file's line, or none and the group fell back to its first record's
sentence: 13 of the 17 groups of the real sessions holding several files named one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from memcore.model import MemoryItem
from memcore.summarize import SAYS_NOTHING_WORDS, word_count
from memcore.tokens import TokenCounter

#: How many times a group's budget is doubled, at most, looking for a digest naming its files
#: (then its whole size is tried: a group's budget never goes past it).
MAX_DOUBLINGS = 4


def without_branch(item: MemoryItem) -> MemoryItem:
    """``item`` without the git branch its record was made on (a copy when it names one)."""
    if "git_branch" not in item.metadata:
        return item
    meta = {key: value for key, value in item.metadata.items() if key != "git_branch"}
    return MemoryItem(item.id, item.content, item.priority, item.created_at, meta)


def scaffolding_summary(items: Sequence[MemoryItem]) -> str:
    """What a level-3 group of an agent's scaffolding says in place of a summary."""
    from memcore.claude_code.records import scaffolding_kind
    from memcore.session_items import COMMAND_PROMPT, is_command_prompt

    kinds: dict[str, int] = {}
    for item in items:
        if is_command_prompt(item):  # (its 4,000 characters are not read for a kind)
            name = COMMAND_PROMPT
        else:
            name = scaffolding_kind(item.content) or str(item.metadata.get("what", "other"))
        kinds[name] = kinds.get(name, 0) + 1
    listed = ", ".join(f"{name} x{n}" for name, n in sorted(kinds.items()))
    noun = "record" if len(items) == 1 else "records"
    return f"{len(items)} {noun} of the agent's own scaffolding ({listed}): not summarized."


def group_files(items: Sequence[MemoryItem]) -> list[str]:
    """The names (last path parts) of the files ``items`` read, edited or wrote, in order."""
    names: dict[str, None] = {}
    for item in items:
        path = item.metadata.get("file_path")
        if isinstance(path, str) and path.strip():
            names[re.split(r"[\\/]", path.strip())[-1]] = None
    return [name for name in names if name]


def files_named(text: str, names: Sequence[str]) -> int:
    """How many of the file ``names`` ``text`` mentions (as a path's last part)."""
    return sum(1 for name in names if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text))


def budget_ladder(budget: int, whole: int) -> list[int]:
    """``budget``, doubled up to ``MAX_DOUBLINGS`` times while under ``whole``, then
    ``whole``: the budgets a group's summary is looked for at, smallest first."""
    ladder = [max(1, budget)]
    while len(ladder) <= MAX_DOUBLINGS and ladder[-1] * 2 < whole:
        ladder.append(ladder[-1] * 2)
    if ladder[-1] < whole:
        ladder.append(whole)
    return ladder


def naming_most(texts: Iterable[str], names: Sequence[str]) -> str | None:
    """The first of ``texts`` (smallest budget first, read only until one names every name)
    that says something and names the most of ``names``; None when none says anything."""
    best: tuple[int, str] | None = None
    for text in texts:
        if word_count(text) < SAYS_NOTHING_WORDS:
            continue
        named = files_named(text, names)
        if best is None or named > best[0]:
            best = (named, text)
        if named == len(names):
            break
    return None if best is None else best[1]


def agent_digest(
    items: list[MemoryItem],
    ratio: float,
    latest: datetime | None,
    count: TokenCounter,
    *,
    group: bool,
) -> str | None:
    """The digest of an agent session's ``items`` at ``ratio`` of their tokens, or None when it
    says nothing (fewer than ``SAYS_NOTHING_WORDS`` words).

    Items older than ``latest`` are digested as the start of a session that goes on (the
    bundle holds what follows): their last item is not "where the session stopped", nor is
    a commit missing from them missing from the session. A group's digest has no headings
    and is not told the branch: the branch's line, the same in every group, took the whole
    budget of a small group and said nothing of its edit or its command. A group holding
    several files gets the smallest budget of :func:`budget_ladder` at which its digest names
    the most of them: what the group holds, not its first file's line."""
    from memcore.digest import unchecked_digests  # the digest's tables load on first use

    whole = sum(count(item.content) for item in items)
    budgets = [max(1, int(whole * ratio))]
    names = group_files(items) if group else []
    if len(names) > 1:
        budgets = budget_ladder(budgets[0], whole)
    ongoing = latest is not None and items[-1].created_at < latest
    told = [without_branch(item) for item in items] if group else items
    # (unchecked: no digest fits a budget below what the counter says the empty text is; the
    # empty digest then says nothing, and the caller's summary is taken)
    digests = unchecked_digests(told, budgets, counter=count, ongoing=ongoing)
    if not group:
        text = digests[0].text.strip()
        return text if word_count(text) >= SAYS_NOTHING_WORDS else None
    texts = ["\n".join(part for part in d.sections.values() if part.strip()) for d in digests]
    return naming_most(texts, names)


def group_summary(
    summarize: Callable[[list[str], float], str],
    items: list[MemoryItem],
    ratio: float,
    digest: str | None,
) -> str:
    """A level-3 group's summary: its ``digest`` (``agent_digest``'s, None when it says
    nothing) when the group holds one file or none, or the digest names every file, else
    whichever of it and the extractive summary names more of them, the digest on a tie. The
    extractive one is taken at ``ratio``, or the smallest ratio of the same ladder (doubled
    while under 1, then 1) naming the most files: the digest's statement about a
    file ("- `cmd/cli/testenv.go` was read (lines 650-749, 930-1079), not changed.") is
    longer than its records ("Read `cmd/cli/testenv.go` (lines 650-749)"), so a group of
    reads may fit every file only as its records, and a group of edits' results ("Updated
    `a.go` in `f()`": their calls are elsewhere) has no digest at all."""
    texts = [item.content for item in items]
    names = group_files(items)
    in_digest = files_named(digest, names) if digest is not None and len(names) > 1 else 0
    if len(names) < 2 or in_digest == len(names):
        return digest if digest is not None else summarize(texts, ratio)
    ratios = [ratio * 2**k for k in range(MAX_DOUBLINGS + 1) if ratio * 2**k < 1.0]
    ladder = [*ratios, 1.0] if ratios else [ratio]
    best = naming_most((summarize(texts, r) for r in ladder), names)
    if digest is not None and (best is None or in_digest >= files_named(best, names)):
        return digest
    return best if best is not None else summarize(texts, ratio)


__all__ = [
    "MAX_DOUBLINGS",
    "agent_digest",
    "budget_ladder",
    "files_named",
    "group_files",
    "group_summary",
    "naming_most",
    "scaffolding_summary",
    "without_branch",
]
