"""Writing the Claude Code installer's files: all of them or none, backups never overwritten,
symlinks followed (or refused when they lead nowhere the installer can write).

``apply_changes`` first prepares every file (a temporary file beside each target, and beside
each new backup), then puts them in place one by one, each after checking that its target still
holds what the plan read (Claude Code itself rewrites ``~/.claude.json`` as it runs). On any
failure what was already put in place is put back, the temporary files and the folders made for
them go, and the error says nothing was changed: never settings written and the MCP config not.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from memcore.claude_code.install_json import read_text
from memcore.errors import ValidationError
from memcore.os_errors import os_reason

BACKUP_SUFFIX = ".memcore-backup"
#: The end of the name of a file written beside its target, then moved over it.
_TEMP_SUFFIX = ".memcore-tmp"


def link_target(path: Path) -> Path | None:
    """The file a symlink at ``path`` leads to (through every link); None for a plain file.

    A link loop is refused (writing would replace the link with a plain file); so is a link to
    a file in a folder that does not exist: install would have to make folders that uninstall
    could not tell from the user's own, so the user makes them (or names another file).
    """
    if not path.is_symlink():
        return None
    try:
        return path.resolve(strict=True)
    except FileNotFoundError:
        target = Path(os.path.realpath(path))
        if target.is_symlink() or not target.parent.is_dir():
            raise ValidationError(
                f"{path} is a symlink to {target}, in a folder that does not exist: make the "
                "folder, or name another file; nothing was changed"
            ) from None
        return target
    except (RuntimeError, OSError) as exc:  # a loop: RuntimeError before 3.13, ELOOP after
        if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
            raise ValidationError(
                f"{path} is a symlink loop (it leads back to itself); point it at a file, or "
                "name another file; nothing was changed"
            ) from None
        # (a link through a file, ``f/settings.json``: said as memcore says it, not "[Errno 20]")
        raise ValidationError(
            f"{path} is a symlink to {os.path.realpath(path)}, which cannot be reached: "
            f"{os_reason(exc)}; point it at a file, or name another file; nothing was changed"
        ) from None


def backups_of(path: Path) -> list[Path]:
    """The backups beside ``path``, oldest first: ``<name>.memcore-backup``, then ``.2``, ..."""
    found: list[Path] = []
    first = path.with_name(path.name + BACKUP_SUFFIX)
    if first.is_file():
        found.append(first)
    numbered = []
    for other in path.parent.glob(f"{glob_escape(first.name)}.*"):
        number = other.name[len(first.name) + 1 :]
        if number.isdigit() and other.is_file():
            numbered.append((int(number), other))
    return found + [other for _, other in sorted(numbered)]


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def next_backup(path: Path) -> Path:
    """A backup name not in use: the first backup is never overwritten, later ones are numbered."""
    first = path.with_name(path.name + BACKUP_SUFFIX)
    if not first.exists():
        return first
    existing = backups_of(path)
    last = existing[-1].name[len(first.name) + 1 :] if existing else ""
    number = int(last) + 1 if last.isdigit() else 2
    while (candidate := first.with_name(f"{first.name}.{number}")).exists():
        number += 1
    return candidate


@dataclass(slots=True)
class FileWrite:
    """One file's part in an apply: the target's new text (None: remove it), the backup to make
    of ``before`` (the target's text as planned), and the old backups to remove."""

    target: Path
    before: str | None
    after: str | None
    new_backup: Path | None = None
    drop_backups: Sequence[Path] = ()
    _temp: Path | None = field(default=None, init=False)
    _backup_temp: Path | None = field(default=None, init=False)


def _temp_beside(path: Path, text: str, mode: int) -> Path:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, mode)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; the ones made, deepest last."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(mode=0o700)
    return list(reversed(missing))


def _put_back(path: Path, text: str | None, mode: int) -> None:
    if text is None:
        path.unlink(missing_ok=True)
    else:
        _temp_beside(path, text, mode).replace(path)


