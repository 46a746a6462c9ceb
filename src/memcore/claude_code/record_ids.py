"""The name a message record's items take from its ``uuid``, when a transcript repeats one.

Items are named after the record they come from (``cc:<uuid>``, ``cc:<uuid>:<block>``), so two
records with one uuid would name their items alike and a store would keep one of them, the
other lost without a word. Claude Code writes each record once, but a transcript can hold one
twice: files joined or overlapping, a record written again, another tool writing the format.
So the first message record (user, assistant, system) with a uuid names its items by it, as
ever; the same line again adds nothing and is skipped (reported with its line); a record with
that uuid and other content is a record of its own, named ``<uuid>#<hash of its line>``: a
name that does not depend on where the file is cut, so reading on from an offset names it as
one read of the whole file does.

A parse that reads on asks the lines before its offset (:class:`Before`): one search of those
bytes finds the uuids they hold (none of the records read now, in a transcript that repeats
none: nothing more is read); the lines of a uuid met again are read only then. A record with
no uuid is named by its line in the file (``<file>:L<n>``), which a parse that reads on
counts there too, only when it meets one.
"""

from __future__ import annotations

import hashlib
import mmap
import re
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: The records whose items are named after their uuid (``RecordParser.record``).
MESSAGE_TYPES = frozenset(("user", "assistant", "system"))
#: A record's own id, as Claude Code writes it (``"parentUuid"`` is another key; the same
#: words inside a string are escaped, ``\"uuid\"``, and do not match).
RECORD_ID = re.compile(rb'"uuid":\s*"([^"\\]{1,200})"')

#: A transcript line as the parse reads it: its record, or None when it holds none.
ReadLine = Callable[[bytes], "dict[str, Any] | None"]


def message_uuid(rec: Mapping[str, Any]) -> str | None:
    """The uuid that names a record's items: a message record's own string ``uuid``."""
    kind, uuid = rec.get("type"), rec.get("uuid")
    if isinstance(kind, str) and kind in MESSAGE_TYPES and isinstance(uuid, str):
        return uuid
    return None


def line_hash(line: bytes) -> bytes:
    """What tells a record's line from another's with the same uuid (its ends' blanks and line
    end aside: CRLF or a last line without one is the same line)."""
    return hashlib.blake2b(line.strip(), digest_size=8).digest()


class Before:
    """The message records of ``path`` before byte ``offset`` (a line's start), by uuid, read
    when first asked about; ``read`` reads a line as the parse does (``mask`` its secrets
    first: the hash is of the line as kept, which holds none)."""

    def __init__(
        self, path: Path, offset: int, read: ReadLine, mask: Callable[[bytes], bytes]
    ) -> None:
        self.path = path
        self.offset = offset
        self._read = read
        self._mask = mask
        self._uuids: set[bytes] | None = None  # every uuid the bytes hold, found at first ask
        self._data: bytes | None = None  # the bytes, kept once a uuid is found there
        self._at: dict[bytes, list[int]] = {}  # where each uuid is, once one is found
        self._hashes: dict[str, frozenset[bytes]] = {}
        self._lines: int | None = None

    def _bytes(self) -> bytes:
        with self.path.open("rb") as handle:
            return handle.read(self.offset)

    def _uuids_before(self) -> set[bytes]:
        """Every uuid the bytes hold: searched in place (mapped, not read into memory: a save
        of a long session asks each time, about 1 ms a MB)."""
        with self.path.open("rb") as handle:
            try:
                with mmap.mmap(handle.fileno(), self.offset, access=mmap.ACCESS_READ) as view:
                    return set(RECORD_ID.findall(view))
            except (OSError, ValueError):  # (a file that cannot be mapped: read)
                return set(RECORD_ID.findall(handle.read(self.offset)))

    def lines(self) -> int:
        """How many lines come before the offset: a record with no uuid is named by its line
        in the file, as one read of the whole file names it (not by its line in what is read
        on, which the next save's records would be named by again)."""
        if self._lines is None:
            self._lines = (self._data if self._data is not None else self._bytes()).count(b"\n")
        return self._lines

    def hashes(self, uuid: str) -> frozenset[bytes]:
        """The ``line_hash`` of each message record with ``uuid`` before the offset (none: the
        uuid is new there)."""
        held = self._hashes.get(uuid)
        if held is not None:
            return held
        key = uuid.encode("utf-8", "surrogatepass")
        if self._uuids is None:
            self._uuids = self._uuids_before()
        found: set[bytes] = set()
        if key in self._uuids:
            if self._data is None:  # (read again, and kept: a file joined to itself asks often)
                self._data = self._bytes()
                for match in RECORD_ID.finditer(self._data):
                    self._at.setdefault(match.group(1), []).append(match.start())
            for start in sorted({_line_start(self._data, at) for at in self._at.get(key, ())}):
                line = _line(self._data, start)
                rec = self._read(line)
                if rec is not None and message_uuid(rec) == uuid:
                    found.add(line_hash(self._mask(line)))
        held = self._hashes[uuid] = frozenset(found)
        return held


