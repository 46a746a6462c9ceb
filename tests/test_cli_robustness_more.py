"""More of the ``memcore`` command's robustness, each case a real process on real files:

* a Redis URL's timeouts (and redis-py's whole-number options) out of range are a usage error,
  and a ``ValidationError`` to a library user: ``socket_timeout=1e308`` waited forever on a
  server that does not answer, ``protocol=9`` ended in a traceback;
* ``--help`` with stdout closed (or full) is an error, as for every other command;
* a relative ``$XDG_DATA_HOME`` is ignored and a relative ``$HOME`` is no home: neither makes a
  store under the current folder;
* an error from the system is said as memcore says things (``/x/notes is not a folder``), never
  as ``[Errno 20] Not a directory: '...'``;
* a command that only looks leaves no ``-wal``/``-shm`` file beside a damaged store (nor beside
  a sound one that had none), and changes no byte of it;
* ``verify SESSION`` of a session too damaged to be read reports it CORRUPTED, as ``verify``
  over the store does, not as a one-line error.

Every process gets its own ``$HOME``, ``$MEMCORE_HOME`` and ``$XDG_DATA_HOME`` under
``tmp_path``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from memcore.cli import EXIT_ERROR, EXIT_USAGE
from memcore.errors import MemcoreError, ValidationError
from tests.claude_code_support import _u, _user
from tests.damaged_sqlite import damaged_copies, fill_store

MEMCORE = [sys.executable, "-m", "memcore"]


def _env(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    """A private environment: ``$HOME``, ``$MEMCORE_HOME`` and ``$XDG_DATA_HOME`` under
    ``tmp_path`` (a value of None in ``changes`` unsets that variable)."""
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "MEMCORE_HOME": str(tmp_path / "memcore-home"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
    }
    env.pop("CLAUDE_CONFIG_DIR", None)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def memcore(
    tmp_path: Path,
    *args: str,
    cwd: Path | None = None,
    timeout: float = 120,
    env: Mapping[str, str | None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``memcore ARGS`` in its own process, in ``cwd`` (default ``tmp_path``), with the
    private environment changed by ``env`` (see :func:`_env`)."""
    return subprocess.run(
        [*MEMCORE, *args],
        cwd=cwd or tmp_path,
        capture_output=True,
        text=True,
        env=_env(tmp_path, **(env or {})),
        timeout=timeout,
        check=False,
    )


