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
from dataclasses import dataclass
from typing import Any

from memcore.claude_code.background import only_started
from memcore.claude_code.commands import is_project_check, normalize_command
from memcore.claude_code.tools import EDIT_TOOLS, quoted_list
from memcore.digest_commands import made_commits
from memcore.digest_density import exact_names
from memcore.digest_prose import Candidate, cut_words, line_identifiers
from memcore.digest_reports import (
    CLAIMS_SUCCESS,
    CONTRADICTED,
    NOT_WORKED,
    REPORT_CHARS,
    named_before,
    reported_failure,
    words_from,
)
from memcore.digest_undone import undone_edits
from memcore.digest_work import (
    code_span,
    command_passed,
    is_failed_edit,
    is_plan_draft,
    shown_path,
)
from memcore.lazy_re import lazy_compile
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
_SHORT_COMMAND_WORDS = 5
_WORDS = lazy_compile(r"[a-z][a-z-]*")
_TEST_WORDS = frozenset(["pytest", "jest", "vitest", "rspec", "mocha", "spec", "nextest"])
_LINT_WORDS = frozenset(
    ["lint", "check", "vet", "clippy", "typecheck", "tsc", "mypy", "ruff", "credo", "fmt"]
)
_BUILD_WORDS = frozenset(["build", "compile", "make"])
#: A failed check's count of failures, as runners print it.
_FAILURES = lazy_compile(r"(?i)(?<![\w.])[1-9]\d* (?:failed|failing|failures?|fail|errors?)\b")


@dataclass(frozen=True, slots=True)
class _Check:
    """A run of one of the project's checks: where, which, whether it passed, and its tally of
    failures when it failed ("3 failed")."""

    seq: int
    command: str
    passed: bool
    tally: str = ""


def end_state(
    items: Sequence[MemoryItem], root: str | None, undone: frozenset[str] | None = None
) -> list[Candidate]:
    """The state line of ``items`` (a whole session, in order; files named relative to
    ``root``): nothing when the session changed no file. It carries a shorter form of itself
    (``Candidate.short``: files counted, the check by its first words) for a digest too short
    for it whole: it is never cut. ``undone``: ``undone_edits(items)``, when worked out
    already."""
    edited: dict[str, int] = {}  # each file the session changed, by its last change
    checks: list[_Check] = []
    commit: tuple[int, str] | None = None  # the last commit: where, its hash
    clean: int | None = None  # where git last said the working tree was clean
    if undone is None:  # (edits that undid each other changed nothing)
        undone = undone_edits(items)
    for seq, item in enumerate(items):
        meta = item.metadata
        kind = meta.get("kind")
        if kind not in ("tool_result", "error"):
            continue
        tool = meta.get("tool")
        if tool in EDIT_TOOLS:
            if (
                is_failed_edit(meta)
                or not isinstance(meta.get("file_path"), str)
                or str(meta.get("tool_use_id")) in undone
            ):
                continue  # (a failed edit changed nothing, nor did edits undone)
            shown = shown_path(meta, root)
            if not is_plan_draft(shown):
                edited.pop(shown, None)
                edited[shown] = seq
        elif tool == "Bash" and isinstance(meta.get("command"), str):
            if only_started(meta):
                continue  # (its outcome is a record of its own, if the session read it)
            command = str(meta["command"])
            if _says_clean(meta):
                clean = seq
            elif kind != "error" and _GIT_STATUS.match(normalize_command(command)):
                clean = None  # (a later look found changes: a command's, or the user's)
            if kind != "error":
                sha = _last_commit(meta)
                if sha:
                    commit = (seq, sha)
            if is_project_check(command):
                passed = kind != "error"
                tally = "" if passed else _tally(meta.get("error_lines"))
                checks.append(_Check(seq, normalize_command(command), passed, tally))
    if not edited:
        return []
    last_edit = max(edited.values())
    check = _telling_check(checks, last_edit)
    clean_after = clean is not None and clean > last_edit  # (no edit came after it)
    full = _said(edited, check, commit, short=False, clean=clean_after)
    if not full:
        return []
    short = _said(edited, check, commit, short=True, clean=clean_after)
    text = f"{END_STATE}{full}."
    # (the commit's hash it names says that one came, not what it holds: the commit's own
    # line, which says so, is not a repeat of it; counted as one, that line was worth half and
    # a session's last commit, the answer to "commit the changes", was left out at 2,000 tokens)
    names = tuple(n for n in line_identifiers(text) if commit is None or n != commit[1])
    # (the whole session's state: never held back with the lines of the items a compaction
    # summarized, where its last edit may be: a session compacted after its last edit had none)
    line = Candidate("open", last_edit + 0.5, END_STATE_SCORE, text, names, early=True)
    return [line._replace(short=f"{END_STATE}{short}.")]


