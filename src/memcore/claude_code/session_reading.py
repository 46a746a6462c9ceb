"""A session's transcript files as a save reads them: on from where the last save stopped (the
registry entry's ``read_to``), into one item list (:func:`parse_session`), and the files the
session touched, counted for its entry (:func:`summarize_files`, :func:`merge_files`). Apart
from :mod:`memcore.claude_code.project`, which says where a project's memory lives and what an
entry holds: reading transcripts is the saving hooks' and the importer's work (the parser itself
is imported only when a save parses).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from memcore.model import MemoryItem

if TYPE_CHECKING:
    from memcore.claude_code.project import SessionRecord

#: Files listed per session in its registry entry, most touched first.
FILES_PER_SESSION = 20


def file_stamp(path: Path) -> list[int]:
    """The file's size and modification time (ns): a saved session's ``read_to`` keeps them."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def files_touched(accesses: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per file, how often it was read and changed, from a transcript's access sequence."""
    counts: dict[str, Counter[str]] = {}
    for access in accesses:
        if access.startswith("file:"):
            counts.setdefault(access[5:], Counter())["touched"] += 1
    return {path: dict(c) for path, c in counts.items()}


def _changed_files(items: Sequence[MemoryItem]) -> Counter[str]:
    """Files written by Edit/Write tool calls, counted once an edit, from the items' metadata:
    an edit's result names its tool and file too, and counting it as well doubled every count
    ("changed 34x" for 17 edits). The call is what is counted, as its result may come in a
    later save (read on from an offset, it is filed under tool ``unknown``)."""
    changed: Counter[str] = Counter()
    for item in items:
        meta = item.metadata
        tool = meta.get("tool")
        path = meta.get("file_path")
        if (
            meta.get("kind") == "tool_call"
            and tool in ("Edit", "Write", "MultiEdit", "NotebookEdit")
            and isinstance(path, str)
        ):
            changed[path] += 1
    return changed


def summarize_files(
    accesses: Sequence[str], items: Sequence[MemoryItem]
) -> dict[str, dict[str, int]]:
    """The session's most touched files: ``{path: {"touched": n, "changed": m}}``. A file that
    every try to read failed for ("File does not exist") was never there to matter: left out,
    unless the session then made it."""
    touched = files_touched(accesses)
    changed = _changed_files(items)
    for path in _never_read(items) - changed.keys():
        touched.pop(path, None)
    for path, n in changed.items():
        touched.setdefault(path, {"touched": 0})["changed"] = n
    return merge_files({}, touched)


def _never_read(items: Sequence[MemoryItem]) -> set[str]:
    """The files whose every read in ``items`` failed."""
    from memcore.claude_code.tools import READ_TOOLS  # (a save's: session-start needs none)

    failed: set[str] = set()
    read: set[str] = set()
    for item in items:
        meta = item.metadata
        path = meta.get("file_path")
        if meta.get("tool") not in READ_TOOLS or not isinstance(path, str):
            continue
        if meta.get("is_error") is True:
            failed.add(path)
        elif meta.get("kind") != "tool_call":  # a result that read it
            read.add(path)
    return failed - read


def recount_changes(
    files: Mapping[str, Mapping[str, int]], items: Sequence[MemoryItem]
) -> dict[str, dict[str, int]]:
    """``files`` with their changes counted again from ``items``, all of the session's: exact
    whatever earlier saves counted (an entry saved while an edit's result counted as well holds
    twice as many; a copy read again holds none of its own)."""
    recounted = {
        path: {name: int(n) for name, n in counts.items() if name != "changed"}
        for path, counts in files.items()
    }
    for path, n in _changed_files(items).items():
        recounted.setdefault(path, {"touched": 0})["changed"] = n
    return merge_files({}, recounted)


@dataclass(slots=True)
class ParsedSession:
    """What the transcript files of one session gave."""

    session_id: str
    items: list[MemoryItem]
    accesses: list[str]
    read_to: dict[str, list[int]]  # path -> [size, mtime_ns, byte offset read to]
    git_branch: str
    #: The main file, and every other file the last save read, were read on from where it
    #: stopped (a sub-agent's file new since then is read whole and still adds): what was read
    #: adds to what the last save knew. False: a file it read was read again from the start,
    #: or the transcript is a copy at a path it never read (a ``full.jsonl`` checkpoint).
    incremental: bool
    #: Stored items the records read now changed (see ``Transcript.amended``): written again,
    #: not counted again.
    amended: list[MemoryItem] = field(default_factory=list)


