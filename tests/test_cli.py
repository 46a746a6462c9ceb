"""The ``memcore`` command line against a temporary ``$MEMCORE_HOME``: its commands, help and
usage, clear one-line errors, and the process itself (``python -m memcore``, a closed stdout).
The commands' work against a store is ``test_cli_workflows.py``'s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.cli import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_USAGE, build_parser, main
from tests.cli_support import (  # noqa: F401  (the fixture store_url)
    assert_one_line_error,
    run_cli,
    store_url_fixture,
)

#: Who builds the modules these tests also exercise (H5's wiring sits on top of them).
SUBCOMMANDS = [
    "import-claude-code",
    "demo",
    "inspect",
    "compress",
    "decompress",
    "verify",
    "backup",
    "recover",
    "bench",
    "migrate-redis",
]


def test_every_subcommand_is_registered() -> None:
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert choices is not None
    assert set(SUBCOMMANDS) <= set(choices)  # other families add theirs


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_on_every_subcommand(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: memcore {command}")


def test_top_level_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in SUBCOMMANDS:
        assert command in out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys)
    assert code == EXIT_USAGE
    assert "COMMAND" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["frobnicate"], "invalid choice"),
        (["compress", "memory://", "s"], "-o/--output"),
        (["backup"], "required: SESSION"),
        (["recover", "--store", "memory://"], "required: SESSION"),
        (["inspect", "memory://", "s", "t"], "one session at most"),
        (["inspect", "memory://", "--store", "memory://"], "give the store once"),
        (["compress", "s", "-o", "x.mcz", "--level", "99"], "level must be in 0..16"),
        (["compress", "s", "-o", "x.mcz", "--codec", "zstd", "--level", "0"], "1..22"),
        (["demo", "--notes", "0"], "must be positive"),
        (["demo", "--notes", "2"], "must be 3 or more (got 2)"),
        (["demo", "--notes", "many"], "not a whole number"),
        (["bench", "--rounds", "-3"], "must be positive"),
    ],
)
def test_bad_arguments_are_one_clear_line(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, *args)
    assert code == EXIT_USAGE
    assert_one_line_error(err, needle)
    assert "--help" in err


@pytest.mark.parametrize("command", [["inspect"], ["search", "x"], ["demo"], ["mcp"]])
def test_a_redis_store_without_the_redis_package_is_one_line(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL is checked as the command line is read: a missing package is said there, in
    one line that says what to install (it was a traceback)."""
    for name in ("redis", "redis.asyncio"):  # (importing them raises ImportError)
        monkeypatch.setitem(sys.modules, name, None)
    code, _, err = run_cli(capsys, *command, "--store", "redis://127.0.0.1:6379/0")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "-m pip install 'redis>=5' (the [redis] extra)")


@pytest.mark.parametrize(
    "where", ["notes.txt", "empty.jsonl", "a-folder"], ids=["no-jsonl", "empty", "folder"]
)
def test_demo_on_transcripts_that_hold_nothing_is_an_error(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--transcripts PATH`` that holds no record is said, not run on the standard library's
    notes instead (nor a traceback from a session too small to edit three items of)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "empty.jsonl").touch()
    (tmp_path / "a-folder").mkdir()
    code, out, err = run_cli(capsys, "demo", "--store", "memory://", "--transcripts", where)
    assert code == EXIT_ERROR
    assert_one_line_error(err, f"no Claude Code transcript with any record under {where}")
    assert out == ""


def test_demo_on_a_transcript_of_two_items_says_it_needs_three(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {
            "type": "user",
            "sessionId": "s",
            "uuid": f"u{n}",
            "timestamp": f"2026-01-01T00:00:0{n}Z",
            "cwd": "/p",
            "message": {"role": "user", "content": f"request number {n}"},
        }
        for n in range(2)
    ]
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, _, err = run_cli(capsys, "demo", "--store", "memory://", "--transcripts", str(path))
    assert code == EXIT_ERROR
    assert_one_line_error(err, "the demo needs at least 3 items")


