"""The files a session touched, as digest lines: what each file's edits changed, renamed,
added and took out, what was read and what it defines, and what commands did to them (deleted,
reverted). Part of :mod:`memcore.digest_lines`, which builds the other sections and calls these
with its pass over the items; the commands' own lines are :mod:`memcore.digest_commands`'.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from memcore.claude_code.code_names import is_definition_line
from memcore.claude_code.edit_texts import DOCUMENT_SUFFIXES
from memcore.claude_code.tools import EDIT_TOOLS, display_path, is_absolute_path, quoted_list
from memcore.digest_density import MOST_NAMES, chunks, exact_names, names_fitting
from memcore.digest_prose import Candidate
from memcore.model import MemoryItem

#: How much more the definition an edit changed counts than a name the edit merely touched.
ENCLOSING_WEIGHT = 3
#: Base score of a file that was only read (a lookup, but also what the work was about).
READ_SCORE = 1.5
#: Base score of the detail lines of edits (more names changed, lines added).
EDIT_DETAIL = 6.0
#: Base score of the further names a document's edits changed (code its prose mentions).
DOC_DETAIL = 2.0
#: Base score of the lines an edit took out (what was renamed or replaced).
REMOVED_SCORE = 2.0
#: Base score of what the code a file read calls: filler, said when the budget has room.
CALLS_SCORE = 1.0
#: Base score of a file a command reverted that this session had not edited: changes the next
#: agent (or the user) may look for are gone.
DISCARDED_SCORE = 5.0
#: Lines naming more of what a file's edits changed, after its own line's 5, and the names on
#: each: a file edited all session long changes dozens of names, mostly its locals, and five
#: such lists of one file ("the edits changed `agent_file`, `agent_id` and ...") priced out
#: the statements that say what the work was.
FURTHER_NAME_LINES = 2
FURTHER_NAMES = 4
#: Renames told per line (each names two), and at most in all per file.
RENAMES_A_LINE = 3
RENAMES_TOLD = 12


@dataclass(slots=True)
class FileWork:
    """What the session did to one file: its edits and the names they changed, its reads."""

    shown: str
    first: int
    last: int = 0
    edits: int = 0
    created: bool = False
    #: its first edit was a Write over the file that was there (Claude Code says "update")
    rewritten: bool = False
    #: the tool call id of the Write that first touched it (its result says which of the two)
    first_write: str = ""
    names: dict[str, int] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    defines: dict[str, None] = field(default_factory=dict)
    #: per edit: its position, the lines it added, the definition it changed (if known)
    added: dict[str, tuple[int, tuple[str, ...], str]] = field(default_factory=dict)
    fixes: int = 0
    tracked: bool = False
    #: per edit that took lines out: its position and the first lines it took out
    removed: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    #: the names the code read in it calls most (seen when it was read)
    calls: dict[str, None] = field(default_factory=dict)
    #: the names its edits renamed, old to new, in order
    renamed: dict[tuple[str, str], int] = field(default_factory=dict)
    #: a command that succeeded deleted it (``rm``, ``git rm``), or moved it (``mv``, ``git
    #: mv``: then where to, as the session names files)
    deleted: bool = False
    moved_to: str = ""
    #: reads whose result came back, and reads that failed (a file that was not there)
    reads_done: int = 0
    reads_failed: int = 0
    #: a document's title, as its latest Write gave it (``edit_texts.document_title``)
    title: str = ""
    #: how many of its edits a command that succeeded then reverted (``git checkout -- f``,
    #: ``git restore f``) and the command's verb; 0: none (or edited again since)
    reverted: int = 0
    reverted_by: str = ""
    #: how many of its edits a commit of the session took in (``git reset --hard`` keeps
    #: those), and per ``git stash`` that put its edits away, not yet put back: where, and
    #: what ``reverted`` and ``reverted_by`` were before it
    committed: int = 0
    stashed: list[tuple[int, int, str]] = field(default_factory=list)
    #: a command that succeeded reverted it, not edited in this session (``git checkout --
    #: f``: whatever changes it had, not this session's, are gone), and the command's verb
    discarded_by: str = ""
    #: how many of its edits undid an earlier one or were undone by a later one
    #: (``digest_undone``); all of them: the file is as it was
    undone: int = 0
    #: what each edit call counted here, by its tool call id, until its result came back: a
    #: call that failed changed nothing (``failed_edit`` takes it back out)
    made: dict[str, EditMade] = field(default_factory=dict)


@dataclass(slots=True)
class EditMade:
    """What one edit call counted into its file's work."""

    names: list[str]
    removed: tuple[int, tuple[str, ...]] | None
    renamed: list[tuple[str, str]]
    created: bool
    was_deleted: bool
    fixes: bool


