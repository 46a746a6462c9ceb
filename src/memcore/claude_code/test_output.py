"""What a test runner's output says of its failures, beyond the lines that hold a word of
failure: Go's ``go test`` (each failed test's ``--- FAIL`` line and what the test printed) and
pytest (the tally, each failed test and the exception or assertion its traceback ended in;
the traceback's code lines, which name ``error`` and ``raise`` at every step, are no statement).

Pure functions of a run's lines, stripped, used by :func:`memcore.claude_code.commands.error_lines`.
"""

from __future__ import annotations

from memcore.lazy_re import lazy_compile

#: Go's test runner: a test's header (``=== RUN TestX``, ``--- FAIL: TestX (0.01s)``) and a
#: line a test printed (``x_test.go:760: got 33.3%, want 42.9%``, ``t.Errorf``'s and ``t.Log``'s).
_GO_TEST_HEADER = lazy_compile(r"^(?:=== (?:RUN|CONT|PAUSE|NAME)|--- (FAIL|PASS|SKIP):)\s+(\S+)")
GO_TEST_LINE = lazy_compile(r"^[\w./-]*_test\.go:\d+: \S")


#: Words of a test's failure message (``got 12, want 10``, ``should have``), not of its logs.
ASSERTS = lazy_compile(
    r"(?i)\b(?:want|wanted|expected|expect|got|should|must|mismatch|incorrect|unexpected|"
    r"failed|error|not equal|differ)\b|!=|=="
)
#: What a failed Go test's lines give: at most this many, its failure messages first.
_GO_TEST_SAID = 3


def go_test_lines(lines: list[str]) -> tuple[dict[str, list[str]], dict[str, str], set[str]]:
    """Of a ``go test`` run's lines (stripped): by each failed test's ``--- FAIL`` line, what
    the test printed (its failure messages first: ``want 42.9%``), and which test's each of
    those lines is; and the lines printed while a test that passed ran (its logs: no error,
    whatever words they hold). A line belongs to the test of the header before it: ``-v``
    prints a test's lines after its ``=== RUN``, a quiet run after its ``--- FAIL``."""
    by_test: dict[str, list[str]] = {}
    ended: dict[str, tuple[str, str]] = {}  # a test's outcome and the line that said it
    current: str | None = None
    running = False  # after a test's ``=== RUN``: what it prints, whatever the line
    for line in lines:
        header = _GO_TEST_HEADER.match(line)
        if header is not None:
            current, running = header.group(2), header.group(1) is None
            if header.group(1):
                ended[current] = (header.group(1), line)
        elif current is not None and (running or GO_TEST_LINE.match(line)):
            by_test.setdefault(current, []).append(line)
        else:  # (after a test's end, only its ``x_test.go:N:`` lines are its: not ``FAIL``)
            current = None
    told: dict[str, list[str]] = {}
    test_of: dict[str, str] = {}
    logged: set[str] = set()
    for name, printed in by_test.items():
        outcome, said = ended.get(name, ("", ""))
        if outcome == "FAIL":
            own = [line for line in printed if GO_TEST_LINE.match(line)]
            own.sort(key=lambda line: ASSERTS.search(line) is None)  # (stable: in order)
            told[said] = own[:_GO_TEST_SAID]
            test_of.update((line, said) for line in own)
        elif outcome == "PASS":
            logged.update(printed)
    return told, test_of, logged - test_of.keys()


#: pytest's section banners (``===== FAILURES =====``, ``=== short test summary info ===``)
#: and its closing tally (``===== 1 failed, 22 passed in 0.62s =====``; bare with ``-q``).
_BANNER = lazy_compile(r"^={3,} ?(.*?) ?={3,}$")
_TALLY = lazy_compile(r"^\d+ [a-z]+(?:, \d+ [a-z]+)* in \d[\d.]*s\b")
#: A failure's block header in the FAILURES or ERRORS section (``____ TestA.test_b ____``,
#: ``_ ERROR at setup of test_c _``), and the ``_ _ _`` line between chained tracebacks.
_BLOCK = lazy_compile(r"^_+ (?!_)(.+?) _+$")
_CHAIN = lazy_compile(r"^(?:_ )+_?$")
#: A line of pytest's explanation of a failure (``E       ValueError: ...``), and what it says.
_EXPLAINED = lazy_compile(r"^E\s{2,}(\S.*)$")
#: A failed test named in the summary (``FAILED tests/a.py::test_b - AssertionError: ...``) and
#: in ``-v``'s progress (``tests/a.py::test_b FAILED [ 91%]``).
_SUMMARY = lazy_compile(r"^(?:FAILED|ERROR) (\S+)(?: - .*)?$")
_PROGRESS = lazy_compile(r"^(\S+::\S+) (FAILED|ERROR)(?: +\[ *\d+%\])?$")
#: What a block header says before the test's name (a fixture's or a module's error).
_BLOCK_LEAD = lazy_compile(r"^ERROR (?:at (?:setup|teardown) of|collecting) ")
_BODIES = ("failures", "errors")
#: Sections whose lines say no failure (``warnings summary``, ``slowest 10 durations``,
#: ``PASSES``, coverage's table): read as no output's. Any other banner's lines are read as
#: any output's.
_SAY_NOTHING = lazy_compile(r"^(?:warnings summary|slowest\b|passes$|(?:tests )?coverage\b)")
#: What only pytest prints: its sections' banners, or its tally between ``=`` runs.
_PYTEST_SECTION = lazy_compile(
    r"^(?:test session starts|failures|errors|short test summary info|"
    r"\d+ [a-z]+(?:, \d+ [a-z]+)* in\b)"
)


