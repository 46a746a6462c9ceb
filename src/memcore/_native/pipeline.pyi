"""Type stub of the compiled pipeline kernels; the pure twin ``memcore._pure.pipeline`` matches."""

from __future__ import annotations

from collections.abc import Sequence

from memcore._native.grouping import group_similar as group_similar
from memcore._native.grouping import hamming as hamming
from memcore._native.grouping import simhash as simhash
from memcore._native.partition import partition_levels as partition_levels
from memcore._native.text import count_tokens as count_tokens
from memcore._native.text import fact_tokens as fact_tokens
from memcore._native.text import split_sentences as split_sentences
from memcore._native.text import tokenize_words as tokenize_words

def score_sentences(text: str, spans: Sequence[tuple[int, int]]) -> list[float]: ...
def pick_sentences(text: str, budget: int) -> list[tuple[int, int, bool]]: ...
