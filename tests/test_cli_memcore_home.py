"""A relative ``$MEMCORE_HOME`` (``MEMCORE_HOME=data``) is refused, as a relative ``$HOME`` is
no home: the default store under it was taken from the working folder, another store in each
folder a command ran in. Every command that needs the default store says so in one line (exit
1) and makes nothing; ``--help`` still prints and says what is wrong; a store named with
``--store`` still works. Each case a real process, with its own ``$HOME`` under ``tmp_path``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.cli import EXIT_ERROR
from memcore.errors import NoHomeError
from memcore.stores import default_url
from tests.damaged_sqlite import fill_store


def _memcore(tmp_path: Path, work: Path, *args: str, home: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(tmp_path / "home"), "MEMCORE_HOME": home}
    env.pop("XDG_DATA_HOME", None)
    env.pop("CLAUDE_CONFIG_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "memcore", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("relative", ["data", "./data", "rel/memcore"])
def test_a_relative_memcore_home_is_refused_by_every_command(tmp_path: Path, relative: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    commands = (["inspect"], ["verify"], ["search", "lint"], ["backup", "alpha"], ["sessions"])
    for command in (*commands, ["demo", "--notes", "12", "--no-transcripts"]):
        done = _memcore(tmp_path, work, *command, home=relative)
        assert done.returncode == EXIT_ERROR, (command, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert f"$MEMCORE_HOME is {relative!r}, not an absolute path" in lines[0]
        assert "--store URL" in lines[0]
    assert sorted(work.iterdir()) == []  # (no store, no folder under the working one)
    assert not (tmp_path / "home").exists()  # (nor one elsewhere in its place)


def test_the_help_says_what_is_wrong_and_a_named_store_works(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    helped = _memcore(tmp_path, work, "inspect", "--help", home="data")
    assert helped.returncode == 0, helped.stderr
    flat = " ".join(helped.stdout.split())
    assert "memory.db in $MEMCORE_HOME, which must be an absolute path, not 'data'" in flat
    store = f"sqlite:///{tmp_path}/named.db"
    fill_store(store, ("alpha",))
    done = _memcore(tmp_path, work, "inspect", "--store", store, home="data")
    assert done.returncode == 0, done.stderr
    assert "alpha: 3 items" in done.stdout
    assert sorted(work.iterdir()) == []


def test_an_absolute_memcore_home_is_documented_in_the_help(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "mh"
    helped = _memcore(tmp_path, work, "inspect", "--help", home=str(home))
    flat = "".join(helped.stdout.split())  # (the path wrapped, maybe mid-word)
    assert f"theSQLitestore{home}/memory.db;$MEMCORE_HOME,anabsolutepath,movesit" in flat


def test_the_library_refuses_it_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from memcore.home import default_home, memcore_home

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("MEMCORE_HOME", "relative/dir")
    for call in (memcore_home, default_home, default_url):
        with pytest.raises(NoHomeError, match="'relative/dir', not an absolute path"):
            call()
    monkeypatch.setenv("MEMCORE_HOME", "~/kept")
    assert default_home() == memcore_home() == tmp_path / "kept"
    monkeypatch.setenv("MEMCORE_HOME", "")  # (empty: unset, the next default)
    assert memcore_home() is None
    assert default_home() == tmp_path / ".local" / "share" / "memcore"
