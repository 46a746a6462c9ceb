"""install-claude-code / uninstall-claude-code beside entries install did not write (another
memcore's hook, a server of the user's named ``memcore``), entries of its own the user edited,
backups that must never be lost, and JSON that Claude Code could not read."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from memcore.claude_code.install import BACKUP_SUFFIX, HOOK_EVENTS, default_paths, plan
from memcore.cli import main
from memcore.errors import ValidationError
from tests.test_claude_install import MCP, SETTINGS, _write

THEIR_HOOK = "/opt/tools/memcore hook session-end --store redis://team/0"
THEIR_SERVER = {"type": "http", "url": "https://memcore.example.com/mcp"}


def _install(settings: Path, mcp: Path, *extra: str) -> int:
    argv = ["install-claude-code", "--settings", str(settings), "--mcp-config", str(mcp)]
    return main([*argv, *extra])


def _uninstall(settings: Path, mcp: Path) -> int:
    return main(["uninstall-claude-code", "--settings", str(settings), "--mcp-config", str(mcp)])


def _backup(path: Path, number: int = 1) -> Path:
    name = path.name + BACKUP_SUFFIX + ("" if number == 1 else f".{number}")
    return path.with_name(name)


def _commands(settings: Path, event: str) -> list[str]:
    groups = json.loads(settings.read_text())["hooks"].get(event, [])
    return [h["command"] for g in groups if isinstance(g, dict) for h in g["hooks"]]


@pytest.fixture
def theirs(tmp_path: Path) -> tuple[Path, Path, bytes, bytes]:
    """Files that already hold a memcore of the user's own: another path's hook, an HTTP
    server by the name ``memcore``."""
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    hooks = {"SessionEnd": [{"hooks": [{"type": "command", "command": THEIR_HOOK}]}]}
    servers = {"memcore": THEIR_SERVER, "other": {"command": "x"}}
    return (
        settings,
        mcp,
        _write(settings, {"hooks": hooks}),
        _write(mcp, {"mcpServers": servers}),
    )


def test_entries_install_did_not_write_are_kept_said_and_survive_uninstall(
    theirs: tuple[Path, Path, bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp, settings_raw, mcp_raw = theirs
    assert _install(settings, mcp) == 0
    out = capsys.readouterr().out
    assert "hooks.SessionEnd: runs another memcore (/opt/tools/memcore): kept" in out
    assert "mcpServers.memcore: another server by that name (type http): kept" in out
    assert "--replace puts them in" in out
    # what Claude Code will run of this memcore: not what another's entry holds
    assert "Claude Code will run memcore at SessionStart and PreCompact." in out
    assert "MCP tools" not in out
    assert "redis://team/0" not in out  # (a store URL may hold a password: never shown)
    assert _commands(settings, "SessionEnd") == [THEIR_HOOK]  # and none of this memcore's
    assert len(_commands(settings, "SessionStart")) == 1
    assert mcp.read_bytes() == mcp_raw
    assert _install(settings, mcp) == 0  # again: nothing changes, the backup stays the original
    assert _backup(settings).read_bytes() == settings_raw
    assert _uninstall(settings, mcp) == 0
    assert "not this environment's: left" in capsys.readouterr().out
    assert (settings.read_bytes(), mcp.read_bytes()) == (settings_raw, mcp_raw)
    assert not _backup(settings).exists()
    # without the backup to give back, uninstall still takes out only this memcore's entries
    assert _install(settings, mcp) == 0
    _backup(settings).unlink()
    assert _uninstall(settings, mcp) == 0
    assert json.loads(settings.read_bytes()) == json.loads(settings_raw)


def test_replace_puts_this_memcore_in_their_place_after_a_backup(
    theirs: tuple[Path, Path, bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp, settings_raw, mcp_raw = theirs
    assert _install(settings, mcp, "--replace") == 0
    out = capsys.readouterr().out
    assert "hooks.SessionEnd: the memcore hook there replaced" in out
    assert "mcpServers.memcore: the server there (type http) replaced" in out
    assert THEIR_HOOK not in _commands(settings, "SessionEnd")
    assert json.loads(mcp.read_text())["mcpServers"]["memcore"]["type"] == "stdio"
    assert _backup(settings).read_bytes() == settings_raw
    assert _backup(mcp).read_bytes() == mcp_raw
    # uninstall cannot give their entries back (it does not know them): it says where they are
    assert _uninstall(settings, mcp) == 0
    assert f"backup kept: {_backup(mcp)}" in capsys.readouterr().out
    assert "memcore" not in json.loads(mcp.read_text())["mcpServers"]
    assert _backup(mcp).read_bytes() == mcp_raw


def test_an_existing_backup_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup holding what the file lost (an earlier installer replaced the user's entry)
    stays; the file as it is now gets a numbered backup of its own."""
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    _write(mcp, MCP)
    lost = _write(_backup(settings), {"hooks": {"SessionEnd": [{"hooks": [THEIR_HOOK]}]}})
    now = _write(settings, {"model": "opus"})
    assert _install(settings, mcp) == 0
    assert f"(backup: {_backup(settings, 2)})" in capsys.readouterr().out
    assert _backup(settings).read_bytes() == lost
    assert _backup(settings, 2).read_bytes() == now
    assert _install(settings, mcp) == 0  # installed: no third backup
    assert not _backup(settings, 3).exists()
    assert _uninstall(settings, mcp) == 0
    assert settings.read_bytes() == now  # the latest backup, given back
    assert not _backup(settings, 2).exists()
    assert _backup(settings).read_bytes() == lost  # and said, not removed
    assert f"backup kept: {_backup(settings)}" in capsys.readouterr().out


