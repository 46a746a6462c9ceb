"""What a git command changed, read from its output: the commits it made and the branches it
pushed.

"Committed ``69ba36cf`` on ``alex/ent-221``: Wire session.Transition() into hook handlers" is
a result the next agent needs (what is saved, on which branch, under which message), and one
an agent's own words rarely repeat. git says it in fixed forms, whatever the command around it
(``git add ... && git commit -m "$(cat <<'EOF' ...)"``): ``[branch sha] subject`` for each
commit, ``old..new  branch -> branch`` for each ref a push updated.
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
#: At most this many commits and pushed refs are kept of one command's output.
MAX_GIT_RESULTS = 8


def _runs_git(command: str) -> bool:
    return "git" in command


def commits_made(command: str, text: str) -> list[list[str]]:
    """``[branch, sha, subject]`` of each commit ``command``'s output reports, in order."""
    if not _runs_git(command) or "] " not in text:
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


__all__ = ["MAX_GIT_RESULTS", "commits_made", "git_result_lines", "refs_pushed"]
