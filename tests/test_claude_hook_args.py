"""``memcore hook``'s command line read without argparse: what it reads, argparse reads the same,
and what it does not read is left to argparse (help, mistakes, abbreviations)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memcore.claude_code.hook_args import REPORT_CHARS, one_report_line, parse_args, plain_args

WORDS = st.sampled_from(
    [
        "stop",
        "session-start",
        "pre-compact",
        "--store",
        "--store=sqlite:///tmp/m.db",
        "sqlite:///tmp/m.db",
        "redis://127.0.0.1:1/0",
        "--budget",
        "--budget=300",
        "300",
        "-5",
        "--sto",
        "--",
        "-h",
        "--store=",
        "x=y",
    ]
)


@given(argv=st.lists(WORDS, max_size=6))
def test_what_is_read_plainly_is_what_argparse_reads(argv: list[str]) -> None:
    plain = plain_args(argv)
    if plain is not None:
        assert plain == parse_args(argv)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["stop"], ("stop", None, "2000")),
        (
            ["session-start", "--store", "sqlite:///m.db"],
            ("session-start", "sqlite:///m.db", "2000"),
        ),
        (["--budget=300", "session-start"], ("session-start", None, "300")),
        (["stop", "--store=redis://h/0", "--budget", "10"], ("stop", "redis://h/0", "10")),
    ],
)
def test_the_installers_command_lines_are_read_plainly(
    argv: list[str], expected: tuple[str, str | None, str]
) -> None:
    assert plain_args(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [[], ["--help"], ["stop", "stop"], ["stop", "--sto", "x"], ["stop", "--budget", "-5"],
     ["stop", "--store", "a", "--store", "b"], ["--", "stop"]],
)  # fmt: skip
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert plain_args(argv) is None


def test_a_hook_process_imports_no_argparse() -> None:
    """A ``stop`` hook on an empty payload: argparse is never imported (nothing to do either)."""
    script = (
        "import sys\n"
        "sys.modules['argparse'] = None  # any import of it fails\n"
        "from memcore.cli import main\n"
        "main(['hook', 'stop', '--budget', '500'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input="",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("memcore hook stop: the hook payload is empty"), done.stderr


def test_a_hook_s_report_is_one_printable_line_whatever_the_payload_held() -> None:
    assert one_report_line("plain words") == "plain words"
    assert one_report_line("a\nb\x00c\td") == "a\\nb\\x00c\\td"
    long = one_report_line("memcore hook: " + "x" * 3_000_000)
    assert len(long) == REPORT_CHARS
    assert long.endswith("\u2026")
    # a real hook process, its payload's session id holding a newline and a NUL
    payload = '{"session_id": "a\\nb\\u0000c", "cwd": "relative/path"}'
    done = subprocess.run(
        [sys.executable, "-m", "memcore", "hook", "stop"],
        input=payload,
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
