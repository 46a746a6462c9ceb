"""The commands a session ran and the other tools it called, as digest lines: each command's
runs and outcome (folded by command), and the calls that reached beyond the project (a page
fetched, a web search, an MCP server's tool). Part of :mod:`memcore.digest_lines`, which calls
these with its pass over the items.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from memcore.claude_code.background import follows_task, only_started
from memcore.claude_code.commands import (
    best_outcomes,
    is_check_command,
    is_trivial_command,
    normalize_command,
)
from memcore.claude_code.git_results import makes_commits
from memcore.claude_code.outside_actions import action_shown, is_outside_action
from memcore.claude_code.tools import quoted_list
from memcore.digest_prose import SPARE, Candidate, cut_words
from memcore.digest_work import code_span, strs, times
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

#: Commands that only read the repository or its forge (``git log``, ``git diff``, ``gh run
#: view``; not ``gh api``, which may write): their success says nothing to keep, as ``ls``
#: says nothing (their failure does).
_LOOKS_ONLY = lazy_compile(
    r"^(?:git(?:\s+-C\s+\S+)?\s+(?:status|log|diff|show|blame|rev-parse|ls-files|check-ignore"
    r"|remote(?:\s+-v)?$|branch(?:\s+(?:-a|-r|-v|-vv|--list|--show-current))*$)"
    r"|gh\s+(?:(?:run|pr|issue|repo|release|workflow)\s+(?:view|list|checks|diff|status))\b)"
)


#: The words of a command its line says (a longer one is cut: its outcome, after it, is what
#: the line is for).
_COMMAND_WORDS = 24


@dataclass(slots=True)
class CommandRuns:
    """One command (as ``normalize_command`` has it) and how its runs went."""

    shown: str
    first: int
    last: int = 0
    runs: int = 0
    started: int = 0  # runs started in the background whose end the session did not see
    failures: int = 0
    last_ok: bool = True
    last_code: int = 0
    outcome: list[str] = field(default_factory=list)
    paths: dict[str, None] = field(default_factory=dict)
    check: bool = False
    trivial: bool = False
    #: its last run committed or pushed: said by ``git_lines`` as a result
    told: bool = False


def command_result(commands: dict[str, CommandRuns], item: MemoryItem, seq: int) -> None:
    meta = item.metadata
    command = str(meta["command"])
    key = normalize_command(command)
    entry = commands.get(key)
    if entry is None and follows_task(key):
        return
    if entry is None:
        entry = commands[key] = CommandRuns(key, seq)
        entry.trivial = is_trivial_command(key) or _LOOKS_ONLY.match(key) is not None
        entry.check = is_check_command(key) and not entry.trivial
    entry.last = seq
    if only_started(meta):
        entry.started += 1  # only started: its output, if read, comes as a result of its own
        return
    entry.runs += 1
    code = meta.get("exit_code", 0)
    code = code if isinstance(code, int) and not isinstance(code, bool) else 1
    entry.last_code = code if isinstance(code, int) else 1
    entry.last_ok = item.metadata.get("kind") != "error"
    if not entry.last_ok:
        entry.failures += 1
        entry.outcome = strs(meta.get("error_lines"))[:2]
    else:
        entry.outcome = best_outcomes(strs(meta.get("outcome")), 2)
    entry.told = entry.last_ok and bool(
        made_commits(meta) or meta.get("pushed") or is_outside_action(command)
    )
    for path in strs(meta.get("paths")):
        entry.paths.setdefault(str(path), None)


def command_lines(commands: dict[str, CommandRuns], n: int) -> list[Candidate]:
    out: list[Candidate] = []
    for entry in commands.values():
        shown = code_span(cut_words(entry.shown, _COMMAND_WORDS))
        # `git status`, `ls`, a commit said as a result: said only when there is room
        spare = (entry.trivial or entry.told) and entry.last_ok
        if not entry.runs:  # started in the background, never seen to end: not "succeeded"
            line = f"- {shown} was started in the background"
            line += f" {times(entry.started)}." if entry.started > 1 else "."
            score = (4.0 if entry.check else 1.5) + entry.last / n
            out.append(
                Candidate("commands", entry.first, SPARE if spare else score, line, spare=spare)
            )
            continue
        ran = f"ran {times(entry.runs)}"
        if entry.failures and entry.last_ok:
            result = f"failed {times(entry.failures)}, then passed"
        elif entry.failures:
            how = f"exit {entry.last_code}" if entry.last_code else "by its output: exit 0"
            if entry.runs == 1:
                result = f"failed ({how})"
            elif entry.failures == entry.runs:
                result = f"failed every time ({how} on the last)"
            else:
                result = f"failed ({how}) on its last run"
        else:
            result = "succeeded"
        said = f": {' | '.join(entry.outcome)}" if entry.outcome else ""
        if entry.paths and not entry.outcome:
            said = f", naming {quoted_list(list(entry.paths)[:4])}"
        line = f"- {shown} {ran} and {result}{said.rstrip('.')}."
        score = (4.0 if entry.check else 1.5) + (1.0 if entry.failures else 0.0) + entry.last / n
        if entry.shown.startswith("git commit") or entry.shown.startswith("git push"):
            score += 1.5
        if spare:
            score = SPARE + entry.last / n
        once = entry.shown if entry.runs == 1 == entry.failures and not entry.started else None
        out.append(Candidate("commands", entry.first, score, line, spare=spare, failed_once=once))
    return out


#: What an error's line says beyond its command's line ("`x` ran once and failed (exit 1):
#: ..."): what fixed it, the agent's verdict ("no later try of it succeeded" the command's
#: line says in its way: it ran once).
_ERROR_SAYS_MORE = ("; fixed by", "; then ", "; after ", "; the agent said")


def says_more(error_text: str) -> bool:
    """Whether a failure's line in "Errors and fixes" says more than its command's line."""
    return any(part in error_text for part in _ERROR_SAYS_MORE)


#: What a commit and a push are worth as results: what the session saved, and where (a push
#: says less: that the commits before it left the machine).
COMMIT_SCORE = 5.5
PUSH_SCORE = 2.5


def git_lines(meta: Mapping[str, Any], seq: int, recency: float) -> list[Candidate]:
    """A git command's commits and pushes (``claude_code.git_results``) as results: "Committed
    ``69ba36cf`` on ``main``: Fix rounding", "Pushed ``main`` (``1d332f0..378b6b7``)"; a
    commit pushed by the same command says so on its own line."""
    commits = made_commits(meta)
    pushes = [p for p in meta.get("pushed") or () if isinstance(p, list) and len(p) == 2]
    out: list[Candidate] = []
    for at, commit in enumerate(commits):
        branch, sha, subject = (str(part) for part in commit)
        where = "" if branch == "detached HEAD" else f" on {code_span(branch)}"
        pushed = " and pushed it" if pushes and at == len(commits) - 1 else ""
        said = cut_words(subject, 24).rstrip(".")
        line = f"- Committed {code_span(sha)}{where}{pushed}: {said}."
        out.append(Candidate("decisions", seq, COMMIT_SCORE + recency, line))
    for ref, what in ([str(p) for p in push] for push in pushes if not commits):
        if what == "new":
            line = f"- Pushed the new branch {code_span(ref)}."
        else:
            verb = "Force-pushed" if what.endswith(" forced") else "Pushed"
            line = f"- {verb} {code_span(ref)} ({code_span(what.removesuffix(' forced'))})."
        out.append(Candidate("decisions", seq, PUSH_SCORE + recency, line))
    return out


def made_commits(meta: Mapping[str, Any]) -> list[list[Any]]:
    """The commits a command's result says it made (``[branch, sha, subject]``): none when the
    command makes no commits (``git log``, ``cat``: an item imported before the importer told
    a commit shown from one made, see ``claude_code.git_results.makes_commits``)."""
    commits = [c for c in meta.get("commits") or () if isinstance(c, list) and len(c) == 3]
    command = meta.get("command")
    return commits if commits and isinstance(command, str) and makes_commits(command) else []


#: Where the agent looked on the web: the sources of what it found, said when every line that
#: matters has had its chance (a spare line; a page fetched before a search).
_WEB_SCORES = {"WebFetch": 0.5, "WebSearch": 0.0}
#: What it did through an MCP server (an issue opened, a message sent, a page read): an act
#: beyond the project that no other line says. memcore's own tools are its memory, not work.
_MCP_SCORE = 2.5
_OWN_MCP = "mcp__memcore__"
#: An MCP tool named for a look (``GetWorkspaceDiff``, ``list_issues``, ``search_code``) reads,
#: it does not act: a spare line, as a web page read is.
_LOOKUP_TOOL = lazy_compile(
    r"(?i)^(?:get|list|read|search|fetch|query|describe|find|show|view|lookup|check|browse)"
)
_CALL_WORDS = 16


def outside_call(item: MemoryItem, tool: str, seq: int, recency: float) -> Candidate | None:
    """The line of a call that reached beyond the project (a page fetched, a web search, an MCP
    server's tool), as the importer described it ("Fetched `url`: what was asked of it",
    "Called `create_issue` of MCP server `github` (repo=shop, ...)"); None for other tools.
    Its failure, if it failed, is an error's line of its own."""
    if tool in _WEB_SCORES:
        spare, score = True, SPARE + _WEB_SCORES[tool]
    elif tool.startswith("mcp__") and not tool.startswith(_OWN_MCP):
        spare = _LOOKUP_TOOL.match(tool.rsplit("__", 1)[-1]) is not None
        score = SPARE if spare else _MCP_SCORE
    else:
        return None
    said = cut_words(" ".join(item.content.split()), _CALL_WORDS)
    if not said or said == tool:  # (described by its name alone: nothing to say of it)
        return None
    ended = said if said[-1] in ".?!\u2026" else f"{said}."
    return Candidate("commands", seq, score + recency, f"- {ended}", spare=spare)


