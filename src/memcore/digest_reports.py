"""What the user reported of the agent's work: failure output they pasted (a traceback, a failing
test's output, a compiler's error), which says "that didn't work" as plainly as "still not
working" does, and the last such report when nothing after it was seen to work. Part of
:mod:`memcore.digest_lines` (the request's line, the open problem) and
:mod:`memcore.digest_state` (a turn the report says did not work).

A session's handover must not say a fix held when the user's next message was its failure: the
next session would start from a problem it believes solved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from memcore.claude_code.background import only_started
from memcore.claude_code.commands import is_project_check, normalize_command
from memcore.claude_code.tools import EDIT_TOOLS, quoted_list
from memcore.digest_prose import Candidate, cut_words
from memcore.digest_work import command_passed, shown_path, strs
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem
from memcore.session_items import is_pasted_output

#: The lines of a program's output that say what failed, best first: a test's failure (pytest's
#: summary line, Go's, Jest's and Vitest's), a compiler's or type checker's error at a place, a
#: Rust error, an exception (after a traceback, its last line: the one that names it), a panic,
#: a tool's own error line, a shell's. Each with whether it is a check's failure (a test, a
#: build, a type check: a later run of the project's checks that passed says it was fixed).
_KEY_SOURCES = (
    (r"^(?:FAILED|ERROR) \S+::\S+.*$", True),
    (r"^--- FAIL: \S+.*$", True),
    (r"^(?:FAIL|\u2715|\u00d7|\u2717)\s+\S+.*$", True),
    (
        r"^\S+?\.\w{1,5}(?::\d+(?::\d+)?:?|\(\d+,\d+\):?)\s+(?:- )?(?:fatal )?error\b.*$",
        True,
    ),
    (r"^\S+?\.go:\d+:\d+: .+$", True),
    (r"^error\[E\d+\]: .+$", True),
    (r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception)(?:: .+)?$", False),
    (r"^panic: .+$", False),
    (r"^(?:(?:error|fatal|FATAL|ERROR|Error)(?:\[\w+\])?:|npm ERR!) .+$", False),
    (
        (
            r"^.*\b(?:command not found|No such file or directory|Segmentation fault"
            r"|unknown (?:command|flag|option)|cannot find module|Cannot find module)\b.*$"
            # (a tool's own complaint: "go: cannot find main module")
            r"|^[\w.-]+: (?:cannot|can't|could not|couldn't|failed to|unable to)\b.*$"
        ),
        False,
    ),
    (r"^.*\b\d+ (?:failed|failing|errors?)\b.*$", True),
)
_KEY_LINES = tuple((lazy_compile(source), check) for source, check in _KEY_SOURCES)
#: Any of them: a message with no such line (most) is passed over in one scan of each line.
_ANY_KEY = lazy_compile("|".join(f"(?:{source})" for source, _ in _KEY_SOURCES))
#: A Python traceback's opening: its exception is its last line that names one.
_TRACEBACK = "Traceback (most recent call last)"
#: How many characters of a message are looked at, and the words of its key line said.
_REPORT_TEXT = 6000
KEY_WORDS = 14
#: A terminal's prompt before a command the user ran (``$ pytest``, ``user@host:~/x$ make``).
_PROMPT = lazy_compile(r"^(?:\([\w.-]+\) )?(?:[\w.-]+@[\w.-]+(?::\S*?| \S+)? ?[$%#]|\$) (\S.*)$")


def failure_key(text: str) -> tuple[str, bool] | None:
    """The line of a program's failure that ``text`` (a user's message) pastes, one line cut to
    ``KEY_WORDS`` words, and whether it is a check's failure (a test, a build: see
    ``_KEY_LINES``); None when it pastes none (prose that speaks of an error is no paste)."""
    if text in _KEYS_FOUND:  # (asked of a message by several rules)
        return _KEYS_FOUND[text]
    if len(_KEYS_FOUND) >= _KEYS_KEPT:
        _KEYS_FOUND.clear()
    found_key = _KEYS_FOUND[text] = _failure_key(text)
    return found_key


#: ``failure_key``'s answers by message (at most ``_KEYS_KEPT``, then forgotten at once).
_KEYS_FOUND: dict[str, tuple[str, bool] | None] = {}
_KEYS_KEPT = 512


def _failure_key(text: str) -> tuple[str, bool] | None:
    lines = [line.strip() for line in text[:_REPORT_TEXT].splitlines()]
    candidates = [line for line in lines if line and _ANY_KEY.match(line) is not None]
    if not candidates:
        return None
    traced = any(line.startswith(_TRACEBACK) for line in lines)
    for number, (pattern, check) in enumerate(_KEY_LINES):
        found = [line for line in candidates if pattern.match(line) is not None]
        if number == _EXCEPTION and found and not traced:  # (a name and its message only)
            found = [line for line in found if ": " in line]
        if found:
            key = found[-1] if number == _EXCEPTION else found[0]
            return cut_words(key.replace('"', "'"), KEY_WORDS), check
    return None


_EXCEPTION = 6  # (the index of the exception's pattern in ``_KEY_LINES``)


def pasted_command(text: str) -> str | None:
    """The command the user's pasted terminal shows run (after its prompt), the last one."""
    found = None
    for line in text[:_REPORT_TEXT].splitlines():
        prompt = _PROMPT.match(line.strip())
        if prompt is not None:
            found = normalize_command(prompt.group(1))
    return found