def code_span(text: str) -> str:
    text = " ".join(text.split())
    return f"`{text}`" if "`" not in text else text


def strs(value: Any) -> list[str]:
    """The strings of a metadata list (metadata is anyone's: never trust its shape)."""
    return [x for x in value if isinstance(x, str)] if isinstance(value, (list, tuple)) else []


def session_root(items: Sequence[MemoryItem]) -> str | None:
    """The folder the session started in: its files are named relative to it. (The working
    folder of later records moves with the agent's ``cd``: named from there, one file would
    have two names and ``package.json`` could be any package's.)"""
    for item in items:
        cwd = item.metadata.get("cwd")
        if isinstance(cwd, str) and cwd:
            return cwd
    return None


def command_passed(meta: Mapping[str, Any]) -> str | None:
    """The command of a ``Bash`` record whose result came back without an error (a tool result,
    not an error record), None for any other record."""
    command = meta.get("command")
    if (
        meta.get("kind") == "tool_result"
        and meta.get("tool") == "Bash"
        and isinstance(command, str)
        and meta.get("is_error") is not True
    ):
        return command
    return None


def shown_path(meta: Mapping[str, Any], root: str | None = None, path: object = None) -> str:
    """``path`` (by default the record's ``file_path``) as the session names it: relative to
    ``root`` when inside it (a relative path is taken from the record's own working folder)."""
    raw = str(meta.get("file_path", "") if path is None else path)
    cwd = meta.get("cwd")
    here = cwd if isinstance(cwd, str) else None
    if root is None:
        return display_path(raw, here)
    if here and raw and not is_absolute_path(raw):
        raw = posixpath.normpath(posixpath.join(here, raw))
    return display_path(raw, root)


def times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def write_result(files: dict[str, FileWork], meta: Mapping[str, Any], root: str | None) -> None:
    """A Write's result says whether the file was there: if it was, the Write that first
    touched it in this session rewrote it (the call alone looked like a creation)."""
    entry = files.get(shown_path(meta, root))
    if entry is None or not entry.created or meta.get("tool_use_id") != entry.first_write:
        return  # a later Write's result says nothing of how the file came to be
    if meta.get("created") is False:
        entry.created = False
        entry.rewritten = True


#: Where Claude Code's plan mode drafts its plan (``~/.claude/plans/<name>.md``).
_PLAN_DRAFT = "/.claude/plans/"


def is_plan_draft(shown: str) -> bool:
    """Whether the file (as shown: relative inside the project) is plan mode's draft of a plan:
    no file of the project, and what it says is the plan the agent proposed (``ExitPlanMode``),
    told as such."""
    return shown.startswith("/") and _PLAN_DRAFT in shown