def test_uninstall_keeps_a_backup_that_holds_what_the_file_lost_and_install_numbers_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    original = _write(settings, SETTINGS)
    _write(mcp, MCP)
    assert _install(settings, mcp) == 0
    data = json.loads(settings.read_text())
    settings.write_text(json.dumps({**data, "model": "sonnet"}))  # (the backup has "opus")
    assert _uninstall(settings, mcp) == 0  # the file changed since: memcore's entries go
    assert f"backup kept: {_backup(settings)}" in capsys.readouterr().out
    assert json.loads(settings.read_text()) == {**SETTINGS, "model": "sonnet"}
    edited = _write(settings, {**SETTINGS, "model": "haiku"})
    assert _install(settings, mcp) == 0
    assert _backup(settings).read_bytes() == original
    assert _backup(settings, 2).read_bytes() == edited


def test_uninstall_removes_a_backup_the_file_holds_all_of(tmp_path: Path) -> None:
    """The user only added to the file since install: its backup is an older state of it,
    needless, and in a project folder it could be committed."""
    settings, mcp = tmp_path / ".claude" / "settings.json", tmp_path / ".mcp.json"
    settings.parent.mkdir()
    _write(settings, SETTINGS)
    assert _install(settings, mcp) == 0
    data = json.loads(settings.read_text())
    data["theme"] = "dark"
    data["hooks"]["PreToolUse"].append({"hooks": [{"type": "command", "command": "lint.sh"}]})
    settings.write_text(json.dumps(data))
    assert _uninstall(settings, mcp) == 0
    assert json.loads(settings.read_text())["theme"] == "dark"
    assert sorted(p.name for p in settings.parent.iterdir()) == ["settings.json"]


def test_a_reinstall_keeps_the_users_edits_of_memcores_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    assert _install(settings, mcp) == 0
    data: dict[str, Any] = json.loads(settings.read_text())
    start = data["hooks"]["SessionStart"][0]
    start["hooks"][0]["command"] += " --budget 6000"
    start["matcher"] = "startup"
    data["hooks"]["SessionEnd"][0]["hooks"][0]["timeout"] = 90
    settings.write_text(json.dumps(data, indent=2))
    config = json.loads(mcp.read_text())
    config["mcpServers"]["memcore"]["env"] = {"MEMCORE_HOME": "/data/mem"}
    mcp.write_text(json.dumps(config))
    edited = settings.read_bytes(), mcp.read_bytes()
    capsys.readouterr()
    assert _install(settings, mcp) == 0
    out = capsys.readouterr().out
    assert (settings.read_bytes(), mcp.read_bytes()) == edited
    assert "hooks.SessionStart: memcore's hook, changed since install: kept as it is" in out
    assert "mcpServers.memcore: memcore's server, changed since install: kept as it is" in out
    assert "changed (backup" not in out
    assert not _backup(settings).exists()
    # a hook the user deleted is added back, and nothing else changes
    del data["hooks"]["PreCompact"]
    settings.write_text(json.dumps(data, indent=2))
    assert _install(settings, mcp) == 0
    again = json.loads(settings.read_text())
    assert again["hooks"]["SessionStart"] == data["hooks"]["SessionStart"]
    assert again["hooks"]["SessionEnd"] == data["hooks"]["SessionEnd"]
    assert len(_commands(settings, "PreCompact")) == 1
    # --replace writes them as install does; uninstall takes them out, edited or not
    assert _install(settings, mcp, "--replace") == 0
    assert "--budget" not in settings.read_text()
    settings.write_text(settings.read_text().replace("session-start", "session-start --budget 9"))
    assert _uninstall(settings, mcp) == 0
    assert not settings.exists()
    assert not mcp.exists()


