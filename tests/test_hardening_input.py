"""Issue 14, bad input: decompression bombs, damaged SQLite files, junk transcripts, and the
small things a new user hits (exit codes, messages, permissions, the distribution name).

Every case here is one the adversarial probe found; each test fails on the code before the fix.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import stat
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import lz4.frame
import pytest
import zstandard

from memcore import DistributedMemoryManager, MemoryItem, codec
from memcore.compression import decompress_memory_hierarchy
from memcore.errors import CorruptedMemoryError, MemcoreError, NotFoundError, ValidationError
from memcore.stores import open_store

MIB = 1 << 20

# --- item 5: decompression bombs -------------------------------------------------------------


def _zeros(total: int) -> Iterator[bytes]:
    chunk = bytes(MIB)
    for _ in range(total // MIB):
        yield chunk


def _zstd_frame(total: int) -> bytes:
    """A zstd frame of ``total`` zero bytes, its content size recorded, built a MiB at a time."""
    compressor = zstandard.ZstdCompressor(level=1, write_checksum=True, write_content_size=True)
    stream = compressor.compressobj(size=total)
    return b"".join(stream.compress(chunk) for chunk in _zeros(total)) + stream.flush()


def _lz4_frame(total: int) -> bytes:
    compressor = lz4.frame.LZ4FrameCompressor(content_checksum=True)
    parts = [compressor.begin(source_size=total)]
    parts += [compressor.compress(chunk) for chunk in _zeros(total)]
    return b"".join([*parts, compressor.flush()])


def _bundle(frame: bytes, payload_len: int) -> bytes:
    """A bundle whose header is self-consistent (both checksums valid) around ``frame``."""
    fields = struct.pack("<4sHIQQQ", b"MCBN", 1, 0, codec.xxh64(frame), len(frame), payload_len)
    head = struct.pack("<II", codec.SKIPPABLE_MAGIC, len(fields) + 8)
    return head + fields + codec.xxh64(fields).to_bytes(8, "little") + frame


def _peak_while(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(CorruptedMemoryError):
            fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module", params=["zstd", "lz4"])
def bomb(request: pytest.FixtureRequest) -> bytes:
    """Valid checksums, a frame that really holds 256 MiB (of zeros, not one msgpack value)."""
    total = 256 * MIB
    frame = _zstd_frame(total) if request.param == "zstd" else _lz4_frame(total)
    return _bundle(frame, total)


def test_a_256_mib_bomb_is_refused_on_little_memory(bomb: bytes) -> None:
    assert len(bomb) < 2 * MIB  # zstd: ~8 KiB, lz4: ~1 MiB
    peak = _peak_while(lambda: decompress_memory_hierarchy(bomb))
    assert peak < 128 * MIB, f"{peak / MIB:.0f} MiB spent on a rejected bundle"


def test_a_bomb_fails_as_soon_as_its_payload_is_not_one_value(bomb: bytes) -> None:
    with pytest.raises(CorruptedMemoryError, match="not one value"):
        codec.decode_bundle(bomb)


def test_a_declared_size_over_the_limit_is_refused_before_decoding() -> None:
    payload = codec.packb("x" * 1000)
    bundle = _bundle(zstandard.ZstdCompressor(write_content_size=True).compress(payload), 4 << 30)
    with pytest.raises(CorruptedMemoryError, match="over the"):
        codec.decode_bundle(bundle)
    honest = codec.encode_bundle("x" * 1000)
    assert codec.decode_bundle(honest) == "x" * 1000
    with pytest.raises(CorruptedMemoryError, match="limit"):  # the limit is the caller's too
        codec.decode_bundle(honest, max_payload=100)
    assert codec.MAX_BUNDLE_PAYLOAD == 1 << 30
    with pytest.raises(ValidationError):
        codec.decode_bundle(honest, max_payload=-1)


@pytest.mark.parametrize("name", ["zstd", "lz4"])
def test_a_large_honest_bundle_still_decodes(name: str) -> None:
    value = [bytes(MIB)] * 12  # 12 MiB of payload, a high but real ratio
    blob = codec.encode_bundle(value, codec=name)  # type: ignore[arg-type]
    assert codec.decode_bundle(blob) == value


def test_the_cli_refuses_a_bomb_in_one_line(
    bomb: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from memcore.cli import EXIT_ERROR, main

    path = tmp_path / "bomb.mcz"
    path.write_bytes(bomb)
    assert main(["decompress", str(path)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "memcore decompress: error: bundle payload is not one value" in err


async def test_a_bomb_posing_as_a_backup_is_reported_on_little_memory(
    tmp_path: Path, bomb: bytes
) -> None:
    from memcore.recovery import verify_session

    url = f"sqlite:///{tmp_path}/b.db"
    manager = DistributedMemoryManager(url, replica_id="a")
    manager.set("s", "k", MemoryItem("k", "hello"))
    await manager.sync_session_memory("s")
    await manager.close()
    store = open_store(url)
    try:
        await store.put_backup("s", 1, bomb)
        tracemalloc.start()
        try:
            report = await verify_session("s", store, deep=True)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        await store.close()
    assert peak < 128 * MIB
    assert not report.ok
    assert "not one value" in report.describe()


@pytest.mark.parametrize(
    "head",
    [b"\xdd\xff\xff\xff\xf0", b"\xc6\x7f\xff\xff\xf0", b"\xdf\xff\xff\xff\xf0"],
    ids=["array", "bin", "map"],
)
def test_a_length_field_past_the_claimed_size_fails_at_once(head: bytes) -> None:
    """A payload opening with a container or string longer than the whole claimed payload."""
    total = 64 * MIB
    payload_frame = zstandard.ZstdCompressor(write_content_size=True).compressobj(size=total)
    frame = payload_frame.compress(head + bytes(MIB - len(head)))
    frame += b"".join(payload_frame.compress(c) for c in list(_zeros(total))[1:])
    frame += payload_frame.flush()
    peak = _peak_while(lambda: codec.decode_bundle(_bundle(frame, total)))
    assert peak < 32 * MIB


# --- item 6: a damaged SQLite file raises CorruptedMemoryError, naming what is wrong ----------


async def _stored(path: Path) -> None:
    manager = DistributedMemoryManager(f"sqlite:///{path}", replica_id="a")
    manager.set("s", "k", MemoryItem("k", "hello world"))
    await manager.sync_session_memory("s")
    await manager.close()


@pytest.fixture(scope="module")
def intact_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One session, one key, one journal entry, the WAL checkpointed into the file."""
    path = tmp_path_factory.mktemp("intact") / "m.db"
    asyncio.run(_stored(path))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def _damaged(intact: Path, tmp_path: Path, *statements: str) -> str:
    path = tmp_path / "damaged.db"
    shutil.copy(intact, path)
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        if statement == _REOPEN:  # an edited schema is read again by a new connection
            conn.close()
            conn = sqlite3.connect(path, isolation_level=None)
        else:
            conn.execute(statement)
    conn.close()
    return f"sqlite:///{path}"


