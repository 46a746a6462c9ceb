"""Small leftovers, each on real files and real processes:

1. A saving hook refused a transcript whose records name no ``sessionId`` ("holds no Claude
   Code transcript record") while ``memcore import-claude-code`` and ``memcore digest PATH``
   take the file's name as the session: the hook takes it too, when that name is its payload's
   session id (Claude Code names the file after it), and refuses any other.
2. ``memcore import-claude-code`` went on without a session's lock after waiting for it: a
   forget holding it longer lost its mark to what the import wrote. The session is skipped now,
   named in its line of the output, and the others imported.
3. ``validate_session_id``'s error printed the whole invalid id (300 characters and more).
4. ``RedisStore(url, socket_timeout=..., connect_timeout=...)`` took ``inf``, ``nan``, a
   negative or a larger than one day timeout that the URL's parameters refuse.
5. The library's read-only open of a damaged WAL-mode file left its connection open when the
   first read failed ("database disk image is malformed"), and ``-wal``/``-shm`` beside it.
6. The Claude Code installer and the transcripts' discovery said the system's raw words
   (``[Errno 20] Not a directory``, naming a temporary file): said as memcore says them now.

``$HOME``, ``$MEMCORE_HOME`` (the sessions' lock files) and ``$XDG_DATA_HOME`` are the test's own.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memcore.claude_code import project_dir_name
from memcore.claude_code.save_turns import lock_path
from memcore.cli import import_store as import_store_module
from memcore.cli import main
from memcore.errors import NotFoundError, ValidationError
from memcore.stores import open_store
from memcore.stores.base import validate_session_id
from tests.claude_code_support import short_session_lines
from tests.damaged_sqlite import damaged_copies

PROJECT = "/home/dev/projects/shop"
MEMCORE = [sys.executable, "-m", "memcore"]


@pytest.fixture(autouse=True)
def own_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own ``$HOME``, ``$MEMCORE_HOME`` and ``$XDG_DATA_HOME``: nothing of the
    user's, nor another test's locks."""
    home = tmp_path / "home"
    (home / ".local" / "share").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("MEMCORE_HOME", str(home / "memcore"))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return home


def _records(session: str | None, tag: str = "") -> str:
    """A short session's lines: a request and the agent's answer, in ``PROJECT``."""
    return short_session_lines(session, PROJECT, tag)


def _sessions(url: str) -> list[str]:
    """The sessions stored at ``url`` but memcore's own (``memcore.*``)."""

    async def listed() -> list[str]:
        store = open_store(url)
        try:
            return sorted(s for s in await store.list_sessions() if not s.startswith("memcore."))
        finally:
            await store.close()

    return asyncio.run(listed())


