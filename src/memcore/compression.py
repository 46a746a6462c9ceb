"""Hierarchical compression of an agent's memory into four levels, packed into one bundle.

Level 1 keeps critical and recent items whole; level 2 summarizes high-priority and day-old
items one by one; level 3 groups similar week-old items and summarizes each group; level 4 is one
summary of everything older, with its count and time range. The partition runs natively over
arrays of priority ranks and ages (``pipeline.partition_levels``); summaries come from a
:class:`~memcore.summarize.Summarizer` (extractive and native by default, an LLM if plugged in).

The bundle is :func:`memcore.codec.encode_bundle` of one msgpack map (see :data:`FORMAT`) in an
lz4 frame (the default: fastest to write and read, the stock ``lz4 -d`` tool reads it) or a zstd
frame (``codec="zstd"``: smaller, read by ``zstd -d``); every decoder check raises
``CorruptedMemoryError``.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from memcore import codec, frames
from memcore._kernels import pipeline as _selected
from memcore.errors import CorruptedMemoryError, ValidationError
from memcore.model import CompressionMetadata, MemoryItem, to_utc_datetime, utc_now
from memcore.summarize import (
    DEFAULT_MAX_DISTANCE,
    ExtractiveSummarizer,
    Summarizer,
    group_similar_texts,
)
from memcore.tokens import TokenCounter

FORMAT = "memcore.hierarchy"
FORMAT_VERSION = 1
DEFAULT_THRESHOLDS = (timedelta(hours=1), timedelta(hours=24), timedelta(hours=168))
DEFAULT_RATIOS = (0.5, 0.2, 0.05)
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


def _hours(value: timedelta | float | int, name: str) -> timedelta:
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = timedelta(hours=value)
    else:
        raise ValidationError(f"{name} must be a timedelta or a number of hours (got {value!r})")
    if result < timedelta(0):
        raise ValidationError(f"{name} must not be negative")
    return result


def _time_range(items: Iterable[MemoryItem]) -> TimeRange:
    stamps = [item.created_at for item in items]
    return (min(stamps), max(stamps))


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
        self.now = None if now is None else to_utc_datetime(now)
        self.clock = clock or utc_now
        if len(thresholds) != 3 or len(ratios) != 3:
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
        self.kernels = kernels if kernels is not None else _selected
        self.summarizer: Summarizer = summarizer or ExtractiveSummarizer(counter, kernels)
        self.progress = progress
        self.max_distance = max_distance
        if level is None:
            level = _DEFAULT_BUNDLE_LEVELS.get(codec)
        self.codec, self.level = frames.check_codec(codec, level)

    def _now(self) -> datetime:
        return self.now if self.now is not None else to_utc_datetime(self.clock())

    def partition(
        self, items: Sequence[MemoryItem], now: datetime | None = None
    ) -> list[list[MemoryItem]]:
        """The items of each level (index 0 = level 1), in input order."""
        now = now or self._now()
        ranks = array.array("b", [item.priority.rank for item in items])
        ages = array.array("d", [(now - item.created_at).total_seconds() for item in items])
        first, second, third = (t.total_seconds() for t in self.thresholds)
        levels = self.kernels.partition_levels(ranks, ages, first, second, third)
        out: list[list[MemoryItem]] = [[], [], [], []]
        for item, level in zip(items, levels, strict=True):
            out[level - 1].append(item)
        return out

    def compress(self, items: Iterable[MemoryItem | Mapping[str, Any]]) -> CompressedBundle:
        """Build every level in memory (what the bundle holds)."""
        try:
            coerced = [MemoryItem.coerce(item) for item in items]
        except TypeError as exc:
            raise ValidationError(f"items must be MemoryItems or mappings: {exc}") from exc
        now = self._now()
        level1, level2, level3, level4 = self.partition(coerced, now)
        total = len(coerced)
        done = len(level1)
        self._report(done, total)
        entries = []
        for item in level2:
            entries.append(
                SummaryEntry(
                    id=item.id,
                    summary=self.summarizer.summarize(item.content, self.ratios[0]),
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
                    summary=self.summarizer.summarize_group(
                        [item.content for item in chosen], self.ratios[1]
                    ),
                    time_range=_time_range(chosen),
                )
            )
            done += len(chosen)
            self._report(done, total)
        oldest = Level4()
        if level4:
            oldest = Level4(
                summary=self.summarizer.summarize_group(
                    [item.content for item in level4], self.ratios[2]
                ),
                count=len(level4),
                time_range=_time_range(level4),
            )
        self._report(total, total)
        return CompressedBundle(Level1(level1), Level2(entries), Level3(groups), oldest, now)

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def compress_memory_hierarchy(
        self, items: Iterable[MemoryItem | Mapping[str, Any]]
    ) -> tuple[bytes, CompressionMetadata]:
        """Compress ``items`` into a bundle; ``ratio`` = bundle size / msgpack size of the items."""
        coerced = [MemoryItem.coerce(item) for item in items]
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

    def decompress_memory_hierarchy(self, blob: bytes | bytearray | memoryview) -> CompressedBundle:
        """Every level back from a bundle (``CorruptedMemoryError`` on bad bytes)."""
        return decompress_memory_hierarchy(blob)


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


def decode_payload(payload: Any) -> CompressedBundle:
    """Check a decoded payload's shape and build the bundle (``CorruptedMemoryError`` if bad)."""
    _expect(isinstance(payload, dict), "the payload is not a map")
    _expect(payload.get("format") == FORMAT, "not a memory hierarchy")
    _expect(payload.get("version") == FORMAT_VERSION, f"unknown version {payload.get('version')!r}")
    level1 = payload.get("level1")
    _expect(isinstance(level1, list), "level1 is not a list")
    _expect(all(isinstance(item, MemoryItem) for item in level1), "level1 holds non-items")
    entries = []
    for ident, summary, metadata, stamp, priority in _rows(payload, "level2", 5):
        _expect(isinstance(ident, str) and isinstance(summary, str), "level2 id/summary")
        _expect(isinstance(metadata, dict) and isinstance(priority, str), "level2 metadata")
        entries.append(SummaryEntry(ident, summary, metadata, _stamp(stamp, "level2"), priority))
    groups = []
    for ids, summary, first, last in _rows(payload, "level3", 4):
        _expect(isinstance(ids, list) and all(isinstance(i, str) for i in ids), "level3 ids")
        _expect(isinstance(summary, str) and len(ids) > 0, "level3 summary")
        span = (_stamp(first, "level3"), _stamp(last, "level3"))
        groups.append(SummaryGroup(ids, len(ids), summary, span))
    level4 = payload.get("level4")
    _expect(isinstance(level4, list) and len(level4) == 4, "level4 has the wrong shape")
    summary, count, first, last = level4
    _expect(isinstance(summary, str) and isinstance(count, int) and count >= 0, "level4 fields")
    time_range = None
    if count:
        time_range = (_stamp(first, "level4"), _stamp(last, "level4"))
    else:
        _expect(first is None and last is None, "empty level4 with a time range")
    return CompressedBundle(
        Level1(level1),
        Level2(entries),
        Level3(groups),
        Level4(summary, count, time_range),
        _stamp(payload.get("compressed_at"), "compressed_at"),
    )


def decompress_memory_hierarchy(blob: bytes | bytearray | memoryview) -> CompressedBundle:
    """Every level back from a bundle made by ``compress_memory_hierarchy``."""
    return decode_payload(codec.decode_bundle(blob))


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
