"""The ``memcore`` command's reading commands change nothing, every command takes ``--store``,
what it writes is private, and junk is refused (issue 14)."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import memcore
from memcore.cli import EXIT_ERROR, main
from tests.claude_code_support import SESSION
from tests.cli_support import (  # noqa: F401  (the fixtures projects and store_url)
    assert_one_line_error,
    projects_fixture,
    run_cli,
    store_url_fixture,
)

# --- issue 14: reading commands change nothing; every command takes --store --------------------


def _import(capsys: pytest.CaptureFixture[str], projects: Path, *store: str) -> str:
    code, out, err = run_cli(capsys, "import-claude-code", str(projects), *store)
    assert code == 0, err
    return out


def test_inspect_without_arguments_lists_the_default_store_by_its_real_path(
    projects: Path, memcore_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _import(capsys, projects)
    db = memcore_home / "memory.db"
    assert f"into {db}" in out  # the real path, not "$MEMCORE_HOME"
    code, out, err = run_cli(capsys, "inspect")
    assert code == 0, err
    header, *rows = out.splitlines()
    # memcore's own: the access log and the project's registry, which the import filed it in
    assert header == f"{db}: 1 session(s) (and 2 of memcore's own)"
    assert rows[0].startswith(f"  {SESSION}:")
    assert "memcore." not in out  # those are memcore's, not user sessions
    code, out, err = run_cli(capsys, "inspect", SESSION)  # a session of the default store
    assert code == 0, err
    assert out.startswith(f"{SESSION}: ")
    assert str(db) in out.splitlines()[0]


def test_the_default_store_path_is_shown_in_help(
    memcore_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from memcore.cli._store_names import store_label

    assert store_label(None) == str(memcore_home / "memory.db")
    for command in ("inspect", "verify", "backup", "recover", "compress"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--store URL" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["inspect"], ["verify"], ["inspect", "s1"], ["verify", "s1"]])
def test_reading_a_missing_store_creates_nothing(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "missing"
    url = f"sqlite:///{folder}/x.db"
    code, out, err = run_cli(capsys, *command, "--store", url)
    assert code == EXIT_ERROR
    assert_one_line_error(err, f"no memcore store at '{folder}/x.db'")
    assert out == ""
    assert not folder.exists()
    code, _, err = run_cli(capsys, command[0], url, *command[1:])  # the older form, the same
    assert code == EXIT_ERROR
    assert not folder.exists()


def test_three_slashes_before_an_absolute_path_name_it_in_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sqlite:///tmp/m.db`` is ``tmp/m.db`` under the current folder (as in SQLAlchemy):
    when that is missing and ``/tmp/m.db`` is a store, the error says how to name it; a store
    missing both ways gets no hint, and the mistaken relative file is not created."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    asyncio.run(_fill(url))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    relative = str(tmp_path / "m.db").lstrip("/")
    code, _, err = run_cli(capsys, "search", "lint", "--store", f"sqlite:///{relative}")
    assert code == EXIT_ERROR
    assert_one_line_error(err, f"write sqlite:////{relative} (four slashes)")
    code, _, err = run_cli(capsys, "search", "lint", "--store", "sqlite:///nowhere/m.db")
    assert code == EXIT_ERROR
    assert "slashes" not in err
    assert sorted(p.name for p in elsewhere.iterdir()) == []
    code, out, _ = run_cli(capsys, "search", "lint", "--store", f"sqlite:////{relative}")
    assert code == 0
    assert "lint" in out


async def _fill(url: str) -> None:
    from memcore import DistributedMemoryManager

    manager = DistributedMemoryManager(url, replica_id="writer")
    manager.set("s", "k", {"content": "run the lint before committing"})
    await manager.sync_session_memory("s")
    await manager.close()


@pytest.mark.parametrize(
    "command",
    [
        ["backup", "nobody"],
        ["recover", "nobody"],
        ["verify", "nobody"],
        ["inspect", "nobody"],
        ["compress", "nobody", "-o", "OUT"],
    ],
)
def test_a_session_that_does_not_exist_is_an_error_and_is_not_created(
    command: list[str],
    projects: Path,
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _import(capsys, projects, "--store", store_url)
    args = [str(tmp_path / "out.mcz") if word == "OUT" else word for word in command]
    code, _, err = run_cli(capsys, *args, "--store", store_url)
    assert code == EXIT_ERROR
    assert_one_line_error(err, "no session 'nobody' in ")
    assert not (tmp_path / "out.mcz").exists()

    from memcore.stores import open_store

    async def untouched() -> tuple[int, list[object], list[str]]:
        store = open_store(store_url)
        try:
            return (
                await store.version("nobody"),
                list(await store.list_backups("nobody")),
                await store.list_sessions(),
            )
        finally:
            await store.close()

    version, backups, sessions = asyncio.run(untouched())
    assert (version, backups) == (0, [])
    assert "nobody" not in sessions


def test_reading_commands_do_not_write_the_store(
    projects: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import(capsys, projects, "--store", store_url)
    db = Path(store_url.removeprefix("sqlite:///"))
    before = db.read_bytes()
    for command in (["inspect"], ["inspect", SESSION], ["verify"], ["verify", SESSION]):
        code, _, err = run_cli(capsys, *command, "--store", store_url)
        assert code == 0, err
    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0


def _can_mount_read_only() -> bool:
    if not sys.platform.startswith("linux") or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o ro none /mnt"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_read_only(), reason="needs unshare -m and mount (root)")
def test_inspect_and_verify_work_on_read_only_media(
    projects: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import(capsys, projects, "--store", store_url)
    db = Path(store_url.removeprefix("sqlite:///"))
    media = tmp_path / "media"
    media.mkdir()
    script = (
        f"mount --bind {db.parent} {media} && mount -o remount,ro,bind {media} && "
        f"{sys.executable} -m memcore inspect --store sqlite:///{media}/{db.name} {SESSION} && "
        f"{sys.executable} -m memcore verify --store sqlite:///{media}/{db.name}"
    )
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Always run the tests" in proc.stdout
    assert "all ok" in proc.stdout


def test_inspect_on_a_damaged_record_points_at_memcore_recover(
    projects: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _import(capsys, projects, "--store", store_url)
    from memcore.stores import open_store
    from memcore.stores.sqlite import SQLiteStore

    async def damage() -> None:
        store = open_store(store_url)
        assert isinstance(store, SQLiteStore)
        key, record = sorted((await store.read_snapshot(SESSION)).records.items())[0]
        store._tamper(SESSION, key, record[:-1] + bytes([record[-1] ^ 1]))
        await store.close()

    asyncio.run(damage())
    code, _, err = run_cli(capsys, "inspect", "--store", store_url, SESSION)
    assert code == EXIT_ERROR
    assert_one_line_error(err, "`memcore recover --store ")
    assert f" {SESSION}`" in err
    assert "recover_corrupted_memory" not in err


# --- issue 14: permissions ----------------------------------------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_the_default_store_and_bundles_are_private(
    projects: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "data" / "memcore"
    monkeypatch.setenv("MEMCORE_HOME", str(home))
    _import(capsys, projects)
    assert _mode(home) == 0o700
    assert _mode(home.parent) == 0o700  # made for the store too
    assert _mode(home / "memory.db") == 0o600
    assert _mode(home / "memory.db-writers") == 0o600  # the writer queue's files (made by a sync)
    assert _mode(home / "memory.db-waiters") == 0o600

    from memcore.stores import open_store

    async def while_open() -> list[int]:  # the -wal and -shm files exist while a store is open
        store = open_store(None)
        try:
            await store.version(SESSION)
            return [_mode(home / f"memory.db{suffix}") for suffix in ("-wal", "-shm")]
        finally:
            await store.close()

    assert asyncio.run(while_open()) == [0o600, 0o600]
    bundle = tmp_path / "out.mcz"
    code, _, err = run_cli(capsys, "compress", SESSION, "-o", str(bundle))
    assert code == 0, err
    assert _mode(bundle) == 0o600


# --- issue 14: decompress says what it does not show ----------------------------------------------


def test_decompress_says_how_many_entries_are_not_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime, timedelta, timezone

    from memcore.compression import compress_memory_hierarchy

    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    items = [
        memcore.MemoryItem(f"n{i:02d}", f"note {i} about topic {i}", "critical", now)
        for i in range(12)
    ] + [
        memcore.MemoryItem(f"h{i:02d}", f"older note {i}.", "high", now - timedelta(hours=3))
        for i in range(7)
    ]
    bundle = tmp_path / "b.mcz"
    bundle.write_bytes(compress_memory_hierarchy(items, now=now)[0])
    code, out, err = run_cli(capsys, "decompress", str(bundle))
    assert code == 0, err
    assert "level1 (whole): 12 items" in out
    assert "... and 7 more items (--all lists them)" in out
    assert "... and 2 more items (--all lists them)" in out
    assert "9 entries not shown" in out
    assert "--all" in out.splitlines()[-1]
    assert "--json" in out.splitlines()[-1]
    code, out, err = run_cli(capsys, "decompress", "--all", str(bundle))
    assert code == 0, err
    assert all(f"n{i:02d}" in out for i in range(12))
    assert all(f"h{i:02d}" in out for i in range(7))
    assert "not shown" not in out


# --- issue 14: junk given as a transcript -------------------------------------------------------


def test_junk_given_as_a_transcript_is_an_error_and_stores_nothing(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "mk.py"
    junk.write_text("".join(f"print({i})  # not a transcript\n" for i in range(30)))
    code, out, err = run_cli(capsys, "import-claude-code", str(junk), "--store", store_url)
    assert code == EXIT_ERROR
    assert_one_line_error(err, "not a Claude Code transcript")
    assert "nothing stored" in err
    assert "stored session" not in out
    assert not Path(store_url.removeprefix("sqlite:///")).exists()


def test_another_agent_s_session_saved_as_full_jsonl_is_no_transcript(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checkpoint tools save other agents' sessions under the same name (Gemini CLI's, one JSON
    document over many lines): a line of it that is a JSON object of its own made it a session
    of no items, stored as 'full'."""
    saved = tmp_path / "full.jsonl"
    saved.write_text(
        '{\n  "sessionId": "1ecba475-5b18-4058-a0cb-e87703f6f792",\n  "messages": [\n'
        '    {"type": "user", "content": "fix tests"},\n    {"type": "gemini", "content": "ok"}\n'
        "  ]\n}\n"
    )
    code, out, err = run_cli(capsys, "import-claude-code", str(saved), "--store", store_url)
    assert code == EXIT_ERROR
    assert_one_line_error(err, "not a Claude Code transcript")
    assert "no Claude Code record in it, skipped" in out
    assert "stored session" not in out
    assert not Path(store_url.removeprefix("sqlite:///")).exists()


