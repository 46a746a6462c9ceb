"""What ``memcore import-claude-code`` writes: each session's items saved in its turn (the
per-session lock the hooks and ``memcore forget`` take), the forgotten mark checked before and
after, the session filed under its project. Split from :mod:`memcore.cli.importer`, which reads
the command line and the transcripts and prints what was stored."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from memcore.cli._progress_bar import _progress
from memcore.cli.importer import MAX_CHARS
from memcore.errors import BackendError, MemcoreError, ValidationError
from memcore.model import MemoryItem

#: The longest wait for a session's save turn (seconds): a hook's save or a ``memcore forget``
#: of it is waited for, not written over; held longer, that session is skipped, and named (a
#: forget still deleting it would lose its mark to what the import wrote), the rest imported
TURN_WAIT = 30.0

if TYPE_CHECKING:
    from memcore.claude_code import Transcript
    from memcore.sync import DistributedMemoryManager


class _Stored(NamedTuple):
    """What the import did with one session."""

    items: int
    version: int
    logged: int  # accesses in its access log
    project: str | None = None  # the project it was filed under
    unfiled: str | None = None  # why filing it failed (its items are stored all the same)
    written: int = 0  # items new or changed since the store last had them
    kept: int = 0  # items stored longer than this import's cut made them: left as they were
    refused: tuple[str, ...] = ()  # why each item no store can hold was left out
    forgotten: bool = False  # ``memcore forget`` marked it while the import ran: not stored
    written_before_mark: bool = False  # (forgotten) the mark came after the import wrote it
    unplaced: str | None = None  # why it has no project to be filed under (no absolute cwd)
    held: str | None = None  # its turn was held by another process all the while: not stored


async def _import_sessions(
    url: str | None,
    sessions: Mapping[str, Sequence[Transcript]],
    stamps: Mapping[Path, tuple[str, list[int]]] | None,
    cut: int,
    done: dict[str, _Stored],
) -> None:
    """Store each session's items (cut at ``cut``) and access log; with ``stamps``, also file
    each session under its project (``_file_session``) and note its cut (``_note_cut``).
    ``done`` gets each session as it is stored (what a failure midway leaves stored is said).
    A session id no store takes is a ``ValidationError`` before anything is stored.

    Each session is written in its save turn (``memcore.claude_code.save_turns``), the lock
    ``memcore forget`` and the hooks take, and only when no registry marks it forgotten then:
    the check before the reading is long past by the time it is written. A mark that appears
    while it is written (a forget that went on without the turn) has what was written forgotten
    again, so that whichever runs first, a forgotten session stays forgotten. A session whose
    turn another process holds for longer than ``TURN_WAIT`` is not written at all (``held``
    says why): the others are."""
    from memcore.cli.import_unchanged import CUTS_SESSION
    from memcore.stores import open_store
    from memcore.stores.base import validate_session_id
    from memcore.sync import DistributedMemoryManager

    for session in sessions:  # (before anything is stored: the importer leaves such out)
        validate_session_id(session)
    # one id per run: two imports at once on one store are two replicas
    replica = f"memcore-import-{secrets.token_hex(6)}"
    store = open_store(url)
    notes = DistributedMemoryManager(storage_backend=store, replica_id=replica)
    try:
        if stamps is not None:
            await notes.sync_session_memory(CUTS_SESSION)
        with _progress() as progress:
            task = progress.add_task("storing sessions", total=len(sessions))
            for session, transcripts in sessions.items():
                stored = await _import_in_turn(
                    store, notes, replica, session, transcripts, stamps, cut
                )
                if stored.forgotten and stored.written_before_mark:
                    await _forget_again(store, session)
                done[session] = stored
                progress.advance(task)
    finally:
        await notes.close()
        await store.close()


async def _import_in_turn(
    store: Any,
    notes: DistributedMemoryManager,
    replica: str,
    session: str,
    transcripts: Sequence[Transcript],
    stamps: Mapping[Path, tuple[str, list[int]]] | None,
    cut: int,
) -> _Stored:
    """``_import_sessions``' work on one session, in its save turn; ``forgotten`` when a
    registry marks it forgotten before it is written (nothing is) or after; ``held`` when
    another process held its turn for longer than ``TURN_WAIT`` (nothing is written: gone on
    without it, what a forget deleting the session meanwhile would be written back)."""
    from memcore.claude_code.save_turns import TurnHeldError, session_turn
    from memcore.cli.import_unchanged import CUTS_SESSION, next_cut, noted_cut
    from memcore.sync import DistributedMemoryManager
    from memcore.transfer import save_access_log

    async with contextlib.AsyncExitStack() as turn:
        try:
            await turn.enter_async_context(session_turn(session, TURN_WAIT, required=True))
        except TurnHeldError as exc:
            return _Stored(0, 0, 0, held=str(exc))
        if await _marked_forgotten(store, replica, session):
            return _Stored(0, 0, 0, forgotten=True)
        manager = DistributedMemoryManager(storage_backend=store, replica_id=replica)
        try:
            await manager.sync_session_memory(session)
            files = _stamps_of(transcripts, stamps)
            held = notes.get(CUTS_SESSION, session)
            noted = noted_cut(None if held is None else MemoryItem.coerce(held), files)
            # a cut smaller than the stored items': what it reads again knows less
            # (texts cut shorter, the calls after an agent's words); so does a copy
            # the project it is filed under (looked for once: the store's folders)
            filed_under = (
                await _filing_project(manager, transcripts) if stamps is not None else None
            )
            keep_held = cut < noted or (
                filed_under is not None
                and await _a_copy_of_less(manager, session, transcripts, filed_under)
            )
            count, written, kept, cut_written, refused = _set_items(
                manager, session, transcripts, keep_held=keep_held
            )
            after = next_cut(noted, cut, cut_written)
            if stamps is not None and after < noted:  # (before the items: a failure
                await _note_cut(notes, session, after, files)  # leaves it noted)
            result = await manager.sync_session_memory(session)
            if stamps is not None and after >= noted:
                with contextlib.suppress(MemcoreError):  # (unnoted: only read again)
                    await _note_cut(notes, session, after, files)
            # the accesses before the filing, which says how far the transcripts were
            # read: after it, a failed write lost them for good (never read again)
            accesses = [a for t in transcripts for a in t.accesses]
            logged = await save_access_log(store, session, accesses, append=False)
            project = unfiled = unplaced = None
            if stamps is not None and filed_under is None:
                unplaced = _no_folder(transcripts)  # (said: session-start brings it nowhere)
            elif stamps is not None and (
                written or not await _filed(manager, session, filed_under)
            ):
                try:
                    project = await _file_session(
                        manager, session, transcripts, stamps, filed_under
                    )
                except MemcoreError as exc:  # its items are stored: the rest goes on
                    unfiled = str(exc)
        finally:
            await manager.close()
        if await _marked_forgotten(store, replica, session):
            return _Stored(count, result.version, logged, forgotten=True, written_before_mark=True)
        return _Stored(
            count,
            result.version,
            logged,
            project,
            unfiled,
            written,
            kept,
            refused,
            unplaced=unplaced,
        )


async def _marked_forgotten(store: Any, replica: str, session: str) -> bool:
    """Whether a project's registry marks ``session`` forgotten now (read afresh: a forget in
    another process has written it, and dropped the registry's history, since)."""
    from memcore.claude_code.forget import is_forgotten
    from memcore.claude_code.project import REGISTRY_PREFIX, registry_key
    from memcore.sync import DistributedMemoryManager

    names = [n for n in await store.list_sessions() if n.startswith(REGISTRY_PREFIX)]
    if not names:
        return False
    reader = DistributedMemoryManager(storage_backend=store, replica_id=replica)
    try:
        for registry in sorted(names):
            await reader.sync_session_memory(registry)
            held = reader.get(registry, registry_key(session))
            if held is not None and is_forgotten(held):
                return True
        return False
    finally:
        await reader.close()


