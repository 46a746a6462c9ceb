"""Where a Claude Code project's memory lives in a store, and how one session is saved into it.

Each Claude Code session's items go to the memcore session named by its session id (as
``memcore import-claude-code`` files them). Each project (a ``cwd``) has one registry session,
``memcore.project:<project key>``, with one entry per Claude Code session of that project: the
session's digest, what knowledge transfer found in it (preferences, shortcuts, common tasks), the
files it touched, and how far each of its transcript files has been read. Sessions of one project
run at once; each writes only its own registry key, so their syncs never conflict, and nothing a
session-start hook needs is more than one small session away.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memcore.claude_code.discovery import project_dir_name
from memcore.errors import NotFoundError, ValidationError
from memcore.model import MemoryItem, utc_now

#: Prefix of the registry sessions; ``memcore.``-prefixed sessions are memcore's own.
REGISTRY_PREFIX = "memcore.project."
#: Tokens of the digest kept per session in the registry.
STORED_DIGEST_TOKENS = 900
#: Shorter digests kept beside it: session-start gives each earlier session a share of its
#: budget, and the digest's own choice at that size says more than the start of a long one.
BRIEF_DIGEST_TOKENS = (150, 300, 500)
#: The longest project key kept whole (session ids hold 200 characters, prefixes included).
MAX_KEY = 160
#: Files listed per session in its registry entry, most touched first.
FILES_PER_SESSION = 20
#: The digest rules a registry entry's digests were made by. An entry made by other rules (an
#: older memcore) is made again from its session's stored items by a later save of the project
#: (``memcore.claude_code.hooks.refresh_stale_record``): a session that ended before an upgrade is
#: otherwise brought back by the old rules for good. Bump the number when the digest's rules
#: change between releases; a new release re-makes every entry once.
DIGEST_RULES = 2


def digest_rules() -> str:
    """The current rules' name, stored in each entry a save makes (``SessionRecord.made_by``)."""
    from memcore import __version__

    return f"{__version__}+{DIGEST_RULES}"


def project_key(cwd: str | os.PathLike[str]) -> str:
    """A project's name in the store: Claude Code's own folder name (``/a/b`` -> ``-a-b``)."""
    text = os.fspath(cwd)
    if not text or not os.path.isabs(text):
        raise ValidationError(f"a project is named by an absolute cwd (got {text!r})")
    key = project_dir_name(os.path.normpath(text))
    if len(key) > MAX_KEY:  # session ids are at most 200 characters: keep it unique, not whole
        tail = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        key = f"{key[: MAX_KEY - 17]}-{tail}"
    return key


def registry_session(cwd: str | os.PathLike[str]) -> str:
    """The registry session of the project at ``cwd``."""
    return REGISTRY_PREFIX + project_key(cwd)


def latest_first(records: Iterable[SessionRecord]) -> list[SessionRecord]:
    """Sessions by when each last did something, the latest first, not by when it was saved:
    sessions imported at once (``memcore import-claude-code``) were saved in the same second."""
    return sorted(
        records,
        key=lambda r: (r.last_activity or r.updated_at, r.updated_at, r.session_id),
        reverse=True,
    )


def registry_key(session_id: str) -> str:
    return f"session:{session_id}"


