"""The steps of ``memcore demo``: memcore's main job, end to end, on real text, with figures.

1. **ingest**: the user's own Claude Code transcripts when present (the most recent ones, up to a
   cap, so the demo stays quick), else notes built from the Python standard library's docstrings
   (text every Python install has), of varied ages and priorities;
2. **sync**: the demo's session is first emptied of an earlier run's items (each run's figures
   are its own), then two replicas of it sync over the store; each edits the same item as it
   holds it (two edits of one common version), and the sync strategy settles the conflict; the
   replicas end with equal state checksums;
3. **compress**: the session into a hierarchical bundle, and back, checking that what must survive
   whole did;
4. **overflow**: the session squeezed into a token budget;
5. **prefetch**: the prefetcher trained on the first part of the session's accesses and scored on
   the rest (hit rate);
6. **recall**: a BM25 index of the items, asked for items by three of their own words;
7. **digest**: the session's handover note within a token budget;
8. **tokens**: with transcripts, ``count_tokens`` held against the output tokens the API billed.

:func:`run_demo` returns a :class:`DemoReport`; :func:`render_report` prints it.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memcore.errors import NotFoundError, ValidationError
from memcore.model import MemoryItem, utc_now

if TYPE_CHECKING:
    from rich.console import Console

    from memcore.claude_code import Transcript
    from memcore.stores import Store

DEMO_SESSION = "memcore-demo"
#: At most this many transcript files (the most recent) go into the demo.
MAX_TRANSCRIPTS = 40
#: At most this many items from transcripts go into the demo session.
MAX_ITEMS = 4000
#: The sync step's two replicas edit three items: the demo needs that many.
MIN_ITEMS = 3


@dataclass(slots=True)
class StepTiming:
    name: str
    seconds: float


@dataclass(slots=True)
class DemoReport:
    """Everything the demo measured."""

    source: str = ""
    source_detail: str = ""
    session: str = DEMO_SESSION
    store: str = ""
    items: int = 0
    accesses: int = 0
    malformed_lines: int = 0
    item_tokens: int = 0
    sync: dict[str, Any] = field(default_factory=dict)
    compression: dict[str, Any] = field(default_factory=dict)
    overflow: dict[str, Any] = field(default_factory=dict)
    prefetch: dict[str, Any] = field(default_factory=dict)
    recall: dict[str, Any] = field(default_factory=dict)
    digest: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, Any] = field(default_factory=dict)
    timings: list[StepTiming] = field(default_factory=list)
    native: bool = False

    @property
    def total_seconds(self) -> float:
        return sum(t.seconds for t in self.timings)


@contextmanager
def _timed(report: DemoReport, name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        report.timings.append(StepTiming(name, time.perf_counter() - start))


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


# --- step 1: ingest -----------------------------------------------------------------------------


def load_transcripts(path: str | Path | None) -> list[Transcript]:
    """The most recent transcripts under ``path`` (default: the user's), at most a capped number."""
    from memcore.claude_code import find_transcripts, parse_transcript

    files = find_transcripts(path)
    files = sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)[:MAX_TRANSCRIPTS]
    return [parse_transcript(p, session=DEMO_SESSION) for p in files]


def stdlib_notes(n: int, seed: int, now: datetime) -> list[MemoryItem]:
    """Notes from the standard library's docstrings (see :mod:`memcore.demo_corpus`)."""
    from memcore.demo_corpus import stdlib_notes as corpus_notes

    return corpus_notes(n, seed, now)


def simulated_accesses(items: Sequence[MemoryItem], seed: int, length: int) -> list[str]:
    """An agent's reading habits over notes: topic by topic, in a mostly repeated order.

    Notes are grouped by their ``topic``/``module`` metadata; the agent returns to topics it
    used before (a few favourites most often) and reads a topic's notes in the same order each
    time, skipping one now and then. Used when there are no transcripts to give real accesses.
    """
    rng = random.Random(seed)
    topics: dict[str, list[str]] = {}
    for item in items:
        topic = str(item.metadata.get("topic") or item.metadata.get("module") or item.id[:8])
        topics.setdefault(topic, []).append(item.id)
    names = sorted(topics)
    if not names:
        return []
    weights = [1.0 / (rank + 1) for rank in range(len(names))]
    accesses: list[str] = []
    while len(accesses) < length:
        topic = rng.choices(names, weights)[0]
        for item_id in topics[topic][:6]:
            if rng.random() < 0.9:
                accesses.append(item_id)
    return accesses[:length]


