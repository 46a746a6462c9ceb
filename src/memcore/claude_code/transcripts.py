"""Read Claude Code session transcripts into memory items and an access sequence.

Claude Code writes one JSON-lines file per session under ``~/.claude/projects/<project path with
"/" turned into "-">/<session uuid>.jsonl``; sub-agents write ``agent-<id>.jsonl`` beside it or
under ``<session uuid>/subagents/``. Each line is one record with a ``type``. The format grows
over versions, so this reader is lenient on purpose: unknown record types and unknown blocks are
counted and skipped, malformed lines are reported with their line numbers, and nothing here raises
for bad content. Only a path that cannot be read at all is an error. A record written twice is
read once; one that repeats another's ``uuid`` with other content is a record of its own
(:mod:`memcore.claude_code.record_ids`).

Transcripts are found by their content, not their file name (checkpoint tools save them as
``full.jsonl``); the session id comes from the records. ``parse_transcript(path,
start_offset=N)`` reads only what was appended since byte ``N`` and says where it stopped
(``Transcript.end_offset``), for hooks that import a live session as it grows.

This module reads files and lines; each record is turned into items by
:class:`memcore.claude_code.record_parser.RecordParser`.

What comes out of a transcript:

* memory items whose content is the fact, not the dump: user requests, whole (``task``), stated
  preferences (``preference``), slash commands (``shortcut``), assistant statements (``fact``,
  with ``metadata["statement"]`` ``conclusion``/``decision`` at high priority, ``narration`` at
  low), tool calls (``tool_call``: "Read `path` (lines 1-80)", "Edit `path`, changing `f()`",
  "Run `cmd`"), their results (``tool_result``: lines read, exit status and outcome lines, how
  much a search found -- never the file content or the whole output; ``error`` when the tool
  failed, with its error lines, linked to the edits that fixed it by ``fixed_by``/``fixes``, see
  :mod:`memcore.claude_code.links`), summaries (``summary``) and thinking (``thinking``), each
  with the record's timestamp and metadata saying where it came from. A plan or spec the agent
  reads keeps the statements that name something exact as ``brief``
  (:mod:`memcore.claude_code.briefs`), and so does the prompt the agent gives a sub-agent
  (``Task``); an edit keeps the lines it added and took out (``added_lines``,
  ``removed_lines``), a read the names its text defines and calls most (``defines``,
  ``calls``: an outline, never the text); task-list updates say which task they moved
  (:mod:`memcore.claude_code.task_list`). Claude Code's scaffolding (task notifications, system
  reminders, interruptions, local-command caveats and output, session-control commands such as
  ``/context``) is not memory: it is counted in ``skipped_types`` as ``scaffolding:<what>``
  (:mod:`memcore.claude_code.records`), nor is memcore's own session-start context handed back.
  A message the user typed while the agent worked is a request too (Claude Code's queue holds
  its only copy, or newer versions' ``queued_command`` attachment), so is the user's answer to
  the agent's question (``AskUserQuestion``, :mod:`memcore.claude_code.answers`); the session's
  pull request (a ``pr-link`` record) is a conclusion, and its title (``custom-title``,
  ``ai-title``) an item of its own (:mod:`memcore.claude_code.side_records`);
* the ordered access sequence (files read and edited, searches, commands run, other tools), which
  is what the prefetcher learns from;
* one token sample per assistant API message: its generated text beside the ``output_tokens`` the
  API reported, a real measure to hold :func:`memcore.count_tokens` against.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from memcore.claude_code.discovery import (
    default_projects_dir,
    find_transcripts,
    is_transcript_name,
    looks_like_transcript,
    project_dir_name,
    transcript_head,
)
from memcore.claude_code.json_names import json_name
from memcore.claude_code.masking import masker
from memcore.claude_code.queued import MessageQueue
from memcore.claude_code.record_ids import Before, ReadLine, names_read_on
from memcore.claude_code.record_parser import KIND_PRIORITY, RecordParser
from memcore.claude_code.records import classify_user_text
from memcore.claude_code.results import MalformedLine, TokenSample, Transcript
from memcore.claude_code.resume import records_in, resume
from memcore.claude_code.tools import access_key
from memcore.errors import NotFoundError, ValidationError
from memcore.model import MemoryItem


def _complete_lines(path: Path, start_offset: int, out: Transcript) -> Iterator[tuple[int, bytes]]:
    """The complete lines from ``start_offset`` on, numbered from 1 at the file's start when
    reading from the beginning (from the offset otherwise); records ``end_offset``."""
    with path.open("rb") as handle:
        handle.seek(start_offset)
        yield from _lines_of(handle, start_offset, out)


def _lines_of(
    handle: Iterable[bytes], start_offset: int, out: Transcript
) -> Iterator[tuple[int, bytes]]:
    """``_complete_lines`` of a file's bytes from ``start_offset`` on (an open file, or the
    bytes already read)."""
    offset = start_offset
    for line_no, raw in enumerate(handle, start=1):
        if not raw.endswith(b"\n"):
            try:  # a last line without a newline: whole if it parses, else still being written
                json.loads(raw)
            except RecursionError:
                pass  # whole, and unreadable: reported as such by the parse
            except ValueError:
                break
        offset += len(raw)
        out.end_offset = offset
        yield line_no, raw
    out.end_offset = offset


#: Where an item's content is cut (after a word, marked) unless asked otherwise: the hooks'
#: saves and ``memcore import-claude-code`` alike.
MAX_CHARS = 4000


def parse_transcript(
    path: str | os.PathLike[str],
    *,
    session: str | None = None,
    max_chars: int = MAX_CHARS,
    start_offset: int = 0,
    stored: Iterable[MemoryItem] | None = None,
) -> Transcript:
    """Parse one transcript file; bad lines are reported in ``malformed``, never raised.

    ``session`` overrides the session id the items are filed under (by default the transcript's
    own ``sessionId``, which sub-agent files share with their parent). Item contents longer than
    ``max_chars`` are cut, saying how much was left out. ``start_offset`` (a previous
    ``Transcript.end_offset``) reads only what was appended since; ``stored``, the items the
    parse up to that offset made (the session's, as stored), lets it read on knowing what that
    parse knew (:mod:`memcore.claude_code.resume`: failures that the new records fix, task
    subjects, calls whose result comes now), and the stored items the new records change come
    back in ``Transcript.amended``. Without them, a result whose call came before the offset is
    filed under tool ``unknown``. Read on from an offset, the transcript's session is the one
    its records name, those before the offset included (the file's name only when none does).

    Arguments are checked (``ValidationError``; a path that is no regular file is
    ``NotFoundError``): ``path`` a ``str`` or ``os.PathLike`` of ``str``, not empty;
    ``session`` None or a valid session id (``memcore.stores.base.validate_session_id``);
    ``max_chars`` an ``int`` >= 1; ``start_offset`` an ``int`` from 0 to the file's size (past
    its end, the file shrank or was replaced: read it again from 0, as the hooks do); ``stored``
    None or an iterable of :class:`~memcore.model.MemoryItem` (not a string).
    """
    file = _transcript_file(path)
    _check_options(session, max_chars)
    if isinstance(start_offset, bool) or not isinstance(start_offset, int) or start_offset < 0:
        raise ValidationError(f"start_offset must be a byte offset >= 0 (got {start_offset!r})")
    if stored is not None:
        stored = _stored_items(stored)
    try:
        info = os.stat(file)  # (the file a link leads to)
    except OSError:
        raise NotFoundError(f"no such transcript file: {file}") from None
    if not stat.S_ISREG(info.st_mode):
        raise NotFoundError(f"no such transcript file: {file}")
    size = info.st_size
    if start_offset > size:
        raise ValidationError(
            f"start_offset {start_offset} is past the end of {file} ({size} bytes): the file "
            "shrank or was replaced since that offset was read to; read it from 0"
        )
    parser = RecordParser(file, session, max_chars)
    parser.out.end_offset = parser.read_before = start_offset
    if not start_offset:
        return _parse_into(parser, _complete_lines(file, start_offset, parser.out))
    # name files as the parse of the whole file did (see RecordParser.root), and file what is
    # read under the session its records name (the records before the offset: nothing read
    # from it may name one)
    head = transcript_head(file)
    parser.root = head.cwd
    if session is None and head.session_id is not None:
        parser.out.session_id = head.session_id
    parser.queue = MessageQueue((file, start_offset))  # its queue as that parse left it
    mask = masker()  # (a record's uuid repeated from before the offset: see .record_ids)
    before = Before(file, start_offset, _reader(mask), mask)
    parser.read_on(before)
    if stored is None:
        return _parse_into(parser, _complete_lines(file, start_offset, parser.out))
    with file.open("rb") as handle:  # (read once: for the records' ids, then their lines)
        handle.seek(start_offset)
        unread = handle.read()
    later = names_read_on(unread, records_in(unread), before, _reader(mask), mask)
    resumed = resume(parser, stored, later)
    transcript = _parse_into(parser, _lines_of(io.BytesIO(unread), start_offset, parser.out))
    resumed.retime(parser.last_time, transcript.session_id)
    transcript.amended = resumed.changed(transcript.items)
    return transcript


def _transcript_file(path: object) -> Path:
    """``path`` as a ``Path``; ``ValidationError`` for what names no file (bytes, a number,
    None, an empty string)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError(
            f"a transcript path is a str or an os.PathLike "
            f"(got {type(path).__name__}: {path!r:.80})"
        )
    name = os.fspath(path)
    if not isinstance(name, str):
        raise ValidationError(
            f"a transcript path is a str, not {type(name).__name__} ({name!r:.80})"
        )
    if not name:
        raise ValidationError("an empty path names no transcript file")
    return Path(name)


def _check_options(session: object, max_chars: object) -> None:
    """``ValidationError`` unless ``session`` is None or a valid session id and ``max_chars`` a
    whole number >= 1 (cheap: a parse of every save of a hook checks them)."""
    if session is not None:
        from memcore.stores.base import validate_session_id

        validate_session_id(session)
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ValidationError(
            f"max_chars must be a whole number of characters >= 1 (got {max_chars!r:.80})"
        )


def _stored_items(stored: object) -> list[MemoryItem]:
    """``stored`` as a list of memory items; ``ValidationError`` when it is no iterable of
    them (a string is one of characters)."""
    if isinstance(stored, (str, bytes, bytearray, Mapping)) or not isinstance(stored, Iterable):
        raise ValidationError(
            f"stored must be an iterable of MemoryItem (got {type(stored).__name__})"
        )
    items = list(stored)
    for item in items:
        if not isinstance(item, MemoryItem):
            raise ValidationError(
                f"stored must hold MemoryItem values only (got a {type(item).__name__}: "
                f"{item!r:.80})"
            )
    return items


def parse_lines(
    lines: Iterable[bytes | str],
    *,
    path: str | os.PathLike[str] = "transcript.jsonl",
    session: str | None = None,
    max_chars: int = MAX_CHARS,
) -> Transcript:
    """Parse transcript lines already in hand (a part of a file, records from elsewhere);
    ``path`` only names the source in the results. ``session`` and ``max_chars`` are checked
    as :func:`parse_transcript` checks them."""
    file = _transcript_file(path)
    _check_options(session, max_chars)
    parser = RecordParser(file, session, max_chars)
    numbered = (
        (n, raw if isinstance(raw, bytes) else raw.encode("utf-8"))
        for n, raw in enumerate(lines, start=1)
    )
    return _parse_into(parser, numbered)


def _parse_into(parser: RecordParser, lines: Iterable[tuple[int, bytes]]) -> Transcript:
    mask = masker()  # (secrets masked before anything of a record is kept: .masking)
    for line_no, raw in lines:
        if not raw.strip():
            continue
        parser.out.records += 1
        masked = mask(raw)
        rec = _record_of(masked)
        if isinstance(rec, str):
            parser.bad(line_no, rec)
        else:
            parser.record(line_no, rec, masked)
    return parser.finish()


def _record_of(masked: bytes) -> dict[str, Any] | str:
    """The record a line holds (its secrets ``masked``), or why it holds none."""
    try:
        text = masked.decode("utf-8")
    except UnicodeDecodeError:  # a byte that is no UTF-8 (a tool's output, cut or binary):
        text = masked.decode("utf-8", "replace")  # read as U+FFFD, as a lone surrogate is
    try:
        rec: object = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg})"
    except (ValueError, RecursionError) as exc:  # an int of 4,300+ digits, deep nesting
        return f"not readable JSON ({type(exc).__name__})"
    if not isinstance(rec, dict):
        return f"a JSON {json_name(rec)}, not an object"
    if _SURROGATE_ESCAPE.search(masked):  # (rare: JSON.stringify of a string cut in an emoji)
        whole: dict[str, Any] = _whole_characters(rec)
        return whole
    return rec