async def _forget_again(store: Any, session: str) -> None:
    """Forget ``session`` once more (``forget_sessions``, out of the import's turn: it takes
    it): what the import wrote of it while a forget marked it goes, and the mark stays."""
    from memcore.claude_code.forget import forget_sessions
    from memcore.claude_code.save_turns import TurnHeldError

    try:
        await forget_sessions(store, [session])
    except TurnHeldError as exc:  # (a forget goes on only in the turn: said, to be run again)
        raise TurnHeldError(
            f"session {session!r} was forgotten (memcore forget) while it was imported, and "
            f"what the import wrote of it is still stored: {exc} (`memcore forget {session}`)"
        ) from None


def _stamps_of(
    transcripts: Sequence[Transcript], stamps: Mapping[Path, tuple[str, list[int]]] | None
) -> dict[str, list[int]]:
    """The transcripts' files' size and mtime before they were read, by absolute name."""
    found = stamps or {}
    return {found[t.path][0]: found[t.path][1] for t in transcripts if t.path in found}


async def _filing_project(
    manager: DistributedMemoryManager, transcripts: Sequence[Transcript]
) -> str | None:
    """The project the session is filed under, as the hooks file it (``filing_project``: a
    subfolder of a project with memory is that project); None when no record names a folder."""
    from memcore.claude_code.project import filing_project

    project = _project_of(transcripts)
    return None if project is None else await filing_project(manager.store, project)