@pytest.mark.parametrize(
    ("args", "prog"),
    [
        (["bench", "--bogus"], "memcore bench"),
        (["search", "x", "y", "--zz"], "memcore search"),
        (["--bogus"], "memcore"),
    ],
)
def test_unknown_arguments_are_said_by_their_command(
    args: list[str], prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command the arguments were given to says so, and points to its own ``--help``."""
    code, _, err = run_cli(capsys, *args)
    assert code == EXIT_USAGE
    assert_one_line_error(err, "unrecognized arguments")
    assert err.startswith(f"{prog}: error:")
    assert f"`{prog} --help`" in err


def test_missing_bundle_file_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "decompress", str(tmp_path / "nope.mcz"))
    assert code == EXIT_ERROR
    assert_one_line_error(err, "No such file or directory")
    assert "nope.mcz" in err


def test_missing_transcripts_path_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "import-claude-code", str(tmp_path / "missing"))
    assert code == EXIT_ERROR
    assert_one_line_error(err, "no such transcript file or folder")


def test_no_transcripts_anywhere_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "import-claude-code", str(tmp_path / "empty"))
    assert code == EXIT_ERROR
    assert_one_line_error(err, "no Claude Code transcripts")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert out.startswith("memcore 0.1.0 (")


def test_python_dash_m_runs_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "MEMCORE_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "memcore", "decompress", str(tmp_path / "missing.mcz")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == EXIT_ERROR
    assert_one_line_error(proc.stderr, "memcore decompress: error:")


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from memcore.compression import compress_memory_hierarchy
    from memcore.demo_corpus import stdlib_notes

    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    bundle = tmp_path / "big.mcz"
    bundle.write_bytes(compress_memory_hierarchy(stdlib_notes(800, 1, now), now=now)[0])
    env = {**os.environ, "MEMCORE_HOME": str(tmp_path)}
    proc = subprocess.Popen(  # `memcore decompress --json big.mcz | head -c 100`
        [sys.executable, "-m", "memcore", "decompress", "--json", str(bundle)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert len(proc.stdout.read(100)) == 100
    proc.stdout.close()  # far more than a pipe buffer is still to come
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert err == ""


def _to_a_closed_stdout(command: list[str], unbuffered: bool, home: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["MEMCORE_HOME"] = str(home)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = subprocess.run(
        [sys.executable, "-m", "memcore", *command],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=env,
        timeout=60,
        check=False,
    )
    os.close(write_end)
    return proc.returncode, proc.stderr.decode()


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", ["--version", "digest"])
def test_a_short_output_to_a_closed_stdout_is_not_an_error(
    command: str, unbuffered: bool, tmp_path: Path
) -> None:
    """``memcore --version | true``: the reader is gone before the line is written. A short
    output waits in stdout's buffer (unless ``PYTHONUNBUFFERED``): its flush must still end
    the command quietly (141), not in the interpreter's "Exception ignored" (120)."""
    from tests.claude_code_support import DATA

    if command == "digest" and not DATA.is_dir():
        pytest.skip("the development transcripts are not here")
    args = (
        ["--version"]
        if command == "--version"
        else ["digest", str(DATA / "obsessiondb__chkit__17a79690.jsonl"), "--budget", "150"]
    )
    assert _to_a_closed_stdout(args, unbuffered, tmp_path) == (EXIT_BROKEN_PIPE, "")


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_help_to_a_closed_stdout_ends_quietly(unbuffered: bool, tmp_path: Path) -> None:
    """argparse writes help and ignores a write that fails (exit 0); buffered, the write is
    memcore's flush, which says the reader went away (141): quiet either way, never 120."""
    code, err = _to_a_closed_stdout(["--help"], unbuffered, tmp_path)
    assert code == (0 if unbuffered else EXIT_BROKEN_PIPE)
    assert err == ""


def test_backup_of_a_missing_store_file_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "backup", "nosuch://x", "s1")
    assert code != 0
    assert_one_line_error(err, "unknown store URL")


def test_compress_unknown_session_is_one_clear_line(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "compress", store_url, "nobody", "-o", str(tmp_path / "x"))
    assert code == EXIT_ERROR
    assert_one_line_error(err, "no memcore store at")  # nothing was ever stored there
    from memcore.stores.sqlite import parse_sqlite_url

    assert not Path(parse_sqlite_url(store_url)[0]).exists()
    assert not (tmp_path / "x").exists()


def test_corrupted_bundle_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.mcz"
    bad.write_bytes(b"definitely not a memcore bundle")
    code, _, err = run_cli(capsys, "decompress", str(bad))
    assert code == EXIT_ERROR
    assert_one_line_error(err, "memcore decompress: error:")


def test_bad_store_url_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "inspect", "ftp://example/whatever")
    assert code == EXIT_USAGE  # a bad argument, said before anything runs
    assert_one_line_error(err, "memcore inspect: error:")


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", "--store", "sqlit:///x.db"],
        ["search", "words", "--store", "sqlite:///x.db?timeout=abc"],
        ["search", "words", "--session", "bad/name"],
        ["digest", "bad/name"],
        ["import-claude-code", "/nonexistent", "--session", "bad/name"],
        ["import-claude-code", "/nonexistent", "--session", "bad/name", "--dry-run"],
    ],
    ids=" ".join,
)
def test_a_bad_store_url_or_session_id_is_a_usage_error_said_first(
    argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Exit 2 (bad arguments, as the README says), one line, before any transcript is read or
    store opened: the transcript path here does not even exist."""
    code, out, err = run_cli(capsys, *argv)
    assert code == EXIT_USAGE
    assert out == ""
    assert_one_line_error(err, f"memcore {argv[0]}: error:")
    assert "no such" not in err.lower()
    assert not list(tmp_path.iterdir())


def test_a_folder_given_as_the_store_is_named_as_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "inspect", "--store", f"sqlite:///{tmp_path}")
    assert code == EXIT_ERROR
    assert_one_line_error(err, "is a folder")


@pytest.mark.parametrize(
    ("command", "shown"),
    [("inspect", "[SESSION]"), ("verify", "[SESSION]"), ("digest", "[SESSION]"),
     ("backup", "SESSION"), ("recover", "SESSION"), ("compress", "SESSION")],
)  # fmt: skip
def test_usage_shows_the_one_session_a_command_takes(
    command: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not ``[SESSION ...]``: a second session is refused ("one session at most")."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert "..." not in usage
    assert usage.rstrip().endswith(shown) or f" {shown} " in usage or f" {shown}\n" in usage
