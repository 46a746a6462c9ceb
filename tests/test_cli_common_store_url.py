"""A store URL Python's URL parser cannot split (``redis://[::1``: "Invalid IPv6 URL") is a bad
argument in memcore's words, exit 2: given as ``--store`` argparse said "invalid store_url
value", and given in the older ``URL SESSION`` form it was a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--store", "redis://[::1"], "argument --store: invalid store URL 'redis://[::1'"),
        (["redis://[::1"], "invalid store URL 'redis://[::1'"),
        (
            ["--store", "redis://u:secret@[::1"],
            "argument --store: invalid store URL 'redis://u:***@[::1'",
        ),
    ],
)
def test_an_unsplittable_store_url_is_a_usage_error(
    args: list[str], said: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "memcore", "inspect", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"memcore inspect: error: {said}: Invalid IPv6 URL (see `memcore inspect --help`)"
    ]
    assert "secret" not in done.stderr