def _telling_check(checks: list[_Check], last_edit: int) -> _Check | None:
    """The check the line tells of: after the last edit, a failure the same command did not
    pass again since, else the one that says most (tests, then linters, then builds: "`go
    build && for i in 1 2 3 ...`" after `mise run test` says less of the edits); before it, the
    last one."""
    after = [check for check in checks if check.seq > last_edit]
    if not after:
        return checks[-1] if checks else None
    latest = {check.command: check for check in after}  # (each command's last run)
    failed = [check for check in latest.values() if not check.passed]
    if failed:
        return max(failed, key=lambda check: check.seq)
    return min(latest.values(), key=lambda check: (_kind_rank(check.command), -check.seq))


def _kind_rank(command: str) -> int:
    words = set(_WORDS.findall(command.lower()))
    if words & _TEST_WORDS or any("test" in word for word in words):
        return 0
    return 1 if words & _LINT_WORDS else 2 if words & _BUILD_WORDS else 3


def _said(
    edited: dict[str, int],
    check: _Check | None,
    commit: tuple[int, str] | None,
    *,
    short: bool,
    clean: bool = False,
) -> str:
    """``clean``: git said the working tree was clean after the last edit: the edits are in a
    commit, made by whoever (a hook, the user), when the session's own last commit came before
    that edit."""
    checked = _checked(edited, check, short)
    named = sum(1 for seq in edited.values() if check is not None and seq > check.seq)
    if clean and (commit is None or commit[0] < max(edited.values())):
        said = "nothing to commit at the end" if short else _CLEAN_AFTER
        return "; ".join(part for part in (checked, said) if part)
    committed = _committed(edited, commit, short, named)
    if check is not None and commit is not None:  # one list of files for both, said once
        after_check = _files_after(edited, check.seq, short)
        if after_check and after_check == _files_after(edited, commit[0], short):
            ran = _ran(check, short)
            which = "" if short else f" ({code_span(commit[1])})"
            return f"{after_check} changed after the last check ({ran}) and the last commit{which}"
    return "; ".join(part for part in (checked, committed) if part)


#: git's word that nothing is left to commit (``git status``, a ``git commit`` with nothing
#: staged): every change is in a commit.
_CLEAN_TREE = lazy_compile(r"\bnothing to commit,? \(?working (?:tree|directory) clean\b")


_GIT_STATUS = lazy_compile(r"git(?: -C \S+)? status\b")
_CLEAN_AFTER = "git found nothing to commit after the last edit (the working tree clean)"


def _says_clean(meta: Mapping[str, Any]) -> bool:
    lines = meta.get("outcome") if meta.get("kind") != "error" else meta.get("error_lines")
    return isinstance(lines, list) and any(
        isinstance(line, str) and _CLEAN_TREE.search(line) is not None for line in lines
    )


def _last_commit(meta: Mapping[str, Any]) -> str:
    commits = made_commits(meta)  # (none from a command that only shows commits)
    return str(commits[-1][1]) if commits else ""


def _tally(lines: object) -> str:
    """A failed check's count of failures, from its error lines ("3 failed", "2 errors")."""
    for line in lines if isinstance(lines, list) else ():
        found = _FAILURES.search(line) if isinstance(line, str) else None
        if found is not None:
            return found.group(0)
    return ""


def _checked(edited: dict[str, int], check: _Check | None, short: bool) -> str:
    if check is None:
        documents = all(posixpath.splitext(p)[1].lower() in _DOCUMENT_SUFFIXES for p in edited)
        return "" if documents else "no test, build or linter ran in the session"
    after = _files_after(edited, check.seq, short)
    if not after:
        return f"{_ran(check, short)} after the last edit"
    return f"{after} changed after the last check ({_ran(check, short)})"