def _place_new(temp: Path, path: Path) -> None:
    """Move ``temp`` to ``path`` only if nothing is there (a backup is never overwritten)."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError as exc:  # a file system without hard links
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if path.exists():
            raise FileExistsError(errno.EEXIST, "exists", str(path)) from exc
        temp.replace(path)
        return
    temp.unlink()


def _still(path: Path, before: str | None) -> None:
    """Refuse to write over a file another program changed since the plan read it."""
    try:
        now: str | None = read_text(path)
    except FileNotFoundError:
        now = None
    except (OSError, UnicodeDecodeError):
        now = ""
    if now != before:
        raise ValidationError(
            f"{path} changed while installing (another program wrote it); nothing was "
            "changed: run it again"
        )


def apply_changes(writes: Iterable[FileWrite]) -> None:
    """Write every file or none (see the module's docstring)."""
    writes = list(writes)
    made: list[Path] = []
    try:
        for w in writes:
            mode = w.target.stat().st_mode & 0o777 if w.before is not None else 0o600
            if w.after is not None and w.after != w.before:
                made += _make_folders(w.target.parent)
                w._temp = _temp_beside(w.target, w.after, mode)
            if w.new_backup is not None and w.before is not None:
                w._backup_temp = _temp_beside(w.new_backup, w.before, 0o600)
    except BaseException as exc:
        _clean(writes, made)
        _raise_failed(exc)
    undo: list[Callable[[], None]] = []
    try:
        for w in writes:
            _commit(w, undo)
    except BaseException as exc:
        for step in reversed(undo):
            with contextlib.suppress(OSError):
                step()
        _clean(writes, made)
        _raise_failed(exc)


def _restorer(path: Path, text: str | None, mode: int) -> Callable[[], None]:
    return lambda: _put_back(path, text, mode)


def _commit(w: FileWrite, undo: list[Callable[[], None]]) -> None:
    _still(w.target, w.before)
    mode = w.target.stat().st_mode & 0o777 if w.before is not None else 0o600
    if w._backup_temp is not None and w.new_backup is not None:
        _place_new(w._backup_temp, w.new_backup)
        w._backup_temp = None
        undo.append(w.new_backup.unlink)
    if w.after != w.before:
        if w._temp is not None:
            w._temp.replace(w.target)
            w._temp = None
        else:
            w.target.unlink()
        undo.append(_restorer(w.target, w.before, mode))
    for old in w.drop_backups:
        text = read_text(old)
        old_mode = old.stat().st_mode & 0o777
        old.unlink()
        undo.append(_restorer(old, text, old_mode))


def _clean(writes: list[FileWrite], made: list[Path]) -> None:
    for w in writes:
        for temp in (w._temp, w._backup_temp):
            if temp is not None:
                temp.unlink(missing_ok=True)
        w._temp = w._backup_temp = None
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _raise_failed(exc: BaseException) -> NoReturn:
    """Re-raise ``exc``; an ``OSError`` as one line that says nothing was changed."""
    if isinstance(exc, ValidationError) or not isinstance(exc, OSError):
        raise exc
    where = f" {_target_of(os.fsdecode(exc.filename))}" if exc.filename else ""
    raise ValidationError(f"cannot write{where}: {os_reason(exc)}; nothing was changed") from exc


def _target_of(name: str) -> str:
    """The file a temporary file of ``_temp_beside`` was to become (``.settings.json.ab12cd34
    .memcore-tmp``: ``settings.json`` beside it), the one the user named; any other name as
    it is."""
    path = Path(name)
    if path.name.startswith(".") and path.name.endswith(_TEMP_SUFFIX):
        stem = path.name[1 : -len(_TEMP_SUFFIX)].rpartition(".")[0]
        if stem:
            return str(path.with_name(stem))
    return name


__all__ = [
    "BACKUP_SUFFIX",
    "FileWrite",
    "apply_changes",
    "backups_of",
    "link_target",
    "next_backup",
]
