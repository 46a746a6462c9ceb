"""``memcore mask-secrets``: mask the secrets a store already holds (see
:mod:`memcore.claude_code.mask_stored`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from memcore.cli._parser import Subparsers, UsageError, _add
from memcore.cli._session_reads import left_out_damaged
from memcore.cli._store_access import open_existing_store, run
from memcore.cli._store_arguments import DEFAULT_STORE_HELP, store_url
from memcore.cli._store_names import store_label

if TYPE_CHECKING:
    from memcore.claude_code.mask_stored import MaskReport


def register(sub: Subparsers) -> None:
    """Add ``memcore mask-secrets``."""
    p = _add(
        sub,
        "mask-secrets",
        cmd_mask_secrets,
        "mask the secrets in what a store already holds",
        "Mask the secrets (private keys, cloud and API keys and tokens, bearer credentials, a\n"
        "URL's password) in every item the store holds, as transcripts are masked when they are\n"
        "read: items saved before that masking, or with it off, and what memcore made of them\n"
        "(project registries, the access log). Notes kept with the MCP server's `remember`\n"
        "stay as written. Each session's journal and backups still hold the items as they\n"
        "were, unless --drop-history.",
    )
    p.add_argument("--store", metavar="URL", type=store_url, help=DEFAULT_STORE_HELP)
    p.add_argument(
        "--dry-run", action="store_true", help="count what would be masked, write nothing"
    )
    p.add_argument(
        "--drop-history",
        action="store_true",
        help="also cut the journal of each session masked and replace its backups by one of "
        "the masked state (the history held the secrets)",
    )


async def _mask(args: argparse.Namespace) -> MaskReport:
    from memcore.claude_code.mask_stored import mask_store

    async with open_existing_store(args.store, read_only=args.dry_run) as store:
        return await mask_store(store, dry_run=args.dry_run, drop_history=args.drop_history)


def cmd_mask_secrets(args: argparse.Namespace, out: TextIO) -> int:
    if args.dry_run and args.drop_history:
        raise UsageError("memcore mask-secrets", "--dry-run writes nothing: drop --drop-history")
    report = run(_mask(args))
    for session, exc in report.damaged:
        left_out_damaged("memcore mask-secrets", args.store, session, exc)
    verb = "would mask" if args.dry_run else "masked"
    for session in report.sessions:
        history = ""
        if session.history_dropped:
            history = "; its history dropped (journal cut, backups replaced by one masked)"
        elif session.history:
            history = "; its journal or backups still hold secrets"
        done = (
            f"{verb} {session.masks} span(s) in {session.items} item(s)"
            if session.items
            else "no item to mask"
        )
        print(f"  {session.session}: {done}{history}", file=out)
    print(
        f"{store_label(args.store)}: {verb} {report.masks} span(s) in {report.items} of "
        f"{report.items_read} item(s)",
        file=out,
    )
    if any(session.history for session in report.sessions):
        print(
            "some sessions' journals or backups still hold secrets as they were: "
            "--drop-history takes them out",
            file=out,
        )
    return 0