#: What an act outside the repository is worth as a result (a pull request opened, a comment
#: posted, a tracker's task closed): between a push and a commit.
ACTION_SCORE = 4.5
#: Runs of digits in an act's command: acts that differ only there (a reply to each review
#: comment, a close of each task) are one line.
_NUMBERS = lazy_compile(r"\d+")


@dataclass(slots=True)
class ActionRuns:
    """Acts outside the repository of one shape (``_NUMBERS`` aside): the first as the digest
    names it, the numbers of each, and what came of the last."""

    shown: str
    title: str
    first: int
    last: int = 0
    numbers: list[tuple[str, ...]] = field(default_factory=list)
    result: list[str] = field(default_factory=list)


def record_action(actions: dict[str, ActionRuns], item: MemoryItem, seq: int) -> None:
    """Count a command's successful run into ``actions`` when it acted outside the repository
    (``claude_code.outside_actions``)."""
    meta = item.metadata
    command = meta.get("command")
    if not isinstance(command, str) or not is_outside_action(command):
        return
    shown, title = action_shown(command)
    key = _NUMBERS.sub("N", shown)
    entry = actions.get(key)
    if entry is None:
        entry = actions[key] = ActionRuns(shown, title, seq)
    entry.last = seq
    entry.numbers.append(tuple(_NUMBERS.findall(shown)))
    # (what came of it: the importer's reading of the output, or an older import's outcome)
    entry.result = strs(meta.get("acted")) or strs(meta.get("outcome"))


