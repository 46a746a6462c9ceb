"""The ``memcore`` command: import Claude Code sessions, run the demo, inspect and repair stores.

Every subcommand has ``--help``. A user mistake (a bad argument, a missing file, a store that
cannot be opened, corrupted bytes) ends with one line on stderr and a non-zero exit status, never
a traceback: ``1`` for errors memcore reports, ``2`` for bad command-line arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from memcore.errors import MemcoreError, NotFoundError
from memcore.frames import FRAME_CODECS
from memcore.model import MemoryItem

if TYPE_CHECKING:
    from memcore.claude_code import Transcript

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed pipe writer

DEFAULT_STORE_HELP = "storage URL (default: the embedded SQLite store under $MEMCORE_HOME)"


class UsageError(Exception):
    """A bad command line: reported in one line with a pointer to ``--help``."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (argparse prints usage + message)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message)


Handler = Callable[[argparse.Namespace, TextIO], int]


def _add(
    sub: argparse._SubParsersAction[_Parser],
    name: str,
    handler: Handler,
    summary: str,
    description: str | None = None,
) -> _Parser:
    parser = sub.add_parser(
        name,
        help=summary,
        description=description or summary,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> _Parser:
    """The whole command line, each subcommand with its own ``--help``."""
    parser = _Parser(
        prog="memcore",
        description=(
            "memcore: a native-accelerated memory core for long-running LLM-agent sessions.\n"
            "Start with `memcore demo`; `memcore COMMAND --help` explains each command."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = _add(
        sub,
        "import-claude-code",
        cmd_import_claude_code,
        "read Claude Code session transcripts into memory items",
        "Read Claude Code transcripts (the JSON-lines files under ~/.claude/projects/, one per\n"
        "session, sub-agents included) into memory items, one memcore session per Claude Code\n"
        "session, and record the files and tools they touched as accesses for the prefetcher.\n"
        "Malformed lines are reported and skipped, never fatal.",
    )
    p.add_argument(
        "path",
        nargs="?",
        help="a transcript file, a project folder or the projects root "
        "(default: $CLAUDE_CONFIG_DIR/projects or ~/.claude/projects)",
    )
    p.add_argument("--store", metavar="URL", help=DEFAULT_STORE_HELP)
    p.add_argument("--session", help="file everything under this one session id instead")
    p.add_argument(
        "--max-chars",
        type=_positive_int,
        default=4000,
        help="cut item contents longer than this (default: 4000)",
    )
    p.add_argument("--dry-run", action="store_true", help="parse and report, store nothing")

    p = _add(
        sub,
        "demo",
        cmd_demo,
        "run the main job end to end and print what happened",
        "Ingest your own Claude Code transcripts when present (else notes built from the Python\n"
        "standard library's docstrings), sync the session between two replicas, compress it,\n"
        "handle a context overflow, train the prefetcher on its accesses, and print the figures.",
    )
    p.add_argument("--store", metavar="URL", help=DEFAULT_STORE_HELP)
    p.add_argument(
        "--transcripts",
        metavar="PATH",
        help="Claude Code transcripts to use (default: your own, when present)",
    )
    p.add_argument(
        "--no-transcripts",
        action="store_true",
        help="use the standard-library notes even when transcripts exist",
    )
    p.add_argument("--notes", type=_positive_int, default=600, help="how many notes (default: 600)")
    p.add_argument("--seed", type=int, default=7, help="random seed for the notes (default: 7)")
    p.add_argument(
        "--budget",
        type=_positive_int,
        default=None,
        help="token budget for the overflow step (default: a third of the session)",
    )

    p = _add(sub, "inspect", cmd_inspect, "list a store's sessions, or one session's items")
    p.add_argument("url", help="storage URL, e.g. sqlite:///path/to.db or redis://host:6379/0")
    p.add_argument("session", nargs="?", help="the session to show")
    p.add_argument("--limit", type=_positive_int, default=50, help="items to list (default: 50)")

    p = _add(
        sub,
        "compress",
        cmd_compress,
        "compress a session into a bundle file",
        "Compress a session's items into a hierarchical bundle: a header, then an lz4 frame\n"
        "(fastest; `lz4 -d` reads it) or, with --codec zstd, a zstd frame (smaller; `zstd -d`).",
    )
    p.add_argument("url", help="storage URL")
    p.add_argument("session", help="the session to compress")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="bundle file to write")
    p.add_argument(
        "--codec", choices=FRAME_CODECS, default="lz4", help="the bundle's frame (default: lz4)"
    )
    p.add_argument(
        "--level",
        type=int,
        help="compression level (lz4 0-16, default 9; zstd 1-22, default 14)",
    )

    p = _add(sub, "decompress", cmd_decompress, "show what a bundle file holds, level by level")
    p.add_argument("file", help="a bundle written by `memcore compress`")
    p.add_argument("--json", action="store_true", help="print the whole bundle as JSON")

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

    p = _add(
        sub,
        "bench",
        cmd_bench,
        "a short side-by-side benchmark: compiled kernels vs pure twins and outside libraries",
        "Times the main kernels against their pure-Python twins and outside libraries on this\n"
        "machine, and prints ratios. For the full suites, run pytest on benchmarks/.",
    )
    p.add_argument(
        "--rounds", type=_positive_int, default=5, help="timing rounds, best kept (default: 5)"
    )
    p.add_argument("--quick", action="store_true", help="smaller inputs, shorter rounds")
    return parser


# --- helpers ------------------------------------------------------------------------------------


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Progress]:
    """A rich progress bar on stderr; drawn only on a terminal, so pipes and logs stay clean."""
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    ) as progress:
        yield progress


