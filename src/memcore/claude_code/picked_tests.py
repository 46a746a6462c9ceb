"""Which tests a check runs: the test-name filters of a test command, in the ways the common
runners are given them, so that a focused run (one test, or those a pattern picks) is not taken
for how the project is checked, and a failure is known to be overtaken only by a run of at
least its tests.

- a filter flag and its value (``go test -run X``, ``pytest -k x``, ``jest -t x``, ``--grep``),
  or the value joined to it (``-run=X``; pytest's ``-kx``);
- a runner's own filter flags (mocha's and Playwright's ``-g``, Deno's and dotnet's
  ``--filter``: pnpm's ``--filter`` picks a package, not tests);
- a pytest node id (``tests/test_a.py::test_b``: the file is what runs, ``test_b`` picks in it);
- ``cargo test NAME``: its words that are no flag nor a flag's value, before ``--`` and after
  it (the test binary's own filter; ``--skip X`` picks too).
"""

from __future__ import annotations

from memcore.claude_code.commands import is_check_command, is_trivial_command, unquoted_words

#: Flags whose value picks tests by name, matching every test whose name contains it (Go's
#: ``-run`` is an unanchored pattern, pytest's ``-k`` and jest's ``-t`` match substrings).
_TEST_FILTERS = frozenset(["-run", "--run", "-k", "-t", "--grep", "--testNamePattern"])
#: Filter flags of one runner only (named by a word of the command): elsewhere they mean
#: something else (``gcc -g``, ``pnpm --filter web``).
_RUNNER_FILTERS = {
    "mocha": frozenset(["-g", "--fgrep"]),
    "playwright": frozenset(["-g", "--grep-invert"]),
    "deno": frozenset(["--filter"]),
    "dotnet": frozenset(["--filter"]),
}
#: Programs whose ``-k`` and ``-t`` take no value: make's own switches.
_MAKES = frozenset(["make", "gmake"])
#: ``cargo test``'s flags that take a value (the next word), before and after ``--``.
_CARGO_VALUED = frozenset(
    [
        "-p", "--package", "-F", "--features", "--target", "--manifest-path", "-j", "--jobs",
        "--bin", "--test", "--bench", "--example", "--profile", "--target-dir", "--color",
        "--message-format", "-Z", "--config", "--exclude", "--test-threads", "--format",
        "--logfile", "--report-time", "--shuffle-seed",
    ]
)  # fmt: skip


#: Characters of a shell's redirections and command separators, which end a command's words.
_SHELL = frozenset("<>|;&")


def _program(word: str) -> str:
    """A word as the program it names (``./node_modules/.bin/mocha`` -> ``mocha``)."""
    return word.rsplit("/", 1)[-1]


def _filtered(command: str) -> tuple[tuple[str, ...], list[str]]:
    """A check's words without its test-name filters, and those filters (unquoted)."""
    words = unquoted_words(command)
    programs = {_program(word) for word in words}
    flags = _TEST_FILTERS.union(*(_RUNNER_FILTERS.get(p, ()) for p in programs))
    if not programs.isdisjoint(_MAKES):  # (make's ``-k`` keeps going, its ``-t`` touches)
        flags -= {"-k", "-t"}
    pytest = "pytest" in programs or "py.test" in programs
    at = _cargo_test(words)
    if at > 0:
        return _cargo_filtered(words, at)
    rest: list[str] = []
    filters: list[str] = []
    taking = False
    for word in words:
        flag, eq, value = word.partition("=")
        if taking:
            filters.append(word)
            taking = False
        elif flag in flags:
            if eq:
                filters.append(value)
            else:
                taking = True
        elif pytest and word.startswith("-k") and len(word) > 2 and word[2] != "-":
            filters.append(word[2:])  # (``-kround``: the value joined to the flag)
        elif pytest and "::" in word and not word.startswith("-"):
            path, _, name = word.partition("::")  # a node id: the file runs, the name picks
            rest.append(path)
            filters.append(name)
        else:
            rest.append(word)
    return tuple(rest), filters


def _cargo_test(words: list[str]) -> int:
    """Where ``test`` is in ``cargo test`` (with ``cargo``'s own switches before it, or none);
    -1 when the command is no ``cargo test``."""
    for at, word in enumerate(words):
        if _program(word) == "cargo":
            for later in range(at + 1, len(words)):
                if not words[later].startswith(("-", "+")):
                    return later if words[later] == "test" else -1
            return -1
    return -1


def _cargo_filtered(words: list[str], at: int) -> tuple[tuple[str, ...], list[str]]:
    """``cargo test``'s words (``test`` at ``at``) without its name filters, and those filters:
    the words after ``test`` that are no flag nor a flag's value (on both sides of ``--``), and
    ``--skip``'s."""
    rest, filters = list(words[: at + 1]), list[str]()
    taking = ""
    for word in words[at + 1 :]:
        if _SHELL.intersection(word):  # (a redirection or the next command: no more of it)
            break
        flag, eq, value = word.partition("=")
        if taking:
            (filters if taking == "--skip" else rest).append(word)
            taking = ""
        elif flag == "--skip":
            if eq:
                filters.append(value)
            else:
                taking = flag
        elif flag in _CARGO_VALUED:
            rest.append(word)
            taking = "" if eq else flag
        elif word.startswith("-"):  # (a switch, or ``--``)
            rest.append(word)
        else:
            filters.append(word)
    return tuple(rest), filters


def picks_tests(command: str) -> bool:
    """Whether check ``command`` runs only the tests a name filter picks (``go test -run X``,
    ``pytest -k x``, ``pytest tests/a.py::test_b``, ``cargo test name``): a focused run, not
    how the project is checked."""
    return bool(_filtered(command)[1])


def covers(passed: str, failed: str) -> bool:
    """Whether check ``passed`` ran at least the tests check ``failed`` ran: the same command but
    for its test-name filters, and each filter of ``failed`` starting with one of ``passed``'s
    (none: every test), so it picks a superset (``-run TestSession`` covers ``-run
    TestSessionWarning``, ``pytest a.py`` covers ``pytest a.py::test_b``; ``-run TestB`` does
    not cover ``-run TestA``, nor ``-run TestA`` ``-run 'TestA|TestB'``)."""
    if not is_check_command(failed) or is_trivial_command(failed):
        return False
    base, picks = _filtered(passed)
    failed_base, failed_picks = _filtered(failed)
    if base != failed_base or (picks and not failed_picks):
        return False
    if any("|" in pick for pick in (*picks, *failed_picks)):  # alternatives: not worked out
        return False
    return all(any(f.startswith(p) for p in picks) for f in failed_picks) if picks else True


__all__ = ["covers", "picks_tests"]
