"""The ``memcore`` commands doing their work against a temporary ``$MEMCORE_HOME``: importing
transcripts, inspecting, compressing and decompressing, verifying, backing up and recovering,
bench and digest (the command line itself, its help and its one-line errors: ``test_cli.py``).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import pytest

import memcore
from memcore.cli import EXIT_ERROR, EXIT_USAGE
from tests.claude_code_support import PROJECT, SESSION
from tests.cli_support import (  # noqa: F401  (the fixtures projects and store_url)
    assert_one_line_error,
    projects_fixture,
    run_cli,
    store_url_fixture,
)


def test_import_dry_run_reports_malformed_lines(
    projects: Path, capsys: pytest.CaptureFixture[str], memcore_home: Path
) -> None:
    code, out, _ = run_cli(capsys, "import-claude-code", str(projects), "--dry-run")
    assert code == 0
    assert "read 3 transcript file(s): 1 session(s)" in out
    assert "4 malformed line(s) skipped" in out
    assert f"{SESSION}.jsonl:" in out
    assert "not JSON" in out
    assert "queue-operation 1" in out
    assert "billed" in out
    assert "dry run: nothing stored" in out
    assert not list(memcore_home.iterdir())


def test_import_of_several_paths_reads_each_transcript_once(
    projects: Path, capsys: pytest.CaptureFixture[str], memcore_home: Path
) -> None:
    """Files named one by one (as a shell glob gives them) and a folder holding them too: each
    transcript is read once, the sub-agents after their session's file."""
    folder = projects / PROJECT.replace("/", "-")
    main_file, agent = folder / f"{SESSION}.jsonl", folder / "agent-7f7f7f7f.jsonl"
    code, out, err = run_cli(
        capsys, "import-claude-code", str(agent), str(main_file), str(projects), "--dry-run"
    )
    assert code == 0, err
    assert "read 3 transcript file(s): 1 session(s)" in out
    # the session's file named alone brings its sub-agents: the one named too is read once
    code, out, err = run_cli(capsys, "import-claude-code", str(agent), str(main_file), "--dry-run")
    assert code == 0, err
    assert "read 3 transcript file(s): 1 session(s)" in out
    code, out, err = run_cli(capsys, "import-claude-code", str(agent), "--dry-run")
    assert code == 0, err
    assert "read 1 transcript file(s): 1 session(s)" in out
    code, _, err = run_cli(capsys, "import-claude-code", str(main_file), str(folder / "nope"))
    assert code != 0
    assert_one_line_error(err, "no such transcript file or folder")


def test_import_then_inspect_compress_decompress_verify(
    projects: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "import-claude-code", str(projects), "--store", store_url)
    assert code == 0, err
    assert f"stored session {SESSION!r}" in out
    assert "8 accesses in its access log" in out  # 4 main + 2 from each of two sub-agents

    code, out, err = run_cli(capsys, "inspect", store_url)
    assert code == 0, err
    assert SESSION in out

    code, out, err = run_cli(capsys, "inspect", store_url, SESSION)
    assert code == 0, err
    assert "preference" in out
    assert "Always run the tests" in out

    bundle = tmp_path / "session.mcz"
    code, out, err = run_cli(capsys, "compress", store_url, SESSION, "-o", str(bundle))
    assert code == 0, err
    assert bundle.is_file()
    assert "levels:" in out

    code, out, err = run_cli(capsys, "decompress", str(bundle))
    assert code == 0, err
    assert "level1" in out
    assert "level4" in out

    code, out, err = run_cli(capsys, "decompress", str(bundle), "--json")
    assert code == 0, err
    assert set(json.loads(out)) >= {"level1", "level2", "level3", "level4"}

    code, out, err = run_cli(capsys, "verify", store_url)
    assert code == 0, err
    assert "ok" in out