@dataclass(slots=True)
class SessionRecord:
    """One session's entry in its project's registry (kept as a MemoryItem's metadata)."""

    session_id: str
    cwd: str
    digest: str
    updated_at: str
    items: int = 0
    digest_items: int = 0  # how many items the digest was made from
    preferences: list[str] = field(default_factory=list)
    shortcuts: list[str] = field(default_factory=list)
    common_tasks: list[str] = field(default_factory=list)
    files: dict[str, dict[str, int]] = field(default_factory=dict)
    read_to: dict[str, list[int]] = field(default_factory=dict)  # path -> [size, mtime, offset]
    git_branch: str = ""
    last_activity: str = ""  # the newest item's time: when the session last did something
    briefs: list[str] = field(default_factory=list)  # shorter digests (BRIEF_DIGEST_TOKENS)
    made_by: str = ""  # the digest rules that made the digests ("": before they were named)

    def to_item(self) -> MemoryItem:
        meta: dict[str, Any] = {
            "kind": "session-record",
            "session_id": self.session_id,
            "cwd": self.cwd,
            "updated_at": self.updated_at,
            "items": self.items,
            "digest_items": self.digest_items,
            "preferences": self.preferences,
            "shortcuts": self.shortcuts,
            "common_tasks": self.common_tasks,
            "files": self.files,
            "read_to": self.read_to,
            "git_branch": self.git_branch,
            "last_activity": self.last_activity,
            "briefs": self.briefs,
            "made_by": self.made_by,
        }
        return MemoryItem(registry_key(self.session_id), self.digest, metadata=meta)

    @classmethod
    def from_item(cls, item: MemoryItem) -> SessionRecord:
        meta = item.metadata

        def strings(name: str) -> list[str]:
            value = meta.get(name)
            return [str(v) for v in value] if isinstance(value, list) else []

        files = meta.get("files")
        read_to = meta.get("read_to")
        return cls(
            session_id=str(meta.get("session_id", item.id.removeprefix("session:"))),
            cwd=str(meta.get("cwd", "")),
            digest=item.content,
            updated_at=str(meta.get("updated_at", "")),
            items=int(meta.get("items", 0) or 0),
            digest_items=int(meta.get("digest_items", 0) or 0),
            preferences=strings("preferences"),
            shortcuts=strings("shortcuts"),
            common_tasks=strings("common_tasks"),
            files=files if isinstance(files, dict) else {},
            read_to=read_to if isinstance(read_to, dict) else {},
            git_branch=str(meta.get("git_branch", "")),
            last_activity=str(meta.get("last_activity", "")),
            briefs=strings("briefs"),
            made_by=str(meta.get("made_by", "")),
        )


def _first_record(path: Path) -> dict[str, Any] | None:
    """The first JSON object line of a file carrying a ``sessionId`` (None when there is none)."""
    try:
        with path.open("rb") as handle:
            for _, raw in zip(range(50), handle, strict=False):
                try:
                    record = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    continue
                if isinstance(record, dict) and isinstance(record.get("sessionId"), str):
                    return record
    except OSError:
        return None
    return None


def session_files(transcript: Path, session_id: str) -> list[Path]:
    """The transcript and its sub-agents' files (``agent-*.jsonl`` of this session beside it,
    or under ``<session>/subagents/``), main file first."""
    found = [transcript]
    candidates = sorted(transcript.parent.glob("agent-*.jsonl"))
    candidates += sorted((transcript.parent / session_id / "subagents").glob("*.jsonl"))
    for path in candidates:
        record = _first_record(path)
        if path != transcript and record is not None and record.get("sessionId") == session_id:
            found.append(path)
    return found


def _inside(path: str, root: str) -> bool:
    path, root = os.path.normpath(path), os.path.normpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_transcript(transcript: Path, session_id: str | None, cwd: str) -> str:
    """The transcript's session id, after checking that the file belongs to this payload.

    Refused (``ValidationError``/``NotFoundError``): a path that is not a readable file, a file
    with no transcript record, records of another session, or records of another project (a
    ``cwd`` outside the payload's): a hook must not file someone else's transcript here.
    """
    if not transcript.is_file():
        raise NotFoundError(f"no transcript file at {transcript}")
    if not os.access(transcript, os.R_OK):
        raise ValidationError(f"the transcript {transcript} is not readable")
    record = _first_record(transcript)
    if record is None:
        raise ValidationError(f"{transcript} holds no Claude Code transcript record")
    found = str(record["sessionId"])
    if session_id and found != session_id:
        raise ValidationError(
            f"{transcript} is the transcript of session {found}, not of {session_id}"
        )
    record_cwd = record.get("cwd")
    if isinstance(record_cwd, str) and record_cwd and not _inside(record_cwd, cwd):
        raise ValidationError(f"{transcript} belongs to the project at {record_cwd}, outside {cwd}")
    return found


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
    """Files written by Edit/Write tool calls, counted, from the items' metadata."""
    changed: Counter[str] = Counter()
    for item in items:
        meta = item.metadata
        tool = meta.get("tool")
        path = meta.get("file_path")
        if tool in ("Edit", "Write", "MultiEdit", "NotebookEdit") and isinstance(path, str):
            changed[path] += 1
    return changed