#: The user saying what the agent's last turn did did not work ("still didn't work", "same
#: error", "still getting ..."), looked for at the start of their next message.
NOT_WORKED = lazy_compile(
    r"(?i)\b(?:still (?:not\b|no\b|doesn'?t|does not|didn'?t|did not|fails?\b|failing|broken"
    r"|the same|getting|seeing|shows?\b|happening|hangs?\b|errors?\b)|(?:didn'?t|did not"
    r"|doesn'?t|does not) (?:work|help|fix|change)\b|not working|same (?:error|problem|issue"
    r"|result)\b|no luck)"
)
#: The user's words saying it works ("it works now", "that worked"): a failure in the output
#: they paste with them is not what they report.
_WORKS = lazy_compile(
    r"(?i)(?<![\w/.-])(?:works?|worked|working|passe[sd]|succeed(?:s|ed)?|fixed)(?: now| fine"
    r"| again)?(?![\w/.-])(?!\s*(?:n'?t|not)\b)"
)
#: How much of the user's next message is looked at for their words, and how much is quoted.
REPORT_CHARS = 200
_REPORT_WORDS = 8
_SENTENCE_END = lazy_compile(r"[.!?\n]")
#: How a result line the user's next message said did not work is marked: their words, the
#: failure they pasted, or both.
CONTRADICTED = ' (then the user: "{}")'
PASTED_FAILURE = ' (then the user pasted: "{}")'
_BOTH = ' (then the user: "{}", pasting "{}")'


class Report(NamedTuple):
    """A user's message read as a report that something did not work: their words saying so
    (empty when they only pasted), the pasted failure's line and whether a check failed."""

    said: str
    key: str
    check: bool

    def mark(self) -> str:
        """How a result line of the turn it answers is marked."""
        if self.said and self.key:
            return _BOTH.format(self.said, self.key)
        return CONTRADICTED.format(self.said) if self.said else PASTED_FAILURE.format(self.key)


def _says_it_works(head: str) -> bool:
    """Whether the user's own words opening ``head`` (its first line, when no program's output)
    say it works."""
    first = head.split("\n", 1)[0]
    return (
        _WORKS.search(first) is not None
        and not is_pasted_output(first)
        and failure_key(first) is None
    )


def reported_failure(text: str) -> Report | None:
    """``text``, a user's message, read as a report that what was done did not work: their
    words ("still not working", :data:`NOT_WORKED`, at its start) or a program's failure they
    pasted (:func:`failure_key`); None when it is neither."""
    head = text[:REPORT_CHARS]
    found = NOT_WORKED.search(head)
    key = failure_key(text)
    if found is None and key is not None and _says_it_works(head):
        return None  # ("ok, it generally works now but ...": what it pastes is no failure of it)
    if found is None and key is None:
        return None
    said = "" if found is None else words_from(head, found.start())
    return Report(said, "" if key is None else key[0], key is not None and key[1])


