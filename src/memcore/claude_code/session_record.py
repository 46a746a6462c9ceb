"""One session's entry in its project's registry, made from all the session's items.

The entry is what ``session-start`` brings back of an earlier session (see
``memcore.claude_code.project``): its digests at the stored sizes, what knowledge transfer finds
in it (preferences, shortcuts, requests made more than once), the files it touched. The saving
hooks make it after a save; ``memcore import-claude-code`` makes it for every session it imports,
so that the sessions before memcore was installed are remembered as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from pathlib import Path

from memcore.claude_code.project import (
    BRIEF_DIGEST_TOKENS,
    STORED_DIGEST_TOKENS,
    SessionRecord,
    digest_rules,
    now_text,
)
from memcore.model import MemoryItem, utc_now

#: A repeated request is cut to this many characters before its count (a request the user pasted
#: a log into would otherwise push "(asked 2x)" off the line).
REPEATED_REQUEST_CHARS = 160


def a_copy_of_less(
    entry: SessionRecord | None, main_file: Path | str, item_ids: Iterable[str], held: Set[str]
) -> bool:
    """Whether a save or an import reads a copy of the session at another path (a checkpoint's
    ``full.jsonl``) that holds nothing the store does not: its main file is none the session's
    ``entry`` read, and each of its items (``item_ids``) is ``held`` already. Its last items
    know less than the stored ones (the tool calls that followed an agent's words, a fix after
    an error), so they replace none: a copy adds what it holds and takes nothing away."""
    if entry is None or not entry.read_to or str(main_file) in entry.read_to:
        return False
    return all(item_id in held for item_id in item_ids)


def fresh_record(
    session_id: str,
    cwd: str,
    items: Sequence[MemoryItem],
    *,
    files: Mapping[str, Mapping[str, int]],
    read_to: Mapping[str, list[int]],
    git_branch: str,
) -> SessionRecord:
    """The entry of a session whose items (all of them) are ``items``."""
    from memcore.claude_code.commands import one_line
    from memcore.claude_code.records import is_session_control
    from memcore.digest import session_digests
    from memcore.session_items import is_pasted_output, resent_requests
    from memcore.transfer import group_tasks

    kinds: dict[str, list[MemoryItem]] = {}
    for item in items:
        kinds.setdefault(str(item.metadata.get("kind", "")), []).append(item)
    digest, *briefs = session_digests(items, (STORED_DIGEST_TOKENS, *BRIEF_DIGEST_TOKENS))
    resent = resent_requests(items)  # (a request sent again at once is asked once)
    requests = [
        request_part(i)
        for i in kinds.get("task", [])
        if not is_pasted_output(i.content) and i.id not in resent
    ]
    return SessionRecord(
        session_id=session_id,
        cwd=cwd,
        digest=digest.text,
        briefs=[brief.text for brief in briefs],
        updated_at=now_text(),
        items=len(items),
        digest_items=len(items),
        preferences=distinct(i.content for i in kinds.get("preference", [])),
        shortcuts=distinct(
            i.content for i in kinds.get("shortcut", []) if not is_session_control(i.content)
        ),
        common_tasks=[
            f"{one_line(t.item.content, REPEATED_REQUEST_CHARS)} (asked {t.count}x)"
            for t in group_tasks(requests)[:5]
        ],
        files={path: dict(counts) for path, counts in files.items()},
        read_to=dict(read_to),
        git_branch=git_branch,
        last_activity=max((i.created_at for i in items), default=utc_now()).isoformat(
            timespec="seconds"
        ),
        made_by=digest_rules(),
        checks=passed_checks(items),
    )


#: A check command longer than this is one run's (a test filter, a heredoc): not kept.
CHECK_CHARS = 100
#: The most checks kept per session, the most run first.
CHECKS_KEPT = 8


def passed_checks(items: Iterable[MemoryItem]) -> dict[str, int]:
    """The project's checks (tests, builds, linters: ``is_project_check``) that passed in the
    session, each by its core (``normalize_command``: no output plumbing), with how many times;
    the ones run most first, at most ``CHECKS_KEPT``. A run started in the background passed
    only if its end was seen to pass."""
    from memcore.claude_code.background import only_started
    from memcore.claude_code.commands import is_project_check, normalize_command

    counts: dict[str, int] = {}
    for item in items:
        meta = item.metadata
        command = meta.get("command")
        if (
            meta.get("kind") != "tool_result"
            or meta.get("is_error")
            or not isinstance(command, str)
        ):
            continue
        if meta.get("exit_code") != 0 or "\n" in command.strip() or only_started(meta):
            continue
        core = normalize_command(command)
        if core and len(core) <= CHECK_CHARS and is_project_check(core):
            counts[core] = counts.get(core, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
    return dict(ranked[:CHECKS_KEPT])


def request_part(task: MemoryItem) -> MemoryItem:
    """A request as what the user wrote before a blank line: what they pasted under it (a log,
    a listing) is no part of what they asked, and the same paste under two different requests,
    or once alone, must not make them one repeated request."""
    head = task.content.strip().split("\n\n", 1)[0]
    if head == task.content:
        return task
    return MemoryItem(task.id, head, task.priority, task.created_at, task.metadata)


def cut_at_word(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters: a longer one is cut after a whole
    word and ends with an ellipsis (a word cut in half reads as another word, and a cut that
    is not marked reads as the whole)."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]
    if flat[limit - 1] != " ":
        space = head.rfind(" ")
        if space > limit // 2:  # a very long word is cut inside it rather than dropped
            head = head[:space]
    return head.rstrip(" ,;:") + "\u2026"


def distinct(texts: Iterable[object], limit: int = 8) -> list[str]:
    """The last ``limit`` distinct texts, each on one line (at most 300 characters), in the
    order each was last given: a text given again late is a late one."""
    seen: dict[str, None] = {}
    for text in texts:
        line = " ".join(str(text).split())[:300]
        if line:
            seen.pop(line, None)
            seen[line] = None
    return list(seen)[-limit:]


__all__ = [
    "CHECKS_KEPT",
    "CHECK_CHARS",
    "REPEATED_REQUEST_CHARS",
    "a_copy_of_less",
    "cut_at_word",
    "distinct",
    "fresh_record",
    "passed_checks",
    "request_part",
]
