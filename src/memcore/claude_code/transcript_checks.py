"""Which files a hook's transcript is, and whether they are the payload's: the transcript and
its sub-agents' files, and the checks that a transcript belongs to the session and the project
a payload names before a hook files it (part of :mod:`memcore.claude_code.project`, which
exports these names too).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from memcore.claude_code.discovery import HEAD_BYTES, transcript_head
from memcore.claude_code.worktrees import Tree, linked_tree, project_folder
from memcore.errors import MemcoreError, NotFoundError, ValidationError


def session_files(transcript: Path, session_id: str) -> list[Path]:
    """The transcript and its sub-agents' files (``agent-*.jsonl`` of this session beside it,
    or under ``<session>/subagents/``), main file first."""
    found = [transcript]
    candidates = sorted(transcript.parent.glob("agent-*.jsonl"))
    candidates += sorted((transcript.parent / session_id / "subagents").glob("*.jsonl"))
    for path in candidates:  # (a FIFO or a folder named so has no head: it is passed over)
        if path != transcript and transcript_head(path).session_id == session_id:
            found.append(path)
    return found


def inside(path: str, root: str) -> bool:
    """``path`` is ``root`` or a folder below it (by whole path parts: ``/a/b-c`` is not in
    ``/a/b``)."""
    path, root = os.path.normpath(path), os.path.normpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def names_cwd(transcript: Path, cwd: str) -> bool:
    """Whether one of the transcript's records has ``cwd`` as its working folder (the agent
    ``cd``-ed there). Only lines holding the folder's JSON text are decoded."""
    want = os.path.normpath(cwd)
    needles = {json.dumps(want).encode(), json.dumps(want, ensure_ascii=False).encode()}
    try:
        with transcript.open("rb") as handle:
            for raw in handle:
                if not any(needle in raw for needle in needles):
                    continue
                try:
                    record = json.loads(raw)
                except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
                    continue
                where = record.get("cwd") if isinstance(record, dict) else None
                if isinstance(where, str) and where and os.path.normpath(where) == want:
                    return True
    except OSError:
        return False
    return False


def no_transcript_file(path: Path) -> MemcoreError:
    """Why ``path``, which is no regular file, is no transcript: missing, or what it is instead
    (``/dev/zero`` is a device: "no transcript file at /dev/zero" said it was not there)."""
    from memcore.file_kinds import kind_of
    from memcore.os_errors import os_reason

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return NotFoundError(f"no transcript file at {path}")
    except OSError as exc:  # (ENOTDIR, a loop: in memcore's words)
        return NotFoundError(f"no transcript file at {path} ({os_reason(exc)})")
    kind = kind_of(mode)
    said = kind if kind.startswith("not ") else f"{kind}, not a regular file"
    return ValidationError(f"the transcript {path} is {said}")


class CheckedTranscript(NamedTuple):
    """A transcript that belongs to a hook's payload, and the project it is filed under."""

    session_id: str
    project: str  # the folder its records start in (the payload's cwd when they name none)
    tree: Tree | None = None  # the linked git worktree that folder is in (see .worktrees)


def check_transcript(transcript: Path, session_id: str | None, cwd: str) -> CheckedTranscript:
    """The transcript's session and project, after checking that the file belongs to this
    payload.

    Claude Code's payload carries the session's *current* folder, which moves when the agent
    ``cd``-s into a subfolder; the session stays one of the project it started in (the first
    ``cwd`` its records name, where Claude Code itself files the transcript). So the transcript
    is the payload's when ``cwd`` is that project or a folder below it, or when one of its
    records ran in ``cwd``; it is filed under that project either way (a linked git worktree's
    under the same place in its repository's main working tree: :mod:`.worktrees`).

    Records that name no session are the session the file's name says (``abc.jsonl``:
    ``abc``), as ``memcore import-claude-code`` and ``memcore digest PATH`` take them, and the
    payload's only when that is its session id (Claude Code names the file after it).

    Refused (``ValidationError``/``NotFoundError``): a path that is not a readable file, a file
    with no transcript record, records of another session (or, naming none, a file named for
    another), or records of another project (a ``cwd`` outside it that no record names): a hook
    must not file someone else's transcript.
    """
    if not transcript.is_file():
        raise no_transcript_file(transcript)
    if not os.access(transcript, os.R_OK):
        raise ValidationError(f"the transcript {transcript} is not readable")
    head = transcript_head(transcript)
    named = head.session_id
    if named is None:
        named = _named_by_file(transcript, session_id)
    if session_id and named != session_id:
        raise ValidationError(
            f"{transcript} is the transcript of session {named}, not of {session_id}"
        )
    started = head.cwd if head.cwd and os.path.isabs(head.cwd) else None
    if started is None:
        tree = linked_tree(cwd)
        return CheckedTranscript(named, project_folder(cwd, tree), tree)
    if not inside(cwd, started) and not names_cwd(transcript, cwd):
        raise ValidationError(
            f"{transcript} belongs to the project at {started}: {cwd} is outside it, and "
            "none of its records ran there"
        )
    tree = linked_tree(started)
    return CheckedTranscript(named, project_folder(started, tree), tree)


def _named_by_file(transcript: Path, session_id: str | None) -> str:
    """The session of a transcript whose records name none: its file's name (``abc.jsonl``:
    ``abc``), as ``memcore import-claude-code`` and ``memcore digest PATH`` take it, when that
    is the payload's own session (Claude Code names the file after it) and the file holds a
    record; else ``ValidationError`` (a file of no session, or of another one, is not filed)."""
    if not _holds_a_record(transcript):
        raise ValidationError(f"{transcript} holds no Claude Code transcript record")
    if not session_id or transcript.stem != session_id:
        raise ValidationError(
            f"{transcript} names no session in its records, and its file's name is not the "
            f"session's ({session_id})"
        )
    return transcript.stem


def _holds_a_record(transcript: Path) -> bool:
    """Whether one of the first lines of the transcript (up to ``HEAD_BYTES``) is a record: a
    JSON object with a ``type``, as the import and ``memcore digest PATH`` count them (a file
    of none is refused by them too). A line cut at the limit (a pasted screenshot runs to
    megabytes) is one when it opens an object."""
    read = 0
    try:
        with transcript.open("rb") as handle:
            while read < HEAD_BYTES:
                raw = handle.readline(HEAD_BYTES - read)
                if not raw:
                    return False
                read += len(raw)
                try:
                    record = json.loads(raw)
                except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
                    if read >= HEAD_BYTES:
                        return raw.lstrip().startswith(b"{")
                    continue
                if isinstance(record, dict) and isinstance(record.get("type"), str):
                    return True
    except OSError:
        return False
    return False


__all__ = [
    "CheckedTranscript",
    "check_transcript",
    "inside",
    "names_cwd",
    "no_transcript_file",
    "session_files",
]
