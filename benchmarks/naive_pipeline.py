"""The naive design the pipeline is measured against: the same four levels built in plain Python
with the pure summarizer, then ``zlib.compress(pickle.dumps(state), 6)``.

Pickle is fine here only because this is a benchmark baseline that unpickles nothing; memcore
itself never pickles.
"""

from __future__ import annotations

import pickle
import zlib
from datetime import datetime
from typing import Any

from memcore._pure import pipeline as pure_pipeline
from memcore.model import MemoryItem, Priority
from memcore.summarize import ExtractiveSummarizer, group_similar_texts


def naive_compress(items: list[MemoryItem], now: datetime) -> bytes:
    """The naive design: plain-Python partition and summaries, then pickle + zlib level 6."""
    summarizer = ExtractiveSummarizer(kernels=pure_pipeline)
    levels: list[list[MemoryItem]] = [[], [], [], []]
    for item in items:
        hours = (now - item.created_at).total_seconds() / 3600
        if item.priority is Priority.CRITICAL or hours < 1:
            levels[0].append(item)
        elif item.priority is Priority.HIGH or hours < 24:
            levels[1].append(item)
        elif hours < 168:
            levels[2].append(item)
        else:
            levels[3].append(item)
    level3 = []
    for members in group_similar_texts([i.content for i in levels[2]], kernels=pure_pipeline):
        chosen = [levels[2][k] for k in members]
        summary = summarizer.summarize_group([i.content for i in chosen], 0.2)
        stamps = [i.created_at for i in chosen]
        level3.append(([i.id for i in chosen], summary, min(stamps), max(stamps)))
    stamps4 = [i.created_at for i in levels[3]]
    state: dict[str, Any] = {
        "level1": [i.to_dict() for i in levels[0]],
        "level2": [
            (i.id, summarizer.summarize(i.content, 0.5), i.metadata, i.created_at)
            for i in levels[1]
        ],
        "level3": level3,
        "level4": (
            summarizer.summarize_group([i.content for i in levels[3]], 0.05),
            len(levels[3]),
            min(stamps4) if stamps4 else None,
            max(stamps4) if stamps4 else None,
        ),
    }
    return zlib.compress(pickle.dumps(state), 6)
