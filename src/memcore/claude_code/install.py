"""Put memcore into Claude Code's settings, and take it out again, without touching anything else.

Claude Code reads hooks from a settings JSON file (``~/.claude/settings.json`` for the user,
``.claude/settings.json`` for a project) and MCP servers from an MCP config (``~/.claude.json``
for the user, ``.mcp.json`` for a project). Users keep their own hooks and servers there, so
installing is a merge: memcore's entries are added beside the others, every other key is kept
as it was, and a file is backed up (``<name>.memcore-backup``) before its first change.
Installing twice writes nothing the second time; uninstalling removes exactly the entries
install added, so install then uninstall gives the original JSON back (and no file where there
was none). A settings file that is a symlink (into a dotfiles repository) stays one: the file it
leads to is changed and backed up.

memcore's own entries are recognised by their command: the hook commands end in ``hook EVENT``
after the interpreter's ``memcore`` (written by absolute path, so the hooks run the memcore of
the environment that installed them), the MCP server is the ``memcore`` key of ``mcpServers``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from memcore.errors import ValidationError

Scope = Literal["user", "project"]

#: Claude Code hook events memcore listens to, and the ``memcore hook`` event each runs.
HOOK_EVENTS: dict[str, str] = {
    "SessionStart": "session-start",
    "PreCompact": "pre-compact",
    "SessionEnd": "session-end",
}
MCP_SERVER_NAME = "memcore"
BACKUP_SUFFIX = ".memcore-backup"
#: Seconds Claude Code waits for a hook before going on without it.
HOOK_TIMEOUT = 30


def memcore_command() -> list[str]:
    """This interpreter's ``memcore`` by absolute path (``python -m memcore`` when no script)."""
    script = Path(sys.executable).parent / "memcore"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "memcore"]


def default_paths(scope: Scope, project_dir: Path | None = None) -> tuple[Path, Path]:
    """The settings file and the MCP config file Claude Code reads for ``scope``."""
    if scope == "user":
        config_dir = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
        return config_dir / "settings.json", Path.home() / ".claude.json"
    root = project_dir or Path.cwd()
    return root / ".claude" / "settings.json", root / ".mcp.json"


@dataclass(slots=True)
class FileChange:
    """What install or uninstall does to one file."""

    path: Path
    before: str | None  # None: the file does not exist
    after: str | None  # None: the file is (or stays) absent
    backup: Path | None = None
    #: The file written: ``path`` itself, or the file a symlink at ``path`` leads to (a
    #: settings file kept in a dotfiles repository stays a link, and the repository's file
    #: changes).
    target: Path | None = None
    #: ``before`` holds nothing of memcore's: it is the user's own file, and the backup is made
    #: of it again (a backup from an earlier install would give back what the file was then)
    fresh_backup: bool = False
    #: uninstall gives back the backed-up bytes (the file is what install made of them)
    restores: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def written(self) -> Path:
        return self.target or self.path


@dataclass(slots=True)
class InstallPlan:
    """The changes to both files; ``apply()`` writes them, ``--dry-run`` only shows them."""

    changes: list[FileChange] = field(default_factory=list)

    def apply(self) -> None:
        for change in self.changes:
            if not change.changed:
                continue
            backup = change.backup
            if (
                change.before is not None
                and backup is not None
                and (change.fresh_backup or not backup.exists())
            ):
                _write_private(backup, change.before)
            if change.after is None:
                change.written.unlink(missing_ok=True)
                _remove_if_empty(change.written.parent)
            else:
                change.written.parent.mkdir(parents=True, exist_ok=True)
                _write_private(change.written, change.after)
            if change.restores and backup is not None:  # (the file holds those bytes again)
                backup.unlink(missing_ok=True)


def _remove_if_empty(folder: Path) -> None:
    """A project's ``.claude`` folder left empty by uninstall (install made it) goes too."""
    if folder.name == ".claude":
        with contextlib.suppress(OSError):  # (not empty: someone else's files are in it)
            folder.rmdir()