def test_a_reinstall_with_another_store_says_so_and_replace_applies_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    assert _install(settings, mcp) == 0
    first = settings.read_bytes()
    assert _install(settings, mcp, "--store", "sqlite:////tmp/other.db") == 0
    assert "changed since install: kept as it is (--replace" in capsys.readouterr().out
    assert settings.read_bytes() == first
    assert _install(settings, mcp, "--store", "sqlite:////tmp/other.db", "--replace") == 0
    for event in HOOK_EVENTS:
        assert [shlex.split(c)[-1] for c in _commands(settings, event)] == [
            "sqlite:////tmp/other.db"
        ]


def test_a_second_install_adds_to_a_file_it_made_without_a_backup(tmp_path: Path) -> None:
    """Install made .claude/settings.json, the user edited it, install ran again: nothing of
    the user's to keep, so no backup; uninstall leaves only the user's edit, and no backup."""
    settings, mcp = tmp_path / ".claude" / "settings.json", tmp_path / ".mcp.json"
    assert _install(settings, mcp) == 0
    data = json.loads(settings.read_text())
    del data["hooks"]["PreCompact"]
    settings.write_text(json.dumps({**data, "model": "opus"}))
    assert _install(settings, mcp) == 0
    assert len(_commands(settings, "PreCompact")) == 1
    assert not _backup(settings).exists()
    assert _uninstall(settings, mcp) == 0
    assert json.loads(settings.read_text()) == {"model": "opus"}
    assert sorted(p.name for p in settings.parent.iterdir()) == ["settings.json"]


def test_uninstall_removes_a_backup_the_file_it_leaves_makes_needless(tmp_path: Path) -> None:
    """A backup an earlier version made of a file that held memcore's hooks already."""
    settings, mcp = tmp_path / ".claude" / "settings.json", tmp_path / ".mcp.json"
    assert _install(settings, mcp) == 0
    data = {**json.loads(settings.read_text()), "model": "opus"}
    settings.write_text(json.dumps(data))
    _backup(settings).write_text(json.dumps(data))
    assert _uninstall(settings, mcp) == 0
    assert json.loads(settings.read_text()) == {"model": "opus"}
    assert not _backup(settings).exists()