_REOPEN = "reopen"


async def _read_everything(url: str) -> None:
    store = open_store(url)
    try:
        await store.list_sessions()
        await store.version("s")
        await store.read_snapshot("s")
        await store.read_changes("s", 0)
        await store.read_journal("s")
        await store.list_backups("s")
    finally:
        await store.close()


# NOT NULL is in the schema: a NULL cell needs the schema edited first, as damage would
_WITHOUT_NOT_NULL = (
    "PRAGMA writable_schema = ON",
    "UPDATE sqlite_master SET sql = replace(sql, 'record BLOB NOT NULL', 'record BLOB') "
    "WHERE name = 'commits'",
    _REOPEN,
)


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (("PRAGMA user_version = 0",), "schema version is 0"),
        (("PRAGMA user_version = -3",), "schema version is -3"),
        (("UPDATE items SET record = 'text'",), "record of key 'k' of session 's' is not a blob"),
        (("UPDATE items SET record = 4398046511104",), "is not a blob (found int)"),
        ((*_WITHOUT_NOT_NULL, "UPDATE commits SET record = NULL"), "its record is not a blob"),
        (("UPDATE meta SET version = 'x'",), "version of session 's' is not an integer"),
        (("UPDATE meta SET digest = 'x'",), "digest is not an integer"),
        (("UPDATE commits SET version = 'x'",), "journal entry of session 's': its version"),
        (("ALTER TABLE items RENAME COLUMN record TO r",), "table 'items' lacks record"),
    ],
    ids=[
        "user_version-0",
        "user_version-negative",
        "text-record",
        "integer-record",
        "null-record",
        "text-version",
        "text-digest",
        "text-journal-version",
        "missing-column",
    ],
)
async def test_a_damaged_cell_or_schema_is_named(
    intact_db: Path, tmp_path: Path, statements: tuple[str, ...], named: str
) -> None:
    url = _damaged(intact_db, tmp_path, *statements)
    with pytest.raises(CorruptedMemoryError, match=named.replace("(", r"\(").replace(")", r"\)")):
        await _read_everything(url)


