"""The records beside a session's messages, as ``RecordParser`` reads them (a mixin of it):
Claude Code's file history, its queue of what the user typed meanwhile (and newer versions'
attachments delivering it, and their notices of files changed outside the agent), the
session's titles and its pull request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memcore.claude_code.parser_part import ParserPart
from memcore.claude_code.queued import MessageQueue, typed_prompt
from memcore.claude_code.titles import TITLE_FIELDS, TITLE_LEAD_IN, session_title
from memcore.claude_code.tools import display_path
from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority, to_utc_datetime

#: Past these, a ``pr-link`` record names no pull request (and would not fit an item's id).
_MAX_PR_NUMBER = 1 << 31
_MAX_PR_URL = 500
#: A longer "path" in a notice of a file changed outside the agent names no file.
_MAX_PATH = 4096


class SideRecords(ParserPart):
    """What ``RecordParser`` makes of the records beside the messages."""

    forced_session: str | None
    last_time: datetime | None
    tracked: set[str]
    queue: MessageQueue
    pull_requests: set[tuple[str, int]]
    titles: dict[str, MemoryItem]
    changed_files: dict[str, MemoryItem]  # a file changed outside the agent -> its one item
    untimed_titles: list[tuple[Mapping[str, Any], str, str]]  # (record, kind, title)

    if TYPE_CHECKING:  # defined by RecordParser

        def when(self, line_no: int, rec: Mapping[str, Any]) -> datetime | None: ...

        def file_time(self) -> datetime: ...

    def snapshot(self, rec: Mapping[str, Any]) -> bool:
        """Claude Code's file history: the files it backed up before changing them, one fact per
        file (a resumed session's earlier edits show only here). Ids depend on the session and
        the path only, so parsing the same history again (incrementally) adds nothing new."""
        snap = rec.get("snapshot")
        tracked = snap.get("trackedFileBackups") if isinstance(snap, Mapping) else None
        if not isinstance(snap, Mapping) or not isinstance(tracked, Mapping):
            return False
        new = [p for p in tracked if isinstance(p, str) and p not in self.tracked]
        if not new:
            return False
        self.tracked.update(new)
        raw_time = snap.get("timestamp")
        try:
            when = to_utc_datetime(raw_time) if raw_time else None
        except ValidationError:
            when = None
        when = when or self.last_time or self.file_time()
        session = self.forced_session or rec.get("sessionId") or self.out.session_id
        for path in new:
            self.add(
                f"cc:files:{session}:{path}",
                "fact",
                f"Claude Code's file history records a change to `{path}`.",
                when,
                {"session": session, "role": "system", "files_changed": [path]},
            )
        return True

    def queued(self, line_no: int, rec: dict[str, Any]) -> bool:
        """A ``queue-operation`` record (see ``memcore.claude_code.queued``): a message taken in
        the turn under way is a user message like any other, timed when it was taken. Returns
        whether the record was one."""
        used, typed = self.queue.operation(rec)
        if typed is not None:
            self.take_queued(line_no, rec, typed)
        return used

    def title(self, line_no: int, rec: dict[str, Any], kind: str) -> bool:
        """The session's title (newer versions): the one the user gave it (``custom-title``) or
        Claude Code's (``ai-title``), each one item, the latest record's text (a title is
        made again as the session goes on). Returns whether the record held one."""
        text = session_title(rec, kind)
        if text is None:
            return False
        if rec.get("timestamp") is None and self.last_time is None:
            # (newer versions write it untimed, often first: it is timed by the session's
            # first record that has a time, in ``finish``)
            self.untimed_titles.append((rec, kind, text))
            return True
        when = self.when(line_no, rec)
        if when is None:
            return False
        self.titled(rec, kind, text, when)
        return True

    def titled(self, rec: Mapping[str, Any], kind: str, text: str, when: datetime) -> None:
        session = self.forced_session or rec.get("sessionId") or self.out.session_id
        who = TITLE_FIELDS[kind][0]
        content = f'{TITLE_LEAD_IN[who]}"{text}".'
        known = self.titles.get(who)
        if known is not None:  # (its id names the session and who titled it: one item)
            known.content = content
            known.created_at = when
            return
        meta = {"session": session, "role": "system", "session_title": who}
        priority = Priority.HIGH if who == "custom" else Priority.NORMAL
        item = self.add(f"cc:title:{session}:{who}", "fact", content, when, meta, priority)
        if item is not None:
            self.titles[who] = item

    def time_titles(self) -> None:
        """Titles read before any record with a time: timed by the session's first item (the
        file's time when it has none), in the order they came."""
        pending, self.untimed_titles = self.untimed_titles, []
        times = [item.created_at for item in self.out.items]
        when = min(times) if times else self.file_time()
        for rec, kind, text in pending:
            self.titled(rec, kind, text, when)

    def attachment(self, line_no: int, rec: dict[str, Any]) -> None:
        """Newer Claude Code's ``attachment`` records: a typed message it delivered from its
        queue (``queued_command``) is a user message; the rest (hooks' added context, memcore's
        own among them, skill and tool listings, IDE state) are not memory, only counted."""
        attached = rec.get("attachment")
        kind = attached.get("type") if isinstance(attached, Mapping) else None
        name = f"attachment:{kind}" if isinstance(kind, str) and len(kind) <= 64 else "attachment"
        if kind == "queued_command" and isinstance(attached, Mapping):
            text = typed_prompt(attached)
            message = None if text is None else self.queue.delivered(rec, text)
            if message is not None:
                self.take_queued(line_no, rec, message)
                return
        if (
            kind == "edited_text_file"
            and isinstance(attached, Mapping)
            and self.changed_outside(line_no, rec, attached.get("filename"))
        ):
            return
        self.out.skipped_types[name] += 1

    def changed_outside(self, line_no: int, rec: Mapping[str, Any], path: object) -> bool:
        """Claude Code's notice that a file the agent had read changed on disk without it (the
        user edited it, or a formatter or linter rewrote it): one item per file and session,
        timed by its latest notice, kept from the digest's statements (a formatter that runs
        after every edit would fill them) and its diff not kept (the file is not memory).
        Returns whether it was one."""
        if not isinstance(path, str) or not path or len(path) > _MAX_PATH or "\n" in path:
            return False
        when = self.when(line_no, rec)
        if when is None:
            return False
        known = self.changed_files.get(path)
        if known is not None:
            known.created_at = max(known.created_at, when)
            return True
        session = self.forced_session or rec.get("sessionId") or self.out.session_id
        named = hashlib.blake2b(path.encode("utf-8", "surrogatepass"), digest_size=8)
        shown = display_path(path, self.root)
        item = self.add(
            f"cc:changed-outside:{session}:{named.hexdigest()}",
            "fact",
            f"`{shown}` was changed outside the agent's edits (by the user, or a formatter or "
            "linter) while the session ran.",
            when,
            {"session": session, "role": "system", "meta": True, "changed_outside": path},
            Priority.LOW,
        )
        if item is not None:
            self.changed_files[path] = item
        return True

    def take_queued(self, line_no: int, taken: dict[str, Any], typed: dict[str, Any]) -> None:
        """The queued message ``typed`` as a user message, at the time the agent ``taken`` it;
        its id comes from the session, the time it was typed (or delivered) and its text, so a
        parse again names it alike."""
        when = self.when(line_no, taken)
        if when is None:
            return
        session = self.forced_session or typed.get("sessionId") or self.out.session_id
        stamp = typed.get("timestamp")
        # the text's hash too: two messages typed in one millisecond (or with no time of their
        # own) are two items
        text = hashlib.blake2b(typed["content"].encode("utf-8", "surrogatepass"), digest_size=6)
        at = stamp if isinstance(stamp, str) else "untimed"
        uid = f"queued:{session}:{at}:{text.hexdigest()}"
        meta: dict[str, Any] = {"session": session, "record": uid, "role": "user", "queued": True}
        if self.root is not None:
            meta["cwd"] = self.root
        self.text(f"cc:{uid}", "user", typed["content"], when, meta, typed)

    def pr_link(self, line_no: int, rec: dict[str, Any]) -> bool:
        """Claude Code's note that the session has a pull request (it opened one with ``gh``,
        or was linked to one): an outcome a handover names, kept as a conclusion. One item per
        pull request of a session, whatever record says it again. Returns whether it was one."""
        number, url, repo = rec.get("prNumber"), rec.get("prUrl"), rec.get("prRepository")
        if isinstance(number, bool) or not isinstance(number, int) or not isinstance(url, str):
            return False
        if not 0 < number < _MAX_PR_NUMBER or len(url) > _MAX_PR_URL:
            return False  # no pull request's number or address
        repo = repo if isinstance(repo, str) and len(repo) <= _MAX_PR_URL else ""
        when = self.when(line_no, rec)
        if when is None or (repo, number) in self.pull_requests:
            return True
        self.pull_requests.add((repo, number))
        session = self.forced_session or rec.get("sessionId") or self.out.session_id
        where = f" of `{repo}`" if repo else ""
        self.add(
            f"cc:pr:{session}:{repo}#{number}",
            "fact",
            f"The session's pull request is #{number}{where}: {url}",
            when,
            {"session": session, "role": "system", "statement": "conclusion", "pr": number},
            Priority.HIGH,
        )
        return True


__all__ = ["SideRecords"]
