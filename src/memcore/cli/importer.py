"""``memcore import-claude-code``: read Claude Code transcripts into sessions."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
from collections import Counter
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO, TypeVar

from memcore.cli._common import (
    DEFAULT_STORE_HELP,
    INTERNAL_SESSION_PREFIX,
    Subparsers,
    _add,
    _positive_int,
    _progress,
    _store_name,
    reading_store,
    run,
    run_reading,
    session_id,
    store_url,
    transcripts_with_records,
)
from memcore.errors import BackendError, MemcoreError, NotFoundError, ValidationError
from memcore.model import MemoryItem

#: ``memcore.claude_code.transcripts.MAX_CHARS``, the hooks' cut (not imported from there: the
#: command line builds its parser without importing what each command runs)
MAX_CHARS = 4000
#: The longest wait for a session's save turn (seconds): a hook's save or a ``memcore forget``
#: of it is waited for, not written over (a stopped process holding it does not stop the import)
TURN_WAIT = 30.0

if TYPE_CHECKING:
    from memcore.claude_code import Transcript
    from memcore.cli.import_unchanged import Filed, Groups
    from memcore.sync import DistributedMemoryManager

_T = TypeVar("_T")


def register(sub: Subparsers) -> None:
    """Add this module's commands to ``memcore``."""
    p = _add(
        sub,
        "import-claude-code",
        cmd_import_claude_code,
        "read Claude Code session transcripts into memory items",
        "Read Claude Code transcripts (the JSON-lines files under ~/.claude/projects/, one per\n"
        "session, sub-agents included; found by their content, so checkpoint tools' full.jsonl\n"
        "files count too) into memory items, one memcore session per Claude Code session, and\n"
        "record the files and tools they touched as accesses for the prefetcher. Items hold the\n"
        "facts (paths, names changed, commands, exit statuses, error lines), not file dumps;\n"
        "Claude Code's scaffolding is skipped. Malformed lines are reported, never fatal.\n"
        "Each session is filed under its project (the cwd its records name), as memcore's\n"
        "Claude Code hooks file the sessions they save: a session started there brings back\n"
        "what the imported ones learned.",
    )
    p.add_argument(
        "path",
        nargs="*",
        type=_transcript_path,
        help="transcript files, project folders or the projects root, as many as you like "
        "(default: $CLAUDE_CONFIG_DIR/projects or ~/.claude/projects)",
    )
    p.add_argument("--store", metavar="URL", type=store_url, help=DEFAULT_STORE_HELP)
    p.add_argument(
        "--session",
        type=_own_session,
        help="file everything under this one session id instead (not one of memcore's own, "
        f"{INTERNAL_SESSION_PREFIX}*)",
    )
    p.add_argument(
        "--max-chars",
        type=_positive_int,
        default=None,
        help=f"cut item contents longer than this, after a word, marked (default: "
        f"{MAX_CHARS}, as the hooks cut them); given, every transcript is read again; "
        "without it, so is a session stored with a smaller one. No stored item is shortened",
    )
    p.add_argument("--dry-run", action="store_true", help="parse and report, store nothing")
    p.add_argument(
        "--reread",
        action="store_true",
        help="read every transcript again, also those of sessions memcore saved (by a hook or an "
        "earlier import) that have not changed since",
    )


def _transcript_path(text: str) -> str:
    """An argparse type: a path given (an empty word is a mistake, not the current folder)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no transcript file or folder")
    return text


def _own_session(text: str) -> str:
    """An argparse type: a session id that is not one of memcore's own (``memcore.*``: the
    access log, the projects' registries), whose items no listing or search shows."""
    session = session_id(text)
    if session.startswith(INTERNAL_SESSION_PREFIX):
        raise argparse.ArgumentTypeError(
            f"{session!r} is memcore's own session ({INTERNAL_SESSION_PREFIX}*): give another id"
        )
    return session


def close_unstarted(coro: Coroutine[Any, Any, Any]) -> None:
    """Close ``coro`` if it never ran (Ctrl-C before the event loop started it), so that Python
    does not warn on exit that it was never awaited."""
    if getattr(coro, "cr_frame", None) is None:
        return  # (finished, or closed)
    import inspect

    if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
        coro.close()


def _run(coro: Coroutine[Any, Any, _T], url: str | None = None, *, reading: bool = False) -> _T:
    """``run`` (``run_reading`` with ``reading``) that leaves no unawaited coroutine behind."""
    try:
        return run_reading(url, coro) if reading else run(coro)
    finally:
        close_unstarted(coro)


