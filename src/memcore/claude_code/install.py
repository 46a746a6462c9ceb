"""Put memcore into Claude Code's settings, and take it out again, without touching anything else.

Claude Code reads hooks from a settings JSON file (``~/.claude/settings.json`` for the user,
``.claude/settings.json`` for a project) and MCP servers from an MCP config (``~/.claude.json``
for the user, ``$CLAUDE_CONFIG_DIR/.claude.json`` when that is set; ``.mcp.json`` for a
project). Users keep their own hooks and servers there, so installing is a merge: memcore's
entries are added where missing, every other key and entry is kept as it was (even another
memcore's: see :mod:`memcore.claude_code.install_merge` for which entries are memcore's own),
and the user's own file (one holding nothing of memcore's) is backed up beside itself
(``<name>.memcore-backup``; an existing backup is never overwritten, a later one is numbered)
before it changes. Installing twice writes nothing the second time; uninstalling removes the
entries install added (and the backups the file it leaves makes needless), so install then
uninstall gives the original file back byte for byte (and no file where there was none). A
settings file that is a symlink (into a dotfiles repository) stays one: the file it leads to is
changed and backed up. Files are written all or none (:mod:`memcore.claude_code.install_files`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from memcore.claude_code.discovery import claude_config_dir
from memcore.claude_code.install_files import (
    BACKUP_SUFFIX,
    FileWrite,
    apply_changes,
    backups_of,
    link_target,
    next_backup,
)
from memcore.claude_code.install_json import dump, read_json, read_json_quietly, read_text
from memcore.claude_code.install_merge import (
    HOOK_EVENTS,
    HOOK_TIMEOUT,
    MCP_SERVER_NAME,
    with_hooks,
    with_server,
    without_hooks,
    without_server,
)
from memcore.errors import ValidationError
from memcore.home import home_dir

Scope = Literal["user", "project"]
#: data -> (data with memcore's entries added, or taken out; what was kept or replaced)
Transform = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]


def memcore_command() -> list[str]:
    """This interpreter's ``memcore`` by absolute path (``python -m memcore`` when no script)."""
    script = Path(sys.executable).parent / "memcore"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "memcore"]


def default_paths(scope: Scope, project_dir: Path | None = None) -> tuple[Path, Path]:
    """The settings file and the MCP config file Claude Code reads for ``scope``.

    With ``$CLAUDE_CONFIG_DIR`` set, Claude Code keeps both user files there, the user's MCP
    servers in ``$CLAUDE_CONFIG_DIR/.claude.json`` (``claude mcp add --scope user`` writes them
    there: anthropics/claude-code#48448), not in ``~/.claude.json``.
    """
    if scope == "user":
        instead = "set CLAUDE_CONFIG_DIR, or --settings and --mcp-config"
        config_dir = claude_config_dir("Claude Code's user settings", instead)
        if os.environ.get("CLAUDE_CONFIG_DIR"):
            return config_dir / "settings.json", config_dir / ".claude.json"
        home = home_dir("Claude Code's user settings", instead)
        return config_dir / "settings.json", home / ".claude.json"
    root = project_dir or Path.cwd()
    return root / ".claude" / "settings.json", root / ".mcp.json"


@dataclass(slots=True)
class FileChange:
    """What install or uninstall does to one file."""

    path: Path
    before: str | None  # None: the file does not exist
    after: str | None  # None: the file is (or stays) absent
    #: the backup of ``before``: one install makes now (``new_backup``), or one that holds it
    backup: Path | None = None
    #: The file written: ``path`` itself, or the file a symlink at ``path`` leads to (a
    #: settings file kept in a dotfiles repository stays a link, and the repository's file
    #: changes).
    target: Path | None = None
    new_backup: bool = False
    #: uninstall gives back the backed-up bytes (the file is what install made of them)
    restores: bool = False
    #: entries kept or replaced (install), other memcores' entries left (uninstall)
    notes: list[str] = field(default_factory=list)
    #: backups uninstall removes: the file it leaves holds every key they hold, as they hold it
    drop_backups: list[Path] = field(default_factory=list)
    #: backups uninstall leaves: they hold what the file it leaves does not (the user's edits
    #: since, or what an earlier installer replaced); said, for the user to compare
    kept_backups: list[Path] = field(default_factory=list)
    #: folders install makes for the file (a default one only: ``~/.claude``, a project's
    #: ``.claude``), outermost first; said, ``--dry-run`` too
    new_folders: list[Path] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.after or bool(self.drop_backups)

    @property
    def written(self) -> Path:
        return self.target or self.path


@dataclass(slots=True)
class InstallPlan:
    """The changes to both files; ``apply()`` writes them, ``--dry-run`` only shows them."""

    changes: list[FileChange] = field(default_factory=list)

    def apply(self) -> None:
        """Write every changed file, or none (a ``ValidationError`` says why)."""
        changed = [c for c in self.changes if c.changed]
        apply_changes(
            FileWrite(
                c.written,
                c.before,
                c.after,
                c.backup if c.new_backup else None,
                c.drop_backups,
            )
            for c in changed
        )
        for change in changed:
            if change.after is None:
                _remove_if_empty(change.written.parent)


def _remove_if_empty(folder: Path) -> None:
    """A project's ``.claude`` folder left empty by uninstall (install made it) goes too."""
    if folder.name == ".claude":
        with contextlib.suppress(OSError):  # (not empty: someone else's files are in it)
            folder.rmdir()


