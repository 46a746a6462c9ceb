"""Reading on in a transcript where the last save stopped, knowing what that save knew.

A hook saves a live session after every turn, each time parsing only what was appended since
(``parse_transcript(..., start_offset=N)``). A parser that starts there afresh has forgotten the
session before: a check that failed two turns ago and passes now closes nothing (no ``fixed_by``,
no ``fixes``), a ``TaskUpdate`` cannot say which task it moved (the ``TaskCreate`` that named it
is in an earlier turn), a file-history entry or a pull request seen again is filed as new, with
a later time. The stored items were made by the earlier parse, and they say enough to put the
parser back where it was: :func:`resume` gives the failure-and-fix linker the failures still
open and the edits since (``FixLinker.resume``), and the parser the task subjects, file-history
paths, files changed outside the agent, pull requests, background commands, calls still
awaiting their result, the times of the records (a summary record names the one its
conversation ends at) and the agent's last words (while their turn goes on) that those items record.

The parser works on copies of the stored items it needs (``Resumed.copies``); a copy the new
records change (an error now fixed, the edit that fixed it, a file-history time) is returned
with the new items, so that the save writes it again. The stored items themselves are never
changed here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memcore.claude_code.background import BACKGROUND_COMMAND_CHARS
from memcore.claude_code.commands import one_line
from memcore.claude_code.next_actions import calls_on_open_text, replay
from memcore.claude_code.record_ids import RECORD_ID
from memcore.claude_code.tools import tool_target
from memcore.model import MemoryItem

if TYPE_CHECKING:
    from memcore.claude_code.record_parser import RecordParser

#: The metadata lists a parse changes in place on items it made earlier: the fixes an edit made
#: (``FixLinker``) and the calls an agent text led to (``NextActions``). A copy of a stored
#: item copies these; the rest of its metadata is only ever set anew.
IN_PLACE = ("fixes", "then")
#: The kinds of the items a tool result becomes (see ``RecordParser.tool_result``).
_RESULT_KINDS = ("tool_result", "error")


def _place(item: MemoryItem) -> tuple[datetime, int, str]:
    """Where an item came in its transcript: its record's time, then its block's index (ids
    are ``cc:<record>:<block>``), then its id (a stable order for ties)."""
    parts = item.id.split(":")
    index = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1
    return item.created_at, index, item.id


@dataclass
class Resumed:
    """The copies of stored items a resumed parser may change, by id, beside the originals."""

    originals: dict[str, MemoryItem] = field(default_factory=dict)
    copies: dict[str, MemoryItem] = field(default_factory=dict)
    #: summary items whose conversation is not in the transcript: timed by the last record the
    #: parse read, as a parse of the whole file times them (``RecordParser.finish``)
    untimed: list[MemoryItem] = field(default_factory=list)

    def retime(self, last: datetime | None, session: str) -> None:
        """Time the ``untimed`` summaries by ``last``, the last record with a time read so far
        (None: none yet, and they keep the file's time a parse gives them then), and file them
        under ``session``, the transcript's (a first parse that read only them named none)."""
        for summary in self.untimed:
            if last is not None:
                summary.created_at = last
            if session:
                summary.metadata["session"] = session

    def copy(self, item: MemoryItem) -> MemoryItem:
        """The parser's own copy of ``item`` (one per id): its fields and metadata may be set
        anew, and the lists the parser changes in place (``IN_PLACE``) are copies too."""
        held = self.copies.get(item.id)
        if held is None:
            metadata = dict(item.metadata)
            for name in IN_PLACE:
                if isinstance(metadata.get(name), list):
                    metadata[name] = list(metadata[name])
            held = MemoryItem(
                id=item.id,
                content=item.content,
                priority=item.priority,
                created_at=item.created_at,
                metadata=metadata,
            )
            self.originals[item.id] = item
            self.copies[item.id] = held
        return held

    def changed(self, emitted: Iterable[MemoryItem]) -> list[MemoryItem]:
        """The copies that now differ from what is stored, except those ``emitted`` again."""
        again = {item.id for item in emitted}
        return [
            copy
            for item_id, copy in self.copies.items()
            if item_id not in again and copy != self.originals[item_id]
        ]


def records_in(unread: bytes) -> set[str]:
    """The ids (``uuid``) of the records in ``unread``, the part of a transcript a parse is about
    to read: another save of the same session, running at the same time, may have stored their
    items already, and the parse must not take them for what came before."""
    return {found.decode("utf-8", "replace") for found in RECORD_ID.findall(unread)}


def resume(
    parser: RecordParser, stored: Iterable[MemoryItem], later: Collection[str] = ()
) -> Resumed:
    """Put ``parser`` (about to read on from an offset) where the parse of the records before
    that offset left it, from the items that parse stored: those of the parser's own file (its
    sub-agent id, or none for the main transcript), except the items of the records ``later``
    (those from the offset on, by the names their items take: ``records_in``, and
    ``memcore.claude_code.record_ids.names_read_on`` when a uuid repeats)."""
    resumed = Resumed()
    items = list(stored)  # (read twice: the items before the offset, then those after it)
    own = sorted(
        (
            i
            for i in items
            if i.metadata.get("agent") == parser.out.agent_id and not _read_now(i, later)
        ),
        key=_place,
    )
    calls: dict[str, MemoryItem] = {}
    answered: set[str] = set()
    results: list[tuple[MemoryItem, MemoryItem | None]] = []  # what the linker was given
    in_place: list[MemoryItem] = []  # the items at their record's place (see ``replay``)
    for item in own:
        meta = item.metadata
        use_id = meta.get("tool_use_id")
        kind = meta.get("kind")
        if kind == "tool_call" and isinstance(use_id, str) and use_id:
            calls[use_id] = item
            _remember_task(parser, meta)
        elif kind in _RESULT_KINDS and isinstance(use_id, str) and use_id:
            answered.add(use_id)
            if _linked(meta):
                results.append((item, calls.get(use_id)))
            _remember_background(parser, meta)
        if _remember_side_record(parser, resumed, item):
            continue  # (timed otherwise than by a record's time: not at its record's place)
        in_place.append(item)
        if parser.last_time is None or item.created_at > parser.last_time:
            parser.last_time = item.created_at
        session = meta.get("session")
        if not parser.out.session_id and isinstance(session, str):
            parser.out.session_id = session  # (a record without its own, first, names it)
        record = meta.get("record")
        if isinstance(record, str):  # (a title summary names the record it ends at)
            parser.timestamps.setdefault(record, item.created_at)
    parser.linker.resume(results, resumed.copy, closed_later=lambda e: _closed_by(e, later))
    still_open, held, noted = replay(in_place)  # the agent's last words, if their turn goes on
    waiting: dict[str, tuple[MemoryItem, int]] = {}
    parser.own_copy = resumed.copy
    for use_id, call in calls.items():  # calls whose result is still to come
        if use_id in answered:  # (put back if a record of its result comes again)
            parser.answered_calls[use_id] = call
        else:
            tool = str(call.metadata.get("tool", ""))
            parser.tool_calls[use_id] = (tool, tool_target(tool, call.metadata))
            parser.call_items[use_id] = resumed.copy(call)
            if call.id in noted:
                noter, at = noted[call.id]
                waiting[call.id] = (resumed.copy(noter), at)
    opened = None if still_open is None else resumed.copy(still_open)
    # (the items of the records read again, which a save that read further stored)
    own_agent = parser.out.agent_id
    again = sorted(
        (i for i in items if i.metadata.get("agent") == own_agent and _read_now(i, later)),
        key=_place,
    )
    parser.actions.reopen(opened, waiting, held, calls_on_open_text(again))
    return resumed


def _closed_by(error: MemoryItem, later: Collection[str]) -> bool:
    """Whether one of the records ``later`` closed ``error`` (its ``resolved_by``, an item id
    ``cc:<record>:<block>``): a save of them at the same time stored it closed already."""
    closer = error.metadata.get("resolved_by")
    if not isinstance(closer, str) or not closer.startswith("cc:"):
        return False
    return closer.split(":", 2)[1] in later


def _read_now(item: MemoryItem, later: Collection[str]) -> bool:
    """Whether ``item`` was made of one of the records ``later`` (metadata is anyone's: a
    ``record`` that is no string is none of them)."""
    record = item.metadata.get("record")
    return isinstance(record, str) and record in later


def _remember_task(parser: RecordParser, meta: dict[str, Any]) -> None:
    """A task-list call's task id and subject (``task_list_id`` and its todo entry)."""
    task_id = meta.get("task_list_id")
    todos = meta.get("todos")
    if not isinstance(task_id, str) or not isinstance(todos, list) or len(todos) != 1:
        return
    entry = todos[0]
    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str) and entry[1]:
        parser.tasks.subjects[task_id] = entry[1]