async def _a_copy_of_less(
    manager: DistributedMemoryManager,
    session: str,
    transcripts: Sequence[Transcript],
    project: str,
) -> bool:
    """Whether the session's transcripts are a copy of it that holds nothing its stored items
    do not (``session_record.a_copy_of_less``, as the hooks decide it); ``project``: the one
    it is filed under."""
    from memcore.claude_code.forget import is_forgotten
    from memcore.claude_code.project import SessionRecord, registry_key, registry_session
    from memcore.claude_code.session_record import a_copy_of_less

    main = next((t for t in transcripts if t.agent_id is None), None)
    if main is None:
        return False
    registry = registry_session(project)
    await manager.sync_session_memory(registry)
    held = manager.get(registry, registry_key(session))
    if held is None or is_forgotten(held):
        return False
    try:
        entry = SessionRecord.from_item(MemoryItem.coerce(held))
    except (MemcoreError, ValueError, TypeError):  # (a damaged entry: the items as read)
        return False
    ids = (item.id for t in transcripts for item in t.items)
    return a_copy_of_less(entry, main.path, ids, manager.value_hashes(session).keys())


def _set_items(
    manager: DistributedMemoryManager,
    session: str,
    transcripts: Sequence[Transcript],
    *,
    keep_held: bool = False,
) -> tuple[int, int, int, bool, tuple[str, ...]]:
    """Set the transcripts' items that are new or changed (importing twice adds nothing), but
    none over a longer stored content (``longer_kept``), and none stored already when
    ``keep_held`` (a copy that holds less: ``_a_copy_of_less``): how many items, how many set,
    how many kept longer, whether an item set was cut, and why each item a store cannot hold (a
    number of 30 digits in a record) was left out: that item alone, not the session."""
    from memcore.claude_code.forget import deleted_here
    from memcore.cli.import_unchanged import longer_kept, was_cut

    # (each counted once: an item of two files of the session, a copy of it beside it, is one)
    counted: set[str] = set()
    written: set[str] = set()
    kept: set[str] = set()
    cut_written = False
    refused: list[str] = []
    for transcript in transcripts:
        for item in transcript.items:
            counted.add(item.id)
            held = manager.get(session, item.id)
            if held == item or (held is None and deleted_here(manager, session, item.id)):
                continue  # (unchanged, or a memory forgotten on its own: not brought back)
            if held is not None and keep_held:
                kept.add(item.id)
                continue
            if held is not None and longer_kept(MemoryItem.coerce(held), item):
                kept.add(item.id)
                continue
            try:
                manager.set(session, item.id, item)
            except ValidationError as exc:  # (refused whole: nothing of it is pending)
                refused.append(f"{item.id}: {exc}")
                continue
            written.add(item.id)
            cut_written = cut_written or was_cut(item)
    return len(counted), len(written), len(kept), cut_written, tuple(refused)


async def _note_cut(
    notes: DistributedMemoryManager, session: str, cut: int, files: Mapping[str, list[int]]
) -> None:
    """Note in ``CUTS_SESSION`` that ``session``'s items are stored cut at ``cut`` (none: the
    hooks' cut), unless it says so already."""
    from memcore.cli.import_unchanged import CUTS_SESSION, cut_note

    held = notes.get(CUTS_SESSION, session)
    if cut == MAX_CHARS:
        if held is None:
            return
        notes.delete(CUTS_SESSION, session)
    else:
        note = cut_note(session, cut, files)
        if held is not None and MemoryItem.coerce(held).metadata == note.metadata:
            return
        notes.set(CUTS_SESSION, session, note)
    result = await notes.sync_session_memory(CUTS_SESSION)
    if not result.success:
        raise BackendError(f"could not note the cut of session {session!r}: {result.error}")


async def _filed(manager: DistributedMemoryManager, session: str, project: str | None) -> bool:
    """Whether the session's entry is already in the registry of ``project``, the one it is
    filed under (an import of nothing new leaves it as it is: refiling would only restamp it)."""
    from memcore.claude_code.project import registry_key, registry_session

    if project is None:
        return False
    registry = registry_session(project)
    await manager.sync_session_memory(registry)
    return manager.get(registry, registry_key(session)) is not None