def _resumable(previous: list[int] | None, size: int) -> bool:
    """The last save's stamp of a file is one to read on from (the file did not shrink)."""
    if previous is None or len(previous) != 3:
        return False
    return 0 <= previous[2] <= previous[0] <= size


def resume_offset(previous: list[int] | None, size: int) -> int:
    """Where to read on from: the last save's offset, unless the file shrank (replaced)."""
    return int(previous[2]) if previous is not None and _resumable(previous, size) else 0


def parse_session(
    files: Sequence[Path],
    session_id: str,
    read_to: Mapping[str, list[int]] | None = None,
    stored: Sequence[MemoryItem] | None = None,
) -> ParsedSession:
    """Parse a session's transcript files (main and sub-agents) into one item list.

    With the ``read_to`` of the last save, each file is read on from where that save stopped
    (only whole lines; a half-written last line waits for the next save), so a save after one
    more turn parses that turn, not the whole session; ``stored``, the session's items as the
    last save left them, lets each file's parse read on knowing what the earlier one knew (see
    ``parse_transcript``), and the stored items it changes (an error fixed now) come back in
    ``ParsedSession.amended``.
    """
    from memcore.claude_code.transcripts import parse_transcript  # the saving hooks' only

    items: list[MemoryItem] = []
    amended: list[MemoryItem] = []
    accesses: list[str] = []
    now_read: dict[str, list[int]] = {}
    branch = ""
    incremental = True
    known = read_to or {}
    for index, path in enumerate(files):
        size, mtime = file_stamp(path)
        previous = known.get(str(path))
        start = resume_offset(previous, size)
        if previous is not None or index == 0:  # a sub-agent's file new since: read whole
            incremental &= _resumable(previous, size)
        transcript = parse_transcript(
            path, session=session_id, start_offset=start, stored=stored if start else None
        )
        items.extend(transcript.items)
        amended.extend(transcript.amended)
        accesses.extend(transcript.accesses)
        now_read[str(path)] = [size, mtime, transcript.end_offset]
        for item in transcript.items:
            value = item.metadata.get("git_branch")
            if isinstance(value, str) and value:
                branch = value
    return ParsedSession(session_id, items, accesses, now_read, branch, incremental, amended)


def unchanged_since(record: SessionRecord | None, files: Sequence[Path]) -> bool:
    """Every file is exactly as far as the registry says it was read (size and mtime)."""
    if record is None:
        return False
    try:
        return all(read_as(record, p, file_stamp(p)) for p in files)
    except OSError:
        return False


def read_as(record: SessionRecord | None, path: Path, stamp: list[int]) -> bool:
    """Whether the registry entry ``record`` read ``path`` when its stamp (``file_stamp``: size
    and mtime) was ``stamp``, or read it to its very end at the size it still has: a file
    only touched since (its mtime changed: ``touch``, a copy that kept no times) holds nothing
    unread, since a save reads on from the offset read to whatever the time (one that read it
    again would find nothing, and write a new version of the entry for its new time alone)."""
    if record is None:
        return False
    read = record.read_to.get(str(path), [])
    if read[:2] == stamp:
        return True
    return len(read) == 3 and len(stamp) == 2 and read[0] == read[2] == stamp[0]


def merge_files(
    old: Mapping[str, Mapping[str, int]],
    new: Mapping[str, Mapping[str, int]],
    *,
    again: bool = False,
) -> dict[str, dict[str, int]]:
    """File counts of the last save plus those of what was read since, most touched first.

    ``again``: ``new`` counts a reading of the session from its start (a copy of it at another
    path, a shorter checkpoint): each count is the larger of the two, as a copy's are part of
    what the last save counted, and a shorter copy must not leave the entry knowing less.
    """
    merged: dict[str, dict[str, int]] = {p: dict(c) for p, c in old.items()}
    for path, counts in new.items():
        entry = merged.setdefault(path, {})
        for name, n in counts.items():
            held = entry.get(name, 0)
            entry[name] = max(held, int(n)) if again else held + int(n)
    ranked = sorted(
        merged.items(),
        key=lambda kv: (-kv[1].get("changed", 0), -kv[1].get("touched", 0), kv[0]),
    )
    return dict(ranked[:FILES_PER_SESSION])


__all__ = [
    "FILES_PER_SESSION",
    "ParsedSession",
    "file_stamp",
    "files_touched",
    "merge_files",
    "parse_session",
    "read_as",
    "recount_changes",
    "resume_offset",
    "summarize_files",
    "unchanged_since",
]
