"""The state a session's work was left in, as one digest line: whether the last edits were
checked (a test, build or linter run after them, and how it went) and committed. A next session
takes up the work from there: "`a.go` changed after the last check" says to run the tests
first; "nothing was committed" says the changes live only in the working tree. Claude Code's own
summaries end on such a line ("Current state: test X is failing ..."); the session's records
say it without a model.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from memcore.claude_code.commands import is_project_check, normalize_command
from memcore.claude_code.tools import EDIT_TOOLS, quoted_list
from memcore.digest_prose import Candidate, cut_words
from memcore.digest_work import code_span, is_failed_edit, is_plan_draft, shown_path
from memcore.model import MemoryItem

#: How the line starts, and its worth: below the open request, the closing question and the work
#: under way (what the next session is asked), above the done steps and the commands' lines.
END_STATE = "- State at the end: "
END_STATE_SCORE = 2.0
#: Files named on the line at most (the rest are counted).
_NAMED_FILES = 3
#: Files that no test or build checks: an edit of only these needs none, and the line says
#: nothing of checks then.
_DOCUMENT_SUFFIXES = frozenset({".md", ".mdx", ".markdown", ".txt", ".rst", ".adoc"})
_COMMAND_WORDS = 12


def end_state(items: Sequence[MemoryItem], root: str | None) -> list[Candidate]:
    """The state line of ``items`` (a whole session, in order; files named relative to
    ``root``): nothing when the session changed no file."""
    edited: dict[str, int] = {}  # each file the session changed, by its last change
    check: tuple[int, str, bool] | None = None  # the last check: where, which, passed
    commit: tuple[int, str] | None = None  # the last commit: where, its hash
    for seq, item in enumerate(items):
        meta = item.metadata
        kind = meta.get("kind")
        if kind not in ("tool_result", "error"):
            continue
        tool = meta.get("tool")
        if tool in EDIT_TOOLS:
            if is_failed_edit(meta) or not isinstance(meta.get("file_path"), str):
                continue  # (a failed edit changed nothing)
            shown = shown_path(meta, root)
            if not is_plan_draft(shown):
                edited.pop(shown, None)
                edited[shown] = seq
        elif tool == "Bash" and isinstance(meta.get("command"), str):
            if _only_started(meta):
                continue  # (its outcome is a record of its own, if the session read it)
            command = str(meta["command"])
            if kind != "error":
                sha = _last_commit(meta)
                if sha:
                    commit = (seq, sha)
            if is_project_check(command):
                check = (seq, normalize_command(command), kind != "error")
    if not edited:
        return []
    last_edit = max(edited.values())
    checked = _checked(edited, check)
    committed = _committed(edited, commit)
    if check is not None and commit is not None:  # one list of files for both, said once
        after_check, after_commit = _files_after(edited, check[0]), _files_after(edited, commit[0])
        if after_check and after_check == after_commit:
            checked = f"{after_check} changed after the last check ({_ran(check)})"
            committed = f"and the last commit ({code_span(commit[1])})"
            return [_line(last_edit, f"{checked} {committed}")]
    said = "; ".join(part for part in (checked, committed) if part)
    return [_line(last_edit, said)] if said else []


def _line(last_edit: int, said: str) -> Candidate:
    return Candidate("open", last_edit + 0.5, END_STATE_SCORE, f"{END_STATE}{said}.")


def _only_started(meta: Mapping[str, Any]) -> bool:
    """A command started in the background: its result says only that it started."""
    return "task_id" in meta and meta.get("background") is not True and meta.get("kind") != "error"


def _last_commit(meta: Mapping[str, Any]) -> str:
    commits = [c for c in meta.get("commits") or () if isinstance(c, list) and len(c) == 3]
    return str(commits[-1][1]) if commits else ""


def _checked(edited: dict[str, int], check: tuple[int, str, bool] | None) -> str:
    if check is None:
        documents = all(posixpath.splitext(p)[1].lower() in _DOCUMENT_SUFFIXES for p in edited)
        return "" if documents else "no test, build or linter ran in the session"
    after = _files_after(edited, check[0])
    if not after:
        return f"{_ran(check)} after the last edit"
    return f"{after} changed after the last check ({_ran(check)})"


def _ran(check: tuple[int, str, bool]) -> str:
    """The check and how it went: "`go test ./...` passed"."""
    return f"{code_span(cut_words(check[1], _COMMAND_WORDS))} {'passed' if check[2] else 'failed'}"


def _committed(edited: dict[str, int], commit: tuple[int, str] | None) -> str:
    if commit is None:
        return "no commit in the session"
    at, sha = commit
    after = _files_after(edited, at)
    if not after:
        return f"a commit ({code_span(sha)}) came after the last edit"
    return f"{after} changed after the last commit ({code_span(sha)})"


def _files_after(edited: dict[str, int], at: int) -> str:
    """The files changed after item ``at``, named (the latest last), a few at most."""
    after = [path for path, seq in edited.items() if seq > at]
    if len(after) <= _NAMED_FILES:
        return quoted_list(after)
    more = len(after) - _NAMED_FILES + 1
    return f"{', '.join(f'`{p}`' for p in after[-_NAMED_FILES + 1 :])} and {more} more files"


__all__ = ["END_STATE", "END_STATE_SCORE", "end_state"]