def words_from(head: str, start: int) -> str:
    """The user's words in ``head`` from ``start`` to the end of their sentence, at most
    ``_REPORT_WORDS`` of them, as a mark quotes them (double quotes made single)."""
    words = _SENTENCE_END.split(head[start:], 1)[0].split()[:_REPORT_WORDS]
    return " ".join(words).rstrip(".,;:!").replace('"', "'")


#: A result line that claims something works ("The attribution is now working correctly",
#: "Fixed the import", "All tests pass"): what a failure pasted next says did not hold.
CLAIMS_SUCCESS = lazy_compile(
    r"(?i)\b(?:works?|working|worked|fixed|resolved|pass(?:es|ed|ing)?|succeed\w*|complete[ds]?"
    r"|done|correct(?:ly)?|no longer)\b"
)
_WORD = lazy_compile(r"[a-z0-9_]{2,}")
#: The share of a pasted failure's words the agent's reply before it must say to have named
#: it already (the user pointing at what the agent said it left, not a failure of its claims).
_NAMED_SHARE = 0.67


def named_before(key: str, reply: str) -> bool:
    """Whether the agent's ``reply`` names the failure whose line is ``key`` already."""
    words = set(_WORD.findall(key.lower()))
    if not words:
        return False
    said = set(_WORD.findall(reply.lower()))
    return len(words & said) >= _NAMED_SHARE * len(words)


#: How the open problem of the user's last report is said.
UNMET_REPORT = "- Not seen working after the user's last report: "


#: A user's message giving the logs of the project's CI failing ("Fix the failing CI actions.
#: I've attached the failure logs.", a failing workflow's output pasted): its words name the
#: CI and a failure, and it attaches a file or pastes a failure.
_CI_NAMED = lazy_compile(
    r"(?i)\b(?:CI|github actions?|(?:CI|GH) actions?|pipelines?|workflows?|(?:CI|PR) checks?)\b"
)
_FAILURE_NAMED = lazy_compile(r"(?i)\bfail(?:s|ed|ing|ures?)?\b")
_ATTACHED = lazy_compile(r"\(attached: (`[^`\n]+`)")
#: A look at the CI's runs (``gh run view``, ``gh run watch``, ``gh pr checks``) whose output
#: says they passed, and says no failure.
_CI_LOOK = lazy_compile(r"^gh (?:run (?:view|watch|list)|pr checks)\b")
_CI_PASSED = lazy_compile(r"(?i)\b(?:success|passed|pass)\b|\u2713")
_CI_FAILED = lazy_compile(r"(?i)\bfail(?:ed|ing|ure|s)?\b|\u2717")


def ci_report(text: str) -> Report | None:
    """``text``, a user's message, read as the logs of the project's CI failing, given as a
    file attached or pasted (:data:`_CI_NAMED`): their words (its first sentence), the
    failure's line when pasted; None for any other message."""
    head = text[:REPORT_CHARS]
    if _FAILURE_NAMED.search(head) is None or _CI_NAMED.search(head) is None:
        return None
    key = failure_key(text)
    if key is None and _ATTACHED.search(text) is None:
        return None
    return Report(words_from(head, 0), "" if key is None else key[0], True)


