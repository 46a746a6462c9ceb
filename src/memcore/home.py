"""The user's home directory, where memcore's defaults live (the SQLite store's folder, Claude
Code's files). A process may have none: a container started with a user id that has no entry
in ``/etc/passwd`` and no ``$HOME``. ``Path.home()`` then raises a bare ``RuntimeError``
(3.10 to 3.13); here that is a :class:`~memcore.errors.NoHomeError` that says what to set
instead. An empty ``$HOME``, which Python reads as ``/`` (3.10 to 3.13 alike),
counts as unset: the password database's home, if the user has one. A relative ``$HOME``
(``HOME=relative/dir``) is no home at all: a default under it would be a new one in each folder
a command runs in.

memcore's own folder (:func:`default_home`, where the default store lives) follows the same
rule: ``$MEMCORE_HOME`` is taken when it is an absolute path (a leading ``~`` expanded), and a
relative one is refused, not ignored (it was taken from the working folder, so each folder a
command ran in had a store of its own; falling back to the next default instead would put the
memory where it was not asked to go); a relative ``$XDG_DATA_HOME`` is ignored, as the XDG Base
Directory specification says.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from memcore.errors import NoHomeError

_NONE = "no home directory ($HOME is not an absolute path and this user has none in /etc/passwd)"


def home_dir(needed_for: str, instead: str) -> Path:
    """The home directory; ``NoHomeError`` naming what needed it and what to set instead."""
    try:
        if os.environ.get("HOME") == "":  # (see the module's docstring)
            home = Path(pwd.getpwuid(os.getuid()).pw_dir)
        else:
            home = Path.home()
    except (RuntimeError, KeyError, OSError) as error:
        raise NoHomeError(f"{_NONE} to find {needed_for} in: {instead}") from error
    if not home.is_absolute():  # (``HOME=relative/dir``: no home, not one under this folder)
        said = os.environ.get("HOME")
        why = f"no home directory ($HOME is {said!r}, not an absolute path)" if said else _NONE
        raise NoHomeError(f"{why} to find {needed_for} in: {instead}")
    return home


def expand_home(path: str, needed_for: str, instead: str) -> Path:
    """``path`` with a leading ``~`` expanded, as ``Path.expanduser`` does, but a
    ``NoHomeError`` where there is no home to expand it to (never a folder named ``~``)."""
    if path == "~" or path.startswith("~/"):
        return home_dir(needed_for, instead) / path[2:]
    if not path.startswith("~"):
        return Path(path)
    try:  # (``~name/...``: that user's home)
        return Path(path).expanduser()
    except (RuntimeError, KeyError) as error:
        user = path.split("/", 1)[0]
        raise NoHomeError(f"{user} names no user with a home, in {path!r}: {instead}") from error


#: What a user with no home directory (or an unusable ``$MEMCORE_HOME``) can do instead.
_INSTEAD = "set MEMCORE_HOME to a folder for it, or name a store (--store URL)"


def memcore_home() -> Path | None:
    """``$MEMCORE_HOME`` (a leading ``~`` expanded), None when it is unset or empty;
    ``NoHomeError`` when it is a relative path (see the module's docstring)."""
    said = os.environ.get("MEMCORE_HOME")
    if not said:
        return None
    folder = expand_home(said, "the default store", _INSTEAD)
    if not folder.is_absolute():  # (``MEMCORE_HOME=data``: not a store in each folder)
        raise NoHomeError(
            f"$MEMCORE_HOME is {said!r}, not an absolute path: the default store would be a "
            "new one in each folder a command runs in; set MEMCORE_HOME to an absolute path, "
            "or name a store (--store URL)"
        )
    return folder


def xdg_data_home() -> Path | None:
    """``$XDG_DATA_HOME`` (a leading ``~`` expanded) when it is an absolute path, else None:
    the XDG Base Directory specification has a relative one ignored, and a store made under
    the current folder (``XDG_DATA_HOME=data memcore ...``) would be another store in each
    folder a command runs in."""
    data = os.environ.get("XDG_DATA_HOME")
    if not data:
        return None
    folder = expand_home(data, "the default store", _INSTEAD)
    return folder if folder.is_absolute() else None


def default_home() -> Path:
    """memcore's folder, where the default store lives: ``$MEMCORE_HOME`` (an absolute one: a
    relative one is a ``NoHomeError``), else ``$XDG_DATA_HOME/memcore`` (an absolute one: a
    relative one is ignored), else ``~/.local/share/memcore``; ``NoHomeError`` when that needs
    a home directory and the process has none (no ``$HOME``, or a relative one)."""
    home = memcore_home()
    if home is not None:
        return home
    data = xdg_data_home()
    if data is not None:
        return data / "memcore"
    return home_dir("the default store", _INSTEAD) / ".local" / "share" / "memcore"


__all__ = ["default_home", "expand_home", "home_dir", "memcore_home", "xdg_data_home"]
