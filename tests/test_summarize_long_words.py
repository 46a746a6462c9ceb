"""A summary's lead is bounded: when a text's first words are themselves longer than its budget
(a base64 blob, minified JSON: one "word" of megabytes), the summary is their start cut to the
budget with an ellipsis, not the whole blob (a level-4 summary at ratio 0.05 held 20x its
budget: the whole text)."""

from __future__ import annotations

import base64
import random
import unicodedata
from datetime import datetime, timedelta, timezone
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.compression import HierarchicalMemoryCompressor, decompress_memory_hierarchy
from memcore.model import MemoryItem
from memcore.summarize import ELLIPSIS, SHORT_NOTE_TOKENS, ExtractiveSummarizer
from memcore.tokens import count_tokens

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
BLOB = base64.b64encode(random.Random(7).randbytes(60_000)).decode()


def _limit(summarizer: ExtractiveSummarizer, text: str, ratio: float) -> int:
    return max(int(summarizer.count(text) * ratio), SHORT_NOTE_TOKENS)


@pytest.mark.parametrize(
    "text",
    [BLOB, "Attached: " + BLOB + " end.", "a" * 20_000, "\U0001f600" * 5_000, "e\u0301" * 4_000],
    ids=["base64", "after-a-word", "one-letter", "emoji", "combining"],
)
@pytest.mark.parametrize("ratio", [0.05, 0.2, 0.5])
def test_a_long_first_word_is_cut_to_the_budget(
    pipeline_impl: ModuleType, text: str, ratio: float
) -> None:
    summarizer = ExtractiveSummarizer(kernels=pipeline_impl)
    summary = summarizer.summarize(text, ratio)
    assert summary.endswith(ELLIPSIS)
    assert summarizer.count(summary) <= _limit(summarizer, text, ratio)
    assert text.startswith(summary[: -len(ELLIPSIS)])
    kept = summary[: -len(ELLIPSIS)]
    assert kept.strip()
    assert not unicodedata.combining(text[len(kept)])  # a letter keeps its marks


def test_the_twins_cut_alike() -> None:
    from memcore._pure import pipeline as pure

    native = pytest.importorskip("memcore._native.pipeline")
    for text in (BLOB, "x" * 9_999, "Attached: " + BLOB):
        assert ExtractiveSummarizer(kernels=native).summarize(text, 0.1) == ExtractiveSummarizer(
            kernels=pure
        ).summarize(text, 0.1)


@settings(max_examples=40, deadline=None)
@given(
    st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=200, max_size=3000),
    st.floats(0.01, 1.0),
)
def test_a_one_word_text_never_summarizes_past_its_limit(word: str, ratio: float) -> None:
    summarizer = ExtractiveSummarizer()
    summary = summarizer.summarize(word, ratio)
    if summarizer.count(word.strip()) <= SHORT_NOTE_TOKENS:
        assert summary == word.strip()  # a short note is kept whole
    else:
        assert summarizer.count(summary) <= _limit(summarizer, word, ratio)


def test_ordinary_notes_keep_their_first_words() -> None:
    note = "Read " + " ".join(f"/src/pkg/module{k}.py" for k in range(30))
    summary = ExtractiveSummarizer().summarize(note, 0.05)
    assert summary.split()[:2] == ["Read", "/src/pkg/module0.py"]


def test_bundle_summaries_of_a_blob_stay_near_their_ratio() -> None:
    items = [
        MemoryItem("day", BLOB, "normal", NOW - timedelta(hours=5)),
        MemoryItem("old", "Attached dump: " + BLOB, "normal", NOW - timedelta(days=30)),
    ]
    blob, meta = HierarchicalMemoryCompressor(NOW).compress_memory_hierarchy(items)
    bundle = decompress_memory_hierarchy(blob)
    assert count_tokens(bundle.level2.items[0].summary) <= count_tokens(BLOB) // 2
    assert count_tokens(bundle.level4.summary) <= int(count_tokens(items[1].content) * 0.05)
    assert meta.compressed_size < meta.original_size


#: Characters drawn with several code points: a family (members joined by zero-width
#: joiners), a flag (a pair of regional indicators), a skin-toned hand, a keycap, the rainbow
#: flag (variation selector and joiner), and a Devanagari syllable whose vowel sign is a
#: spacing mark (combining class 0).
_CLUSTERS = [
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\U0001f1eb\U0001f1f7",
    "\U0001f44b\U0001f3fd",
    "1\ufe0f\u20e3",
    "\U0001f3f3\ufe0f\u200d\U0001f308",
    "\u0915\u093f",
]


@pytest.mark.parametrize(
    "cluster", _CLUSTERS, ids=["family", "flag", "tone", "keycap", "rainbow", "devanagari"]
)
@pytest.mark.parametrize("lead", ["", "Deploy "])
@pytest.mark.parametrize("ratio", [0.05, 0.2, 0.5])
def test_a_cut_lead_keeps_each_drawn_character_whole(
    pipeline_impl: ModuleType, cluster: str, lead: str, ratio: float
) -> None:
    # (a family cut to its first members and a dangling joiner, half a flag: a character the
    # source never held, as the level-2 and level-3 summaries of such notes were)
    text = lead + cluster * 400
    summary = ExtractiveSummarizer(kernels=pipeline_impl).summarize(text, ratio)
    kept = summary[: -len(ELLIPSIS)]
    assert summary.endswith(ELLIPSIS)
    assert text.startswith(kept)
    assert len(kept) > len(lead)
    assert (len(kept) - len(lead)) % len(cluster) == 0


def test_a_first_character_longer_than_the_budget_is_kept_whole() -> None:
    from memcore.graphemes import cluster_cut, first_cluster_end

    family = _CLUSTERS[0]
    assert cluster_cut(family * 2, 3) == 0
    assert first_cluster_end(family * 2) == len(family)
    assert cluster_cut("\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 3) == 2