def _run(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``memcore ARGS`` as a process of its own, in the test's environment (its homes)."""
    return subprocess.run(
        [*MEMCORE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=cwd,
        timeout=120,
        check=False,
    )


# --- 1. a hook's transcript whose records name no session ---------------------------------------


def _transcript(home: Path, name: str, text: str) -> Path:
    """A transcript file where Claude Code keeps the project's."""
    folder = home / ".claude" / "projects" / project_dir_name(PROJECT)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _hook(event: str, session: str, transcript: Path, url: str) -> subprocess.CompletedProcess[str]:
    payload = {
        "session_id": session,
        "cwd": PROJECT,
        "hook_event_name": event,
        "transcript_path": str(transcript),
    }
    return _run("hook", event, "--store", url, stdin=json.dumps(payload))


def test_a_hook_saves_a_transcript_naming_no_session_under_its_files_name(
    tmp_path: Path, own_homes: Path
) -> None:
    """Before: refused, "holds no Claude Code transcript record", while the import and
    ``memcore digest PATH`` took the file's name: a hook saves it now as the import does."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    session = "0b5c7a9e-1111-4222-8333-444455556666"
    transcript = _transcript(own_homes, f"{session}.jsonl", _records(None))
    done = _hook("session-end", session, transcript, url)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert _sessions(url) == [session]
    stored = _run("digest", session, "--store", url, "--budget", "500")
    assert stored.returncode == 0, stored.stderr
    assert "rounding bug" in stored.stdout
    # what the import stores of the same file is the same session (its file's name)
    other = f"sqlite:///{tmp_path / 'imported.db'}"
    imported = _run("import-claude-code", str(transcript), "--store", other)
    assert imported.returncode == 0, imported.stderr
    assert _sessions(other) == [session]


def test_a_hook_still_refuses_a_nameless_transcript_of_another_name(
    tmp_path: Path, own_homes: Path
) -> None:
    """A file whose records name no session and whose name is not the payload's session is
    not the payload's: refused, nothing stored; so is a file with no record at all."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    session = "1c6d8b0f-1111-4222-8333-444455556666"
    elsewhere = _transcript(own_homes, "full.jsonl", _records(None))
    done = _hook("session-end", session, elsewhere, url)
    assert done.returncode == 0  # (a hook never fails the session: it says why)
    assert "names no session" in done.stderr
    assert session in done.stderr
    junk = _transcript(own_homes, f"{session}.jsonl", '{"a": 1}\n')
    done = _hook("session-end", session, junk, url)
    assert done.returncode == 0
    assert "holds no Claude Code transcript record" in done.stderr
    assert not Path(tmp_path / "memory.db").exists() or _sessions(url) == []


# --- 2. the import skips a session whose lock another process holds ------------------------------


def test_the_import_skips_a_session_whose_lock_is_held_and_imports_the_rest(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    held_turn: Any,
) -> None:
    """Before: after waiting ``TURN_WAIT`` it wrote the session without the lock, over what a
    forget holding it was deleting. It is skipped now, named, and the other imported; the next
    import, the lock free, stores it."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    free, held = "aaaa1111-2222-4333-8444-555566667777", "bbbb1111-2222-4333-8444-555566667777"
    assert lock_path(free) != lock_path(held)  # (one lock file each: not the same bucket)
    folder = tmp_path / "transcripts"
    folder.mkdir()
    (folder / f"{free}.jsonl").write_text(_records(free, " one"), encoding="utf-8")
    (folder / f"{held}.jsonl").write_text(_records(held, " two"), encoding="utf-8")
    monkeypatch.setattr(import_store_module, "TURN_WAIT", 0.3)  # (30 s in use)
    holder = held_turn(held)
    assert main(["import-claude-code", str(folder), "--store", url]) == 0
    out = capsys.readouterr().out
    assert f"stored session {free!r}" in out
    assert f"stored session {held!r}" not in out
    (line,) = [line for line in out.splitlines() if held in line]
    assert line.startswith(f"session {held!r} skipped, not stored: could not get the lock")
    assert "import it again" in line
    assert _sessions(url) == [free]
    holder.kill()
    holder.wait()
    assert main(["import-claude-code", str(folder), "--store", url]) == 0
    assert f"stored session {held!r}" in capsys.readouterr().out
    assert _sessions(url) == sorted([free, held])


# --- 3. an invalid session id is shown cut ------------------------------------------------------


def test_an_invalid_session_ids_message_shows_its_start_only(tmp_path: Path) -> None:
    long_id = "x" * 299 + "/"
    with pytest.raises(ValidationError) as caught:
        validate_session_id(long_id)
    message = str(caught.value)
    assert "x" * 40 + "'... (300 characters)" in message
    assert "x" * 41 not in message
    assert len(message) < 200
    assert message.endswith("(not starting with + or =)")
    with pytest.raises(ValidationError, match=r"invalid session id '\.\./x': use 1-200"):
        validate_session_id("../x")  # (a short one whole, as before)
    with pytest.raises(ValidationError) as caught:
        validate_session_id(list(range(1000)))
    assert len(str(caught.value)) < 250
    # and on the command line, one short line
    done = _run("inspect", "y" * 500, "--store", f"sqlite:///{tmp_path / 'm.db'}")
    assert done.returncode != 0
    assert "y" * 41 not in done.stderr
    assert "(500 characters)" in done.stderr


# --- 4. RedisStore's timeout keywords checked as the URL's ----------------------------------------


@pytest.mark.parametrize("name", ["socket_timeout", "connect_timeout"])
@pytest.mark.parametrize(
    "value",
    [math.inf, math.nan, -1.0, 0, 86_400.5, 10**400, True, "5"],
    ids=["inf", "nan", "negative", "zero", "over-a-day", "10**400", "a-bool", "a-string"],
)
def test_redis_store_timeout_keywords_out_of_range_are_refused(
    redis_url: str, name: str, value: object
) -> None:
    """Before: ``RedisStore(url, socket_timeout=float("inf"))`` was taken (waited for ever on a
    server that stopped answering), as ``?socket_timeout=inf`` in the URL is not."""
    from memcore.stores.redis import RedisStore

    with pytest.raises(ValidationError, match=f"{name} is a positive number of seconds"):
        RedisStore(redis_url, **{name: value})  # type: ignore[arg-type]


async def test_redis_store_timeout_keywords_in_range_are_used(redis_url: str) -> None:
    from memcore.stores.redis import RedisStore

    store = RedisStore(redis_url, socket_timeout=86_400, connect_timeout=0.5)
    try:
        assert store.timeouts == (86_400.0, 0.5)
        assert await store.list_sessions() == []
    finally:
        await store.close()
    store = RedisStore(redis_url + "?socket_timeout=3", socket_timeout=None)
    try:
        assert store.timeouts[0] == 3.0  # (None: not given, the URL's)
    finally:
        await store.close()


# --- 5. a damaged WAL-mode file read by the library leaves nothing beside it ---------------------


def _damaged_copies(tmp_path: Path) -> dict[str, Path]:
    """Damaged copies of a sound memcore store in WAL mode, each alone in a folder."""
    files = damaged_copies(tmp_path, ("alpha", "beta"))
    del files["sound"]
    return files


def _read_with_the_store(path: Path) -> None:
    async def read() -> None:
        store = open_store(f"sqlite:///{path}", read_only=True, create=False)
        try:
            await store.list_sessions()
        finally:
            await store.close()

    asyncio.run(read())


def _read_with_the_reader(path: Path) -> None:
    from memcore.stores.sqlite_reader import reader_of, run_now

    with reader_of(f"sqlite:///{path}") as reader:
        run_now(reader.list_sessions())


@pytest.mark.parametrize("read", [_read_with_the_store, _read_with_the_reader])
def test_a_damaged_wal_file_read_by_the_library_leaves_no_file_beside_it(
    tmp_path: Path, read: Any
) -> None:
    """Before: the failed first read's connection stayed open (a ``DatabaseError``, not the
    ``OperationalError`` closed), and ``s.db-wal`` and ``s.db-shm`` were left beside it."""
    from memcore.errors import CorruptedMemoryError

    for name, path in _damaged_copies(tmp_path).items():
        before = path.read_bytes()
        with pytest.raises(CorruptedMemoryError, match="malformed"):
            read(path)
        assert sorted(p.name for p in path.parent.iterdir()) == ["s.db"], name
        assert path.read_bytes() == before, name


def test_a_damaged_files_wal_someone_else_has_is_kept(tmp_path: Path) -> None:
    """``-wal``/``-shm`` already beside the file are another connection's: not removed."""
    from memcore.errors import CorruptedMemoryError

    path = _damaged_copies(tmp_path)["truncated"]
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").write_bytes(b"")
    with pytest.raises(CorruptedMemoryError):
        _read_with_the_store(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["s.db", "s.db-shm", "s.db-wal"]


def test_a_wal_file_of_another_program_read_by_the_library_leaves_no_file_beside_it(
    tmp_path: Path,
) -> None:
    """A sound SQLite file in WAL mode that is no memcore store: refused by the schema check,
    after the first read made its ``-wal`` and ``-shm``: they go too."""
    from memcore.errors import BackendError

    path = tmp_path / "other" / "s.db"
    path.parent.mkdir()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["s.db"]
    for read in (_read_with_the_store, _read_with_the_reader):
        with pytest.raises(BackendError, match="not a memcore store"):
            read(path)
        assert sorted(p.name for p in path.parent.iterdir()) == ["s.db"]


# --- 6. the system's words, as memcore says them -------------------------------------------------


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "Errno" not in err
    assert "Not a directory" not in err
    return lines[0]


def test_install_through_a_file_names_the_file_in_the_way(tmp_path: Path) -> None:
    """Before: "cannot write .../f/.settings.json.p4dian10.memcore-tmp: Not a directory"."""
    (tmp_path / "f").write_text("x")
    mcp = tmp_path / "mcp.json"
    done = _run(
        "install-claude-code",
        "--settings",
        str(tmp_path / "f" / "settings.json"),
        "--mcp-config",
        str(mcp),
        cwd=tmp_path,
    )
    assert done.returncode == 1
    line = _one_line(done.stderr)
    assert (
        f"cannot write {tmp_path}/f/settings.json: {tmp_path}/f is not a folder; "
        "nothing was changed" in line
    )
    assert "memcore-tmp" not in line
    assert not mcp.exists()


def test_install_through_a_link_into_a_file_says_so(tmp_path: Path) -> None:
    """Before: "is a symlink loop ([Errno 20] Not a directory: ...)": no loop at all."""
    (tmp_path / "f").write_text("x")
    link = tmp_path / "settings.json"
    link.symlink_to(tmp_path / "f" / "target.json")
    done = _run(
        "install-claude-code",
        "--settings",
        str(link),
        "--mcp-config",
        str(tmp_path / "mcp.json"),
        cwd=tmp_path,
    )
    assert done.returncode == 1
    line = _one_line(done.stderr)
    assert f"{link} is a symlink to {tmp_path}/f/target.json, which cannot be reached" in line
    assert f"{tmp_path}/f is not a folder" in line
    assert "loop" not in line
    # a loop is still one, said without Python's own words
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    done = _run(
        "install-claude-code",
        "--settings",
        str(loop),
        "--mcp-config",
        str(tmp_path / "mcp.json"),
        cwd=tmp_path,
    )
    assert done.returncode == 1
    line = _one_line(done.stderr)
    assert f"{loop} is a symlink loop" in line
    assert "Symlink loop from" not in line


def test_a_transcript_path_through_a_file_names_the_file_in_the_way(tmp_path: Path) -> None:
    from memcore.claude_code.discovery import find_transcripts

    (tmp_path / "f").write_text("x")
    wanted = tmp_path / "f" / "x.jsonl"
    with pytest.raises(NotFoundError) as caught:
        find_transcripts(wanted)
    assert caught.value.args[0] == (
        f"no such transcript file or folder: {wanted} ({tmp_path}/f is not a folder)"
    )
    done = _run("import-claude-code", str(wanted), "--store", f"sqlite:///{tmp_path / 'm.db'}")
    assert done.returncode == 1
    assert f"({tmp_path}/f is not a folder)" in _one_line(done.stderr)


def test_the_command_lines_words_are_the_shared_ones() -> None:
    from memcore import os_errors
    from memcore.cli import _os_errors

    for name in ("describe_os_error", "not_a_folder", "os_reason", "reworded"):
        assert getattr(_os_errors, name) is getattr(os_errors, name)
    denied = PermissionError(13, "Permission denied", "/srv/x")
    assert os_errors.os_reason(denied) == "Permission denied"
    assert os_errors.describe_os_error(denied) == "Permission denied: /srv/x"