def _ran(check: _Check, short: bool) -> str:
    """The check and how it went: "`go test ./...` failed (3 failed)"; in the short form, what
    a wrapper ran (after its ``--``), by its first words, unless what follows it is the task's
    flags (``mise run test -- -run X``: said ``mise run test``)."""
    command = check.command
    if short and " -- " in command:
        head, _, tail = command.rpartition(" -- ")
        command = head if tail.startswith("-") else tail
    shown = code_span(cut_words(command, _SHORT_COMMAND_WORDS if short else _COMMAND_WORDS))
    if check.passed:
        return f"{shown} passed"
    return f"{shown} failed" + (f" ({check.tally})" if check.tally and not short else "")


def _committed(
    edited: dict[str, int], commit: tuple[int, str] | None, short: bool, named: int = 0
) -> str:
    """What the line says of commits; ``named``: how many changed files it names already."""
    if commit is None:  # (how many files stand changed, uncommitted, when the line named
        # fewer: the work tree's state, where the session left changes it checked before)
        fewer = not short and len(edited) > max(1, named)
        many = f" ({len(edited)} files edited in it)" if fewer else ""
        return f"no commit in the session{many}"
    at, sha = commit
    after = _files_after(edited, at, short)
    which = "" if short else f" ({code_span(sha)})"
    if not after:
        return f"a commit{which} came after the last edit"
    return f"{after} changed after the last commit{which}"


def _files_after(edited: dict[str, int], at: int, short: bool = False) -> str:
    """The files changed after item ``at``, named (the latest last), a few at most; counted
    alone in the short form."""
    after = [path for path, seq in edited.items() if seq > at]
    if short and after:
        return f"{len(after)} file{'s' if len(after) > 1 else ''}"
    if len(after) <= _NAMED_FILES:
        return quoted_list(after)
    more = len(after) - _NAMED_FILES + 1
    return f"{', '.join(f'`{p}`' for p in after[-_NAMED_FILES + 1 :])} and {more} more files"


#: A result line that says something fails ("There are still compilation errors.", "The test
#: is failing because ..."): a check of that kind that passed after it overtook it.
_FAILING_BUILD = lazy_compile(
    r"(?i)\bcompil\w*\s+errors?\b|\bbuild\s+(?:fails|failed|failing|errors?|failures?)\b"
    r"|\bfailing\s+builds?\b"
)
#: ... unless it says the failure was dealt with ("Fixed compilation error ...").
_DEALT_WITH = lazy_compile(r"(?i)\b(?:fixed|resolved|passes|passing|now builds|compiles now)\b")
_FAILING_TEST = lazy_compile(
    # (the test named between: "The test `TestX` failed")
    r"(?i)\btests?\s+(?:`[^`\n]{1,200}`\s+)?(?:is\s+|are\s+)?(?:still\s+)?fail(?:s|ing|ed)?\b"
    r"|\b(?:is|are)\s+(?:still\s+)?failing\b"
    # ("There's a test failure in `T`.", "one more failing test")
    r"|\btests?\s+failures?\b|\bfailing\s+tests?\b"
)
OVERTAKEN = " (later `{}` passed)"
#: A result saying the work is not committed ("nothing has been committed", "the changes are
#: uncommitted"), and what is said after it when a commit came later.
_NOT_COMMITTED = lazy_compile(
    r"(?i)\b(?:nothing (?:has been |was |is |got )?committed|not (?:yet |been )?committed"
    r"|uncommitted|(?:haven't|hasn't|didn't|did not|have not|has not) (?:been )?committed)\b"
)
COMMITTED_SINCE = " (later committed: `{}`)"


def _names_any(command: str, names: set[str]) -> bool:
    """Whether ``command`` names one of ``names``, or a word of it (eight characters or
    more) is part of one: ``go test -run TestX`` runs ``TestX_FromTranscript`` too."""
    if any(name in command for name in names):
        return True
    words = [w.strip("'\"") for w in command.replace("=", " ").split()]
    return any(len(w) >= 8 and w in name for w in words for name in names)