class RecordIds:
    """The names one parse gave its message records, by uuid (see the module's docstring);
    ``before``: the records before the offset it reads on from."""

    __slots__ = ("_before", "_seen")

    def __init__(self, before: Before | None = None) -> None:
        self._before = before
        #: each uuid's line hash, or hashes once it named several records
        self._seen: dict[str, bytes | set[bytes]] = {}

    def name(self, uuid: str, line: bytes) -> str | None:
        """The name of the message record ``line`` (masked, as kept) whose uuid is ``uuid``:
        the uuid itself when it is the first with it, None when it is a line read already
        (the same record again), else ``<uuid>#<line_hash>``."""
        mark = line_hash(line)
        seen = self._seen.get(uuid)
        if seen is None and self._before is not None:
            earlier = self._before.hashes(uuid)
            if earlier:
                seen = self._seen[uuid] = set(earlier)
        if seen is None:
            self._seen[uuid] = mark
            return uuid
        if isinstance(seen, bytes):
            if seen == mark:
                return None
            self._seen[uuid] = {seen, mark}
        elif mark in seen:
            return None
        else:
            seen.add(mark)
        return f"{uuid}#{mark.hex()}"


def names_read_on(
    unread: bytes, found: set[str], before: Before, read: ReadLine, mask: Callable[[bytes], bytes]
) -> set[str]:
    """The records of ``unread`` (the bytes a parse reads on, from ``before``'s offset) by the
    names their items take, given ``found``, the uuids those bytes hold (``records_in``): a
    uuid of a record before the offset names no record read now (those with it are repeats,
    named by their hash, or skipped). Only a uuid there or held twice has its lines read."""
    held = Counter(uuid.decode("utf-8", "replace") for uuid in RECORD_ID.findall(unread))
    again = {uuid for uuid in found if before.hashes(uuid)}
    asked = again | {uuid for uuid, count in held.items() if count > 1}
    if not asked:
        return found
    wanted = {uuid.encode("utf-8", "surrogatepass") for uuid in asked}
    starts = {
        _line_start(unread, match.start())
        for match in RECORD_ID.finditer(unread)
        if match.group(1) in wanted
    }
    ids = RecordIds(before)
    names: set[str] = set()
    for start in sorted(starts):
        line = _line(unread, start)
        rec = read(line)
        uuid = None if rec is None else message_uuid(rec)
        if uuid is not None and uuid in asked:
            name = ids.name(uuid, mask(line))
            if name is not None:
                names.add(name)
    return (found - again) | names


def _line_start(data: bytes, at: int) -> int:
    """Where the line holding byte ``at`` of ``data`` starts."""
    return data.rfind(b"\n", 0, at) + 1


def _line(data: bytes, start: int) -> bytes:
    """The line of ``data`` that starts at ``start``, without its line end."""
    end = data.find(b"\n", start)
    return data[start : len(data) if end < 0 else end]


__all__ = [
    "MESSAGE_TYPES",
    "RECORD_ID",
    "Before",
    "RecordIds",
    "line_hash",
    "message_uuid",
    "names_read_on",
]
