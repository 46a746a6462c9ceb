"""Where a Claude Code project's memory lives in a store, and how one session is saved into it.

Each Claude Code session's items go to the memcore session named by its session id (as
``memcore import-claude-code`` files them). Each project (the folder a session's records start
in, wherever its agent ``cd``-s later) has one registry session,
``memcore.project.<project key>``, with one entry per Claude Code session of that project: the
session's digest, what knowledge transfer found in it (preferences, shortcuts, common tasks), the
files it touched, and how far each of its transcript files has been read. Sessions of one project
run at once; each writes only its own registry key, so their syncs never conflict, and nothing a
session-start hook needs is more than one small session away. Folders whose paths differ only
in ``/`` and ``-`` share a key (as Claude Code's own folder names do): each reads, recalls and
forgets only the entries and notes stored with its own folder. A session started in a folder
below a project finds that project's memory (the nearest folder with memory, see
:func:`known_project`) and is filed under it (:func:`filing_project`); a sibling, or a folder
whose path only starts the same, never does. The
linked git worktrees of a repository are its main working tree's project. How a save reads a
session's transcripts for its entry is :mod:`memcore.claude_code.session_reading`'s.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from memcore.claude_code.discovery import project_dir_name
from memcore.claude_code.forget import is_forgotten
from memcore.claude_code.session_reading import FILES_PER_SESSION as FILES_PER_SESSION
from memcore.claude_code.session_reading import (
    ParsedSession,
    merge_files,
    parse_session,
    read_as,
    recount_changes,
    summarize_files,
    unchanged_since,
)
from memcore.claude_code.session_reading import file_stamp as file_stamp
from memcore.claude_code.session_reading import files_touched as files_touched
from memcore.claude_code.transcript_checks import (
    CheckedTranscript,
    check_transcript,
    inside,
    names_cwd,
    session_files,
)
from memcore.claude_code.worktrees import project_folder
from memcore.errors import MemcoreError, ValidationError
from memcore.model import MemoryItem, utc_now

#: Prefix of the registry sessions; ``memcore.``-prefixed sessions are memcore's own.
REGISTRY_PREFIX = "memcore.project."
#: Prefix of the sessions holding the notes remembered through the MCP server, one a project.
NOTES_PREFIX = "notes."
#: Tokens of the digest kept per session in the registry.
STORED_DIGEST_TOKENS = 900
#: Shorter digests kept beside it: session-start gives each earlier session a share of its
#: budget, and the digest's own choice at that size says more than the start of a long one.
BRIEF_DIGEST_TOKENS = (150, 300, 500)
#: The longest project key kept whole (session ids hold 200 characters, prefixes included).
MAX_KEY = 160
#: The digest rules a registry entry's digests were made by. An entry made by other rules (an
#: older memcore) is made again from its session's stored items by a later save of the project
#: (``stale_entries.refresh_stale_record``): a session that ended before an upgrade is
#: otherwise brought back by the old rules for good. Bump the number when the digest's rules
#: change between releases; a new release re-makes every entry once.
DIGEST_RULES = 45


def digest_rules() -> str:
    """The current rules' name, stored in each entry a save makes (``SessionRecord.made_by``)."""
    from memcore import __version__

    return f"{__version__}+{DIGEST_RULES}"


#: What a session id cannot hold (see ``memcore.stores.validate_session_id``).
_NOT_IN_IDS = re.compile(r"[^A-Za-z0-9._@+=-]")


def project_key(cwd: str | os.PathLike[str]) -> str:
    """A project's name in the store: Claude Code's own folder name (``/a/b`` -> ``-a-b``); a
    path with characters no session id holds (``/home/josé/My Project``) has them as ``-``
    and its hash after them, so that ``/a/b c`` and ``/a/b-c`` stay two projects."""
    text = os.fspath(cwd)
    if not text or not os.path.isabs(text):
        raise ValidationError(f"a project is named by an absolute cwd (got {text!r})")
    folder = os.path.normpath(text)
    key = project_dir_name(folder)
    if _NOT_IN_IDS.search(key):  # (a space, an accent: no session id holds them) -> "-", and
        mark = hashlib.blake2b(folder.encode("utf-8", "surrogateescape"), digest_size=8)
        key = f"{_NOT_IN_IDS.sub('-', key)}-{mark.hexdigest()}"  # the path's hash keeps it unique
    if len(key) > MAX_KEY:  # session ids are at most 200 characters: keep it unique, not whole
        tail = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        key = f"{key[: MAX_KEY - 17]}-{tail}"
    return key


def registry_session(cwd: str | os.PathLike[str]) -> str:
    """The registry session of the project at ``cwd``."""
    return REGISTRY_PREFIX + project_key(cwd)


def notes_session(cwd: str | os.PathLike[str]) -> str:
    """The session of the notes remembered (MCP ``remember``) for the project at ``cwd``."""
    return NOTES_PREFIX + project_key(cwd)


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


