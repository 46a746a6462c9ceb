"""One transcript's records into memory items, an access sequence and token samples.

``RecordParser`` is the loop behind :func:`memcore.claude_code.transcripts.parse_transcript`: it
takes the records one by one (a user message, an assistant message and its blocks, a tool call, its
result, a system or summary record) and turns each into the items described in that module's
docstring, through the pure rules of :mod:`memcore.claude_code.records` (what people and the
assistant said), :mod:`memcore.claude_code.tools` (tool calls and results),
:mod:`memcore.claude_code.background` (background tasks), :mod:`memcore.claude_code.task_list`
(task lists) and :mod:`memcore.claude_code.links` (failures and their fixes); tool calls and
their results are read by :mod:`memcore.claude_code.tool_records`, the records beside the
messages (file history, the queue, titles, the pull request) by
:mod:`memcore.claude_code.side_records`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from memcore.claude_code.briefs import brief_lines
from memcore.claude_code.commands import one_line
from memcore.claude_code.compaction import summary_pending, summary_request
from memcore.claude_code.json_names import json_name
from memcore.claude_code.links import FixLinker
from memcore.claude_code.next_actions import NextActions
from memcore.claude_code.queued import MessageQueue
from memcore.claude_code.record_ids import MESSAGE_TYPES, Before, RecordIds
from memcore.claude_code.records import (
    ATTACHED_ONLY,
    COMPACTION_PREFIX,
    analysis_view,
    assistant_statement,
    attached_files,
    classify_user_text,
    command_request,
    command_text,
    scaffolding_kind,
    strip_wrappers,
    typed_newlines,
)
from memcore.claude_code.results import MalformedLine, TokenSample, Transcript
from memcore.claude_code.side_records import SideRecords
from memcore.claude_code.task_list import TaskList
from memcore.claude_code.titles import TITLE_FIELDS, clean_title, earlier_record_times
from memcore.claude_code.tool_records import ToolRecords
from memcore.claude_code.unglue import unglue_lists
from memcore.claude_code.warmups import Warmups
from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority, to_utc_datetime

#: Item priority by kind (errors and what the user said matter most; raw tool output least).
KIND_PRIORITY: dict[str, Priority] = {
    "preference": Priority.HIGH,
    "task": Priority.HIGH,
    "error": Priority.HIGH,
    "summary": Priority.HIGH,
    "shortcut": Priority.NORMAL,
    "brief": Priority.NORMAL,
    "fact": Priority.NORMAL,
    "tool_result": Priority.NORMAL,
    "tool_call": Priority.LOW,
    "thinking": Priority.LOW,
}
#: The most words of a compaction summary's request kept in its item's metadata.
_REQUEST_WORDS_KEPT = 600
#: What a compaction summary left to do, kept whole past the cut of its text: items, and the
#: characters of each.
_PENDING_KEPT = 12
_PENDING_CHARS = 400


def _truncate(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars``, after a whole word where one ends near the limit, the cut
    marked ("... which is appropriat" read as a finished sentence)."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars + 1)
    if cut < max_chars * 0.8:  # a dump with no spaces near the end: cut where the limit is
        cut = max_chars
    kept = text[:cut].rstrip()
    return f"{kept}\u2026\n[... {len(text) - len(kept)} more characters]"


def storable_key(item_id: str) -> str:
    """``item_id``, or when a store would refuse it as a key (a record's id too long, with a
    control character or a lone surrogate: a path of 1,000 bytes, a damaged line) a hash of it,
    the same at every parse: one such record costs its own item's name, not the import."""
    if len(item_id) <= 256 and item_id.isprintable():  # (at most 1,024 bytes, no control)
        return item_id
    from memcore.stores.base import validate_new_key

    try:
        return validate_new_key(item_id)
    except ValidationError:
        raw = item_id.encode("utf-8", "surrogatepass")
        return f"cc:hashed:{hashlib.blake2b(raw, digest_size=16).hexdigest()}"


def _same(item: MemoryItem) -> MemoryItem:
    return item


