"""What the level pipeline and overflow handling need to know about a session's items: which
come from a coding agent, which are the agent's own scaffolding, and their order in the session.

Agent items are the ones :mod:`memcore.claude_code` imports (``metadata["source"] ==
"claude-code"``, or a tool call or result: a ``kind`` and a ``tool``); their account is
:func:`memcore.session_digest`, not the first sentences of their text. Scaffolding is Claude
Code's machinery written into the conversation (task notifications, system reminders,
"[Request interrupted by user]", local-command caveats) and the prompts a slash command expands
into: it is nothing anyone asked or learned, so it never reaches a summary. Today's importer does
not store the machinery, and stores an expanded prompt (Claude Code's ``isMeta`` user record) as
a low fact marked ``meta`` (the digest already says nothing of it); items stored by older
importers or by hand are recognized by ``metadata["kind"] == "scaffolding"`` or by their text.
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

SCAFFOLDING_KIND = "scaffolding"
#: How an expanded slash-command prompt is listed among the scaffolding.
COMMAND_PROMPT = "command-prompt"
#: How a program's output opens ("unknown command ...", "Error: ...", a traceback,
#: ``file.go:12:5: ...``, ``--- FAIL``), or a terminal's, with its prompt: ``user@host:~/x$ ``
#: (after a virtualenv's ``(name) ``), zsh's ``user@host dir % ``, ``$ cmd``, PowerShell's
#: ``PS C:\x> ``.
_PASTED_OUTPUT = lazy_compile(
    r"\s*(?:(?i:(?:error|fatal|panic|exception)(?:\[\w+\])?:|traceback \(most recent|npm err!|"
    r"unknown (?:command|flag|option)\b)|[\w./-]+\.\w{1,5}:\d+(?::\d+)?: |--- FAIL"
    r"|(?:\([\w.-]+\) )?[\w.-]+@[\w.-]+(?::\S*?| \S+)? ?[$#%] |\$ [\w./~-]|PS [A-Za-z]:\\[^>\n]*> )"
)
_AGENT_KINDS = frozenset({"task", "tool_call", "tool_result", "error", "thinking", "fact"})


def is_agent_item(item: MemoryItem) -> bool:
    """Whether ``item`` is a record of a coding-agent session."""
    meta = item.metadata
    kind = meta.get("kind")  # any JSON value in users' metadata: a list is not hashable
    return meta.get("source") == "claude-code" or (
        isinstance(kind, str) and kind in _AGENT_KINDS and "tool" in meta
    )


def is_agent_session(items: Sequence[MemoryItem]) -> bool:
    """Whether most of ``items`` are agent records (a session to digest, not notes to extract)."""
    return bool(items) and 2 * sum(1 for item in items if is_agent_item(item)) > len(items)


def is_pasted_output(text: str) -> bool:
    """Whether a user's message opens as a program's output does: pasted, not asked (a digest
    says so, and it is no habit of the user's when it comes twice)."""
    return _PASTED_OUTPUT.match(text) is not None


def is_command_prompt(item: MemoryItem) -> bool:
    """Whether ``item`` is the prompt a slash command expanded into (the 4,000 characters of
    "# Work Plan Execution Command ..."), which Claude Code writes as the user's message marked
    ``isMeta``: instructions a tool gave the agent, not what the session did. (Only a ``fact``:
    what the importer stores it as; the digest's requests, which ask ``is_scaffolding`` too,
    are other kinds, so no digest changes.)"""
    meta = item.metadata
    return (
        meta.get("meta") is True
        and meta.get("kind") == "fact"
        and meta.get("role") in (None, "user")
        and is_agent_item(item)
    )


def is_scaffolding(item: MemoryItem) -> bool:
    """Whether ``item`` is an agent's scaffolding rather than something said, done or learned."""
    if item.metadata.get("kind") == SCAFFOLDING_KIND:
        return True
    if not is_agent_item(item) or item.metadata.get("role") not in (None, "user"):
        return False
    if is_command_prompt(item):
        return True
    from memcore.claude_code.records import scaffolding_kind  # light; only for agent items

    return scaffolding_kind(item.content) is not None


#: The share of their words (Jaccard of the word sets) a request shares with the user's next
#: one for the next to restate it: sent again with more words, or with a typo fixed.
RESENT_OVERLAP = 0.6
#: What may come between a request and its restatement: the agent's thinking (it had begun,
#: then the user sent the request again) or Claude Code's scaffolding (an interruption).
_BEFORE_ANY_REPLY = frozenset({"thinking"})


def resent_requests(items: Sequence[MemoryItem]) -> frozenset[str]:
    """The ids of the user's requests that the next request restates before the agent said or
    did anything (only its thinking, or scaffolding, between; ``RESENT_OVERLAP`` of the
    words): one request sent twice, said by its last form, and no request made twice."""
    from memcore.transfer_items import near, word_set  # (grouping's own word comparison)

    out: set[str] = set()
    last: tuple[str, frozenset[str]] | None = None
    for item in items:
        meta = item.metadata
        kind = meta.get("kind")
        if kind == "task" and not meta.get("sidechain") and not is_scaffolding(item):
            words = word_set(item.content)
            if last is not None and near(words, last[1], RESENT_OVERLAP):
                out.add(last[0])
            last = (item.id, words)
        elif kind not in _BEFORE_ANY_REPLY and not is_scaffolding(item):
            last = None
    return frozenset(out)


def in_session_order(items: Sequence[MemoryItem]) -> list[MemoryItem]:
    """``items`` by creation time; items created at the same time keep their given order.

    Stores hand a session back in key order (for imported agent sessions, the order of record
    UUIDs, which is no order at all): summaries read in session order only after this.
    """
    return sorted(items, key=lambda item: item.created_at)


__all__ = [
    "COMMAND_PROMPT",
    "SCAFFOLDING_KIND",
    "in_session_order",
    "is_agent_item",
    "is_agent_session",
    "is_command_prompt",
    "is_pasted_output",
    "is_scaffolding",
    "resent_requests",
]
