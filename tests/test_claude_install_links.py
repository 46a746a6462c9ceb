"""install-claude-code / uninstall-claude-code with settings kept in a dotfiles repository (a
symlink), files install had to make, and a store named by a relative path."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from memcore.claude_code.install import BACKUP_SUFFIX, HOOK_EVENTS, absolute_store_url
from memcore.cli import main
from tests.test_claude_install import MCP, SETTINGS, _write


def _install(settings: Path, mcp: Path, *extra: str) -> int:
    argv = ["install-claude-code", "--settings", str(settings), "--mcp-config", str(mcp)]
    return main([*argv, *extra])


def _uninstall(settings: Path, mcp: Path) -> int:
    return main(["uninstall-claude-code", "--settings", str(settings), "--mcp-config", str(mcp)])


def test_a_symlinked_settings_file_stays_a_link_and_its_target_changes(tmp_path: Path) -> None:
    dotfiles, claude = tmp_path / "dotfiles", tmp_path / "claude"
    dotfiles.mkdir()
    claude.mkdir()
    target = dotfiles / "settings.json"
    original = _write(target, SETTINGS)
    link = claude / "settings.json"
    link.symlink_to(Path("..") / "dotfiles" / "settings.json")
    mcp = tmp_path / "claude.json"
    _write(mcp, MCP)
    assert _install(link, mcp) == 0
    assert link.is_symlink()
    assert os.readlink(link) == os.path.join("..", "dotfiles", "settings.json")
    assert set(HOOK_EVENTS) <= set(json.loads(target.read_text())["hooks"])
    # the backup is of the file that changed, beside it; nothing is left beside the link
    assert target.with_name(target.name + BACKUP_SUFFIX).read_bytes() == original
    assert not link.with_name(link.name + BACKUP_SUFFIX).exists()
    assert _install(link, mcp) == 0  # again: nothing changes
    assert _uninstall(link, mcp) == 0
    assert link.is_symlink()
    assert target.read_bytes() == original


def test_a_link_to_a_file_not_yet_made_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "settings.json"
    target.parent.mkdir()
    link = tmp_path / "settings.json"
    link.symlink_to(target)
    mcp = tmp_path / "claude.json"
    assert _install(link, mcp) == 0
    assert link.is_symlink()
    assert set(json.loads(target.read_text())["hooks"]) == set(HOOK_EVENTS)
    assert _uninstall(link, mcp) == 0
    assert link.is_symlink()
    assert not target.exists()  # as before the install
    assert list(target.parent.iterdir()) == []


def test_a_link_into_a_missing_folder_is_refused_and_nothing_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Install would have to make the folders, which uninstall could not tell from the user's
    own: the user makes them."""
    link = tmp_path / "settings.json"
    link.symlink_to(tmp_path / "dotfiles" / "claude" / "settings.json")
    mcp = tmp_path / "claude.json"
    assert _install(link, mcp) == 1
    assert "in a folder that does not exist" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]  # (the link)
    assert link.is_symlink()


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
@pytest.mark.parametrize("which", ["settings", "mcp"])
def test_a_named_file_in_a_missing_folder_is_refused_and_nothing_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str, dry_run: list[str]
) -> None:
    """A mistyped ``--settings /nonexist/dir/s.json`` made ``/nonexist/dir``, which uninstall
    then left: refused as a link into a missing folder is."""
    missing = tmp_path / "newdir" / "a" / "settings.json"
    settings, mcp = (
        (missing, tmp_path / "m.json")
        if which == "settings"
        else (
            tmp_path / "s.json",
            missing,
        )
    )
    assert _install(settings, mcp, *dry_run) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{missing} is in a folder that does not exist" in err
    assert "nothing was changed" in err
    assert list(tmp_path.iterdir()) == []


