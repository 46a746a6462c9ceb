"""HierarchicalMemoryCompressor: level rules at their boundaries, round trips, bad bundles."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memcore
from memcore import codec
from memcore.compression import (
    DEFAULT_LZ4_LEVEL,
    DEFAULT_ZSTD_LEVEL,
    CompressedBundle,
    HierarchicalMemoryCompressor,
    compress_memory_hierarchy,
    decompress_memory_hierarchy,
)
from memcore.demo_corpus import stdlib_notes
from memcore.errors import CorruptedMemoryError, ValidationError
from memcore.model import MemoryItem, Priority
from memcore.summarize import ELLIPSIS, SAYS_NOTHING_WORDS, SHORT_NOTE_TOKENS
from tests.param_ids import value_id

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
TEXT = (
    "The worker crashed with MemoryError at 03:12 while loading /data/shard-7.parquet. "
    "We restarted it. The retry used batch_size=512 and finished in 41 s. "
    "See https://ci.example.org/runs/9921 for the full log. Everyone was relieved."
)


def item(ident: str, age: timedelta, priority: str = "normal", text: str = TEXT) -> MemoryItem:
    return MemoryItem(ident, text, priority, NOW - age, {"kind": "fact", "n": 1})


def test_public_exports() -> None:
    assert memcore.HierarchicalMemoryCompressor is HierarchicalMemoryCompressor
    assert memcore.CompressedBundle is CompressedBundle
    assert memcore.decompress_memory_hierarchy is decompress_memory_hierarchy


def test_levels_at_exact_boundaries(pipeline_impl: ModuleType) -> None:
    h = timedelta(hours=1)
    tiny = timedelta(microseconds=1)
    items = [
        item("fresh", timedelta(0)),
        item("just-under-1h", h - tiny),
        item("at-1h", h),
        item("just-under-24h", 24 * h - tiny),
        item("at-24h", 24 * h),
        item("just-under-168h", 168 * h - tiny),
        item("at-168h", 168 * h),
        item("old-critical", 1000 * h, "critical"),
        item("old-high", 1000 * h, "high"),
        item("old-low", 1000 * h, "low"),
        item("future", -h),
    ]
    levels = HierarchicalMemoryCompressor(NOW, kernels=pipeline_impl).partition(items)
    names = [[i.id for i in level] for level in levels]
    assert names == [
        ["fresh", "just-under-1h", "old-critical", "future"],
        ["at-1h", "just-under-24h", "old-high"],
        ["at-24h", "just-under-168h"],
        ["at-168h", "old-low"],
    ]


def test_round_trip_gives_every_level_back(pipeline_impl: ModuleType) -> None:
    h = timedelta(hours=1)
    other = "Lunch was pasta and the weather stayed grey all afternoon without any rain at all."
    items = [
        item("l1", 10 * timedelta(minutes=1), "low"),
        item("l1-crit", 500 * h, "critical"),
        item("l2", 5 * h),
        item("l3-a", 30 * h),
        item("l3-b", 31 * h),
        item("l3-c", 40 * h, text=other),
        item("l4-a", 200 * h),
        item("l4-b", 300 * h, text=other),
    ]
    seen: list[tuple[int, int]] = []
    compressor = HierarchicalMemoryCompressor(
        NOW, kernels=pipeline_impl, progress=lambda d, t: seen.append((d, t))
    )
    blob, meta = compressor.compress_memory_hierarchy(items)
    assert meta.levels == {"level1": 2, "level2": 1, "level3": 3, "level4": 2}
    assert meta.compressed_size == len(blob)
    assert meta.original_size == len(codec.packb(items))
    assert meta.ratio == pytest.approx(len(blob) / meta.original_size)
    assert seen[-1] == (8, 8)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    bundle = compressor.decompress_memory_hierarchy(blob)
    assert bundle == decompress_memory_hierarchy(blob)
    assert bundle.levels == meta.levels
    assert bundle.level1.items == [items[1], items[0]]  # in session order, oldest first
    (entry,) = bundle.level2.items
    assert (entry.id, entry.metadata, entry.timestamp) == (
        "l2",
        {"kind": "fact", "n": 1},
        NOW - 5 * h,
    )
    sentences = [TEXT[a:b] for a, b in pipeline_impl.split_sentences(TEXT)]
    kept = [s for s in sentences if s in entry.summary]
    assert kept
    assert entry.summary == " ".join(kept)  # whole source sentences, in order
    groups = {tuple(g.ids): g for g in bundle.level3.groups}
    assert set(groups) == {("l3-b", "l3-a"), ("l3-c",)}
    pair = groups[("l3-b", "l3-a")]
    assert pair.count == 2
    assert pair.time_range == (NOW - 31 * h, NOW - 30 * h)
    assert bundle.level4.count == 2
    assert bundle.level4.time_range == (NOW - 300 * h, NOW - 200 * h)
    assert bundle.compressed_at == NOW


def test_summaries_respect_level_ratios() -> None:
    items = stdlib_notes(120, seed=3, now=NOW)
    compressor = HierarchicalMemoryCompressor(NOW)
    bundle = compressor.compress(items)
    by_id = {i.id: i for i in items}
    count = memcore.count_tokens
    whole = 0
    for entry in bundle.level2.items:
        source = by_id[entry.id].content
        assert entry.summary
        if entry.summary == source.strip() and count(source) <= SHORT_NOTE_TOKENS:
            whole += 1  # a short note whose summary would say nothing is kept whole
            continue
        assert count(entry.summary) <= int(count(source) * 0.5)
    assert whole < len(bundle.level2.items) // 4
    for group in bundle.level3.groups:
        source = "\n\n".join(by_id[i].content for i in group.ids)
        assert group.summary
        lead = " ".join(source.split()[:SAYS_NOTHING_WORDS]) + ELLIPSIS  # when too few fit
        if group.summary not in (source.strip(), lead):
            assert count(group.summary) <= int(count(source) * 0.2)
    assert bundle.level4.count > 0


@settings(max_examples=15, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(list(Priority)),
            st.integers(-3600, 400 * 3600),
            st.sampled_from([TEXT, "x", "", "Short note. Another one!", "ünïcödé 文本 42."]),
        ),
        max_size=12,
    )
)
def test_round_trip_property(rows: Sequence[tuple[Priority, int, str]]) -> None:
    items = [
        MemoryItem(f"i{k}", text, prio, NOW - timedelta(seconds=age))
        for k, (prio, age, text) in enumerate(rows)
    ]
    blob, meta = compress_memory_hierarchy(items, now=NOW)
    bundle = decompress_memory_hierarchy(blob)
    assert bundle.levels == meta.levels
    assert sum(meta.levels.values()) == len(items)
    assert bundle.level1.items == [
        i
        for i in sorted(items, key=lambda i: i.created_at)  # session order
        if i.priority is Priority.CRITICAL or NOW - i.created_at < timedelta(hours=1)
    ]
    grouped = [i for g in bundle.level3.groups for i in g.ids]
    assert len(grouped) == len(set(grouped)) == meta.levels["level3"]
    texts = {i.id: i.content for i in items}
    for entry in bundle.level2.items:  # no summary is empty unless its source is blank
        assert entry.summary or not texts[entry.id].strip()
    for group in bundle.level3.groups:
        assert group.summary or not "".join(texts[i] for i in group.ids).strip()


def test_parameters_change_the_rules() -> None:
    items = [item("a", timedelta(hours=2)), item("b", timedelta(hours=5))]
    compressor = HierarchicalMemoryCompressor(NOW, thresholds=(3, 4, 6), ratios=(1.0, 1.0, 1.0))
    bundle = compressor.compress(items)
    assert bundle.levels == {"level1": 1, "level2": 0, "level3": 1, "level4": 0}
    assert bundle.level3.groups[0].summary == TEXT
    clocked = HierarchicalMemoryCompressor(clock=lambda: NOW + timedelta(hours=10))
    assert clocked.compress(items).levels["level2"] == 2
    with pytest.raises(ValidationError):
        HierarchicalMemoryCompressor(NOW, thresholds=(5, 2, 9))
    with pytest.raises(ValidationError):
        HierarchicalMemoryCompressor(NOW, ratios=(0.5, 0.0, 0.1))


def test_custom_summarizer_is_used() -> None:
    class FirstWords:
        def summarize(self, text: str, ratio: float) -> str:
            return " ".join(text.split()[:2])

        def summarize_group(self, texts: Sequence[str], ratio: float) -> str:
            return f"{len(texts)} notes"

    items = [item("a", timedelta(hours=2)), item("b", timedelta(hours=30))]
    bundle = HierarchicalMemoryCompressor(NOW, summarizer=FirstWords()).compress(items)
    assert bundle.level2.items[0].summary == "The worker"
    assert bundle.level3.groups[0].summary == "1 notes"


def test_a_plugged_summarizer_that_is_none_or_answers_no_text_is_a_validation_error() -> None:
    """A plain function given as a summarizer, or one whose ``summarize`` returns None: an
    ``AttributeError`` deep in the compressor before; memcore's ``ValidationError`` now."""
    from memcore.errors import ValidationError

    class Silent:
        def summarize(self, text: str, ratio: float) -> Any:
            return None

        def summarize_group(self, texts: Sequence[str], ratio: float) -> Any:
            return None

    items = [item("a", timedelta(hours=2)), item("b", timedelta(hours=30))]
    with pytest.raises(ValidationError, match="returned NoneType, not a str"):
        HierarchicalMemoryCompressor(NOW, summarizer=Silent()).compress(items)
    with pytest.raises(ValidationError, match="needs summarize"):
        HierarchicalMemoryCompressor(NOW, summarizer=lambda text, ratio: text)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["lz4", "zstd"])