#: How much of the user's report is looked at for the names it names (a line naming one of
#: them is what their "still failing" answers, as the agent's last claims are).
_NAMED_CHARS = 2000


#: The user's next message opening by saying the agent was wrong ("no, we removed the session
#: commands on purpose", "that's not right"): what the agent concluded before it did not hold
#: (a "no" that answers the agent's question is no such thing, nor one that drops the subject:
#: "no, ignore this part, back to ...").
CORRECTED = lazy_compile(
    r"(?i)\s*(?:no\b[,.!]?\s+(?!(?:problem|worries|worry|need|thanks|rush|hurry|ignore|skip|never"
    r"|forget|back|let'?s|instead|just|leave|drop|move|wait|stop|don'?t|not now|later)\b)\w"
    r"|(?:that'?s|this is|you'?re|you are) (?:wrong|not right|incorrect|not what i))"
)
#: The agent's words ending with a question "no" answers ("Should I commit it?"; not "Which
#: approach do you prefer?", whose "no, we removed those on purpose" says it was wrong).
YES_NO_ASKED = lazy_compile(
    r"(?i)(?:^|[.!?:\n]\s*)(?:should|shall|do|does|did|would|will|can|could|want|is|are|may"
    r"|ok|okay)\b[^.!?\n]*\?[\s\"'`)*]*$"
)
#: The kinds of the user's messages (a message that says how things are to be is imported as
#: a preference: "no, we removed the session commands on purpose").
USER_SAID = ("task", "preference")


def said_before_it_failed(cands: list[Candidate], items: Sequence[MemoryItem]) -> list[Candidate]:
    """``cands`` with each result line of a turn that the user's next message said did not
    work ("Changes made: fixed the permissions" before "still no conversation found"), or was
    wrong ("no, we removed those commands on purpose": ``CORRECTED``), marked with their words,
    or whose failure it pasted (a traceback, a failing test's output: marked with its line):
    said alone, it reads as a fix that held, or a finding that stands. Their words that it
    did not work ("still didn't work") answer the turn's last claims (its latest item's
    result lines) and those naming what the words name, not every finding on the way."""
    # (the turn's start, its end, how its lines are marked, whether the agent was wrong,
    # whether only its claims that something works are marked, and the names the user's words
    # name when only the claims they answer are: None for every line of the turn)
    turns: list[tuple[float, int, str, bool, bool, frozenset[str] | None]] = []
    start = -1
    reply = ""  # the agent's last words (a yes-or-no question there: "no" answers it)
    replied = -1  # and where
    for seq, item in enumerate(items):
        meta = item.metadata
        kind = meta.get("kind")
        if kind == "fact" and meta.get("role") == "assistant":
            reply, replied = item.content, seq
            continue
        if kind not in USER_SAID or meta.get("role") != "user":
            continue
        head = item.content[:REPORT_CHARS]
        # (what it says did not work, or the failure it pasted: a traceback, a test's output)
        # (after the agent's words: a part of a session after a compaction opens on them)
        told = reported_failure(item.content) if max(start, replied) >= 0 else None
        if told is not None and (told.said or not named_before(told.key, reply)):
            # (a failure pasted, no words: it answers the claims of the turn's last reply that
            # something works; not one that reply named itself)
            first = start if told.said and start >= 0 else max(start, replied - 0.5)
            # (their words answer the agent's last claims, or those naming what they name)
            named = frozenset(exact_names(item.content[:_NAMED_CHARS])) if told.said else None
            turns.append((first, seq, told.mark(), False, not told.said, named))
        elif start >= 0:
            found = CORRECTED.match(head)
            # (the question looked for only then: most messages correct nothing)
            asked = found is not None and YES_NO_ASKED.search(reply[-REPORT_CHARS:]) is not None
            if found is not None and not asked:
                said = words_from(head, found.start())
                turns.append((start, seq, CONTRADICTED.format(said), True, False, None))
        start = seq
    if turns and turns[-1][1] == start and not _answered_after(items, start):
        turns.pop()  # (the latest request, not answered: "Still open" says it, words and all)
    if not turns:
        return cands
    # a turn the user said was wrong: its last account is said, marked; the earlier ones, the
    # same belief said on the way, are left out (a fix that "still didn't work" is said whole)
    # (a turn the user said did not work: its last result lines are what their words answer)
    latest = {
        first: max(
            [int(c.seq) for c in cands if c.section == "decisions" and first < c.seq < last],
            default=-1,
        )
        for first, last, _, corrected, _, named in turns
        if corrected or named is not None
    }
    out = []
    for cand in cands:
        if cand.section == "decisions" and not cand.text.endswith('")'):
            for first, last, said, corrected, claims, named in turns:
                if first < cand.seq < last:
                    if corrected and int(cand.seq) < latest[first]:
                        break  # (left out)
                    if (claims and CLAIMS_SUCCESS.search(cand.text) is None) or (
                        named is not None
                        and int(cand.seq) < latest[first]
                        and not (named and named & exact_names(cand.text))
                    ):
                        out.append(cand)  # (not what their words answer: said as it was)
                        break
                    out.append(cand._replace(text=cand.text + said))
                    break
            else:
                out.append(cand)
            continue
        out.append(cand)
    return out


