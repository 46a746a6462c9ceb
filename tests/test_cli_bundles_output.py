"""Where ``memcore compress -o`` writes: a symlink's target, never over a folder, device, FIFO or
socket, ``-o -`` to stdout (not to a terminal), and errors that name the path the user gave.

Each case runs the real command in a subprocess on real files under ``tmp_path``; no test names a
real device (a FIFO and a socket stand in for /dev/full and friends).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import pty
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from memcore import DistributedMemoryManager, open_store
from memcore.cli import EXIT_ERROR, EXIT_USAGE
from memcore.compression import decompress_memory_hierarchy
from memcore.demo_corpus import stdlib_notes
from tests.cli_support import assert_one_line_error

SESSION = "notes"
ITEMS = 40


async def _write_session(url: str) -> None:
    store = open_store(url)
    replica = DistributedMemoryManager(storage_backend=store, replica_id="test")
    try:
        now = datetime(2026, 3, 1, tzinfo=timezone.utc)
        for item in stdlib_notes(ITEMS, 1, now):
            replica.set(SESSION, item.id, item)
        await replica.sync_session_memory(SESSION)
    finally:
        await replica.close()
        await store.close()


@pytest.fixture(name="work")
def work_fixture(tmp_path: Path) -> Path:
    """A folder to run in, with a store holding one session (the store lives outside it)."""
    url = f"sqlite:///{tmp_path}/store.db"
    asyncio.run(_write_session(url))
    work = tmp_path / "work"
    work.mkdir()
    return work


def compress(
    work: Path, output: str, *, session: str = SESSION, stdout: int | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``memcore compress --store ... SESSION -o OUTPUT`` run in ``work``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "memcore",
            "compress",
            "--store",
            f"sqlite:///{work.parent}/store.db",
            session,
            "-o",
            output,
        ],
        cwd=work,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, "MEMCORE_HOME": str(work.parent / "home")},
        timeout=120,
        check=False,
    )


def assert_bundle(data: bytes) -> None:
    bundle = decompress_memory_hierarchy(data)
    level3 = sum(group.count for group in bundle.level3.groups)
    assert (
        len(bundle.level1.items) + len(bundle.level2.items) + level3 + bundle.level4.count == ITEMS
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_symlink_is_followed_and_stays_a_link(work: Path) -> None:
    (work / "real.mcz").write_bytes(b"an older bundle")
    (work / "link.mcz").symlink_to("real.mcz")
    proc = compress(work, "link.mcz")
    assert proc.returncode == 0, proc.stderr
    assert (work / "link.mcz").is_symlink()
    assert os.readlink(work / "link.mcz") == "real.mcz"
    assert_bundle((work / "real.mcz").read_bytes())
    assert _mode(work / "real.mcz") == 0o600
    assert sorted(p.name for p in work.iterdir()) == ["link.mcz", "real.mcz"]  # no leftovers


def test_a_dangling_symlink_gets_its_target_made(work: Path) -> None:
    (work / "link.mcz").symlink_to("made.mcz")
    proc = compress(work, "link.mcz")
    assert proc.returncode == 0, proc.stderr
    assert (work / "link.mcz").is_symlink()
    assert_bundle((work / "made.mcz").read_bytes())


def test_an_existing_bundle_is_replaced_whole(work: Path) -> None:
    (work / "b.mcz").write_bytes(b"x" * 100_000)
    proc = compress(work, "b.mcz")
    assert proc.returncode == 0, proc.stderr
    assert b"wrote b.mcz (" in proc.stdout
    assert_bundle((work / "b.mcz").read_bytes())
    assert [p.name for p in work.iterdir()] == ["b.mcz"]


@pytest.fixture(name="unix_socket")
def unix_socket_fixture(work: Path) -> Iterator[Path]:
    path = work / "sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        yield path


def _make(kind: str, path: Path) -> None:
    if kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)


@pytest.mark.parametrize(("kind", "is_kind"), [("folder", stat.S_ISDIR), ("FIFO", stat.S_ISFIFO)])
def test_a_folder_or_fifo_is_refused_and_left_as_it_was(
    kind: str, is_kind: Callable[[int], bool], work: Path
) -> None:
    _make(kind, work / "out")
    proc = compress(work, "out")
    assert proc.returncode == EXIT_ERROR
    err = proc.stderr.decode()
    assert_one_line_error(err, f"out is a {kind}, not a file")
    assert ".partial" not in err
    assert is_kind((work / "out").lstat().st_mode)
    assert [p.name for p in work.iterdir()] == ["out"]
    assert proc.stdout == b""


def test_a_socket_is_refused(work: Path, unix_socket: Path) -> None:
    proc = compress(work, unix_socket.name)
    assert proc.returncode == EXIT_ERROR
    assert_one_line_error(proc.stderr.decode(), "sock is a socket, not a file")
    assert stat.S_ISSOCK(unix_socket.lstat().st_mode)


def test_a_symlink_to_a_fifo_is_refused_and_both_stay(work: Path) -> None:
    os.mkfifo(work / "fifo")
    (work / "link").symlink_to("fifo")
    proc = compress(work, "link")
    assert proc.returncode == EXIT_ERROR
    assert_one_line_error(proc.stderr.decode(), f"link (a link to {work / 'fifo'}) is a FIFO")
    assert (work / "link").is_symlink()
    assert stat.S_ISFIFO((work / "fifo").lstat().st_mode)


def test_the_destination_is_checked_before_the_session_is_read(work: Path) -> None:
    (work / "out").mkdir()
    proc = compress(work, "out", session="nobody")
    assert proc.returncode == EXIT_ERROR
    assert_one_line_error(proc.stderr.decode(), "out is a folder")


def test_a_missing_folder_is_one_line_naming_the_users_path(work: Path) -> None:
    proc = compress(work, "nodir/x.mcz")
    assert proc.returncode == EXIT_ERROR
    err = proc.stderr.decode()
    assert_one_line_error(err, "cannot write nodir/x.mcz: no folder nodir")
    assert ".partial" not in err
    assert not (work / "nodir").exists()


def test_a_path_through_a_file_is_one_line(work: Path) -> None:
    (work / "afile").write_text("not a folder")
    proc = compress(work, "afile/x.mcz")
    assert proc.returncode == EXIT_ERROR
    err = proc.stderr.decode()
    assert_one_line_error(err, "cannot write afile/x.mcz")
    assert ".partial" not in err


def test_dash_writes_the_bundle_to_stdout(work: Path) -> None:
    proc = compress(work, "-")
    assert proc.returncode == 0, proc.stderr
    assert_bundle(proc.stdout)
    err = proc.stderr.decode()
    assert f"compressed {ITEMS} items of {SESSION!r}" in err  # the figures stay off the bundle
    assert "wrote the bundle to stdout" in err
    assert list(work.iterdir()) == []  # no file named "-"


def test_dash_refuses_a_terminal(work: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        proc = compress(work, "-", stdout=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert proc.returncode == EXIT_USAGE
    assert_one_line_error(proc.stderr.decode(), "stdout, which is a terminal")
    assert list(work.iterdir()) == []


def _decompress(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "memcore", "decompress", *args],
        input=stdin,
        capture_output=True,
        timeout=60,  # (a deadline for a hang, not a timing assertion)
        check=False,
    )


def test_decompress_reads_a_bundle_from_stdin_as_compress_writes_one(work: Path) -> None:
    """``memcore compress S -o - | memcore decompress -``."""
    bundle = compress(work, "-").stdout
    proc = _decompress("-", stdin=bundle)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().startswith(f"-: {len(bundle):,} bytes")


def test_decompress_refuses_what_is_no_bundle_file_without_reading_it(
    work: Path, tmp_path: Path
) -> None:
    """A FIFO waited for a writer for ever, ``/dev/zero`` was read until memory ran out, a
    large file that is no bundle was read whole before its header was looked at: each is one
    line now, the last by its first bytes."""
    fifo = tmp_path / "pipe.mcz"
    os.mkfifo(fifo)
    for path, said in ((fifo, "is a FIFO, not a bundle file"), ("/dev/zero", "is a device")):
        proc = _decompress(str(path))
        assert proc.returncode == EXIT_ERROR
        assert_one_line_error(proc.stderr.decode(), said)
    junk = tmp_path / "junk.mcz"
    with junk.open("wb") as handle:  # (sparse: 2 GB that take no room)
        handle.write(b"not a bundle")
        handle.truncate(2 << 30)
    proc = _decompress(str(junk))
    assert proc.returncode == EXIT_ERROR
    assert_one_line_error(proc.stderr.decode(), "not a memcore bundle")


def test_an_empty_file_name_is_the_same_bad_argument_to_both_commands(work: Path) -> None:
    """``decompress ''`` said "error:  is a folder, not a bundle file" (the empty name read as
    the current folder), where ``compress -o ''`` says "empty file name"."""
    for proc, command in ((compress(work, ""), "compress"), (_decompress(""), "decompress")):
        assert proc.returncode == EXIT_USAGE
        assert_one_line_error(proc.stderr.decode(), f"memcore {command}: error: argument")
        assert "empty file name" in proc.stderr.decode()
    assert list(work.iterdir()) == []


# --- the store's own files ------------------------------------------------------------------------


def _digest_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal", "-writers"])
def test_the_stores_own_files_are_refused(work: Path, suffix: str) -> None:
    """``memcore compress S -o ~/.memcore/memory.db`` renamed the bundle over the live store:
    every session gone. Its database, SQLite's files beside it and memcore's lock files are
    refused before anything is read, a bad argument (exit 2)."""
    store = work.parent / "store.db"
    before = _digest_of(store)
    companion = work.parent / f"store.db{suffix}"
    existed = companion.exists()
    proc = compress(work, f"../store.db{suffix}")
    assert proc.returncode == EXIT_USAGE
    assert_one_line_error(proc.stderr.decode(), f"is {companion}, a file of the store read from")
    assert _digest_of(store) == before
    assert companion.exists() == existed
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_link_to_the_store_is_refused(work: Path, link: str) -> None:
    store = work.parent / "store.db"
    before = _digest_of(store)
    if link == "symlink":
        (work / "out.mcz").symlink_to(store)
    else:
        os.link(store, work / "out.mcz")
    proc = compress(work, "out.mcz")
    assert proc.returncode == EXIT_USAGE
    assert_one_line_error(proc.stderr.decode(), "a file of the store read from")
    assert _digest_of(store) == before


@pytest.mark.parametrize("named", ["absolute", "symlink"])
def test_the_store_s_file_named_as_it_is_is_named_once(work: Path, named: str) -> None:
    """``-o`` naming the store's file by its own path said "X is X, a file of the store"; the
    path it is (``../store.db is /.../store.db``) is said only when it adds something."""
    store = work.parent / "store.db"
    if named == "symlink":
        (work / "out.mcz").symlink_to(store)
    output = str(store) if named == "absolute" else "out.mcz"
    proc = compress(work, output)
    assert proc.returncode == EXIT_USAGE
    said = f"{output} (a link to {store})" if named == "symlink" else output
    assert_one_line_error(
        proc.stderr.decode(),
        f"argument -o/--output: {said} is a file of the store read from, which the bundle",
    )


def test_the_default_store_and_the_url_before_the_session_are_refused(work: Path) -> None:
    """The store named as ``URL SESSION`` (the older form), and the default store (no --store),
    are checked as --store is."""
    url = f"sqlite:///{work.parent}/store.db"
    before = _digest_of(work.parent / "store.db")
    env = {**os.environ, "MEMCORE_HOME": str(work.parent)}
    home_store = work.parent / "memory.db"
    asyncio.run(_write_session(f"sqlite:///{home_store}"))
    home_before = _digest_of(home_store)
    for args in ([url, SESSION, "-o", "../store.db"], [SESSION, "-o", "../memory.db"]):
        proc = subprocess.run(
            [sys.executable, "-m", "memcore", "compress", *args],
            cwd=work,
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert proc.returncode == EXIT_USAGE, proc.stderr
        assert_one_line_error(proc.stderr.decode(), "a file of the store read from")
    assert _digest_of(work.parent / "store.db") == before
    assert _digest_of(home_store) == home_before


# --- a folder's name -----------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["newdir/", "newdir/.", "afile/"])
def test_a_folders_name_is_refused_not_made_a_file(work: Path, output: str) -> None:
    """``-o newdir/`` made a file named newdir (realpath drops the slash), ``-o afile/``
    replaced afile: a name ending in ``/`` names a folder, and a bundle is a file."""
    (work / "afile").write_bytes(b"kept")
    proc = compress(work, output)
    assert proc.returncode == EXIT_ERROR
    assert_one_line_error(proc.stderr.decode(), f"cannot write {output}: that is a folder's name")
    assert sorted(p.name for p in work.iterdir()) == ["afile"]
    assert (work / "afile").read_bytes() == b"kept"


# --- decompress --json ---------------------------------------------------------------------------


def _bundle_with_metadata(metadata: bytes) -> bytes:
    """A bundle, checksums valid, whose one level-2 entry has ``metadata`` (msgpack bytes made
    by hand: msgpack's packer nests no deeper than 511) as its metadata."""
    from memcore import codec, frames
    from memcore.compression import FORMAT, FORMAT_VERSION

    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    head = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "compressed_at": now,
        "level1": [],
        "level3": [],
        "level4": ["all", 0, None, None],
    }
    body = b"".join(codec.packb(k) + codec.packb(v) for k, v in head.items())
    row = b"".join(codec.packb(v) for v in ("id", "summary")) + metadata
    row += codec.packb(now) + codec.packb("normal")
    payload = b"\x87" + body + codec.packb("level2") + b"\x91\x95" + row
    frame = frames.compress(payload, "lz4", 9)
    fields = codec._BUNDLE_FIELDS.pack(
        codec.BUNDLE_MAGIC, codec.BUNDLE_VERSION, 0, codec.xxh64(frame), len(frame), len(payload)
    )
    head_bytes = codec._FRAME_HEAD.pack(codec.SKIPPABLE_MAGIC, codec._HEADER_CONTENT_SIZE)
    return head_bytes + fields + codec._U64.pack(codec.xxh64(fields)) + frame


