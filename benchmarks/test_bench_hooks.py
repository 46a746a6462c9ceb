"""The Claude Code hooks on the user's critical path, on a real 3 MB transcript.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_hooks.py --benchmark-only -q``.
Side by side in one run: ``json.loads`` of every line of the transcript (what any reader must
at least do), a save of the fresh transcript (parse, diff against the store, one commit, digest,
registry), an incremental save after the session went on by 40 records, a save of a transcript
that has not changed (the ``stop`` hook after every turn), and ``session-start`` of a new session
of a project with seven saved sessions. The ``process`` cases run the real ``memcore hook``
command (interpreter start and imports included) beside ``python -c "import memcore"``, both
with memcore's bytecode compiled beforehand, as an installed package has it (``pip`` compiles
it; with ``PYTHONDONTWRITEBYTECODE`` set, as on CI machines, every process would otherwise
compile every module it imports again). Targets (issue 12): start under 300 ms, a fresh 3 MB
save under 500 ms, an incremental one much less.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from memcore.claude_code import project_dir_name
from memcore.claude_code.hooks import run_hook

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"
PROJECT = "/Users/soph/Work/entire/devenv/cli"
BIG = "entireio__cli__0276a600.jsonl"  # 2.9 MB, a session of PROJECT
GROWTH = 40  # records the session grows by between two saves

pytestmark = [
    pytest.mark.skipif(not (DATA / BIG).is_file(), reason="the shared transcripts are not here"),
    pytest.mark.benchmark(group="hooks", warmup=False),
]


def _session_of(path: Path) -> str:
    for line in path.open():
        record = json.loads(line)
        if isinstance(record, dict) and record.get("sessionId"):
            return str(record["sessionId"])
    raise AssertionError(path)


class Place:
    """A fresh store and Claude Code projects folder per round."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.round = 0

    def fresh(self) -> tuple[str, Path]:
        self.round += 1
        where = self.root / f"round-{self.round}"
        (where / project_dir_name(PROJECT)).mkdir(parents=True)
        return f"sqlite:///{where / 'memory.db'}", where / project_dir_name(PROJECT)

    @staticmethod
    def copy(folder: Path, source: str, lines: int | None = None) -> tuple[Path, str]:
        session = _session_of(DATA / source)
        target = folder / f"{session}.jsonl"
        if lines is None:
            shutil.copyfile(DATA / source, target)
        else:
            target.write_bytes(b"".join((DATA / source).read_bytes().splitlines(True)[:lines]))
        return target, session


def _payload(event: str, session: str, transcript: Path | None) -> str:
    data = {"session_id": session, "cwd": PROJECT, "hook_event_name": event, "source": "startup"}
    if transcript is not None:
        data["transcript_path"] = str(transcript)
    return json.dumps(data)


def _save(url: str, session: str, transcript: Path) -> None:
    err = io.StringIO()
    run_hook("session-end", _payload("SessionEnd", session, transcript), store_url=url, err=err)
    assert err.getvalue() == "", err.getvalue()


@pytest.fixture
def place(tmp_path: Path) -> Place:
    return Place(tmp_path)


@pytest.fixture(autouse=True)
def parse_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process saves parse in this process: one that forks a child for it (a hook's own
    process does, ``memcore.claude_code.parse_ahead``) could only do so while this process had
    no other thread, which its first save ends. The ``process`` cases run real hooks, which do."""
    monkeypatch.setattr("memcore.claude_code.parse_ahead.AHEAD_BYTES", 1 << 40)


def _pedantic(
    benchmark: Callable[..., object],
    target: Callable[..., object],
    setup: Callable[[], object],
    rounds: int = 5,
) -> None:
    benchmark.pedantic(target, setup=setup, rounds=rounds, iterations=1)  # type: ignore[attr-defined]


def test_parse_json_lines_baseline(benchmark: Callable[..., object]) -> None:
    raw = (DATA / BIG).read_bytes().splitlines()
    benchmark(lambda: [json.loads(line) for line in raw])


def test_save_fresh_transcript(benchmark: Callable[..., object], place: Place) -> None:
    def setup() -> tuple[tuple[str, str, Path], dict[str, object]]:
        url, folder = place.fresh()
        transcript, session = place.copy(folder, BIG)
        return (url, session, transcript), {}

    _pedantic(benchmark, _save, setup)


def test_save_incremental(benchmark: Callable[..., object], place: Place) -> None:
    total = len((DATA / BIG).read_bytes().splitlines())

    def setup() -> tuple[tuple[str, str, Path], dict[str, object]]:
        url, folder = place.fresh()
        transcript, session = place.copy(folder, BIG, total - GROWTH)
        _save(url, session, transcript)
        shutil.copyfile(DATA / BIG, transcript)  # the session went on
        return (url, session, transcript), {}

    _pedantic(benchmark, _save, setup)


def test_save_unchanged(benchmark: Callable[..., object], place: Place) -> None:
    url, folder = place.fresh()
    transcript, session = place.copy(folder, BIG)
    _save(url, session, transcript)
    benchmark(_save, url, session, transcript)


def _project_with_sessions(place: Place) -> str:
    url, folder = place.fresh()
    for path in sorted(DATA.glob("entireio__cli__*.jsonl")):
        first = json.loads(path.open().readline() or "{}")
        cwd = next(
            (json.loads(line).get("cwd") for line in path.open() if '"cwd"' in line),
            first.get("cwd"),
        )
        if cwd == PROJECT:
            transcript, session = place.copy(folder, path.name)
            _save(url, session, transcript)
    return url


def test_session_start(benchmark: Callable[..., object], place: Place) -> None:
    url = _project_with_sessions(place)
    payload = _payload("SessionStart", "new-session", None)

    def start() -> None:
        out = io.StringIO()
        run_hook("session-start", payload, store_url=url, out=out)
        assert "additionalContext" in out.getvalue()

    benchmark(start)


def _memcore() -> list[str]:
    script = Path(sys.executable).parent / "memcore"
    return [str(script)] if script.exists() else [sys.executable, "-m", "memcore"]


_ENV: dict[str, str] = {}  # the processes' environment, set by the ``installed`` fixture


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose processes find memcore's bytecode compiled (in a cache of their
    own, ``PYTHONPYCACHEPREFIX``), as they do after ``pip install``."""
    import memcore

    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path_factory.mktemp("pycache"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    package = Path(memcore.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], env=env, check=True)
    _ENV.clear()
    _ENV.update(env)
    return env