#: The start of a stored path that is not UTF-8 (a folder named in another encoding, its bytes
#: read by Python as lone surrogates, which no store can encode): NUL, which no path holds,
#: then the path's bytes in hex.
_BYTES_PATH = "\x00"


def _stored_path(path: str) -> str:
    """``path`` as a registry entry keeps it: itself, or its bytes when it is not UTF-8 (the
    session was stored, and then "not filed under its project: cannot encode value")."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return _BYTES_PATH + os.fsencode(path).hex()
    return path


def _read_to(stored: object) -> dict[str, list[int]]:
    """An entry's ``read_to`` as saved (``_stored_path``), its paths as Python names them."""
    if not isinstance(stored, dict):
        return {}
    read_to = {}
    for path, at in stored.items():
        if isinstance(path, str) and path.startswith(_BYTES_PATH):
            try:
                path = os.fsdecode(bytes.fromhex(path[len(_BYTES_PATH) :]))
            except ValueError:  # (not what this module wrote: a damaged entry's)
                continue
        read_to[path] = at
    return read_to


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
    #: the project's checks (tests, builds, linters) that passed in the session: how many times
    checks: dict[str, int] = field(default_factory=dict)
    #: the digests were kept by a ``stop`` save that added to the session or changed it: the
    #: next ``pre-compact`` or ``session-end`` makes them afresh, even with nothing unread
    digest_stale: bool = False

    def needs_digest(self) -> bool:
        """Whether the digests are older than the session's items (see ``digest_stale``; an
        entry made before that flag says so by its counts)."""
        return self.digest_stale or self.digest_items != self.items

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
            "read_to": {_stored_path(path): at for path, at in self.read_to.items()},
            "git_branch": self.git_branch,
            "last_activity": self.last_activity,
            "briefs": self.briefs,
            "made_by": self.made_by,
            "checks": self.checks,
            "digest_stale": self.digest_stale,
        }
        return MemoryItem(registry_key(self.session_id), self.digest, metadata=meta)

    @classmethod
    def from_item(cls, item: MemoryItem) -> SessionRecord:
        """The record an item of the registry holds; what its metadata holds of the wrong type
        (a damaged or hand-edited store) reads as nothing."""
        meta = item.metadata

        def strings(name: str) -> list[str]:
            value = meta.get(name)
            return [str(v) for v in value] if isinstance(value, list) else []

        files = meta.get("files")
        read_to = meta.get("read_to")
        checks = meta.get("checks")
        return cls(
            session_id=str(meta.get("session_id", item.id.removeprefix("session:"))),
            cwd=str(meta.get("cwd", "")),
            digest=item.content,
            updated_at=str(meta.get("updated_at", "")),
            items=_count(meta.get("items")),
            digest_items=_count(meta.get("digest_items")),
            preferences=strings("preferences"),
            shortcuts=strings("shortcuts"),
            common_tasks=strings("common_tasks"),
            files={  # (a store is anyone's: only a path's counts of what it was, as saved)
                path: {str(what): _count(n) for what, n in counts.items() if _count(n)}
                for path, counts in (files.items() if isinstance(files, dict) else ())
                if isinstance(path, str)
                and isinstance(counts, dict)
                and any(_count(n) for n in counts.values())
            },
            read_to=_read_to(read_to),
            git_branch=str(meta.get("git_branch", "")),
            last_activity=str(meta.get("last_activity", "")),
            briefs=strings("briefs"),
            made_by=str(meta.get("made_by", "")),
            digest_stale=meta.get("digest_stale") is True,
            checks={
                str(command): count
                for command, count in (checks.items() if isinstance(checks, dict) else ())
                if _count(count)
            },
        )


def _count(value: object) -> int:
    """A saved count: an int from 1 to ``_MOST_COUNT``, else 0 (a bool, a float, a string, a
    number no session reaches: none)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MOST_COUNT:
        return value
    return 0


_MOST_COUNT = 1 << 31


def logical_folder() -> str:
    """The working folder as the shell names it: ``$PWD`` when it is the same folder as
    ``os.getcwd()`` (which resolves symbolic links), else ``os.getcwd()``. Claude Code files a
    session started in a linked folder under the link's path (the hooks' ``cwd``); a server or
    command that took the resolved path would read another project's memory, none."""
    here = os.getcwd()
    shell = os.environ.get("PWD", "")
    if shell and shell != here and os.path.isabs(shell):
        try:
            if os.path.samefile(shell, here):
                return os.path.normpath(shell)
        except OSError:  # (a $PWD that is gone, or unreadable: not this folder)
            pass
    return here


def logical_abspath(path: str) -> str:
    """``path`` made absolute as ``os.path.abspath`` does, but against the working folder as
    the shell names it (:func:`logical_folder`): ``--project .`` in a linked folder is the
    project the hooks filed there."""
    return os.path.normpath(os.path.join(logical_folder(), path))


