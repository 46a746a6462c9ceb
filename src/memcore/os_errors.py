"""What the system said of a file, as memcore's messages say it: the reason and the path
(``Permission denied: /srv/notes.mcz``), and for a path through something that is no folder,
the file at fault named (``/tmp/notes is not a folder (on the way to /tmp/notes/memory.db)``),
never Python's ``[Errno 20] Not a directory: '/tmp/notes/memory.db'``, which names a path that
is not the one at fault, with an errno number no user needs.

Shared by the command line (:mod:`memcore.cli._os_errors` re-exports it) and the library's own
messages (the Claude Code installer's, the transcripts' discovery)."""

from __future__ import annotations

import errno
import os
from pathlib import PurePath


def _text(path: object) -> str:
    return os.fsdecode(path) if isinstance(path, (str, bytes)) else str(path)


def not_a_folder(path: str, *, named: bool = False) -> str:
    """What ``ENOTDIR`` on ``path`` means: the first entry on its way that exists and is no
    folder (a file where a folder was meant) is named, else ``path`` itself; ``named``: the
    message it goes into names ``path`` already (else it is said which path it is on)."""
    pure = PurePath(path)
    for ancestor in [*reversed(pure.parents), pure][1:]:  # (the first: the root or ".")
        try:
            exists, is_dir = os.path.lexists(ancestor), os.path.isdir(ancestor)
        except (OSError, ValueError):
            break
        if not exists:
            break
        if not is_dir:
            if ancestor == pure:
                return f"{path} is not a folder"
            return f"{ancestor} is not a folder" + ("" if named else f" (on the way to {path})")
    return f"{path} is not a folder, or has on its way something that is not one"


def describe_os_error(exc: OSError, *, named: bool = False) -> str:
    """``exc`` in memcore's words: the path and what is wrong with it (``named``: see
    :func:`not_a_folder`)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    return _at_fault(exc, named) or f"{reason}: {_text(exc.filename)}"


def _at_fault(exc: OSError, named: bool) -> str | None:
    """What is wrong said of the entry at fault, for a path through something that is no
    folder or a folder where a file was meant; None for any other error."""
    if exc.filename is None:
        return None
    if exc.errno == errno.ENOTDIR:
        return not_a_folder(_text(exc.filename), named=named)
    if exc.errno == errno.EISDIR:
        return f"{_text(exc.filename)} is a folder, not a file"
    return None


def os_reason(exc: OSError) -> str:
    """What is wrong, in memcore's words, for a message that names ``exc``'s path already
    (``cannot read /x/y: ...``): a path through something that is no folder names the entry at
    fault (``/x is not a folder``), a folder where a file was meant says so, anything else is
    the system's reason alone (``Permission denied``), never ``[Errno 20] ...``."""
    return _at_fault(exc, True) or exc.strerror or str(exc) or type(exc).__name__


def reworded(text: str, exc: BaseException) -> str:
    """``text`` (an error's message) with the raw words of the ``OSError`` that caused it
    (``[Errno 20] Not a directory: '/x/y'``, put there by ``f"...: {exc}"``) replaced by
    :func:`describe_os_error`'s; any other text is returned as it is."""
    cause: BaseException | None = exc
    for _ in range(4):  # (a short chain: the error, its cause, and theirs)
        if cause is None:
            break
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
        if isinstance(cause, OSError) and cause.errno is not None:
            raw = str(cause)
            if raw.startswith("[Errno") and raw in text:
                return text.replace(raw, describe_os_error(cause, named=True))
    return text


__all__ = ["describe_os_error", "not_a_folder", "os_reason", "reworded"]
