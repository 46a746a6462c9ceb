"""Read Claude Code session transcripts into memory items and an access sequence.

Claude Code writes one JSON-lines file per session under ``~/.claude/projects/<project path with
"/" turned into "-">/<session uuid>.jsonl``; sub-agents write ``agent-<id>.jsonl`` beside it or
under ``<session uuid>/subagents/``. Each line is one record with a ``type``. The format grows
over versions, so this reader is lenient on purpose: unknown record types and unknown blocks are
counted and skipped, malformed lines are reported with their line numbers, and nothing here raises
for bad content. Only a path that cannot be read at all is an error.

What comes out of a transcript:

* memory items: user requests (``task``), stated preferences (``preference``), slash commands
  (``shortcut``), assistant statements (``fact``), tool calls (``tool_call``), their results
  (``tool_result``, or ``error`` when the tool failed), summaries (``summary``) and thinking
  (``thinking``), each with the record's timestamp and metadata saying where it came from;
* the ordered access sequence (files read and edited, searches, commands run, other tools), which
  is what the prefetcher learns from;
* one token sample per assistant API message: its generated text beside the ``output_tokens`` the
  API reported, a real measure to hold :func:`memcore.count_tokens` against.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from memcore.errors import NotFoundError, ValidationError
from memcore.model import MemoryItem, Priority, to_utc_datetime

#: Tools whose input names one file: the file is the thing accessed.
FILE_TOOLS = {
    "Read": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Write": "file_path",
    "NotebookEdit": "notebook_path",
    "NotebookRead": "notebook_path",
}
#: Tools whose input is a search pattern.
SEARCH_TOOLS = ("Grep", "Glob")

_UUID_NAME = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}\.jsonl$"
)
_AGENT_NAME = re.compile(r"^agent-[\w.-]+\.jsonl$")
_COMMAND_NAME = re.compile(r"<command-name>\s*(/?[\w:.-]+)\s*</command-name>")
_COMMAND_ARGS = re.compile(r"<command-args>(.*?)</command-args>", re.DOTALL)
# A stated preference: an instruction about how to work from now on, not a one-off request.
_PREFERENCE_STRONG = re.compile(
    r"\b(always|never|from now on|do not ever|don't ever|every time|by default)\b", re.IGNORECASE
)
_PREFERENCE_WEAK = re.compile(
    r"\b(i prefer|prefer to|i'd rather|i would rather|please use|please don't|don't use|"
    r"do not use|avoid using|i like|my preference)\b",
    re.IGNORECASE,
)
_COMPACTION_PREFIX = "This session is being continued from a previous conversation"

#: Item priority by kind (errors and what the user said matter most; raw tool output least).
KIND_PRIORITY: dict[str, Priority] = {
    "preference": Priority.HIGH,
    "task": Priority.HIGH,
    "error": Priority.HIGH,
    "summary": Priority.HIGH,
    "shortcut": Priority.NORMAL,
    "fact": Priority.NORMAL,
    "tool_result": Priority.NORMAL,
    "tool_call": Priority.LOW,
    "thinking": Priority.LOW,
}
#: Tools whose results are cheap to get again (a file can be re-read): kept at low priority.
_REREADABLE = {"Read", "Grep", "Glob", "NotebookRead", "WebFetch", "WebSearch", "TodoWrite"}


def default_projects_dir() -> Path:
    """Claude Code's transcripts: ``$CLAUDE_CONFIG_DIR/projects`` or ``~/.claude/projects``."""
    config = os.environ.get("CLAUDE_CONFIG_DIR")
    base = Path(config).expanduser() if config else Path.home() / ".claude"
    return base / "projects"


def project_dir_name(project_path: str | os.PathLike[str]) -> str:
    """The folder Claude Code uses for a project: its absolute path with "/" turned into "-"."""
    return str(project_path).replace("/", "-")


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MalformedLine:
    """A line that could not be used, and why."""

    path: Path
    line_no: int
    reason: str


@dataclass(frozen=True, slots=True)
class TokenSample:
    """One assistant API message: the text it generated and the output tokens the API billed."""

    message_id: str
    text: str
    output_tokens: int
    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int