def _remember_background(parser: RecordParser, meta: dict[str, Any]) -> None:
    """A command started in the background: its later output is said as that command's."""
    task_id, command = meta.get("task_id"), meta.get("command")
    if meta.get("tool") == "Bash" and isinstance(task_id, str) and isinstance(command, str):
        parser.background[task_id] = one_line(command, BACKGROUND_COMMAND_CHARS)


def _linked(meta: dict[str, Any]) -> bool:
    """Whether the parse gave this result to the linker (see ``RecordParser.tool_result``): not
    a background task still running nor an answer (no ``is_error``), nor a call the user or
    Claude Code's guards refused."""
    return (
        isinstance(meta.get("tool"), str)
        and "is_error" in meta
        and not meta.get("rejected")
        and not meta.get("refused")
    )


def _remember_side_record(parser: RecordParser, resumed: Resumed, item: MemoryItem) -> bool:
    """File history, files changed outside the agent, pull requests: said once a session.
    Whether ``item`` is timed otherwise than by its record (a file-history entry by its
    snapshot, a summary by the parse's end: ``Resumed.untimed``), which the parse's clock of
    the last record read does not follow."""
    meta = item.metadata
    changed = meta.get("changed_outside")
    if isinstance(changed, str):
        parser.changed_files[changed] = resumed.copy(item)
        return False
    if item.id.startswith("cc:files:"):
        paths = meta.get("files_changed")
        if isinstance(paths, list):
            parser.tracked.update(p for p in paths if isinstance(p, str))
        return True
    if item.id.startswith("cc:summary:") and meta.get("kind") == "summary":
        resumed.untimed.append(resumed.copy(item))
        return True
    number = meta.get("pr")
    if item.id.startswith("cc:pr:") and isinstance(number, int) and "#" in item.id:
        repo = item.id.split(":", 3)[-1].rsplit("#", 1)[0]
        parser.pull_requests.add((repo, number))
    return False


__all__ = ["Resumed", "resume"]
