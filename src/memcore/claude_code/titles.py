"""A session's title, which newer Claude Code versions write as records of their own: the one
the user gave it (``{"type": "custom-title", "customTitle": ...}``, from ``/rename``) and the
one Claude Code made of the session (``{"type": "ai-title", "aiTitle": ...}``). The user's wins
where both are: a digest and a list of sessions say what the session was about by it. Older
versions titled a conversation with a ``summary`` record naming its last message
(``leafUuid``): one whose message is in the same transcript titles that session.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

#: How a digest's line of the session's topic branch starts (``memcore.digest_lines``): here, so
#: that what reads digests (session start, the list of sessions) need not import the digest.
BRANCH_LEAD = "- The work is on the branch "
#: How a digest's line of the agent's question that ended the session, unanswered, starts
#: (``memcore.digest_open``; the digest seeds it when no request is open), here for the same
#: reason.
CLOSING_QUESTION = "- Awaiting the user's answer: "
#: Record type -> who titled the session, and the fields that may hold the title.
TITLE_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "custom-title": ("custom", ("customTitle", "title")),
    "ai-title": ("ai", ("aiTitle", "title")),
}
#: How a title item's text starts, by who titled the session (the title follows, quoted).
TITLE_LEAD_IN = {
    "custom": "The user titled the session ",
    "ai": "Claude Code titled the session ",
}
#: The most characters of a title kept (a title is a few words; a longer text is no title).
TITLE_CHARS = 200


def session_title(rec: Mapping[str, Any], kind: str) -> str | None:
    """The title a ``custom-title`` or ``ai-title`` record holds, on one line; None when it
    holds none (or a text too long to be one)."""
    fields = TITLE_FIELDS.get(kind)
    if fields is None:
        return None
    for name in fields[1]:
        value = rec.get(name)
        if isinstance(value, str):
            return clean_title(value)
    return None


def clean_title(value: str) -> str | None:
    """A title on one line, its double quotes made single (it is said in quotes); None when
    empty or too long to be one."""
    text = " ".join(value.replace('"', "'").split())
    return text if 0 < len(text) <= TITLE_CHARS else None


#: The most places a record's id is looked at before its own line is found (its children name it
#: too, as their ``parentUuid``).
_LOOKS = 8


def earlier_record_times(path: Path, uuids: set[str], before: int) -> dict[str, datetime]:
    """The times of the records ``uuids`` among the file's first ``before`` bytes (what an
    earlier save read): Claude Code, resuming a session, writes its titles as ``summary``
    records naming the record its conversation ended at, often the last one that save read,
    which made no item to learn its time from. Only records a whole parse would time (a
    message or a system record with its own timestamp); the others are left out."""
    from memcore.errors import ValidationError
    from memcore.model import to_utc_datetime

    found: dict[str, datetime] = {}
    try:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
            end_of_read = min(before, len(m))
            for uid in sorted(uuids):
                needle = f'"{uid}"'.encode()
                at = m.rfind(needle, 0, end_of_read)
                for _ in range(_LOOKS):
                    if at < 0:
                        break
                    start = m.rfind(b"\n", 0, at) + 1
                    stop = m.find(b"\n", at, end_of_read)
                    try:
                        rec = json.loads(m[start : end_of_read if stop < 0 else stop])
                        if (
                            isinstance(rec, dict)
                            and rec.get("uuid") == uid
                            and rec.get("type") in ("user", "assistant", "system")
                        ):
                            stamp: Any = rec.get("timestamp")
                            if stamp is not None:
                                found[uid] = to_utc_datetime(stamp)
                            break
                    except (ValueError, ValidationError):
                        pass  # (not its line, or one a whole parse would not time either)
                    at = m.rfind(needle, 0, start)
    except (OSError, ValueError):  # (gone, or empty: nothing to learn)
        return found
    return found


__all__ = [
    "BRANCH_LEAD",
    "CLOSING_QUESTION",
    "TITLE_CHARS",
    "TITLE_FIELDS",
    "TITLE_LEAD_IN",
    "clean_title",
    "earlier_record_times",
    "session_title",
]
