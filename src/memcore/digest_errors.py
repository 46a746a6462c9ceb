"""A failure's line in a digest: what failed (a command, an edit, a lookup), what fixed it (the
edit or the rerun that then passed), and the agent's verdict on it when it said the failure was
meant or not the change's. Part of :mod:`memcore.digest_lines`, which calls these with its pass
over the items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memcore.claude_code.background import is_task_output
from memcore.claude_code.commands import (
    is_check_command,
    is_trivial_command,
    normalize_command,
)
from memcore.claude_code.discovery import CLAUDE_FOLDER
from memcore.claude_code.tools import EDIT_TOOLS, quoted_list
from memcore.digest_prose import Candidate, cut_words
from memcore.digest_work import code_span, command_passed, shown_path, strs
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

#: Tools that only look (a guessed path that is not there: nothing to fix, little to learn).
LOOKUP_TOOLS = ("Read", "NotebookRead", "Grep", "Glob", "WebFetch", "WebSearch")

#: The agent's word, right after a failure, that it meant no trouble: a test written to fail
#: first ("Tests fail as expected (TDD - Red phase)"), or a failure the change did not cause
#: ("The 5 `ireturn` issues are pre-existing (not from our changes)", "The test is flaky",
#: "`main` is also failing with the same errors").
_EXPECTED_FAILURE = lazy_compile(
    r"(?i)\b(?:fail(?:s|ed|ing)?\s+as\s+expected|expected\s+to\s+fail|red\s+phase|"
    r"pre-?existing|flaky|not\s+(?:from|caused\s+by|related\s+to)\s+(?:our|my|these|this|the)"
    r"\s+change|unrelated\s+to\s+(?:our|my|these|this|the)\s+change|"
    r"(?:main|master)`?\s+is\s+(?:also\s+)?failing|also\s+fail(?:s|ing)\s+on\s+`?(?:main|master))"
)
_VERDICT_WORDS = 20


#: Claude Code's advice to the model after a tool's error ("Please use offset and limit
#: parameters to read ...", "Note: your current working directory is ..."): no part of what
#: failed, and said again at each such error.
_HARNESS_ADVICE = lazy_compile(
    r"(?<=[.!]) (?:Please use|Note: your current working directory)\b.*$"
)


def error_line(
    item: MemoryItem,
    seq: int,
    recency: float,
    by_id: dict[str, MemoryItem],
    root: str | None,
    items: Sequence[MemoryItem] = (),
) -> Candidate:
    """The line of failure ``item`` (item ``seq`` of ``items``, the session in order)."""
    meta = item.metadata
    said = cut_words(_HARNESS_ADVICE.sub("", " ".join(item.content.split())), 60)
    if said.endswith(":"):  # (an older import's failure that printed nothing: "... (exit 1): ")
        said = f"{said[:-1]} with no output"
    fix = ""
    fixed_by = meta.get("fixed_by")
    if isinstance(fixed_by, list) and fixed_by:
        fixes = [by_id[i] for i in strs(fixed_by) if i in by_id]
        edits = [f for f in fixes if f.metadata.get("tool") in EDIT_TOOLS]
        if edits:
            every = list(dict.fromkeys(shown_path(f.metadata, root) for f in edits))
            shown = every[:2]
            names: list[str] = []
            for fix_item in edits:  # (the names of the files said only: not another's)
                if shown_path(fix_item.metadata, root) in shown:
                    for name in strs(fix_item.metadata.get("names")):
                        if name not in names:
                            names.append(name)
            paths = [f"`{path}`" for path in shown]
            if len(every) > len(shown):
                more = len(every) - len(shown)
                paths = [", ".join(paths), f"{more} other file{'s' if more > 1 else ''}"]
            named = f" ({quoted_list(names[:3])})" if names else _fix_change(edits)
            fix = f"; fixed by editing {' and '.join(paths)}{named}"
        else:
            fix = _rerun_fix(meta, fixes, items[seq + 1 : seq + 1 + _BETWEEN])
    command = meta.get("command")
    # a guessed path or pattern, or a look around that missed (`ls` of a folder not there):
    # nothing to fix, little to learn
    looked = meta.get("tool") in LOOKUP_TOOLS or (
        isinstance(command, str) and is_trivial_command(command)
    )
    # (of checks chained with && or ;, which one failed is not known, and a later run of one
    # of them alone may have been its fix: "no later try succeeded" would be a guess)
    chained = isinstance(command, str) and ("&&" in command or ";" in command)
    if not fix and meta.get("resolved") is False and not looked and not chained:
        # what is known, not "not fixed": another way may have done it (`gh api` for a failed
        # `gh pr edit`, a check run with its environment set)
        tool = meta.get("tool")
        # (a tool's name is anyone's metadata: a list is no name, and no set member either)
        tried_again = isinstance(tool, str) and (tool == "Bash" or tool in EDIT_TOOLS)
        fix = "; no later try of it succeeded" if tried_again else ""
    line = f"- {said.rstrip('.')}{fix}."
    score = 4.5 + (1.5 if fix.startswith("; fixed") else 0.0) + recency
    if looked:
        score -= 3.0
    # (a command's run: its line in "Commands and outcomes" may say the same, see ``Greedy``)
    ran = (
        normalize_command(command)
        if meta.get("tool") == "Bash" and isinstance(command, str)
        else None
    )
    return Candidate("errors", seq, score, line, failed_once=ran)


#: The longest line of a fix's change said whole (a longer one says less than the file's name).
_CHANGE_CHARS = 100


def _fix_change(edits: Sequence[MemoryItem]) -> str:
    """What the fixing edits changed, when they changed no name: the line that became another
    (" (`endpoint = cluster.endpoint` became `endpoint = f"{cluster.endpoint}:{cluster.port}"`)"),
    or the lines added or taken out, the first edit's that changed any; "" when none is short
    enough to say (or holding a backtick: no code span). A merge's conflict markers are no
    change of the code."""
    for fix in edits:
        added, removed = (
            [
                line
                for line in strs(fix.metadata.get(key))
                if line.strip() and not line.startswith(("<<<<<<<", "=======", ">>>>>>>"))
            ]
            for key in ("added_lines", "removed_lines")
        )
        if not added and not removed:
            continue
        if any(len(line) > _CHANGE_CHARS or "`" in line for line in (*added[:2], *removed[:1])):
            return ""
        if len(added) == 1 and len(removed) == 1:
            return f" ({code_span(removed[0])} became {code_span(added[0])})"
        if added:
            return f" (adding {' and '.join(code_span(line) for line in added[:2])})"
        return f" (taking out {code_span(removed[0])})"
    return ""


def with_verdict(line: Candidate, said: str) -> Candidate | None:
    """A failure's line with the agent's verdict on it, when its first line after the failure
    gives one (``_EXPECTED_FAILURE``: the failure was meant, or not the change's), said to the
    end of that sentence; None when it gives none."""
    first = " ".join(said.strip().split("\n", 1)[0].split()[:60])
    found = _EXPECTED_FAILURE.search(first)
    if found is None:
        return None
    ends = [at for at in (first.find(". ", found.end()), first.find(": ", found.end())) if at > 0]
    sentence = first[: min(ends)] if ends else first
    start = sentence.rfind(". ", 0, found.start()) + 2 if ". " in sentence[: found.start()] else 0
    words = sentence[start:].split()
    at = len(sentence[start : found.start()].split())  # (the verdict's word, kept in view)
    if at >= _VERDICT_WORDS - 4:
        words = ["\u2026", *words[at - 8 :]]
    verdict = cut_words(" ".join(words), _VERDICT_WORDS).rstrip(".:")
    text = line.text.removesuffix(".").replace("; no later try of it succeeded", "")
    return line._replace(text=f"{text}; the agent said: {verdict}.")


def claude_code_s_own_lookup(meta: Mapping[str, Any], root: str | None) -> bool:
    """Whether a failed call only looked for one of Claude Code's own files outside the project
    (``~/.claude/projects/<project>/memory/MEMORY.md`` not there yet, a background task's
    output ``/tmp/claude-1000/<project>/tasks/b1.output`` gone), or failed because its own program
    could not start (``posix_spawn``: Claude Code updated under a running session): the
    harness's, not the session's, error."""
    if meta.get("tool") not in LOOKUP_TOOLS:
        return False
    lines = meta.get("error_lines")
    if isinstance(lines, list) and any(isinstance(x, str) and "posix_spawn" in x for x in lines):
        return True  # (the tool's own program could not start: Claude Code's, not the work's)
    path = meta.get("file_path")
    return (
        isinstance(path, str)
        and (CLAUDE_FOLDER in path or is_task_output(path))
        and not (root and path.startswith(root.rstrip("/") + "/"))
    )


#: How far after a failure its rerun is looked for, with the commands run before it.
_BETWEEN = 400
#: A command's output sent to a file (not to another descriptor or ``/dev/null``).
_WRITES_FILE = lazy_compile(r"(?<![0-9&>])>>?[ \t]*(?![&>]|/dev/null)[^\s|;&]")
#: A check's verbs that make what another needs (a package's build, an install, generated code).
_MAKES = lazy_compile(r"\b(?:build|install|generate|compile|codegen|setup)\b")
#: Commands that only look at a repository's state (no fix of anything).
_GIT_LOOK = lazy_compile(
    r"^git(?:\s+-C\s+\S+)?\s+(?:status|log|diff|show|branch|remote|rev-parse)\b"
)


def _rerun_fix(
    error: Mapping[str, Any], fixes: Sequence[MemoryItem], after: Sequence[MemoryItem]
) -> str:
    """How a failure passed with no edit: the same command again (after another command that
    changed something, when one ran before the rerun: ``git read-tree HEAD`` before `git
    status` passed, which "without an edit" left out), or the way that worked."""
    failed = error.get("command")
    if isinstance(failed, str):
        core = normalize_command(failed)
        for item in fixes:
            command = item.metadata.get("command")
            # (said without its plumbing: `2>&1 | tail -3` is how it was looked at)
            if isinstance(command, str) and normalize_command(command) != core:
                return f"; then {code_span(cut_words(normalize_command(command), 40))} succeeded"
        ran = _ran_before(after, fixes, core)
        if ran:
            return f"; after {code_span(cut_words(' '.join(ran.split()), 40))}, the rerun passed"
    else:  # a tool's call that failed: the call that then worked says how ("(lines 1-100)")
        for item in fixes:
            if item.metadata.get("kind") == "tool_call" and item.content.strip():
                return f"; then {cut_words(item.content, 20)} worked"
    return "; the rerun passed without an edit"


def _ran_before(after: Sequence[MemoryItem], fixes: Sequence[MemoryItem], core: str) -> str:
    """The last command that succeeded between a failure and its rerun (the first of
    ``fixes`` among ``after``, the items that follow the failure) and may have changed
    something: not the failed command, a look at git's state, a look around or a check, unless
    it writes a file or builds."""
    rerun = {fix.id for fix in fixes}
    found = ""
    for item in after:
        if item.id in rerun:
            return found
        command = command_passed(item.metadata)
        if command is not None:
            shown = normalize_command(command)
            if shown != core and not _GIT_LOOK.match(shown):
                writes = _WRITES_FILE.search(command) is not None  # (`echo "}" >> f_test.go`)
                makes = _MAKES.search(shown) is not None  # (a build: its output was missing)
                looks = is_trivial_command(command) or is_check_command(shown)
                if writes or makes or not looks:
                    found = command
    return ""  # (the rerun not found near: nothing known of what came before it)


__all__ = ["LOOKUP_TOOLS", "claude_code_s_own_lookup", "error_line", "with_verdict"]