def _write_private(path: Path, text: str) -> None:
    """Write atomically, keeping an existing file's mode (new files: 0600; they may hold keys)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    partial = path.with_name(path.name + ".memcore-partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(partial, mode)
    partial.replace(path)


def _read_json(path: Path) -> tuple[str | None, dict[str, Any]]:
    """The file's text and its JSON object; a file that is not a JSON object is refused."""
    if not path.exists():
        return None, {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from exc
    if not text.strip():
        return text, {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "nothing was changed"
        ) from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{path} holds a JSON {type(data).__name__}, not an object")
    return text, data


def _dump(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _hook_command(command: list[str], event: str, store: str | None) -> str:
    return shlex.join([*command, "hook", event, *(["--store", store] if store else [])])


def _is_memcore_hook(entry: object) -> bool:
    """A hook handler written by memcore: ``.../memcore hook EVENT [--store URL]``, or the same
    through ``python -m memcore``."""
    if not isinstance(entry, Mapping) or entry.get("type") != "command":
        return False
    try:
        words = shlex.split(str(entry.get("command", "")))
    except ValueError:
        return False
    for at in range(1, len(words) - 1):
        if words[at] == "hook" and words[at + 1] in HOOK_EVENTS.values():
            runner = words[at - 1]
            via_module = runner == "memcore" and at >= 2 and words[at - 2] == "-m"
            return Path(runner).name == "memcore" or via_module
    return False


def _with_hooks(settings: dict[str, Any], command: list[str], store: str | None) -> dict[str, Any]:
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict):
        raise ValidationError("the settings' 'hooks' is not a JSON object; nothing was changed")
    merged = dict(settings)
    merged_hooks = dict(hooks)
    for event, name in HOOK_EVENTS.items():
        groups = merged_hooks.get(event, [])
        if not isinstance(groups, list):
            raise ValidationError(f"the settings' hooks.{event} is not a list; nothing was changed")
        wanted: dict[str, Any] = {"type": "command", "command": _hook_command(command, name, store)}
        if event != "SessionStart":
            wanted["timeout"] = HOOK_TIMEOUT
        kept = [_without_memcore(group) for group in groups]
        kept = [group for group in kept if group is not None]
        merged_hooks[event] = [*kept, {"hooks": [wanted]}]
    merged["hooks"] = merged_hooks
    return merged


def _without_memcore(group: object) -> object | None:
    """A hook group with memcore's handlers taken out (None when nothing else was in it)."""
    if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
        return group
    others = [entry for entry in group["hooks"] if not _is_memcore_hook(entry)]
    if len(others) == len(group["hooks"]):
        return group
    return {**group, "hooks": others} if others else None


def _without_hooks(settings: dict[str, Any]) -> dict[str, Any]:
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return settings
    cleaned: dict[str, Any] = {}
    for event, groups in hooks.items():
        if event in HOOK_EVENTS and isinstance(groups, list):
            kept = [g for g in (_without_memcore(group) for group in groups) if g is not None]
            if kept or not groups:
                cleaned[event] = kept
        else:
            cleaned[event] = groups
    out = dict(settings)
    if cleaned or not hooks:
        out["hooks"] = cleaned
    else:
        del out["hooks"]
    return out


def _with_server(config: dict[str, Any], command: list[str], store: str | None) -> dict[str, Any]:
    servers = config.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise ValidationError("the MCP config's 'mcpServers' is not a JSON object")
    args = [*command[1:], "mcp"]
    if store:
        args += ["--store", store]
    merged = dict(config)
    merged["mcpServers"] = {
        **servers,
        MCP_SERVER_NAME: {"type": "stdio", "command": command[0], "args": args, "env": {}},
    }
    return merged


def _without_server(config: dict[str, Any]) -> dict[str, Any]:
    servers = config.get("mcpServers")
    if not isinstance(servers, dict) or MCP_SERVER_NAME not in servers:
        return config
    out = dict(config)
    rest = {k: v for k, v in servers.items() if k != MCP_SERVER_NAME}
    if rest:
        out["mcpServers"] = rest
    else:
        del out["mcpServers"]
    return out


def _target(path: Path) -> Path | None:
    """The file a symlink at ``path`` leads to (through every link); None for a plain file."""
    return Path(os.path.realpath(path)) if path.is_symlink() else None


def _plan_file(path: Path, install: bool, transform: Any, strip: Any) -> FileChange:
    """One file's change (``transform``: install's; ``strip``: what uninstall takes out).
    Through a symlink, the file it leads to is read, backed up (beside it) and written; the
    link stays. Install backs up the user's own file (one holding nothing of memcore's) before
    changing it; uninstall gives the backed-up bytes back when nothing else changed since, and
    removes a file that install made (no backup) once nothing is left in it.
    """
    target = _target(path)
    real = target or path
    before, data = _read_json(real)
    backup = real.with_name(real.name + BACKUP_SUFFIX)
    if install:
        new = transform(data)
        after: str | None = _dump(new) if new != data or before is None else before
        fresh = before is not None and strip(data) == data
        return FileChange(path, before, after, backup, target, fresh_backup=fresh)
    if before is None:
        return FileChange(path, None, None, None, target)
    original = _original_if_untouched(real, backup, strip)
    if original is not None:
        return FileChange(path, before, original, backup, target, restores=True)
    stripped = strip(data)
    if not stripped and stripped != data and not backup.exists():
        return FileChange(path, before, None, None, target)  # install made it: nothing is left
    after = before if stripped == data else _dump(stripped)
    return FileChange(path, before, after, None, target)


def _original_if_untouched(path: Path, backup: Path, strip: Any) -> str | None:
    """The backed-up bytes when the file is still exactly what install made of them.

    Then uninstall gives the user's original file back byte for byte (formatting, key order,
    empty containers), not just equal JSON.
    """
    if not backup.exists():
        return None
    try:
        original_text = backup.read_text(encoding="utf-8")
        original = json.loads(original_text) if original_text.strip() else {}
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(original, dict) or not isinstance(current, dict):
        return None
    untouched = strip(current) == strip(original) and original == strip(original)
    return original_text if untouched else None


def absolute_store_url(url: str | None) -> str | None:
    """``url`` with a relative SQLite path made absolute (from the working folder): Claude
    Code runs the hooks and the server in the session's folder, where a relative path would
    name another store in every project."""
    if url is None or not url.lower().startswith("sqlite://"):
        return url
    from memcore.stores.sqlite_schema import parse_sqlite_url

    path = parse_sqlite_url(url)[0]  # ValidationError for a malformed URL
    if path == ":memory:" or os.path.isabs(path):
        return url
    query = url.partition("?")[2]
    return f"sqlite:///{os.path.abspath(path)}" + (f"?{query}" if query else "")


def plan(
    install: bool,
    *,
    scope: Scope = "user",
    settings: Path | None = None,
    mcp_config: Path | None = None,
    store: str | None = None,
    command: list[str] | None = None,
    server: bool = True,
) -> InstallPlan:
    """The changes install (or uninstall) makes; nothing is written until ``apply()``.

    Both files are read and checked before either is changed: a file that is not a JSON object
    raises :class:`ValidationError` and nothing is written. ``server=False`` (an install where
    the ``mcp`` package is missing, so that the server could not start) leaves the MCP servers'
    file alone; uninstall always plans both.
    """
    default_settings, default_mcp = default_paths(scope)
    settings_path = settings or default_settings
    mcp_path = mcp_config or default_mcp
    cmd = command or memcore_command()
    store = absolute_store_url(store)
    changes = [
        _plan_file(settings_path, install, lambda d: _with_hooks(d, cmd, store), _without_hooks)
    ]
    if server or not install:
        changes.append(
            _plan_file(mcp_path, install, lambda d: _with_server(d, cmd, store), _without_server)
        )
    return InstallPlan(changes)


__all__ = [
    "BACKUP_SUFFIX",
    "HOOK_EVENTS",
    "MCP_SERVER_NAME",
    "FileChange",
    "InstallPlan",
    "absolute_store_url",
    "default_paths",
    "memcore_command",
    "plan",
]
