"""``memcore mcp``: the project's memory as MCP tools for Claude Code (or any MCP client).

The server speaks MCP over stdio through the official ``mcp`` package (the ``[mcp]`` extra). Its
tools act on one project's memory (the project is ``$CLAUDE_PROJECT_DIR``, which Claude Code
sets for the servers it starts, else the working folder, or the nearest folder above it with
memory): the notes remembered through the tool, and every Claude Code session of the project
that the hooks saved. Another project's memory is never read, recalled or forgotten, not even
that of a folder whose notes share this one's session (``/x/a-b`` and ``/x/a/b``: see
``memcore.claude_code.project``): a note is this project's when it was stored with its folder.
:class:`MemoryService` holds the logic, so it is tested without a transport. What memcore
raises on purpose reaches the client as the SDK's ``ToolError`` with memcore's message
(:mod:`memcore.claude_code.mcp_tools`).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
from collections.abc import Iterable
from typing import Any, Literal, get_args

from memcore.claude_code.forget import forget_memory
from memcore.claude_code.mcp_answers import (
    MAX_SESSIONS_SHOWN,
    SESSIONS_SHOWN,
    Recalled,
    format_hits,
    minute,
    sessions_text,
)
from memcore.claude_code.mcp_tools import concise_argument_errors, tool
from memcore.claude_code.next_actions import action_line, next_actions
from memcore.claude_code.project import (
    NOTES_PREFIX,
    SessionRecord,
    is_note_of,
    known_project,
    notes_session,
    registry_session,
)
from memcore.claude_code.project_recall import ProjectRecall
from memcore.claude_code.recall_rank import (
    REMEMBERED_WEIGHT,
    question_terms,
    unmatched_words,
)
from memcore.claude_code.session_list import session_summary
from memcore.claude_code.session_start import entries_of, project_records
from memcore.claude_code.stored_values import item_of, items_of
from memcore.claude_code.turn_answers import turn_answer
from memcore.claude_code.worktrees import project_folder
from memcore.errors import MemcoreError, NotFoundError, ValidationError
from memcore.model import MemoryItem, Priority
from memcore.stores.base import session_by_prefix

Kind = Literal["fact", "preference", "shortcut", "task", "decision", "todo"]
PriorityName = Literal["critical", "high", "normal", "low"]
KINDS: tuple[str, ...] = get_args(Kind)
#: The sizes ``digest`` accepts, in tokens: below the least, a digest says nothing (its
#: headings do not fit); above the most, it is no handover note but most of a session, more
#: than a tool result should put into the context.
MIN_DIGEST_BUDGET = 100
MAX_DIGEST_BUDGET = 10_000
#: The most hits one ``recall`` gives: more would fill the model's context with weak matches.
MAX_RECALL_K = 50
#: The longest note ``remember`` keeps, in characters: a note is one statement (the importer
#: cuts a transcript's items at this length too, ``--max-chars``). A longer one is refused, not
#: cut: the model says it shorter, or as several notes, and loses nothing unawares (a
#: 3,000,000-character note was stored, to be read whole by every recall that hit it).
MAX_NOTE_CHARS = 4000

INSTRUCTIONS = (
    "memcore is this project's long-term memory across Claude Code sessions. Call `recall` "
    "before re-reading files or re-deriving facts an earlier session may already have found; "
    "call `remember` for durable facts, decisions, user preferences and open tasks worth "
    "keeping for later sessions; `digest` gives a handover note of a past session."
)


class MemoryService:
    """The MCP tools' logic over one store and one project.

    The project is the folder given, or the nearest folder above it that the store holds
    memory of (``known_project``, as session-start finds it): a server started in
    ``packages/codegen`` of a project serves that project's memory.
    """

    def __init__(self, store: Any, project: str) -> None:
        from memcore.sync import DistributedMemoryManager

        if not os.path.isabs(project):
            raise ValidationError(f"the project must be an absolute path (got {project!r})")
        self.store = store
        self.folder = os.path.normpath(project)
        placed = project_folder(self.folder)  # (a linked worktree's: its repository's)
        self.in_worktree = placed != self.folder
        self._serve(placed)
        self.manager = DistributedMemoryManager(
            storage_backend=store, replica_id=f"mcp-{os.getpid()}"
        )
        self._recall = ProjectRecall()
        # (session, key) of values that are no memory item, warned of once (see ``_item``)
        self._refused: set[tuple[str, str]] = set()

    def _serve(self, project: str) -> None:
        self.project = project
        self.notes = notes_session(project)
        self.registry = registry_session(project)

    async def _follow(self) -> None:
        """Find the project again: memory of a folder above may have been saved since the
        last call."""
        project = await known_project(self.store, self.folder)
        if project != self.project:
            self._serve(project)

    async def close(self) -> None:
        await self.manager.close()

    async def _records(self) -> list[SessionRecord]:
        await self._follow()
        if self.in_worktree:
            # in a linked worktree: with the sessions filed under its own folder before
            # worktrees were one project, as session-start gives them
            return await project_records(self.store, self.folder)
        if await self.store.version(self.registry) == 0:
            return []
        await self.manager.sync_session_memory(self.registry)
        items = items_of(self.manager, self.registry, by="memcore mcp", warned=self._refused)
        return entries_of(list(items.values()), self.project)

    async def _project_sessions(self) -> list[str]:
        """The project's notes session and saved sessions. (The records first: finding them
        may find the project again, and its notes session with it.)"""
        records = await self._records()
        return [self.notes, *(r.session_id for r in records)]

    def _check_session(self, session: str | None, sessions: list[str]) -> list[str]:
        if session is None or session == "":
            return sessions
        if session in sessions:
            return [session]
        found = session_by_prefix(session, sessions)  # (the start of an id will do)
        if found is None:
            raise NotFoundError(f"session {session!r} is not part of this project's memory")
        return [found]

    async def remember(
        self, content: str, kind: str = "fact", priority: str = "normal", session: str | None = None
    ) -> str:
        await self._follow()
        if not isinstance(content, str) or not content.strip():
            raise ValidationError("content must be non-empty text")
        if len(content.strip()) > MAX_NOTE_CHARS:
            raise ValidationError(
                f"content is {len(content.strip()):,} characters, more than a note holds "
                f"({MAX_NOTE_CHARS:,}): nothing was saved; say it in fewer words, or as "
                "several notes"
            )
        if kind not in KINDS:
            raise ValidationError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        level = Priority.parse(priority)
        target = (
            self._check_session(session, await self._project_sessions())[0]
            if session
            else self.notes
        )
        await self.manager.sync_session_memory(target)
        key = self._note_key(target, content.strip())
        item = MemoryItem(
            key,
            content.strip(),
            priority=level,
            metadata={"kind": kind, "source": "mcp", "project": self.project},
        )
        self.manager.set(target, key, item)
        await self.manager.sync_session_memory(target)
        return key

    def _note_key(self, target: str, text: str) -> str:
        """A note's id: the hash of its text (the same note remembered again is one), unless
        another folder's note sharing the notes session holds it: then the hash of the project
        and the text, so that this one does not write over that one."""
        key = f"note:{_short_hash(text)}"
        held = self.manager.get(target, key)
        if held is None or self._mine(target, key, held):
            return key
        return f"note:{_short_hash(self.project + chr(0) + text)}"

    def _mine(self, session: str, key: str, value: Any) -> bool:
        """Whether ``value``, held under ``key`` in ``session`` (one of ``_project_sessions``),
        is a memory of this project (``_own``)."""
        return self._own(session, key, value) is not None

    def _own(self, session: str, key: str, value: Any) -> MemoryItem | None:
        """``value`` as a memory of this project, or None: every item of its saved sessions
        is one; of the notes, those stored with its folder. A value that is no memory item
        (another program's, through the plain store API) is none, warned of once, as
        ``recall`` leaves it out (``ProjectRecall``): it made ``digest`` and ``forget`` fail."""
        item = item_of(value, session, key, by="memcore mcp", warned=self._refused)
        if item is None or (session == self.notes and not is_note_of(item, self.project)):
            return None
        return item

    async def recall(self, query: str, k: int = 8, session: str | None = None) -> list[Recalled]:
        """The ``k`` best hits. A note remembered through ``remember`` weighs more than a
        transcript line matching as well (``REMEMBERED_WEIGHT``), and the same command
        run again (its output plumbing aside: ``| tail -20``, ``2>&1``) is one hit."""
        return (await self.recall_unmatched(query, k, session))[0]

    async def recall_unmatched(
        self, query: str, k: int = 8, session: str | None = None
    ) -> tuple[list[Recalled], list[str]]:
        """``recall``'s hits, and the words of ``query`` (``question_words``) that no item
        searched has in any of their forms: hits that match the other words only are not
        about those, which a model should know before it takes them for an answer ("what is
        the wingman feature", where nothing says "wingman", found features in general)."""
        if not isinstance(query, str):
            raise ValidationError("query must be text")
        if not isinstance(k, int) or isinstance(k, bool) or not 0 < k <= MAX_RECALL_K:
            raise ValidationError(f"k must be a whole number from 1 to {MAX_RECALL_K} (got {k!r})")
        sessions = self._check_session(session, await self._project_sessions())
        for name in sessions:
            await self.manager.sync_session_memory(name)
        # the whole project's index is kept between calls; one session's is made for the call
        # (its scores are that session's own, not the project's)
        recall = self._recall if session is None or session == "" else ProjectRecall()
        recall.refresh(self.manager, sessions, {self.notes: self.project})
        hits = recall.ranked(question_terms(query), k)
        turns: dict[str, list[MemoryItem]] = {}  # (a session's items, read once for its hits)
        found = [
            Recalled(
                name,
                item.id,
                round(score, 4),
                str(item.metadata.get("kind", "")),
                item.content,
                tuple(next_actions(item)),
                minute(item.created_at),
                self._fix_of(name, item),
                self._answer_to(name, item, turns),
            )
            for name, item, score in hits
        ]
        return found, unmatched_words(query, recall.finds) if found else []

    def _fix_of(self, session: str, item: MemoryItem) -> str:
        """The first line of the change that fixed ``item``, a failure (``fixed_by``), if any."""
        fixes = item.metadata.get("fixed_by")
        if not isinstance(fixes, list) or not fixes or not isinstance(fixes[0], str):
            return ""
        try:
            fix = self.manager.get(session, fixes[0])
            return "" if fix is None else action_line(MemoryItem.coerce(fix).content)
        except MemcoreError:  # (an id no key can be, a value no item is: nothing to show)
            return ""

    def _answer_to(self, session: str, item: MemoryItem, read: dict[str, list[MemoryItem]]) -> str:
        """Of a user's request, the agent's last conclusion of its turn (``turn_answer``);
        ``read``: the sessions' items read so far in this recall."""
        if item.metadata.get("kind") != "task" or session == self.notes:
            return ""
        if session not in read:
            read[session] = _items(self.manager.state(session).values())
        return turn_answer(read[session], item)

    async def forget(self, item_id: str, session: str | None = None) -> str:
        if not isinstance(item_id, str) or not item_id.strip():
            raise ValidationError("id must be the id `recall` or `remember` gave")
        sessions = self._check_session(session, await self._project_sessions())
        for name in sessions:
            await self.manager.sync_session_memory(name)
            held = self.manager.get(name, item_id)
            if held is None or not self._mine(name, item_id, held):
                continue
            if name == self.notes:
                self.manager.delete(name, item_id)
                await self.manager.sync_session_memory(name)
            else:  # a saved session's: its digests are made again without it
                registries = [self.registry]
                if self.in_worktree:  # (its sessions filed under the worktree's own folder)
                    registries.append(registry_session(self.folder))
                await forget_memory(self.manager, name, item_id, registries)
            return name
        raise NotFoundError(f"no memory {item_id!r} in this project")

    async def digest(self, session: str | None = None, budget: int = 1500) -> str:
        from memcore.digest import session_digest

        if (
            not isinstance(budget, int)
            or isinstance(budget, bool)
            or not MIN_DIGEST_BUDGET <= budget <= MAX_DIGEST_BUDGET
        ):
            raise ValidationError(
                f"budget must be a number of tokens from {MIN_DIGEST_BUDGET} to "
                f"{MAX_DIGEST_BUDGET} (got {budget!r})"
            )
        records = await self._records()
        if session is None or (isinstance(session, str) and not session.strip()):  # the latest
            if not records:
                raise NotFoundError("no Claude Code session of this project has been saved yet")
            session = records[0].session_id
        session = self._check_session(session, [self.notes, *(r.session_id for r in records)])[0]
        await self.manager.sync_session_memory(session)
        owned = (self._own(session, k, v) for k, v in self.manager.state(session).items())
        items = [item for item in owned if item is not None]
        # a saved session its project's list names, of which the store holds nothing
        if not items and session != self.notes:
            raise NotFoundError(
                f"session {session!r} holds no stored item: its next save, or `memcore "
                "import-claude-code --reread` of its transcript, stores it again"
            )
        return session_digest(items, budget).text

    async def sessions(self) -> list[dict[str, Any]]:
        return [
            {
                "session": record.session_id,
                "updated_at": record.updated_at,
                "last_activity": record.last_activity,
                "items": record.items,
                "branch": record.git_branch,
                "summary": session_summary(record),
            }
            for record in await self._records()
        ]


def _items(values: Iterable[Any]) -> list[MemoryItem]:
    """The memory items of ``values``; a value that is none (another program's, through the
    plain store API: ``ProjectRecall`` warns of it) is left out, not the recall's end."""
    items = []
    for value in values:
        try:
            items.append(MemoryItem.coerce(value))
        except ValidationError:
            continue
    return items


def _short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _server_class() -> Any:
    """``MCPServer`` on mcp 2.x; on mcp 1.x the same class was called ``FastMCP``."""
    try:
        return importlib.import_module("mcp.server.mcpserver").MCPServer
    except ImportError:
        return importlib.import_module("mcp.server.fastmcp").FastMCP


def build_server(service: MemoryService) -> Any:
    """An MCP server (``mcp``'s ``MCPServer``, or ``FastMCP`` on mcp 1.x) with memcore's tools,
    telling clients memcore's version."""
    from memcore import __version__

    cls = _server_class()
    options: dict[str, Any] = {"name": "memcore", "instructions": INSTRUCTIONS}
    parameters = inspect.signature(cls).parameters
    if "version" in parameters:
        options["version"] = __version__
    if "log_level" in parameters:  # a tool's error goes back to the model: no INFO block each
        options["log_level"] = "WARNING"
    server = cls(**options)
    lowlevel: Any = getattr(server, "_mcp_server", None)  # mcp 1.x: FastMCP takes no version,
    if "version" not in parameters and hasattr(lowlevel, "version"):  # and its clients would
        lowlevel.version = __version__  # see the SDK's own version as the server's
    concise_argument_errors(server)

    @tool(
        server,
        name="remember",
        description=(
            "Save one durable piece of knowledge in this project's memory, for this and later "
            "sessions: a fact about the code, a decision and its reason, a user preference, a "
            "shortcut, or an open task. Write it as one self-contained statement (name files, "
            "functions and commands exactly). kind: fact, preference, shortcut, task, decision "
            "or todo. priority: critical, high, normal or low. Preferences, decisions, tasks and "
            "todos, and critical or high notes, are told to every later session of the project "
            "when it starts; a plain fact is found by recall. content: at most "
            f"{MAX_NOTE_CHARS:,} characters (a longer note is refused, nothing saved: split it). "
            "Returns the memory's id."
        ),
    )
    async def remember(
        content: str,
        kind: Kind = "fact",
        priority: PriorityName = "normal",
        session: str | None = None,
    ) -> str:
        key = await service.remember(content, kind, priority, session)
        return f"remembered as {key}"

    @tool(
        server,
        name="recall",
        description=(
            "Search this project's memory (notes and every saved Claude Code session of the "
            "project) by keywords, best matches first (BM25). Ask in your own words; exact "
            "names match best (file names, function names, error text, tool names), words like "
            "'how' or 'the' are left out, and a word's forms find each other ('tests' finds "
            "'test', 'failing' finds 'fail'). Notes saved with "
            "`remember` rank above transcript lines that match as well; a command run several "
            "times is one hit; a long memory is shown in part, where your words are. Code "
            "names are found by their words too (`parse_session` by 'parse session'); the "
            "agent's words are shown with the tool calls they led to ('-> then: Edit ...'). "
            "Words of your query that nothing in memory has are named after the hits: those "
            "hits match your other words only. k: how many hits (default 8, at most 50). "
            "session: limit to one session id from `sessions`."
        ),
    )
    async def recall(query: str, k: int = 8, session: str | None = None) -> str:
        hits, unmatched = await service.recall_unmatched(query, k, session)
        return format_hits(hits, query, unmatched)

    @tool(
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

    @tool(
        server,
        name="digest",
        description=(
            "A handover note of one session of this project: what was asked, decided and done, "
            "files and functions touched, commands and their outcomes, errors and fixes, what is "
            "open. session: a session id from `sessions` (default: the latest saved one). "
            f"budget: the note's size in tokens, {MIN_DIGEST_BUDGET} to {MAX_DIGEST_BUDGET} "
            "(default 1500)."
        ),
    )
    async def digest(session: str | None = None, budget: int = 1500) -> str:
        return await service.digest(session, budget)

    @tool(
        server,
        name="sessions",
        description=(
            "List this project's saved Claude Code sessions, newest first, with their time, "
            f"branch, size and first line of their digest. limit: how many (default "
            f"{SESSIONS_SHOWN}, at most {MAX_SESSIONS_SHOWN}); older ones are counted."
        ),
    )
    async def sessions(limit: int = SESSIONS_SHOWN) -> str:
        return sessions_text(await service.sessions(), limit)

    return server


async def serve(store: Any, project: str) -> None:
    """Serve the tools over stdio until the client closes the connection."""
    from memcore.claude_code.mcp_stdio import run_stdio  # (needs anyio, which mcp brings)

    service = MemoryService(store, project)
    try:
        server = build_server(service)
        await run_stdio(server)  # (a line the SDK cannot read is answered, not dropped)
    finally:
        await service.close()


def mcp_available() -> bool:
    try:
        import mcp  # noqa: F401
    except ImportError:
        return False
    return True


def mcp_installed() -> bool:
    """Whether the ``mcp`` package is there, without importing it (the installer asks: an
    import would bind the package's defaults, ``sys.stderr`` among them, to this process's
    streams of the moment)."""
    import importlib.util

    try:
        return importlib.util.find_spec("mcp") is not None
    except (ImportError, ValueError):  # (ValueError: a module set to None in sys.modules)
        return False


__all__ = [
    "INSTRUCTIONS",
    "KINDS",
    "MAX_DIGEST_BUDGET",
    "MAX_NOTE_CHARS",
    "MAX_SESSIONS_SHOWN",
    "MIN_DIGEST_BUDGET",
    "NOTES_PREFIX",
    "REMEMBERED_WEIGHT",
    "SESSIONS_SHOWN",
    "Kind",
    "MemoryService",
    "PriorityName",
    "Recalled",
    "build_server",
    "mcp_available",
    "mcp_installed",
    "serve",
    "sessions_text",
]
