"""The hook's payload, read from its standard input: to the end, or as soon as what was read is
one whole JSON object with nothing after it.

Claude Code writes the payload and closes the pipe, but some versions left it open for some
events (``SessionEnd`` after ``/clear``): a hook that reads to the end then waited until Claude
Code killed it at its timeout, and the session's save was lost. The payload is one JSON object,
so once the bytes read so far end in ``}`` and parse as one, there is nothing left to wait for.
"""

from __future__ import annotations

import json
import os
import select

#: Bytes read at a time (a payload is well under this: one read, as a rule).
CHUNK = 1 << 16
#: A payload is a few hundred bytes; one past this is refused rather than read on (a stream
#: that never ends, ``/dev/zero``, would fill the memory).
MAX_PAYLOAD = 4 << 20
_SPACES = b" \t\r\n"
#: How long a writer that stopped writing is given before a payload that did not double since
#: the last parse is parsed again (see :func:`read_payload`).
PAUSE = 0.05


def whole_object(data: bytes) -> str | None:
    """``data`` as text when it is one whole JSON object (spaces around it aside), else None."""
    return _whole(data, b"}")


def _whole(data: bytes, ends: bytes) -> str | None:
    """``data`` as text when it is one whole JSON value that ends in one of ``ends``."""
    text = data.strip()
    if not text or text[-1] not in ends:
        return None
    try:
        decoded = text.decode("utf-8")
        _, end = json.JSONDecoder().raw_decode(decoded)
    except (ValueError, RecursionError):  # more is on its way, or it is no JSON (nested too
        return None  # deep for the parser, UnicodeDecodeError: said when the stream ends)
    return decoded if end == len(decoded) else None


def read_payload(fd: int = 0) -> str:
    """The payload from ``fd``, as text (UTF-8, as Claude Code writes it): read until the end
    of the stream or, without waiting for it, until it is one whole JSON object.
    ``UnicodeDecodeError`` for bytes that are not UTF-8 at the end of the stream; ``OSError``
    when the stream cannot be read; ``ValueError`` past ``MAX_PAYLOAD`` bytes.

    What was read is parsed only when it ends in ``}`` (or ``]`` or ``"``: a whole value that
    is no object is returned too, for the hook to refuse) and nothing more is waiting to be read,
    and, until it has doubled since the last try, only once the writer has paused for
    ``PAUSE``: parsed after every chunk, a payload of many ``}``-ended chunks took seconds
    (each parse reading all of it); so the parses of one payload read at most about twice its
    bytes, and one that is whole is parsed at the latest ``PAUSE`` after its last byte."""
    data = bytearray()
    tried = 0  # how many bytes the last parse read
    while True:
        try:
            chunk = os.read(fd, CHUNK)
        except InterruptedError:
            continue
        if not chunk:
            return bytes(data).decode("utf-8")
        data += chunk
        if len(data) > MAX_PAYLOAD:
            raise ValueError(f"the hook payload is over {MAX_PAYLOAD >> 20} MiB")
        if not _ends_in_closer(data) or _more_waiting(fd, 0):
            continue
        if len(data) < 2 * tried and _more_waiting(fd, PAUSE):
            continue
        tried = len(data)
        # (a whole array or string is no payload either: returned, for the hook to refuse,
        # rather than waited on until Claude Code kills the hook)
        whole = _whole(bytes(data), _CLOSERS)
        if whole is not None:
            return whole


#: The last bytes of a JSON value that can be known whole without reading on: an object's, an
#: array's, a string's (a number may go on: ``1`` may be ``12``).
_CLOSERS = b'}]"'


def _ends_in_closer(data: bytearray) -> bool:
    """Whether ``data``'s last byte that is no space is one of ``_CLOSERS``."""
    at = len(data) - 1
    while at >= 0 and data[at] in _SPACES:
        at -= 1
    return at >= 0 and data[at] in _CLOSERS


def _more_waiting(fd: int, timeout: float) -> bool:
    """Whether a read of ``fd`` would return within ``timeout`` s (more bytes, or the end)."""
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    except (OSError, ValueError):  # (a descriptor select cannot watch: parse what is here)
        return False
    return bool(ready)


__all__ = ["CHUNK", "MAX_PAYLOAD", "read_payload", "whole_object"]