def file_call(files: dict[str, FileWork], item: MemoryItem, seq: int, root: str | None) -> None:
    """A Read, Edit or Write call, counted into its file's work."""
    meta = item.metadata
    shown = shown_path(meta, root)
    if is_plan_draft(shown):
        return
    entry = files.get(shown)
    if entry is None:
        entry = files[shown] = FileWork(shown, seq)
    entry.last = seq
    tool = meta.get("tool")
    if tool in ("Read", "NotebookRead"):
        lines = meta.get("lines")
        if isinstance(lines, str) and lines not in entry.reads:
            entry.reads.append(lines)
        return
    use = str(meta.get("tool_use_id") or "")
    made = EditMade([], None, [], False, entry.deleted, bool(meta.get("fixes")))
    entry.edits += 1
    entry.deleted = False  # written after a deletion: it is there again
    if tool == "Write" and entry.edits == 1:
        entry.created = made.created = True  # until its result says it wrote over the file
        entry.first_write = use  # (see write_result)
    if isinstance(meta.get("title"), str):
        entry.title = meta["title"]
    counts = entry.names
    for name in strs(meta.get("names")):
        counts[name] = counts.get(name, 0) + 1
        made.names.append(name)
    added = edit_added(meta)
    if added:
        entry.added[use or str(seq)] = (seq, tuple(added[:3]), "")
    removed = strs(meta.get("removed_lines"))
    if removed:
        made.removed = (seq, tuple(removed[:2]))
        entry.removed.append(made.removed)
    renamed = meta.get("renamed")
    for pair in renamed if isinstance(renamed, list) else ():
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            old, new = pair
            if isinstance(old, str) and isinstance(new, str) and (old, new) not in entry.renamed:
                entry.renamed[(old, new)] = seq
                made.renamed.append((old, new))
    if made.fixes:
        entry.fixes += 1
    if use:
        entry.made[use] = made


def edit_added(meta: Mapping[str, Any]) -> list[str]:
    """What an edit added, as a file's line says it: its lines, best first; a document's, the
    definitions among them (a design document's code), then the sections it added (its other
    lines are prose, whose colons make them look like code: "For most changes, run:")."""
    lines = strs(meta.get("added_lines"))
    headings = strs(meta.get("headings"))
    if not headings:
        return lines
    return [line for line in lines if is_definition_line(line)] + headings


def said_added(snippet: Sequence[str]) -> str:
    """Lines an edit added, as a file's line says them: code as code spans, a document's
    sections by their names ("`type T struct {` and the sections "Context" and "Steps""): a
    heading in a code span would count as an exact name, which it is not. (A line that starts
    with ``#`` is a heading: comments are never kept as added lines.)"""
    code = [line for line in snippet if not line.startswith("#")]
    sections = [f'"{line.lstrip("#").strip()}"' for line in snippet if line.startswith("#")]
    parts = [quoted_list(code)] if code else []
    if sections:
        named = sections[0] if len(sections) == 1 else ", ".join(sections[:-1])
        named += f" and {sections[-1]}" if len(sections) > 1 else ""
        parts.append(f"the section{'s' if len(sections) > 1 else ''} {named}")
    return " and ".join(parts)


def is_failed_edit(meta: Mapping[str, Any]) -> bool:
    """Whether a record is the result of an edit call that failed (an error, or one of Claude
    Code's guards, which the importer keeps as a result marked ``is_error``)."""
    return (
        meta.get("tool") in EDIT_TOOLS
        and meta.get("kind") != "tool_call"
        and (meta.get("kind") == "error" or meta.get("is_error") is True)
    )


def failed_edit(files: dict[str, FileWork], meta: Mapping[str, Any], root: str | None) -> None:
    """An edit call whose result is a failure ("String to replace not found", a guard of
    Claude Code's): it changed nothing, so what its call counted is taken back out (a file
    whose every edit failed is said to be read, or not at all, never "edited")."""
    entry = files.get(shown_path(meta, root))
    use = str(meta.get("tool_use_id") or "")
    made = entry.made.pop(use, None) if entry is not None and use else None
    if entry is None or made is None:
        return
    entry.edits -= 1
    entry.deleted = made.was_deleted
    _take_back(entry, use, made, names=True)
    if made.created:
        entry.created = False
        entry.first_write = ""
    if made.fixes:
        entry.fixes -= 1


def undo_edits(files: dict[str, FileWork], undone: frozenset[str]) -> None:
    """Take out of the files' work what the edits that undid each other changed
    (``digest_undone.undone_edits``), their count kept: a file whose every edit is one of
    them is said to be as it was, with the names its edits had changed; another keeps the
    names its other edits changed."""
    if not undone:
        return
    for entry in files.values():
        pairs = [(use, made) for use, made in entry.made.items() if use in undone]
        if not pairs:
            continue
        entry.undone = len(pairs)
        whole = entry.undone == entry.edits
        for use, made in pairs:
            _take_back(entry, use, made, names=not whole)