def cmd_import_claude_code(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.claude_code import default_projects_dir, group_by_session, parse_transcript
    from memcore.claude_code.discovery import find_all_transcripts
    from memcore.claude_code.project import file_stamp
    from memcore.cli.import_unchanged import by_session, filed, filed_where, unchanged_sessions

    looked = ", ".join(args.path) or str(default_projects_dir())
    paths = find_all_transcripts(args.path)
    if not paths:
        raise NotFoundError(f"no Claude Code transcripts (*.jsonl sessions) under {looked}")
    _run(_store_usable(args.store), args.store, reading=True)  # (before the reading)
    cut = args.max_chars or MAX_CHARS
    groups = by_session(paths)  # (each file's head: its session and folder)
    where = filed_where(groups)
    known = _run(filed(args.store, where), args.store, reading=True)
    paths = _not_forgotten(paths, groups, known, out)
    if paths and not args.session and not args.reread and args.max_chars is None:
        paths = _not_unchanged(paths, groups, unchanged_sessions(known, where, cut), out)
    if not paths:
        print(f"nothing new to import into {_store_name(args.store)}", file=out)
        return 0
    transcripts = []
    # each file's absolute name, size and mtime before it is read (see _file_session)
    stamps: dict[Path, tuple[str, list[int]]] = {}
    with _progress() as progress:
        task = progress.add_task("reading transcripts", total=len(paths))
        for path in paths:
            with contextlib.suppress(OSError):
                stamps[path] = (os.path.abspath(path), file_stamp(path))
            transcripts.append(parse_transcript(path, session=args.session, max_chars=cut))
            progress.advance(task)
    transcripts = transcripts_with_records(transcripts, out)
    sessions = group_by_session(transcripts)
    items = sum(len(t.items) for t in transcripts)
    accesses = sum(len(t.accesses) for t in transcripts)
    malformed = [bad for t in transcripts for bad in t.malformed]
    print(
        f"read {len(paths)} transcript file(s): {len(sessions)} session(s), {items} items, "
        f"{accesses} accesses, {len(malformed)} malformed line(s) skipped",
        file=out,
    )
    for bad in malformed[:10]:
        print(f"  {bad.path}:{bad.line_no}: {bad.reason}", file=out)
    if len(malformed) > 10:
        print(f"  ... and {len(malformed) - 10} more", file=out)
    skipped: Counter[str] = Counter()
    for transcript in transcripts:
        skipped.update(transcript.skipped_types)
    if skipped:
        listed = ", ".join(f"{name} {count}" for name, count in sorted(skipped.items()))
        print(f"skipped (not memory): {listed}", file=out)
    _print_token_check(transcripts, out)
    if args.dry_run:
        print("dry run: nothing stored", file=out)
        return 0
    # with --session, sessions of any project may share one: none is filed under a project
    stored: dict[str, _Stored] = {}
    try:
        _run(_import_sessions(args.store, sessions, None if args.session else stamps, cut, stored))
    except MemcoreError:
        if stored:  # (what was stored before the failure is stored: said, then the error)
            _print_stored(stored, out)
            print(f"stopped after {len(stored)} of {len(sessions)} session(s):", file=out)
        raise
    _print_stored(stored, out)
    print(f"into {_store_name(args.store)}", file=out)
    return 0


def _print_stored(stored: Mapping[str, _Stored], out: TextIO) -> None:
    kept = sum(done.kept for done in stored.values())
    if kept:
        print(
            f"{kept} stored item(s) kept as they were: longer than this import cuts them (an "
            "import never shortens what is stored)",
            file=out,
        )
    for session, done in stored.items():
        if done.forgotten:
            print(
                f"session {session!r} forgotten (memcore forget) while it was imported: not stored",
                file=out,
            )
            continue
        print(
            f"stored session {session!r}: {done.items} items, {done.written} new or changed "
            f"(version {done.version}), {done.logged} accesses in its access log",
            file=out,
        )
        if done.unfiled is not None:
            print(f"  not filed under its project: {done.unfiled}", file=out)
        if done.refused:
            print(
                f"  {len(done.refused)} item(s) no store can hold left out (first: "
                f"{done.refused[0][:200]})",
                file=out,
            )
    projects = {done.project for done in stored.values() if done.project is not None}
    filed = sum(done.project is not None for done in stored.values())
    if filed:
        print(
            f"filed {filed} session(s) under {len(projects)} project(s): a Claude Code session "
            "started there brings back what they learned (memcore install-claude-code)",
            file=out,
        )


async def _store_usable(url: str | None) -> None:
    """A store that cannot take the import (a file that is no memcore store, a folder, a
    server that does not answer) is said before the transcripts are read; a missing one is
    fine: the import makes it."""
    try:
        async with reading_store(url) as store:
            await store.list_sessions()
    except NotFoundError:
        return


def _not_forgotten(paths: list[Path], groups: Groups, known: Filed, out: TextIO) -> list[Path]:
    """``paths`` but those of sessions ``memcore forget`` forgot (said on ``out``)."""
    from memcore.cli.import_unchanged import forgotten_sessions

    forgotten = forgotten_sessions(known)
    if not forgotten:
        return paths
    print(
        f"{len(forgotten)} session(s) forgotten (memcore forget): not imported (`memcore forget "
        "--undo SESSION` lets one be saved again)",
        file=out,
    )
    return _without(paths, groups, forgotten)


def _not_unchanged(
    paths: list[Path], groups: Groups, unchanged: set[str], out: TextIO
) -> list[Path]:
    """``paths`` but those of the ``unchanged`` sessions, read as they are now by a hook or an
    earlier import (said on ``out``)."""
    if not unchanged:
        return paths
    print(
        f"{len(unchanged)} session(s) as memcore last read them (by a hook or an earlier "
        "import): not read again (--reread reads them)",
        file=out,
    )
    return _without(paths, groups, unchanged)


def _without(paths: list[Path], groups: Groups, sessions: set[str]) -> list[Path]:
    """``paths`` but the files of ``sessions``."""
    left = [files for session, files in groups.items() if session not in sessions]
    kept = {path for files in left for path, _ in files}
    return [path for path in paths if path in kept]


def _print_token_check(transcripts: Sequence[Transcript], out: TextIO) -> None:
    """``count_tokens`` against the output tokens the API billed, on the replies whose recorded
    usage can be held against their text (``comparable``)."""
    from memcore.claude_code.results import comparable
    from memcore.tokens import count_tokens

    samples = [s for t in transcripts for s in t.token_samples if comparable(s)]
    if not samples:
        return
    billed = sum(s.output_tokens for s in samples)
    counted = sum(count_tokens(s.text) for s in samples)
    print(
        f"tokens: {len(samples)} assistant replies (of those whose usage was recorded whole, "
        f"without thinking) billed {billed:,} output tokens; count_tokens gives {counted:,} for "
        f"their text (ratio {counted / billed:.2f})",
        file=out,
    )


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

    Each session is written in its save turn (``memcore.claude_code.save_turns``), the lock
    ``memcore forget`` and the hooks take, and only when no registry marks it forgotten then:
    the check before the reading is long past by the time it is written. A mark that appears
    while it is written (a forget that went on without the turn) has what was written forgotten
    again, so that whichever runs first, a forgotten session stays forgotten."""
    from memcore.cli.import_unchanged import CUTS_SESSION
    from memcore.stores import open_store
    from memcore.sync import DistributedMemoryManager

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
    registry marks it forgotten before it is written (nothing is) or after."""
    from memcore.claude_code.save_turns import session_turn
    from memcore.cli.import_unchanged import CUTS_SESSION, next_cut, noted_cut
    from memcore.sync import DistributedMemoryManager
    from memcore.transfer import save_access_log

    async with session_turn(session, wait=TURN_WAIT):
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
            project = unfiled = None
            if stamps is not None and (written or not await _filed(manager, session, filed_under)):
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
        return _Stored(count, result.version, logged, project, unfiled, written, kept, refused)


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

    await forget_sessions(store, [session])


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

    count = written = kept = 0
    cut_written = False
    refused: list[str] = []
    for transcript in transcripts:
        for item in transcript.items:
            count += 1
            held = manager.get(session, item.id)
            if held == item or (held is None and deleted_here(manager, session, item.id)):
                continue  # (unchanged, or a memory forgotten on its own: not brought back)
            if held is not None and keep_held:
                kept += 1
                continue
            if held is not None and longer_kept(MemoryItem.coerce(held), item):
                kept += 1
                continue
            try:
                manager.set(session, item.id, item)
            except ValidationError as exc:  # (refused whole: nothing of it is pending)
                refused.append(f"{item.id}: {exc}")
                continue
            written += 1
            cut_written = cut_written or was_cut(item)
    return count, written, kept, cut_written, tuple(refused)


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
    items = [MemoryItem.coerce(v) for v in manager.state(session).values()]
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
