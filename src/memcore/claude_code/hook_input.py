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

#: Bytes read at a time (a payload is well under this: one read, as a rule).
CHUNK = 1 << 16


def whole_object(data: bytes) -> str | None:
    """``data`` as text when it is one whole JSON object (spaces around it aside), else None."""
    text = data.strip()
    if not text.endswith(b"}"):
        return None
    try:
        decoded = text.decode("utf-8")
        _, end = json.JSONDecoder().raw_decode(decoded)
    except ValueError:  # (UnicodeDecodeError too): more is on its way, or it is no JSON
        return None
    return decoded if end == len(decoded) else None


def read_payload(fd: int = 0) -> str:
    """The payload from ``fd``, as text (UTF-8, as Claude Code writes it): read until the end
    of the stream or, without waiting for it, until it is one whole JSON object.
    ``UnicodeDecodeError`` for bytes that are not UTF-8 at the end of the stream; ``OSError``
    when the stream cannot be read."""
    data = bytearray()
    while True:
        try:
            chunk = os.read(fd, CHUNK)
        except InterruptedError:
            continue
        if not chunk:
            return bytes(data).decode("utf-8")
        data += chunk
        whole = whole_object(bytes(data))
        if whole is not None:
            return whole


__all__ = ["CHUNK", "read_payload", "whole_object"]
