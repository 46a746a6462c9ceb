"""install-claude-code / uninstall-claude-code on settings files that already hold other things."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from memcore.claude_code.install import BACKUP_SUFFIX, HOOK_EVENTS, plan
from memcore.cli import main
from memcore.errors import ValidationError

SETTINGS: dict[str, Any] = {
    "model": "opus",
    "permissions": {"allow": ["Bash(npm test:*)"]},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh"}]}],
        "SessionStart": [{"hooks": [{"type": "command", "command": "echo hello"}]}],
    },
}
MCP: dict[str, Any] = {
    "mcpServers": {"github": {"command": "gh-mcp", "args": []}},
    "numStartups": 12,
}


def _write(path: Path, data: object) -> bytes:
    # an unusual layout, so a rewrite (not the original bytes) would show
    raw = json.dumps(data, indent=4, sort_keys=True).encode() + b"\n"
    path.write_bytes(raw)
    return raw


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, bytes, bytes]:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    return settings, mcp, _write(settings, SETTINGS), _write(mcp, MCP)


def _cli(*args: str) -> int:
    return main(list(args))


def _install(settings: Path, mcp: Path, *extra: str) -> int:
    return _cli(
        "install-claude-code", "--settings", str(settings), "--mcp-config", str(mcp), *extra
    )


def _uninstall(settings: Path, mcp: Path) -> int:
    return _cli("uninstall-claude-code", "--settings", str(settings), "--mcp-config", str(mcp))


def test_install_merges_and_keeps_everything_else(files: tuple[Path, Path, bytes, bytes]) -> None:
    settings, mcp, settings_raw, mcp_raw = files
    assert _install(settings, mcp) == 0
    data = json.loads(settings.read_text())
    assert data["model"] == "opus"
    assert data["permissions"] == SETTINGS["permissions"]
    assert data["hooks"]["PreToolUse"] == SETTINGS["hooks"]["PreToolUse"]
    assert data["hooks"]["SessionStart"][0] == SETTINGS["hooks"]["SessionStart"][0]
    for event, name in HOOK_EVENTS.items():
        commands = [h["command"] for g in data["hooks"][event] for h in g["hooks"]]
        ours = [c for c in commands if c.endswith(f"hook {name}")]
        assert len(ours) == 1
        runner = shlex.split(ours[0])[0]
        assert Path(runner).is_absolute()  # the same interpreter's memcore, by absolute path
    servers = json.loads(mcp.read_text())["mcpServers"]
    assert servers["github"] == MCP["mcpServers"]["github"]
    assert servers["memcore"]["args"][-1] == "mcp"
    assert Path(servers["memcore"]["command"]).is_absolute()
    assert json.loads(mcp.read_text())["numStartups"] == 12
    # each file was backed up, byte for byte, before it changed
    assert settings.with_name(settings.name + BACKUP_SUFFIX).read_bytes() == settings_raw
    assert mcp.with_name(mcp.name + BACKUP_SUFFIX).read_bytes() == mcp_raw


def test_install_twice_is_the_same_bytes_and_uninstall_gives_the_original_back(
    files: tuple[Path, Path, bytes, bytes],
) -> None:
    settings, mcp, settings_raw, mcp_raw = files
    assert _install(settings, mcp) == 0
    once = settings.read_bytes(), mcp.read_bytes()
    assert _install(settings, mcp) == 0
    assert (settings.read_bytes(), mcp.read_bytes()) == once
    assert _uninstall(settings, mcp) == 0
    assert settings.read_bytes() == settings_raw
    assert mcp.read_bytes() == mcp_raw
    # the backups, given back, are gone: nothing of memcore's is left beside the files
    assert sorted(p.name for p in settings.parent.iterdir()) == sorted([settings.name, mcp.name])
    assert _uninstall(settings, mcp) == 0  # nothing left to remove: nothing changes
    assert settings.read_bytes() == settings_raw


def test_uninstall_without_backup_removes_only_memcore(
    files: tuple[Path, Path, bytes, bytes],
) -> None:
    settings, mcp, _, _ = files
    assert _install(settings, mcp) == 0
    settings.with_name(settings.name + BACKUP_SUFFIX).unlink()
    mcp.with_name(mcp.name + BACKUP_SUFFIX).unlink()
    data = json.loads(settings.read_text())
    data["theme"] = "dark"  # the user changed something since
    settings.write_text(json.dumps(data))
    assert _uninstall(settings, mcp) == 0
    assert json.loads(settings.read_text()) == {**SETTINGS, "theme": "dark"}
    assert json.loads(mcp.read_text()) == MCP


def test_install_into_missing_files_and_project_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _cli("install-claude-code", "--scope", "project") == 0
    settings = tmp_path / ".claude" / "settings.json"
    assert set(json.loads(settings.read_text())["hooks"]) == set(HOOK_EVENTS)
    assert "memcore" in json.loads((tmp_path / ".mcp.json").read_text())["mcpServers"]
    assert settings.stat().st_mode & 0o077 == 0  # new files are private
    assert _cli("uninstall-claude-code", "--scope", "project") == 0
    assert list(tmp_path.iterdir()) == []  # the files it made are gone, and so is .claude/


def test_not_json_is_refused_and_nothing_changes(
    files: tuple[Path, Path, bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp, _, mcp_raw = files
    settings.write_text("{ this is not json")
    assert _install(settings, mcp) == 1
    err = capsys.readouterr().err
    assert "not valid JSON" in err
    assert len(err.strip().splitlines()) == 1
    assert settings.read_text() == "{ this is not json"
    assert mcp.read_bytes() == mcp_raw  # the other file was not touched either
    assert not mcp.with_name(mcp.name + BACKUP_SUFFIX).exists()
    with pytest.raises(ValidationError):
        plan(True, settings=settings, mcp_config=mcp)


def test_dry_run_writes_nothing(
    files: tuple[Path, Path, bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp, settings_raw, mcp_raw = files
    assert _install(settings, mcp, "--dry-run") == 0
    assert "would change" in capsys.readouterr().out
    assert settings.read_bytes() == settings_raw
    assert mcp.read_bytes() == mcp_raw


def test_store_url_reaches_hooks_and_server(
    files: tuple[Path, Path, bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp, _, _ = files
    assert _install(settings, mcp, "--store", "sqlite:////tmp/mem x.db") == 0
    # and the way to file the sessions from before the install into that store
    assert "memcore import-claude-code --store 'sqlite:////tmp/mem x.db'" in capsys.readouterr().out
    command = json.loads(settings.read_text())["hooks"]["PreCompact"][-1]["hooks"][0]["command"]
    assert shlex.split(command)[-2:] == ["--store", "sqlite:////tmp/mem x.db"]
    assert json.loads(mcp.read_text())["mcpServers"]["memcore"]["args"][-2:] == [
        "--store",
        "sqlite:////tmp/mem x.db",
    ]


def test_install_after_the_user_changed_the_file_backs_it_up_again(
    files: tuple[Path, Path, bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    """Install, uninstall, the user edits the file, install again: the backup is the edited
    file (not the one from before the first install), so uninstall gives the edit back."""
    settings, mcp, _, _ = files
    assert _install(settings, mcp) == 0
    assert _uninstall(settings, mcp) == 0
    assert "restored from its backup" in capsys.readouterr().out
    edited = _write(settings, {**SETTINGS, "theme": "dark"})
    assert _install(settings, mcp) == 0
    assert settings.with_name(settings.name + BACKUP_SUFFIX).read_bytes() == edited
    assert _install(settings, mcp) == 0  # installed already: the backup stays the user's file
    assert settings.with_name(settings.name + BACKUP_SUFFIX).read_bytes() == edited
    assert _uninstall(settings, mcp) == 0
    assert settings.read_bytes() == edited


def test_a_file_install_makes_is_said_to_be_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    assert _install(settings, mcp, "--dry-run") == 0
    assert f"{settings}: would create" in capsys.readouterr().out
    assert _install(settings, mcp) == 0
    assert f"{settings}: created" in capsys.readouterr().out


def test_a_password_in_the_store_url_is_never_shown(
    files: tuple[Path, Path, bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp, _, _ = files
    url = "redis://alice:s3cret@127.0.0.1:6379/0"
    assert _install(settings, mcp, "--store", url, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert "would hold it: keep them out of version control" in out
    assert _install(settings, mcp, "--store", url) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert "now hold it" in out
    assert url in settings.read_text()  # (the hooks need it to connect)


def test_a_default_store_moved_by_the_environment_is_named_with_the_way_to_pin_it(
    files: tuple[Path, Path, bytes, bytes],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Claude Code started from an editor or a launcher has not the shell's ``$MEMCORE_HOME``:
    the installer says which store the hooks will use and how to pin it; with ``--store`` (or
    no such variable) it has nothing to say."""
    settings, mcp, _, _ = files
    monkeypatch.setenv("MEMCORE_HOME", str(tmp_path / "mem home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert _install(settings, mcp) == 0
    url = f"sqlite:///{tmp_path / 'mem home' / 'memory.db'}"
    assert f"install with --store {shlex.quote(url)}." in capsys.readouterr().out
    assert _install(settings, mcp, "--store", url) == 0
    assert "$MEMCORE_HOME" not in capsys.readouterr().out
    monkeypatch.delenv("MEMCORE_HOME")
    assert _install(settings, mcp) == 0
    assert "install with --store" not in capsys.readouterr().out


def test_without_the_mcp_package_install_adds_the_hooks_only_and_says_so(
    files: tuple[Path, Path, bytes, bytes],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server Claude Code could not start is not registered; the hooks are, and the output
    says how to add the server; uninstall still takes everything of memcore's out."""
    settings, mcp, settings_raw, mcp_raw = files
    monkeypatch.setitem(sys.modules, "mcp", None)  # (importing it raises ImportError)
    assert _install(settings, mcp) == 0
    out = capsys.readouterr().out
    assert "The MCP server was not added: it needs the `mcp` package" in out
    assert "offer its MCP tools" not in out
    assert mcp.read_bytes() == mcp_raw
    assert not mcp.with_name(mcp.name + BACKUP_SUFFIX).exists()
    assert set(HOOK_EVENTS) <= set(json.loads(settings.read_text())["hooks"])
    assert _uninstall(settings, mcp) == 0
    assert (settings.read_bytes(), mcp.read_bytes()) == (settings_raw, mcp_raw)


def test_uninstall_takes_out_the_stop_hook_added_by_hand_too(
    files: tuple[Path, Path, bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    """The README has users add ``<memcore> hook stop`` themselves: left behind, Claude Code
    would run a memcore that is gone after every turn. Another memcore's is named, not removed."""
    settings, mcp, _, _ = files
    assert _install(settings, mcp) == 0
    data = json.loads(settings.read_text())
    runner = shlex.split(data["hooks"]["PreCompact"][-1]["hooks"][0]["command"])[0]
    other = {"type": "command", "command": "/opt/elsewhere/bin/memcore hook stop"}
    data["hooks"]["Stop"] = [
        {"hooks": [{"type": "command", "command": shlex.join([runner, "hook", "stop"])}]},
        {"hooks": [other]},
    ]
    settings.write_text(json.dumps(data))
    assert _uninstall(settings, mcp) == 0
    assert json.loads(settings.read_text())["hooks"]["Stop"] == [{"hooks": [other]}]
    said = capsys.readouterr().out
    assert "hooks.Stop: runs another memcore (/opt/elsewhere/bin/memcore)" in said


@pytest.mark.parametrize("which", ["settings", "mcp"])
@pytest.mark.parametrize("command", ["install-claude-code", "uninstall-claude-code"])
def test_a_file_that_is_no_regular_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str, command: str
) -> None:
    """A FIFO would block the installer for good, ``/dev/zero`` fill the memory, and a device
    be replaced by a JSON file: each is refused, nothing written."""
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    plain = tmp_path / "plain.json"
    for odd in (fifo, Path("/dev/zero"), Path("/dev/null")):
        settings, mcp = (odd, plain) if which == "settings" else (plain, odd)
        code = _cli(command, "--settings", str(settings), "--mcp-config", str(mcp))
        assert code == 1
        assert f"{odd} is not a regular file; nothing was changed" in capsys.readouterr().err
        assert not plain.exists()
    assert Path("/dev/null").is_char_device()


def test_an_empty_settings_path_is_refused_not_taken_for_the_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _cli("install-claude-code", "--settings", "", "--dry-run") == 2
    assert "an empty path names no file" in capsys.readouterr().err