def _answered_after(items: Sequence[MemoryItem], seq: int) -> bool:
    """Whether the agent said anything after item ``seq``."""
    return any(
        item.metadata.get("kind") == "fact" and item.metadata.get("role") == "assistant"
        for item in items[seq + 1 :]
    )


def said_overtaken(cands: list[Candidate], items: Sequence[MemoryItem]) -> list[Candidate]:
    """``cands`` with each result line that says a build or a test fails marked with the check
    of that kind that passed after it, if one did: alone, "There are still compilation
    errors." reads as the state now, where `go build ./...` passed since; and each that says
    nothing is committed with the commit made after it, if one was."""
    passed: list[tuple[int, str, int]] = []  # where, which, its kind (0 test, 2 build...)
    commits: list[tuple[int, str]] = []  # where, the hash of the last commit a command made
    for seq, item in enumerate(items):
        meta = item.metadata
        command = command_passed(meta)
        if command is not None and not only_started(meta):
            if is_project_check(command):
                core = normalize_command(command)
                passed.append((seq, core, _kind_rank(core)))
            if "commit" in command:
                sha = _last_commit(meta)
                if sha:
                    commits.append((seq, sha))
    if not passed and not commits:
        return cands
    out = []
    for cand in cands:
        if cand.section != "decisions":
            out.append(cand)
            continue
        text = cand.text
        lowered = text.lower()
        if commits and "commit" in lowered and _NOT_COMMITTED.search(text):
            since = [sha for seq, sha in commits if seq > cand.seq]
            if since:  # ("nothing has been committed", then a commit: not the state now)
                cand = cand._replace(
                    text=f"{text.rstrip('.')}{COMMITTED_SINCE.format(since[0])}.", names=None
                )
        elif (
            ("fail" in lowered or "error" in lowered)  # (cheap: most lines say neither)
            and not text.endswith(").")
            and not _DEALT_WITH.search(text)
        ):
            kinds: tuple[int, ...] = ()
            if _FAILING_TEST.search(text):
                kinds = (0,)
            elif _FAILING_BUILD.search(text):
                kinds = (0, 1, 2)  # (a test run or a linter compiles too)
            later = [p for p in passed if p[0] > cand.seq and p[2] in kinds]
            if later:
                # (the last run of a check that names what the line names, if one does: "The
                # test `TestX` failed" was overtaken by `go test -run TestX`, which says so
                # better than the whole suite's run after it)
                named = exact_names(text)
                naming = [p for p in later if _names_any(p[1], named)]
                shown = cut_words((naming or later)[-1][1], _SHORT_COMMAND_WORDS)
                cand = cand._replace(
                    text=f"{cand.text.rstrip('.')}{OVERTAKEN.format(shown)}.", names=None
                )
        out.append(cand)
    return out


__all__ = [
    "CONTRADICTED",
    "END_STATE",
    "END_STATE_SCORE",
    "NOT_WORKED",
    "OVERTAKEN",
    "USER_SAID",
    "end_state",
    "said_before_it_failed",
    "said_overtaken",
]
