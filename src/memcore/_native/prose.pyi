"""Type stub of the compiled prose kernels; the pure twin ``memcore._pure.prose`` matches."""

from __future__ import annotations

import re

BULLET: re.Pattern[str]
Sentence = tuple[str, str, int, list[str], bool, bool, bool]

def find_identifiers(text: str) -> list[str]: ...
def concludes(text: str) -> bool: ...
def other_words(sentence: str) -> int: ...
def statement_sentences(
    content: str, needs_names: bool, spare: bool, seen: set[str]
) -> list[Sentence]: ...
