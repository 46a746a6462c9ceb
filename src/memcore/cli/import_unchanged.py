"""Which transcripts ``memcore import-claude-code`` need not read again: those of sessions that
memcore saved (by a hook or an earlier import) and that have not changed since.

Every save files the session in its project's registry with each file's size and modification
time as it read them (``SessionRecord.read_to``): when each of a session's files is still
exactly that (``unchanged_since``, the hooks' own test), reading them again would store nothing
new. Deciding it costs each file's head (its session id and folder) and one read of each
project's registry, where reading every transcript again took 11 s for 220 saved sessions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from memcore.errors import MemcoreError


def by_session(paths: Sequence[Path]) -> dict[str | None, list[tuple[Path, str | None]]]:
    """The files, each with the folder its head names, by the session their head names
    (sub-agents' files carry their session's): one read of each file's head."""
    from memcore.claude_code.discovery import transcript_head

    groups: dict[str | None, list[tuple[Path, str | None]]] = {}
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


def filed_where(
    groups: dict[str | None, list[tuple[Path, str | None]]],
) -> dict[str, tuple[str, list[Path]]]:
    """Each session's project and its files' absolute names (as saves key ``read_to``), for
    the sessions whose project the heads say."""
    where = {}
    for session, files in groups.items():
        project = None if session is None else _project(files)
        if session is not None and project is not None:
            where[session] = (project, [Path(os.path.abspath(path)) for path, _ in files])
    return where


async def unchanged_sessions(url: str | None, where: dict[str, tuple[str, list[Path]]]) -> set[str]:
    """The sessions of ``where`` (``filed_where``) whose files are all as memcore last read
    them; none when the store is not there yet or cannot be read (the import then reads
    everything, as before)."""
    from memcore.claude_code.project import (
        SessionRecord,
        registry_key,
        registry_session,
        unchanged_since,
    )
    from memcore.cli._common import read_state, reading_store

    by_project: dict[str, list[str]] = {}
    for session, (project, _) in where.items():
        by_project.setdefault(project, []).append(session)
    unchanged: set[str] = set()
    try:
        async with reading_store(url) as store:
            for project, sessions in by_project.items():
                skipped: list[str] = []  # (a damaged entry: that session is read again)
                entries = await read_state(store, url, registry_session(project), skipped=skipped)
                for session in sessions:
                    held = entries.get(registry_key(session))
                    if held is not None and unchanged_since(
                        SessionRecord.from_item(held), where[session][1]
                    ):
                        unchanged.add(session)
    except MemcoreError:  # (NotFoundError: no store yet)
        return set()
    return unchanged


__all__ = ["by_session", "filed_where", "unchanged_sessions"]