def test_backup_then_a_corrupted_record_is_found_and_recovered(
    projects: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "import-claude-code", str(projects), "--store", store_url)
    assert code == 0, err
    code, out, err = run_cli(capsys, "backup", store_url, SESSION, "--keep", "2")
    assert code == 0, err
    assert f"backup 1 of {SESSION!r}" in out
    assert "lz4 frame" in out
    code, out, err = run_cli(capsys, "backup", store_url, SESSION, "--keep", "2", "--codec", "zstd")
    assert code == 0, err
    assert f"backup 2 of {SESSION!r}" in out
    assert "zstd frame" in out

    from memcore.stores import open_store
    from memcore.stores.sqlite import SQLiteStore

    async def flip_one_byte() -> None:
        store = open_store(store_url)
        assert isinstance(store, SQLiteStore)
        snapshot = await store.read_snapshot(SESSION)
        key, record = sorted(snapshot.records.items())[0]
        damaged = bytearray(record)
        damaged[len(damaged) // 2] ^= 0x20
        store._tamper(SESSION, key, bytes(damaged))
        await store.close()

    asyncio.run(flip_one_byte())
    code, out, err = run_cli(capsys, "verify", store_url, SESSION)
    assert code == EXIT_ERROR
    assert "1 corrupted" in out

    code, out, err = run_cli(capsys, "recover", store_url, SESSION)
    assert code == 0, err
    assert out.startswith("recovered:")
    code, out, err = run_cli(capsys, "verify", store_url, SESSION)
    assert code == 0, out
    assert "all ok" in out


def test_import_into_one_named_session(
    projects: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main_file = projects / PROJECT.replace("/", "-") / f"{SESSION}.jsonl"
    code, out, err = run_cli(
        capsys, "import-claude-code", str(main_file), "--store", store_url, "--session", "mine"
    )
    assert code == 0, err
    assert "stored session 'mine'" in out


def test_compress_with_zstd_then_decompress(
    projects: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "import-claude-code", str(projects), "--store", store_url)
    assert code == 0, err
    for name in ("lz4", "zstd"):
        bundle = tmp_path / f"session.{name}.mcz"
        code, out, err = run_cli(
            capsys, "compress", store_url, SESSION, "-o", str(bundle), "--codec", name
        )
        assert code == 0, err
        assert f"{name} frame" in out
        code, out, err = run_cli(capsys, "decompress", str(bundle))
        assert code == 0, err
        assert f"{name} frame" in out.splitlines()[0]
        assert "level4" in out
    code, out, err = run_cli(
        capsys, "compress", store_url, SESSION, "-o", str(tmp_path / "x"), "--codec", "zstd",
        "--level", "1",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = run_cli(
        capsys, "compress", store_url, SESSION, "-o", str(tmp_path / "y"), "--level", "40"
    )
    assert code == EXIT_USAGE  # a bad argument, as the README says
    assert_one_line_error(err, "level must be in 0..16")
    assert not (tmp_path / "y").exists()
    code, _, err = run_cli(
        capsys, "compress", store_url, SESSION, "-o", str(tmp_path / "z"), "--codec", "gzip"
    )
    assert code == 2  # argparse refuses an unknown choice
    assert "invalid choice" in err


def test_bench_prints_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "bench", "--rounds", "1", "--quick")
    assert code == 0, err
    for case in ("xxh64", "state_checksum", "count_tokens", "summaries", "simhash", "pattern"):
        assert case in out
    assert "leak-rate fit" in out
    assert "not available" not in out  # every kernel family is there, in both twins
    if memcore.NATIVE:
        assert re.search(r"\d+\.\dx", out)  # a measured ratio, not a dash
    else:
        assert "pure twins only" in out


def test_bench_without_outside_libraries_says_how_to_add_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint names the extra as it is written: the console's markup took ``[bench]`` for a
    style and printed "pip install 'memcore-native'", the package the user already has."""
    for name in ("xxhash", "numpy"):
        monkeypatch.setitem(sys.modules, name, None)  # (importing them raises ImportError)
    code, out, err = run_cli(capsys, "bench", "--rounds", "1", "--quick")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "the [bench] extra adds them" in flat
    assert "-m pip install '.[bench]'" in flat


def test_digest_within_too_small_a_budget_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A digest with no line in it is no answer: a one-line error naming a budget that works,
    not a blank line and exit 0."""
    from memcore import DistributedMemoryManager

    url = f"sqlite:///{tmp_path / 'memory.db'}"

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        manager.set("s", "k", {"content": "The release is tagged by `make release`."})
        await manager.sync_session_memory("s")
        await manager.close()

    asyncio.run(fill())
    code, out, err = run_cli(capsys, "digest", "s", "--store", url, "--budget", "1")
    assert code == EXIT_ERROR
    assert out == ""
    assert_one_line_error(err, "a budget of 1 token holds no line")
    code, out, _ = run_cli(capsys, "digest", "s", "--store", url, "--budget", "100")
    assert code == 0
    assert "make release" in out


def test_digest_of_a_transcript_file_reads_it_with_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``memcore digest PATH``: a transcript file (named by a path) is digested straight from
    the file, its sub-agents' files beside it joined, and no store is made; a path that is no
    transcript, or none at all, is a one-line error."""
    from memcore import session_digest
    from memcore.claude_code import parse_transcripts
    from tests.claude_code_support import DATA

    if not DATA.is_dir():
        pytest.skip("the shared transcripts are not here")
    monkeypatch.setenv("MEMCORE_HOME", str(tmp_path / "home"))
    main_file = tmp_path / "258c7280.jsonl"
    main_file.write_bytes((DATA / "marot__spotter__258c7280.jsonl").read_bytes())
    agent = tmp_path / "agent-a881341.jsonl"
    agent.write_bytes((DATA / "marot__spotter__258c7280__agent-a881341.jsonl").read_bytes())
    code, out, err = run_cli(capsys, "digest", str(main_file), "--budget", "1500")
    assert (code, err) == (0, "")
    items = [i for t in parse_transcripts([main_file, agent]) for i in t.items]
    assert out == session_digest(items, 1500).text + "\n"
    assert not (tmp_path / "home").exists()  # (no store made)
    other = tmp_path / "notes.jsonl"
    other.write_text('{"a": 1}\n', encoding="utf-8")
    for path, said in ((other, "holds no Claude Code transcript"), (tmp_path / "no.jsonl", "no ")):
        code, out, err = run_cli(capsys, "digest", str(path))
        assert (code, out) == (EXIT_ERROR, "")
        assert_one_line_error(err, said)
    code, out, err = run_cli(capsys, "digest", str(main_file), "--store", "sqlite:///x.db")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "drop --store")
