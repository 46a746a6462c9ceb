"""``memcore demo`` run again on the same store: each run's figures are its own, the conflict is
two edits of one common version, a closed stdout ends it like every command, and ``--help``
names every step it runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.cli import EXIT_BROKEN_PIPE, main
from memcore.cli._session_reads import read_state
from memcore.demo import DEMO_SESSION, run_demo
from memcore.model import MemoryItem
from memcore.stores import open_store


@pytest.fixture(autouse=True)
def no_transcripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's own ~/.claude out of the tests: the demo runs on notes."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "no-claude"))


def _stored(url: str) -> dict[str, MemoryItem]:
    async def read() -> dict[str, MemoryItem]:
        store = open_store(url)
        try:
            return await read_state(store, url, DEMO_SESSION)
        finally:
            await store.close()

    return asyncio.run(read())


@pytest.fixture(name="store_url", params=["sqlite", "redis"])
def store_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path}/demo.db"


def test_a_second_run_starts_its_session_from_nothing(store_url: str) -> None:
    url = store_url
    first = asyncio.run(run_demo(url, notes=40, seed=3))
    assert first.sync["cleared_items"] is None  # nothing there yet
    second = asyncio.run(run_demo(url, notes=25, seed=4))  # other notes, other ids
    assert second.sync["cleared_items"] == 40
    assert second.sync["pull_items"] == 25
    assert second.items == 25
    assert len(_stored(url)) == 25


def test_each_replica_edits_the_item_as_it_holds_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    report = asyncio.run(run_demo(url, notes=40, seed=5))
    state = _stored(url)
    kept = state[report.sync["conflict_key"]]
    winner = report.sync["conflict_winner"]
    assert kept.metadata["edited_by"] == winner
    # one edit on the common version, not the winner's edit stacked on the loser's
    assert kept.content.count("(edited on the") == 1
    assert kept.content.endswith(f"\n(edited on the {winner} replica)")
    assert sum("(edited on the" in item.content for item in state.values()) == 3


def _demo(tmp_path: Path, *args: str, stdout: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "memcore", "demo", "--notes", "30", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={
            **os.environ,
            "MEMCORE_HOME": str(tmp_path / "home"),
            "CLAUDE_CONFIG_DIR": str(tmp_path / "no-claude"),
        },
    )


def test_the_command_says_it_emptied_the_session(tmp_path: Path) -> None:
    outputs = []
    for seed in ("9", "10"):
        proc = _demo(tmp_path, "--seed", seed)
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        outputs.append(out.decode())
    assert "emptied first" not in outputs[0]
    assert "'memcore-demo' emptied first of an earlier run's 30 item(s)" in outputs[1]
    assert "30 pulled by 'right'" in outputs[1]


def test_a_closed_stdout_ends_the_demo_quietly(tmp_path: Path) -> None:
    proc = _demo(tmp_path)  # `memcore demo | head -0`: the reader is gone before any output
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=240) == EXIT_BROKEN_PIPE
    assert err == ""


def test_demo_help_names_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for step in ("sync", "compress", "overflow", "prefetcher", "recall", "digest"):
        assert step in text
    assert "emptied first" in text


def test_hook_listing_gives_the_budget_default() -> None:
    from memcore.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert isinstance(commands, dict)
    assert "default 2000" in " ".join(commands["hook"].format_help().split())
