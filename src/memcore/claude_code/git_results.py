"""What a git command changed, read from its output: the commits it made and the branches it
pushed.

"Committed ``69ba36cf`` on ``alex/ent-221``: Wire session.Transition() into hook handlers" is
a result the next agent needs (what is saved, on which branch, under which message), and one
an agent's own words rarely repeat. git says it in fixed forms, whatever the command around it
(``git add ... && git commit -m "$(cat <<'EOF' ...)"``): ``[branch sha] subject`` for each
commit, ``old..new  branch -> branch`` for each ref a push updated.

Such a line is a commit made only in the output of a git command that makes commits (``git
commit``, ``git cherry-pick``, ``git revert``, a merge or rebase carried on): ``git log
--format``, ``cat``, ``echo`` or ``grep`` print what was committed before, not a commit of the
session. ``gh pr merge`` merges on the forge and prints no such line (its act is an outside
action's, see :mod:`memcore.claude_code.outside_actions`).
"""

from __future__ import annotations

from memcore.lazy_re import lazy_compile

#: ``[main 1a2b3c4] Fix rounding`` (``[main (root-commit) 1a2b3c4]``, ``[detached HEAD ...]``).
_COMMIT = lazy_compile(
    r"(?m)^\[(?P<branch>[^\]\n]+?)(?P<root> \(root-commit\))? (?P<sha>[0-9a-f]{7,40})\] "
    r"(?P<subject>[^\n]+)$"
)
#: A ref a push updated: `` + 378b6b7...5da67d1 topic -> topic (forced update)``,
#: ``   1d332f0..378b6b7  main -> main``, `` * [new branch]      topic -> topic``.
_PUSHED = lazy_compile(
    r"(?m)^ ?(?P<flag>[ +*])\s*(?P<range>[0-9a-f]{7,40}\.\.\.?[0-9a-f]{7,40}|\[new branch\])"
    r"\s+(?P<source>\S+) -> (?P<ref>\S+?)(?P<forced> \(forced update\))?\s*$"
)
#: ``git init``: a first commit after it is of a scratch repository (a probe of git's own
#: behaviour), not of the project.
_GIT_INIT = lazy_compile(r"\bgit\s+init\b")
#: A git command that makes commits (and prints ``[branch sha] subject`` for each), where a
#: command starts: at the start, after ``&&``, ``||``, ``;``, ``|``, ``(``, ``$(``, a backtick,
#: a new line, ``if``, ``then``, ``else`` or ``do``, or in a shell's ``-c`` string; past
#: ``VAR=value``s and what only wraps it (``sudo``, ``env``, ``time``, ``timeout 60``), and
#: git's own options before its subcommand (``git -C repo``, ``git -c user.name=x``, ``git
#: --no-pager``). A rebase prints the line for each commit it stopped to edit or reword, a
#: merge for the commit that concludes it (``git merge --continue``). Each option reads one way
#: (a value only after ``-C`` or ``-c``, and never one that starts with a dash): options that
#: could be read two ways made a search exponential in their number.
_MAKES_COMMITS = lazy_compile(
    r"(?:^|[;&|(`\n{]|\$\(|\b(?:if|then|else|do)\s|\s-\w*c\s+[\"'])\s*"
    r"(?:(?:[A-Za-z_]\w*=\S*|sudo|env|time|nice|command|exec|timeout\s+[\d.]+[smh]?)\s+)*"
    r"(?:\S*/)?git(?:\s+(?:-[Cc]\s+(?!-)\S+|-\S*))*"
    r"\s+(?:commit|cherry-pick|revert|merge|rebase)(?![\w-])"
)
#: At most this many commits and pushed refs are kept of one command's output.
MAX_GIT_RESULTS = 8


def _runs_git(command: str) -> bool:
    return "git" in command


def makes_commits(command: str) -> bool:
    """Whether ``command`` runs a git command that makes commits (see ``_MAKES_COMMITS``), not
    one that only shows them (``git log``, ``cat``, ``echo "[main 1a2b3c4] x"``)."""
    return _runs_git(command) and _MAKES_COMMITS.search(command) is not None


def commits_made(command: str, text: str) -> list[list[str]]:
    """``[branch, sha, subject]`` of each commit ``command``'s output reports, in order: none
    when ``command`` makes no commits (:func:`makes_commits`), whatever its output shows."""
    if "] " not in text or not makes_commits(command):
        return []
    scratch = _GIT_INIT.search(command) is not None  # a repository the command itself made
    found = [
        [m.group("branch"), m.group("sha"), m.group("subject").strip()]
        for m in _COMMIT.finditer(text)
        if not (scratch and m.group("root"))
    ]
    return found[:MAX_GIT_RESULTS]


def refs_pushed(command: str, text: str) -> list[list[str]]:
    """``[ref, what]`` of each ref ``command``'s push updated, in order; ``what``: the range
    (``1d332f0..378b6b7``), ``new`` for a new branch, the range and ``forced`` after a force
    push (``378b6b7...5da67d1 forced``)."""
    if not _runs_git(command) or " -> " not in text:
        return []
    pushed: list[list[str]] = []
    for m in _PUSHED.finditer(text):
        what = "new" if m.group("range") == "[new branch]" else m.group("range")
        if m.group("forced") or m.group("flag") == "+":
            what += " forced"
        pushed.append([m.group("ref"), what])
    return pushed[:MAX_GIT_RESULTS]


def git_result_lines(commits: list[list[str]], pushed: list[list[str]]) -> list[str]:
    """The outcome lines of a git command that committed or pushed, as git printed them."""
    lines = [f"[{branch} {sha}] {subject}" for branch, sha, subject in commits]
    for ref, what in pushed:
        if what == "new":
            lines.append(f"[new branch] -> {ref}")
        else:
            forced = " (forced update)" if what.endswith(" forced") else ""
            lines.append(f"{what.removesuffix(' forced')} -> {ref}{forced}")
    return lines


__all__ = [
    "MAX_GIT_RESULTS",
    "commits_made",
    "git_result_lines",
    "makes_commits",
    "refs_pushed",
]