# --- the demo -----------------------------------------------------------------------------------


async def run_demo(
    store_url: str | None = None,
    *,
    transcripts: str | Path | None = None,
    use_transcripts: bool = True,
    notes: int = 600,
    seed: int = 7,
    budget: int | None = None,
    progress: Progress = _quiet,
) -> DemoReport:
    """Run every step on the store at ``store_url`` (default: the embedded SQLite store)."""
    from memcore import NATIVE
    from memcore.stores import default_home, mask_url
    from memcore.tokens import count_tokens

    if store_url:
        store = mask_url(store_url)
    else:
        store = f"the default SQLite store, {default_home().absolute() / 'memory.db'}"
    report = DemoReport(native=NATIVE, store=store)
    now = utc_now()
    accesses: list[str] = []
    found: list[Transcript] = []
    with _timed(report, "ingest"):
        progress("ingesting")
        if use_transcripts:
            found = load_transcripts(transcripts)
            if transcripts is not None and not any(t.items for t in found):
                raise NotFoundError(  # (the notes would run in place of what was asked for)
                    f"no Claude Code transcript with any record under {transcripts}"
                )
        if found:
            # one item per id: a session resumed in a new file starts with copies of the old
            # one's records, which the store keeps once (the count said is what it holds); a
            # file whose items another gave adds no accesses either
            unique: dict[str, MemoryItem] = {}
            for transcript in found:
                fresh = False
                for item in transcript.items:
                    fresh = fresh or item.id not in unique
                    unique[item.id] = item
                if fresh:
                    accesses.extend(transcript.accesses)
            items = sorted(unique.values(), key=lambda item: item.created_at)
            items = items[-MAX_ITEMS:]
            report.source = "claude-code"
            report.source_detail = f"{len(found)} Claude Code transcript file(s)"
            report.malformed_lines = sum(len(t.malformed) for t in found)
        else:
            items = stdlib_notes(notes, seed, now)
            accesses = simulated_accesses(items, seed, length=max(400, 4 * len(items)))
            report.source = "stdlib-notes"
            report.source_detail = f"{len(items)} notes from the standard library's docstrings"
        if len(items) < MIN_ITEMS:
            raise ValidationError(
                f"the demo needs at least {MIN_ITEMS} items (two replicas edit three of them); "
                f"{report.source_detail} hold {len(items)}"
            )
        report.items = len(items)
        report.accesses = len(accesses)
        report.item_tokens = sum(count_tokens(item.content) for item in items)

    with _timed(report, "sync"):
        progress("syncing two replicas")
        report.sync = await _sync_step(store_url, items, seed)
    with _timed(report, "compress"):
        progress("compressing")
        report.compression = _compress_step(items, now)
    with _timed(report, "overflow"):
        progress("handling an overflow")
        report.overflow = _overflow_step(items, budget, report.item_tokens)
    with _timed(report, "prefetch"):
        progress("training the prefetcher")
        report.prefetch = await _prefetch_step(items, accesses)
    with _timed(report, "recall"):
        progress("searching")
        report.recall = _recall_step(items, seed)
    with _timed(report, "digest"):
        progress("writing the session digest")
        report.digest = _digest_step(items)
    if found:
        with _timed(report, "tokens"):
            report.tokens = _token_step(found)
    return report


