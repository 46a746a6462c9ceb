"""Hierarchical compression of an agent's memory into four levels, packed into one bundle.

Level 1 keeps critical and recent items whole; level 2 summarizes high-priority and day-old
items one by one; level 3 groups similar week-old items and summarizes each group; level 4 is one
summary of everything older, with its count and time range. The partition runs natively over
arrays of priority ranks and ages (``pipeline.partition_levels``); summaries come from a
:class:`~memcore.summarize.Summarizer` (extractive and native by default, an LLM if plugged in).

Summaries read in session order (items are taken by creation time, whatever order the store
gave them in) and are never empty. A coding-agent session (:mod:`memcore.session_items`) is
summarized as one: its level 4 is its :func:`~memcore.digest.session_digest` at the level's
budget (what was asked, decided, touched, run, broken and fixed), not its first sentences, and
a level-3 group's names the files it holds (:mod:`memcore.agent_summaries`); the
agent's scaffolding (task notifications, system reminders, interruptions, a slash command's
expanded prompt) reaches no summary and is listed, by its ids, in one level-3 group that says
what it is.

The bundle is :func:`memcore.codec.encode_bundle` of one msgpack map (see :data:`FORMAT`) in an
lz4 frame (the default: fastest to write and read, the stock ``lz4 -d`` tool reads it) or a zstd
frame (``codec="zstd"``: smaller, read by ``zstd -d``); every decoder check raises
``CorruptedMemoryError``.
"""

from __future__ import annotations

import array
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from memcore import codec, frames
from memcore._kernels import pipeline as _selected
from memcore.agent_summaries import agent_digest, group_summary, scaffolding_summary
from memcore.errors import CorruptedMemoryError, ValidationError
from memcore.model import (
    CompressionMetadata,
    MemoryItem,
    Priority,
    coerce_items,
    to_utc_datetime,
    utc_now,
)
from memcore.session_items import (
    in_session_order,
    is_agent_item,
    is_agent_session,
    is_scaffolding,
)
from memcore.summarize import (
    DEFAULT_MAX_DISTANCE,
    ExtractiveSummarizer,
    Summarizer,
    check_kernels,
    check_max_distance,
    checked_summarizer,
    group_similar_texts,
)
from memcore.tokens import TokenCounter, resolve_counter

FORMAT = "memcore.hierarchy"
FORMAT_VERSION = 1
DEFAULT_THRESHOLDS = (timedelta(hours=1), timedelta(hours=24), timedelta(hours=168))
DEFAULT_RATIOS = (0.5, 0.2, 0.05)
#: A level-2 agent request (``kind`` task) or error (``kind`` error) this short is kept whole
#: rather than summarized.
REQUEST_WHOLE_TOKENS = 64
#: The agent records a summary must not blur: what was asked, what failed and why.
_KEPT_WHOLE_KINDS = frozenset({"task", "error"})
#: lz4 high-compression level: ~25 % smaller bundles than the fast mode for ~3 ms per 100 KiB.
DEFAULT_LZ4_LEVEL = 9
#: zstd level for ``codec="zstd"``: bundles smaller than pickle + zlib level 6 (see
#: benchmarks/bundle_size.py); its frame stage takes ~4x lz4 level 9's time on 128 KiB.
DEFAULT_ZSTD_LEVEL = 14
_DEFAULT_BUNDLE_LEVELS: dict[frames.FrameCodec, int] = {
    "lz4": DEFAULT_LZ4_LEVEL,
    "zstd": DEFAULT_ZSTD_LEVEL,
}

#: ``progress(done, total)``: items handled so far, out of all items of the call.
ProgressCallback = Callable[[int, int], None]
TimeRange = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class SummaryEntry:
    """A level-2 item: its summary in place of its content."""

    id: str
    summary: str
    metadata: dict[str, Any]
    timestamp: datetime
    priority: str = "normal"


@dataclass(frozen=True, slots=True)
class SummaryGroup:
    """A level-3 group of similar items and one summary of them."""

    ids: list[str]
    count: int
    summary: str
    time_range: TimeRange


