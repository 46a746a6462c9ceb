"""Finding Claude Code transcripts: where Claude Code keeps them, and which files hold them.

Claude Code writes one JSON-lines file per session under ``~/.claude/projects/<project path with
"/" turned into "-">/<session uuid>.jsonl``; sub-agents write ``agent-<id>.jsonl`` beside it or
under ``<session uuid>/subagents/``. Other tools keep the same records under other names
(checkpoint tools save ``full.jsonl``), so a transcript is recognized by its content.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from memcore.errors import MemcoreError, NoHomeError, NotFoundError, ValidationError
from memcore.home import expand_home, home_dir
from memcore.lazy_re import lazy_compile

_UUID_NAME = lazy_compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}\.jsonl$"
)
_AGENT_NAME = lazy_compile(r"^agent-[\w.-]+\.jsonl$")


def claude_config_dir(needed_for: str, instead: str) -> Path:
    """Claude Code's own folder: ``$CLAUDE_CONFIG_DIR`` (a leading ``~`` expanded) or
    ``~/.claude``. One reading for the transcripts and the installer alike, so that the hooks
    installed are those of the sessions found."""
    config = os.environ.get("CLAUDE_CONFIG_DIR")
    if config:
        return expand_home(config, needed_for, instead)
    return home_dir(needed_for, instead) / ".claude"


def default_projects_dir() -> Path:
    """Claude Code's transcripts: ``$CLAUDE_CONFIG_DIR/projects`` or ``~/.claude/projects``."""
    instead = "set CLAUDE_CONFIG_DIR to Claude Code's folder, or name the transcripts"
    return claude_config_dir("Claude Code's transcripts", instead) / "projects"


#: Where Claude Code keeps its own files (``~/.claude/plans/``, ``~/.claude/projects/``, a
#: project's memory file): a path holding it is Claude Code's, not a project's.
CLAUDE_FOLDER = "/.claude/"


def project_dir_name(project_path: str | os.PathLike[str]) -> str:
    """The folder Claude Code uses for a project: its absolute path with "/" turned into "-"."""
    return str(project_path).replace("/", "-")


def is_transcript_name(name: str) -> bool:
    """A main session (``<uuid>.jsonl``) or a sub-agent (``agent-<id>.jsonl``) file name."""
    return bool(_UUID_NAME.match(name) or _AGENT_NAME.match(name))


#: Record types that make a file a transcript: a session's messages and Claude Code's records
#: about them. Newer versions open a session with records of other types (its permission mode,
#: titles, an agent's name, ...), each naming the session: those are looked past.
_RECORD_TYPES = frozenset(
    {
        "user",
        "assistant",
        "system",
        "summary",
        "file-history-snapshot",
        "queue-operation",
        "progress",
        "attachment",
        "pr-link",
    }
)
_SNIFF_BYTES = 65536
#: The most bytes of a file read to find its first record (past long malformed lines).
_SNIFF_TOTAL = 16 << 20
#: At most this many malformed lines (not JSON, not a record) before a file's first record are
#: looked past: a transcript whose first line was cut or damaged is still one (its import
#: reports the lines, file:line), while a file of other lines is given up on soon.
_MALFORMED_LOOKED_PAST = 100


def looks_like_transcript(path: str | os.PathLike[str]) -> bool:
    """Whether a file holds Claude Code records, judged by its content: its first record of a
    known ``type`` names a ``sessionId`` (or is a ``summary``/snapshot record, which open
    resumed sessions), and every record before it names the session too (newer versions open a
    session with records of other types: its permission mode, titles). A file of such records
    alone holds no session. Malformed lines (not JSON, not a record with a ``type``) are looked
    past, a bounded number of them (``_MALFORMED_LOOKED_PAST``, in the first ``_SNIFF_BYTES``):
    one damaged line must not hide a session from a folder's import. Any name works:
    checkpoint tools save ``full.jsonl``."""
    try:
        with Path(path).open("rb") as handle:
            return _first_records_say_so(_line_starts(handle))
    except OSError:
        return False