def _nested(depth: int) -> bytes:
    return b"\x81\xa1a" * depth + b"\x80"  # {"a": {"a": ... {}}}


def test_json_of_metadata_nested_a_thousand_deep(tmp_path: Path) -> None:
    """msgpack reads values nested 1,000 deep; ``--json`` ended in a RecursionError
    traceback (its walk, then ``json.dumps``, recursed)."""
    (tmp_path / "deep.mcz").write_bytes(_bundle_with_metadata(_nested(1000)))
    proc = _decompress("--json", str(tmp_path / "deep.mcz"))
    assert proc.returncode == 0, proc.stderr[-500:]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # (Python's own reader recurses)
    try:
        value = json.loads(proc.stdout)["level2"]["items"][0]["metadata"]
    finally:
        sys.setrecursionlimit(limit)
    for _ in range(1000):
        value = value["a"]
    assert value == {}


def test_json_of_a_value_nested_past_msgpacks_limit_says_why(tmp_path: Path) -> None:
    """It said ``malformed msgpack payload:`` and nothing after (msgpack's StackError is
    raised with no message)."""
    (tmp_path / "deeper.mcz").write_bytes(_bundle_with_metadata(_nested(2000)))
    proc = _decompress("--json", str(tmp_path / "deeper.mcz"))
    assert proc.returncode == EXIT_ERROR
    assert_one_line_error(proc.stderr.decode(), "malformed msgpack payload: nested too deep")


