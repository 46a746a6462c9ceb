"""The examples given bad arguments: one line on stderr and the ``memcore`` command's exit
statuses (1 for an error, 2 for a bad command line), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_support import assert_one_line_error
from tests.conftest import free_port

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MEMCORE_HOME": str(home)},
        check=False,
    )


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        (f"redis://127.0.0.1:{free_port()}/0", "redis connect failed"),  # nothing listening
        ("notaurl", "unknown store URL 'notaurl'"),
    ],
    ids=["nothing-listening", "not-a-store-url"],
)
def test_redis_example_with_a_bad_url_is_one_line(url: str, needle: str, tmp_path: Path) -> None:
    proc = run_example("shared_memory_redis.py", url, home=tmp_path)
    assert proc.returncode == 1
    assert_one_line_error(proc.stderr, f"shared_memory_redis.py: error: {needle}")
    assert proc.stdout == ""


@pytest.mark.parametrize("args", [["abc"], ["0"], ["-5"], ["1500", "extra"]])
def test_token_budget_example_with_a_bad_budget_is_a_usage_line(
    args: list[str], tmp_path: Path
) -> None:
    proc = run_example("token_budget.py", *args, home=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "usage: token_budget.py [BUDGET]")
    assert proc.stdout == ""
