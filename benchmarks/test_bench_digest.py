"""A session digest against reading the session: ``session_digest`` of every development Claude
Code session over 2 MB, compiled (``c``) and pure (``py``), beside ``json.loads`` of the same
file's lines (one benchmark group per session).

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_digest.py --benchmark-only -q``. The
issue's bar: the digest of a 2 MB session takes less time than parsing its JSON lines, on every
such session, not one chosen. Beside the two timed apart, ``test_digest_and_parse_alternated``
times them in turn, a parse then a digest each round, and gives both medians and their ratio
(``extra_info``): on a shared machine whose speed drifts between the two apart, the alternated
ratio is the one the drift does not move. The items are imported once, outside the timing (the
import is the hooks' job, done as the session grows); the digest's budget is 2,000 tokens, the
hook's default. ``c`` is the compiled build: the Cython kernels and the rules compiled by mypyc;
``py`` the pure one. ``test_compiled_and_pure_rules_alternated`` sets the rules' two builds side
by side, both with the compiled kernels.
"""

from __future__ import annotations

import importlib
import json
import statistics
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import memcore.digest
from memcore._kernels import RULES_PACKAGE
from memcore.claude_code import parse_lines, parse_transcript
from memcore.digest import KERNEL_USERS, session_digest
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


def _use_kernels(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """The digest's twins from ``package`` (``memcore._native`` or ``memcore._pure``): its
    kernels (``memcore.digest.KERNEL_USERS``) and its rules (compiled by mypyc, or the Python
    modules: ``memcore.digest.engine``)."""
    if package == "memcore._native":
        engine = importlib.import_module(f"{RULES_PACKAGE}.digest_engine")
    else:
        engine = importlib.import_module("memcore.digest_engine")
        for name, families in KERNEL_USERS:
            module = importlib.import_module(name)
            for family in families:
                monkeypatch.setattr(module, family, importlib.import_module(f"{package}.{family}"))
    monkeypatch.setattr(memcore.digest, "_ENGINE", [engine])


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
    _use_kernels(monkeypatch, pipeline_impl.__name__.rsplit(".", 1)[0])
    digest = benchmark(lambda: session_digest(items, BUDGET, counter=pipeline_impl.count_tokens))
    assert 0 < digest.tokens <= BUDGET


#: Rounds of the alternated comparison (a parse and a digest each).
ALTERNATED_ROUNDS = 30


#: Parts of sessions no compaction summarized, over 1 MB: the part of each development
#: session before its first compaction, or a whole session never compacted. Every 2 MB session
#: of the development set was compacted, and a digest builds the lines of a part its
#: compaction summarized only when room is left: these time the digest of what it reads whole.
MIN_PART_BYTES = 1_000_000
_COMPACTED = b'"isCompactSummary":true'


@cache
def _part_lines(name: str) -> list[bytes]:
    """The lines of ``name`` before its first compaction summary (all of them, when none)."""
    lines = _lines(name)
    cut = next((i for i, line in enumerate(lines) if _COMPACTED in line.replace(b" ", b"")), None)
    return lines if cut is None else lines[:cut]


PARTS = (
    sorted(
        p.name
        for p in DATA.glob("*.jsonl")
        if sum(len(line) for line in _part_lines(p.name)) > MIN_PART_BYTES
    )
    if DATA.is_dir()
    else []
)


@pytest.mark.parametrize(
    ("part", "session"), [("whole", s) for s in SESSIONS] + [("uncompacted", s) for s in PARTS]
)
def test_digest_and_parse_alternated(
    benchmark: Any,
    part: str,
    session: str,
    native_kernels: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One round: ``json.loads`` of the lines, then the compiled digest (what is timed as a whole
    is the pair); each is also timed alone, and their medians and ratio go in ``extra_info``.
    ``whole``: a session over 2 MB; ``uncompacted``: the part of a session before its first
    compaction (``PARTS``), parsed and imported alone."""
    compiled = native_kernels("pipeline")
    _use_kernels(monkeypatch, compiled.__name__.rsplit(".", 1)[0])
    if part == "whole":
        benchmark.group = f"{_group(session)}-alternated"
        _alternate(benchmark, compiled, _lines(session), _items(session))
        return
    benchmark.group = f"{_group(session)}-uncompacted-alternated"
    lines = _part_lines(session)
    _alternate(benchmark, compiled, lines, parse_lines(lines, path=session).items)


def _alternate(
    benchmark: Any, compiled: ModuleType, lines: list[bytes], items: list[MemoryItem]
) -> None:
    """Time a parse of ``lines`` then a digest of ``items``, round after round (see above)."""
    parse: list[float] = []
    digest: list[float] = []

    def parse_then_digest() -> None:
        start = time.perf_counter()
        [json.loads(line) for line in lines if line.strip()]
        middle = time.perf_counter()
        session_digest(items, BUDGET, counter=compiled.count_tokens)
        parse.append(middle - start)
        digest.append(time.perf_counter() - middle)

    benchmark.pedantic(parse_then_digest, rounds=ALTERNATED_ROUNDS, iterations=1, warmup_rounds=2)
    parse_ms, digest_ms = statistics.median(parse) * 1e3, statistics.median(digest) * 1e3
    benchmark.extra_info.update(
        parse_median_ms=round(parse_ms, 3),
        digest_median_ms=round(digest_ms, 3),
        digest_to_parse=round(digest_ms / parse_ms, 3),
    )
    assert len(digest) == len(parse) >= 1  # (one round under --benchmark-disable)


@pytest.mark.parametrize("session", PARTS)
def test_compiled_and_pure_rules_alternated(
    benchmark: Any,
    session: str,
    native_kernels: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rules compiled by mypyc against the same rules in Python, both with the compiled
    kernels, a digest of each in turn on a part no compaction summarized (``PARTS``): their
    medians and ratio go in ``extra_info``."""
    count = native_kernels("pipeline").count_tokens
    benchmark.group = f"{_group(session)}-rules-alternated"
    items = parse_lines(_part_lines(session), path=session).items
    twins = {
        "compiled": importlib.import_module(f"{RULES_PACKAGE}.digest_engine"),
        "pure": importlib.import_module("memcore.digest_engine"),
    }
    times: dict[str, list[float]] = {name: [] for name in twins}
    made: dict[str, str] = {}

    def both() -> None:
        for name, engine in twins.items():
            monkeypatch.setattr(memcore.digest, "_ENGINE", [engine])
            start = time.perf_counter()
            made[name] = session_digest(items, BUDGET, counter=count).text
            times[name].append(time.perf_counter() - start)

    benchmark.pedantic(both, rounds=ALTERNATED_ROUNDS, iterations=1, warmup_rounds=2)
    compiled_ms, pure_ms = (statistics.median(times[n]) * 1e3 for n in ("compiled", "pure"))
    benchmark.extra_info.update(
        compiled_median_ms=round(compiled_ms, 3),
        pure_median_ms=round(pure_ms, 3),
        compiled_to_pure=round(compiled_ms / pure_ms, 3),
    )
    assert made["compiled"] == made["pure"]