def test_json_of_floats_that_are_not_finite_is_valid_json(tmp_path: Path) -> None:
    """``json.dumps`` wrote bare NaN and Infinity, which no JSON reader takes: they are
    strings now."""
    from memcore import codec

    metadata = codec.packb({"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "one": 1.5})
    (tmp_path / "nan.mcz").write_bytes(_bundle_with_metadata(metadata))
    proc = _decompress("--json", str(tmp_path / "nan.mcz"))
    assert proc.returncode == 0, proc.stderr

    def refuse(word: str) -> None:
        raise AssertionError(f"{word} is no JSON")

    value = json.loads(proc.stdout, parse_constant=refuse)
    assert value["level2"]["items"][0]["metadata"] == {
        "nan": "NaN",
        "inf": "Infinity",
        "-inf": "-Infinity",
        "one": 1.5,
    }


def test_json_of_a_bundle_is_what_json_dumps_wrote(work: Path) -> None:
    """Written without recursion, the JSON of an ordinary bundle is still ``json.dumps(...,
    indent=2)`` of it, character for character."""
    from memcore.cli.bundles import bundle_json

    data = compress(work, "-").stdout
    proc = _decompress("--json", "-", stdin=data)
    assert proc.returncode == 0, proc.stderr
    value = json.loads(proc.stdout)
    assert proc.stdout.decode() == json.dumps(value, indent=2) + "\n"
    assert bundle_json(value) == json.dumps(value, indent=2)
    assert len(value["level2"]["items"]) + len(value["level1"]["items"]) > 0
