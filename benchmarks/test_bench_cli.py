"""The ``memcore`` command's start: the commands a user types to look at memory, as processes.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_cli.py --benchmark-only -q``.
Round by round, beside ``python -c "import memcore"`` (what any use of memcore pays): ``memcore
--version``, and ``search``, ``sessions`` and ``digest`` on a store holding the seven saved
sessions of one project (the real transcripts of ``../shared/data/claude-code/``), each timed by
``perf_counter`` so that a change in the machine's speed slows them all alike. ``extra_info``
has each one's median and its ratio to the import. The bytecode is compiled beforehand, as an
installed package has it (``test_bench_hooks.installed``).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.test_bench_hooks import (
    BIG,
    DATA,
    Place,
    _memcore,
    _project_with_sessions,
    _session_of,
    installed,
    parse_in_process,
)

pytestmark = [
    pytest.mark.skipif(not (DATA / BIG).is_file(), reason="the shared transcripts are not here"),
    pytest.mark.benchmark(group="cli", warmup=False),
]

# the fixtures, found by pytest in this module's namespace (``parse_in_process``, autouse:
# the saves that fill the store run in this process, which must not fork)
__all__ = ["installed", "parse_in_process"]

#: Rounds of the alternated comparison.
ROUNDS = 8


def test_commands_alternated(
    benchmark: Callable[..., object], tmp_path: Path, installed: dict[str, str]
) -> None:
    """One round: the import, then each command, each a new process."""
    url = _project_with_sessions(Place(tmp_path))
    session = _session_of(DATA / BIG)[:8]
    commands = {
        "import": [sys.executable, "-c", "import memcore"],
        "version": [*_memcore(), "--version"],
        "search": [*_memcore(), "search", "checkpoint attribution", "--store", url],
        "sessions": [*_memcore(), "sessions", "--store", url],
        "digest": [*_memcore(), "digest", session, "--store", url, "--budget", "1000"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}

    def one_round() -> None:
        for name, argv in commands.items():
            began = time.perf_counter()
            done = subprocess.run(argv, env=installed, capture_output=True, text=True)
            times[name].append(time.perf_counter() - began)
            assert (done.returncode, done.stderr) == (0, ""), (name, done.stderr)
            assert name == "import" or done.stdout.strip(), name

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)  # type: ignore[attr-defined]
    medians = {name: statistics.median(values) for name, values in times.items()}
    benchmark.extra_info.update(  # type: ignore[attr-defined]
        {f"{name}_median_ms": round(value * 1e3, 1) for name, value in medians.items()}
    )
    benchmark.extra_info.update(  # type: ignore[attr-defined]
        {
            f"{name}_to_import": round(value / medians["import"], 3)
            for name, value in medians.items()
            if name != "import"
        }
    )