def test_a_named_projects_missing_claude_folder_is_made_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another project's ``.claude/settings.json``, named: its ``.claude`` folder is made, as
    the project scope makes it, and the output names it (``--dry-run`` too)."""
    settings, mcp = tmp_path / ".claude" / "settings.json", tmp_path / ".mcp.json"
    assert _install(settings, mcp, "--dry-run") == 0
    assert f"{settings}: would create, and would make the folder {settings.parent}\n" in (
        capsys.readouterr().out
    )
    assert list(tmp_path.iterdir()) == []
    assert _install(settings, mcp) == 0
    assert f"{settings}: created, and made the folder {settings.parent}\n" in (
        capsys.readouterr().out
    )
    assert _install(tmp_path / "no" / ".claude" / "settings.json", mcp) == 1
    assert not (tmp_path / "no").exists()


def test_the_user_scope_on_a_fresh_home_says_it_makes_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No ``~/.claude`` yet: install makes it (Claude Code's own folder) and says so; uninstall
    takes it away again."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    assert main(["install-claude-code", "--dry-run"]) == 0
    folder = home / ".claude"
    assert f"would make the folder {folder}\n" in capsys.readouterr().out
    assert main(["install-claude-code"]) == 0
    assert f"{folder / 'settings.json'}: created, and made the folder {folder}\n" in (
        capsys.readouterr().out
    )
    assert main(["uninstall-claude-code"]) == 0
    assert list(home.iterdir()) == []


@pytest.mark.parametrize("command", ["install-claude-code", "uninstall-claude-code"])
def test_a_symlink_loop_is_refused_and_stays_a_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    loop_a, loop_b = tmp_path / "a.json", tmp_path / "b.json"
    loop_a.symlink_to(loop_b.name)
    loop_b.symlink_to(loop_a.name)
    mcp = tmp_path / "claude.json"
    assert main([command, "--settings", str(loop_a), "--mcp-config", str(mcp)]) == 1
    assert "symlink loop" in capsys.readouterr().err
    assert loop_a.is_symlink()
    assert loop_b.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


def test_uninstall_removes_the_files_install_made(tmp_path: Path) -> None:
    """No ``{}`` left behind where there was no file: Claude Code reads a missing file as
    empty, and the user did not have one."""
    settings, mcp = tmp_path / ".claude" / "settings.json", tmp_path / ".mcp.json"
    assert _install(settings, mcp) == 0
    assert settings.exists()
    assert mcp.exists()
    assert _uninstall(settings, mcp) == 0
    assert not settings.exists()
    assert not mcp.exists()
    assert not settings.parent.exists()  # (the .claude folder install made, left empty)
    # a file the user had, empty but for memcore, stays (given back as it was)
    settings.parent.mkdir()
    settings.write_text("{}\n")
    assert _install(settings, mcp) == 0
    assert _uninstall(settings, mcp) == 0
    assert settings.read_text() == "{}\n"
    assert not mcp.exists()


def test_a_file_install_made_keeps_what_the_user_added_since(tmp_path: Path) -> None:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    assert _install(settings, mcp) == 0
    data = json.loads(settings.read_text())
    data["model"] = "opus"
    settings.write_text(json.dumps(data))
    assert _uninstall(settings, mcp) == 0
    assert json.loads(settings.read_text()) == {"model": "opus"}


def test_a_relative_sqlite_store_is_written_as_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Claude Code runs the hooks in each session's own folder: a relative path would be a
    different store in every project."""
    monkeypatch.chdir(tmp_path)
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    assert _install(settings, mcp, "--store", "sqlite:///stores/rel.db?timeout=5") == 0
    wanted = f"sqlite:///{tmp_path}/stores/rel.db?timeout=5"
    assert f"memcore import-claude-code --store {shlex.quote(wanted)}" in capsys.readouterr().out
    hooks = json.loads(settings.read_text())["hooks"]
    for event in HOOK_EVENTS:
        command = hooks[event][-1]["hooks"][0]["command"]
        assert shlex.split(command)[-2:] == ["--store", wanted]
    args = json.loads(mcp.read_text())["mcpServers"]["memcore"]["args"]
    assert args[-2:] == ["--store", wanted]


@pytest.mark.parametrize(
    "url",
    [None, "sqlite:////abs/memory.db", "sqlite:///:memory:", "memory://", "redis://h:6379/0"],
)
def test_other_store_urls_are_kept_as_given(url: str | None) -> None:
    assert absolute_store_url(url) == url
