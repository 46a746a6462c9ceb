"""A ``stop`` hook on a very long session, beside reading its transcript: the save after a turn
reads only the new records, and learns back from the stored items (the ``RESUME_ITEMS`` written
last) what the records before knew.

The session: the development transcripts' records as one session of one project (about 30 MB,
6,600 items: more than the ``RESUME_ITEMS`` a save learns from). Side by side in one run:
``json.loads`` of every line of it, and a ``stop`` that reads on over the last 40 records from
where a save of the rest stopped (in process, on SQLite; each round on a copy of that store).

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_hooks_long.py --benchmark-only -q``.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from memcore.claude_code import project_dir_name
from memcore.claude_code.hooks import RESUME_ITEMS, run_hook

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"
SESSION = "11111111-2222-4333-8444-555555555555"
PROJECT = "/home/user/project"
GROWTH = 40  # records the session grows by between two saves

pytestmark = [
    pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here"),
    pytest.mark.benchmark(group="hooks on a long session", warmup=False),
]


def _one_session() -> list[bytes]:
    """Every main transcript's records, in turn, as records of one session of PROJECT."""
    lines = []
    for path in sorted(DATA.glob("*.jsonl")):
        if "agent-" in path.name:
            continue
        for raw in path.read_bytes().splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            for key, value in (("sessionId", SESSION), ("cwd", PROJECT)):
                if key in record:
                    record[key] = value
            lines.append(json.dumps(record).encode() + b"\n")
    return lines


class LongSession:
    """The transcript at its one path, and a store saved up to ``GROWTH`` records before its
    end (copied afresh for each round: a save changes the store it saves into)."""

    def __init__(self, root: Path) -> None:
        self.lines = _one_session()
        folder = root / "projects" / project_dir_name(PROJECT)
        folder.mkdir(parents=True)
        self.transcript = folder / f"{SESSION}.jsonl"
        self.template = root / "saved"
        self.template.mkdir()
        self.transcript.write_bytes(b"".join(self.lines[:-GROWTH]))
        self.hook("session-end", f"sqlite:///{self.template / 'memory.db'}")
        self.rounds = 0
        self.root = root

    def hook(self, event: str, url: str) -> None:
        payload = {"session_id": SESSION, "transcript_path": str(self.transcript), "cwd": PROJECT}
        err = io.StringIO()
        run_hook(event, json.dumps(payload), store_url=url, out=io.StringIO(), err=err)
        assert err.getvalue() == "", err.getvalue()

    def grown(self) -> tuple[tuple[str], dict[str, object]]:
        """A copy of the saved store, and the transcript with its last turn written."""
        self.rounds += 1
        store = self.root / f"round-{self.rounds}"
        shutil.copytree(self.template, store)
        self.transcript.write_bytes(b"".join(self.lines))
        return (f"sqlite:///{store / 'memory.db'}",), {}


@pytest.fixture(scope="module")
def long_session(tmp_path_factory: pytest.TempPathFactory) -> LongSession:
    return LongSession(tmp_path_factory.mktemp("long"))


def test_parse_json_lines_of_the_long_session(
    benchmark: Callable[..., object], long_session: LongSession
) -> None:
    lines = long_session.lines
    benchmark.pedantic(  # type: ignore[attr-defined]
        lambda: [json.loads(line) for line in lines], rounds=3, iterations=1
    )


def test_stop_after_a_turn_of_the_long_session(
    benchmark: Callable[..., object], long_session: LongSession
) -> None:
    benchmark.pedantic(  # type: ignore[attr-defined]
        lambda url: long_session.hook("stop", url), setup=long_session.grown, rounds=5
    )
    benchmark.extra_info.update(  # type: ignore[attr-defined]
        records=len(long_session.lines), resume_items=RESUME_ITEMS
    )