def _take_back(entry: FileWork, use: str, made: EditMade, *, names: bool) -> None:
    """Take what edit ``use`` counted (``made``) out of ``entry``: its added and taken-out
    lines, its renames and, with ``names``, the names it changed."""
    for name in made.names if names else ():
        left = entry.names.get(name, 0) - 1
        if left > 0:
            entry.names[name] = left
        else:
            entry.names.pop(name, None)
    entry.added.pop(use, None)
    if made.removed is not None and made.removed in entry.removed:
        entry.removed.remove(made.removed)
    for pair in made.renamed:
        entry.renamed.pop(pair, None)


def _undone_clause(entry: FileWork) -> str:
    """What a file's line says of its edits that undid each other ("" for none)."""
    if not entry.undone or entry.undone == entry.edits:
        return ""
    return f" ({entry.undone} of them undoing each other)"


_T = TypeVar("_T")

#: Files named in one line that tells the same addition to each of them, at most.
SAME_EDIT_FILES = 4


def _files_beside(said: str) -> int:
    """How many files a line that says ``said`` of each may name: ``SAME_EDIT_FILES`` at most,
    and no more than keep it within ``MOST_NAMES`` (one at least)."""
    return max(1, min(SAME_EDIT_FILES, MOST_NAMES - len(exact_names(said))))


