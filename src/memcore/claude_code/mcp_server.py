"""``memcore mcp``: the project's memory as MCP tools for Claude Code (or any MCP client).

The server speaks MCP over stdio through the official ``mcp`` package (the ``[mcp]`` extra). Its
tools act on one project's memory (the project is ``$CLAUDE_PROJECT_DIR``, which Claude Code
sets for the servers it starts, else the working folder): the notes remembered through the tool,
and every Claude Code session of the project that the hooks saved. Another project's memory is
never read. :class:`MemoryService` holds the logic, so it is tested without a transport.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from memcore.claude_code.project import REGISTRY_PREFIX, SessionRecord, latest_first, project_key
from memcore.claude_code.project_recall import ProjectRecall
from memcore.errors import NotFoundError, ValidationError
from memcore.model import MemoryItem, Priority

NOTES_PREFIX = "notes."
KINDS = ("fact", "preference", "shortcut", "task", "decision", "todo")

INSTRUCTIONS = (
    "memcore is this project's long-term memory across Claude Code sessions. Call `recall` "
    "before re-reading files or re-deriving facts an earlier session may already have found; "
    "call `remember` for durable facts, decisions, user preferences and open tasks worth "
    "keeping for later sessions; `digest` gives a handover note of a past session."
)


def _notes_session(project: str) -> str:
    return NOTES_PREFIX + project_key(project)


@dataclass(frozen=True, slots=True)
class Recalled:
    """One recall hit: where it is, how well it matched, what it says."""

    session: str
    id: str
    score: float
    kind: str
    content: str


class MemoryService:
    """The MCP tools' logic over one store and one project."""

    def __init__(self, store: Any, project: str) -> None:
        from memcore.sync import DistributedMemoryManager

        if not os.path.isabs(project):
            raise ValidationError(f"the project must be an absolute path (got {project!r})")
        self.store = store
        self.project = os.path.normpath(project)
        self.notes = _notes_session(self.project)
        self.registry = REGISTRY_PREFIX + project_key(self.project)
        self.manager = DistributedMemoryManager(
            storage_backend=store, replica_id=f"mcp-{os.getpid()}"
        )
        self._recall = ProjectRecall()

    async def close(self) -> None:
        await self.manager.close()

    async def _records(self) -> list[SessionRecord]:
        if self.registry not in await self.store.list_sessions():
            return []
        await self.manager.sync_session_memory(self.registry)
        records = [
            SessionRecord.from_item(MemoryItem.coerce(value))
            for value in self.manager.state(self.registry).values()
        ]
        return latest_first(records)

    async def _project_sessions(self) -> list[str]:
        return [self.notes, *(r.session_id for r in await self._records())]

    def _check_session(self, session: str | None, sessions: list[str]) -> list[str]:
        if session is None or session == "":
            return sessions
        if session not in sessions:
            raise NotFoundError(f"session {session!r} is not part of this project's memory")
        return [session]

    async def remember(
        self, content: str, kind: str = "fact", priority: str = "normal", session: str | None = None
    ) -> str:
        if not isinstance(content, str) or not content.strip():
            raise ValidationError("content must be non-empty text")
        if kind not in KINDS:
            raise ValidationError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        level = Priority.parse(priority)
        target = (
            self._check_session(session, await self._project_sessions())[0]
            if session
            else self.notes
        )
        digest = hashlib.blake2b(content.strip().encode(), digest_size=6).hexdigest()
        key = f"note:{digest}"
        item = MemoryItem(
            key,
            content.strip(),
            priority=level,
            metadata={"kind": kind, "source": "mcp", "project": self.project},
        )
        self.manager.set(target, key, item)
        await self.manager.sync_session_memory(target)
        return key

    async def recall(self, query: str, k: int = 8, session: str | None = None) -> list[Recalled]:
        if not isinstance(query, str):
            raise ValidationError("query must be text")
        if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
            raise ValidationError(f"k must be a positive whole number (got {k!r})")
        sessions = self._check_session(session, await self._project_sessions())
        for name in sessions:
            await self.manager.sync_session_memory(name)
        # the whole project's index is kept between calls; one session's is made for the call
        # (its scores are that session's own, not the project's)
        recall = self._recall if session is None or session == "" else ProjectRecall()
        recall.refresh(self.manager, sessions)
        return [
            Recalled(
                name,
                item.id,
                round(float(score), 4),
                str(item.metadata.get("kind", "")),
                item.content,
            )
            for name, item, score in recall.search(query, k)
        ]

    async def forget(self, item_id: str, session: str | None = None) -> str:
        sessions = self._check_session(session, await self._project_sessions())
        for name in sessions:
            await self.manager.sync_session_memory(name)
            if self.manager.get(name, item_id) is not None:
                self.manager.delete(name, item_id)
                await self.manager.sync_session_memory(name)
                return name
        raise NotFoundError(f"no memory {item_id!r} in this project")

    async def digest(self, session: str | None = None, budget: int = 1500) -> str:
        from memcore.digest import session_digest

        records = await self._records()
        if session is None:
            if not records:
                raise NotFoundError("no Claude Code session of this project has been saved yet")
            session = records[0].session_id
        self._check_session(session, [self.notes, *(r.session_id for r in records)])
        await self.manager.sync_session_memory(session)
        items = [MemoryItem.coerce(v) for v in self.manager.state(session).values()]
        return session_digest(items, budget).text

    async def sessions(self) -> list[dict[str, Any]]:
        listed = []
        for record in await self._records():
            # the digest's first statement: what the session was about (its headings say
            # nothing: every digest starts "## What was asked")
            first = next((ln for ln in record.digest.splitlines() if ln.startswith("- ")), "")
            listed.append(
                {
                    "session": record.session_id,
                    "updated_at": record.updated_at,
                    "last_activity": record.last_activity,
                    "items": record.items,
                    "branch": record.git_branch,
                    "summary": first[2:].strip()[:200],
                }
            )
        return listed