def test_every_flipped_schema_byte_raises_only_memcore_errors(
    intact_db: Path, tmp_path: Path
) -> None:
    """The probe's flipped byte in ``sqlite_master`` gave UnicodeDecodeError: every byte of the
    schema text, flipped, either still reads or raises a MemcoreError."""
    data = intact_db.read_bytes()
    tables = [data.index(f"CREATE TABLE {name}".encode()) for name in ("meta", "items", "commits")]
    start, end = min(tables), max(tables) + 200
    path = tmp_path / "flipped.db"
    outcomes: dict[str, int] = {}
    for offset in range(start, end, 7):
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        path.write_bytes(damaged)
        try:
            asyncio.run(_read_everything(f"sqlite:///{path}"))
            outcome = "read"
        except MemcoreError as exc:
            outcome = type(exc).__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("CorruptedMemoryError", 0) > 0, outcomes


def test_the_cli_reports_a_zeroed_schema_version_in_one_line(
    intact_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from memcore.cli import EXIT_ERROR, main

    url = _damaged(intact_db, tmp_path, "PRAGMA user_version = 0")
    for command in (["inspect", "--store", url], ["verify", "--store", url], ["inspect", url, "s"]):
        assert main(command) == EXIT_ERROR
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert "schema version is 0" in err


# --- item 9: errors a new user meets ------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def test_start_auto_sync_outside_a_running_loop_is_a_memcore_error() -> None:
    manager = DistributedMemoryManager("memory://", replica_id="a")
    with pytest.raises(ValidationError, match="running event loop"):
        manager.start_auto_sync()
    assert not manager.auto_sync_running


def test_the_token_budget_example_refuses_a_tiny_budget_without_a_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "token_budget.py"), "100"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "budget 100 refused: critical items alone hold" in proc.stdout


# --- item 14: the distribution name -------------------------------------------------------------