def test_demo_names_the_default_store_by_its_real_path(
    memcore_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "demo", "--no-transcripts", "--notes", "20")
    assert code == 0, err
    assert f"the default SQLite store, {memcore_home / 'memory.db'}" in out
    assert "$MEMCORE_HOME" not in out


@pytest.mark.parametrize("command", [["backup", "s"], ["recover", "s"], ["demo", "--notes", "5"]])
def test_a_foreign_sqlite_file_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """Another program's SQLite file keeps every byte, its journal mode included (it was
    switched to WAL before the refusal), and no -wal/-shm file is left beside it."""
    import sqlite3

    foreign = tmp_path / "theirs.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('theirs')")
    conn.close()
    before = foreign.read_bytes()
    code, _, err = run_cli(capsys, *command, "--store", f"sqlite:///{foreign}")
    assert code == EXIT_ERROR
    assert "not made by memcore" in err
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.db"]


@pytest.mark.parametrize("command", [["backup", "s"], ["recover", "s"]])
def test_an_empty_file_is_no_store_and_stays_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    code, _, err = run_cli(capsys, *command, "--store", f"sqlite:///{empty}")
    assert code == EXIT_ERROR
    assert_one_line_error(err, "no memcore store")
    assert empty.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_a_damaged_record_hides_nothing_else_from_store_wide_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One flipped record in one session: ``inspect``, ``search`` and ``digest`` over the whole
    store still read every other record and session, and warn (one line) of what they left out
    and how to repair it; the session named alone is still an error that says so."""
    from memcore import DistributedMemoryManager
    from memcore.stores import open_store
    from memcore.stores.sqlite import SQLiteStore

    url = f"sqlite:///{tmp_path / 'memory.db'}"

    async def fill_and_damage() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        for session in ("hurt", "whole"):
            for n in range(3):
                manager.set(session, f"k{n}", {"content": f"lint rule {n} of {session}"})
            await manager.sync_session_memory(session)
        await manager.close()
        store = open_store(url)
        assert isinstance(store, SQLiteStore)
        record = (await store.read_snapshot("hurt")).records["k0"]
        store._tamper("hurt", "k0", record[:-1] + bytes([record[-1] ^ 1]))
        await store.close()

    asyncio.run(fill_and_damage())
    for command in (["inspect"], ["search", "lint rule"], ["digest"]):
        code, out, err = run_cli(capsys, *command, "--store", url)
        assert code == 0, (command, err)
        assert_one_line_error(err, "session 'hurt': 1 damaged or unreadable record(s) left out")
        assert "`memcore recover --store " in err
        assert "whole" in out
    code, out, err = run_cli(capsys, "inspect", "--store", url)
    assert "hurt: 2 items" in out
    code, _, err = run_cli(capsys, "digest", "hurt", "--store", url)
    assert code == EXIT_ERROR
    assert_one_line_error(err, "is damaged")


@pytest.mark.parametrize("store", ["foreign", "folder", "not-sqlite"])
def test_import_says_a_store_it_cannot_use_before_reading_the_transcripts(
    projects: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], store: str
) -> None:
    """Another program's SQLite file, a folder, a file that is no database: one line, and
    nothing read first (the transcripts' figures were printed, then the error)."""
    import sqlite3

    path = tmp_path / store
    if store == "foreign":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE notes (body TEXT)")
        conn.close()
    elif store == "folder":
        path.mkdir()
    else:
        path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    code, out, err = run_cli(
        capsys, "import-claude-code", str(projects), "--store", f"sqlite:///{path}"
    )
    assert code == EXIT_ERROR
    assert len(err.strip().splitlines()) == 1
    assert out == ""