def _even_groups(entries: list[_T], most: int) -> list[list[_T]]:
    """``entries`` in order, in as few groups of at most ``most`` as can be, as even as can
    be (7 by 4: 4 and 3, not 4, then 3 said apart)."""
    size = -(-len(entries) // -(-len(entries) // most)) if entries else 1
    return [entries[first : first + size] for first in range(0, len(entries), size)]


def _same_edit_lines(
    verb: str, snippet: tuple[str, ...], edited: list[tuple[str, float]], n: int
) -> list[Candidate]:
    """ "An edit of `f` added `x`.", or for several files "Edits of `f`, `g` and `h` each added
    `x`." (in lines of at most ``SAME_EDIT_FILES`` files, as even as can be)."""
    what = said_added(snippet)
    base = EDIT_DETAIL if verb == "added" else REMOVED_SCORE
    out = []
    for group in _even_groups(edited, _files_beside(what)):
        if len(group) == 1:
            told = f"- An edit of `{group[0][0]}` {verb} {what}."
        else:
            told = f"- Edits of {quoted_list([path for path, _ in group])} each {verb} {what}."
        last = max(at for _, at in group)
        about = group[0][0] if len(group) == 1 else None
        # just after the edit's place: a file's own line, at its first edit, comes first
        at = group[0][1] + 0.1
        out.append(Candidate("files", at, base + 2.0 * last / n, told, about=about))
    return out


def _says_more(title: str, shown: str) -> bool:
    """Whether a document's title says more than its file's name (`CLAUDE.md`, titled
    "CLAUDE.md" or "Claude", says it twice)."""
    name = posixpath.basename(shown).lower()
    return bool(title) and title.lower() not in (name, posixpath.splitext(name)[0])


def changed_files(items: Iterable[MemoryItem], root: str | None) -> frozenset[str]:
    """The files ``items`` changed (an edit or a write called, or Claude Code's file history),
    named as the digest shows them: what the lines of a later part of the session (after a
    compaction) must not say was left unchanged."""
    changed: set[str] = set()
    for item in items:
        meta = item.metadata
        if isinstance(meta.get("files_changed"), list):
            changed.update(str(path) for path in strs(meta["files_changed"]))
        elif (
            meta.get("kind") == "tool_call"
            and meta.get("tool") in EDIT_TOOLS
            and isinstance(meta.get("file_path"), str)
        ):
            changed.add(shown_path(meta, root))
    return frozenset(changed)


def file_lines(
    files: dict[str, FileWork],
    n: int,
    changed_elsewhere: frozenset[str] = frozenset(),
    part: str = "",
) -> list[Candidate]:
    """The files' lines. ``part``: "before" or "after" when these items are one side of a
    compaction, and ``changed_elsewhere`` the files the other side changed: a read here does
    not make such a file "not changed", and its edits here are counted as those "before" (or
    "after") "the compaction"."""
    out: list[Candidate] = []
    stated: set[tuple[str, str]] = set()  # a rename made in many files is told once
    # the same lines added to (or taken out of) several files, as a setting in every package's
    # config: one line for them all -> file -> its first such edit
    same: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}
    looked_at: list[tuple[FileWork, float]] = []  # files read whole, unchanged, nothing seen
    # files whose own line says the same of each ("was edited twice") -> the files and scores
    alike: dict[tuple[str, int, int], list[tuple[FileWork, float]]] = {}
    for entry in files.values():
        recency = entry.last / n
        renames: list[tuple[str, str]] = []
        if entry.renamed:  # (most files renamed nothing: no Counter built for them)
            olds = Counter(old for old, _ in entry.renamed)  # one name to two: split, not renamed
            renames = [p for p in entry.renamed if p not in stated and olds[p[0]] == 1]
            stated.update(renames)
        known = exact_names(f"`{entry.shown}`")  # (every line of the file names it)
        outlined = 4  # (the names a read's own line says it defines)
        # (renames told a few to a line, each line naming at most MOST_NAMES things)
        told_renames = renames[:RENAMES_TOLD]
        start = 0
        while start < len(told_renames):
            pairs = [f"`{old}` to `{new}`" for old, new in told_renames[start:]]
            fitting = names_fitting(pairs[:RENAMES_A_LINE], known, MOST_NAMES)
            each = pairs[:fitting]
            told = ", ".join(each[:-1]) + " and " + each[-1] if len(each) > 1 else each[0]
            line = f"- In `{entry.shown}`, the edits renamed {told}."
            seq = entry.renamed[told_renames[start]]
            score = EDIT_DETAIL + 1.5 - start / 20 + recency
            out.append(Candidate("files", seq + 0.25, score, line, about=entry.shown))
            start += fitting
        if entry.edits:
            ranked = sorted(entry.names, key=lambda k: (-entry.names[k], k))
            lists = chunks(ranked, known, each=5, lines=1)  # (a line names at most MOST_NAMES)
            names = lists[0] if lists else []
            # (a document's names are the code its prose mentions: said when there is room)
            detail = DOC_DETAIL if entry.shown.lower().endswith(DOCUMENT_SUFFIXES) else EDIT_DETAIL
            start = len(names)
            # (a file as it was: its own line says what its edits had changed, no more)
            more_lines = 0 if entry.undone == entry.edits else FURTHER_NAME_LINES
            runs = chunks(ranked[start:], known, each=FURTHER_NAMES, lines=more_lines)
            for chunk in runs:
                more = quoted_list(chunk)
                # under the file's own line (or another of these) it goes on from it: "also"
                line = f"- In `{entry.shown}`, edits also changed {more}."
                alone = f"- In `{entry.shown}`, the edits changed {more}."
                score = detail + 1.0 - start / 20 + recency
                further = Candidate("files", entry.first + 0.5, score, line, about=entry.shown)
                out.append(further._replace(lead=alone))
                start += len(chunk)
            how = f"edited {times(entry.edits)}{_undone_clause(entry)}"
            whole = "created" if entry.created else "rewritten" if entry.rewritten else ""
            if whole:
                then = f", then edited {times(entry.edits - 1)}" if entry.edits > 1 else ""
                how = whole + then + _undone_clause(entry)
            if entry.shown in changed_elsewhere:  # (the count is of these items' edits only)
                how += f" {part} the compaction"
            doing = "defining" if whole and entry.edits == 1 else "changing"
            changing = f", {doing} {quoted_list(names)}" if names else ""
            gone = f", then {gone_how(entry)}" if entry.deleted else ""
            if entry.reverted == entry.edits:  # (none since: what it changed is gone)
                gone = f", then reverted with `{entry.reverted_by}`"
            elif entry.undone == entry.edits:  # (each edit undid another: it is as it was)
                gone = ", each change undone by a later edit"
            if gone and names:  # (said before the names: a line cut to fit keeps it)
                did = "it defined" if doing == "defining" else "the edits had changed"
                how, gone, changing = how + gone, "", f"; {did} {quoted_list(names)}"
            score = EDIT_DETAIL + 2.0 + min(entry.edits, 6) * 0.3 + min(len(ranked), 4) * 0.3
            score += recency
            if names and not _says_more(entry.title, entry.shown):
                # told with the files whose edits changed the same names the same way, if any
                said = (f"{how}{changing}{gone}", entry.fixes, entry.edits)
                alike.setdefault(said, []).append((entry, score))
            else:
                fixing = _fixing(entry.fixes, entry.edits)
                titled = f' ("{entry.title}")' if _says_more(entry.title, entry.shown) else ""
                line = f"- `{entry.shown}`{titled} was {how}{changing}{gone}{fixing}."
                out.append(Candidate("files", entry.first, score, line, about=entry.shown))
            for seq, added, inside in entry.added.values():
                if not inside:  # told with the same addition to other files, if any
                    same.setdefault(("added", tuple(added)), {}).setdefault(entry.shown, seq)
                    continue
                where = f"`{inside}` in `{entry.shown}`"
                line = f"- An edit of {where} added {said_added(added)}."
                out.append(
                    Candidate("files", seq, EDIT_DETAIL + 2.0 * seq / n, line, about=entry.shown)
                )
            for seq, removed in entry.removed:
                same.setdefault(("took out", tuple(removed)), {}).setdefault(entry.shown, seq)
        elif entry.discarded_by:  # (changes no edit of the session made, thrown away: whose,
            # is not known; a formatter the session ran may have made them)
            said = (f"reverted with `{entry.discarded_by}`", 0, 0)
            alike.setdefault(said, []).append((entry, DISCARDED_SCORE + recency))
        elif entry.deleted and not entry.reads:
            alike.setdefault((gone_how(entry), 0, 0), []).append((entry, 2.5 + recency))
        elif entry.tracked and not entry.reads:
            said = ("changed in this session (Claude Code's file history)", 0, 0)
            alike.setdefault(said, []).append((entry, 2.5 + recency))
        elif entry.reads and (entry.reads_done or not entry.reads_failed):
            # (every read failed: the file was not there, which the error's line says)
            ranges = [r for r in entry.reads if r != "all"]
            which = f" (lines {', '.join(ranges[:4])})" if ranges else ""
            defines = (chunks(list(entry.defines)[:4], known, each=4, lines=1) or [[]])[0]
            outlined = len(defines)
            verb = _defines_verb(entry)
            outline = f"; it {verb} {quoted_list(defines)}" if defines else ""
            if entry.deleted:
                after = f", then {gone_how(entry)}"
            elif entry.tracked:  # (changed by a way the digest does not see: a sub-agent's)
                after = "; Claude Code's file history records a change to it"
            elif entry.shown in changed_elsewhere:
                other = "before" if part == "after" else "after"
                after = f"; it was changed {other} the compaction"
            else:
                after = ", not changed"
            score = READ_SCORE + 0.2 * len(entry.reads) + recency
            if not (which or outline or entry.calls) and after == ", not changed":
                looked_at.append((entry, score))  # told with the others read the same way
            else:
                line = f"- `{entry.shown}` was read{which}{after}{outline}."
                out.append(Candidate("files", entry.first, score, line, about=entry.shown))
        calls = [c for c in entry.calls if c not in entry.defines][:12]
        start = 0
        for chunk in chunks(calls, known, each=4):
            listed = quoted_list(chunk)
            line = f"- The code read in `{entry.shown}` calls {listed}."
            out.append(
                Candidate(
                    "files",
                    entry.first + 0.001 + start / 1e5,  # after the file's own line
                    CALLS_SCORE - start / 40 + recency,
                    line,
                    spare=True,
                    about=entry.shown,
                )
            )
            start += len(chunk)
        seen = list(entry.defines)[0 if entry.edits else outlined :][:20]
        verb = _defines_verb(entry)
        start = 0
        for chunk in chunks(seen, known, each=5):
            listed = quoted_list(chunk)
            line = f"- `{entry.shown}` also {verb} {listed} (seen when it was read)."
            alone = f"- `{entry.shown}` {verb} {listed} (seen when it was read)."
            at = entry.first + 0.002 + start / 1e5  # after the file's own line
            score = 1.0 - start / 40 + recency
            out.append(
                Candidate("files", at, score, line, lead=alone, about=entry.shown)
            )  # "also": after its own
            start += len(chunk)
    for (verb, snippet), edited in same.items():
        out.extend(_same_edit_lines(verb, snippet, list(edited.items()), n))
    for (what, fixes, edits), entries in alike.items():
        out.extend(_alike_lines(what, fixes, edits, entries))
    out.extend(_read_lines(looked_at))
    return out


