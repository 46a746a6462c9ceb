"""``memcore inspect``, ``verify``, ``backup`` and ``recover``: look into a store and repair it."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TextIO

from memcore.cli._common import (
    EXIT_ERROR,
    Subparsers,
    _add,
    _positive_int,
    _preview,
    _read_existing_session,
    _read_session,
    run,
)
from memcore.frames import FRAME_CODECS


def register(sub: Subparsers) -> None:
    """Add this module's commands to ``memcore``."""
    p = _add(sub, "inspect", cmd_inspect, "list a store's sessions, or one session's items")
    p.add_argument("url", help="storage URL, e.g. sqlite:///path/to.db or redis://host:6379/0")
    p.add_argument("session", nargs="?", help="the session to show")
    p.add_argument("--limit", type=_positive_int, default=50, help="items to list (default: 50)")

    p = _add(
        sub,
        "verify",
        cmd_verify,
        "check every stored record's checksum",
        "Read every session in the store and check each record's checksum and each session's\n"
        "state checksum. Exits 1 when anything is corrupted.",
    )
    p.add_argument("url", help="storage URL")
    p.add_argument("session", nargs="?", help="check only this session")

    p = _add(
        sub,
        "backup",
        cmd_backup,
        "write a compressed, checksummed backup of a session",
        "Snapshot a session (records, version and digest) into a backup kept in the store, then\n"
        "keep only the newest --keep backups. `memcore recover` restores from these.",
    )
    p.add_argument("url", help="storage URL")
    p.add_argument("session", help="the session to back up")
    p.add_argument(
        "--keep", type=_positive_int, default=5, help="backups to keep, newest first (default: 5)"
    )
    p.add_argument(
        "--compact-journal",
        action="store_true",
        help="also drop journal entries every kept backup covers (no journal-only rebuild after)",
    )
    p.add_argument(
        "--codec",
        choices=FRAME_CODECS,
        default="lz4",
        help="the backup's frame: lz4 (fastest, default) or zstd (smaller)",
    )

    p = _add(
        sub,
        "recover",
        cmd_recover,
        "repair a corrupted session from its backup and change journal",
    )
    p.add_argument("url", help="storage URL")
    p.add_argument("session", help="the session to recover")


async def _sessions(url: str) -> list[str]:
    from memcore.stores import open_store

    store = open_store(url)
    try:
        return sorted(await store.list_sessions())
    finally:
        await store.close()


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    if args.session is None:
        sessions = run(_sessions(args.url))
        print(f"{args.url}: {len(sessions)} session(s)", file=out)
        for session in sessions:
            state = run(_read_session(args.url, session))
            kinds = Counter(str(i.metadata.get("kind", "-")) for i in state.values())
            listed = ", ".join(f"{k} {n}" for k, n in kinds.most_common(4))
            print(f"  {session}: {len(state)} items ({listed})", file=out)
        return 0
    state = run(_read_existing_session(args.url, args.session))
    items = sorted(state.values(), key=lambda item: (item.created_at, item.id))
    from memcore.codec import state_checksum

    print(
        f"{args.session}: {len(items)} items, state checksum {state_checksum(state):016x}",
        file=out,
    )
    for item in items[-args.limit :]:
        kind = item.metadata.get("kind", "-")
        print(
            f"  {item.created_at:%Y-%m-%d %H:%M} {item.priority!s:8} {kind!s:11} "
            f"{item.id}  {_preview(item.content, 70)}",
            file=out,
        )
    if len(items) > args.limit:
        print(f"  ({len(items) - args.limit} older items not shown; see --limit)", file=out)
    return 0


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.recovery import verify_session, verify_store

    if args.session:
        reports = [run(verify_session(args.session, args.url))]
    else:
        reports = list(run(verify_store(args.url)).sessions)
    bad = 0
    for report in reports:
        bad += not report.ok
        print(f"  {report.session_id}: {report.describe()}", file=out)
    print(
        f"{args.url}: {len(reports)} session(s) checked, "
        + (f"{bad} corrupted (try `memcore recover URL SESSION`)" if bad else "all ok"),
        file=out,
    )
    return EXIT_ERROR if bad else 0


def cmd_backup(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.recovery import create_backup

    info = run(
        create_backup(
            args.session,
            args.url,
            keep=args.keep,
            compact_journal=args.compact_journal,
            codec=args.codec,
        )
    )
    print(
        f"backup {info.backup_id} of {args.session!r}: version {info.version}, "
        f"{info.size:,} bytes, {args.codec} frame (keeping the newest {args.keep})"
        + ("; journal compacted" if args.compact_journal else ""),
        file=out,
    )
    return 0


def cmd_recover(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.recovery import recover_corrupted_memory

    result = recover_corrupted_memory(args.session, store=args.url)
    note = ""
    if result.rebuild_required:
        note = (
            "; rebuilt from the journal"
            if result.success
            else "; no backup could serve and the journal could not rebuild it"
        )
    print(
        f"{'recovered' if result.success else 'NOT recovered'}: {result.message} "
        f"({result.updates_applied} journal updates applied{note})",
        file=out,
    )
    return 0 if result.success else EXIT_ERROR
