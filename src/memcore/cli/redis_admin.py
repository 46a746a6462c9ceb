"""``memcore migrate-redis``: move Redis data written before Redis Cluster support into the
hash-tagged layout, in place or onto another server or a cluster."""

from __future__ import annotations

import argparse
from typing import TextIO

from memcore.cli._exit_codes import EXIT_ERROR
from memcore.cli._parser import Subparsers, _add
from memcore.errors import MemcoreError
from memcore.stores.urls import mask_url


def redis_url(text: str) -> str:
    """An argparse type: a Redis or Redis Cluster URL (anything else is a usage error, exit 2,
    as a mistyped URL is for every command: ``--to sqlite:///x`` included)."""
    from memcore.stores.redis_urls import import_redis, parse_redis_url

    try:
        parse_redis_url(text)
        import_redis()  # (the redis package missing: said before anything runs)
    except MemcoreError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def register(sub: Subparsers) -> None:
    """Add this module's commands to ``memcore``."""
    p = _add(
        sub,
        "migrate-redis",
        cmd_migrate_redis,
        "move Redis data into the cluster-ready layout (or copy it to a cluster)",
        "memcore keeps each session's Redis keys in one hash slot (memcore:{SESSION}:...).\n"
        "Data written by earlier versions (memcore:SESSION:... and a memcore:sessions set) is\n"
        "renamed in place, atomically per session; with --to, every session is copied into\n"
        "another server or a Redis Cluster (redis+cluster://host:port) and checked there, the\n"
        "source left as it was. Stop the store's writers first. Exits 1 if a session was\n"
        "skipped (it is named, with the reason): what memcore never wrote (a name that is no\n"
        "session id, a key of another type) is skipped and named, its keys left as they are.",
    )
    p.add_argument(
        "url",
        metavar="URL",
        type=redis_url,
        help="the Redis store to migrate (redis://host:port/db)",
    )
    p.add_argument(
        "--to",
        metavar="DEST",
        type=redis_url,
        help="copy into this store instead (e.g. redis+cluster://h:7000, or h1:7000,h2:7001)",
    )
    p.add_argument("--dry-run", action="store_true", help="only list what would be moved")


def cmd_migrate_redis(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.stores.redis_migrate import copy_sessions, migrate_in_place

    if args.to:
        report = copy_sessions(args.url, args.to, dry_run=args.dry_run)
        where = f"{mask_url(args.url)} -> {mask_url(args.to)}"
    else:
        report = migrate_in_place(args.url, dry_run=args.dry_run)
        where = f"{mask_url(args.url)} (in place)"
    verb = "would move" if args.dry_run else "moved"
    print(f"{where}: {verb} {len(report.moved)} session(s)", file=out)
    for session in report.moved:
        print(f"  {session}", file=out)
    for session in report.already_copied:  # (by an earlier run that was stopped: done)
        print(f"  already copied {session}", file=out)
    for session, reason in report.skipped.items():
        print(f"  skipped {session}: {reason}", file=out)
    return EXIT_ERROR if report.skipped else 0