def _plan_install(path: Path, add: Transform, strip: Transform, replace: bool) -> FileChange:
    """Install's change to one file (through a symlink: the file it leads to).

    The user's own file (nothing of memcore's in it), or one install replaces entries of, is
    backed up before it changes, unless a backup already holds these bytes; a file holding
    memcore's entries, to which install only adds, is not (install made it, or backed it up
    then): its backup would be a file uninstall has no use for.
    """
    target = link_target(path)
    real = target or path
    before, data = read_json(real)
    new, notes = add(data)
    after = before if new == data and before is not None else dump(new)
    change = FileChange(path, before, after, target=target, notes=notes)
    change.new_folders = _missing_folders(real.parent) if after != before else []
    if before is None or after == before or not (replace or strip(data)[0] == data):
        return change
    for backup in backups_of(real):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if read_text(backup) == before:
                change.backup = backup
                return change
    change.backup, change.new_backup = next_backup(real), True
    return change


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist, outermost first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def _check_named(path: Path) -> None:
    """Refuse a file the user named (``--settings``, ``--mcp-config``) in a folder that does
    not exist, as a symlink into one is: a mistyped path would have install make folders
    (``/nonexist/dir`` at the root) that uninstall could not tell from the user's own. A
    project's ``.claude`` folder may be missing (the project scope makes it, and uninstall
    removes it again when empty)."""
    parent = path.parent
    if parent.name == ".claude" and not parent.exists():
        parent = parent.parent
    if not path.is_symlink() and not parent.exists():
        raise ValidationError(
            f"{path} is in a folder that does not exist: make the folder, or name another "
            "file; nothing was changed"
        )


def _plan_uninstall(path: Path, strip: Transform) -> FileChange:
    """Uninstall's change to one file: the backed-up bytes when the file is still what install
    made of them, else the file without memcore's own entries (no file, when install made it
    and nothing else is in it); then the backups that file holds all of go (they are older
    states of it: left, one may be committed with a project), the others are named."""
    target = link_target(path)
    real = target or path
    before, data = read_json(real)
    if before is None:
        return FileChange(path, None, None, target=target)
    stripped, notes = strip(data)
    backups = [(b, read_json_quietly(b)) for b in backups_of(real)]
    change = FileChange(path, before, before, target=target, notes=notes)
    final = stripped
    for backup, original in reversed(backups):  # the latest first
        if (
            original is not None
            and strip(original)[0] == original
            and _bare(original) == _bare(stripped)
        ):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                change.after, change.backup = read_text(backup), backup
                change.restores, final = change.after != before, original
                break
    else:
        users = [o for _, o in backups if o is None or strip(o)[0] == o]
        if not stripped and stripped != data and not users:
            change.after = None  # install made it (no backup of the user's): nothing is left
        elif stripped != data:
            change.after = dump(stripped)
    for backup, original in backups:
        if original is not None and _holds_all(final, strip(original)[0]):
            change.drop_backups.append(backup)
        else:
            change.kept_backups.append(backup)
    return change


def _bare(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the empty containers uninstall leaves no trace of: an event's empty
    list of hooks, an empty ``hooks`` or ``mcpServers``. A file that had them before install
    is still the file install started from once memcore's own entries are gone."""
    out = dict(data)
    hooks = out.get("hooks")
    if isinstance(hooks, dict):
        out["hooks"] = {event: groups for event, groups in hooks.items() if groups != []}
    for key in ("hooks", "mcpServers"):
        if out.get(key) == {}:
            del out[key]
    return out


def _holds_all(whole: object, part: object) -> bool:
    """``part`` is in ``whole``: each key with what it holds, each list's items in order among
    the other list's (added items between them are fine), each value equal. A backup so held by
    the file uninstall leaves holds nothing the user could want back."""
    if isinstance(whole, dict) and isinstance(part, dict):
        return all(key in whole and _holds_all(whole[key], value) for key, value in part.items())
    if isinstance(whole, list) and isinstance(part, list):
        rest = iter(whole)
        return all(any(_holds_all(item, wanted) for item in rest) for wanted in part)
    return type(whole) is type(part) and whole == part


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
    replace: bool = False,
) -> InstallPlan:
    """The changes install (or uninstall) makes; nothing is written until ``apply()``.

    Both files are read and checked before either is changed: a file that is not a JSON object
    (or a symlink loop), or a file named in ``settings`` or ``mcp_config`` whose folder does
    not exist, raises :class:`ValidationError` and nothing is written. ``server=False``
    (an install where the ``mcp`` package is missing, so that the server could not start)
    leaves the MCP servers' file alone; uninstall always plans both. ``replace``: install puts
    its entries in place of another memcore's (or another ``memcore`` server), which it
    otherwise keeps.
    """
    default_settings, default_mcp = default_paths(scope)
    settings_path = settings or default_settings
    mcp_path = mcp_config or default_mcp
    cmd = command or memcore_command()
    store = absolute_store_url(store)

    def strip_hooks(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        return without_hooks(data, cmd)

    def strip_server(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        return without_server(data, cmd)

    if not install:
        return InstallPlan(
            [_plan_uninstall(settings_path, strip_hooks), _plan_uninstall(mcp_path, strip_server)]
        )

    def add_hooks(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        return with_hooks(data, cmd, store, replace)

    def add_server(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        return with_server(data, cmd, store, replace)

    for named in (settings, mcp_config):
        if named is not None:
            _check_named(named)
    changes = [_plan_install(settings_path, add_hooks, strip_hooks, replace)]
    if server:
        changes.append(_plan_install(mcp_path, add_server, strip_server, replace))
    return InstallPlan(changes)


__all__ = [
    "BACKUP_SUFFIX",
    "HOOK_EVENTS",
    "HOOK_TIMEOUT",
    "MCP_SERVER_NAME",
    "FileChange",
    "InstallPlan",
    "absolute_store_url",
    "default_paths",
    "memcore_command",
    "plan",
]