async def _sync_step(store_url: str | None, items: list[MemoryItem], seed: int) -> dict[str, Any]:
    from memcore.codec import state_checksum
    from memcore.stores import open_store
    from memcore.sync import DistributedMemoryManager

    store = open_store(store_url)
    session = DEMO_SESSION
    left = DistributedMemoryManager(storage_backend=store, replica_id="demo-left")
    right = DistributedMemoryManager(storage_backend=store, replica_id="demo-right")
    try:
        cleared = await _clear_session(store, session)
        await left.sync_session_memory(session)
        for item in items:
            left.set(session, item.id, item)
        start = time.perf_counter()
        first = await left.sync_session_memory(session)
        pushed = time.perf_counter() - start
        start = time.perf_counter()
        pulled = await right.sync_session_memory(session)
        pull_seconds = time.perf_counter() - start
        # Both replicas edit the same item, and each edits one of its own.
        rng = random.Random(seed)
        shared, only_left, only_right = rng.sample([i.id for i in items], 3)

        def edit(replica: DistributedMemoryManager, item_id: str, side: str) -> None:
            """Edit the item as ``replica`` holds it: each side starts from the common version,
            not from the other side's unsynced edit."""
            base = MemoryItem.coerce(replica.get(session, item_id))
            replica.set(
                session,
                item_id,
                MemoryItem(
                    id=base.id,
                    content=f"{base.content}\n(edited on the {side} replica)",
                    priority=base.priority,
                    created_at=base.created_at,
                    metadata={**base.metadata, "edited_by": side},
                ),
            )

        edit(left, shared, "left")
        edit(left, only_left, "left")
        edit(right, shared, "right")
        edit(right, only_right, "right")
        from_left = await left.sync_session_memory(session)
        from_right = await right.sync_session_memory(session)
        settle = await left.sync_session_memory(session)
        left_sum = state_checksum(left.state(session))
        right_sum = state_checksum(right.state(session))
        winner = MemoryItem.coerce(left.get(session, shared)).metadata.get("edited_by")
        return {
            "items": len(items),
            "cleared_items": cleared,
            "version": settle.version,
            "first_push_items": first.synced_items,
            "push_seconds": pushed,
            "pull_items": pulled.synced_items,
            "pull_seconds": pull_seconds,
            "conflicts_resolved": from_left.conflicts_resolved
            + from_right.conflicts_resolved
            + settle.conflicts_resolved,
            "conflict_key": shared,
            "conflict_winner": winner,
            "one_sided_kept": (
                MemoryItem.coerce(right.get(session, only_left)).metadata.get("edited_by") == "left"
                and MemoryItem.coerce(left.get(session, only_right)).metadata.get("edited_by")
                == "right"
            ),
            "checksums_equal": left_sum == right_sum,
            "checksum": f"{left_sum:016x}",
        }
    finally:
        await left.close()
        await right.close()
        await store.close()


async def _clear_session(store: Store, session: str) -> int | None:
    """Delete what an earlier demo run left in the demo's session, so this run's figures (items
    pushed and pulled, what ``inspect`` shows) are its own; returns how many live items it held
    (None: there was no such session)."""
    from memcore.errors import CorruptedMemoryError
    from memcore.stores import decode_entry

    if await store.version(session) == 0 and not await store.list_backups(session):
        return None
    live = 0
    for record in (await store.read_snapshot(session)).records.values():
        try:
            live += not decode_entry(record).deleted
        except CorruptedMemoryError:  # damaged, but an item all the same: it goes too
            live += 1
    await store.delete_session(session)
    return live


def _compress_step(items: list[MemoryItem], now: datetime) -> dict[str, Any]:
    from memcore.codec import encode_bundle
    from memcore.compression import (
        DEFAULT_ZSTD_LEVEL,
        HierarchicalMemoryCompressor,
        decompress_memory_hierarchy,
        encode_payload,
    )

    compressor = HierarchicalMemoryCompressor(now=now)
    blob, meta = compressor.compress_memory_hierarchy(items)
    bundle = decompress_memory_hierarchy(blob)
    whole = {item.id: item for item in items}
    intact = all(whole.get(item.id) == item for item in bundle.level1.items)
    # the same levels in a zstd frame (codec="zstd"): what choosing size over speed would give
    zstd_blob = encode_bundle(encode_payload(bundle), codec="zstd", level=DEFAULT_ZSTD_LEVEL)
    return {
        "original_size": meta.original_size,
        "compressed_size": meta.compressed_size,
        "ratio": meta.ratio,
        "levels": dict(meta.levels),
        "level1_intact": intact,
        "level1_checked": len(bundle.level1.items),
        "bundle_bytes": len(blob),
        "zstd_bundle_bytes": len(zstd_blob),
        "zstd_same_levels": decompress_memory_hierarchy(zstd_blob) == bundle,
    }


def _level1_said(compression: dict[str, Any]) -> str:
    """Whether the items kept whole came back whole; with none kept whole (every item a week
    old or more, none critical: old transcripts), that there was nothing to check."""
    checked = compression.get("level1_checked", 0)
    if not checked:
        return "no item at level 1 to check (none critical, none younger than an hour)"
    return f"the {checked:,} level-1 items intact after decompression: " + (
        "yes" if compression["level1_intact"] else "NO"
    )


