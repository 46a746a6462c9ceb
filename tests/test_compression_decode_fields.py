"""A bundle's payload is checked field by field against what the compressor writes: a level-2
priority that is no priority's name, level-2 metadata keyed by bytes, a time range that ends
before it starts, a bool standing for a count or the version (``True == 1``) were all decoded
as if sound."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from memcore import codec
from memcore.compression import (
    FORMAT,
    HierarchicalMemoryCompressor,
    decompress_memory_hierarchy,
)
from memcore.errors import CorruptedMemoryError
from memcore.model import MemoryItem

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def payload(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "compressed_at": NOW,
        "level1": [],
        "level2": [],
        "level3": [],
        "level4": ["", 0, None, None],
    }
    base.update(fields)
    return base


BAD = {
    "level2 priority": payload(level2=[["a", "s", {}, NOW, "urgent"]]),
    "level2 bytes key": payload(level2=[["a", "s", {b"k": 1}, NOW, "normal"]]),
    "level3 reversed": payload(level3=[[["a"], "s", NOW, NOW - timedelta(days=1)]]),
    "level4 reversed": payload(level4=["s", 2, NOW, NOW - timedelta(days=1)]),
    "level4 bool count": payload(level4=["s", True, NOW, NOW]),
    "bool version": payload(version=True),
}


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize("frame", ["lz4", "zstd"])
def test_fields_the_compressor_never_writes_are_refused(name: str, frame: str) -> None:
    blob = codec.encode_bundle(BAD[name], codec=frame)  # type: ignore[arg-type]
    with pytest.raises(CorruptedMemoryError, match="malformed memory hierarchy bundle"):
        decompress_memory_hierarchy(blob)


def test_every_level_the_compressor_writes_still_decodes() -> None:
    items = [
        MemoryItem(f"i{k}", f"Note {k}: cart total off by {k} cents in /src/cart.py.", p, NOW - age)
        for k, (p, age) in enumerate(
            [
                ("critical", timedelta(days=40)),
                ("low", timedelta(minutes=5)),
                ("high", timedelta(days=3)),
                ("normal", timedelta(hours=5)),
                ("low", timedelta(days=3)),
                ("normal", timedelta(days=30)),
                ("low", timedelta(days=300)),
            ]
        )
    ]
    for frame in ("lz4", "zstd"):
        blob, meta = HierarchicalMemoryCompressor(NOW, codec=frame).compress_memory_hierarchy(items)
        bundle = decompress_memory_hierarchy(blob)
        assert (
            bundle.levels
            == meta.levels
            == {
                "level1": 2,
                "level2": 2,
                "level3": 1,
                "level4": 2,
            }
        )
        assert [entry.priority for entry in bundle.level2.items] == ["high", "normal"]
