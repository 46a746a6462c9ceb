"""A store URL Python's URL parser cannot split (``redis://[::1``: "Invalid IPv6 URL") is a bad
argument in memcore's words, exit 2: given as ``--store`` argparse said "invalid store_url
value", and given in the older ``URL SESSION`` form it was a traceback."""

from __future__ import annotations

import io
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


@pytest.mark.parametrize(
    ("url", "shown"),
    [("redis://[::1", "redis://[::1"), ("redis://u:secret@[::1", "redis://u:***@[::1")],
)
@pytest.mark.parametrize("event", ["session-start", "stop"])
def test_a_hook_and_the_library_name_the_unsplittable_url(url: str, shown: str, event: str) -> None:
    """The hook said only "memcore hook session-start: Invalid IPv6 URL" (``open_store``'s bare
    ``ValueError``); now it names the URL, its password masked, as the commands do (exit 0)."""
    from memcore.claude_code.hooks import run_hook
    from memcore.errors import ValidationError
    from memcore.stores import check_store_url, open_store

    said = f"invalid store URL {shown!r}: Invalid IPv6 URL"
    for opening in (open_store, check_store_url):
        with pytest.raises(ValidationError) as caught:
            opening(url)
        assert str(caught.value) == said
    out, err = io.StringIO(), io.StringIO()
    payload = '{"session_id": "s", "cwd": "/tmp", "transcript_path": "/tmp/s.jsonl"}'
    assert run_hook(event, payload, store_url=url, out=out, err=err) == 0
    assert (out.getvalue(), err.getvalue()) == ("", f"memcore hook {event}: {said}\n")