@dataclass(slots=True)
class Transcript:
    """What one transcript file gave."""

    path: Path
    session_id: str
    agent_id: str | None = None
    items: list[MemoryItem] = field(default_factory=list)
    accesses: list[str] = field(default_factory=list)
    token_samples: list[TokenSample] = field(default_factory=list)
    malformed: list[MalformedLine] = field(default_factory=list)
    skipped_types: Counter[str] = field(default_factory=Counter)
    records: int = 0

    @property
    def usage_totals(self) -> dict[str, int]:
        """Summed API token counts over this transcript's assistant messages."""
        return {
            "input_tokens": sum(s.input_tokens for s in self.token_samples),
            "output_tokens": sum(s.output_tokens for s in self.token_samples),
            "cache_read_input_tokens": sum(s.cache_read_input_tokens for s in self.token_samples),
            "cache_creation_input_tokens": sum(
                s.cache_creation_input_tokens for s in self.token_samples
            ),
        }


# --- discovery ----------------------------------------------------------------------------------


def is_transcript_name(name: str) -> bool:
    """A main session (``<uuid>.jsonl``) or a sub-agent (``agent-<id>.jsonl``) file name."""
    return bool(_UUID_NAME.match(name) or _AGENT_NAME.match(name))


def find_transcripts(path: str | os.PathLike[str] | None = None) -> list[Path]:
    """Transcript files under ``path`` (a file, a project folder or the projects root).

    Without a path, the user's own Claude Code projects folder is searched; a missing default
    folder simply has no transcripts, while a missing explicit path is a :class:`NotFoundError`.
    Files are sorted so a session's main file comes before its sub-agents.
    """
    explicit = path is not None
    root = Path(path).expanduser() if path is not None else default_projects_dir()
    if root.is_file():
        return [root]
    if not root.is_dir():
        if explicit:
            raise NotFoundError(f"no such transcript file or folder: {root}")
        return []
    found = [p for p in root.rglob("*.jsonl") if p.is_file() and is_transcript_name(p.name)]
    return sorted(found, key=lambda p: (p.name.startswith("agent-"), str(p)))


# --- parsing ------------------------------------------------------------------------------------


def _truncate(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}\n[... {len(text) - max_chars} more characters]"


def _block_text(content: Any) -> str:
    """Text of a tool_result's content: a string, or a list of text (and image) blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping):
                if block.get("type") == "text" and isinstance(block.get("text"), str):
                    parts.append(block["text"])
                elif block.get("type") == "image":
                    parts.append("[image]")
        return "\n".join(parts)
    return "" if content is None else str(content)


def classify_user_text(text: str) -> tuple[str, float]:
    """The kind of a user's typed message and how sure that reading is."""
    if _COMMAND_NAME.search(text):
        return "shortcut", 0.9
    if _PREFERENCE_STRONG.search(text):
        return "preference", 0.9
    if _PREFERENCE_WEAK.search(text):
        return "preference", 0.75
    return "task", 1.0


def access_key(tool: str, tool_input: Mapping[str, Any]) -> str:
    """The prefetcher's name for what a tool call touched: a file, a search, a command, a tool."""
    key = FILE_TOOLS.get(tool)
    if key and isinstance(tool_input.get(key), str):
        return f"file:{tool_input[key]}"
    if tool in SEARCH_TOOLS and isinstance(tool_input.get("pattern"), str):
        return f"search:{tool_input['pattern']}"
    if tool == "Bash" and isinstance(tool_input.get("command"), str):
        command = " ".join(tool_input["command"].split())
        return f"cmd:{command[:200]}"
    return f"tool:{tool}"


def _tool_target(tool: str, tool_input: Mapping[str, Any]) -> dict[str, str]:
    target: dict[str, str] = {}
    for name in ("file_path", "notebook_path", "pattern", "command", "path", "url", "query"):
        value = tool_input.get(name)
        if isinstance(value, str):
            target["file_path" if name == "notebook_path" else name] = value
    return target


