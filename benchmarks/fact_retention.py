"""Fact retention of summaries: the share of a source's facts (numbers, identifiers, paths, URLs,
error words, as ``pipeline.fact_tokens`` finds them) that a summary still holds.

The baseline is the lead-sentences summary: the source's first sentences, in order, up to the same
token budget the extractive summarizer gets. ``lead_words`` is a harder one: the source's first
words up to that budget, cut anywhere (what plain truncation keeps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from types import ModuleType

from memcore.model import MemoryItem


def lead_sentences(text: str, ratio: float, kernels: ModuleType) -> str:
    """The first sentences of ``text`` that fit ``ratio`` of its tokens."""
    budget = math.floor(kernels.count_tokens(text) * ratio)
    chosen: list[str] = []
    for start, end in kernels.split_sentences(text):
        candidate = " ".join([*chosen, text[start:end]])
        if kernels.count_tokens(candidate) > budget:
            break
        chosen.append(text[start:end])
    return " ".join(chosen)


def lead_words(text: str, ratio: float, kernels: ModuleType) -> str:
    """The longest run of ``text``'s first words that fits ``ratio`` of its tokens."""
    budget = math.floor(kernels.count_tokens(text) * ratio)
    words = text.split()
    lo, hi = 0, len(words)  # the most words that fit (counts grow with the prefix): bisect
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if kernels.count_tokens(" ".join(words[:mid])) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def retention(
    items: Sequence[MemoryItem],
    summarize: Callable[[str, float], str],
    ratio: float,
    kernels: ModuleType,
) -> float:
    """Share of all source facts (counted once per item) found among the summaries' facts."""
    total = 0
    kept = 0
    for item in items:
        facts = set(kernels.fact_tokens(item.content))
        if not facts:
            continue
        summary_facts = set(kernels.fact_tokens(summarize(item.content, ratio)))
        total += len(facts)
        kept += len(facts & summary_facts)
    return kept / total if total else 0.0