def _distribution_name() -> str:
    """``[project] name`` (read by pattern: tomllib is 3.11+, memcore supports 3.10)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^\[project\]$(?:\n(?!\[).*)*?\nname = "([^"]+)"', text, re.MULTILINE)
    assert found is not None
    return found.group(1)


#: Names on PyPI held by other projects (checked when the name was chosen).
_TAKEN = {"memcore", "memcore-ai", "memcore-kernel", "memcore-omnix", "memcore-sdk"}


def test_install_instructions_name_our_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    name = _distribution_name()
    assert name == "memcore-native"
    assert name not in _TAKEN
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"The distribution is named **`{name}`**" in readme
    assert "not published on PyPI yet: install it from a checkout" in readme
    for taken in _TAKEN:  # no instruction installs someone else's project
        for form in (f"pip install {taken}[", f"pip install '{taken}[", f'pip install "{taken}['):
            assert form not in readme
    assert "memcore_native-*.whl" in (ROOT / "scripts" / "run_tests.sh").read_text()
    # the error a user without the redis package sees names what to install
    for module in [m for m in sys.modules if m == "redis" or m.startswith("redis.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "redis", None)  # as if it were not installed
    # (the package itself, by the interpreter's own pip: no index holds our name yet)
    with pytest.raises(MemcoreError, match=r"-m pip install 'redis>=5' \(the \[redis\] extra\)"):
        open_store("redis://127.0.0.1:6379/0")


# --- item 15: building without a C compiler ----------------------------------------------------


def test_a_build_without_a_compiler_says_what_to_install(tmp_path: Path) -> None:
    """setup.py run on a one-line kernel with ``CC`` pointing nowhere (fast: one tiny module)."""
    shutil.copy(ROOT / "setup.py", tmp_path / "setup.py")
    native = tmp_path / "src" / "memcore" / "_native"
    native.mkdir(parents=True)
    (native / "probe.pyx").write_text("def probe():\n    return 1\n")
    env = {**os.environ, "CC": "/nonexistent/cc", "MEMCORE_NO_EXTENSIONS": ""}
    proc = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", "lib", "--build-temp", "t"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode != 0
    assert "a C compiler and the Python development headers" in proc.stderr
    assert "MEMCORE_NO_EXTENSIONS=1 pip install ." in proc.stderr
    assert "/nonexistent/cc" in proc.stderr  # the cause stays visible


# --- item 12: files memcore writes are private ---------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_a_new_sqlite_store_is_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    folder = tmp_path / "a" / "b"

    async def while_open() -> dict[str, int]:
        store = open_store(f"sqlite:///{folder}/m.db")
        try:
            await store.version("s")
            return _modes(tmp_path / "a", folder, *folder.iterdir())
        finally:
            await store.close()

    old = os.umask(umask)
    try:
        modes = asyncio.run(while_open())
    finally:
        os.umask(old)
    assert modes == {"a": 0o700, "b": 0o700, "m.db": 0o600, "m.db-wal": 0o600, "m.db-shm": 0o600}


def _modes(*paths: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in paths}


async def test_read_only_and_create_false_never_make_a_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/none/m.db"
    for options in ({"read_only": True}, {"create": False}):
        store = open_store(url, **options)
        with pytest.raises(NotFoundError, match="no memcore store"):
            await store.list_sessions()
        await store.close()
    assert not (tmp_path / "none").exists()
    await _stored(tmp_path / "m.db")
    store = open_store(f"sqlite:///{tmp_path}/m.db", read_only=True)
    try:
        assert await store.list_sessions() == ["s"]
        with pytest.raises(MemcoreError):  # a read-only store refuses writes
            await store.put_backup("s", 1, b"x")
    finally:
        await store.close()


# --- numbers past a float's range (a later probe) ----------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: MemoryItem("a", "x", created_at=10**309),
        lambda: __import__("memcore").session_digest([], 10**309),
        lambda: __import__("memcore.overflow").overflow.SessionState([], 10**309),
        lambda: DistributedMemoryManager(storage_backend="memory://", sync_interval=10**309),
        lambda: DistributedMemoryManager(storage_backend="memory://", sync_interval=10**5000),
    ],
    ids=["created_at", "digest_budget", "overflow_budget", "sync_interval", "sync_interval_5000"],
)
def test_an_int_past_a_floats_range_is_a_validation_error(call: Callable[[], object]) -> None:
    """Each raised a bare ``OverflowError`` (``math.isfinite`` or a budget's float shares)."""
    with pytest.raises(ValidationError):
        call()


@pytest.mark.parametrize(
    "args",
    [
        ["digest", "x", "--budget", str(10**309)],
        ["demo", "--no-transcripts", "--store", "memory://", "--budget", str(10**13)],
        ["bench", "--rounds", str(10**9)],
    ],
    ids=["digest", "demo", "bench"],
)
def test_a_count_beyond_any_use_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    """A budget of 10**309 was a traceback; ``bench --rounds 10**9`` ran until killed."""
    from tests.cli_support import run_cli

    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert "must be at most" in err or "at most 1000 rounds" in err
