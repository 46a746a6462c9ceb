"""Bundle size against the naive design (pickle + zlib level 6) across session sizes.

For 100 to 3000 standard-library notes, prints the size of memcore's bundle with each frame codec
(at its default level) over the size of the naive design's ``zlib.compress(pickle.dumps(...), 6)``
of the same four levels (same summaries, so only the packing differs). Sizes are deterministic:
no timing here. Run: ``python benchmarks/bundle_size.py``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.naive_pipeline import naive_compress
from memcore.compression import HierarchicalMemoryCompressor
from memcore.demo_corpus import stdlib_notes
from memcore.frames import FRAME_CODECS

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
SIZES = (100, 200, 400, 800, 1600, 3000)


def main() -> int:
    print("| notes | naive (pickle + zlib 6) | " + " | ".join(FRAME_CODECS) + " |")
    print("|---|---|" + "---|" * len(FRAME_CODECS))
    for n in SIZES:
        items = stdlib_notes(n, seed=1, now=NOW)
        naive = len(naive_compress(items, NOW))
        cells = []
        for name in FRAME_CODECS:
            blob, _ = HierarchicalMemoryCompressor(NOW, codec=name).compress_memory_hierarchy(items)
            cells.append(f"{len(blob):,} B ({len(blob) / naive:.3f}x)")
        print(f"| {n} | {naive:,} B | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
