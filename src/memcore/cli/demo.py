"""``memcore demo``: the main job end to end, with its figures."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from memcore.cli._parser import Subparsers, _add, _positive_int
from memcore.cli._store_access import run
from memcore.cli._store_arguments import DEFAULT_STORE_HELP, store_url


def register(sub: Subparsers) -> None:
    """Add this module's commands to ``memcore``."""
    p = _add(
        sub,
        "demo",
        cmd_demo,
        "run the main job end to end and print what happened",
        "Ingest your own Claude Code transcripts when present (else notes built from the Python\n"
        "standard library's docstrings) into the session 'memcore-demo' (emptied first of what an\n"
        "earlier run left there), sync it between two replicas that both edit one item, compress\n"
        "it, handle a context overflow, train the prefetcher on its accesses, index it for recall\n"
        "(asking for items by their own words), write its digest (a handover note), and print\n"
        "each step's figures and the time taken.",
    )
    p.add_argument("--store", metavar="URL", type=store_url, help=DEFAULT_STORE_HELP)
    source = p.add_mutually_exclusive_group()  # (both given: one of them would be ignored)
    source.add_argument(
        "--transcripts",
        metavar="PATH",
        type=_transcripts_path,
        help="Claude Code transcripts to use (default: your own, when present)",
    )
    source.add_argument(
        "--no-transcripts",
        action="store_true",
        help="use the standard-library notes even when transcripts exist",
    )
    p.add_argument(
        "--notes",
        metavar="N",
        type=_notes_count,
        default=None,  # (given or not: told apart, to say when it does not apply)
        help=f"how many notes, {MIN_NOTES} to {MAX_NOTES:,} (default: {DEFAULT_NOTES}); not "
        "used when the demo runs on Claude Code transcripts (--no-transcripts uses the notes)",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed for the notes (default: 7)")
    p.add_argument(
        "--budget",
        metavar="TOKENS",
        type=_positive_int,
        default=None,
        help="token budget for the overflow step (default: a third of the session)",
    )


#: The notes the demo makes without transcripts when ``--notes`` is not given.
DEFAULT_NOTES = 600
#: ``memcore.demo.MIN_ITEMS`` (not imported from there: the command line builds its parser
#: without importing what each command runs; a test holds them equal)
MIN_NOTES = 3
#: The most notes ``--notes`` takes: 20,000 take 4 s and 160 MB, and a demo is meant to stay
#: quick (a count in the millions ran for minutes, memory growing, with nothing to show)
MAX_NOTES = 20_000


def _notes_count(text: str) -> int:
    """An argparse type: a count of notes the demo can run on, and soon (said before anything
    runs)."""
    value = _positive_int(text)
    if value < MIN_NOTES:
        raise argparse.ArgumentTypeError(f"must be {MIN_NOTES} or more (got {value})")
    if value > MAX_NOTES:
        raise argparse.ArgumentTypeError(f"must be {MAX_NOTES:,} or fewer (got {value:,})")
    return value


def _transcripts_path(text: str) -> str:
    """An argparse type: a path given (an empty word is a mistake, not the current folder)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no transcript file or folder")
    return text


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from rich.console import Console

    from memcore.cli._console import PipeConsole
    from memcore.cli.importer import close_unstarted
    from memcore.demo import render_report, run_demo

    console = PipeConsole(file=out, highlight=False, soft_wrap=True)
    status_console = Console(stderr=True)

    with status_console.status("memcore demo", spinner="dots") as status:

        def progress(step: str) -> None:
            if status_console.is_terminal:
                status.update(f"memcore demo: {step}")

        demo = run_demo(
            args.store,
            transcripts=args.transcripts,
            use_transcripts=not args.no_transcripts,
            notes=DEFAULT_NOTES if args.notes is None else args.notes,
            seed=args.seed,
            budget=args.budget,
            progress=progress,
        )
        try:
            report = run(demo)
        finally:
            close_unstarted(demo)  # (Ctrl-C before it ran: no "never awaited" warning)
    if args.notes is not None and report.source == "claude-code":  # (said, not silently)
        print(
            f"memcore demo: --notes {args.notes} did not apply: the demo ran on Claude Code "
            "transcripts (--no-transcripts runs it on notes)",
            file=sys.stderr,
        )
    render_report(report, console)
    return 0
