"""``sqlite:///...`` store URLs: the file's path and the two query parameters, checked when the
URL is read, so that a path no file can have is refused there, naming the URL, not at the
first sync with the operating system's words (``ValueError: embedded null byte``).
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl

from memcore.errors import ValidationError

_DEFAULT_TIMEOUT = 5.0


def parse_sqlite_url(url: str) -> tuple[str, float, str]:
    """``(path, timeout, synchronous)`` from a ``sqlite:///...`` URL; ``ValidationError`` if bad.

    Parsed by hand (not ``urlsplit``) so a path is taken literally, percent signs included.
    """
    if not isinstance(url, str) or not url.lower().startswith("sqlite://"):
        raise ValidationError(f"not an sqlite URL: {url!r}")
    rest = url[len("sqlite://") :]
    rest, _, query = rest.partition("?")
    if not rest.startswith("/") or len(rest) < 2:
        raise ValidationError(
            f"invalid sqlite URL {url!r}: use sqlite:///relative/path.db or sqlite:////abs/path.db"
        )
    path = rest[1:]
    _check_path(url, path)
    timeout, synchronous = _DEFAULT_TIMEOUT, "NORMAL"
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                timeout = -1.0
            if not 0 <= timeout <= 3600:
                raise ValidationError(f"invalid sqlite timeout {value!r}: seconds in [0, 3600]")
        elif name == "synchronous":
            synchronous = value.upper()
            if synchronous not in ("NORMAL", "FULL"):
                raise ValidationError(f"invalid sqlite synchronous {value!r}: normal or full")
        else:
            raise ValidationError(f"unknown sqlite URL parameter {name!r}")
    return path, timeout, synchronous


def _check_path(url: str, path: str) -> None:
    """A path the file system can name: no NUL byte (C strings end there), and characters its
    encoding can write (a lone surrogate such as ``\\ud800`` cannot be)."""
    if "\x00" in path:
        raise ValidationError(
            f"invalid sqlite URL {url!r}: its path holds a NUL byte, which no file name can"
        )
    try:
        os.fsencode(path)
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"invalid sqlite URL {url!r}: its path cannot be a file name here "
            f"({exc.object[exc.start : exc.end]!r}: {exc.reason})"
        ) from None


__all__ = ["parse_sqlite_url"]