def _line_starts(handle: BinaryIO) -> Iterator[bytes]:
    """The file's lines, each cut at ``_SNIFF_BYTES`` (the rest of a longer one passed over),
    until ``_SNIFF_TOTAL`` bytes were read: a junk line of 300 KB before the first record does
    not hide it, and a file of nothing but long lines is given up on soon."""
    read = 0
    while read < _SNIFF_TOTAL:
        line = handle.readline(_SNIFF_BYTES)
        if not line:
            return
        read += len(line)
        rest = line
        while not rest.endswith(b"\n") and len(rest) == _SNIFF_BYTES and read < _SNIFF_TOTAL:
            rest = handle.readline(_SNIFF_BYTES)  # (the rest of a long line)
            read += len(rest)
        yield line


def _first_records_say_so(lines: Iterable[bytes]) -> bool:
    """``looks_like_transcript``'s judgment of the file's first lines."""
    malformed = 0
    for raw in lines:
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except (ValueError, RecursionError):
            # a line longer than the sniffed bytes (or not UTF-8): judged by its opening keys
            if raw.lstrip().startswith(b"{") and b'"sessionId"' in raw and b'"type"' in raw:
                return True
            rec = None
        if not isinstance(rec, dict) or not isinstance(rec.get("type"), str):
            malformed += 1  # (the import reports it, file:line)
            if malformed > _MALFORMED_LOOKED_PAST:
                return False
            continue
        named = isinstance(rec.get("sessionId"), str)
        if rec["type"] not in _RECORD_TYPES:
            if not named:
                return False  # not a session's record: another program's lines
            continue  # a record about the session: its messages follow
        return named or rec["type"] in ("summary", "file-history-snapshot")
    return False


#: How far into a file its first session record and first working folder are looked for. A
#: resumed session may open with dozens of ``summary`` records (and snapshots): the bound is in
#: bytes, not records, so any number of small leading records is looked past.
HEAD_BYTES = 4 * 1024 * 1024


class TranscriptHead(NamedTuple):
    """What a transcript's first records say: its session and the folder it started in."""

    session_id: str | None  # the first record's ``sessionId`` (None: no session record)
    cwd: str | None  # the first ``cwd`` a record names (the project the session started in)


def transcript_head(path: str | os.PathLike[str], limit: int = HEAD_BYTES) -> TranscriptHead:
    """The first ``sessionId`` and the first ``cwd`` in the file's first ``limit`` bytes.

    Only lines naming one of the two are decoded, so a file that is no transcript (or opens
    with many other records) costs one read of its head. An unreadable file has neither.
    """
    session: str | None = None
    cwd: str | None = None
    read = 0
    try:
        if not Path(path).is_file():  # (a FIFO named like a transcript: opening it would wait)
            return TranscriptHead(None, None)
        with Path(path).open("rb") as handle:
            while read < limit and (session is None or cwd is None):
                raw = handle.readline(limit - read)
                if not raw:
                    break
                read += len(raw)
                if b'"sessionId"' not in raw and b'"cwd"' not in raw:
                    continue
                try:
                    record = json.loads(raw)
                except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
                    # a line cut at ``limit`` (a first message with a pasted screenshot runs to
                    # megabytes) or nested too deep to decode: its leading keys still say
                    record = _leading_keys(raw)
                if not isinstance(record, dict):
                    continue
                found = record.get("sessionId")
                if session is None and isinstance(found, str) and found:
                    session = found
                where = record.get("cwd")
                if cwd is None and isinstance(where, str) and where:
                    cwd = where
    except OSError:
        return TranscriptHead(None, None)
    return TranscriptHead(session, cwd)


#: A record's ``sessionId`` and ``cwd`` as its line's text has them: Claude Code writes both
#: before the message, and a key's quotes are never unescaped inside a JSON string.
_LEADING_KEY = re.compile(rb'"(sessionId|cwd)"\s*:\s*"((?:[^"\\]|\\.){1,4096})"')


def _leading_keys(raw: bytes) -> dict[str, object]:
    """The first ``sessionId`` and ``cwd`` found in the text of a line that does not decode."""
    found: dict[str, object] = {}
    for match in _LEADING_KEY.finditer(raw):
        key = match.group(1).decode()
        if key in found:
            continue
        try:
            found[key] = json.loads(b'"' + match.group(2) + b'"')
        except ValueError:
            continue
        if len(found) == 2:
            break
    return found


