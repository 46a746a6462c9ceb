"""A session digest against reading the session: ``session_digest`` of a real 2.9 MB Claude Code
session, compiled (``c``) and pure (``py``), beside ``json.loads`` of the same file's lines.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_digest.py --benchmark-only -q``. The
issue's bar: the digest of a 2 MB session takes less time than parsing its JSON lines. The items
are imported once, outside the timing (the import is the hooks' job, done as the session grows);
the digest's budget is 2,000 tokens, the hook's default.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import memcore.digest_lines
import memcore.digest_prose
from memcore.claude_code import parse_transcript
from memcore.digest import session_digest
from memcore.model import MemoryItem

SESSION_FILE = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"
) / "obsessiondb__chkit__5f45db97.jsonl"
BUDGET = 2000

pytestmark = pytest.mark.skipif(
    not SESSION_FILE.is_file(), reason="development transcripts not present"
)


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return SESSION_FILE.read_bytes().splitlines()


@pytest.fixture(scope="module")
def items() -> list[MemoryItem]:
    return parse_transcript(SESSION_FILE).items


@pytest.mark.benchmark(group="digest-2.9MB-session")
def test_json_loads_of_the_lines(benchmark: Any, lines: list[bytes]) -> None:
    records = benchmark(lambda: [json.loads(line) for line in lines if line.strip()])
    assert len(records) > 500


@pytest.mark.benchmark(group="digest-2.9MB-session")
def test_session_digest(
    benchmark: Any,
    items: list[MemoryItem],
    pipeline_impl: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in (memcore.digest_lines, memcore.digest_prose):  # the digest's kernel users
        monkeypatch.setattr(module, "pipeline", pipeline_impl)
    digest = benchmark(lambda: session_digest(items, BUDGET, counter=pipeline_impl.count_tokens))
    assert 0 < digest.tokens <= BUDGET
