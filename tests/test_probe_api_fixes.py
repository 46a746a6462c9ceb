"""What a probe of the library's API broke, each held here (both twins: CI runs this file with
``MEMCORE_NO_EXTENSIONS=1`` too).

* a map key of a type no decoder takes (an ``int`` in nested metadata) made a bundle that
  compressed fine and never decompressed: now refused when written;
* ``LazySession`` trusted a record's deletion flag unchecked: one flipped bit hid a live item;
* an ``access_count`` past a float's range broke ``handle_context_overflow`` with a bare
  ``OverflowError``;
* ``warm_start`` counted each earlier session's first access as following the last one's.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from memcore import codec
from memcore.compression import HierarchicalMemoryCompressor, decompress_memory_hierarchy
from memcore.errors import CorruptedMemoryError, NotFoundError, ValidationError
from memcore.lazy import LazySession
from memcore.model import MemoryItem, Priority
from memcore.overflow import SessionState, handle_context_overflow, item_value
from memcore.prefetch import PredictiveMemoryPrefetcher
from memcore.stores import Entry, Snapshot, encode_entry

ODD_KEYS: list[Any] = [42, 1.5, True, None, (1, 2)]


@pytest.mark.parametrize("key", ODD_KEYS, ids=repr)
def test_a_map_key_no_decoder_takes_is_refused_when_written(key: Any) -> None:
    item = MemoryItem("a", "text", Priority.CRITICAL, metadata={"by_line": {key: "x"}})
    with pytest.raises(ValidationError, match="map keys must be str or bytes"):
        HierarchicalMemoryCompressor().compress_memory_hierarchy([item])
    for value in ({"outer": [{key: 1}]}, [item], item):
        with pytest.raises(ValidationError, match="map keys must be str or bytes"):
            codec.packb(value)
        with pytest.raises(ValidationError, match="map keys must be str or bytes"):
            codec.encode_bundle(value)
        with pytest.raises(ValidationError):
            encode_entry(Entry(value, 1, "r", False))


def test_str_and_bytes_keys_still_round_trip() -> None:
    value = {"s": {b"raw": 1, "text": [{"deep": {"k": None}}]}}
    assert codec.unpackb(codec.packb(value)) == value
    item = MemoryItem("a", "text " * 20, Priority.CRITICAL, metadata={"lines": {"42": "x"}})
    blob, _ = HierarchicalMemoryCompressor().compress_memory_hierarchy([item])
    assert decompress_memory_hierarchy(blob).level1.items[0].metadata == {"lines": {"42": "x"}}


def _flag_flipped(record: bytes) -> bytes:
    """``record`` with its live deletion flag (the byte before the XXH64) turned to a
    tombstone's: its checksum no longer matches."""
    live = encode_entry(Entry("x", 1, "r", False))
    tomb = encode_entry(Entry(None, 1, "r", True))
    assert live[-9] != tomb[-9]
    assert record[-9] == live[-9]
    damaged = bytearray(record)
    damaged[-9] = tomb[-9]
    return bytes(damaged)


def test_a_live_record_whose_flag_was_flipped_is_listed_and_its_read_says_corrupted() -> None:
    records = {
        "k0": encode_entry(Entry(MemoryItem("k0", "zero"), 1, "r", False)),
        "k1": _flag_flipped(encode_entry(Entry(MemoryItem("k1", "one"), 2, "r", False))),
        "gone": encode_entry(Entry(None, 3, "r", True)),
    }
    view = LazySession("s", Snapshot(3, records, None))
    assert sorted(view) == ["k0", "k1"]
    assert len(view) == 2
    assert "k1" in view
    with pytest.raises(CorruptedMemoryError):
        view["k1"]
    assert view["k0"].content == "zero"
    with pytest.raises(NotFoundError):
        view["gone"]


@pytest.mark.parametrize("uses", [10**400, float("inf"), 2**63, float("nan"), True, -5])
def test_any_access_count_is_valued_without_error(uses: Any) -> None:
    items = [
        MemoryItem(f"n{i}", f"Note {i} about cart.py and the value {i * 13}. " * 3)
        for i in range(10)
    ]
    items[0] = MemoryItem("n0", items[0].content, metadata={"access_count": uses})
    value = item_value(items[0], items[0].created_at)
    assert math.isfinite(value)
    state = SessionState(list(items), token_budget=20)
    handle_context_overflow(state)
    assert state.token_count() <= 20


def test_warm_start_learns_each_earlier_session_as_a_stream_of_its_own() -> None:
    prefetcher = PredictiveMemoryPrefetcher()
    prefetcher.record_access("s", "own:first")
    assert prefetcher.warm_start("s", [["file:x", "file:y"], ["cmd:p", "cmd:q"]] * 3) == 12
    counts = prefetcher.export_counts("s")
    assert "cmd:p" not in counts.get("file:y", {})  # no pair across two sessions' boundary
    assert "file:x" not in counts.get("cmd:q", {})
    assert "file:x" not in counts.get("own:first", {})  # nor from this session's own access
    assert counts["file:x"] == {"file:y": 3}
    assert [item for item, _ in prefetcher.predict_next_accesses("s", "file:x")][:1] == ["file:y"]
    prefetcher.record_access("s", "own:next")  # follows nothing learned
    assert "own:next" not in prefetcher.export_counts("s").get("cmd:q", {})
