"""The user's home directory, where memcore's defaults live (the SQLite store's folder, Claude
Code's files). A process may have none: a container started with a user id that has no entry
in ``/etc/passwd`` and no ``$HOME``. ``Path.home()`` then raises a bare ``RuntimeError``
(3.10 to 3.13); here that is a :class:`~memcore.errors.NoHomeError` that says what to set
instead. An empty ``$HOME``, which Python reads as ``/`` (3.10 to 3.13 alike),
counts as unset: the password database's home, if the user has one. A relative ``$HOME``
(``HOME=relative/dir``) is no home at all: a default under it would be a new one in each folder
a command runs in.
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


__all__ = ["expand_home", "home_dir"]