def _reader(mask: Callable[[bytes], bytes]) -> ReadLine:
    """A line's record as the parse reads it (None: it holds none), for the lines looked at
    again (``Before``)."""

    def read(line: bytes) -> dict[str, Any] | None:
        rec = _record_of(mask(line))
        return rec if isinstance(rec, dict) else None

    return read


#: A UTF-16 surrogate written as an escape (``\ud83d``): JSON allows one alone, which decodes
#: to a ``str`` no UTF-8 encoder takes (every save of the session failed on it); a pair decodes
#: to the one character it encodes, so only a lone one is left in the ``str``.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole_characters(value: Any) -> Any:
    """``value`` with each lone surrogate in its strings (keys too) as U+FFFD, the character
    that stands for one that could not be read."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_whole_characters(k): _whole_characters(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_characters(v) for v in value]
    return value


def parse_transcripts(
    paths: Iterable[str | os.PathLike[str]],
    *,
    session: str | None = None,
    max_chars: int = MAX_CHARS,
) -> list[Transcript]:
    """Parse several transcript files (see :func:`parse_transcript`)."""
    if isinstance(paths, (str, bytes, os.PathLike)):  # (one path: not its characters' files)
        raise ValidationError(f"paths is a list of transcript paths, not one path ({paths!r:.80})")
    return [parse_transcript(p, session=session, max_chars=max_chars) for p in paths]


def group_by_session(transcripts: Iterable[Transcript]) -> dict[str, list[Transcript]]:
    """Transcripts under their session id: a session's sub-agent files join their parent."""
    sessions: dict[str, list[Transcript]] = {}
    for transcript in transcripts:
        sessions.setdefault(transcript.session_id, []).append(transcript)
    return sessions


__all__ = [
    "KIND_PRIORITY",
    "MAX_CHARS",
    "MalformedLine",
    "TokenSample",
    "Transcript",
    "access_key",
    "classify_user_text",
    "default_projects_dir",
    "find_transcripts",
    "group_by_session",
    "is_transcript_name",
    "looks_like_transcript",
    "parse_lines",
    "parse_transcript",
    "parse_transcripts",
    "project_dir_name",
]