def _format_hits(hits: list[Recalled]) -> str:
    if not hits:
        return "Nothing in this project's memory matches that query."
    lines = []
    for hit in hits:
        text = " ".join(hit.content.split())
        text = text if len(text) <= 600 else text[:597] + "..."
        lines.append(
            f"[{hit.score:.2f}] {hit.id} ({hit.kind or 'item'}, session {hit.session}): {text}"
        )
    return "\n".join(lines)


_F = TypeVar("_F", bound=Callable[..., Any])


def _tool(server: Any, *, name: str, description: str) -> Callable[[_F], _F]:
    """Register ``fn`` as an MCP tool (a typed stand-in for the SDK's untyped decorator)."""

    def register(fn: _F) -> _F:
        server.add_tool(fn, name=name, description=description)
        return fn

    return register


def _server_class() -> Any:
    """``MCPServer`` on mcp 2.x; on mcp 1.x the same class was called ``FastMCP``."""
    try:
        return importlib.import_module("mcp.server.mcpserver").MCPServer
    except ImportError:
        return importlib.import_module("mcp.server.fastmcp").FastMCP


def build_server(service: MemoryService) -> Any:
    """An MCP server (``mcp``'s ``MCPServer``, or ``FastMCP`` on mcp 1.x) with memcore's tools."""
    server = _server_class()(name="memcore", instructions=INSTRUCTIONS)

    @_tool(
        server,
        name="remember",
        description=(
            "Save one durable piece of knowledge in this project's memory, for this and later "
            "sessions: a fact about the code, a decision and its reason, a user preference, a "
            "shortcut, or an open task. Write it as one self-contained statement (name files, "
            "functions and commands exactly). kind: fact, preference, shortcut, task, decision "
            "or todo. priority: critical, high, normal or low. Returns the memory's id."
        ),
    )
    async def remember(
        content: str, kind: str = "fact", priority: str = "normal", session: str | None = None
    ) -> str:
        key = await service.remember(content, kind, priority, session)
        return f"remembered as {key}"

    @_tool(
        server,
        name="recall",
        description=(
            "Search this project's memory (notes and every saved Claude Code session of the "
            "project) by keywords, best matches first (BM25). Use the exact words you expect in "
            "the memory: file names, function names, error text, tool names. k: how many hits "
            "(default 8). session: limit to one session id from `sessions`."
        ),
    )
    async def recall(query: str, k: int = 8, session: str | None = None) -> str:
        return _format_hits(await service.recall(query, k, session))

    @_tool(
        server,
        name="forget",
        description=(
            "Delete one memory by the id `recall` or `remember` gave (for wrong or outdated "
            "knowledge). session: where it is, if known."
        ),
    )
    async def forget(id: str, session: str | None = None) -> str:
        where = await service.forget(id, session)
        return f"forgot {id} (session {where})"

    @_tool(
        server,
        name="digest",
        description=(
            "A handover note of one session of this project: what was asked, decided and done, "
            "files and functions touched, commands and their outcomes, errors and fixes, what is "
            "open. session: a session id from `sessions` (default: the latest saved one). "
            "budget: the note's size in tokens (default 1500)."
        ),
    )
    async def digest(session: str | None = None, budget: int = 1500) -> str:
        return await service.digest(session, budget)

    @_tool(
        server,
        name="sessions",
        description=(
            "List this project's saved Claude Code sessions, newest first, with their time, "
            "branch, size and first line of their digest."
        ),
    )
    async def sessions() -> str:
        listed = await service.sessions()
        if not listed:
            return "No session of this project has been saved yet."
        return "\n".join(
            f"{s['session']} ({s['last_activity'] or s['updated_at']}, {s['items']} items"
            + (f", branch {s['branch']}" if s["branch"] else "")
            + f"): {s['summary']}"
            for s in listed
        )

    return server


async def serve(store: Any, project: str) -> None:
    """Serve the tools over stdio until the client closes the connection."""
    service = MemoryService(store, project)
    try:
        server = build_server(service)
        await server.run_stdio_async()
    finally:
        await service.close()


def mcp_available() -> bool:
    try:
        import mcp  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["INSTRUCTIONS", "MemoryService", "Recalled", "build_server", "mcp_available", "serve"]