@dataclass(frozen=True, slots=True)
class Level1:
    items: list[MemoryItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Level2:
    items: list[SummaryEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Level3:
    groups: list[SummaryGroup] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Level4:
    summary: str = ""
    count: int = 0
    time_range: TimeRange | None = None


@dataclass(frozen=True, slots=True)
class CompressedBundle:
    """Every level of a compressed memory, as decoded from a bundle."""

    level1: Level1
    level2: Level2
    level3: Level3
    level4: Level4
    compressed_at: datetime

    @property
    def levels(self) -> dict[str, int]:
        return {
            "level1": len(self.level1.items),
            "level2": len(self.level2.items),
            "level3": sum(group.count for group in self.level3.groups),
            "level4": self.level4.count,
        }


#: The hours a ``timedelta`` stays under (``timedelta.max`` is 999,999,999 days, 23:59:59.999999).
HOURS_LIMIT = timedelta.max // timedelta(hours=1) + 1


def _hours(value: timedelta | float | int, name: str) -> timedelta:
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            result = timedelta(hours=value)
        except (ValueError, OverflowError) as exc:  # NaN, infinities, beyond 999,999,999 days
            if isinstance(value, float) and not math.isfinite(value):
                raise ValidationError(
                    f"{name} must be a finite number of hours (got {value!r})"
                ) from exc
            if value < 0:
                raise ValidationError(f"{name} must not be negative") from exc
            # (1e300 is finite, only too large for a timedelta; a huge int is not shown: its
            # repr may be too long to make)
            shown = repr(value) if isinstance(value, float) or value < 10**20 else "a huge int"
            raise ValidationError(
                f"{name} must be under {HOURS_LIMIT:,} hours, the most a timedelta holds "
                f"(got {shown})"
            ) from exc
    else:
        raise ValidationError(f"{name} must be a timedelta or a number of hours (got {value!r})")
    if result < timedelta(0):
        raise ValidationError(f"{name} must not be negative")
    return result


def _three(values: object) -> bool:
    """Three values in a sequence (a string of three characters is none)."""
    return (
        isinstance(values, Sequence) and not isinstance(values, (str, bytes)) and len(values) == 3
    )


def _check_callable(value: object, name: str, shape: str) -> None:
    if value is not None and not callable(value):
        raise ValidationError(f"{name} must be a callable {shape} (got {type(value).__name__})")


def _time_range(items: Iterable[MemoryItem]) -> TimeRange:
    stamps = [item.created_at for item in items]
    return (min(stamps), max(stamps))


def _scaffolding_group(items: list[MemoryItem]) -> SummaryGroup:
    """One level-3 group of an agent's scaffolding: its ids, and a summary saying what it is."""
    summary = scaffolding_summary(items)
    return SummaryGroup([item.id for item in items], len(items), summary, _time_range(items))


class HierarchicalMemoryCompressor:
    """Partition items into four levels by priority and age, summarize, and pack a bundle.

    ``now`` fixes the clock (else ``clock()`` is read at each call, default: the UTC time);
    ``thresholds`` (timedeltas or hours) and ``ratios`` (token ratios of levels 2-4) default to
    1 h/24 h/168 h and 0.5/0.2/0.05; ``summarizer`` defaults to the extractive one; ``counter``
    counts tokens; ``progress(done, total)`` is told how many items are handled;
    ``max_distance`` is the SimHash distance for level-3 groups; ``kernels`` picks the pipeline
    twin (the selected one by default); ``codec`` is the bundle's frame, ``"lz4"`` (fastest) or
    ``"zstd"`` (smallest), and ``level`` its compression level (a per-codec default if None).
    """

    def __init__(
        self,
        now: datetime | None = None,
        *,
        thresholds: Sequence[timedelta | float] = DEFAULT_THRESHOLDS,
        ratios: Sequence[float] = DEFAULT_RATIOS,
        clock: Callable[[], datetime] | None = None,
        summarizer: Summarizer | None = None,
        counter: TokenCounter | None = None,
        progress: ProgressCallback | None = None,
        max_distance: int = DEFAULT_MAX_DISTANCE,
        kernels: ModuleType | None = None,
        codec: frames.FrameCodec = "lz4",
        level: int | None = None,
    ) -> None:
        # every parameter checked here, alike in both builds: a bad one found only at compress
        # time failed there with a builtin error (or not at all, in one build and not the other)
        self.now = None if now is None else to_utc_datetime(now)
        _check_callable(clock, "clock", "() -> datetime")
        _check_callable(progress, "progress", "(done, total) -> None")
        self.clock = clock or utc_now
        if not _three(thresholds) or not _three(ratios):
            raise ValidationError("give three thresholds and three ratios (levels 1-3 / 2-4)")
        self.thresholds = tuple(_hours(t, "threshold") for t in thresholds)
        if not self.thresholds[0] <= self.thresholds[1] <= self.thresholds[2]:
            raise ValidationError("thresholds must not decrease")
        for ratio in ratios:
            if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
                raise ValidationError(f"ratios must be numbers (got {ratio!r})")
            if not 0.0 < ratio <= 1.0:
                raise ValidationError(f"ratios must be in (0, 1] (got {ratio!r})")
        self.ratios = tuple(float(r) for r in ratios)
        self.kernels = _selected if kernels is None else check_kernels(kernels)
        self.summarizer: Summarizer = checked_summarizer(summarizer) or ExtractiveSummarizer(
            counter, kernels
        )
        self.count = resolve_counter(counter)
        self.progress = progress
        self.max_distance = check_max_distance(max_distance)
        if level is None:
            level = _DEFAULT_BUNDLE_LEVELS.get(codec)
        self.codec, self.level = frames.check_codec(codec, level)

    def _now(self) -> datetime:
        return self.now if self.now is not None else to_utc_datetime(self.clock())

    def partition(
        self, items: Iterable[MemoryItem | Mapping[str, Any]], now: datetime | None = None
    ) -> list[list[MemoryItem]]:
        """The items of each level (index 0 = level 1), in input order.

        ``items`` and ``now`` are taken as ``compress`` takes them (dicts, ISO strings): a dict
        item or a naive ``now`` was an ``AttributeError`` or ``TypeError`` here."""
        now = self._now() if now is None else to_utc_datetime(now)
        return self._partition(coerce_items(items), now)

    def _partition(self, items: list[MemoryItem], now: datetime) -> list[list[MemoryItem]]:
        """``partition`` of items and a time already checked (``compress``'s)."""
        ranks = array.array("b", [item.priority.rank for item in items])
        ages = array.array("d", [(now - item.created_at).total_seconds() for item in items])
        first, second, third = (t.total_seconds() for t in self.thresholds)
        levels = self.kernels.partition_levels(ranks, ages, first, second, third)
        out: list[list[MemoryItem]] = [[], [], [], []]
        for item, level in zip(items, levels, strict=True):
            out[level - 1].append(item)
        return out

    def compress(self, items: Iterable[MemoryItem | Mapping[str, Any]]) -> CompressedBundle:
        """Build every level in memory (what the bundle holds), in session order."""
        coerced = in_session_order(coerce_items(items))
        now = self._now()
        level1, level2, level3, level4 = self._partition(coerced, now)
        scaffolding = [item for item in level2 + level3 + level4 if is_scaffolding(item)]
        if scaffolding:
            left_out = {id(item) for item in scaffolding}
            level2 = [item for item in level2 if id(item) not in left_out]
            level3 = [item for item in level3 if id(item) not in left_out]
            level4 = [item for item in level4 if id(item) not in left_out]
        total = len(coerced)
        # the latest of what a summary may say (scaffolding says nothing): items before it are
        # followed by others the bundle holds (``coerced`` is in time order: read from its end)
        latest = next((i.created_at for i in reversed(coerced) if not is_scaffolding(i)), None)
        done = len(level1) + len(scaffolding)
        self._report(done, total)
        entries = []
        for item in level2:
            entries.append(
                SummaryEntry(
                    id=item.id,
                    summary=self._entry_summary(item),
                    metadata=item.metadata,
                    timestamp=item.created_at,
                    priority=item.priority.value,
                )
            )
            done += 1
            if done % 64 == 0:
                self._report(done, total)
        groups = []
        texts = [item.content for item in level3]
        for members in group_similar_texts(texts, self.max_distance, self.kernels):
            chosen = [level3[k] for k in members]
            groups.append(
                SummaryGroup(
                    ids=[item.id for item in chosen],
                    count=len(chosen),
                    summary=self._agent_summary(chosen, self.ratios[1], latest, group=True),
                    time_range=_time_range(chosen),
                )
            )
            done += len(chosen)
            self._report(done, total)
        if scaffolding:
            groups.append(_scaffolding_group(scaffolding))
            groups.sort(key=lambda group: group.time_range[0])  # stable: ties keep their order
        oldest = Level4()
        if level4:
            oldest = Level4(
                summary=self._agent_summary(level4, self.ratios[2], latest),
                count=len(level4),
                time_range=_time_range(level4),
            )
        self._report(total, total)
        return CompressedBundle(Level1(level1), Level2(entries), Level3(groups), oldest, now)

    def _entry_summary(self, item: MemoryItem) -> str:
        """A level-2 summary: an agent session's request (``kind`` task) or error (``kind``
        error) of up to ``REQUEST_WHOLE_TOKENS`` is kept whole, since what was asked, and what
        failed and why, is what a summary must not blur (half of "`git push` failed (exit 128):
        fatal: The current branch has no upstream branch." was "`git push` failed (exit…");
        else the summary."""
        kind = item.metadata.get("kind")
        if isinstance(kind, str) and kind in _KEPT_WHOLE_KINDS and is_agent_item(item):
            request = item.content.strip()
            if self.count(request) <= REQUEST_WHOLE_TOKENS:
                return request
        return self._summary([item.content], self.ratios[0], group=False)

    def _summary(self, texts: list[str], ratio: float, *, group: bool = True) -> str:
        """The summarizer's summary of ``texts`` (one item's, or a group's); the extractive
        one's if a plugged-in summarizer said nothing (a summary is never empty unless its
        texts are blank)."""
        if group:
            summary = self.summarizer.summarize_group(texts, ratio)
        else:
            summary = self.summarizer.summarize(texts[0], ratio)
        if summary.strip() or isinstance(self.summarizer, ExtractiveSummarizer):
            return summary
        return ExtractiveSummarizer(self.count, self.kernels).summarize_group(texts, ratio)

    def _agent_summary(
        self,
        items: list[MemoryItem],
        ratio: float,
        latest: datetime | None,
        *,
        group: bool = False,
    ) -> str:
        """A level-3 or level-4 summary: of a coding-agent session's items, their digest at the
        level's budget (unless a summarizer was plugged in), a group's naming the files it holds
        (``agent_summaries``), else the summary of all the items as one text."""
        if isinstance(self.summarizer, ExtractiveSummarizer) and is_agent_session(items):
            text = agent_digest(items, ratio, latest, self.count, group=group)
            if group:
                return group_summary(self._summary, items, ratio, text)
            if text is not None:
                return text
        return self._summary([item.content for item in items], ratio)

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def compress_memory_hierarchy(
        self, items: Iterable[MemoryItem | Mapping[str, Any]]
    ) -> tuple[bytes, CompressionMetadata]:
        """Compress ``items`` into a bundle; ``ratio`` = bundle size / msgpack size of the items."""
        coerced = coerce_items(items)
        bundle = self.compress(coerced)
        blob = codec.encode_bundle(encode_payload(bundle), level=self.level, codec=self.codec)
        original = len(codec.packb(coerced))
        metadata = CompressionMetadata(
            original_size=original,
            compressed_size=len(blob),
            ratio=len(blob) / original if original else 0.0,
            levels=bundle.levels,
        )
        return blob, metadata

    def decompress_memory_hierarchy(
        self, blob: bytes | bytearray | memoryview, *, max_payload: int = codec.MAX_BUNDLE_PAYLOAD
    ) -> CompressedBundle:
        """Every level back from a bundle (``CorruptedMemoryError`` on bad bytes)."""
        return decompress_memory_hierarchy(blob, max_payload=max_payload)


# --- the bundle payload -------------------------------------------------------------------------


def encode_payload(bundle: CompressedBundle) -> dict[str, Any]:
    """The msgpack map a bundle holds (plain lists, datetimes and MemoryItems)."""
    level4 = bundle.level4
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "compressed_at": bundle.compressed_at,
        "level1": list(bundle.level1.items),
        "level2": [
            [e.id, e.summary, e.metadata, e.timestamp, e.priority] for e in bundle.level2.items
        ],
        "level3": [
            [g.ids, g.summary, g.time_range[0], g.time_range[1]] for g in bundle.level3.groups
        ],
        "level4": [
            level4.summary,
            level4.count,
            *(level4.time_range if level4.time_range else (None, None)),
        ],
    }


_PRIORITIES = frozenset(priority.value for priority in Priority)


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise CorruptedMemoryError(f"malformed memory hierarchy bundle: {what}")


def _rows(payload: Mapping[str, Any], key: str, width: int) -> list[list[Any]]:
    rows = payload.get(key)
    _expect(isinstance(rows, list), f"{key} is not a list")
    assert isinstance(rows, list)
    for row in rows:
        _expect(isinstance(row, list) and len(row) == width, f"a {key} entry has the wrong shape")
    return rows


def _stamp(value: Any, what: str) -> datetime:
    _expect(isinstance(value, datetime) and value.tzinfo is not None, f"{what} is not a time")
    assert isinstance(value, datetime)
    return value


def _whole(value: Any) -> bool:
    """An int that is no bool (``True == 1`` passed for a version and a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _span_of(first: Any, last: Any, what: str) -> TimeRange:
    span = (_stamp(first, what), _stamp(last, what))
    _expect(span[0] <= span[1], f"{what} time range ends before it starts")
    return span


def decode_payload(payload: Any) -> CompressedBundle:
    """Check a decoded payload's shape and build the bundle (``CorruptedMemoryError`` if bad).

    Every field is what the compressor writes: a level-2 entry's priority is a priority's name
    and its metadata a map with str keys (as a MemoryItem's), a time range does not end before
    it starts, counts and the version are ints (not bools)."""
    _expect(isinstance(payload, dict), "the payload is not a map")
    _expect(payload.get("format") == FORMAT, "not a memory hierarchy")
    version = payload.get("version")
    _expect(_whole(version) and version == FORMAT_VERSION, f"unknown version {version!r}")
    level1 = payload.get("level1")
    _expect(isinstance(level1, list), "level1 is not a list")
    _expect(all(isinstance(item, MemoryItem) for item in level1), "level1 holds non-items")
    entries = []
    for ident, summary, metadata, stamp, priority in _rows(payload, "level2", 5):
        _expect(isinstance(ident, str) and isinstance(summary, str), "level2 id/summary")
        _expect(
            isinstance(metadata, dict) and all(isinstance(key, str) for key in metadata),
            "level2 metadata is not a map with str keys",
        )
        _expect(isinstance(priority, str) and priority in _PRIORITIES, "level2 priority")
        entries.append(SummaryEntry(ident, summary, metadata, _stamp(stamp, "level2"), priority))
    groups = []
    for ids, summary, first, last in _rows(payload, "level3", 4):
        _expect(isinstance(ids, list) and all(isinstance(i, str) for i in ids), "level3 ids")
        _expect(isinstance(summary, str) and len(ids) > 0, "level3 summary")
        groups.append(SummaryGroup(ids, len(ids), summary, _span_of(first, last, "level3")))
    level4 = payload.get("level4")
    _expect(isinstance(level4, list) and len(level4) == 4, "level4 has the wrong shape")
    summary, count, first, last = level4
    _expect(isinstance(summary, str) and _whole(count) and count >= 0, "level4 fields")
    time_range = None
    if count:
        time_range = _span_of(first, last, "level4")
    else:
        _expect(first is None and last is None, "empty level4 with a time range")
    return CompressedBundle(
        Level1(level1),
        Level2(entries),
        Level3(groups),
        Level4(summary, count, time_range),
        _stamp(payload.get("compressed_at"), "compressed_at"),
    )


def decompress_memory_hierarchy(
    blob: bytes | bytearray | memoryview, *, max_payload: int = codec.MAX_BUNDLE_PAYLOAD
) -> CompressedBundle:
    """Every level back from a bundle made by ``compress_memory_hierarchy``; a bundle claiming
    more than ``max_payload`` decompressed bytes is refused before decoding (see
    ``codec.decode_bundle``). What is no bytes at all (``None``, a str) is the caller's
    mistake, a ``ValidationError``: ``CorruptedMemoryError`` is for bytes that are no bundle."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise ValidationError(
            f"decompress_memory_hierarchy takes the bytes of a bundle (got {type(blob).__name__})"
        )
    return decode_payload(codec.decode_bundle(blob, max_payload=max_payload))


def compress_memory_hierarchy(
    items: Iterable[MemoryItem | Mapping[str, Any]],
    now: datetime | None = None,
    *,
    codec: frames.FrameCodec = "lz4",
) -> tuple[bytes, CompressionMetadata]:
    """``HierarchicalMemoryCompressor(now, codec=codec).compress_memory_hierarchy(items)``."""
    return HierarchicalMemoryCompressor(now, codec=codec).compress_memory_hierarchy(items)


__all__ = [
    "DEFAULT_LZ4_LEVEL",
    "DEFAULT_RATIOS",
    "DEFAULT_THRESHOLDS",
    "DEFAULT_ZSTD_LEVEL",
    "REQUEST_WHOLE_TOKENS",
    "CompressedBundle",
    "HierarchicalMemoryCompressor",
    "Level1",
    "Level2",
    "Level3",
    "Level4",
    "SummaryEntry",
    "SummaryGroup",
    "compress_memory_hierarchy",
    "decode_payload",
    "decompress_memory_hierarchy",
    "encode_payload",
]