def gone_how(entry: FileWork) -> str:
    """How a file the session's commands took away went: "deleted", "moved to `b.md`"."""
    return f"moved to `{entry.moved_to}`" if entry.moved_to else "deleted"


def _fixing(fixes: int, edits: int) -> str:
    """The clause of a file's line that says how many of its ``edits`` fixed a failure: "which
    fixed a failure" after a single edit ("1 of these edits" of one read as a count of many)."""
    if not fixes:
        return ""
    if edits == 1:
        return ", which fixed a failure"
    return f"; {fixes} of these edits fixed a failure"


def _alike_lines(
    how: str, fixes: int, edits: int, entries: list[tuple[FileWork, float]]
) -> list[Candidate]:
    """Each file's own line ("`a` was edited twice, changing `x`."), or one line for the files
    it would say the same of ("`a`, `b` and `c` were each edited once, changing `baseUrl`."): a
    change made in every package's config, or the files Claude Code's history lists, told once
    (in lines of at most ``SAME_EDIT_FILES`` files, as even as can be)."""
    out = []
    for group in _even_groups(entries, _files_beside(how)):
        if len(group) == 1:
            fixing = _fixing(fixes, edits)
            entry, score = group[0]
            line = f"- `{entry.shown}` was {how}{fixing}."
            out.append(Candidate("files", entry.first, score, line, about=entry.shown))
            continue
        fixing = ""
        if fixes:
            fixing = (
                "; each of these edits fixed a failure"
                if fixes == edits
                else f"; in each, {fixes} of these edits fixed a failure"
            )
        each = "each " if edits else ""
        paths = quoted_list([entry.shown for entry, _ in group])
        line = f"- {paths} were {each}{how}{fixing}."
        score = sum(score for _, score in group)  # what each file's own line was worth
        out.append(Candidate("files", min(e.first for e, _ in group), score, line))
    return out