def project_candidates(cwd: str) -> list[str]:
    """``cwd`` and the folders above it, nearest first: where a session at ``cwd`` may find
    its project's memory. The user's home folder and the root are never a project of the
    folders below them (a session once started in ``~`` is no project of every folder in it),
    only of themselves."""
    here = os.path.normpath(cwd)
    stops = {os.sep, os.path.normpath(os.path.expanduser("~"))}
    found = [here]
    parent = os.path.dirname(here) if here not in stops else ""
    while parent and parent != found[-1] and parent not in stops:
        found.append(parent)
        parent = os.path.dirname(parent)
    return found


async def known_project(store: Any, cwd: str) -> str:
    """The project whose memory a session at ``cwd`` gets: the nearest of ``cwd`` and the
    folders above it (see :func:`project_candidates`) that the store holds memory of (a saved
    session or a remembered note of that very folder: see :func:`holds_own`), else ``cwd``
    itself. A session that ``cd``-ed into ``packages/codegen`` is filed under the project it
    started in; one started there later finds that project's memory, and no sibling's. In a
    linked git worktree, the folders are those of the repository's main working tree
    (:mod:`.worktrees`): the worktrees of one repository are one project."""
    candidates = project_candidates(project_folder(cwd))
    if len(candidates) > 1:  # (alone, cwd is the project whatever the store holds)
        for candidate in candidates:
            if await holds_own(store, registry_session(candidate), candidate, _saved_entry_of):
                return candidate
            if await holds_own(store, notes_session(candidate), candidate, is_note_of):
                return candidate
    return candidates[0]


async def filing_project(store: Any, started: str) -> str:
    """The project a session that started in ``started`` (a project folder) is filed under:
    that folder when the store holds memory under its key, else the nearest folder above it
    that holds memory of its own (:func:`known_project`), else ``started``. A session started
    in a subfolder of a project got that project's memory; filed under the subfolder instead,
    it would make the subfolder a project of its own, whose later sessions no longer see the
    project's notes and sessions. A folder that holds memory stays where it is (one cheap look
    at two versions, the common case at a project's root)."""
    for session in (registry_session(started), notes_session(started)):
        if await store.version(session) > 0:
            return started
    return await known_project(store, started)


def is_note_of(item: MemoryItem, project: str) -> bool:
    """Whether a remembered note is ``project``'s (the folder ``remember`` stored with it):
    folders whose paths differ only in ``/`` and ``-`` share a notes session, not notes."""
    return _same_folder(item.metadata.get("project"), project)


def is_entry_of(item: MemoryItem, project: str) -> bool:
    """Whether a registry entry is of a session of ``project`` (the folder it was filed
    under): the registry of ``/x/a-b`` is that of ``/x/a/b`` too."""
    return _same_folder(item.metadata.get("cwd"), project)


def _saved_entry_of(item: MemoryItem, project: str) -> bool:
    """Whether a registry entry is of a saved session of ``project``: the mark of a forgotten
    one (``memcore forget``) makes no folder a project."""
    return is_entry_of(item, project) and not is_forgotten(item)


def _same_folder(stored: object, project: str) -> bool:
    return (
        isinstance(stored, str)
        and os.path.isabs(stored)
        and os.path.normpath(stored) == os.path.normpath(project)
    )


async def holds_own(
    store: Any, session: str, project: str, owned: Callable[[MemoryItem, str], bool]
) -> bool:
    """Whether ``session`` holds a live item ``owned`` by ``project``: a cheap look first (its
    version: listing every session of a store is a SCAN over all of Redis), then its items
    decoded one by one until one is."""
    from memcore.stores import decode_entry

    if await store.version(session) == 0:
        return False
    for record in (await store.read_snapshot(session)).records.values():
        try:
            entry = decode_entry(record)
            if not entry.deleted and owned(MemoryItem.coerce(entry.value), project):
                return True
        except (MemcoreError, ValueError, TypeError):
            continue  # a damaged record
    return False


def now_text() -> str:
    return utc_now().isoformat(timespec="seconds")


__all__ = [
    "BRIEF_DIGEST_TOKENS",
    "NOTES_PREFIX",
    "REGISTRY_PREFIX",
    "STORED_DIGEST_TOKENS",
    "CheckedTranscript",
    "ParsedSession",
    "SessionRecord",
    "check_transcript",
    "holds_own",
    "inside",
    "is_entry_of",
    "is_note_of",
    "known_project",
    "logical_abspath",
    "logical_folder",
    "merge_files",
    "names_cwd",
    "notes_session",
    "now_text",
    "parse_session",
    "project_candidates",
    "project_key",
    "read_as",
    "recount_changes",
    "registry_key",
    "registry_session",
    "session_files",
    "summarize_files",
    "unchanged_since",
]