#: The most numbers an act done several times lists (``bd close spotter-gqc.N`` (N: 4, 5, 6)).
_LISTED_NUMBERS = 4
#: Numbers longer than this are ids (a review comment's): their count is said, not each.
_LISTED_DIGITS = 6


def action_lines(actions: dict[str, ActionRuns], n: int) -> list[Candidate]:
    """One result line for each shape of act: "Acted outside the repository: `gh pr create
    --base main` ("Add the docs"): https://github.com/o/r/pull/50."; an act done several times
    names what it was done to, when one number alone tells them apart."""
    out: list[Candidate] = []
    for entry in actions.values():
        titled = f' ("{entry.title}")' if entry.title else ""
        came = cut_words(entry.result[0], _CALL_WORDS * 2).rstrip(".") if entry.result else ""
        runs = len(entry.numbers)
        if runs == 1:
            line = f"- Acted outside the repository: {code_span(entry.shown)}{titled}"
            line += f": {came}." if came else "."
        else:
            line = f"- Acted outside the repository {times(runs)}: {_several(entry)}{titled}"
            line += f"; the last: {came}." if came else "."
        out.append(Candidate("decisions", entry.first, ACTION_SCORE + entry.last / n, line))
    return out


def _several(entry: ActionRuns) -> str:
    """An act done several times: its shape with the one number that told them apart as ``N``
    and the values it took ("`bd close spotter-gqc.N` (N: 4, 5 and 6)"), else the first act
    and how many more."""
    shapes = {len(numbers) for numbers in entry.numbers}
    varying = [
        at for at in range(min(shapes)) if len({numbers[at] for numbers in entry.numbers}) > 1
    ]
    if len(shapes) == 1 and len(varying) == 1:
        at = varying[0]
        values = list(dict.fromkeys(numbers[at] for numbers in entry.numbers))
        parts = _NUMBERS.split(entry.shown)
        shape = "".join(
            part + ("" if k >= len(parts) - 1 else ("N" if k == at else entry.numbers[0][k]))
            for k, part in enumerate(parts)
        )
        if any(len(value) > _LISTED_DIGITS for value in values):  # (ids: how many says it)
            return f"{code_span(shape)} ({len(values)} values of N)"
        listed = values[:_LISTED_NUMBERS]
        said = ", ".join(listed[:-1]) + " and " + listed[-1] if len(listed) > 1 else listed[0]
        if len(values) > _LISTED_NUMBERS:
            said = ", ".join(listed) + f" and {len(values) - _LISTED_NUMBERS} more"
        return f"{code_span(shape)} (N: {said})"
    return f"{code_span(entry.shown)} and {len(entry.numbers) - 1} more like it"


__all__ = [
    "ACTION_SCORE",
    "ActionRuns",
    "CommandRuns",
    "action_lines",
    "command_lines",
    "command_result",
    "made_commits",
    "outside_call",
    "record_action",
]