def _started_in(transcripts: Sequence[Transcript]) -> str | None:
    """The folder (``cwd``) a session ran in: its main transcript's first, else a
    sub-agent's; None when no record names an absolute one."""
    for transcript in sorted(transcripts, key=lambda t: t.agent_id is not None):
        for item in transcript.items:
            cwd = item.metadata.get("cwd")
            if isinstance(cwd, str) and os.path.isabs(cwd):
                return cwd
    return None


def _no_folder(transcripts: Sequence[Transcript]) -> str:
    """Why a session is filed under no project (``_started_in`` found no folder), said in its
    line of the import's output."""
    for transcript in transcripts:
        for item in transcript.items:
            cwd = item.metadata.get("cwd")
            if isinstance(cwd, str) and cwd:
                return (
                    f"its records name no absolute working folder (cwd {cwd[:200]!r} is "
                    "relative): no session started in a project brings it back"
                )
    return (
        "no record names the folder it ran in (cwd): no session started in a project brings it back"
    )


def _project_of(transcripts: Sequence[Transcript]) -> str | None:
    """The project a session is filed under: the folder it ran in (in a linked git worktree
    that is still there, the same place in its repository's main working tree, as the hooks
    file it); None when no record names one."""
    from memcore.claude_code.worktrees import project_folder

    started = _started_in(transcripts)
    return None if started is None else project_folder(started)


async def _file_session(
    manager: DistributedMemoryManager,
    session: str,
    transcripts: Sequence[Transcript],
    stamps: Mapping[Path, tuple[str, list[int]]],
    project: str | None,
) -> str | None:
    """File the imported session under ``project`` (``_filing_project``), as the saving hooks
    do: its entry in the
    project's registry (``memcore.claude_code.session_record``), so that session-start brings
    it back. Each transcript's ``read_to`` is its size and time from before it was read, with
    the offset read to: a hook that later saves the same file reads on from there, and one that
    grew while it was read is read again, never skipped. An entry already there (a hook's, or
    another copy's) keeps what it knew: a shorter copy adds to its files and read offsets and
    leaves its branch. The project, or None: none known."""
    from memcore.claude_code.forget import is_forgotten
    from memcore.claude_code.project import (
        SessionRecord,
        merge_files,
        registry_key,
        registry_session,
        summarize_files,
    )
    from memcore.claude_code.session_record import fresh_record
    from memcore.claude_code.stored_values import items_of
    from memcore.claude_code.worktrees import linked_tree, placed

    started = _started_in(transcripts)
    if started is None or project is None:
        return None
    tree = linked_tree(started)  # (a linked git worktree's files: at their place in the main)
    cwd = project
    read_to = {
        stamps[t.path][0]: [*stamps[t.path][1], t.end_offset]
        for t in transcripts
        if t.path in stamps
    }
    branches = [
        str(i.metadata["git_branch"])
        for t in transcripts
        for i in t.items
        if i.metadata.get("git_branch")
    ]
    # (a value that is no memory item, another program's through the plain store API: left out)
    items = list(items_of(manager, session, by="memcore import-claude-code").values())
    files = placed(
        summarize_files(
            [a for t in transcripts for a in t.accesses],
            [i for t in transcripts for i in t.items],
        ),
        tree,
    )
    branch = branches[-1] if branches else ""
    registry = registry_session(cwd)
    await manager.sync_session_memory(registry)
    held = manager.get(registry, registry_key(session))
    if held is not None and is_forgotten(held):
        return None  # (``memcore forget`` marked it since it was checked: the mark stays)
    if held is not None:  # filed before (by a hook, or another copy): a copy takes nothing away
        previous = SessionRecord.from_item(MemoryItem.coerce(held))
        files = merge_files(previous.files, files, again=True)
        read_to = {**previous.read_to, **read_to}
        newest = max((i.created_at for t in transcripts for i in t.items), default=None)
        older = newest is None or newest.isoformat(timespec="seconds") < previous.last_activity
        if previous.git_branch and (older or not branch):
            branch = previous.git_branch  # an older copy's branch is not where the session is
    record = fresh_record(session, cwd, items, files=files, read_to=read_to, git_branch=branch)
    manager.set(registry, registry_key(session), record.to_item())
    result = await manager.sync_session_memory(registry)
    if not result.success:
        raise BackendError(f"could not file session {session!r} under {cwd}: {result.error}")
    return cwd