def _test_key(test_id: str) -> str:
    """A test's name as its block header gives it: ``tests/a.py::TestA::test_b`` ->
    ``TestA.test_b``; a module's (a collection error) its path."""
    return test_id.split("::", 1)[1].replace("::", ".") if "::" in test_id else test_id


def pytest_failures(lines: list[str]) -> tuple[list[str], int, list[str]] | None:
    """What a pytest run's output (its lines, stripped) says of its failures: the lines left to
    read as any output's (those outside pytest's own sections: a Makefile's, the session
    header), where in them pytest's statements stand, and the statements: each failed test's
    summary line with the first line of its explanation (``ValueError: not enough values to
    unpack``; a lead-in ending in ``:`` with the line after it), the tally third (a command's
    outcome in a digest is its first two lines: the first failure and how it failed, or the
    first two failures). None when the lines are no pytest output."""
    if not any(
        (banner := _BANNER.match(line)) and _PYTEST_SECTION.match(banner.group(1).lower())
        for line in lines
    ):
        return None
    first = next(
        (i for i, line in enumerate(lines) if _BANNER.match(line) or _BLOCK.match(line)), 0
    )
    # output cut in the middle of a traceback (`| tail -60`): what comes before is its body
    section = "failures" if any(_EXPLAINED.match(line) for line in lines[:first]) else ""
    rest: list[str] = []
    at = -1
    tally = ""
    failed: list[tuple[str, str]] = []  # (a failed test's id, the line that named it)
    progress: list[tuple[str, str]] = []
    explained: dict[str, list[str]] = {}  # by block header: its explanation's lines
    block = ""
    for line in lines:
        banner = _BANNER.match(line)
        shown = banner.group(1) if banner else line
        if _TALLY.match(shown):
            tally = tally or shown
        elif banner is not None:
            section = shown.lower()
            block = ""
        elif _SAY_NOTHING.match(section):
            pass
        # (an explanation's line also where Claude Code cut the output before its section)
        elif (explaining := _EXPLAINED.match(line)) is not None:
            explained.setdefault(block, []).append(explaining.group(1))
        elif line == "E" and block in explained:
            explained[block].append("")
        elif section in _BODIES:  # a block's header; the rest of a block is its traceback
            header = _BLOCK.match(line)
            if header is not None and not _CHAIN.match(line):
                block = _BLOCK_LEAD.sub("", header.group(1))
        elif (named := _SUMMARY.match(line)) is not None:
            failed.append((named.group(1), line))
        elif (ran := _PROGRESS.match(line)) is not None:
            progress.append((ran.group(1), f"{ran.group(2)} {ran.group(1)}"))
        else:  # (a Makefile's line, the session's header, "Interrupted: 1 error")
            rest.append(line)
            continue
        if at < 0:
            at = len(rest)
    named_ids = {test for test, _ in failed}
    failed += [(test, said) for test, said in progress if test not in named_ids]
    statements: list[str] = []
    told: set[str] = set()
    for test, named_by in failed:
        statements.append(named_by)
        key = _test_key(test)
        block_key = key if key in explained else test if test in explained else None
        if block_key is not None:
            told.add(block_key)
            explanation = _explanation(explained[block_key])
            if explanation and explanation[:40] not in named_by:
                statements.append(explanation)
    statements += [_explanation(said) for key, said in explained.items() if key not in told]
    if tally:
        statements.insert(min(len(statements), 2), tally)
    return rest, max(at, 0), [s for s in dict.fromkeys(statements) if s]


def _explanation(said: list[str]) -> str:
    """A failure's explanation by its first line, and the line after it when the first only
    leads in (``AssertionError: pattern violations found:`` ``- a.py: not imported``)."""
    first = said[0] if said else ""
    if first.endswith(":") and len(said) > 1 and said[1]:
        first = f"{first} {said[1].removeprefix('- ')}"
    return first


__all__ = ["ASSERTS", "GO_TEST_LINE", "go_test_lines", "pytest_failures"]