def _overflow_step(items: list[MemoryItem], budget: int | None, tokens: int) -> dict[str, Any]:
    from memcore.overflow import SessionState, handle_context_overflow

    token_budget = budget or max(1, tokens // 3)
    state = SessionState(list(items), token_budget)
    outcome = handle_context_overflow(state)
    return {
        "budget": token_budget,
        "tokens_before": tokens,
        "actions": list(outcome.actions_taken),
        "tokens_saved": outcome.tokens_saved,
        "final_tokens": outcome.final_token_count,
    }


async def _prefetch_step(items: list[MemoryItem], accesses: list[str]) -> dict[str, Any]:
    from memcore.prefetch import PredictiveMemoryPrefetcher

    if len(accesses) < 4:
        return {"accesses": len(accesses), "trained_on": 0, "scored_on": 0}
    values = {item.id: item for item in items}

    async def loader(session_id: str, item_id: str) -> Any:
        return values.get(item_id, item_id)

    prefetcher = PredictiveMemoryPrefetcher(window_size=5, loader=loader)
    split = int(len(accesses) * 0.7)
    for access in accesses[:split]:
        prefetcher.record_access(DEMO_SESSION, access)
    # Score on the rest: prefetch after each access; the next access is read through the
    # prefetcher, which serves it from its cache when the prediction was right.
    prefetched = guessed = 0
    for current, following in zip(accesses[split:-1], accesses[split + 1 :], strict=True):
        first = prefetcher.predict_next_accesses(DEMO_SESSION, current, 1)
        guessed += bool(first) and first[0][0] == following
        prefetched += await prefetcher.prefetch_predicted_items(DEMO_SESSION, current)
        value = prefetcher.get(DEMO_SESSION, following)
        if inspect.isawaitable(value):
            await value
        prefetcher.record_access(DEMO_SESSION, following)
    scored = len(accesses) - split - 1
    hit_rate = float(prefetcher.hit_rate)
    return {
        "accesses": len(accesses),
        "trained_on": split,
        "scored_on": scored,
        "prefetched": prefetched,
        "hits": round(hit_rate * scored),
        "hit_rate": hit_rate,
        "first_guess_right": guessed,
        "threshold": prefetcher.threshold,
    }


def _recall_step(items: list[MemoryItem], seed: int, queries: int = 50) -> dict[str, Any]:
    """Index every item, then ask for items by three of their own words: how often is the
    item in the top 10? (The words are drawn at random, so some are common ones.)"""
    from memcore.search import MemoryIndex

    index = MemoryIndex()
    for item in items:
        index.add(item.id, item.content)
    rng = random.Random(seed)
    words_of = {i.id: sorted(set(re.findall(r"\w{4,}", i.content.lower()))) for i in items}
    probes = [i for i in items if len(words_of[i.id]) >= 3]
    probes = rng.sample(probes, min(queries, len(probes)))
    found = 0
    example: tuple[str, str] = ("", "")
    for item in probes:
        query = " ".join(rng.sample(words_of[item.id], 3))
        hits = index.search(query, 10)
        found += any(key == item.id for key, _ in hits)
        if hits and not example[0]:
            example = (query, hits[0][0])
    return {"indexed": len(index), "queries": len(probes), "found": found, "example": example}


def _digest_step(items: list[MemoryItem], budget: int = 500) -> dict[str, Any]:
    from memcore.digest import session_digest

    digest = session_digest(items, budget)
    return {"budget": budget, "tokens": digest.tokens, "sections": list(digest.sections)}


def _token_step(found: list[Transcript]) -> dict[str, Any]:
    from memcore.claude_code.results import comparable
    from memcore.tokens import count_tokens

    billed_replies = [s for t in found for s in t.token_samples if s.output_tokens > 0]
    samples = [s for s in billed_replies if comparable(s)]
    counted = sum(count_tokens(s.text) for s in samples)
    billed = sum(s.output_tokens for s in samples)
    return {
        "messages": len(samples),
        "left_out": len(billed_replies) - len(samples),
        "counted": counted,
        "billed_output_tokens": billed,
        "ratio": counted / billed if billed else 0.0,
    }


# --- output -------------------------------------------------------------------------------------


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover - the loop always returns


def render_report(report: DemoReport, console: Console) -> None:
    """Print what the demo did, step by step, with its figures."""
    from rich.table import Table

    kernels = "compiled" if report.native else "pure-Python"
    console.print(f"[bold]memcore demo[/bold] ({kernels} kernels) on {report.store}")
    console.print(
        f"1. ingest: {report.source_detail}; session {report.session!r}: {report.items} items, "
        f"{report.item_tokens:,} tokens, {report.accesses} accesses"
        + (" (simulated reading habits: no transcripts)" if report.source == "stdlib-notes" else "")
        + (f", {report.malformed_lines} malformed lines skipped" if report.malformed_lines else "")
    )
    s = report.sync
    cleared = s.get("cleared_items")
    console.print(
        "2. sync: "
        + (
            f"{report.session!r} emptied first of an earlier run's {cleared} item(s); "
            if cleared is not None
            else ""
        )
        + f"{s['first_push_items']} items pushed by replica 'left' in "
        f"{s['push_seconds'] * 1000:.0f} ms, {s['pull_items']} pulled by 'right' in "
        f"{s['pull_seconds'] * 1000:.0f} ms; both edited {s['conflict_key']!r}: "
        f"{s['conflicts_resolved']} conflict(s) resolved ({s['conflict_winner']} kept, timestamp "
        f"strategy); one-sided edits kept: {'yes' if s['one_sided_kept'] else 'NO'}; state "
        f"checksums {'equal' if s['checksums_equal'] else 'DIFFER'} ({s['checksum']}), "
        f"version {s['version']}"
    )
    c = report.compression
    levels = ", ".join(f"{k} {v}" for k, v in c["levels"].items())
    console.print(
        f"3. compress: {_size(c['original_size'])} -> {_size(c['compressed_size'])} "
        f"(ratio {c['ratio']:.3f}; {_size(c['zstd_bundle_bytes'])} as a zstd frame); "
        f"levels: {levels}; {_level1_said(c)}"
    )
    o = report.overflow
    actions = "; ".join(o["actions"]) or "none needed"
    console.print(
        f"4. overflow: budget {o['budget']:,} token{'' if o['budget'] == 1 else 's'}, "
        f"session {o['tokens_before']:,} -> {o['final_tokens']:,} tokens "
        f"({o['tokens_saved']:,} saved); actions: {actions}"
    )
    p = report.prefetch
    if p.get("scored_on"):
        console.print(
            f"5. prefetch: trained on {p['trained_on']} accesses, scored on the next "
            f"{p['scored_on']}: {p['hits']} served from the prefetch cache, hit rate "
            f"{p['hit_rate']:.1%} ({p['prefetched']} items prefetched); its first guess of the "
            f"next access was right for {p['first_guess_right']} of them"
            + (  # (an agent's next step is rarely that sure: nothing fetched is no fault)
                f", none sure enough to fetch (confidence over {p['threshold']:g})"
                if not p["prefetched"]
                else ""
            )
        )
    else:
        console.print(f"5. prefetch: only {p['accesses']} accesses, too few to train on")
    r = report.recall
    example = f"; e.g. {r['example'][0]!r} -> {r['example'][1]!r}" if r["example"][0] else ""
    console.print(
        f"6. recall: BM25 index of {r['indexed']} items; asked for {r['queries']} items by three "
        f"of their own words: {r['found']} found in the top 10{example}"
    )
    d = report.digest
    console.print(
        f"7. digest: a {d['tokens']}-token handover note (budget {d['budget']}) with sections "
        + (", ".join(d["sections"]) or "none")
        + " (`memcore digest SESSION` prints one)"
    )
    t = report.tokens
    if t and t.get("messages"):  # (transcripts without the API's usage: nothing to compare)
        left_out = t.get("left_out", 0)
        console.print(
            f"8. tokens: count_tokens gave {t['counted']:,} for {t['messages']} assistant "
            f"replies the API billed {t['billed_output_tokens']:,} output tokens for "
            f"(ratio {t['ratio']:.2f})"
            + (
                f"; {left_out} other replies left out (thinking billed whole but kept as a "
                "summary, or a usage recorded at the reply's start)"
                if left_out
                else ""
            )
        )
    table = Table(title="time taken", show_edge=False)
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for timing in report.timings:
        table.add_row(timing.name, f"{timing.seconds:.3f}")
    table.add_row("total", f"{report.total_seconds:.3f}")
    console.print(table)


def demo(store_url: str | None = None, **options: Any) -> DemoReport:
    """Run the demo synchronously (see :func:`run_demo`)."""
    return asyncio.run(run_demo(store_url, **options))


__all__ = [
    "DEMO_SESSION",
    "DemoReport",
    "demo",
    "load_transcripts",
    "render_report",
    "run_demo",
    "simulated_accesses",
    "stdlib_notes",
]
