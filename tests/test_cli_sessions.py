"""``memcore sessions``: the saved Claude Code sessions, project by project, as session-start and
the MCP ``sessions`` tool see them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memcore.cli import main
from memcore.model import MemoryItem
from memcore.sync import DistributedMemoryManager
from tests.claude_code_support import DATA
from tests.claude_hooks_support import EARLIER, OTHER_PROJECT_FILE, PROJECT, _hook, _payload, _place

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def _save(tmp_path: Path, url: str, source: str, cwd: str) -> str:
    transcript, session = _place(tmp_path / "claude", source, cwd)
    code, _, err = _hook("session-end", _payload("SessionEnd", session, transcript, cwd), url)
    assert code == 0, err
    assert not err, err
    return session


@needs_data
def test_sessions_are_listed_by_project_the_latest_active_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    ours = [_save(tmp_path, url, name, PROJECT) for name in EARLIER]
    other = _save(tmp_path, url, OTHER_PROJECT_FILE, "/home/marco/projects/spotter")
    assert main(["sessions", "--store", url]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        "/Users/soph/Work/entire/devenv/cli (2 sessions)",  # (projects by their folder)
        "/home/marco/projects/spotter (1 session)",
    ]
    lines = blocks[0].splitlines()[1:]
    assert {line.split()[0] for line in lines} == {s[:8] for s in ours}
    times = [line.split("  ")[2] for line in lines]
    assert times == sorted(times, reverse=True)  # the latest active first
    assert all(t.endswith(" UTC") for t in times)
    assert other[:8] in blocks[1]
    # each line says what the session was about: its digest's first statement
    assert all(len(line.split("  ")[-1]) > 10 for line in lines)


@needs_data
def test_a_project_folder_lists_its_own_sessions_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    ours = _save(tmp_path, url, EARLIER[0], PROJECT)
    _save(tmp_path, url, OTHER_PROJECT_FILE, "/home/marco/projects/spotter")
    # a folder inside the project gets the project's memory, as a session started there does
    assert main(["sessions", "--store", url, "--project", f"{PROJECT}/cmd/entire"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{PROJECT} (1 session)\n  {ours[:8]}  ")
    assert "spotter" not in out
    assert main(["sessions", "--store", url, "--project", "/elsewhere"]) == 1
    assert "no Claude Code session of the project of /elsewhere" in capsys.readouterr().err


def test_no_store_or_no_saved_session_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["sessions", "--store", missing]) == 1
    assert "no memcore store" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()  # read-only: nothing made
    url = f"sqlite:///{tmp_path / 'memory.db'}"

    async def one_note() -> None:
        manager = DistributedMemoryManager(url, replica_id="w")
        manager.set("notes", "n1", MemoryItem("n1", "Deploys go out on Fridays."))
        await manager.sync_session_memory("notes")
        await manager.close()

    asyncio.run(one_note())
    assert main(["sessions", "--store", url]) == 1
    err = capsys.readouterr().err
    assert "no Claude Code session of the store is saved" in err
    assert "memcore import-claude-code" in err


@needs_data
def test_a_damaged_registry_record_hides_no_other_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One flipped byte in one project's registry record made the whole list say "no Claude
    Code session of the store is saved": the rest is listed, the damaged one named with its
    repair."""
    from memcore.claude_code.project import registry_key, registry_session
    from memcore.stores import open_store
    from memcore.stores.sqlite import SQLiteStore

    url = f"sqlite:///{tmp_path / 'memory.db'}"
    ours = _save(tmp_path, url, EARLIER[0], PROJECT)
    other = _save(tmp_path, url, OTHER_PROJECT_FILE, "/home/marco/projects/spotter")

    def damage(session: str, cwd: str) -> str:
        async def flip() -> None:
            store = open_store(url)
            assert isinstance(store, SQLiteStore)
            name, key = registry_session(cwd), registry_key(session)
            record = (await store.read_snapshot(name)).records[key]
            store._tamper(name, key, record[:30] + bytes([record[30] ^ 0xFF]) + record[31:])
            await store.close()

        asyncio.run(flip())
        return registry_session(cwd)

    hurt = damage(other, "/home/marco/projects/spotter")
    assert main(["sessions", "--store", url]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{PROJECT} (1 session)\n  {ours[:8]}  ")
    assert "spotter" not in captured.out
    assert captured.err.count("\n") == 1
    assert f"session '{hurt}': 1 damaged or unreadable record(s) left out" in captured.err
    assert f"`memcore recover --store {url} {hurt}`" in captured.err
    assert main(["sessions", "--store", url, "--project", "/home/marco/projects/spotter"]) == 1
    assert f"could be listed: the saved list of '{hurt}' is damaged" in capsys.readouterr().err
    damage(ours, PROJECT)  # nothing left to list: said as damage, not as "nothing saved"
    assert main(["sessions", "--store", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no Claude Code session of the store could be listed" in err
    assert "memcore recover --store" in err
    assert main(["recover", "--store", url, hurt]) == 0
    capsys.readouterr()
    assert main(["sessions", "--store", url]) == 0
    assert other[:8] in capsys.readouterr().out
