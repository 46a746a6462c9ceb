"""Which transcripts ``memcore import-claude-code`` need not read again: those of sessions that
memcore saved (by a hook or an earlier import) and that have not changed since.

Every save files the session in its project's registry with each file's size and modification
time as it read them (``SessionRecord.read_to``): when each of a session's files is still
exactly that (``unchanged_since``, the hooks' own test), reading them again would store nothing
new. Deciding it costs each file's head (its session id and folder) and one read of each
project's registry, where reading every transcript again took 11 s for 220 saved sessions.

A session is also read again when this import cuts its items less than they were stored
(``--max-chars``): an import with a cut of its own notes it in :data:`CUTS_SESSION` (a file's
size and time say nothing of the cut), so a later plain import brings back what it left out.
An import never shortens a stored item (:func:`longer_kept`): a smaller cut reads nothing new.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from memcore.cli._session_reads import INTERNAL_SESSION_PREFIX
from memcore.errors import MemcoreError
from memcore.model import MemoryItem

#: memcore's own session where imports note, by session id, the cut (``--max-chars``) a
#: session's items were stored with when it is not the hooks' (``MAX_CHARS``): no note, theirs
CUTS_SESSION = f"{INTERNAL_SESSION_PREFIX}import-cuts"

#: how the transcript parser marks a content it cut (``record_parser._truncate``)
_CUT_MARK = re.compile(r"\u2026\n\[\.\.\. \d+ more characters\]\Z")


def was_cut(item: MemoryItem) -> bool:
    """Whether the parser cut ``item``'s content to its ``max_chars``."""
    return _CUT_MARK.search(item.content) is not None


def _kept(content: str) -> int:
    """How much of the text a content holds: all of it, or what a cut kept (the mark left out:
    a short text cut at 10 reads longer than it was)."""
    mark = _CUT_MARK.search(content)
    return len(content) if mark is None else mark.start()


def longer_kept(held: MemoryItem | None, item: MemoryItem) -> bool:
    """Whether the stored ``held`` stays as it is although ``item`` (the same record read again)
    differs: ``item`` was cut, and ``held`` holds more of its text (read with a larger cut). An
    import never shortens what is stored: a cut of 10 once cut every imported content."""
    return held is not None and was_cut(item) and _kept(held.content) > _kept(item.content)


def noted_cut(note: MemoryItem | None, files: Mapping[str, list[int]]) -> int:
    """The cut every stored item of a session is at least as long as, from its note in
    :data:`CUTS_SESSION`: none, the hooks' cut; a cut larger than theirs only while the session's
    ``files`` (absolute name: size and mtime) are as the import that noted it read them (a hook
    that saved more since cut what it added at its own); a damaged note, 0 (read it again)."""
    from memcore.claude_code.transcripts import MAX_CHARS

    if note is None:
        return MAX_CHARS
    cut = note.metadata.get("max_chars")
    if not isinstance(cut, int) or isinstance(cut, bool) or cut < 1:
        return 0
    if cut > MAX_CHARS and note.metadata.get("files") != dict(files):
        return MAX_CHARS
    return cut


def cut_note(session: str, cut: int, files: Mapping[str, list[int]]) -> MemoryItem:
    """The note of :data:`CUTS_SESSION` saying ``session``'s items were stored cut at ``cut``
    when its ``files`` were as given."""
    return MemoryItem(
        session,
        f"imported with --max-chars {cut}",
        metadata={"max_chars": cut, "files": {k: list(v) for k, v in files.items()}},
    )


def next_cut(noted: int, cut: int, cut_written: bool) -> int:
    """The session's cut after an import with ``cut`` read all its files: ``cut``, unless it is
    smaller than the ``noted`` one and wrote no item it cut (what it kept is as long as before)."""
    return noted if cut < noted and not cut_written else cut


#: Transcript files by the session their head names, each with the folder it names.
Groups = dict[str | None, list[tuple[Path, str | None]]]


def by_session(paths: Sequence[Path]) -> Groups:
    """The files, each with the folder its head names, by the session their head names
    (sub-agents' files carry their session's): one read of each file's head."""
    from memcore.claude_code.discovery import transcript_head

    groups: Groups = {}
    for path in paths:
        head = transcript_head(path)
        groups.setdefault(head.session_id, []).append((path, head.cwd))
    return groups