def unmet_report(items: Sequence[MemoryItem], report: int, root: str | None) -> list[Candidate]:
    """The open problem of the user's report at item ``report`` (their last message: "still
    not working", "same error", a failure pasted: :func:`reported_failure`) when the agent
    answered it and nothing since was seen to work: a check that passed
    after the last edit, when what failed was a check, or a run of the very command the user's
    pasted terminal showed. Said with the edits made since, not as their result (the user has
    not said). Nothing when the agent did not answer: the open request's line says it.

    The logs of the CI failing, attached or pasted (:func:`ci_report`; the first request too),
    are seen fixed by a look at the CI's runs that passed, or by a check that failed here
    since (the failure shown here) and passed after the last edit: checks that passed here
    only say the failure did not show here."""
    text = items[report].content
    ci = ci_report(text)
    told = ci or reported_failure(text)
    if told is None or not (ci or told.said or _after_work(items, report)):
        return []  # (a failure pasted first is the task, not a report of the agent's work)
    answered = False
    edited: dict[str, None] = {}
    passed_since_edit = False
    ran_again = False
    failed_here = False  # (a check failed since the report: the CI's failure shown here)
    ci_passed = False  # (a look at the CI's runs since the last edit says they passed)
    command = pasted_command(text)
    for item in items[report + 1 :]:
        meta = item.metadata
        kind = meta.get("kind")
        if kind in ("task", "preference") and meta.get("role") == "user":
            return []  # (they spoke again, not of it failing: moved on, or said how to go on)
        if kind == "fact" and meta.get("role") == "assistant" and not meta.get("sidechain"):
            answered = True
        elif kind == "tool_call" and meta.get("tool") in EDIT_TOOLS and meta.get("file_path"):
            shown = shown_path(meta, root)
            edited.pop(shown, None)
            edited[shown] = None
            passed_since_edit = ci_passed = False
        ran = command_passed(meta)
        if ran is not None and not only_started(meta):
            core = normalize_command(ran)
            if command is not None and core == command:
                ran_again = True
            elif is_project_check(core):
                passed_since_edit = True
            elif ci is not None and _CI_LOOK.match(core) is not None:
                outcome = "\n".join(strs(meta.get("outcome")))
                passed = _CI_PASSED.search(outcome) is not None
                ci_passed = passed and _CI_FAILED.search(outcome) is None
        elif ci is not None and meta.get("kind") == "error" and meta.get("tool") == "Bash":
            failed_here = failed_here or is_project_check(str(meta.get("command", "")))
    if ci is not None:  # (checks that passed here, the failure never shown here: not fixed)
        passed_since_edit = ci_passed or (passed_since_edit and failed_here)
    if not answered or ran_again or (passed_since_edit and told.check):
        return []
    said = f'"{told.said}"' if told.said else ""
    if told.key:
        said += f' (pasting "{told.key}")' if said else f'pasted "{told.key}"'
    if ci is not None:  # (said first: a line cut to fit keeps it)
        attached = _ATTACHED.search(text) if not told.key else None
        logs = "" if attached is None else f"; its logs attached: {attached.group(1)}"
        said += f" (no run of the CI seen passing since{logs})"
    if edited:
        said += f" (edited since: {quoted_list(list(edited)[-3:])})"
    return [Candidate("open", report, 6.5, f"{UNMET_REPORT}{said}.")]


def _after_work(items: Sequence[MemoryItem], report: int) -> bool:
    """Whether the agent did anything before item ``report`` (a failure pasted then is what
    that work came to)."""
    return any(item.metadata.get("role") == "assistant" for item in items[:report])


def failure_said(text: str, shown: str = "") -> str:
    """How a user's message (``text``) pasting a failure says so, with the failure's line
    first (a request line cut to fit keeps it): ' a failure ("KeyError: 'x'")', or ' a
    failure' when the start of the line (``shown``) says it already; empty when it pastes
    none."""
    key = failure_key(text)
    if key is None:
        return ""
    if key[0].rstrip("\u2026") in shown[: 2 * len(key[0])].replace('"', "'"):
        return " a failure"
    return f' a failure ("{key[0]}")'


__all__ = [
    "CLAIMS_SUCCESS",
    "CONTRADICTED",
    "KEY_WORDS",
    "NOT_WORKED",
    "PASTED_FAILURE",
    "REPORT_CHARS",
    "UNMET_REPORT",
    "Report",
    "ci_report",
    "failure_key",
    "failure_said",
    "named_before",
    "pasted_command",
    "reported_failure",
    "unmet_report",
    "words_from",
]
