"""``memcore forget`` of a session while ``memcore import-claude-code`` reads it again: whichever
comes first, the session stays forgotten and its mark stays. The import checked for the mark
before reading the transcripts and wrote long after, so a forget in between was undone (its
items back, the mark written over by the import's registry entry)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memcore.access_log import ACCESS_LOG_SESSION
from memcore.claude_code.forget import is_forgotten
from memcore.claude_code.project import registry_key, registry_session
from memcore.cli import import_store, importer, main
from tests.claude_code_support import DATA
from tests.claude_hooks_support import EARLIER, PROJECT, _hook, _payload, _place, _read_state
from tests.test_claude_forget import _sessions

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def _saved(tmp_path: Path) -> tuple[Path, str, str]:
    """A session saved by its hook into a SQLite store: its transcript, id and the store."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    transcript, session = _place(tmp_path, EARLIER[0])
    code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript), url)
    assert (code, out, err) == (0, "", "")
    return transcript, session, url


def _forget_in_a_process(session: str, url: str, home: Path | None = None) -> None:
    """``memcore forget`` run by another process; ``home``: another ``$MEMCORE_HOME``, whose
    save turns are not the import's (a forget that goes on without waiting for it)."""
    env = dict(os.environ)
    if home is not None:
        env["MEMCORE_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-m", "memcore", "forget", session, "--store", url],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"forgot session '{session}'" in done.stdout


def _assert_forgotten(url: str, session: str) -> None:
    assert session not in _sessions(url)
    assert is_forgotten(_read_state(url, registry_session(PROJECT))[registry_key(session)])
    assert session not in _read_state(url, ACCESS_LOG_SESSION)


def _after(original: Callable[..., Any], then: Callable[[], None]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        then()
        return original(*args, **kwargs)

    return run


def test_a_forget_after_the_import_checked_and_before_it_writes_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript, session, url = _saved(tmp_path)
    # the transcripts are read (the mark looked for before), then the forget, then the writing
    forget = _after(importer._print_token_check, lambda: _forget_in_a_process(session, url))
    monkeypatch.setattr(importer, "_print_token_check", forget)
    assert main(["import-claude-code", str(transcript), "--store", url, "--reread"]) == 0
    _assert_forgotten(url, session)
    out = capsys.readouterr().out
    assert f"session '{session}' forgotten (memcore forget) while it was imported" in out


def test_a_forget_beside_the_import_s_write_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A forget that does not wait for the import's turn (another ``$MEMCORE_HOME``, as one
    that waited in vain) marks the session while the import writes it: what it wrote goes."""
    transcript, session, url = _saved(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    forget = _after(import_store._set_items, lambda: _forget_in_a_process(session, url, elsewhere))
    monkeypatch.setattr(import_store, "_set_items", forget)
    assert main(["import-claude-code", str(transcript), "--store", url, "--reread"]) == 0
    _assert_forgotten(url, session)
    out = capsys.readouterr().out
    assert f"session '{session}' forgotten (memcore forget) while it was imported" in out
    # and the next import still says it is forgotten
    assert main(["import-claude-code", str(transcript), "--store", url, "--reread"]) == 0
    assert "1 session(s) forgotten (memcore forget): not imported" in capsys.readouterr().out
    _assert_forgotten(url, session)
