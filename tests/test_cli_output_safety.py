"""What ``memcore`` prints is safe to print: a transcript's terminal escape sequences never reach
a terminal as such, a locale that cannot encode a character never ends a command in a
traceback, and closed standard streams are said (on stderr, never stdout) instead of crashing.

Each case runs the real command in a subprocess (a pty stands in for a terminal, ``sh -c``
closes descriptors) on a store made by importing a real transcript file under ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.cli import EXIT_ERROR, main
from tests.claude_code_support import SESSION, _assistant, _u, _user
from tests.cli_support import assert_one_line_error

#: OSC 52 (sets the clipboard), clear the screen, and CSI as one C1 character.
ESCAPES = "\x1b]52;c;ZWNobyBoaQ==\x07 \x1b[2J\x9b31m"
RAW = (b"\x1b", b"\x07", "\x9b".encode())
ASKED = f"start phoenix {ESCAPES} 测试 please"


@pytest.fixture(name="store")
def store_fixture(tmp_path: Path) -> str:
    """A store holding one imported Claude Code session whose request and answer carry
    escape sequences and Chinese; its transcript file is ``tmp_path/s.jsonl``."""
    records = [
        _user(_u(1), None, "2026-03-01T10:00:00.000Z", ASKED),
        _assistant(
            _u(2),
            _u(1),
            "2026-03-01T10:00:05.000Z",
            "msg_1",
            [{"type": "text", "text": f"Started phoenix {ESCAPES} 测试."}],
            10,
        ),
    ]
    transcript = tmp_path / "s.jsonl"
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    url = f"sqlite:///{tmp_path}/store.db"
    done = memcore(tmp_path, "import-claude-code", str(transcript), "--store", url)
    assert done.returncode == 0, done.stderr
    return url


def memcore(
    tmp_path: Path, *args: str, stdout: int | None = None, **env: str
) -> subprocess.CompletedProcess[bytes]:
    """``memcore ARGS`` run in ``tmp_path`` with ``env`` added to a private environment."""
    return subprocess.run(
        [sys.executable, "-m", "memcore", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, "MEMCORE_HOME": str(tmp_path / "home"), **env},
        timeout=120,
        check=False,
    )


def on_a_terminal(tmp_path: Path, *args: str) -> tuple[int, bytes]:
    """``memcore ARGS`` with a pty as stdout: its exit status and what the terminal got."""
    controller, terminal = pty.openpty()
    try:
        done = memcore(tmp_path, *args, stdout=terminal)
    finally:
        os.close(terminal)
    shown = b""
    try:
        while chunk := os.read(controller, 65536):
            shown += chunk
    except OSError:  # (EIO: the terminal's side is closed, all is read)
        pass
    finally:
        os.close(controller)
    return done.returncode, shown


def _shell(tmp_path: Path, command: str) -> subprocess.CompletedProcess[bytes]:
    """``sh -c COMMAND`` where ``$M`` is memcore (to close descriptors with ``>&-``)."""
    return subprocess.run(
        ["sh", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        env={
            **os.environ,
            "M": f"{sys.executable} -m memcore",
            "MEMCORE_HOME": str(tmp_path / "home"),
        },
        timeout=120,
        check=False,
    )


def escaped(text: str) -> str:
    """``text`` as a terminal is to get it: each control character but tab and newline as
    ``\\xNN``."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m[0]):02x}", text)


def assert_escaped(out: bytes) -> None:
    for raw in RAW:
        assert raw not in out, out
    assert b"\\x1b]52;c;ZWNobyBoaQ==\\x07 \\x1b[2J\\x9b31m" in out, out


# --- escape sequences ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["sessions"], ["search", "phoenix"], ["inspect", SESSION[:8]]],
    ids=["sessions", "search", "inspect"],
)
def test_previews_show_escape_sequences_escaped_even_into_a_pipe(
    tmp_path: Path, store: str, command: list[str]
) -> None:
    """``memcore search x | head`` reaches a terminal too: a preview (cut and flattened
    already, never exact data) has its control characters escaped wherever it goes."""
    done = memcore(tmp_path, *command, "--store", store)
    assert done.returncode == 0, done.stderr
    assert_escaped(done.stdout)
    assert "测试".encode() in done.stdout  # (only control characters are escaped)


@pytest.mark.parametrize("source", ["store", "file"])
def test_a_digest_is_exact_into_a_pipe_and_escaped_on_a_terminal(
    tmp_path: Path, store: str, source: str
) -> None:
    """In a file or a pipe a digest is its text byte for byte (another program reads it); on a
    terminal the sequences are shown, not obeyed."""
    args = ["digest", SESSION[:8], "--store", store] if source == "store" else ["digest", "s.jsonl"]
    piped = memcore(tmp_path, *args)
    assert piped.returncode == 0, piped.stderr
    assert ESCAPES.encode() in piped.stdout
    code, shown = on_a_terminal(tmp_path, *args)
    assert code == 0
    assert_escaped(shown)
    assert shown.replace(b"\r\n", b"\n") == escaped(piped.stdout.decode()).encode()


