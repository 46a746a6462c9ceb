"""Forgetting a saved Claude Code session (``memcore forget``): what memcore holds of it leaves
the store, history included, and it is not saved again.

A session worth forgetting is one that went wrong (its digest would be brought back to every
later session of the project) or one that holds what should not be kept. So forgetting takes:

* the session's own items, journal, meta and backups (``Store.delete_session``);
* its entry in its project's registry, which holds its digests, files and knowledge: replaced by
  a *mark* (:func:`forgotten_entry`), and the registry's history (journal, backups) dropped, so
  that the old entry's digests are not kept there either;
* its access log (the files and commands it used) and the note of the cut an import stored its
  items with, with the history of those sessions dropped too.

The mark is what keeps it forgotten: Claude Code keeps the transcript for a month, and the hooks
(``stop``, ``pre-compact``, ``session-end`` of a resumed session), session-start's catch-up of
missed saves and ``memcore import-claude-code`` would otherwise save it again. Each of them
passes over a session whose entry is the mark. ``memcore forget --undo`` takes the mark away:
the next save or import brings the session back from its transcript, if it is still there.

``memcore forget --older-than DAYS`` forgets the saved sessions last active longer ago than that
(:func:`inactive_sessions`) in one pass, the history of memcore's own sessions dropped once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from memcore.claude_code.stored_values import item_of
from memcore.errors import CorruptedMemoryError, MemcoreError, NotFoundError, ValidationError
from memcore.model import MemoryItem, utc_now

#: The ``kind`` of a registry entry that marks a forgotten session.
FORGOTTEN_KIND = "forgotten-session"
#: The longest wait for a session's save turn (seconds), longer than a hook's: an import holds
#: it while it writes the session. A forget that waited in vain fails and changes nothing
#: (``TurnHeldError``): gone on beside the import, it saw its mark written over by the
#: import's entry, and the items it deleted written back.
TURN_WAIT = 30.0


def is_forgotten(value: Any) -> bool:
    """Whether a registry value (an item or its mapping) is the mark of a forgotten session."""
    return _meta(value).get("kind") == FORGOTTEN_KIND


def _meta(value: Any) -> Mapping[str, Any]:
    if isinstance(value, MemoryItem):
        return value.metadata
    meta = value.get("metadata") if isinstance(value, Mapping) else None
    return meta if isinstance(meta, Mapping) else {}


def forgotten_entry(session_id: str, cwd: str) -> MemoryItem:
    """The mark left in a project's registry in place of a forgotten session's entry. It keeps
    the folder (another folder sharing the registry key does not take it for its own) and
    nothing of what the session was."""
    from memcore.claude_code.project import registry_key

    return MemoryItem(
        registry_key(session_id),
        "forgotten",
        metadata={
            "kind": FORGOTTEN_KIND,
            "session_id": session_id,
            "cwd": cwd,
            "forgotten_at": utc_now().isoformat(timespec="seconds"),
        },
    )


def deleted_here(manager: Any, session_id: str, key: str) -> bool:
    """Whether ``key`` of the session holds a deletion (a memory forgotten on its own, as the
    MCP server's ``forget`` does): a save or an import of its transcript does not bring it back."""
    entry = manager.entry(session_id, key)
    return entry is not None and bool(entry.deleted)


async def forget_memory(manager: Any, session_id: str, key: str, registries: Sequence[str]) -> None:
    """Delete one memory of a saved Claude Code session, and make its entry in the registry of
    ``registries`` that holds one again from the items left, so that its digests, which
    session-start brings back, no longer tell of it. In the session's save turn: a save or an
    import under way would otherwise write its entry, or the memory, back; a turn another
    process holds for longer than ``TURN_WAIT`` is a ``TurnHeldError``, nothing deleted."""
    from memcore.claude_code.project import SessionRecord, registry_key
    from memcore.claude_code.stale_entries import make_entry_again

    async with AsyncExitStack() as turn:
        await _take_turns(turn, [session_id], f"memory {key!r} was not forgotten")
        await manager.sync_session_memory(session_id)
        manager.delete(session_id, key)
        await manager.sync_session_memory(session_id)
        for registry in registries:
            await manager.sync_session_memory(registry)
            entry_key = registry_key(session_id)
            held = manager.get(registry, entry_key)
            if held is None or is_forgotten(held):
                continue
            entry = item_of(held, registry, entry_key, by="memcore forget")  # (None: no entry)
            if entry is not None:
                old = SessionRecord.from_item(entry)
                await make_entry_again(manager, registry, old, by="memcore forget")


def forgotten_ids(values: Iterable[Any]) -> set[str]:
    """The session ids marked forgotten among a registry's values."""
    return {str(_meta(value).get("session_id", "")) for value in values if is_forgotten(value)}


@dataclass
class ForgetReport:
    """What ``forget_session`` took out of the store."""

    session: str
    items: int = 0  # the live items the session held
    projects: list[str] = field(default_factory=list)  # the projects it was filed under
    access_log: bool = False  # whether it had an access log
    history_dropped: list[str] = field(default_factory=list)  # memcore's sessions rewritten
    stored: bool = False  # whether the store held the session itself


async def forget_session(store: Any, session_id: str, *, dry_run: bool = False) -> ForgetReport:
    """Forget ``session_id`` (see the module doc); ``dry_run``: only say what would go.
    ``ValidationError`` for memcore's own sessions; ``NotFoundError`` when the store holds
    nothing of it."""
    reports = await forget_sessions(store, [session_id], dry_run=dry_run)
    if not reports[0].projects and not reports[0].history_dropped and not reports[0].stored:
        marked = await _marked_forgotten(store, session_id)
        if marked is not None:  # (forgotten twice: "holds nothing" read as a wrong id)
            raise NotFoundError(
                f"session {marked!r} is already forgotten: the store holds only the mark that "
                "keeps it from being saved again (--undo takes it away)"
            )
        raise NotFoundError(f"the store holds nothing of session {session_id!r}")
    return reports[0]


async def _marked_forgotten(store: Any, session_id: str) -> str | None:
    """The session a registry marks forgotten whose id is ``session_id`` or starts with it."""
    from memcore.stores.base import session_by_prefix

    marked = sorted(await _forgotten_in(store))
    return session_id if session_id in marked else session_by_prefix(session_id, marked)


async def _forgotten_in(store: Any) -> set[str]:
    """The ids of the sessions the store's registries mark forgotten."""
    from memcore.claude_code.project import REGISTRY_PREFIX
    from memcore.sync import DistributedMemoryManager

    manager = DistributedMemoryManager(storage_backend=store, replica_id="memcore-forget")
    try:
        marked: set[str] = set()
        for registry in sorted(await store.list_sessions()):
            if registry.startswith(REGISTRY_PREFIX):
                await manager.sync_session_memory(registry)
                marked |= forgotten_ids(manager.state(registry).values())
        return marked
    finally:
        await manager.close()


async def forget_sessions(
    store: Any, session_ids: Sequence[str], *, dry_run: bool = False
) -> list[ForgetReport]:
    """Forget each of ``session_ids``, one report each (one that held nothing says so: no
    project, nothing dropped, not stored). memcore's own sessions' history is dropped once, for
    all of them."""
    from memcore.claude_code.save_turns import lock_path

    for session_id in session_ids:
        if session_id.startswith("memcore."):
            raise ValidationError(f"{session_id!r} is memcore's own session, not one to forget")
    # not while a hook saves one of them, or an import writes it (what it wrote would stay, its
    # entry over the mark): each turn's lock once (sessions share the lock files: taken twice
    # here, the second would wait for the first in vain); one not taken, nothing is forgotten
    # (a dry run, which changes nothing, goes on without it)
    locks = {lock_path(session_id): session_id for session_id in session_ids}
    async with AsyncExitStack() as turns:
        in_order = [session_id for _, session_id in sorted(locks.items())]
        await _take_turns(turns, in_order, "nothing was forgotten", required=not dry_run)
        return await _forget(store, list(dict.fromkeys(session_ids)), dry_run)


async def _take_turns(
    turns: AsyncExitStack, session_ids: Sequence[str], outcome: str, required: bool = True
) -> None:
    """Take the save turn of each of ``session_ids`` into ``turns``, each waited for
    ``TURN_WAIT`` seconds; ``required``: one not taken is a ``TurnHeldError`` that says
    ``outcome`` (the turns taken before it are let go with ``turns``)."""
    from memcore.claude_code.save_turns import TurnHeldError, session_turn

    for session_id in session_ids:
        try:
            await turns.enter_async_context(
                session_turn(session_id, wait=TURN_WAIT, required=required)
            )
        except TurnHeldError as exc:
            raise TurnHeldError(f"{outcome}: {exc}; try again once it is done") from None


async def _forget(store: Any, session_ids: list[str], dry_run: bool) -> list[ForgetReport]:
    from memcore.access_log import ACCESS_LOG_SESSION
    from memcore.backups import check_backupable, drop_history
    from memcore.claude_code.project import REGISTRY_PREFIX, registry_key
    from memcore.cli.import_unchanged import CUTS_SESSION
    from memcore.sync import DistributedMemoryManager

    reports = {session_id: ForgetReport(session_id) for session_id in session_ids}
    names = set(await store.list_sessions())
    # what changes in memcore's own sessions: (session, key, the mark to set or None to delete)
    changes: list[tuple[str, str, MemoryItem | None]] = []
    manager = DistributedMemoryManager(storage_backend=store, replica_id="memcore-forget")
    try:
        for registry in sorted(n for n in names if n.startswith(REGISTRY_PREFIX)):
            await manager.sync_session_memory(registry)
            for session_id, report in reports.items():
                key = registry_key(session_id)
                held = manager.get(registry, key)
                if held is None or is_forgotten(held):
                    continue
                entry = item_of(held, registry, key, by="memcore forget")
                if entry is None:  # (another program's value under that key: no entry of it)
                    continue
                cwd = str(entry.metadata.get("cwd", ""))
                report.projects.append(cwd)
                report.history_dropped.append(registry)
                changes.append((registry, key, forgotten_entry(session_id, cwd)))
        for own in (ACCESS_LOG_SESSION, CUTS_SESSION):  # (memcore's notes keyed by session)
            if own not in names:
                continue
            await manager.sync_session_memory(own)
            for session_id, report in reports.items():
                if manager.get(own, session_id) is not None:
                    report.access_log = report.access_log or own == ACCESS_LOG_SESSION
                    report.history_dropped.append(own)
                    changes.append((own, session_id, None))
        rewritten = sorted({name for name, _, _ in changes})
        for session_id, report in reports.items():
            if session_id in names:
                report.stored = True
                report.items = await _live_count(store, session_id)
        if dry_run:
            return list(reports.values())
        for name in rewritten:  # (before anything goes: its history could not be dropped after)
            try:
                await check_backupable(store, name)
            except CorruptedMemoryError as exc:
                raise CorruptedMemoryError(f"nothing was forgotten: {exc}") from exc
        for name, key, mark in changes:
            if mark is None:
                manager.delete(name, key)
            else:
                manager.set(name, key, mark)
        for name in rewritten:
            await manager.sync_session_memory(name)
    finally:
        await manager.close()
    for session_id, report in reports.items():
        if report.stored:
            await store.delete_session(session_id)
    for name in rewritten:
        await drop_history(store, name)
    return list(reports.values())


async def inactive_sessions(store: Any, days: float, folder: str | None = None) -> list[str]:
    """The saved sessions (of the project of ``folder``, else of every project) whose last
    activity is more than ``days`` days ago, the oldest first."""
    from datetime import timedelta

    from memcore.claude_code.session_list import saved_projects
    from memcore.claude_code.session_start import project_entries

    if not isinstance(days, (int, float)) or isinstance(days, bool) or not days >= 0:
        raise ValidationError(f"days must be a number >= 0 (got {days!r})")
    if folder is None:
        records = [r for found in (await saved_projects(store)).values() for r in found]
    else:
        records = (await project_entries(store, folder))[1]
    try:
        before = (utc_now() - timedelta(days=days)).isoformat(timespec="seconds")[:19]
    except OverflowError:  # (before the year 1: nothing is that old)
        return []
    stamps = [((r.last_activity or r.updated_at)[:19], r.session_id) for r in records]
    return [session for stamp, session in sorted(stamps) if stamp and stamp < before]


async def _live_count(store: Any, session_id: str) -> int:
    """The session's live items (a damaged record counts: it is forgotten as well)."""
    from memcore.stores import decode_entry

    count = 0
    for record in (await store.read_snapshot(session_id)).records.values():
        try:
            count += not decode_entry(record).deleted
        except MemcoreError:
            count += 1
    return count


async def remember_session(store: Any, session_id: str) -> tuple[str, list[str]]:
    """Take the marks of a forgotten session away (``memcore forget --undo``): its next save or
    import brings it back. ``session_id`` may be the start of the id. Returns the session and
    the projects whose mark was taken; ``NotFoundError`` when no registry marks it forgotten."""
    from memcore.claude_code.project import REGISTRY_PREFIX, registry_key
    from memcore.sync import DistributedMemoryManager

    found = await _marked_forgotten(store, session_id)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="memcore-forget")
    try:
        registries = [n for n in await store.list_sessions() if n.startswith(REGISTRY_PREFIX)]
        if found is None:
            raise NotFoundError(f"session {session_id!r} is not marked forgotten")
        projects = []
        key = registry_key(found)
        for registry in sorted(registries):
            await manager.sync_session_memory(registry)
            held = manager.get(registry, key)
            if held is not None and is_forgotten(held):
                manager.delete(registry, key)
                await manager.sync_session_memory(registry)
                projects.append(str(_meta(held).get("cwd", "")))
        return found, projects
    finally:
        await manager.close()


__all__ = [
    "FORGOTTEN_KIND",
    "ForgetReport",
    "deleted_here",
    "forget_memory",
    "forget_session",
    "forget_sessions",
    "forgotten_entry",
    "forgotten_ids",
    "inactive_sessions",
    "is_forgotten",
    "remember_session",
]
