"""A session digest against reading the session: ``session_digest`` of every development Claude
Code session over 2 MB, compiled (``c``) and pure (``py``), beside ``json.loads`` of the same
file's lines (one benchmark group per session).

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_digest.py --benchmark-only -q``. The
issue's bar: the digest of a 2 MB session takes less time than parsing its JSON lines, on every
such session, not one chosen. The items are imported once, outside the timing (the import is the
hooks' job, done as the session grows); the digest's budget is 2,000 tokens, the hook's default.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import memcore.digest_lines
import memcore.digest_prose
from memcore.claude_code import parse_transcript
from memcore.digest import session_digest
from memcore.model import MemoryItem

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"
#: "A 2 MB session": every development transcript larger than this is timed.
MIN_BYTES = 2_000_000
BUDGET = 2000
SESSIONS = (
    sorted(p.name for p in DATA.glob("*.jsonl") if p.stat().st_size > MIN_BYTES)
    if DATA.is_dir()
    else []
)

pytestmark = pytest.mark.skipif(not SESSIONS, reason="development transcripts not present")


@cache
def _lines(name: str) -> list[bytes]:
    return (DATA / name).read_bytes().splitlines()


@cache
def _items(name: str) -> list[MemoryItem]:
    return parse_transcript(DATA / name).items


def _group(name: str) -> str:
    return f"digest-{name.removesuffix('.jsonl')}"


@pytest.mark.parametrize("session", SESSIONS)
def test_json_loads_of_the_lines(benchmark: Any, session: str) -> None:
    benchmark.group = _group(session)
    lines = _lines(session)
    records = benchmark(lambda: [json.loads(line) for line in lines if line.strip()])
    assert len(records) > 400  # every such session has hundreds of records


@pytest.mark.parametrize("session", SESSIONS)
def test_session_digest(
    benchmark: Any,
    session: str,
    pipeline_impl: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    benchmark.group = _group(session)
    items = _items(session)
    # the digest's kernels, from the same twin as ``pipeline_impl`` (compiled or pure)
    prose_impl = importlib.import_module(pipeline_impl.__name__.rsplit(".", 1)[0] + ".prose")
    monkeypatch.setattr(memcore.digest_lines, "pipeline", pipeline_impl)
    for module in (memcore.digest_lines, memcore.digest_prose):
        monkeypatch.setattr(module, "prose", prose_impl)
    digest = benchmark(lambda: session_digest(items, BUDGET, counter=pipeline_impl.count_tokens))
    assert 0 < digest.tokens <= BUDGET
