"""What ``memcore hook session-start`` tells a new (or compacted) session of a project.

Within a token budget: the notes remembered for the project through the MCP server that every
session should know (the user's preferences, what was marked critical or high), what the earlier
sessions learned of the user, the files that matter, and the earlier sessions' digests, the
latest first; after a compaction, this session's own digest before all of it. When the budget
is short, the latest session's digest is shrunk (a shorter digest, then whole lines cut), never
dropped in favour of older ones.

Everything is read straight from the store's snapshots: no replica, nothing written, so it works
on a store opened read-only, and nothing of the transcript parser is imported (session-start
runs before the user's first prompt).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

from memcore.claude_code.discovery import CLAUDE_FOLDER
from memcore.claude_code.forget import forgotten_ids, is_forgotten
from memcore.claude_code.picked_tests import picks_tests
from memcore.claude_code.project import (
    SessionRecord,
    is_entry_of,
    is_note_of,
    known_project,
    latest_first,
    notes_session,
    project_candidates,
    registry_session,
)
from memcore.claude_code.records import MEMCORE_CONTEXT_MARK
from memcore.claude_code.session_record import cut_at_word, distinct
from memcore.claude_code.titles import BRANCH_LEAD, CLOSING_QUESTION
from memcore.claude_code.worktrees import linked_tree
from memcore.errors import MemcoreError
from memcore.model import MemoryItem, Priority
from memcore.tokens import count_tokens

#: Earlier sessions whose digests session-start considers, newest first.
EARLIER_SESSIONS = 5
#: The fewest tokens an earlier session's digest is given while more sessions could be shown
#: (about the shortest digest kept, ``BRIEF_DIGEST_TOKENS``): when the budget is short, fewer
#: sessions, the latest, are told well rather than each in a line.
SESSION_SHARE = 150
#: The longest a remembered note is shown (longer ones are cut at a word, marked).
NOTE_CHARS = 400


async def live_items(store: Any, session: str) -> list[MemoryItem]:
    """The session's live items from the store's snapshot; a damaged record is skipped."""
    from memcore.stores import decode_entry

    snapshot = await store.read_snapshot(session)
    items = []
    for record in snapshot.records.values():
        try:
            entry = decode_entry(record)
            if not entry.deleted:
                items.append(MemoryItem.coerce(entry.value))
        except (MemcoreError, ValueError, TypeError):
            continue
    return items


def entries_of(items: list[MemoryItem], project: str) -> list[SessionRecord]:
    """The registry entries of ``project``, the latest active first. An entry naming another
    folder, or none, is left out: two projects whose paths differ only in ``/`` and ``-`` share
    a registry key (Claude Code's own folder names collide the same way), not their memory."""
    records = []
    for item in items:
        if not is_entry_of(item, project) or is_forgotten(item):
            continue
        try:
            records.append(SessionRecord.from_item(item))
        except (MemcoreError, ValueError, TypeError):
            continue  # a damaged entry
    return latest_first(records)


async def project_records(store: Any, cwd: str) -> list[SessionRecord]:
    """Every saved session of the project a session at ``cwd`` belongs to (``cwd``, else the
    nearest folder above it with memory, see ``known_project``), the latest active first."""
    return (await project_entries(store, cwd))[1]


def forgotten_of(items: Iterable[MemoryItem], project: str) -> set[str]:
    """The ids of ``project``'s sessions marked forgotten (``memcore forget``) among the items
    of its registry (another folder's marks, by the same key, are not its)."""
    return forgotten_ids(item for item in items if is_entry_of(item, project))


async def project_entries(store: Any, cwd: str) -> tuple[str, list[SessionRecord]]:
    """The project of a session at ``cwd`` and its saved sessions, the latest active first. In
    a linked git worktree (the repository's project, see ``memcore.claude_code.worktrees``),
    also those a hook filed under the worktree's own folder before worktrees were one project:
    the nearest of it and the folders above it, below the project, that holds any."""
    project, records, _ = await project_registry(store, cwd)
    return project, records


async def project_registry(store: Any, cwd: str) -> tuple[str, list[SessionRecord], set[str]]:
    """``project_entries``, and the ids of the project's sessions marked forgotten
    (``memcore forget``), from the same reads."""
    project = await known_project(store, cwd)
    items = await live_items(store, registry_session(project))
    records = entries_of(items, project)
    forgotten = forgotten_of(items, project)
    if linked_tree(cwd) is None:
        return project, records, forgotten
    for folder in project_candidates(cwd):
        if folder == project:
            break
        if await store.version(registry_session(folder)) > 0:
            items = await live_items(store, registry_session(folder))
            filed = entries_of(items, folder)
            forgotten |= forgotten_of(items, folder)
            if not filed:
                continue  # (another folder's registry, by the same key)
            known = {r.session_id for r in records}
            records = latest_first([*records, *(r for r in filed if r.session_id not in known)])
            break
    return project, records, forgotten


async def project_notes(store: Any, project: str) -> list[MemoryItem]:
    """The notes remembered for ``project`` through the MCP server: those stored with its very
    folder (another folder's notes may share the session, see ``is_note_of``)."""
    return [n for n in await live_items(store, notes_session(project)) if is_note_of(n, project)]


class _Budget:
    """Adds markdown blocks while they fit in a token budget; cuts a block by whole lines."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.parts: list[str] = []
        self.used = 0

    def text(self) -> str:
        return "\n\n".join(self.parts)

    def room(self, share: int | None = None) -> int:
        """The tokens a block added now may take (at most ``share``)."""
        room = self.budget - self.used - (2 if self.parts else 0)
        return room if share is None else min(room, share)

    def add(self, block: str, share: int | None = None, *, heading_only: bool = False) -> bool:
        """Add as much of ``block`` as fits (and within ``share`` tokens); False if none did."""
        room = self.room(share)
        lines = block.strip().splitlines()
        while lines and count_tokens("\n".join(lines)) > room:
            lines.pop()
        # a heading alone says nothing, and a blank line before it ended the block blank
        while lines and (
            not lines[-1].strip() or (not heading_only and lines[-1].lstrip().startswith("#"))
        ):
            lines.pop()
        if not lines:
            return False
        piece = "\n".join(lines)
        self.parts.append(piece)
        self.used = count_tokens(self.text())
        return True

    def add_notes(self, block: str, share: int | None = None) -> bool:
        """Add a heading and its list of notes, the most important first, as they fit (and
        within ``share`` tokens); False if no note did. A note that does not fit whole is cut
        at a word (marked), to half the room left when a later note fits whole in the other
        half, else to all of it; later notes that fit whole are kept. Cut by whole lines
        instead, one long critical note at the top took every note after it out, and the
        block said nothing at all."""
        room = self.room(share)
        heading, *notes = block.strip().splitlines()
        kept = [heading]
        if count_tokens(heading) > room:
            return False
        cut = False
        for at, note in enumerate(notes):
            if count_tokens("\n".join([*kept, note])) <= room:
                kept.append(note)
                continue
            if cut:
                continue
            left = room - count_tokens("\n".join(kept)) - 1  # (the line's newline)
            half = left // 2
            others = any(count_tokens(later) <= left - half for later in notes[at + 1 :])
            most = room - (left - half if others else 0)
            shortened = _cut_note(note, kept, most)
            if shortened:
                kept.append(shortened)
                cut = True  # (one cut note: more would each say less than the one before)
        if len(kept) == 1:  # (a heading alone says nothing)
            return False
        self.parts.append("\n".join(kept))
        self.used = count_tokens(self.text())
        return True


#: The fewest words of a note a cut keeps: fewer say nothing of it (see ``memcore.summarize``).
NOTE_LEAST_WORDS = 4


def _cut_note(line: str, above: list[str], most: int) -> str:
    """The longest start of a note's list line (``- text``) that fits under the lines
    ``above`` in ``most`` tokens, cut after a word and ending with an ellipsis; empty when even
    its first ``NOTE_LEAST_WORDS`` words do not."""
    bullet, *words = line.split(" ")

    def start(count: int) -> str:
        return " ".join([bullet, *words[:count]]).rstrip(" ,;:\u2026") + "\u2026"

    def fits(text: str) -> bool:
        return count_tokens("\n".join([*above, text])) <= most

    low, high, best = NOTE_LEAST_WORDS, len(words) - 1, ""
    while low <= high:
        middle = (low + high) // 2
        if fits(start(middle)):
            best, low = start(middle), middle + 1
        else:
            high = middle - 1
    return best


def _least(block: str) -> int:
    """The tokens of a block's start that says something: its headings and first line."""
    lines = block.strip().splitlines()
    end = next((n for n, line in enumerate(lines) if not line.lstrip().startswith("#")), None)
    return count_tokens("\n".join(lines if end is None else lines[: end + 1]))


#: Kinds of remembered note shown whatever their priority: the user's preferences, what was
#: decided (kept so that a later session does not decide it again, or otherwise), and work
#: left to do (a todo kept for later sessions is for them to take up). A plain fact is found
#: by ``recall`` when a session asks for it.
_ALWAYS_SHOWN = frozenset(("preference", "decision", "todo", "task"))


def _notes_block(notes: list[MemoryItem]) -> str:
    """The remembered notes every session should know: the user's preferences, the decisions,
    the open tasks and the notes marked critical or high, critical first, then the latest
    first."""
    chosen = [
        note
        for note in notes
        if note.metadata.get("kind") in _ALWAYS_SHOWN or note.priority >= Priority.HIGH
    ]
    chosen.sort(key=lambda n: (-n.priority.rank, -n.created_at.timestamp(), n.id))
    lines = [f"- {cut_at_word(note.content, NOTE_CHARS)}" for note in chosen]
    lines = list(dict.fromkeys(line for line in lines if line != "- "))
    return "\n".join(["## Remembered for this project", *lines]) if lines else ""


#: Every this many places behind the latest, a session's changes count half (``_files_block``).
RECENCY_HALF = 2


def _files_block(records: list[SessionRecord]) -> str:
    """The project's files that its sessions changed most, then those they used most. A file
    outside the project's folder is one only when a session changed it: a plan attached from
    ``/tmp`` was read once and matters no more. Claude Code's own files outside it (a
    ``.claude`` folder's: the plan a session wrote in plan mode, its notes) are that session's,
    changed or not, and none of the project's. Nor does a file
    of the project that is no longer there (deleted, or moved away) when the project's folder
    is on this machine (a store shared with another machine names files this one may not
    have)."""
    totals: dict[str, list[int]] = {}
    weighed: dict[str, float] = {}  # changes, the latest sessions' counting most (see below)
    here: dict[str, bool] = {}  # project folder -> whether it is on this machine
    for rank, record in enumerate(records):  # (the latest first)
        root = record.cwd.rstrip("/") + "/"
        if record.cwd not in here:
            here[record.cwd] = bool(record.cwd) and os.path.isdir(record.cwd)
        for path, counts in record.files.items():
            under = bool(record.cwd) and path.startswith(root)
            outside = bool(record.cwd) and not under and path.startswith("/")
            if outside and (not counts.get("changed") or CLAUDE_FOLDER in path):
                continue
            if under and here[record.cwd] and not os.path.lexists(path):
                continue  # gone: whatever it was, it is no file of the project now
            shown = path[len(root) :] if under else path
            entry = totals.setdefault(shown, [0, 0, 0])
            entry[0] += int(counts.get("changed", 0))
            entry[1] += int(counts.get("touched", 0))
            entry[2] += 1
            weight = 0.5 ** (rank / RECENCY_HALF)
            weighed[shown] = weighed.get(shown, 0.0) + int(counts.get("changed", 0)) * weight
    # ranked by changes weighed by how recent their session is: a script changed 17 times in a
    # session of weeks ago no longer comes before the files the latest sessions worked on
    ranked = sorted(
        totals.items(),
        key=lambda kv: (-weighed[kv[0]], -kv[1][2], -kv[1][1], kv[0]),
    )
    lines = ["## Files that matter in this project"]
    for path, (changed, touched, sessions) in ranked[:12]:
        how = f"changed {changed}x" if changed else f"used {touched}x"
        over = "in 1 session" if sessions == 1 else f"over {sessions} sessions"
        lines.append(f"- `{path}`: {how} {over}")
    return "\n".join(lines) if len(lines) > 1 else ""


#: The most check commands session-start lists.
CHECKS_SHOWN = 6


def _checks_block(records: list[SessionRecord]) -> str:
    """How the project is tested, built and linted: the checks that passed in its sessions
    (``SessionRecord.checks``), those of the most sessions first, then the most run."""
    totals: dict[str, list[int]] = {}  # command -> [sessions, runs]
    alone = {c for record in records for c in record.checks if "&&" not in c}
    for record in records:
        for command, runs in _folded_checks(record.checks, alone).items():
            entry = totals.setdefault(command, [0, 0])
            entry[0] += 1
            entry[1] += runs
    # (a run of the tests a filter picks, in one session, is a focused run, not how the project
    # is checked: left out where a check of the whole was run)
    whole = any(not picks_tests(command) for command in totals)
    ranked = sorted(
        (
            (command, counts)
            for command, counts in totals.items()
            if not (whole and counts[0] == 1 and picks_tests(command))
        ),
        key=lambda kv: (-kv[1][0], -kv[1][1], len(kv[0]), kv[0]),
    )
    lines = ["## Checks that passed in this project (tests, builds, linters)"]
    for command, (sessions, runs) in ranked[:CHECKS_SHOWN]:
        over = f"in {sessions} sessions" if sessions > 1 else "in 1 session"
        lines.append(f"- `{command}`: passed {runs}x {over}")
    return "\n".join(lines) if len(lines) > 1 else ""


def _folded_checks(checks: dict[str, int], alone: set[str]) -> dict[str, int]:
    """A session's checks, a chain of them (``mise run test && mise run lint``) counted as a
    run of each when every one of them is a check of its own in some session: its line would
    say again, in other words, what theirs say."""
    folded: dict[str, int] = {}
    for command, runs in checks.items():
        parts = [part.strip() for part in command.split("&&")]
        for part in parts if len(parts) > 1 and all(p in alone for p in parts) else [command]:
            folded[part] = folded.get(part, 0) + runs
    return folded


def _shortcut_lines(uses: Iterable[str], limit: int = 8) -> list[str]:
    """The user's slash commands (``uses``: each session's, the oldest first), by name, the
    last used last: a command's arguments are shown only when that very call was made in more
    than one session (``/deploy staging``), since one call's arguments (a pull request's URL)
    are no shortcut; how many sessions used it when more than one."""
    calls: dict[str, list[str]] = {}  # name -> its calls, in order
    for use in uses:
        words = " ".join(use.split())
        if not words:
            continue
        name = words.split(" ", 1)[0]
        calls.setdefault(name, []).append(words)
        calls[name] = calls.pop(name)  # (used again: a late one)
    lines = []
    for name, made in list(calls.items())[-limit:]:
        last = made[-1]
        shown = last if made.count(last) > 1 or last == name else name
        often = f" (in {len(made)} sessions)" if len(made) > 1 else ""
        lines.append(f"- {cut_at_word(shown, 120)}{often}")
    return lines


def _knowledge_block(records: list[SessionRecord]) -> str:
    """What the sessions (``records``, the latest first) learned of the user, the latest kept
    when there is more than room (``distinct`` keeps the last texts of what it is given)."""
    oldest_first = records[::-1]
    preferences = distinct(p for r in oldest_first for p in r.preferences)
    shortcuts = _shortcut_lines(s for r in oldest_first for s in r.shortcuts)
    tasks = distinct((t for r in oldest_first for t in r.common_tasks), limit=5)
    blocks: list[str] = []  # (each section apart, as the context's others are)
    if preferences:
        blocks.append("\n".join(["## What the user prefers", *(f"- {p}" for p in preferences)]))
    if shortcuts:
        blocks.append("\n".join(["## The user's shortcuts", *shortcuts]))
    if tasks:
        blocks.append(
            "\n".join(["## Requests the user made more than once", *(f"- {t}" for t in tasks)])
        )
    return "\n\n".join(blocks)


def session_time(record: SessionRecord) -> str:
    """When the session last did something, to the minute ("2026-01-22 01:40 UTC")."""
    stamp = record.last_activity or record.updated_at  # (stored in UTC, as every item's time)
    return f"{stamp[:16].replace('T', ' ')} UTC" if stamp else "time unknown"


def shown_digest(record: SessionRecord, digest: str) -> str:
    """``digest`` as a session's block shows it, under a heading that names the session's
    branch: the digest's line saying only that is left out, with a section it was alone in."""
    said = f"{BRANCH_LEAD}`{record.git_branch}`." if record.git_branch else None
    lines = [line for line in digest.strip().splitlines() if line != said]
    # (a section's heading, then its lines; the blank line between sections is none of them)
    told = [at for at, line in enumerate(lines) if line.strip()]
    after = {at: lines[then] for at, then in pairwise(told)}
    kept = [
        line
        for at, line in enumerate(lines)
        if not line.startswith("#") or not after.get(at, "#").startswith("#")
    ]
    # (no blank line left first, or doubled, where a heading went)
    return "\n".join(
        line for at, line in enumerate(kept) if line.strip() or (at and kept[at - 1].strip())
    )


#: How an earlier session's closing question is said at a later session's start: the digest,
#: written when the session ended, said it was awaited; since then the user started another
#: session, and may have answered it there or moved on.
ENDED_ON_QUESTION = "- Unanswered when the session ended: "


def _session_block(record: SessionRecord, title: str, room: int, *, ended: bool = True) -> str:
    """The session under ``title``, from the longest of its digests whose block fits ``room``
    tokens (else the shortest, which the budget then cuts by whole lines); ``ended``: an
    earlier session, its closing question said as left unanswered, not as awaited now."""
    when = session_time(record)
    branch = f", branch `{record.git_branch}`" if record.git_branch else ""
    blocks = []
    for digest in dict.fromkeys(d for d in (record.digest, *record.briefs) if d.strip()):
        body = "\n".join(
            _as_shown(line, ended) for line in shown_digest(record, digest).splitlines()
        )
        block = f"## {title} ({when}{branch})\n{body}"
        blocks.append((count_tokens(block), block))
    blocks.sort()
    fitting = [block for tokens, block in blocks if tokens <= room]
    return fitting[-1] if fitting else blocks[0][1]


def _as_shown(line: str, ended: bool) -> str:
    """A digest's line in a session's block: a heading one level under the session's, and
    (``ended``) the closing question said as left unanswered."""
    if line.startswith("#"):
        return "#" + line
    if ended and line.startswith(CLOSING_QUESTION):
        return ENDED_ON_QUESTION + line.removeprefix(CLOSING_QUESTION)
    return line


#: How many times an older session's share of the room the latest earlier session gets.
LATEST_WEIGHT = 2


#: A budget no project's context reaches: what is told at it is all there is to tell.
WHOLE_BUDGET = 10**9


def budget_holds_none(budget: int, folder: str) -> str:
    """Why a project with memory was told nothing at ``budget`` (``memcore digest --project``
    and the session-start hook say it alike): not that it has none."""
    tokens = f"{budget} token{'' if budget == 1 else 's'}"
    return (
        f"a budget of {tokens} holds no line of what is saved of the project of {folder}: "
        "give a larger --budget"
    )


async def start_context(
    cwd: str,
    session_id: str,
    store: Any,
    budget: int,
    *,
    compacted: bool = False,
    entries: tuple[str, list[SessionRecord]] | None = None,
) -> str:
    """The additional context for a new (or, ``compacted``, compacted) session at ``cwd``;
    ``entries``: its ``project_entries``, when the caller has read them."""
    project, records = entries if entries is not None else await project_entries(store, cwd)
    notes = _notes_block(await project_notes(store, project))
    own = next((r for r in records if r.session_id == session_id), None)
    earlier = [r for r in records if r.session_id != session_id and r.digest.strip()]
    compacted = compacted and own is not None and bool(own.digest.strip())
    text, left = _compose(budget, notes, own if compacted else None, earlier, budget // 2)
    if compacted and left > OWN_MORE_LEAST:
        # the earlier work took less than its half: the session's own digest gets the rest (a
        # longer one of its digests, when one fits), composed again around it
        again, _ = _compose(budget, notes, own, earlier, budget // 2 + left)
        text = again or text
    return text


#: The fewest tokens left unused after a compacted session's context that make it compose
#: again with its own digest given them.
OWN_MORE_LEAST = 100


def _compose(
    budget: int,
    notes: str,
    own: SessionRecord | None,
    earlier: list[SessionRecord],
    own_share: int,
) -> tuple[str, int]:
    """The context (empty when it says nothing) and the tokens it left unused: the session's
    own digest first (``own``, after a compaction) within ``own_share``, then the project's
    notes, knowledge, checks and files, then the latest earlier sessions."""
    fit = _Budget(budget)
    header = f"{MEMCORE_CONTEXT_MARK}memory of this project's earlier work"
    if own is not None:
        header = f"{MEMCORE_CONTEXT_MARK}what this session did before compaction, and earlier work"
    if not fit.add(header, heading_only=True):
        return "", 0
    said = False
    if own is not None:
        block = _session_block(
            own, "This session before compaction", fit.room(own_share), ended=False
        )
        said |= fit.add(block, own_share)
    # room is kept for the start of the latest session's digest
    latest = _session_block(earlier[0], "Earlier session", 0) if earlier else ""
    reserve = _least(latest) if latest else 0
    if notes:
        said |= fit.add_notes(notes, max(0, min(budget // 4, fit.room() - reserve)))
    for block, share in (
        (_knowledge_block(earlier), budget // 4),
        (_checks_block(earlier), budget // 10),
        # (a project of one session: its digest, next, tells its files; the block said them
        # again, where ranking across sessions is what it is for)
        (_files_block(earlier) if len(earlier) > 1 else "", budget // 5),
    ):
        if block:
            said |= fit.add(block, max(0, min(share, fit.room() - reserve)))
    # as many earlier sessions as get a short digest each, the latest first
    chosen = earlier[: min(EARLIER_SESSIONS, max(1, fit.room() // SESSION_SHARE))]
    # the latest weighs LATEST_WEIGHT times each older one: split evenly, the room an older one
    # could not use flowed to the next, and the latest, first, got the least of all
    weights = [LATEST_WEIGHT] + [1] * (len(chosen) - 1)
    for index, record in enumerate(chosen):
        share = max(1, fit.room() * weights[index] // sum(weights[index:]))
        block = _session_block(record, "Earlier session", share)
        said |= fit.add(block, max(share, min(_least(block), fit.room())))
    return (fit.text(), fit.room()) if said else ("", 0)


__all__ = [
    "CHECKS_SHOWN",
    "EARLIER_SESSIONS",
    "LATEST_WEIGHT",
    "NOTE_CHARS",
    "NOTE_LEAST_WORDS",
    "OWN_MORE_LEAST",
    "RECENCY_HALF",
    "SESSION_SHARE",
    "WHOLE_BUDGET",
    "budget_holds_none",
    "project_entries",
    "project_notes",
    "project_records",
    "shown_digest",
    "start_context",
]
