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


def main() -> int:
    """Print fact retention of level-2 summaries of 800 standard-library notes, beside the
    baselines, and how many summaries are empty or over their budget (short notes kept whole)."""
    from datetime import datetime, timezone

    from memcore._pure import pipeline as pure
    from memcore.compression import HierarchicalMemoryCompressor
    from memcore.demo_corpus import stdlib_notes
    from memcore.summarize import ExtractiveSummarizer

    now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    items = stdlib_notes(800, seed=1, now=now)
    level2 = HierarchicalMemoryCompressor(now, kernels=pure).partition(items)[1]
    summarizer = ExtractiveSummarizer(kernels=pure)
    summaries = [summarizer.summarize(item.content, 0.5) for item in level2]
    over = sum(
        1
        for item, summary in zip(level2, summaries, strict=True)
        if pure.count_tokens(summary) > math.floor(pure.count_tokens(item.content) * 0.5)
    )
    ours = retention(level2, summarizer.summarize, 0.5, pure)
    lead = retention(level2, lambda t, r: lead_sentences(t, r, pure), 0.5, pure)
    words = retention(level2, lambda t, r: lead_words(t, r, pure), 0.5, pure)
    print(f"{len(level2)} level-2 notes, ratio 0.5")
    print(f"  extractive summaries  {ours:.1%} of facts kept")
    print(f"  lead sentences        {lead:.1%}")
    print(f"  first words           {words:.1%}")
    print(f"  empty summaries       {sum(1 for s in summaries if not s)}")
    print(f"  over the ratio        {over} (short notes kept whole, first words of longer ones)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