class RecordParser(SideRecords, ToolRecords):
    """State for one file: tool calls awaiting results, streamed messages, the last timestamp."""

    def __init__(self, path: Path, session: str | None, max_chars: int) -> None:
        self.path = path
        self.max_chars = max_chars
        agent = path.stem[len("agent-") :] if path.name.startswith("agent-") else None
        self.out = Transcript(path=path, session_id=session or "", agent_id=agent)
        self.forced_session = session
        #: the folder the transcript starts in: files are named relative to it, wherever the
        #: agent's ``cd`` takes later records (see ``memcore.digest_work.session_root``)
        self.root: str | None = None
        self.tool_calls: dict[str, tuple[str, dict[str, Any]]] = {}
        #: the command of each task a Bash call started in the background, by task id
        self.background: dict[str, str] = {}
        self.messages: dict[str, dict[str, Any]] = {}  # API message id -> text parts and usage
        self.timestamps: dict[str, datetime] = {}
        self.read_before = 0  # the bytes of the file an earlier parse read (it reads on)
        self.summaries: list[tuple[int, dict[str, Any]]] = []
        self.last_time: datetime | None = None
        self.call_items: dict[str, MemoryItem] = {}
        self.answered_calls: dict[str, MemoryItem] = {}  # (see ``ToolRecords``)
        self.own_copy: Callable[[MemoryItem], MemoryItem] = _same
        #: each file's text as last read or written in this parse, for a Write to be compared
        #: with (its renames), and whether it still has a Read's line numbers (stripped only
        #: when a Write needs it); at most ``FILE_TEXT_CHARS`` of each (``tool_records``),
        #: dropped with the parser
        self.file_texts: dict[str, tuple[str, bool]] = {}
        self.tracked: set[str] = set()
        self.linker = FixLinker()
        self.actions = NextActions()  # the calls each of the agent's texts led to
        self.tasks = TaskList()
        #: messages the user typed while the agent worked (``memcore.claude_code.queued``)
        self.queue = MessageQueue()
        self.pull_requests: set[tuple[str, int]] = set()  # said once each (see ``pr_link``)
        self.titles: dict[str, MemoryItem] = {}  # the session's title items, by who titled it
        self.changed_files: dict[str, MemoryItem] = {}  # files changed outside the agent
        self.untimed_titles: list[tuple[Mapping[str, Any], str, str]] = []
        self.warmups = Warmups()
        #: the lines before the offset a parse reads on from, and the names of the message
        #: records read, by uuid, which knows them (``memcore.claude_code.record_ids``)
        self.before: Before | None = None
        self.ids = RecordIds()

    def read_on(self, before: Before) -> None:
        """Read on after the lines ``before``: records are named as a parse of the whole file
        names them."""
        self.before = before
        self.ids = RecordIds(before)

    def file_line(self, line_no: int) -> int:
        """The line ``line_no`` of what is read as a line of the file."""
        return line_no + (self.before.lines() if self.before is not None else 0)

    def bad(self, line_no: int, reason: str) -> None:
        self.out.malformed.append(MalformedLine(self.path, line_no, reason))

    def add(
        self,
        item_id: str,
        kind: str,
        content: str,
        when: datetime,
        meta: dict[str, Any],
        priority: Priority | None = None,
    ) -> MemoryItem | None:
        if not content.strip():
            return None
        metadata = {"kind": kind, "source": "claude-code", **meta}
        item = MemoryItem(
            id=storable_key(item_id),
            content=_truncate(content, self.max_chars),
            priority=priority or KIND_PRIORITY[kind],
            created_at=when,
            metadata=metadata,
        )
        self.out.items.append(item)
        self.actions.seen(item)
        return item

    def record(self, line_no: int, rec: dict[str, Any], line: bytes) -> None:
        """One record, ``line`` its line as kept (its secrets masked)."""
        kind = rec.get("type")
        if not isinstance(kind, str):
            if "type" not in rec:
                self.bad(line_no, "record has no 'type'")
            else:
                self.bad(line_no, f"record's 'type' is a JSON {json_name(kind)}, not a string")
            return
        if kind == "summary":
            if isinstance(rec.get("summary"), str):
                self.summaries.append((line_no, rec))
            else:
                self.bad(line_no, "summary record without a 'summary' text")
            return
        if kind == "file-history-snapshot" and self.snapshot(rec):
            return
        if kind == "queue-operation" and self.queued(line_no, rec):
            return
        if kind == "attachment":
            self.attachment(line_no, rec)
            return
        if kind in TITLE_FIELDS and self.title(line_no, rec, kind):
            return
        if kind == "pr-link" and self.pr_link(line_no, rec):
            return
        if kind not in MESSAGE_TYPES:
            self.out.skipped_types[kind] += 1
            return
        raw_uid = rec.get("uuid")
        named = None if not isinstance(raw_uid, str) else self.ids.name(raw_uid, line)
        if isinstance(raw_uid, str) and named is None:
            said = f"the same record as an earlier line (uuid {raw_uid!r:.90}): read once"
            self.bad(line_no, said)
            return
        when = self.when(line_no, rec)
        if when is None:
            return
        if not self.out.session_id and isinstance(rec.get("sessionId"), str):
            self.out.session_id = rec["sessionId"]
        if isinstance(rec.get("agentId"), str) and self.out.agent_id is None:
            self.out.agent_id = rec["agentId"]
        # (a record that repeats an earlier one's uuid with other content: named by its hash)
        uid = named if named is not None else f"{self.path.stem}:L{self.file_line(line_no)}"
        if isinstance(raw_uid, str):
            self.timestamps.setdefault(raw_uid, when)  # (its first record's, as resume has it)
        meta: dict[str, Any] = {
            "session": rec.get("sessionId") or self.out.session_id,
            "record": uid,
        }
        if rec.get("isSidechain"):
            # (a sub-agent warmed up: no work; its records chained by the uuids they name)
            if self.warmups.skips(rec, raw_uid if isinstance(raw_uid, str) else uid):
                self.out.skipped_types["sidechain:warmup"] += 1
                return
            meta["sidechain"] = True
        if self.out.agent_id:
            meta["agent"] = self.out.agent_id
        for src, dst in (("cwd", "cwd"), ("gitBranch", "git_branch")):
            if isinstance(rec.get(src), str) and rec[src]:
                meta[dst] = rec[src]
        if self.root is None and "cwd" in meta:
            self.root = meta["cwd"]
        if kind == "system":
            self.system(uid, rec, when, meta)
            return
        message = rec.get("message")
        if not isinstance(message, Mapping):
            self.bad(line_no, f"{kind} record without a 'message' object")
            return
        role = message.get("role") if isinstance(message.get("role"), str) else kind
        meta["role"] = role
        content = message.get("content")
        if kind == "assistant":
            self.usage(message)
        if isinstance(content, str):
            self.text(f"cc:{uid}", kind, content, when, meta, rec)
        elif isinstance(content, list):
            for index, block in enumerate(content):
                if isinstance(block, Mapping):
                    self.block(f"cc:{uid}:{index}", kind, block, when, meta, rec, message)
                else:
                    self.out.skipped_types["block:not-an-object"] += 1
        elif content is not None:
            self.bad(line_no, "message content is neither a string nor a list of blocks")

    def when(self, line_no: int, rec: Mapping[str, Any]) -> datetime | None:
        raw = rec.get("timestamp")
        if raw is None:
            return self.last_time or self.file_time()
        try:
            when = to_utc_datetime(raw)
        except ValidationError:
            self.bad(line_no, f"unreadable timestamp {repr(raw)[:80]}")
            return None
        self.last_time = when
        return when

    def file_time(self) -> datetime:
        try:
            return datetime.fromtimestamp(self.path.stat().st_mtime, timezone.utc)
        except OSError:  # lines parsed without a file (parse_lines): no better time to give
            return datetime.fromtimestamp(0, timezone.utc)

    def system(
        self, uid: str, rec: Mapping[str, Any], when: datetime, meta: dict[str, Any]
    ) -> None:
        subtype = rec.get("subtype")
        text = rec.get("content") if isinstance(rec.get("content"), str) else ""
        if subtype == "api_error" and _retried(rec):
            # (Claude Code tries the request again: a hiccup of the API, not of the work; if
            # every try fails, the assistant's own "API Error: ..." message says so)
            self.out.skipped_types["system:api_error (retried)"] += 1
        elif subtype == "api_error" or rec.get("level") == "error":
            self.add(
                f"cc:{uid}",
                "error",
                text or f"system error ({subtype})",
                when,
                {**meta, "role": "system", "subtype": subtype or ""},
            )
        elif subtype == "compact_boundary":
            self.out.skipped_types["system:compact_boundary"] += 1
        else:
            self.out.skipped_types[f"system:{subtype}"] += 1

    def text(
        self,
        item_id: str,
        kind: str,
        text: str,
        when: datetime,
        meta: dict[str, Any],
        rec: Mapping[str, Any],
    ) -> None:
        if kind == "assistant":
            if rec.get("isApiErrorMessage"):
                self.add(item_id, "error", text, when, meta)
                return
            text = unglue_lists(text)
            statement, priority = assistant_statement(analysis_view(text))
            self.add(item_id, "fact", text, when, {**meta, "statement": statement}, priority)
            return
        if rec.get("isCompactSummary") or text.startswith(COMPACTION_PREFIX):
            # its request whole, wherever the cut of its text falls (a digest says it: often the
            # only account left of what was asked)
            compaction: dict[str, Any] = {"compaction": True}
            request = summary_request(text)
            if request:
                compaction["request"] = " ".join(request[:_REQUEST_WORDS_KEPT])
            pending = summary_pending(text)  # (kept whole too: it ends the summary, past the cut)
            if pending:
                compaction["pending"] = [
                    [section, one_line(said, _PENDING_CHARS), depth]
                    for section, said, depth in pending[:_PENDING_KEPT]
                ]
            self.add(item_id, "summary", text, when, {**meta, **compaction})
            return
        own = typed_newlines(strip_wrappers(text))
        attached = attached_files(text, rec.get("cwd"))
        if attached:  # what the user attached is part of the request
            files = ", ".join(f"`{path}`" for path in attached)
            own = f"{own} (attached: {files})" if own else f"{ATTACHED_ONLY}{files}"
        scaffolding = scaffolding_kind(text) if not own or own == text else None
        if scaffolding is None and not own:
            scaffolding = "wrapper-only"
        text = own
        if scaffolding is not None:
            self.out.skipped_types[f"scaffolding:{scaffolding}"] += 1
            return
        if rec.get("isMeta"):
            self.add(item_id, "fact", text, when, {**meta, "meta": True}, Priority.LOW)
            return
        if meta.get("sidechain") and "answer_to" not in meta:
            # a sub-agent's "user" is the agent that gave it its work (the user's own words
            # there are only answers to its questions, told above as answers)
            self.add(item_id, "brief", text, when, {**meta, "brief": brief_lines(text)})
            return
        item_kind, confidence = classify_user_text(analysis_view(text))
        extra: dict[str, Any] = {"confidence": confidence}
        level: Priority | None = None
        if item_kind == "shortcut":
            extra["command"], text = command_text(text)
            if command_request(text.split())[0]:  # a command given work to do: a request
                level = KIND_PRIORITY["task"]
        self.add(item_id, item_kind, text, when, {**meta, **extra}, level)

    def block(
        self,
        item_id: str,
        kind: str,
        block: Mapping[str, Any],
        when: datetime,
        meta: dict[str, Any],
        rec: Mapping[str, Any],
        message: Mapping[str, Any],
    ) -> None:
        btype = block.get("type")
        if btype == "text" and isinstance(block.get("text"), str):
            self.text(item_id, kind, block["text"], when, meta, rec)
            self.stream_text(message, block["text"])
        elif btype == "thinking" and isinstance(block.get("thinking"), str):
            self.add(item_id, "thinking", unglue_lists(block["thinking"]), when, meta)
            self.stream_text(message, block["thinking"], thinking=True)
        elif btype == "redacted_thinking":  # (nothing to keep, but billed)
            self.stream_text(message, "", thinking=True)
            self.out.skipped_types["block:redacted_thinking"] += 1
        elif btype == "tool_use" and isinstance(block.get("name"), str):
            self.tool_use(item_id, block, when, meta, message)
        elif btype == "tool_result":
            self.tool_result(item_id, block, when, meta, rec.get("toolUseResult"))
        else:
            self.out.skipped_types[f"block:{btype}"] += 1

    def stream_text(self, message: Mapping[str, Any], text: str, *, thinking: bool = False) -> None:
        msg_id = message.get("id")
        if isinstance(msg_id, str) and msg_id in self.messages:
            entry = self.messages[msg_id]
            if text:
                entry["parts"].append(text)
            if thinking:
                entry["thinking"] = True

    def usage(self, message: Mapping[str, Any]) -> None:
        # A streamed reply is written as several records sharing one API message id, each with
        # the reply's usage: keep one entry per id (the last usage seen) so nothing counts twice.
        msg_id = message.get("id")
        usage = message.get("usage")
        if not isinstance(msg_id, str) or not isinstance(usage, Mapping):
            return
        entry = self.messages.setdefault(msg_id, {"parts": [], "usage": {}})
        entry["usage"] = usage

    def finish(self) -> Transcript:
        if not self.out.session_id:
            self.out.session_id = self.path.stem
        self.time_titles()
        unknown = {
            rec["leafUuid"] for _, rec in self.summaries if isinstance(rec.get("leafUuid"), str)
        }
        unknown -= self.timestamps.keys()
        if unknown and self.read_before:  # (a title of a conversation an earlier save read)
            self.timestamps.update(earlier_record_times(self.path, unknown, self.read_before))
        for line_no, rec in self.summaries:
            leaf = rec.get("leafUuid")
            when = self.timestamps.get(leaf) if isinstance(leaf, str) else None
            title = None if when is None else clean_title(rec["summary"])
            if when is not None and title is not None:
                # (its conversation is this transcript's: the title older versions gave it)
                self.titled(rec, "ai-title", title, when)
                continue
            when = when or self.last_time or self.file_time()
            self.add(
                f"cc:summary:{leaf or self.file_line(line_no)}",
                "summary",
                rec["summary"],
                when,
                {"session": self.out.session_id, "leaf": leaf or "", "role": "summary"},
            )
        for msg_id, entry in self.messages.items():
            usage = entry["usage"]

            def count(name: str, usage: Mapping[str, Any] = usage) -> int:
                value = usage.get(name)
                return value if isinstance(value, int) and not isinstance(value, bool) else 0

            self.out.token_samples.append(
                TokenSample(
                    message_id=msg_id,
                    text="\n".join(entry["parts"]),
                    output_tokens=count("output_tokens"),
                    input_tokens=count("input_tokens"),
                    cache_read_input_tokens=count("cache_read_input_tokens"),
                    cache_creation_input_tokens=count("cache_creation_input_tokens"),
                    thinking=bool(entry.get("thinking")),
                )
            )
        if self.forced_session:
            for item in self.out.items:
                item.metadata["session"] = self.forced_session
        if len({item.id for item in self.out.items}) < len(self.out.items):
            # two items named alike (two summaries of one conversation): the last, the one a
            # store keeps, so that what a parse counts is what is stored
            self.out.items = list({item.id: item for item in self.out.items}.values())
        return self.out


def _retried(rec: Mapping[str, Any]) -> bool:
    """Whether an ``api_error`` record says Claude Code will try again (``retryAttempt`` of
    ``maxRetries``, both counts)."""
    attempt, most = rec.get("retryAttempt"), rec.get("maxRetries")
    if not isinstance(attempt, int) or isinstance(attempt, bool):
        return False
    return not isinstance(most, int) or isinstance(most, bool) or attempt < most


__all__ = ["KIND_PRIORITY", "RecordParser"]
