"""``memcore import-claude-code``: read Claude Code transcripts into sessions."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections import Counter
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from memcore.cli._parser import Subparsers, _add, _positive_int
from memcore.cli._progress_bar import _progress
from memcore.cli._session_reads import INTERNAL_SESSION_PREFIX, transcripts_with_records
from memcore.cli._store_access import reading_store, run, run_reading
from memcore.cli._store_arguments import DEFAULT_STORE_HELP, session_id, store_url
from memcore.cli._store_names import _store_name
from memcore.errors import MemcoreError, NotFoundError, ValidationError

#: ``memcore.claude_code.transcripts.MAX_CHARS``, the hooks' cut (not imported from there: the
#: command line builds its parser without importing what each command runs)
MAX_CHARS = 4000

if TYPE_CHECKING:
    from memcore.claude_code import Transcript
    from memcore.cli.import_store import _Stored
    from memcore.cli.import_unchanged import Filed, Groups

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
    if not args.session:  # (each file's own id: one no store can take is its session's alone)
        sessions = _storable_sessions(sessions, out)
        transcripts = [t for files in sessions.values() for t in files]
    # (an item of two files of a session, a copy of it beside it, is one item of the session)
    items = sum(len({i.id for t in files for i in t.items}) for files in sessions.values())
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
    from memcore.cli.import_store import _import_sessions

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


def _storable_sessions(
    sessions: Mapping[str, list[Transcript]], out: TextIO
) -> dict[str, list[Transcript]]:
    """``sessions`` but those whose id (their transcripts' ``sessionId``) no store takes as a
    session (``validate_session_id``), or that is memcore's own (``memcore.*``): each is named
    on ``out`` as skipped, with its file and why, as a file with no record is, and the others
    are imported. ``ValidationError`` when none is left: nothing would be stored."""
    from memcore.stores.base import shown_session_id, validate_session_id

    kept: dict[str, list[Transcript]] = {}
    refused: list[str] = []
    for session, transcripts in sessions.items():
        try:
            validate_session_id(session)
        except ValidationError as exc:
            rule = str(exc).rsplit(": ", 1)[-1]
            why = f"session id {shown_session_id(session)} is no memcore session id; {rule}"
        else:
            if not session.startswith(INTERNAL_SESSION_PREFIX):
                kept[session] = transcripts
                continue
            why = f"session id {session!r} is one of memcore's own ({INTERNAL_SESSION_PREFIX}*)"
        others = f" (and {len(transcripts) - 1} sub-agent file(s))" if len(transcripts) > 1 else ""
        print(f"  {transcripts[0].path}{others}: skipped: {why}", file=out)
        refused.append(str(transcripts[0].path))
    if refused and not kept:
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        raise ValidationError(
            f"no transcript names a session id memcore can store: {', '.join(refused[:3])}"
            f"{more}; nothing stored"
        )
    return kept


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
        if done.held is not None:  # (its lock held all the while: written without it, a
            print(  # forget under way would lose its mark to it)
                f"session {session!r} skipped, not stored: {done.held}; import it again once "
                "that is done",
                file=out,
            )
            continue
        print(
            f"stored session {session!r}: {done.items} items, {done.written} new or changed "
            f"(version {done.version}), {done.logged} accesses in its access log",
            file=out,
        )
        if done.unplaced is not None:
            print(f"  filed under no project: {done.unplaced}", file=out)
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
