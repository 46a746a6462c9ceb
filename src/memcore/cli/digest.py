"""``memcore digest``: a session's handover note, model-free, within a token budget; or, with
``--project``, what a new Claude Code session of a project is told of its earlier work."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

from memcore.cli._parser import Subparsers, UsageError, _add, _positive_int
from memcore.cli._session_reads import (
    named_session,
    no_project_memory,
    read_state,
    read_states,
    user_sessions,
)
from memcore.cli._store_access import reading_store, run_reading
from memcore.cli._store_arguments import add_session_arguments, project_folder, store_and_session
from memcore.errors import NotFoundError, ValidationError
from memcore.model import MemoryItem

DEFAULT_BUDGET = 2000


def register(sub: Subparsers) -> None:
    """Add this module's commands to ``memcore``."""
    p = _add(
        sub,
        "digest",
        cmd_digest,
        "print a session's digest: what was asked, done, touched, run, broken, left open",
        "Print a deterministic, model-free handover note of a session in markdown: what was\n"
        "asked; decisions and results; files and functions touched, and how; commands and\n"
        "their outcomes; errors and what fixed them; what is still open. It never exceeds\n"
        "--budget tokens. Without SESSION, every session of the store gets its own digest;\n"
        "SESSION may be the start of a session id (a Claude Code session's first 8 characters),\n"
        "or a Claude Code transcript file (a path: its digest, straight from the file, with its\n"
        "sub-agents' files beside it; no store is opened). --project DIR prints instead what a\n"
        "new Claude Code session started in DIR is told of its project's earlier work (the\n"
        "session-start hook's context). Read-only: nothing is created or changed.",
    )
    add_session_arguments(p, required=False)
    p.add_argument(
        "--budget",
        type=_positive_int,
        default=DEFAULT_BUDGET,
        help=f"at most this many tokens per digest (default: {DEFAULT_BUDGET})",
    )
    p.add_argument(
        "--project",
        metavar="DIR",
        help="what a new Claude Code session in this folder is told at its start: the memory of "
        "its project (the folder or the nearest above it with memory)",
    )


async def _states(
    url: str | None, session: str | None, prog: str = "memcore digest"
) -> dict[str, dict[str, MemoryItem]]:
    """One session's items (a damaged record is an error), or every session's (a session's
    damaged records left out, with a warning on stderr: the rest of the store still reads)."""
    async with reading_store(url) as store:
        if session is not None:
            name = await named_session(store, url, session)
            return {name: await read_state(store, url, name)}
        names = user_sessions(await store.list_sessions())
        return await read_states(store, url, names, prog)


def _transcript_path(args: argparse.Namespace) -> Path | None:
    """The transcript file named in place of a session: a word ending in ``.jsonl``, or a path
    to a file (a session id has neither a separator nor that ending; a URL is a store's)."""
    words: list[str] = args.session
    if len(words) != 1:
        return None
    word = words[0]
    path = Path(word).expanduser()
    named = "/" in word or os.sep in word
    if "://" in word or not (word.endswith(".jsonl") or (named and path.is_file())):
        return None  # (a word with a separator naming no file: a bad session id, said as one)
    if not path.is_file():
        from memcore.claude_code.transcript_checks import no_transcript_file

        raise no_transcript_file(path)
    if args.store is not None:
        raise UsageError("memcore digest", "a transcript file is read with no store: drop --store")
    return path


def _transcript_state(path: Path) -> dict[str, dict[str, MemoryItem]]:
    """The items of the transcript at ``path`` and of its sub-agents' files (as the hooks read
    them), under its session: the ``sessionId`` its records name, else its file's name (its
    stem), as ``memcore import-claude-code`` takes the same file. A file with no record (no
    line is a JSON record with a ``type``) is refused, as the import refuses it."""
    from memcore.claude_code import parse_transcripts
    from memcore.claude_code.discovery import transcript_head
    from memcore.claude_code.project import session_files

    named = transcript_head(path).session_id
    parsed = parse_transcripts([path] if named is None else session_files(path, named))
    main = parsed[0]
    if main.records <= len(main.malformed):
        raise ValidationError(f"{path} holds no Claude Code transcript")
    return {main.session_id: {item.id: item for t in parsed for item in t.items}}


async def _project_context(url: str | None, folder: str, budget: int) -> tuple[str, bool]:
    """What the session-start hook tells a new session at ``folder`` (no session of its own),
    and whether there is anything to tell at all (told nothing, a budget too small to hold a
    line is not a project without memory)."""
    from memcore.claude_code.session_start import WHOLE_BUDGET, project_entries, start_context

    async with reading_store(url) as store:
        entries = await project_entries(store, folder)
        text = await start_context(folder, "", store, budget, entries=entries)
        if text:
            return text, True
        return text, bool(await start_context(folder, "", store, WHOLE_BUDGET, entries=entries))


def _print_project_context(args: argparse.Namespace, out: TextIO) -> int:
    if args.session:
        raise UsageError("memcore digest", "--project and SESSION exclude each other")
    folder = project_folder(args.project)
    text, saved = run_reading(args.store, _project_context(args.store, folder, args.budget))
    if not saved:
        raise no_project_memory(folder)
    if not text:
        from memcore.claude_code.session_start import budget_holds_none

        raise ValidationError(budget_holds_none(args.budget, folder))
    print(text, file=out)
    return 0


def cmd_digest(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.digest import session_digest

    if args.project is not None:
        return _print_project_context(args, out)
    transcript = _transcript_path(args)
    if transcript is not None:
        states = _transcript_state(transcript)
        session: str | None = next(iter(states))
    else:
        session = store_and_session(args, "memcore digest", required=False)
        states = run_reading(args.store, _states(args.store, session))
    if not any(states.values()):
        where = f"session {session!r}" if session else "the store"
        raise NotFoundError(f"{where} has no items to digest")
    many = len(states) > 1
    for index, (name, state) in enumerate(states.items()):
        if not state:
            continue
        digest = session_digest(state.values(), args.budget)
        if not digest.text.strip():  # (a blank line would read as "nothing happened")
            raise ValidationError(
                f"a budget of {args.budget} token{'' if args.budget == 1 else 's'} holds no "
                f"line of the digest of session {name!r}: give a larger --budget"
            )
        if many:
            print(f"{'' if index == 0 else chr(10)}# Session {name}\n", file=out)
        print(digest.text, file=out)
    return 0