def _store_name(url: str | None) -> str:
    return url or "the default store ($MEMCORE_HOME/memory.db)"


async def _read_session(url: str | None, session: str) -> dict[str, MemoryItem]:
    from memcore.stores import open_store
    from memcore.sync import DistributedMemoryManager

    store = open_store(url)
    manager = DistributedMemoryManager(storage_backend=store, replica_id="memcore-cli")
    try:
        await manager.sync_session_memory(session)
        return {k: MemoryItem.coerce(v) for k, v in manager.state(session).items()}
    finally:
        await manager.close()
        await store.close()


async def _read_existing_session(url: str | None, session: str) -> dict[str, MemoryItem]:
    state = await _read_session(url, session)
    if not state:
        raise NotFoundError(f"session {session!r} has no items in {_store_name(url)}")
    return state


# --- import-claude-code -------------------------------------------------------------------------


def cmd_import_claude_code(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.claude_code import (
        default_projects_dir,
        find_transcripts,
        group_by_session,
        parse_transcript,
    )

    where = args.path or str(default_projects_dir())
    paths = find_transcripts(args.path)
    if not paths:
        raise NotFoundError(f"no Claude Code transcripts (*.jsonl sessions) under {where}")
    transcripts = []
    with _progress() as progress:
        task = progress.add_task("reading transcripts", total=len(paths))
        for path in paths:
            transcripts.append(
                parse_transcript(path, session=args.session, max_chars=args.max_chars)
            )
            progress.advance(task)
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
    stored = run(_import_sessions(args.store, sessions))
    for session, (count, version, logged) in stored.items():
        print(
            f"stored session {session!r}: {count} items (version {version}), "
            f"{logged} accesses in its access log",
            file=out,
        )
    print(f"into {_store_name(args.store)}", file=out)
    return 0


def _print_token_check(transcripts: Sequence[Transcript], out: TextIO) -> None:
    from memcore.tokens import count_tokens

    samples = [s for t in transcripts for s in t.token_samples if s.output_tokens and s.text]
    if not samples:
        return
    billed = sum(s.output_tokens for s in samples)
    counted = sum(count_tokens(s.text) for s in samples)
    print(
        f"tokens: {len(samples)} assistant messages billed {billed:,} output tokens; "
        f"count_tokens gives {counted:,} for their text (ratio {counted / billed:.2f})",
        file=out,
    )


async def _import_sessions(
    url: str | None, sessions: Mapping[str, Sequence[Transcript]]
) -> dict[str, tuple[int, int, int]]:
    from memcore.stores import open_store
    from memcore.sync import DistributedMemoryManager
    from memcore.transfer import save_access_log

    store = open_store(url)
    done: dict[str, tuple[int, int, int]] = {}
    try:
        with _progress() as progress:
            task = progress.add_task("storing sessions", total=len(sessions))
            for session, transcripts in sessions.items():
                manager = DistributedMemoryManager(
                    storage_backend=store, replica_id="memcore-import"
                )
                try:
                    await manager.sync_session_memory(session)
                    count = 0
                    for transcript in transcripts:
                        for item in transcript.items:
                            manager.set(session, item.id, item)
                            count += 1
                    result = await manager.sync_session_memory(session)
                finally:
                    await manager.close()
                accesses = [a for t in transcripts for a in t.accesses]
                logged = await save_access_log(store, session, accesses, append=False)
                done[session] = (count, result.version, logged)
                progress.advance(task)
    finally:
        await store.close()
    return done


# --- demo ---------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.demo import render_report, run_demo

    console = Console(file=out, highlight=False, soft_wrap=True)
    status_console = Console(stderr=True)

    with status_console.status("memcore demo", spinner="dots") as status:

        def progress(step: str) -> None:
            if status_console.is_terminal:
                status.update(f"memcore demo: {step}")

        report = run(
            run_demo(
                args.store,
                transcripts=args.transcripts,
                use_transcripts=not args.no_transcripts,
                notes=args.notes,
                seed=args.seed,
                budget=args.budget,
                progress=progress,
            )
        )
    render_report(report, console)
    return 0


# --- inspect / verify ---------------------------------------------------------------------------


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


# --- compress / decompress ----------------------------------------------------------------------


def cmd_compress(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.compression import HierarchicalMemoryCompressor

    state = run(_read_existing_session(args.url, args.session))
    with _progress() as progress:
        task = progress.add_task("summarizing", total=len(state))
        compressor = HierarchicalMemoryCompressor(
            codec=args.codec,
            level=args.level,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        blob, meta = compressor.compress_memory_hierarchy(list(state.values()))
    target = Path(args.output)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(blob)
    partial.replace(target)  # never leave half a bundle under the final name
    levels = ", ".join(f"{k} {v}" for k, v in meta.levels.items())
    print(
        f"compressed {len(state)} items of {args.session!r}: {meta.original_size:,} -> "
        f"{meta.compressed_size:,} bytes (ratio {meta.ratio:.3f}); levels: {levels}",
        file=out,
    )
    print(f"wrote {target} ({len(blob):,} bytes, {compressor.codec} frame)", file=out)
    return 0


def cmd_decompress(args: argparse.Namespace, out: TextIO) -> int:
    blob = Path(args.file).read_bytes()
    from memcore.compression import decompress_memory_hierarchy

    bundle = decompress_memory_hierarchy(blob)
    if args.json:
        print(json.dumps(_bundle_json(bundle), indent=2, default=str), file=out)
        return 0
    from memcore.codec import bundle_codec

    print(f"{args.file}: {len(blob):,} bytes, {bundle_codec(blob)} frame", file=out)
    print(f"level1 (whole): {len(bundle.level1.items)} items", file=out)
    for item in bundle.level1.items[:5]:
        print(f"  {item.id} [{item.priority}] {_preview(item.content)}", file=out)
    print(f"level2 (summaries): {len(bundle.level2.items)} items", file=out)
    for entry in bundle.level2.items[:5]:
        print(f"  {entry.id}: {_preview(entry.summary)}", file=out)
    print(f"level3 (groups): {len(bundle.level3.groups)} groups", file=out)
    for group in bundle.level3.groups[:5]:
        print(f"  {group.count} items: {_preview(group.summary)}", file=out)
    level4 = bundle.level4
    print(f"level4 (one summary of {level4.count} items): {_preview(level4.summary)}", file=out)
    return 0


def _bundle_json(bundle: Any) -> Any:
    if dataclasses.is_dataclass(bundle) and not isinstance(bundle, type):
        return {f.name: _bundle_json(getattr(bundle, f.name)) for f in dataclasses.fields(bundle)}
    if isinstance(bundle, MemoryItem):
        return bundle.to_dict()
    if isinstance(bundle, Mapping):
        return {str(k): _bundle_json(v) for k, v in bundle.items()}
    if isinstance(bundle, (list, tuple)):
        return [_bundle_json(v) for v in bundle]
    if isinstance(bundle, (str, int, float, bool)) or bundle is None:
        return bundle
    fields = getattr(bundle, "__dict__", None) or {
        name: getattr(bundle, name)
        for name in getattr(type(bundle), "__slots__", ())
        if hasattr(bundle, name)
    }
    return {str(k): _bundle_json(v) for k, v in fields.items()} if fields else str(bundle)


def _preview(text: str, width: int = 90) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


# --- recover ------------------------------------------------------------------------------------


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


# --- bench --------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _BenchCase:
    name: str
    native: Callable[[], object] | None
    pure: Callable[[], object] | None
    outside: Callable[[], object] | None = None
    outside_name: str = ""
    missing: str = ""


def _kernel(family: str, name: str, native: bool) -> Callable[..., object] | None:
    """One kernel function, compiled or pure; None when it is not there (reported, not hidden)."""
    import importlib

    from memcore import NATIVE

    if native and not NATIVE:
        return None
    package = "memcore._native" if native else "memcore._pure"
    try:
        module = importlib.import_module(f"{package}.{family}")
    except ImportError:
        return None
    function = getattr(module, name, None)
    return function if callable(function) else None


def _bench_cases(quick: bool) -> list[_BenchCase]:
    """The side-by-side cases: each kernel compiled, pure, and against an outside library."""
    from memcore.demo_corpus import stdlib_notes
    from memcore.model import utc_now

    size = 64 * 1024 if quick else 1024 * 1024
    blob = bytes(range(256)) * (size // 256)
    notes = stdlib_notes(200 if quick else 800, seed=1, now=utc_now())
    state = {note.id: note for note in notes}
    text = "\n\n".join(note.content for note in notes)
    cases: list[_BenchCase] = []

    def add(
        name: str,
        family: str,
        function: str,
        call: Callable[[Callable[..., object]], object],
        outside: tuple[str, Callable[[], object]] | None = None,
    ) -> None:
        native = _kernel(family, function, native=True)
        pure = _kernel(family, function, native=False)
        cases.append(
            _BenchCase(
                name=name,
                native=(lambda: call(native)) if native else None,
                pure=(lambda: call(pure)) if pure else None,
                outside=outside[1] if outside and pure else None,
                outside_name=outside[0] if outside else "",
                missing="" if pure else f"kernel {family}.{function} not available",
            )
        )

    xxhash_outside: tuple[str, Callable[[], object]] | None = None
    try:
        import xxhash

        xxhash_outside = ("xxhash", lambda: xxhash.xxh64_intdigest(blob))
    except ImportError:
        pass
    add(f"xxh64 of {size // 1024} KiB", "checksums", "xxh64", lambda f: f(blob), xxhash_outside)
    add(f"state_checksum, {len(state)} items", "checksums", "state_checksum", lambda f: f(state))
    add(f"count_tokens, {len(text) // 1024} KiB", "pipeline", "count_tokens", lambda f: f(text))
    contents = [note.content for note in notes]
    add(
        f"summaries (50 %), {len(contents)} notes",
        "pipeline",
        "pick_sentences",
        lambda f: [f(c, len(c) // 8) for c in contents],
    )
    add(
        f"simhash, {len(contents)} notes", "pipeline", "simhash", lambda f: [f(c) for c in contents]
    )
    accesses = [(k * 7 + k // 5) % 97 for k in range(5000 if quick else 50000)]
    add(
        f"pattern counting, {len(accesses) // 1000}k accesses",
        "patterns",
        "PatternCounter",
        lambda counter_class: _count_patterns(counter_class, accesses),
    )
    samples = [(60.0 * k, 100.0 + 0.01 * k + (k % 7) * 0.3) for k in range(50)]
    polyfit: tuple[str, Callable[[], object]] | None = None
    try:
        import numpy

        times = numpy.array([t for t, _ in samples])
        sizes = numpy.array([mb for _, mb in samples])
        polyfit = ("numpy.polyfit", lambda: numpy.polyfit(times, sizes, 1)[0])
    except ImportError:
        pass
    rings: dict[object, Any] = {}
    for native in (True, False):
        ring_class = _kernel("regression", "SampleRing", native)
        if ring_class is not None:
            ring: Any = ring_class()
            for t, mb in samples:
                ring.push(t, mb)
            rings[ring_class] = ring
    add(
        "leak-rate fit (OLS), 50 samples",
        "regression",
        "SampleRing",
        lambda ring_class: rings[ring_class].ols_slope(50),
        polyfit,
    )
    return cases


def _count_patterns(counter_class: Callable[..., Any], accesses: list[int]) -> None:
    counter = counter_class(window_size=5)
    counter.record_many(accesses)


def _best_time(fn: Callable[[], object], rounds: int, budget: float) -> float:
    """Best per-call time over ``rounds`` rounds, each repeating ``fn`` for about ``budget`` s."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(budget / once))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    console = Console(file=out, highlight=False, width=None if out.isatty() else 120)
    cases = _bench_cases(quick=args.quick)
    budget = 0.02 if args.quick else 0.2
    table = Table(title="memcore bench (best of rounds; ratios = other time / compiled time)")
    for column in (
        "case",
        "compiled",
        "pure twin",
        "pure / compiled",
        "outside",
        "outside / compiled",
    ):
        table.add_column(column, justify="left" if column in ("case", "outside") else "right")
    with _progress() as progress:
        task = progress.add_task("benchmarking", total=len(cases))
        for case in cases:
            if case.pure is None:
                table.add_row(case.name, "-", "-", "-", case.missing, "-")
                progress.advance(task)
                continue
            native = _best_time(case.native, args.rounds, budget) if case.native else None
            pure = _best_time(case.pure, args.rounds, budget)
            other = _best_time(case.outside, args.rounds, budget) if case.outside else None
            table.add_row(
                case.name,
                _us(native),
                _us(pure),
                f"{pure / native:.1f}x" if native else "-",
                case.outside_name or "-",
                f"{other / native:.1f}x" if native and other else "-",
            )
            progress.advance(task)
    console.print(table)
    from memcore import NATIVE

    if not NATIVE:
        console.print("compiled kernels are off (MEMCORE_NO_EXTENSIONS): pure twins only")
    console.print("full suites: python -m pytest benchmarks/ --benchmark-only")
    return 0


def _us(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:,.1f} µs"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive (got {value})")
    return value


def _fail(prog: str, message: str, stream: TextIO) -> None:
    first_line = " ".join(str(message).split()) or "failed"
    print(f"{prog}: error: {first_line}", file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except UsageError as exc:
        _fail(exc.prog, f"{exc} (see `{exc.prog} --help`)", sys.stderr)
        return EXIT_USAGE
    if args.version:
        from memcore import NATIVE, __version__

        print(f"memcore {__version__} ({'compiled' if NATIVE else 'pure-Python'} kernels)")
        return 0
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    prog = f"memcore {args.command}"
    try:
        return handler(args, sys.stdout)
    except MemcoreError as exc:
        _fail(prog, _describe(exc), sys.stderr)
    except BrokenPipeError:
        # the reader went away (`memcore ... | head`): not an error to report; point stdout at
        # /dev/null so the interpreter's final flush does not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        _fail(prog, _describe_os(exc), sys.stderr)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def _describe(exc: MemcoreError) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text or type(exc).__name__


def _describe_os(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{reason}: {exc.filename}" if exc.filename else reason


def run(coro: Any) -> Any:
    """Run one coroutine to completion for a synchronous command."""
    return asyncio.run(coro)


if __name__ == "__main__":  # pragma: no cover - `python -m memcore.cli`
    raise SystemExit(main())
