"""The MCP server's ``recall`` on a project of saved Claude Code sessions.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_mcp.py --benchmark-only -q``.
The project: the seven real sessions of one project in ``../shared/data/claude-code/``, saved by
the hooks, copied ``COPIES`` times under other session ids (a project some months old), and the
same queries of one to three words. Side by side: ``recall`` as the server runs it (one index
of the project kept between calls, brought up to date by the sessions that changed), and the
same call with an index built afresh for it (what every call cost before the index was kept:
each session decoded and every item tokenized again). Both sync every session first, as each
call must. ``test_recall_kept_and_fresh_alternated`` alternates the two in one run and puts
their medians and ratio in ``extra_info``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from benchmarks.test_bench_hooks import BIG, DATA, PROJECT, Place, _payload
from memcore.claude_code.hooks import run_hook
from memcore.claude_code.mcp_server import MemoryService
from memcore.claude_code.project_recall import ProjectRecall
from memcore.model import MemoryItem
from memcore.search import item_text
from memcore.stores import open_store

COPIES = 4
QUERIES = ("checkpoint rewind", "git hooks", "session state file", "attribution", "lint")

pytestmark = [
    pytest.mark.skipif(not (DATA / BIG).is_file(), reason="the shared transcripts are not here"),
    pytest.mark.benchmark(group="mcp recall", warmup=False),
]


def _project_sessions() -> list[Path]:
    chosen = []
    for path in sorted(DATA.glob("entireio__cli__*.jsonl")):
        cwd = next((json.loads(line).get("cwd") for line in path.open() if '"cwd"' in line), None)
        if cwd == PROJECT:
            chosen.append(path)
    return chosen


@pytest.fixture(scope="module")
def project_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url, folder = Place(tmp_path_factory.mktemp("mcp")).fresh()
    for copy in range(COPIES):
        for path in _project_sessions():
            session = f"copy{copy}-{path.stem.rsplit('__', 1)[-1]}"
            lines = []
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if isinstance(record, dict) and "sessionId" in record:
                    record["sessionId"] = session
                lines.append(json.dumps(record))
            transcript = folder / f"{session}.jsonl"
            transcript.write_text("\n".join(lines) + "\n")
            run_hook("session-end", _payload("SessionEnd", session, transcript), store_url=url)
    return url


@pytest.fixture
def served(project_url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, MemoryService]]:
    loop = asyncio.new_event_loop()
    service = MemoryService(open_store(project_url), PROJECT)
    loop.run_until_complete(service.recall("warm"))  # the first call syncs every session in
    yield loop, service
    loop.run_until_complete(service.close())
    loop.run_until_complete(service.store.close())
    loop.close()


def _caller(
    loop: asyncio.AbstractEventLoop, service: MemoryService, fresh: bool
) -> Callable[[], None]:
    queries = iter(QUERIES * 10_000)

    def call() -> None:
        if fresh:
            service._recall = ProjectRecall()  # the rebuild per call that this replaced
        assert loop.run_until_complete(service.recall(next(queries)))

    return call


def test_recall_kept_index(benchmark: Any, served: tuple[Any, MemoryService]) -> None:
    benchmark.pedantic(_caller(*served, fresh=False), rounds=30, iterations=1, warmup_rounds=1)


def test_recall_fresh_index_per_call(benchmark: Any, served: tuple[Any, MemoryService]) -> None:
    benchmark.pedantic(_caller(*served, fresh=True), rounds=10, iterations=1, warmup_rounds=1)


def test_recall_kept_and_fresh_alternated(
    benchmark: Any, served: tuple[Any, MemoryService]
) -> None:
    loop, service = served
    kept_call, fresh_call = _caller(loop, service, False), _caller(loop, service, True)
    kept: list[float] = []
    fresh: list[float] = []

    def both() -> None:
        start = time.perf_counter()
        fresh_call()
        middle = time.perf_counter()
        kept_call()
        fresh.append(middle - start)
        kept.append(time.perf_counter() - middle)

    benchmark.group = "mcp recall-alternated"
    benchmark.pedantic(both, rounds=15, iterations=1, warmup_rounds=1)
    kept_ms, fresh_ms = statistics.median(kept) * 1e3, statistics.median(fresh) * 1e3
    benchmark.extra_info.update(
        items=len(service._recall),
        kept_median_ms=round(kept_ms, 3),
        fresh_median_ms=round(fresh_ms, 3),
        fresh_to_kept=round(fresh_ms / kept_ms, 2),
    )
    assert len(kept) == len(fresh) >= 1  # (one round under --benchmark-disable)


_T = TypeVar("_T")


def _traced(make: Callable[[], _T]) -> tuple[_T, int]:
    """What ``make()`` returns, and the bytes still allocated for it once it returned."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = make()
        return made, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_recall_index_built_and_the_memory_it_holds(
    benchmark: Any, served: tuple[Any, MemoryService]
) -> None:
    """A build of the project's index from nothing (timed), and what it keeps (traced, beside
    the text it indexes and the decoded items it held until the twentieth session: it now
    keeps each value's hash and decodes its hits)."""
    loop, service = served
    sessions = loop.run_until_complete(service._project_sessions())
    manager = service.manager

    def build() -> ProjectRecall:
        recall = ProjectRecall()
        recall.refresh(manager, sessions)
        return recall

    benchmark.pedantic(build, rounds=5, iterations=1, warmup_rounds=1)
    recall, held = _traced(build)
    items, decoded = _traced(lambda: [manager.state(name) for name in sessions])
    text = sum(
        len(item_text(MemoryItem.coerce(value)).encode())
        for state in items
        for value in state.values()
    )
    benchmark.extra_info.update(
        items=len(recall),
        index_mb=round(held / 2**20, 2),
        text_mb=round(text / 2**20, 2),
        index_to_text=round(held / text, 2),
        decoded_items_mb=round(decoded / 2**20, 2),
    )
    assert len(recall) > 0