class _Parser:
    """State for one file: tool calls awaiting results, streamed messages, the last timestamp."""

    def __init__(self, path: Path, session: str | None, max_chars: int) -> None:
        self.path = path
        self.max_chars = max_chars
        agent = path.stem[len("agent-") :] if path.name.startswith("agent-") else None
        self.out = Transcript(path=path, session_id=session or "", agent_id=agent)
        self.forced_session = session
        self.tool_calls: dict[str, tuple[str, dict[str, Any]]] = {}
        self.messages: dict[str, dict[str, Any]] = {}  # API message id -> text parts and usage
        self.timestamps: dict[str, datetime] = {}
        self.summaries: list[tuple[int, dict[str, Any]]] = []
        self.last_time: datetime | None = None

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
    ) -> None:
        if not content.strip():
            return
        metadata = {"kind": kind, "source": "claude-code", **meta}
        self.out.items.append(
            MemoryItem(
                id=item_id,
                content=_truncate(content, self.max_chars),
                priority=priority or KIND_PRIORITY[kind],
                created_at=when,
                metadata=metadata,
            )
        )

    def record(self, line_no: int, rec: dict[str, Any]) -> None:
        kind = rec.get("type")
        if not isinstance(kind, str):
            self.bad(line_no, "record has no 'type'")
            return
        if kind == "summary":
            if isinstance(rec.get("summary"), str):
                self.summaries.append((line_no, rec))
            else:
                self.bad(line_no, "summary record without a 'summary' text")
            return
        if kind not in ("user", "assistant", "system"):
            self.out.skipped_types[kind] += 1
            return
        when = self.when(line_no, rec)
        if when is None:
            return
        if not self.out.session_id and isinstance(rec.get("sessionId"), str):
            self.out.session_id = rec["sessionId"]
        if isinstance(rec.get("agentId"), str) and self.out.agent_id is None:
            self.out.agent_id = rec["agentId"]
        raw_uid = rec.get("uuid")
        uid = raw_uid if isinstance(raw_uid, str) else f"{self.path.stem}:L{line_no}"
        if isinstance(raw_uid, str):
            self.timestamps[raw_uid] = when
        meta: dict[str, Any] = {
            "session": rec.get("sessionId") or self.out.session_id,
            "record": uid,
        }
        if rec.get("isSidechain"):
            meta["sidechain"] = True
        if self.out.agent_id:
            meta["agent"] = self.out.agent_id
        for src, dst in (("cwd", "cwd"), ("gitBranch", "git_branch")):
            if isinstance(rec.get(src), str) and rec[src]:
                meta[dst] = rec[src]
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
            self.bad(line_no, f"unreadable timestamp {raw!r}")
            return None
        self.last_time = when
        return when

    def file_time(self) -> datetime:
        return datetime.fromtimestamp(self.path.stat().st_mtime, timezone.utc)

    def system(
        self, uid: str, rec: Mapping[str, Any], when: datetime, meta: dict[str, Any]
    ) -> None:
        subtype = rec.get("subtype")
        text = rec.get("content") if isinstance(rec.get("content"), str) else ""
        if subtype == "api_error" or rec.get("level") == "error":
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
            failed = bool(rec.get("isApiErrorMessage"))
            self.add(item_id, "error" if failed else "fact", text, when, meta)
            return
        if rec.get("isCompactSummary") or text.startswith(_COMPACTION_PREFIX):
            self.add(item_id, "summary", text, when, {**meta, "compaction": True})
            return
        if rec.get("isMeta"):
            self.add(item_id, "fact", text, when, {**meta, "meta": True}, Priority.LOW)
            return
        item_kind, confidence = classify_user_text(text)
        extra: dict[str, Any] = {"confidence": confidence}
        if item_kind == "shortcut":
            name = _COMMAND_NAME.search(text)
            args = _COMMAND_ARGS.search(text)
            command = name.group(1) if name else ""
            extra["command"] = command
            text = f"{command} {args.group(1).strip() if args else ''}".strip()
        self.add(item_id, item_kind, text, when, {**meta, **extra})

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
            self.add(item_id, "thinking", block["thinking"], when, meta)
            self.stream_text(message, block["thinking"])
        elif btype == "tool_use" and isinstance(block.get("name"), str):
            self.tool_use(item_id, block, when, meta, message)
        elif btype == "tool_result":
            self.tool_result(item_id, block, when, meta)
        else:
            self.out.skipped_types[f"block:{btype}"] += 1

    def tool_use(
        self,
        item_id: str,
        block: Mapping[str, Any],
        when: datetime,
        meta: dict[str, Any],
        message: Mapping[str, Any],
    ) -> None:
        tool = block["name"]
        raw_input = block.get("input")
        tool_input: dict[str, Any] = dict(raw_input) if isinstance(raw_input, Mapping) else {}
        target = _tool_target(tool, tool_input)
        if isinstance(block.get("id"), str):
            self.tool_calls[block["id"]] = (tool, target)
        self.out.accesses.append(access_key(tool, tool_input))
        described = " ".join(f"{k}={v}" for k, v in target.items()) or json.dumps(
            tool_input, sort_keys=True, default=str
        )
        self.add(
            item_id,
            "tool_call",
            f"{tool} {described}",
            when,
            {**meta, "tool": tool, "tool_use_id": block.get("id") or "", **target},
        )
        self.stream_text(message, json.dumps(tool_input, default=str))

    def tool_result(
        self, item_id: str, block: Mapping[str, Any], when: datetime, meta: dict[str, Any]
    ) -> None:
        raw_id = block.get("tool_use_id")
        use_id = raw_id if isinstance(raw_id, str) else ""
        tool, target = self.tool_calls.get(use_id, ("unknown", {}))
        is_error = bool(block.get("is_error"))
        text = _block_text(block.get("content"))
        kind = "error" if is_error else "tool_result"
        priority = None if is_error or tool not in _REREADABLE else Priority.LOW
        head = f"{tool} {' '.join(target.values())}".strip()
        self.add(
            item_id,
            kind,
            f"{head}\n{text}" if text else head,
            when,
            {**meta, "tool": tool, "tool_use_id": use_id, "is_error": is_error, **target},
            priority,
        )

    def stream_text(self, message: Mapping[str, Any], text: str) -> None:
        msg_id = message.get("id")
        if isinstance(msg_id, str) and msg_id in self.messages:
            self.messages[msg_id]["parts"].append(text)

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
        for line_no, rec in self.summaries:
            leaf = rec.get("leafUuid")
            when = self.timestamps.get(leaf) if isinstance(leaf, str) else None
            when = when or self.last_time or self.file_time()
            self.add(
                f"cc:summary:{leaf or line_no}",
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
                )
            )
        if self.forced_session:
            for item in self.out.items:
                item.metadata["session"] = self.forced_session
        return self.out


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        yield from enumerate(handle, start=1)