def _project(files: Sequence[tuple[Path, str | None]]) -> str | None:
    """The project the session of ``files`` is filed under, from the folders their heads name
    (the main file's first: a sub-agent's file names ``agent-``), as the import finds it from
    its records."""
    from memcore.claude_code.worktrees import project_folder

    for _, cwd in sorted(files, key=lambda file: file[0].name.startswith("agent-")):
        if cwd and os.path.isabs(cwd):
            return project_folder(cwd)
    return None


def filed_where(groups: Groups) -> dict[str, tuple[str, list[Path]]]:
    """Each session's project and its files' absolute names (as saves key ``read_to``), for
    the sessions whose project the heads say."""
    where = {}
    for session, files in groups.items():
        project = None if session is None else _project(files)
        if session is not None and project is not None:
            where[session] = (project, [Path(os.path.abspath(path)) for path, _ in files])
    return where


class Filed(NamedTuple):
    """What the store holds of the sessions an import is given: one read of each project's
    registry and of the cut notes, for every decision made before the transcripts are read."""

    entries: dict[str, MemoryItem]  # session -> its registry entry (none: not filed, damaged)
    notes: dict[str, MemoryItem]  # session -> the note of its cut (``CUTS_SESSION``)
    damaged_notes: frozenset[str]  # sessions whose note is damaged (read again)


#: What is known of a store that is not there yet or cannot be read: nothing.
NOTHING_FILED = Filed({}, {}, frozenset())


async def filed(url: str | None, where: dict[str, tuple[str, list[Path]]]) -> Filed:
    """The registry entries and cut notes of the sessions of ``where`` (``filed_where``);
    :data:`NOTHING_FILED` when the store is not there yet or cannot be read (the import then
    reads everything, as before)."""
    from memcore.claude_code.project import filing_project, registry_key, registry_session
    from memcore.cli._session_reads import read_state
    from memcore.cli._store_access import reading_store

    by_project: dict[str, list[str]] = {}
    for session, (project, _) in where.items():
        by_project.setdefault(project, []).append(session)
    entries: dict[str, MemoryItem] = {}
    try:
        async with reading_store(url) as store:
            damaged: list[str] = []  # (a damaged note: that session is read again)
            notes = await read_state(store, url, CUTS_SESSION, skipped=damaged)
            for project, sessions in by_project.items():
                # (a damaged entry is left out: that session is read again)
                filed_under = await filing_project(store, project)  # (see the hooks)
                held = await read_state(store, url, registry_session(filed_under), skipped=[])
                for session in sessions:
                    if registry_key(session) in held:
                        entries[session] = held[registry_key(session)]
    except (MemcoreError, OSError):  # (NotFoundError: no store yet)
        return NOTHING_FILED
    return Filed(entries, notes, frozenset(damaged))


def unchanged_sessions(
    known: Filed, where: dict[str, tuple[str, list[Path]]], cut: int
) -> set[str]:
    """The sessions of ``where`` (``filed_where``) whose files are all as memcore last read
    them, their items stored with ``cut`` or a larger one (:func:`noted_cut`)."""
    from memcore.claude_code.project import SessionRecord, file_stamp, unchanged_since

    unchanged: set[str] = set()
    try:
        for session, held in known.entries.items():
            files = where[session][1]
            if session in known.damaged_notes:
                continue
            if not unchanged_since(SessionRecord.from_item(held), files):
                continue
            stamps = {str(path): file_stamp(path) for path in files}
            if cut <= noted_cut(known.notes.get(session), stamps):
                unchanged.add(session)
    except OSError:  # (a file gone meanwhile: the import reads everything, as before)
        return set()
    return unchanged


def forgotten_sessions(known: Filed) -> set[str]:
    """The sessions that ``memcore forget`` marked in their project's registry: an import
    passes over them, as the hooks do."""
    from memcore.claude_code.forget import is_forgotten

    return {session for session, held in known.entries.items() if is_forgotten(held)}


__all__ = [
    "CUTS_SESSION",
    "NOTHING_FILED",
    "Filed",
    "Groups",
    "by_session",
    "cut_note",
    "filed",
    "filed_where",
    "forgotten_sessions",
    "longer_kept",
    "next_cut",
    "noted_cut",
    "unchanged_sessions",
    "was_cut",
]
