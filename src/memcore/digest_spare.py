"""Spare lines: what a digest says only when every other line has had its chance and room is
left -- the agent's plain prose, and what its tool records say that the main lines leave out
(every name an edit changed, every line it added and the code it was made next to, each
command, the names each read file defines), a few to a line, as statements. Built only when a
digest first has room for them (see :mod:`memcore.digest`).
"""

from __future__ import annotations

from collections.abc import Sequence

from memcore.claude_code.background import is_task_output
from memcore.claude_code.commands import normalize_command, one_line
from memcore.claude_code.tools import EDIT_TOOLS, quoted_list
from memcore.digest_density import chunks, exact_names
from memcore.digest_prose import (
    SENTENCE_WORDS,
    SPARE,
    Candidate,
    count_identifiers,
    cut_words,
    is_agent,
    line_identifiers,
)
from memcore.digest_prose import spare_lines as prose_spare_lines
from memcore.digest_undone import undone_edits
from memcore.digest_work import (
    edit_added,
    is_failed_edit,
    is_plan_draft,
    said_added,
    session_root,
    shown_path,
    strs,
)
from memcore.model import MemoryItem


def spare_lines(
    items: Sequence[MemoryItem], root: str | None = None, *, thinking: bool = False
) -> list[Candidate]:
    """Lines said only when every other line has had its chance and room is left (built only
    then): the agent's plain prose (:func:`memcore.digest_prose.spare_lines`), and what its tool
    records say that the main lines leave out -- every name an edit changed, every line it added
    and the code it was made next to, each command, the names each read file defines -- a few to
    a line, as statements. With ``thinking``, instead the plain prose of the agent's thinking
    alone: the last lines to fill room (the plain prose of a long session's thinking took more
    time than the rest of its spare lines, and is worth the least). Files are named relative to
    ``root`` (by default the folder the first of ``items`` was made in)."""
    if thinking:
        return prose_spare_lines(items, thinking=True)
    out = prose_spare_lines(items, thinking=False)
    n = max(1, len(items))
    root = session_root(items) if root is None else root
    inside = _enclosing_by_call(items)
    # an edit that failed changed nothing, nor did edits that undid each other: their calls'
    # words say no change
    failed = _failed_edits(items) | undone_edits(items)
    # a command whose result came is said by its own line ("`x` ran once and succeeded"): its
    # call's words ("Ran `x` (...)") would say it again
    ended = _ended_commands(items)
    for seq, item in enumerate(items):
        meta = item.metadata
        key = (str(meta.get("kind")), str(meta.get("tool")))
        if key[0] == "tool_call" and failed and str(meta.get("tool_use_id")) in failed:
            continue
        if key == ("tool_call", "Bash") and str(meta.get("tool_use_id")) in ended:
            continue
        if key in _RECORDS and is_agent(item):
            where = inside.get(str(meta.get("tool_use_id"))) if key[0] == "tool_call" else None
            out.extend(_record_lines(item, _RECORDS[key], seq, seq / n, root, where))
    return out


def _failed_edits(items: Sequence[MemoryItem]) -> set[str]:
    """The call ids of the edits whose result was a failure (see ``failed_edit``)."""
    return {
        str(item.metadata.get("tool_use_id")) for item in items if is_failed_edit(item.metadata)
    }


def _ended_commands(items: Sequence[MemoryItem]) -> set[str]:
    """The call ids of the commands whose result the session saw (failed or not, or started
    in the background: each is said by a line of its own, see ``digest_commands``)."""
    return {
        str(item.metadata.get("tool_use_id"))
        for item in items
        if item.metadata.get("kind") in ("tool_result", "error")
        and isinstance(item.metadata.get("command"), str)
    }


def _enclosing_by_call(items: Sequence[MemoryItem]) -> dict[str, str]:
    """The definition each edit changed (its result's ``enclosing``), by the edit's call id:
    every line told of an edit then says where in the file it was, as its main line does."""
    found: dict[str, str] = {}
    for item in items:
        meta = item.metadata
        inside = meta.get("enclosing")
        if isinstance(inside, str) and inside and meta.get("kind") == "tool_result":
            found[str(meta.get("tool_use_id"))] = inside
    return found


#: Tool records that spare lines are made of, by kind and tool, with the section they go in.
_RECORDS = {
    **{("tool_call", tool): "files" for tool in EDIT_TOOLS},
    ("tool_call", "Bash"): "commands",
    ("tool_result", "Read"): "files",
}


#: How a command's call reads (``claude_code.tools.describe_call``): "Run `pytest -q` (...)".
_RUN_CALL = "Run `"


def _record_lines(
    item: MemoryItem,
    section: str,
    seq: int,
    recency: float,
    root: str | None,
    inside: str | None = None,
) -> list[Candidate]:
    """The record's spare lines; an edit's are of ``inside`` (the definition it changed) in its
    file, when that is known."""
    meta = item.metadata
    path = shown_path(meta, root)
    if is_plan_draft(path) or is_task_output(path):  # (Claude Code's files, not the project's)
        return []
    shown = f"`{path}`"
    where = f"`{inside}` in {shown}" if inside else shown
    names, added = strs(meta.get("names")), edit_added(meta)
    defines, context = strs(meta.get("defines")), strs(meta.get("context_lines"))
    said: list[str] = []
    # (a few to a line, each line naming at most MOST_NAMES things: see digest_density)
    known, in_file = exact_names(where), exact_names(shown)
    for chunk in chunks(names, known, each=4):
        said.append(f"An edit of {where} changed {quoted_list(chunk)}.")
    for chunk in chunks(added, known, each=2, say=said_added):
        said.append(f"An edit of {where} added {said_added(chunk)}.")
    for chunk in chunks(context, known, each=2, say=quoted_list):
        said.append(f"An edit of {where} was made next to {quoted_list(chunk)}.")
    for chunk in chunks(defines, in_file, each=5):
        said.append(f"{shown} defines {quoted_list(chunk)}.")
    text = item.content.strip()
    if not said and text and "\n" not in text:  # its own statement (a command; never a dump)
        if text.startswith(_RUN_CALL):  # (said as done: "Run `x`" reads as an instruction)
            text = "Ran " + text[len(_RUN_CALL) - 1 :]
        said.append(f"{cut_words(text, SENTENCE_WORDS).rstrip('.')}.")
    command = meta.get("command")
    out: list[Candidate] = []
    for index, line in enumerate(said):
        score = SPARE + recency + min(count_identifiers(line), 4) * 0.1
        named: tuple[str, ...] | None = None
        if isinstance(command, str):  # named by its core, as the command's own line names it
            shown_command = one_line(command, 300)
            core = normalize_command(command)
            named = tuple(core if n == shown_command else n for n in line_identifiers(line))
        at = seq + 0.9 + index / 1000
        about = path if section == "files" else None
        out.append(Candidate(section, at, score, f"- {line}", named, spare=True, about=about))
    return out


__all__ = ["spare_lines"]
