"""A saving hook's parse of a large transcript it saves for the first time, run in a child
process meanwhile (a later save reads on beside the stored items: ``memcore.claude_code.resume``).

A save spends its time on two things that need nothing of each other until the end: its own
process importing and opening what it saves with (asyncio, the sync layer, the store: about
half of a fresh save's work), and parsing the transcript (the other half). Where the machine
has a second core, a forked child parses while the hook's process imports and opens, and hands
its ``ParsedSession`` back through a pipe (msgpack: the values a store holds anyway). The hook
then saves exactly what it would have parsed itself: the child is given the offsets the
project's registry says the last save read to, and its parse is taken only when the registry,
read again through the sync layer, still says so (else the hook parses itself, as it does when
the child fails, or the unread part is small, or the platform cannot fork).

The registry is read here with ``SQLiteReader`` (no event loop: see that module), so the hook
imports asyncio only after forking, and a transcript with nothing unread is known to be saved
without importing it at all.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import msgpack

from memcore.claude_code.project import (
    ParsedSession,
    SessionRecord,
    filing_project,
    registry_key,
    registry_session,
)
from memcore.claude_code.session_reading import resume_offset
from memcore.errors import MemcoreError
from memcore.model import MemoryItem, Priority

#: Unread bytes from which a save parses in a child: below, forking and handing the items back
#: cost more than they save (a turn's worth of records parses in a few milliseconds).
AHEAD_BYTES = 512 * 1024
#: How long the save waits for its child's parse before it parses itself (a child that hangs
#: must not hang the hook): this many seconds, and one more per MiB unread (the parse reads
#: 10-20 MiB a second here).
PATIENCE = 20.0


def registry_entry(url: str | None, project: str, session_id: str) -> SessionRecord | None:
    """The session's entry in its project's registry, read at once from the SQLite store ``url``
    names (None: no store, no entry, one that cannot be read now, or one that says items were
    saved the store no longer holds; the save then finds out through the sync layer)."""
    from memcore.stores import decode_entry
    from memcore.stores.sqlite_reader import reader_of, run_now

    try:
        with reader_of(url) as reader:
            project = run_now(filing_project(reader, project))
            snapshot = run_now(reader.read_snapshot(registry_session(project)))
            record = snapshot.records.get(registry_key(session_id))
            if record is None:
                return None
            entry = decode_entry(record)
            if entry.deleted:
                return None
            found = SessionRecord.from_item(MemoryItem.coerce(entry.value))
            if found.items > 0 and not run_now(reader.version(session_id)):
                return None  # (its items lost: see ``hooks._save_in_turn``)
            return found
    except (MemcoreError, ValueError, TypeError):
        return None


def _only_thread() -> bool:
    """Whether this process runs one thread: none started by ``threading`` and, where the
    system lists them (``/proc/self/task``), none started by a native library either (a
    tokenizer's thread pool, say), which ``threading`` does not count and whose locks a fork
    would leave held in the child just the same."""
    if threading.active_count() != 1:
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # (no /proc: threading's count is all there is to go on)
        return True


class ParseAhead:
    """A child process parsing ``files`` of ``session_id`` from the offsets ``read_to``."""

    def __init__(
        self,
        pid: int,
        pipe: int,
        files: Sequence[Path],
        session_id: str,
        read_to: dict[str, list[int]] | None,
        unread: int,
    ) -> None:
        self.pid = pid
        self.pipe = pipe
        self.asked = ([str(f) for f in files], session_id, read_to)
        self.patience = PATIENCE + unread / (1 << 20)

    @classmethod
    def start(
        cls, files: Sequence[Path], session_id: str, read_to: dict[str, list[int]] | None
    ) -> ParseAhead | None:
        """Fork the child when the unread part is large, the platform forks and this process
        runs no other thread (a lock another thread held at the fork, the import lock say,
        would stay held in the child for good: the hook's process has none yet); else None."""
        unread = _unread(files, read_to)
        if not hasattr(os, "fork") or unread < AHEAD_BYTES or not _only_thread():
            return None
        readable, writable = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(readable)
            os.close(writable)
            return None
        if pid == 0:  # the child: parse, hand it back, and end without the interpreter's exit
            os.close(readable)
            code = 1
            try:
                _let_go_of_stdio()  # (Claude Code reads the hook's output until all let it go)
                from memcore.claude_code.project import parse_session

                _write_all(writable, _pack(parse_session(files, session_id, read_to)))
                code = 0
            except BaseException:  # (the parent parses itself: nothing to report here)
                pass
            finally:
                os._exit(code)
        os.close(writable)
        return cls(pid, readable, files, session_id, read_to, unread)

    def result(
        self, files: Sequence[Path], session_id: str, read_to: dict[str, list[int]] | None
    ) -> ParsedSession | None:
        """The child's parse when it was of these files from these offsets and it succeeded;
        None otherwise (the child then ended). Either way the child is gone after."""
        if self.asked != ([str(f) for f in files], session_id, read_to):
            self.cancel()
            return None
        data = _read_all(self.pipe, time.monotonic() + self.patience)
        if data is None:  # it took too long: the save parses itself
            self.cancel()
            return None
        os.close(self.pipe)
        self.pipe = -1
        _, status = os.waitpid(self.pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or not data:
            return None
        try:
            return _unpack(data)
        except (ValueError, TypeError, KeyError, MemcoreError, msgpack.UnpackException):
            return None

    def cancel(self) -> None:
        """End the child and forget its parse."""
        if self.pipe >= 0:
            os.close(self.pipe)
            self.pipe = -1
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _unread(files: Sequence[Path], read_to: dict[str, list[int]] | None) -> int:
    """The bytes ``parse_session`` will read: each file from where it resumes."""
    known = read_to or {}
    total = 0
    for path in files:
        try:
            size = path.stat().st_size
        except OSError:
            continue
        total += size - resume_offset(known.get(str(path)), size)
    return total


def _pack(parsed: ParsedSession) -> bytes:
    items = [
        [i.id, i.content, i.priority.value, i.created_at.isoformat(), i.metadata]
        for i in parsed.items
    ]
    fields = [parsed.session_id, items, parsed.accesses, parsed.read_to, parsed.git_branch]
    return msgpack.packb([*fields, parsed.incremental], use_bin_type=True)  # type: ignore[no-any-return]


def _unpack(data: bytes) -> ParsedSession:
    session_id, items, accesses, read_to, branch, incremental = msgpack.unpackb(
        data, raw=False, strict_map_key=True
    )
    return ParsedSession(
        session_id,
        [
            MemoryItem(i, content, Priority(priority), datetime.fromisoformat(when), meta)
            for i, content, priority, when, meta in items
        ],
        list(accesses),
        {str(path): list(stamp) for path, stamp in read_to.items()},
        str(branch),
        bool(incremental),
    )


def _let_go_of_stdio() -> None:
    """Point the child's standard streams at /dev/null: it prints nothing, and a child left
    behind by a parent killed meanwhile must not hold the hook's output open."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)


def _read_all(fd: int, deadline: float) -> bytes | None:
    """Everything written into the pipe until its writer closed it; None past ``deadline``."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


__all__ = ["AHEAD_BYTES", "PATIENCE", "ParseAhead", "registry_entry"]