def parse_transcript(
    path: str | os.PathLike[str], *, session: str | None = None, max_chars: int = 4000
) -> Transcript:
    """Parse one transcript file; bad lines are reported in ``malformed``, never raised.

    ``session`` overrides the session id the items are filed under (by default the transcript's
    own ``sessionId``, which sub-agent files share with their parent). Item contents longer than
    ``max_chars`` are cut, saying how much was left out.
    """
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"no such transcript file: {file}")
    parser = _Parser(file, session, max_chars)
    for line_no, raw in _lines(file):
        if not raw.strip():
            continue
        parser.out.records += 1
        try:
            rec = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            parser.bad(line_no, "not UTF-8")
            continue
        except json.JSONDecodeError as exc:
            parser.bad(line_no, f"not JSON ({exc.msg})")
            continue
        if not isinstance(rec, dict):
            parser.bad(line_no, f"a JSON {type(rec).__name__}, not an object")
            continue
        parser.record(line_no, rec)
    return parser.finish()


def parse_transcripts(
    paths: Iterable[str | os.PathLike[str]], *, session: str | None = None, max_chars: int = 4000
) -> list[Transcript]:
    """Parse several transcript files (see :func:`parse_transcript`)."""
    return [parse_transcript(p, session=session, max_chars=max_chars) for p in paths]


def group_by_session(transcripts: Iterable[Transcript]) -> dict[str, list[Transcript]]:
    """Transcripts under their session id: a session's sub-agent files join their parent."""
    sessions: dict[str, list[Transcript]] = {}
    for transcript in transcripts:
        sessions.setdefault(transcript.session_id, []).append(transcript)
    return sessions


__all__ = [
    "KIND_PRIORITY",
    "MalformedLine",
    "TokenSample",
    "Transcript",
    "access_key",
    "classify_user_text",
    "default_projects_dir",
    "find_transcripts",
    "group_by_session",
    "is_transcript_name",
    "parse_transcript",
    "parse_transcripts",
    "project_dir_name",
]