def _hook_process(event: str, url: str, payload: str) -> tuple[str, str]:
    """Run ``memcore hook EVENT`` as Claude Code does: a new process, the payload on stdin."""
    assert _ENV, "the installed fixture sets the processes' environment"
    done = subprocess.run(
        [*_memcore(), "hook", event, "--store", url],
        env=_ENV,
        input=payload,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout, done.stderr


def test_process_python_import_baseline(
    benchmark: Callable[..., object], installed: dict[str, str]
) -> None:
    benchmark.pedantic(  # type: ignore[attr-defined]
        subprocess.run,
        args=([sys.executable, "-c", "import memcore"],),
        kwargs={"check": True, "env": installed},
        rounds=5,
    )


@pytest.mark.usefixtures("installed")
def test_process_session_start(benchmark: Callable[..., object], place: Place) -> None:
    url = _project_with_sessions(place)
    payload = _payload("SessionStart", "new-session", None)

    def start() -> None:
        out, err = _hook_process("session-start", url, payload)
        assert "additionalContext" in out, err

    benchmark.pedantic(start, rounds=5, iterations=1)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("installed")
def test_process_save_fresh_transcript(benchmark: Callable[..., object], place: Place) -> None:
    def setup() -> tuple[tuple[str], dict[str, object]]:
        url, folder = place.fresh()
        transcript, session = place.copy(folder, BIG)
        return (json.dumps([url, _payload("SessionEnd", session, transcript)]),), {}

    def save(packed: str) -> None:
        url, payload = json.loads(packed)
        assert _hook_process("session-end", url, payload) == ("", "")

    _pedantic(benchmark, save, setup)


#: Rounds of the alternated comparison of hook processes.
PROCESS_ROUNDS = 8
_T = TypeVar("_T")


@pytest.mark.usefixtures("installed")
def test_process_hooks_alternated(benchmark: Callable[..., object], place: Place) -> None:
    """Round by round: ``python -c "import memcore"``, a ``session-start`` process, a process
    saving a fresh copy of the 3 MB transcript, and a ``stop`` process saving the 40 records the
    session grew by since its last save (what Claude Code runs after every turn), each timed by
    ``perf_counter``, so that a machine whose speed changes from one second to the next slows
    them all alike (the separate process benchmarks above drift apart by a third on a noisy
    machine). ``extra_info`` has each one's median and the hooks' ratios to the import."""
    import statistics
    import time

    url = _project_with_sessions(place)
    start = _payload("SessionStart", "new-session", None)
    baseline = [sys.executable, "-c", "import memcore"]
    times: dict[str, list[float]] = {"import": [], "start": [], "fresh": [], "incremental": []}
    total = len((DATA / BIG).read_bytes().splitlines())

    def timed(name: str, run: Callable[[], _T]) -> _T:
        began = time.perf_counter()
        done = run()
        times[name].append(time.perf_counter() - began)
        return done

    def one_round() -> None:
        save_url, folder = place.fresh()
        transcript, session = place.copy(folder, BIG)
        save = _payload("SessionEnd", session, transcript)
        timed("import", lambda: subprocess.run(baseline, env=_ENV, check=True))
        out, err = timed("start", lambda: _hook_process("session-start", url, start))
        assert "additionalContext" in out, err
        assert timed("fresh", lambda: _hook_process("session-end", save_url, save)) == ("", "")
        grown_url, folder = place.fresh()
        transcript, session = place.copy(folder, BIG, total - GROWTH)
        _save(grown_url, session, transcript)  # (in this process: not timed)
        shutil.copyfile(DATA / BIG, transcript)  # the session went on
        stop = _payload("Stop", session, transcript)
        assert timed("incremental", lambda: _hook_process("stop", grown_url, stop)) == ("", "")

    benchmark.pedantic(one_round, rounds=PROCESS_ROUNDS, iterations=1)  # type: ignore[attr-defined]
    medians = {name: statistics.median(values) for name, values in times.items()}
    benchmark.extra_info.update(  # type: ignore[attr-defined]
        {f"{name}_median_ms": round(value * 1e3, 1) for name, value in medians.items()}
    )
    benchmark.extra_info.update(  # type: ignore[attr-defined]
        start_to_import=round(medians["start"] / medians["import"], 3),
        fresh_save_to_import=round(medians["fresh"] / medians["import"], 3),
        incremental_stop_to_import=round(medians["incremental"] / medians["import"], 3),
    )