def find_transcripts(path: str | os.PathLike[str] | None = None) -> list[Path]:
    """Transcript files under ``path`` (a file, a project folder or the projects root), found by
    their content (:func:`looks_like_transcript`), whatever their names.

    Without a path, the user's own Claude Code projects folder is searched; a missing default
    folder (or no home directory to hold it, or one this user may not read) simply has no
    transcripts, while a missing explicit path is a :class:`NotFoundError`, and an empty one, one
    that cannot be read, or one that is neither a regular file nor a folder a
    :class:`ValidationError`. A session's file named alone brings its sub-agents' files with
    it. Files are sorted so a session's main file comes before its sub-agents; files and
    folders under the path that cannot be read are passed over.
    """
    explicit = path is not None
    if path is not None and not os.fspath(path):  # (``Path("")``: the current folder)
        raise ValidationError("an empty path names no transcript file or folder")
    if path is None:
        try:
            root = default_projects_dir()
        except NoHomeError:  # (no home: no transcripts of the user's to find)
            return []
    else:
        root = expand_home(os.fspath(path), "the transcripts", "name them by an absolute path")
    unusable = _unusable(root)
    if unusable is not None:  # (the default folder's trouble is no transcripts of the user's)
        if not explicit:
            return []
        raise unusable
    if not root.is_dir():
        return _with_sub_agents(root)
    found = [p for p in root.rglob("*.jsonl") if _regular_file(p) and looks_like_transcript(p)]
    return sorted(found, key=transcript_order)


def _with_sub_agents(transcript: Path) -> list[Path]:
    """A session's main transcript file and its sub-agents' files (beside it, or under
    ``<session>/subagents/``), as the hooks save them: a session named by its file alone is
    the whole session. A sub-agent's file named alone, or a file that names no session, is
    taken alone."""
    from memcore.claude_code.transcript_checks import session_files

    if _AGENT_NAME.match(transcript.name):
        return [transcript]
    session_id = transcript_head(transcript).session_id
    return [transcript] if session_id is None else session_files(transcript, session_id)


def _unusable(root: Path) -> MemcoreError | None:
    """Why transcripts cannot be read at ``root``, or None for a regular file or a folder this
    user may read. By ``stat`` itself: ``Path.is_dir`` raises on a folder above that cannot be
    searched up to 3.11, where 3.12 says False, and the two must not tell a user different
    things."""
    from memcore.os_errors import os_reason

    try:
        mode = root.stat().st_mode
    except FileNotFoundError:
        return NotFoundError(f"no such transcript file or folder: {root}")
    except NotADirectoryError as exc:  # (the entry at fault named: ``/x is not a folder``)
        return NotFoundError(f"no such transcript file or folder: {root} ({os_reason(exc)})")
    except OSError as exc:  # (in memcore's words, never ``[Errno 40] ...``)
        return ValidationError(f"cannot read {root}: {os_reason(exc)}")
    folder = stat.S_ISDIR(mode)
    if not folder and not stat.S_ISREG(mode):  # (a device, a FIFO: reading one would never
        return ValidationError(f"not a regular file or folder: {root}")  # end, or never start)
    if not os.access(root, os.R_OK | (os.X_OK if folder else 0)):
        return ValidationError(f"cannot read {root}: Permission denied")
    return None


def _regular_file(path: Path) -> bool:
    """Whether ``path`` is a regular file, False where it cannot be told (a folder listed but
    not searchable: ``Path.is_file`` raises there up to 3.11)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def transcript_order(path: Path) -> tuple[bool, str]:
    """Sort key of transcript files: main sessions first, their sub-agents after (a sub-agent
    joins the session its parent's file opened)."""
    return "agent-" in path.name, str(path)


def find_all_transcripts(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """:func:`find_transcripts` of each of ``paths`` (none: the default folder), each file once
    however many of them lead to it, in :func:`transcript_order`."""
    found: dict[Path, Path] = {}
    targets: Sequence[str | os.PathLike[str] | None] = paths or [None]
    for target in targets:
        for path in find_transcripts(target):
            found.setdefault(path.resolve(), path)
    return sorted(found.values(), key=transcript_order)


__all__ = [
    "CLAUDE_FOLDER",
    "HEAD_BYTES",
    "TranscriptHead",
    "default_projects_dir",
    "find_all_transcripts",
    "find_transcripts",
    "is_transcript_name",
    "looks_like_transcript",
    "project_dir_name",
    "transcript_head",
    "transcript_order",
]
