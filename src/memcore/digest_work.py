"""The files a session touched, as the digest gathers them: each file's edits (what they
changed, renamed, added and took out), its reads (what it defines), its failed edits and what
commands did to it (deleted, reverted), in one ``FileWork`` a file; and the small readers of an
item's metadata the digest's other modules share (``shown_path``, ``strs``, ``code_span``). How
they are said, as lines, is :mod:`memcore.digest_file_lines`; both are part of
:mod:`memcore.digest_lines`, which calls them with its pass over the items.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from memcore.claude_code.background import is_task_output
from memcore.claude_code.code_names import is_definition_line
from memcore.claude_code.tools import EDIT_TOOLS, display_path, is_absolute_path, quoted_list
from memcore.model import MemoryItem

#: How much more the definition an edit changed counts than a name the edit merely touched.
ENCLOSING_WEIGHT = 3


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
    #: what its replace-all edits replaced everywhere in it, old to new, in order
    replaced: dict[tuple[str, str], int] = field(default_factory=dict)
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
    replaced: list[tuple[str, str]]
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
    if is_plan_draft(shown) or is_task_output(shown):  # (Claude Code's, not the project's)
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
    made = EditMade([], None, [], [], False, entry.deleted, bool(meta.get("fixes")))
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
    for key, told, counted in (
        ("renamed", entry.renamed, made.renamed),
        ("replaced_all", entry.replaced, made.replaced),
    ):
        pairs = meta.get(key)
        for pair in pairs if isinstance(pairs, list) else ():
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                old, new = pair
                if isinstance(old, str) and isinstance(new, str) and (old, new) not in told:
                    told[(old, new)] = seq
                    counted.append((old, new))
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
    for pair in made.replaced:
        entry.replaced.pop(pair, None)


def undone_clause(entry: FileWork) -> str:
    """What a file's line says of its edits that undid each other ("" for none)."""
    if not entry.undone or entry.undone == entry.edits:
        return ""
    return f" ({entry.undone} of them undoing each other)"


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


__all__ = [
    "ENCLOSING_WEIGHT",
    "EditMade",
    "FileWork",
    "changed_files",
    "code_span",
    "edit_added",
    "failed_edit",
    "file_call",
    "is_failed_edit",
    "said_added",
    "session_root",
    "shown_path",
    "strs",
    "times",
    "undone_clause",
    "write_result",
]