def test_an_error_naming_what_the_user_gave_shows_its_escapes(tmp_path: Path) -> None:
    done = memcore(tmp_path, "digest", f"no{ESCAPES}.jsonl")
    assert done.returncode == EXIT_ERROR
    assert_escaped(done.stderr)
    assert_one_line_error(done.stderr.decode(), "no transcript file at")


# --- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize(
    "command",
    [["sessions"], ["search", "测试"], ["search", "不在"], ["digest", SESSION[:8]]],
    ids=["sessions", "search", "search-nothing", "digest"],
)
def test_a_locale_that_cannot_encode_a_character_writes_it_escaped(
    tmp_path: Path, store: str, encoding: str, command: list[str]
) -> None:
    """``LC_ALL=en_US.ISO-8859-1 memcore sessions`` ended in a ``UnicodeEncodeError``
    traceback (``PYTHONIOENCODING`` stands in for the locale)."""
    done = memcore(tmp_path, *command, "--store", store, PYTHONIOENCODING=encoding)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    out = done.stdout.decode(encoding)
    assert "\\u6d4b\\u8bd5" in out or "\\u4e0d\\u5728" in out


def test_a_bundle_on_stdout_is_bytes_whatever_the_encoding(tmp_path: Path, store: str) -> None:
    from memcore.compression import decompress_memory_hierarchy

    args = ("compress", SESSION[:8], "--store", store, "-o", "-")
    done = memcore(tmp_path, *args, PYTHONIOENCODING="ascii")
    assert done.returncode == 0, done.stderr
    bundle = decompress_memory_hierarchy(done.stdout)  # (the bytes untouched by the escaping)
    assert {item.id for item in bundle.level1.items} | {e.id for e in bundle.level2.items}


def test_main_in_process_puts_the_streams_back(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``main`` escapes what stdout cannot encode for one command; the caller's streams are
    then as they were."""
    out, errors = sys.stdout, sys.stdout.errors
    assert main(["search", "phoenix", "--store", store]) == 0
    assert sys.stdout is out
    assert sys.stdout.errors == errors
    assert "\\x1b]52" in capsys.readouterr().out


# --- closed standard streams ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("$M compress --store {store} 3f2b -o - >&-", "stdout is closed"),
        ("$M inspect --store {store} >&-", "stdout is closed"),
        ("$M decompress - <&-", "stdin is closed"),
    ],
)
def test_a_closed_stream_a_command_needs_is_one_line(
    tmp_path: Path, store: str, command: str, said: str
) -> None:
    """``memcore compress S -o - >&-`` and ``memcore decompress - <&-`` ended in an
    ``AttributeError`` traceback; ``memcore inspect >&-`` said nothing and exited 0."""
    before = sorted(tmp_path.iterdir())
    done = _shell(tmp_path, command.format(store=store) + "; echo rc=$?")
    assert done.stdout == b"rc=1\n"
    assert_one_line_error(done.stderr.decode(), said)
    assert sorted(tmp_path.iterdir()) == before


def test_an_error_never_goes_to_stdout(tmp_path: Path, store: str) -> None:
    """With stderr closed, ``print(file=sys.stderr)`` wrote the error to stdout, which may be
    data."""
    done = _shell(tmp_path, f"$M inspect --store {store} nosuch 2>&-; echo rc=$?")
    assert done.stdout == b"rc=1\n"


def test_a_warning_with_stderr_closed_stays_off_stdout(tmp_path: Path, store: str) -> None:
    """A store-wide command's warning (a damaged record left out) is printed to
    ``sys.stderr``: with stderr closed it went to stdout, among the results."""
    import sqlite3

    with sqlite3.connect(store.removeprefix("sqlite:///")) as db:
        key, record = db.execute(
            "SELECT key, record FROM items WHERE session = ? ORDER BY key LIMIT 1", (SESSION,)
        ).fetchone()
        damaged = bytearray(record)
        damaged[len(damaged) // 2] ^= 0xFF
        db.execute(
            "UPDATE items SET record = ? WHERE session = ? AND key = ?",
            (bytes(damaged), SESSION, key),
        )
    done = _shell(tmp_path, f"$M search --store {store} phoenix 2>&-; echo rc=$?")
    lines = done.stdout.decode().splitlines()
    assert lines[-1] == "rc=0"
    assert len(lines) == 2, lines  # the one hit left, and nothing said of the other
    assert lines[0].startswith(SESSION)
