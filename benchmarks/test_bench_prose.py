"""The prose kernels, compiled (``c``) and pure (``py``: the regular expressions that define
them, run by ``re``), side by side on the agent's own lines of a real development session:
what a digest reads in every sentence (names, conclusions, the sentence walk) and in every
line its greedy weighs (the echo check's names and words).

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_prose.py --benchmark-only -q``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from memcore.claude_code import parse_transcript

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"
SESSION = DATA / "entireio__cli__847ff7d2.jsonl"
STOP = frozenset(["a", "an", "and", "i", "in", "is", "it", "of", "the", "to", "was", "with"])

pytestmark = pytest.mark.skipif(not SESSION.is_file(), reason="development transcripts not present")


@cache
def _texts() -> list[str]:
    """The agent's replies, thinking and reports in the session (what ``statements`` reads)."""
    items = parse_transcript(SESSION).items
    return [i.content for i in items if i.metadata.get("kind") in ("fact", "thinking", "summary")]


@cache
def _lines() -> list[str]:
    """Their non-blank lines, cut as digest lines are (what the echo check reads)."""
    return [line.strip()[:300] for text in _texts() for line in text.splitlines() if line.strip()]


def test_echo_names(benchmark: Any, prose_impl: ModuleType) -> None:
    benchmark.group = "prose-echo_names"
    lines, names = _lines(), prose_impl.echo_names
    found = benchmark(lambda: [names(line, None) for line in lines])
    assert len(found) == len(lines) > 500
    assert any(found)


def test_stemmed_words(benchmark: Any, prose_impl: ModuleType) -> None:
    benchmark.group = "prose-stemmed_words"
    lines, words = _lines(), prose_impl.stemmed_words
    found = benchmark(lambda: [words(line, STOP, True, False) for line in lines])
    assert len(found) == len(lines)
    assert all("the" not in w for w in found)


def test_find_names(benchmark: Any, prose_impl: ModuleType) -> None:
    benchmark.group = "prose-find_names"
    lines, find = _lines(), prose_impl.find_names
    found = benchmark(lambda: [find(line) for line in lines])
    assert any(found)


def test_statement_sentences(benchmark: Any, prose_impl: ModuleType) -> None:
    benchmark.group = "prose-statement_sentences"
    texts, walk = _texts(), prose_impl.statement_sentences
    found = benchmark(lambda: [walk(text, False, False, set()) for text in texts])
    assert sum(map(len, found)) > 50