#: Files named in one line of files read whole and left as they were, at most.
READ_FILES_A_LINE = 4


def _read_lines(looked_at: list[tuple[FileWork, float]]) -> list[Candidate]:
    """Files read whole, unchanged, whose reading found nothing to say (no outline), in lines of
    a few: "`a`, `b` and `c` were read, not changed." (one line each said the same words
    again for every file)."""
    out = []
    for start in range(0, len(looked_at), READ_FILES_A_LINE):
        group = looked_at[start : start + READ_FILES_A_LINE]
        if len(group) == 1:
            entry, score = group[0]
            line = f"- `{entry.shown}` was read, not changed."
            out.append(Candidate("files", entry.first, score, line, about=entry.shown))
            continue
        line = f"- {quoted_list([entry.shown for entry, _ in group])} were read, not changed."
        score = max(score for _, score in group)
        out.append(Candidate("files", group[0][0].first, score, line))
    return out


def _defines_verb(entry: FileWork) -> str:
    """How the names a read file's outline found are said: what code defines (``defined``
    when the file is gone: it did), what a document shows in its examples (a README does not
    define ``OnReadyEventData``; its code blocks do)."""
    if entry.shown.lower().endswith(DOCUMENT_SUFFIXES):
        return "showed code defining" if entry.deleted else "shows code defining"
    return "defined" if entry.deleted else "defines"


__all__ = [
    "CALLS_SCORE",
    "EDIT_DETAIL",
    "ENCLOSING_WEIGHT",
    "READ_SCORE",
    "REMOVED_SCORE",
    "EditMade",
    "FileWork",
    "changed_files",
    "code_span",
    "edit_added",
    "failed_edit",
    "file_call",
    "file_lines",
    "is_failed_edit",
    "said_added",
    "session_root",
    "shown_path",
    "strs",
    "times",
    "write_result",
]