def test_bundle_is_a_standard_frame_of_its_codec(name: str, tmp_path: Path) -> None:
    if shutil.which(name) is None:
        pytest.fail(f"the {name} command-line tool is required (the test command installs it)")
    blob, _ = compress_memory_hierarchy(
        stdlib_notes(40, seed=2, now=NOW),
        now=NOW,
        codec=name,  # type: ignore[arg-type]
    )
    assert codec.bundle_codec(blob) == name
    path = tmp_path / f"memory.{name}"
    path.write_bytes(blob)
    out = subprocess.run([name, "-d", "-c", str(path)], capture_output=True, check=True).stdout
    payload = msgpack.unpackb(out, raw=False, timestamp=3, strict_map_key=False)
    assert payload["format"] == "memcore.hierarchy"


def test_zstd_bundle_holds_the_same_levels_and_is_smaller() -> None:
    items = stdlib_notes(300, seed=4, now=NOW)
    fast = HierarchicalMemoryCompressor(NOW)
    small = HierarchicalMemoryCompressor(NOW, codec="zstd")
    assert (fast.codec, fast.level) == ("lz4", DEFAULT_LZ4_LEVEL)
    assert (small.codec, small.level) == ("zstd", DEFAULT_ZSTD_LEVEL)
    lz4_blob, lz4_meta = fast.compress_memory_hierarchy(items)
    zstd_blob, zstd_meta = small.compress_memory_hierarchy(items)
    assert decompress_memory_hierarchy(zstd_blob) == decompress_memory_hierarchy(lz4_blob)
    assert zstd_meta.original_size == lz4_meta.original_size
    assert zstd_meta.levels == lz4_meta.levels
    assert zstd_meta.compressed_size == len(zstd_blob) < len(lz4_blob)
    assert zstd_meta.ratio < lz4_meta.ratio
    quick = HierarchicalMemoryCompressor(NOW, codec="zstd", level=1)
    assert quick.level == 1
    assert decompress_memory_hierarchy(quick.compress_memory_hierarchy(items)[0]) == (
        decompress_memory_hierarchy(zstd_blob)
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"codec": "gzip"}, {"codec": "zstd", "level": 0}, {"level": 17}, {"level": "9"}],
    ids=value_id,
)
def test_bad_codec_options_fail_at_construction(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        HierarchicalMemoryCompressor(NOW, **kwargs)


def test_malformed_bundles_raise_corrupted() -> None:
    blob, _ = compress_memory_hierarchy([item("a", timedelta(hours=2))], now=NOW)
    bad = [b"", b"garbage", blob[:-1], blob[:30], blob[:60] + bytes([blob[60] ^ 0xFF]) + blob[61:]]
    for data in bad:
        with pytest.raises(CorruptedMemoryError):
            decompress_memory_hierarchy(data)
    with pytest.raises(ValidationError):  # (no bytes at all: the caller's mistake)
        decompress_memory_hierarchy("text")  # type: ignore[arg-type]
    # well-formed bundles holding the wrong shape
    for payload in (
        [1, 2],
        {"format": "other"},
        {"format": "memcore.hierarchy", "version": 99},
        {"format": "memcore.hierarchy", "version": 1, "level1": [1], "level2": [], "level3": [],
         "level4": ["", 0, None, None], "compressed_at": NOW},
        {"format": "memcore.hierarchy", "version": 1, "level1": [], "level2": [["a"]],
         "level3": [], "level4": ["", 0, None, None], "compressed_at": NOW},
        {"format": "memcore.hierarchy", "version": 1, "level1": [], "level2": [],
         "level3": [[[], "", NOW, NOW]], "level4": ["", 0, None, None], "compressed_at": NOW},
        {"format": "memcore.hierarchy", "version": 1, "level1": [], "level2": [], "level3": [],
         "level4": ["", 2, None, None], "compressed_at": NOW},
    ):  # fmt: skip
        with pytest.raises(CorruptedMemoryError):
            decompress_memory_hierarchy(codec.encode_bundle(payload))


def test_empty_and_bad_items() -> None:
    blob, meta = compress_memory_hierarchy([], now=NOW)
    bundle = decompress_memory_hierarchy(blob)
    assert meta.levels == {"level1": 0, "level2": 0, "level3": 0, "level4": 0}
    assert bundle.level4.time_range is None
    with pytest.raises(ValidationError):
        compress_memory_hierarchy([{"content": "no id"}], now=NOW)
    mapped, _ = compress_memory_hierarchy(
        [{"id": "m", "content": "hi", "created_at": NOW}], now=NOW
    )
    assert decompress_memory_hierarchy(mapped).level1.items[0].id == "m"


# --- summaries that never mislead, and agent sessions -------------------------------------------

STEPS = [
    "Opened the checkout service and read cart.py to see how totals are computed.",
    "The rounding bug was a float sum in cart_total(); switched it to Decimal.",
    "Ran pytest tests/test_cart.py and all 12 tests pass now.",
    "Updated CHANGELOG.md with the fix for the cart rounding issue.",
]


def test_summaries_follow_the_session_not_the_store_order() -> None:
    # a store hands items back in key order (record UUIDs): summaries still read in time order
    h = timedelta(hours=1)
    keys = ["f3", "a1", "c9", "07"]
    items = [
        MemoryItem(key, text, "normal", NOW - (400 - 10 * k) * h)
        for k, (key, text) in enumerate(zip(keys, STEPS, strict=True))
    ]
    by_key = sorted(items, key=lambda i: i.id)
    compressor = HierarchicalMemoryCompressor(NOW, ratios=(0.5, 0.2, 1.0))
    oldest = compressor.compress(by_key).level4
    positions = [oldest.summary.find(step) for step in STEPS]
    assert all(p >= 0 for p in positions)
    assert positions == sorted(positions)
    level2 = HierarchicalMemoryCompressor(NOW, thresholds=(0, 1000, 2000)).compress(by_key)
    assert [e.id for e in level2.level2.items] == keys


def test_no_group_summary_is_empty_even_when_a_plugged_summarizer_says_nothing() -> None:
    class Silent:
        def summarize(self, text: str, ratio: float) -> str:
            return ""

        def summarize_group(self, texts: Sequence[str], ratio: float) -> str:
            return ""

    h = timedelta(hours=1)
    items = [item(f"g{k}", (30 + k) * h) for k in range(3)] + [item("old", 500 * h)]
    items.append(MemoryItem("note", "Fix cart rounding.", "high", NOW - 30 * h))
    bundle = HierarchicalMemoryCompressor(NOW, summarizer=Silent()).compress(items)
    assert bundle.level3.groups
    assert all(group.summary.strip() for group in bundle.level3.groups)
    assert bundle.level4.summary.strip()
    (note,) = bundle.level2.items
    assert note.summary == "Fix cart rounding."  # not "s", not ""


def test_a_short_high_priority_note_is_kept_whole_at_level_2() -> None:
    notes = [
        MemoryItem("n1", "Fix cart rounding.", "high", NOW - timedelta(days=3)),
        MemoryItem("n2", "Ship on Friday.", "high", NOW - timedelta(hours=2)),
    ]
    bundle = HierarchicalMemoryCompressor(NOW).compress(notes)
    assert [e.summary for e in bundle.level2.items] == ["Fix cart rounding.", "Ship on Friday."]


def agent_item(
    ident: str, text: str, kind: str, age: timedelta, role: str = "assistant", **meta: Any
) -> MemoryItem:
    metadata = {"source": "claude-code", "kind": kind, "role": role, "session": "s1", **meta}
    return MemoryItem(ident, text, "normal", NOW - age, metadata)


def agent_session(days: int = 10) -> list[MemoryItem]:
    base = timedelta(days=days)
    minute = timedelta(minutes=1)
    dump = "\n".join(f"    line {k}: value = compute_{k}(x) + offset" for k in range(120))
    return [
        agent_item("u1", "Fix the rounding bug in cart_total()", "task", base, role="user"),
        agent_item(
            "r1",
            f"Read cart.py\n{dump}",
            "tool_result",
            base - minute,
            role="user",
            tool="Read",
            file_path="src/shop/cart.py",
        ),
        agent_item(
            "sc1",
            "<task-notification> <task-id>b1</task-id> <status>completed</status>",
            "fact",
            base - 2 * minute,
            role="user",
        ),
        agent_item("sc2", "[Request interrupted by user]", "fact", base - 3 * minute, role="user"),
        agent_item(
            "a1",
            "The bug was a float sum in cart_total(); I switched it to Decimal.",
            "fact",
            base - 4 * minute,
            statement="conclusion",
        ),
        agent_item(
            "b1",
            "Bash pytest tests/test_cart.py: 12 passed",
            "tool_result",
            base - 5 * minute,
            role="user",
            tool="Bash",
            command="pytest tests/test_cart.py",
            exit_code=0,
        ),
    ]


def test_an_agent_sessions_oldest_level_is_its_digest() -> None:
    items = agent_session()
    bundle = HierarchicalMemoryCompressor(NOW, ratios=(0.5, 0.2, 0.3)).compress(items)
    summary = bundle.level4.summary
    assert summary
    assert not summary.startswith("Read cart.py")  # not the first text, not the file dump
    assert "line 7: value" not in summary
    assert "cart_total" in summary
    assert "<task-notification" not in summary
    assert "[Request interrupted" not in summary
    # the scaffolding reaches no summary: one level-3 group lists it and says what it is
    (group,) = bundle.level3.groups
    assert set(group.ids) == {"sc1", "sc2"}
    assert "scaffolding" in group.summary
    assert "<task" not in group.summary
    assert bundle.levels == {"level1": 0, "level2": 0, "level3": 2, "level4": 4}


def test_scaffolding_is_kept_out_of_level_2_summaries() -> None:
    items = agent_session(days=0)
    bundle = HierarchicalMemoryCompressor(NOW + timedelta(hours=3)).compress(items)
    assert {e.id for e in bundle.level2.items} == {"u1", "r1", "a1", "b1"}
    for entry in bundle.level2.items:
        assert entry.summary
        assert "<task-notification" not in entry.summary
        assert "[Request interrupted" not in entry.summary


def test_a_short_request_is_kept_whole_at_level_2() -> None:
    request = "can you update the prior comments on the PR as well"
    items = [agent_item("u1", request, "task", timedelta(hours=3), role="user")]
    (entry,) = HierarchicalMemoryCompressor(NOW).compress(items).level2.items
    assert entry.summary == request