def summarize_files(
    accesses: Sequence[str], items: Sequence[MemoryItem]
) -> dict[str, dict[str, int]]:
    """The session's most touched files: ``{path: {"touched": n, "changed": m}}``."""
    touched = files_touched(accesses)
    for path, n in _changed_files(items).items():
        touched.setdefault(path, {"touched": 0})["changed"] = n
    return merge_files({}, touched)


@dataclass(slots=True)
class ParsedSession:
    """What the transcript files of one session gave."""

    session_id: str
    items: list[MemoryItem]
    accesses: list[str]
    read_to: dict[str, list[int]]  # path -> [size, mtime_ns, byte offset read to]
    git_branch: str
    incremental: bool  # every file was read on from where the last save stopped


def _resume_offset(previous: list[int] | None, size: int) -> int:
    """Where to read on from: the last save's offset, unless the file shrank (replaced)."""
    if not previous or len(previous) != 3 or not 0 <= previous[2] <= previous[0] <= size:
        return 0
    return int(previous[2])


def parse_session(
    files: Sequence[Path], session_id: str, read_to: Mapping[str, list[int]] | None = None
) -> ParsedSession:
    """Parse a session's transcript files (main and sub-agents) into one item list.

    With the ``read_to`` of the last save, each file is read on from where that save stopped
    (only whole lines; a half-written last line waits for the next save), so a save after one
    more turn parses that turn, not the whole session.
    """
    from memcore.claude_code.transcripts import parse_transcript  # the saving hooks' only

    items: list[MemoryItem] = []
    accesses: list[str] = []
    now_read: dict[str, list[int]] = {}
    branch = ""
    incremental = True
    for path in files:
        size, mtime = file_stamp(path)
        start = _resume_offset((read_to or {}).get(str(path)), size)
        incremental &= start > 0
        transcript = parse_transcript(path, session=session_id, start_offset=start)
        items.extend(transcript.items)
        accesses.extend(transcript.accesses)
        now_read[str(path)] = [size, mtime, transcript.end_offset]
        for item in transcript.items:
            value = item.metadata.get("git_branch")
            if isinstance(value, str) and value:
                branch = value
    return ParsedSession(session_id, items, accesses, now_read, branch, incremental)


def unchanged_since(record: SessionRecord | None, files: Sequence[Path]) -> bool:
    """Every file is exactly as far as the registry says it was read (size and mtime)."""
    if record is None:
        return False
    try:
        return all(record.read_to.get(str(p), [])[:2] == file_stamp(p) for p in files)
    except OSError:
        return False


def merge_files(
    old: Mapping[str, Mapping[str, int]], new: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, int]]:
    """File counts of the last save plus those of what was read since, most touched first."""
    merged: dict[str, dict[str, int]] = {p: dict(c) for p, c in old.items()}
    for path, counts in new.items():
        entry = merged.setdefault(path, {})
        for name, n in counts.items():
            entry[name] = entry.get(name, 0) + int(n)
    ranked = sorted(
        merged.items(),
        key=lambda kv: (-kv[1].get("changed", 0), -kv[1].get("touched", 0), kv[0]),
    )
    return dict(ranked[:FILES_PER_SESSION])


def now_text() -> str:
    return utc_now().isoformat(timespec="seconds")


__all__ = [
    "BRIEF_DIGEST_TOKENS",
    "REGISTRY_PREFIX",
    "STORED_DIGEST_TOKENS",
    "ParsedSession",
    "SessionRecord",
    "check_transcript",
    "merge_files",
    "now_text",
    "parse_session",
    "project_key",
    "registry_key",
    "registry_session",
    "session_files",
    "summarize_files",
    "unchanged_since",
]
