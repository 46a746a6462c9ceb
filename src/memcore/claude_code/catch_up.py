"""Saving the sessions whose end was missed: when a session starts, the project's other
transcripts that grew since memcore last read them (or that it never read) are saved by a
process of their own, detached from the hook.

Claude Code's ``SessionEnd`` hook does not always run: not in print mode (``claude -p``), not
when the process is killed or its terminal closed, and an interrupt cancels it in some
versions. Such a session would be remembered only as far as its last ``pre-compact`` (or
``stop``) save, or not at all. Its transcript is still there, beside the new session's (Claude
Code keeps a project's sessions in one folder), so the next start of the project finds it:
a transcript whose size and time are not those its registry entry read (``unchanged_since``,
the saves' own test), or that has no entry, is saved as a ``session-end`` would have saved it.

What the start hook does costs one listing of that folder and a ``stat`` per file: it stays on
Claude Code's critical path. The saves run in the detached process (``python -m
memcore.claude_code.catch_up``), one after the other, never more than ``MOST`` transcripts a
start, and only those written in the last ``RECENT`` (older history is ``memcore
import-claude-code``'s) and not in the last ``QUIET`` (a session running beside this one saves
itself). Nothing is caught up before the store exists: a store is made by a save, never by a
start. ``MEMCORE_CATCH_UP=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from memcore.claude_code.hook_events import switched_off

if TYPE_CHECKING:
    from memcore.claude_code.project import SessionRecord

#: Transcripts last written longer ago than this are left to ``memcore import-claude-code``.
RECENT = timedelta(days=7)
#: Transcripts written this recently may belong to a session still running: it saves itself.
QUIET = timedelta(minutes=2)
#: The most transcripts one start has saved (the latest written first).
MOST = 5
#: ``MEMCORE_CATCH_UP=0`` in the hook's environment turns catching up off.
OFF_SWITCH = "MEMCORE_CATCH_UP"


def wanted() -> bool:
    """Whether catching up is on (it is unless ``MEMCORE_CATCH_UP`` is ``0``, ``no``, ``off``
    or ``false``)."""
    return not switched_off(OFF_SWITCH)


def missed(
    transcript_path: str | None,
    session_id: str,
    records: Iterable[SessionRecord],
    *,
    cwd: str | None = None,
    now: float | None = None,
    forgotten: Collection[str] = (),
) -> list[tuple[str, Path]]:
    """The ``(session id, transcript)`` pairs of the folder of ``transcript_path`` (this
    session's) that memcore has not read as they are now, the latest written first; this
    session's own transcript and sub-agents' files are never among them, nor (given this
    session's ``cwd``) one that started in another folder than ``cwd`` or one above it: a save
    from here would refuse it (a copy of another project's transcript), at every start, nor
    one of the ``forgotten`` sessions (``memcore forget``)."""
    from memcore.claude_code.discovery import transcript_head
    from memcore.claude_code.project import inside

    if not transcript_path:
        return []
    own = Path(transcript_path)
    now = time.time() if now is None else now
    newest, oldest = now - QUIET.total_seconds(), now - RECENT.total_seconds()
    written: list[tuple[float, Path, list[int]]] = []  # (time, path, its stamp: file_stamp)
    try:
        with os.scandir(own.parent) as entries:
            for entry in entries:
                name = entry.name
                if not name.endswith(".jsonl") or name.startswith("agent-") or name == own.name:
                    continue
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                if entry.is_file() and oldest <= stat.st_mtime <= newest:
                    stamp = [stat.st_size, stat.st_mtime_ns]
                    written.append((stat.st_mtime, Path(entry.path), stamp))
    except OSError:  # no folder (a transcript path Claude Code has not written yet), no access
        return []
    saved = {record.session_id: record for record in records}
    found: list[tuple[str, Path]] = []
    for _, path, stamp in sorted(written, key=lambda seen: (-seen[0], seen[1].name)):
        # (the saves' own test, ``unchanged_since``, on the stat just taken)
        if _saved_as_is(saved.get(path.stem), path, stamp) or path.stem in forgotten:
            continue  # (a transcript is named by its session: without reading its head)
        head = transcript_head(path)
        session = head.session_id
        if session is None or session == session_id or session in forgotten:
            continue
        if cwd is not None and head.cwd is not None and not inside(cwd, head.cwd):
            continue
        if not _saved_as_is(saved.get(session), path, stamp):
            found.append((session, path))
            if len(found) == MOST:
                break
    return found


def _saved_as_is(record: SessionRecord | None, path: Path, stamp: list[int]) -> bool:
    """Whether the entry ``record`` read ``path`` as it is now (``stamp``) and its digests are
    of all it read: a session whose last save was a ``stop`` that kept older digests (it ended
    without a ``session-end``: ``claude -p``, closed, killed) has them made by the catch-up's
    save, so that the next start tells of its end."""
    from memcore.claude_code.project import read_as

    return read_as(record, path, stamp) and record is not None and not record.needs_digest()


#: The detached savers this process started and has not seen end: held so that none is
#: dropped while it runs (``Popen`` warns then) and each is reaped once ended (else a zombie
#: stays until this process ends: a hook's ends at once, a program that runs hooks does not).
_LAUNCHED: list[subprocess.Popen[bytes]] = []


def launch(found: Sequence[tuple[str, Path]], cwd: str, store_url: str | None) -> bool:
    """Start the detached process that saves ``found`` (see :func:`missed`) as their
    ``session-end`` would have; False when it could not start (nothing else is lost)."""
    if not found:
        return False
    payloads = [
        {
            "session_id": session,
            "transcript_path": str(path),
            "cwd": cwd,
            "hook_event_name": "SessionEnd",
            "reason": "other",
        }
        for session, path in found
    ]
    job = json.dumps({"store": store_url, "payloads": payloads})
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "memcore.claude_code.catch_up"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # (not in the hook's process group: it outlives it)
            close_fds=True,
        )
    except OSError:
        return False
    _LAUNCHED[:] = [earlier for earlier in _LAUNCHED if earlier.poll() is None]
    _LAUNCHED.append(child)
    try:
        if child.stdin is None:
            return False
        child.stdin.write(job.encode())
        child.stdin.close()
    except OSError:
        return False
    return True


def run(job_text: str) -> int:
    """The detached process: each payload saved by the ``session-end`` hook, in order, one
    such process at a time for this user (two sessions started at once each start one for the
    same transcripts: the second waits, then finds them saved, which costs a look each)."""
    from memcore.claude_code.hooks import run_hook

    job = json.loads(job_text)
    store_url = job.get("store")
    with _one_at_a_time(), open(os.devnull, "w") as quiet:
        for payload in job.get("payloads", []):
            run_hook("session-end", json.dumps(payload), store_url=store_url, out=quiet, err=quiet)
    return 0


#: The lock file the catch-up processes take in turn, in memcore's folder (``default_home``).
LOCK_NAME = "catch-up.lock"


@contextlib.contextmanager
def _one_at_a_time() -> Iterator[None]:
    """Hold this user's catch-up lock (an ``flock`` on ``LOCK_NAME``); without one (no
    ``fcntl``, a folder that cannot be made), go on unlocked: the saves are safe together."""
    from memcore.stores import default_home

    fd = None
    try:
        import fcntl

        home = default_home()
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
    except (ImportError, OSError):
        if fd is not None:
            os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # (closing lets the lock go)


__all__ = [
    "LOCK_NAME",
    "MOST",
    "OFF_SWITCH",
    "QUIET",
    "RECENT",
    "launch",
    "missed",
    "run",
    "wanted",
]

if __name__ == "__main__":
    raise SystemExit(run(sys.stdin.read()))
