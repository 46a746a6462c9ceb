"""``memcore forget``: a saved session taken out of the store, and kept out (see
:mod:`memcore.claude_code.forget`)."""

from __future__ import annotations

import argparse
import math
from typing import TextIO

from memcore.cli._parser import Subparsers, UsageError, _add
from memcore.cli._session_reads import user_sessions
from memcore.cli._store_access import open_existing_store, run
from memcore.cli._store_arguments import DEFAULT_STORE_HELP, project_folder, session_id, store_url
from memcore.cli._store_names import store_label
from memcore.stores.base import session_by_prefix


def register(sub: Subparsers) -> None:
    """Add ``memcore forget``."""
    p = _add(
        sub,
        "forget",
        cmd_forget,
        "take a saved session out of the store, and keep it out",
        "Forget SESSION (its id, or the start of it): its items, journal and backups are\n"
        "deleted, its entry in its project's list (its digests, files, knowledge) and its\n"
        "access log go too, with the history that held them; session-start no longer tells\n"
        "of it. A mark stays in its project's list so that the hooks and import-claude-code\n"
        "do not save it again from its transcript. --undo takes the mark away (the session\n"
        "is saved again next time its transcript is read); what was deleted does not come\n"
        "back. --older-than DAYS forgets every saved session last active longer ago than\n"
        "that (of the project of --project DIR only, when given), in place of SESSION.",
    )
    p.add_argument(
        "session", metavar="SESSION", nargs="?", type=session_id, help="the session to forget"
    )
    p.add_argument("--store", metavar="URL", type=store_url, help=DEFAULT_STORE_HELP)
    p.add_argument(
        "--older-than",
        metavar="DAYS",
        type=_days,
        help="forget the saved sessions last active more than DAYS days ago",
    )
    p.add_argument(
        "--project",
        metavar="DIR",
        help="with --older-than: only the sessions of the project of this folder",
    )
    p.add_argument("--dry-run", action="store_true", help="say what would go, change nothing")
    p.add_argument(
        "--undo",
        action="store_true",
        help="take away the mark of a forgotten session, so that it may be saved again",
    )


def _days(text: str) -> float:
    """An argparse type: a number of days, 0 or more, and finite (``1e400`` reads as infinity,
    which no session is older than)."""
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if math.isinf(days):
        raise argparse.ArgumentTypeError(f"a number of days must be finite (got {text!r})")
    if not days >= 0:
        raise argparse.ArgumentTypeError(f"a number of days, 0 or more (got {text!r})")
    return days


def _days_said(days: float) -> str:
    """``days`` as the user would write it: a whole number whole (``99999999``, not
    ``1e+08``), any other the shortest way that reads back the same."""
    return str(int(days)) if days.is_integer() and days < 1e16 else repr(days)


def _resolved(session: str, among: list[str]) -> str:
    """``session``, or the one session of ``among`` whose id starts with it."""
    if session in among:
        return session
    return session_by_prefix(session, among) or session


async def _forget(args: argparse.Namespace, folder: str | None, out: TextIO) -> None:
    from memcore.claude_code.forget import forget_session, forget_sessions, inactive_sessions

    async with open_existing_store(args.store, read_only=args.dry_run) as store:
        if args.older_than is None:
            session = _resolved(args.session, user_sessions(await store.list_sessions()))
            reports = [await forget_session(store, session, dry_run=args.dry_run)]
        else:
            old = await inactive_sessions(store, args.older_than, folder)
            reports = await forget_sessions(store, old, dry_run=args.dry_run)
    verb = "would forget" if args.dry_run else "forgot"
    for report in reports:
        where = ", ".join(report.projects) or "no project (not a Claude Code session)"
        print(
            f"{verb} session {report.session!r}: {report.items} item(s); filed under {where}; "
            f"access log: {'yes' if report.access_log else 'none'}",
            file=out,
        )
    dropped = sorted({name for report in reports for name in report.history_dropped})
    if dropped and not args.dry_run:
        print(f"  history dropped in {', '.join(dropped)}", file=out)
    if args.older_than is not None:
        print(
            f"{len(reports)} session(s) last active more than {_days_said(args.older_than)} "
            f"day(s) ago {'would be ' if args.dry_run else ''}forgotten",
            file=out,
        )


async def _undo(args: argparse.Namespace, out: TextIO) -> None:
    from memcore.claude_code.forget import remember_session

    async with open_existing_store(args.store, read_only=False) as store:
        session, projects = await remember_session(store, args.session)
    print(
        f"session {session!r} may be saved again (its mark taken away in "
        f"{', '.join(projects)}); what was deleted did not come back",
        file=out,
    )


def cmd_forget(args: argparse.Namespace, out: TextIO) -> int:
    if args.undo and args.dry_run:
        raise UsageError("memcore forget", "--undo and --dry-run exclude each other")
    if (args.session is None) == (args.older_than is None):
        raise UsageError("memcore forget", "give SESSION or --older-than DAYS (one of them)")
    if args.undo and args.older_than is not None:
        raise UsageError("memcore forget", "--undo takes a SESSION, not --older-than")
    if args.project is not None and args.older_than is None:
        raise UsageError("memcore forget", "--project goes with --older-than")
    folder = None if args.project is None else project_folder(args.project)
    run(_undo(args, out) if args.undo else _forget(args, folder, out))
    print(f"store: {store_label(args.store)}", file=out)
    return 0