def shell(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    """``sh -c COMMAND`` with ``$M`` as memcore, to close or redirect its descriptors."""
    env = _env(tmp_path)
    env["M"] = " ".join(MEMCORE)
    return subprocess.run(
        ["sh", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def one_line(err: str, *needles: str) -> str:
    """The one line of ``err``, once known to hold each of ``needles`` and no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


_fill = fill_store


# --- 1. Redis URLs: timeouts and redis-py's numbers in range ------------------------------------


@pytest.fixture(name="silent_port")
def silent_port_fixture() -> Iterator[int]:
    """A port on 127.0.0.1 that takes connections and never answers (a server that hangs)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


OUT_OF_RANGE = [
    ("socket_timeout", "1e308"),
    ("socket_timeout", "86401"),
    ("socket_timeout", "inf"),
    ("socket_timeout", "nan"),
    ("socket_timeout", "-1"),
    ("socket_connect_timeout", "1e308"),
    ("connect_timeout", "1e308"),
]

BAD_NUMBERS = [
    ("max_connections", "-5"),
    ("max_connections", "0"),
    ("socket_read_size", "-1"),
    ("health_check_interval", "-1"),
    ("health_check_interval", "100000000000000000000"),
    ("protocol", "9"),
    ("db", "-1"),
]


@pytest.mark.parametrize(("name", "value"), OUT_OF_RANGE)
def test_a_redis_timeout_out_of_range_is_a_usage_error(
    tmp_path: Path, silent_port: int, name: str, value: str
) -> None:
    """``socket_timeout=1e308`` was taken: the command then waited for ever on a server that
    does not answer."""
    url = f"redis://127.0.0.1:{silent_port}/0?{name}={value}"
    for command in (["inspect", "--store", url], ["verify", "--store", url]):
        done = memcore(tmp_path, *command, timeout=60)
        assert done.returncode == EXIT_USAGE, done.stderr
        one_line(done.stderr, "invalid redis URL", name, "at most 86400 (one day)")
        assert done.stdout == ""
    done = memcore(tmp_path, "migrate-redis", url, "--dry-run", timeout=60)
    assert done.returncode == EXIT_USAGE, done.stderr
    one_line(done.stderr, name, "at most 86400")


@pytest.mark.parametrize(("name", "value"), BAD_NUMBERS)
def test_a_redis_number_out_of_range_is_a_usage_error(
    tmp_path: Path, silent_port: int, name: str, value: str
) -> None:
    """redis-py takes any whole number: ``max_connections=-5`` failed only when the store was
    opened (exit 1), ``protocol=9`` in a traceback, ``socket_read_size=-1`` not at all."""
    url = f"redis://127.0.0.1:{silent_port}/0?{name}={value}"
    done = memcore(tmp_path, "inspect", "--store", url, timeout=60)
    assert done.returncode == EXIT_USAGE, done.stderr
    one_line(done.stderr, "invalid redis URL", f"{name} is ", "a whole number from")


@pytest.mark.parametrize(("name", "value"), OUT_OF_RANGE + BAD_NUMBERS)
def test_a_library_user_gets_a_validation_error(name: str, value: str) -> None:
    from memcore.stores import check_store_url, open_store
    from memcore.stores.redis_urls import parse_redis_url

    url = f"redis://127.0.0.1:1/0?{name}={value}"
    for call in (check_store_url, open_store, parse_redis_url):
        with pytest.raises(ValidationError, match=name) as raised:
            call(url)
        assert isinstance(raised.value, MemcoreError)


def test_the_longest_timeouts_are_taken(tmp_path: Path, redis_url: str) -> None:
    """A day is the most, and it is allowed: a store whose timeouts are a day works."""
    from memcore.stores.redis_urls import MAX_SECONDS, parse_redis_url

    url = f"{redis_url}?socket_timeout=86400&connect_timeout=86400&health_check_interval=0"
    parsed = parse_redis_url(url)
    assert (parsed.socket_timeout, parsed.connect_timeout) == (MAX_SECONDS, MAX_SECONDS)
    _fill(redis_url, ("alpha",))
    done = memcore(tmp_path, "inspect", "--store", url)
    assert done.returncode == 0, done.stderr
    assert "alpha: 3 items" in done.stdout


# --- 2. --help with stdout closed or full -------------------------------------------------------


@pytest.mark.parametrize("command", ["--help", "-h", "inspect --help", "verify -h", "demo --help"])
def test_help_with_stdout_closed_is_an_error(tmp_path: Path, command: str) -> None:
    """``memcore --help >&-`` wrote the help to stderr and exited 0; every other command with
    stdout closed says so in one line and exits 1."""
    done = shell(tmp_path, f"$M {command} >&-; echo rc=$? >&2")
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == f"rc={EXIT_ERROR}", done.stderr
    one_line("\n".join(lines[:-1]), "stdout is closed")
    assert "usage:" not in done.stderr


@pytest.mark.parametrize("command", ["--help", "inspect --help"])
def test_help_to_a_full_device_is_an_error(tmp_path: Path, command: str) -> None:
    """``memcore --help > /dev/full`` lost the help and exited 0 (``--version`` exits 1)."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    done = shell(tmp_path, f"$M {command} > /dev/full; echo rc=$?")
    assert done.stdout == f"rc={EXIT_ERROR}\n", done.stderr
    one_line(done.stderr, "the help could not be printed", "No space left on device")


def test_help_still_prints(tmp_path: Path) -> None:
    for command in (["--help"], ["inspect", "--help"]):
        done = memcore(tmp_path, *command)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout.startswith("usage: memcore")
    done = shell(tmp_path, "$M >&-; echo rc=$?")  # (no command: a usage mistake, as it was)
    assert done.stdout == f"rc={EXIT_USAGE}\n"


# --- 3. a relative $HOME or $XDG_DATA_HOME ------------------------------------------------------


def _default_url(tmp_path: Path, cwd: Path, **env: str | None) -> str:
    """What ``default_url()`` is in a process with ``env``, run in ``cwd``."""
    done = subprocess.run(
        [sys.executable, "-c", "from memcore.stores import default_url; print(default_url())"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=_env(tmp_path, **env),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_relative_xdg_data_home_is_ignored(tmp_path: Path) -> None:
    """``XDG_DATA_HOME=rel/data memcore ...`` took ``./rel/data/memcore/memory.db`` for the
    default store, another in each folder a command ran in: the XDG specification has a
    relative one ignored, so the default is under ``$HOME`` again."""
    work = tmp_path / "work"
    work.mkdir()
    store = tmp_path / "home" / ".local" / "share" / "memcore" / "memory.db"
    store.parent.mkdir(parents=True)
    _fill(f"sqlite:///{store}", ("alpha",))
    relative: dict[str, str | None] = {"MEMCORE_HOME": None, "XDG_DATA_HOME": "rel/data"}
    assert _default_url(tmp_path, work, **relative) == f"sqlite:///{store}"
    shown = memcore(tmp_path, "inspect", cwd=work, env=relative)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"{store}: 1 session(s)")
    helped = memcore(tmp_path, "inspect", "--help", cwd=work, env=relative)
    assert str(store) in "".join(helped.stdout.split())  # (the path wrapped, maybe mid-word)
    assert sorted(work.iterdir()) == []
    absolute = tmp_path / "data"
    assert _default_url(tmp_path, work, MEMCORE_HOME=None, XDG_DATA_HOME=str(absolute)) == (
        f"sqlite:///{absolute}/memcore/memory.db"
    )


def test_a_relative_home_is_no_home(tmp_path: Path) -> None:
    """``HOME=relative/dir``: the one-line "no home directory" error, which says what is wrong
    with this ``$HOME`` (it said the user had none in /etc/passwd, untrue for most), and no
    store or folder made under the current one; a store named outright still works."""
    work = tmp_path / "work"
    work.mkdir()
    relative: dict[str, str | None] = {
        "HOME": "relative/dir",
        "MEMCORE_HOME": None,
        "XDG_DATA_HOME": None,
    }
    for command in (["inspect"], ["verify"], ["search", "lint"], ["backup", "alpha"]):
        done = memcore(tmp_path, *command, cwd=work, env=relative)
        assert done.returncode == EXIT_ERROR, done.stderr
        one_line(
            done.stderr,
            "no home directory ($HOME is 'relative/dir', not an absolute path)",
            "set MEMCORE_HOME",
        )
    store = f"sqlite:///{tmp_path}/named.db"
    _fill(store, ("alpha",))
    done = memcore(tmp_path, "inspect", "--store", store, cwd=work, env=relative)
    assert done.returncode == 0, done.stderr
    assert "alpha: 3 items" in done.stdout
    assert sorted(work.iterdir()) == []


# --- 4. the system's errors in memcore's words --------------------------------------------------


def test_a_path_through_a_file_names_that_file(tmp_path: Path) -> None:
    """``[Errno 20] Not a directory: '/x/notes/sub'`` named neither the file at fault nor
    what was wrong in memcore's words."""
    afile = tmp_path / "notes.txt"
    afile.write_text("not a folder\n")
    transcript = tmp_path / "s.jsonl"
    transcript.write_text(json.dumps(_user(_u(1), None, "2026-03-01T10:00:00.000Z", "hi")) + "\n")
    cases = [
        (["import-claude-code", str(transcript)], {"MEMCORE_HOME": str(afile / "sub")}),
        (["import-claude-code", str(transcript), "--store", f"sqlite:///{afile}/x.db"], {}),
        (["decompress", str(afile / "x.mcz")], {}),
    ]
    for args, env in cases:
        done = memcore(tmp_path, *args, env=env)
        assert done.returncode == EXIT_ERROR, done.stderr
        line = one_line(done.stderr, f"{afile} is not a folder")
        assert "Errno" not in line
        assert "Not a directory" not in line


def test_an_unwritable_bundle_path_names_the_file_in_the_way(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/s.db"
    _fill(store, ("alpha",))
    (tmp_path / "notes.txt").write_text("x")
    done = memcore(tmp_path, "compress", "alpha", "--store", store, "-o", "notes.txt/b.mcz")
    assert done.returncode == EXIT_ERROR, done.stderr
    line = one_line(done.stderr, "cannot write notes.txt/b.mcz: notes.txt is not a folder")
    assert "Not a directory" not in line


# --- 5. reading leaves no file beside a store ---------------------------------------------------

READING = [
    ["inspect"],
    ["inspect", "alpha"],
    ["verify"],
    ["verify", "alpha"],
    ["sessions"],
    ["search", "lint"],
    ["digest", "alpha"],
    ["forget", "alpha", "--dry-run"],
    ["mask-secrets", "--dry-run"],
]


_damaged_copies = damaged_copies


def test_reading_a_damaged_store_leaves_no_file_beside_it(tmp_path: Path) -> None:
    """``memcore inspect`` on a damaged WAL-mode file left ``s.db-wal`` and ``s.db-shm``
    beside it (SQLite makes them to read it, and a read-only connection cannot remove them)."""
    files = _damaged_copies(tmp_path)
    for name, path in files.items():
        before = path.read_bytes()
        for command in READING:
            done = memcore(tmp_path, *command, "--store", f"sqlite:///{path}")
            if name != "sound":
                assert done.returncode == EXIT_ERROR, (name, command, done.stderr)
                one_line(done.stderr, "is damaged")
            elif command[0] not in ("sessions", "digest"):  # (no Claude Code session in it)
                assert done.returncode == 0, (command, done.stderr)
            assert sorted(p.name for p in path.parent.iterdir()) == ["s.db"], (name, command)
            assert path.read_bytes() == before, (name, command)


def test_reading_a_store_another_process_has_open_leaves_its_files(tmp_path: Path) -> None:
    """The -wal and -shm files of a store open elsewhere are that process's: kept, with what
    its -wal holds."""
    path = tmp_path / "s.db"
    _fill(f"sqlite:///{path}", ("alpha",))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA wal_autocheckpoint = 0")
        holder.execute("UPDATE meta SET next_backup = next_backup + 1 WHERE session = 'alpha'")
        wal = Path(f"{path}-wal")
        held = wal.read_bytes()
        assert held
        done = memcore(tmp_path, "inspect", "--store", f"sqlite:///{path}")
        assert done.returncode == 0, done.stderr
        assert wal.read_bytes() == held
        assert Path(f"{path}-shm").exists()
    finally:
        holder.close()


# --- 6. verify SESSION of a session that cannot be read ---------------------------------------


def _unreadable_sqlite(path: Path) -> str:
    """A store with ``alpha`` sound, ``beta`` whose version is text and ``gamma`` whose record
    cell is text: neither of the last two can be read at all."""
    url = f"sqlite:///{path}"
    _fill(url)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE meta SET version = 'abc' WHERE session = 'beta'")
        conn.execute("UPDATE items SET record = 'text' WHERE session = 'gamma' AND key = 'k0'")
    conn.close()
    return url


def _assert_corrupted_report(done: subprocess.CompletedProcess[str], url: str, name: str) -> None:
    assert (done.returncode, done.stderr) == (EXIT_ERROR, ""), done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    assert lines[0].startswith(f"  {name}: CORRUPTED: unreadable: "), done.stdout
    assert lines[1].endswith(
        f"1 session(s) checked, 1 corrupted ({name}): repair it with "
        f"`memcore recover --store {url} {name}`"
    ), done.stdout


@pytest.mark.parametrize(("asked", "name"), [("beta", "beta"), ("bet", "beta"), ("gamma", "gamma")])
def test_verify_names_an_unreadable_sqlite_session_corrupted(
    tmp_path: Path, asked: str, name: str
) -> None:
    """``verify --store URL beta`` was one error line ("the version of session 'beta' is not an
    integer"), where ``verify --store URL`` reports the same session CORRUPTED with the
    command that repairs it."""
    url = _unreadable_sqlite(tmp_path / "s.db")
    _assert_corrupted_report(memcore(tmp_path, "verify", "--store", url, asked), url, name)
    whole = memcore(tmp_path, "verify", "--store", url)
    assert f"  {name}: CORRUPTED: unreadable: " in whole.stdout
    sound = memcore(tmp_path, "verify", "--store", url, "alpha")
    assert sound.returncode == 0, sound.stderr
    assert sound.stdout.startswith("  alpha: ok (3 items")


def _raw_redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def test_verify_names_an_unreadable_redis_session_corrupted(tmp_path: Path, redis_url: str) -> None:
    """On Redis too: a version that is no number, and a key of the wrong type."""
    _fill(redis_url, ("alpha", "beta"))
    with _raw_redis(redis_url) as raw:
        raw.hset("memcore:{beta}:meta", "version", "abc")
        raw.set("memcore:{zzz}:meta", "hello")
    for name in ("beta", "zzz"):
        done = memcore(tmp_path, "verify", "--store", redis_url, name)
        _assert_corrupted_report(done, redis_url, name)
    with _raw_redis(redis_url) as raw:  # (read only: nothing of it changed)
        assert raw.get("memcore:{zzz}:meta") == b"hello"
