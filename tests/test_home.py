"""A process with no home directory (a container run as a user id with no ``/etc/passwd`` line
and no ``$HOME``): memcore's defaults that live in the home say so in one line, and everything
given its place explicitly works. Before, every command died at import in a ``RuntimeError``
traceback (the ``--store`` help text asked for the default store's path)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from memcore.claude_code import find_transcripts
from memcore.claude_code.install import default_paths
from memcore.cli._exit_codes import EXIT_ERROR
from memcore.errors import NoHomeError
from memcore.home import expand_home, home_dir
from memcore.stores import default_home

#: A user id with no entry in the password database (checked before use).
STRANGER = 54321


def _stranger_free() -> bool:
    try:
        pwd.getpwuid(STRANGER)
    except KeyError:
        return True
    return False


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not _stranger_free() or shutil.which("setpriv") is None,
    reason="runs memcore as a user id with no passwd entry: root and setpriv only",
)


@pytest.fixture(name="open_dir")
def open_dir_fixture() -> Iterator[Path]:
    """A folder the stranger may write (pytest's own are the owner's alone), once memcore is
    known to import as the stranger (else the checkout is not readable to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="memcore-nohome-"))
    folder.chmod(0o777)
    try:
        probe = _python_as_stranger(["-c", "import memcore"], folder)
        if probe.returncode != 0:
            pytest.skip(f"memcore cannot run as another user here: {probe.stderr.strip()[-200:]}")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _python_as_stranger(
    args: list[str], cwd: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` as the stranger, with nothing of this process's environment but PATH."""
    command = [
        "setpriv",
        f"--reuid={STRANGER}",
        f"--regid={STRANGER}",
        "--clear-groups",
        sys.executable,
        *args,
    ]
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    for name in ("MEMCORE_NO_EXTENSIONS", "PYTHONPATH"):  # (the twin under test, the tree)
        if name in os.environ:
            environment[name] = os.environ[name]
    return subprocess.run(
        command, cwd=cwd, env=environment, input=stdin, capture_output=True, text=True, timeout=120
    )


def _as_stranger(
    args: list[str], cwd: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return _python_as_stranger(["-m", "memcore", *args], cwd, stdin, **env)


@needs_root
def test_commands_without_a_home_say_what_to_set(open_dir: Path) -> None:
    listed = _as_stranger(["sessions"], open_dir)
    assert listed.returncode == EXIT_ERROR, listed
    assert "Traceback" not in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1, listed.stderr
    assert "no home directory" in listed.stderr
    assert "MEMCORE_HOME" in listed.stderr
    assert "MEMCORE_HOME" in _as_stranger(["sessions", "--help"], open_dir).stdout
    settings = _as_stranger(["install-claude-code", "--dry-run"], open_dir)
    assert settings.returncode == EXIT_ERROR
    assert "CLAUDE_CONFIG_DIR" in settings.stderr
    hook = _as_stranger(
        ["hook", "session-start"],
        open_dir,
        stdin='{"session_id": "s", "transcript_path": "/nowhere.jsonl", "cwd": "/tmp",'
        ' "hook_event_name": "SessionStart", "source": "startup"}',
    )
    assert (hook.returncode, hook.stdout) == (0, "")  # (a hook never breaks the session)
    assert "no home directory" in hook.stderr


@needs_root
def test_a_store_named_or_a_home_set_needs_no_home(open_dir: Path) -> None:
    named = _as_stranger(
        ["demo", "--store", f"sqlite:///{open_dir}/named.db", "--notes", "12"], open_dir
    )
    assert named.returncode == 0, named.stderr
    assert (open_dir / "named.db").is_file()
    homed = _as_stranger(["demo", "--notes", "12"], open_dir, MEMCORE_HOME=str(open_dir / "mh"))
    assert homed.returncode == 0, homed.stderr
    assert (open_dir / "mh" / "memory.db").is_file()


@needs_root
def test_transcripts_the_user_may_not_read(open_dir: Path) -> None:
    """A home whose ``.claude`` this user may not enter (a shared machine, a mounted volume):
    the demo took it for a folder of transcripts and stopped ("Permission denied": on 3.11
    ``Path.is_file`` raises there); it is no transcripts, and a path named on the command line
    that cannot be read says so in one line."""
    home = open_dir / "home"
    (home / ".claude" / "projects").mkdir(parents=True)
    (home / ".claude").chmod(0o000)
    locked = open_dir / "locked.jsonl"
    locked.write_text('{"type": "user", "sessionId": "s"}\n')
    locked.chmod(0o000)
    store = f"sqlite:///{open_dir}/demo.db"
    demo = _as_stranger(["demo", "--store", store, "--notes", "12"], open_dir, HOME=str(home))
    assert demo.returncode == 0, demo.stderr
    assert "stdlib" in demo.stdout or "docstring" in demo.stdout, demo.stdout[:400]
    for path in (home / ".claude" / "projects", locked):
        named = _as_stranger(["import-claude-code", str(path), "--store", store], open_dir)
        assert named.returncode == EXIT_ERROR, named
        assert named.stderr.strip().endswith(f": error: cannot read {path}: Permission denied")


def test_an_empty_home_is_the_users_own_not_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "")
    assert home_dir("a test", "nothing") == Path(pwd.getpwuid(os.getuid()).pw_dir)


def test_defaults_under_a_set_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("MEMCORE_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    assert default_home() == tmp_path / ".local" / "share" / "memcore"
    monkeypatch.setenv("MEMCORE_HOME", "~/kept")
    assert default_home() == tmp_path / "kept"
    monkeypatch.delenv("MEMCORE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", "~/data")
    assert default_home() == tmp_path / "data" / "memcore"
    assert default_paths("user")[0] == tmp_path / ".claude" / "settings.json"
    assert find_transcripts() == []  # (no ~/.claude/projects: nothing to find, no error)


def test_expand_home_never_makes_a_folder_named_tilde(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert expand_home("~", "x", "y") == tmp_path
    assert expand_home("~/a/b", "x", "y") == tmp_path / "a" / "b"
    assert expand_home("plain/~/b", "x", "y") == Path("plain/~/b")
    with pytest.raises(NoHomeError, match="no-such-user-memcore"):
        expand_home("~no-such-user-memcore/a", "the store", "set MEMCORE_HOME")
    monkeypatch.setenv("HOME", "relative/home")
    with pytest.raises(NoHomeError, match="set MEMCORE_HOME"):
        home_dir("the default store", "set MEMCORE_HOME")
