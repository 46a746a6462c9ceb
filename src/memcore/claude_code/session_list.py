"""The saved Claude Code sessions as a list says them: when each last did something and what it
was about, project by project (the MCP ``sessions`` tool and ``memcore sessions``)."""

from __future__ import annotations

import os
from typing import Any

from memcore.claude_code.project import REGISTRY_PREFIX, SessionRecord
from memcore.claude_code.session_record import cut_at_word
from memcore.claude_code.session_start import (
    entries_of,
    forgotten_of,
    live_items,
    session_time,
)
from memcore.claude_code.titles import BRANCH_LEAD, TITLE_LEAD_IN
from memcore.digest_asked import SUMMARY_LEAD_IN
from memcore.errors import MemcoreError
from memcore.model import MemoryItem
from memcore.stores import decode_entry

#: The most characters of what a session was about in a list.
SUMMARY_CHARS = 200


def session_summary(record: SessionRecord, chars: int = SUMMARY_CHARS) -> str:
    """What the session was about: its digest's first statement (its headings say nothing:
    every digest starts "## What was asked"), without the lead-in of a compaction summary's
    request or of a title (the request or the title says it), past the line of the branch the
    work is on, cut at a word."""
    first = next(
        (
            ln
            for ln in record.digest.splitlines()
            if ln.startswith("- ") and not ln.startswith(BRANCH_LEAD)  # (where, not what)
        ),
        "",
    )
    first = first.replace(SUMMARY_LEAD_IN, "", 1)
    for lead in TITLE_LEAD_IN.values():
        if first.startswith(f"- {lead}"):
            first = "- " + first[2 + len(lead) :].removesuffix(".").strip('"')
    return cut_at_word(first[2:], chars)


def _folders(items: list[MemoryItem]) -> set[str]:
    """The project folders a registry's entries name."""
    return {
        os.path.normpath(item.metadata["cwd"])
        for item in items
        if isinstance(item.metadata.get("cwd"), str) and item.metadata["cwd"]
    }


async def registry_items(
    store: Any, name: str, damaged: dict[str, list[str]] | None = None
) -> list[MemoryItem]:
    """The live items of the registry session ``name``. A record that is no item is left out;
    with ``damaged``, its key is put in ``damaged[name]``: the sessions it listed are missing
    from the list, and ``memcore recover`` repairs it, so a list must say so, not be silently
    short (or empty: "no session is saved")."""
    if damaged is None:
        return await live_items(store, name)
    items: list[MemoryItem] = []
    bad: list[str] = []
    for key, record in (await store.read_snapshot(name)).records.items():
        try:
            entry = decode_entry(record)
            if not entry.deleted:
                items.append(MemoryItem.coerce(entry.value))
        except (MemcoreError, ValueError, TypeError):
            bad.append(key)
    if bad:
        damaged[name] = bad
    return items


async def saved_projects(
    store: Any,
    damaged: dict[str, list[str]] | None = None,
    forgotten: dict[str, set[str]] | None = None,
) -> dict[str, list[SessionRecord]]:
    """Every project the store holds saved sessions of (its folder), each with its sessions,
    the latest active first; projects by their folder. ``damaged``: see ``registry_items``;
    ``forgotten`` gets, by project, the ids of its sessions ``memcore forget`` marked."""
    projects: dict[str, list[SessionRecord]] = {}
    for name in await store.list_sessions():
        if not name.startswith(REGISTRY_PREFIX):
            continue
        items = await registry_items(store, name, damaged)
        for folder in _folders(items):  # (two folders may share a registry: each keeps its own)
            records = entries_of(items, folder)
            if records:
                projects[folder] = records
            marked = forgotten_of(items, folder)
            if marked and forgotten is not None:
                forgotten[folder] = marked
    return dict(sorted(projects.items()))


__all__ = ["SUMMARY_CHARS", "registry_items", "saved_projects", "session_summary", "session_time"]