def test_user_scope_mcp_servers_follow_claude_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claude Code keeps the user's MCP servers in $CLAUDE_CONFIG_DIR/.claude.json then
    (anthropics/claude-code#48448)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "alt"))
    assert default_paths("user") == (tmp_path / "alt/settings.json", tmp_path / "alt/.claude.json")
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    home = tmp_path / "home"
    assert default_paths("user") == (home / ".claude/settings.json", home / ".claude.json")


def test_the_installer_and_the_transcripts_read_claude_config_dir_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``~/alt`` as Claude Code's folder: the transcripts were found under the home's ``alt``
    while the installer wrote a folder literally named ``~`` in the current one."""
    from memcore.claude_code.discovery import default_projects_dir

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "~/alt")
    assert default_projects_dir() == home / "alt" / "projects"
    assert default_paths("user") == (home / "alt/settings.json", home / "alt/.claude.json")


def test_one_unwritable_file_changes_nothing_and_says_nothing_was_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "project" / ".claude" / "settings.json"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    mcp = blocker / ".mcp.json"  # (its folder is a file: it cannot be written)
    assert _install(settings, mcp) == 1
    captured = capsys.readouterr()
    assert "nothing was changed" in captured.err
    assert captured.out == ""  # no success printed before the writes
    assert not (tmp_path / "project").exists()  # nor the folders made for the settings
    have = _write(tmp_path / "settings.json", SETTINGS)
    assert _install(tmp_path / "settings.json", mcp) == 1
    assert (tmp_path / "settings.json").read_bytes() == have
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder", "settings.json"]


def test_a_file_that_changes_while_installing_puts_back_the_one_already_written(
    tmp_path: Path,
) -> None:
    """Claude Code rewrites ~/.claude.json as it runs: a file that is no longer what the plan
    read is not written over, and the other file, written already, gets its bytes back."""
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    settings_raw = _write(settings, SETTINGS)
    _write(mcp, MCP)
    changes = plan(True, settings=settings, mcp_config=mcp)
    moved = _write(mcp, {**MCP, "numStartups": 13})
    with pytest.raises(ValidationError, match="changed while installing"):
        changes.apply()
    assert settings.read_bytes() == settings_raw
    assert mcp.read_bytes() == moved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claude.json", "settings.json"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"x": NaN}', "NaN is not a JSON value"),
        ('{"x": -Infinity}', "-Infinity is not a JSON value"),
        ('{"x": 1e400}', "the number 1e400 is too large"),
    ],
)
def test_what_claude_code_could_not_read_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, why: str
) -> None:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    settings.write_text(text)
    assert _install(settings, mcp) == 1
    assert why in capsys.readouterr().err
    assert settings.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_entries_that_are_not_hook_groups_are_kept_exactly(tmp_path: Path) -> None:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    odd: dict[str, Any] = {"hooks": {"SessionStart": [None, 5, "x", {"hooks": None}]}}
    _write(settings, odd)
    assert _install(settings, mcp) == 0
    assert json.loads(settings.read_text())["hooks"]["SessionStart"][:4] == [
        None,
        5,
        "x",
        {"hooks": None},
    ]
    _backup(settings).unlink()  # (so uninstall takes memcore's entries out, not restores)
    assert _uninstall(settings, mcp) == 0
    assert json.loads(settings.read_text()) == odd


def test_line_ends_and_a_lone_surrogate_come_back_as_they_were(tmp_path: Path) -> None:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    raw = b'{\r\n  "model": "opus",\r\n  "note": "\\ud800"\r\n}\r\n'
    settings.write_bytes(raw)
    assert _install(settings, mcp) == 0
    assert _backup(settings).read_bytes() == raw
    assert json.loads(settings.read_text())["note"] == "\ud800"
    assert _uninstall(settings, mcp) == 0
    assert settings.read_bytes() == raw


@pytest.mark.parametrize(
    ("settings_raw", "mcp_raw"),
    [
        (b'{"hooks": {}}', b'{"mcpServers": {}}'),
        (b'{"hooks": {"SessionStart": []}, "model": "x"}', b'{"mcpServers": {}, "a": 1}'),
    ],
)
def test_empty_hooks_and_servers_come_back_as_they_were(
    tmp_path: Path, settings_raw: bytes, mcp_raw: bytes
) -> None:
    """Install fills them, uninstall empties them: the files were what install started from,
    and come back byte for byte, their backups gone (nothing in them was lost)."""
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    settings.write_bytes(settings_raw)
    mcp.write_bytes(mcp_raw)
    assert _install(settings, mcp) == 0
    assert _uninstall(settings, mcp) == 0
    assert settings.read_bytes() == settings_raw
    assert mcp.read_bytes() == mcp_raw
    assert not _backup(settings).exists()
    assert not _backup(mcp).exists()


@pytest.mark.parametrize(
    ("raw", "name"), [(b"null", "null"), (b"[1]", "array"), (b'"x"', "string"), (b"3", "number")]
)
def test_a_file_that_holds_no_object_is_named_by_json_s_names(
    tmp_path: Path, raw: bytes, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mcp = tmp_path / "settings.json", tmp_path / "claude.json"
    settings.write_bytes(raw)
    assert _install(settings, mcp) != 0
    assert f"holds a JSON {name}, not an object" in capsys.readouterr().err
    assert settings.read_bytes() == raw
