"""Whether a sentence of the agent's stands on its own as a digest line
(:mod:`memcore.digest_standalone`): a name with nothing said of it, places in files alone, a
finding that does not say what it found, a statement that work is done naming no work, and a
lead-in whose list was left behind are no lines; a lead-in closes at its last whole clause."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memcore import digest_standalone
from memcore.digest_standalone import says_of_its_names, standalone


@pytest.mark.parametrize(
    ("sentence", "names", "line"),
    [
        ("I found the bug!", 0, None),
        ("I've found the root cause.", 0, None),
        ("The trace reveals the problem.", 0, None),
        ("Here's what was fixed:", 0, None),
        ("A `metadata.json` looks like this:", 1, None),
        ("The output is as follows:", 0, None),
        ("Test: Added `TestX` which:", 1, "Test: Added `TestX`."),
        ("Updated `f()` in `g.go` to:", 2, "Updated `f()` in `g.go`."),
        ("The duplication is not terrible because:", 0, "The duplication is not terrible."),
        ("Added 3 new tests:", 0, "Added 3 new tests."),
        # a gerund whose object was the list goes with its preposition
        ("Fixed telemetry blocking CLI exit by setting:", 0, "Fixed telemetry blocking CLI exit."),
        ("Cleaned up the folder after moving:", 0, "Cleaned up the folder."),
        ("Tests that when `f` is called with no changes, it:", 1, None),
        ("I fixed it:", 0, "I fixed it."),
        ("The build is failing:", 0, "The build is failing."),
        # the clause the list completed goes with it; a clause left open is no statement
        ("The editor flow uses `f` which adds:", 1, "The editor flow uses `f`."),
        ("Rewrote the doc as `a.md` - it now describes:", 1, "Rewrote the doc as `a.md`."),
        ("If you're not seeing the comment, it could be because:", 0, None),
        # a hedge whose reason was the list, a subordinate clause whose main clause was
        ("If the user saw it in Session B, it's likely because:", 0, None),
        ("When `ListAllCleanupItems()` is called:", 1, None),
        ("When I ran the tests, `f` failed with:", 1, "When I ran the tests, `f` failed."),
        ("Updated `f` in `g.go` because:", 2, "Updated `f` in `g.go`."),
        # (a held-out session: said "..., via brew, but" with the list it opened left out)
        (
            "On CI, the workflow installs `macfuse` via brew, but:",
            1,
            "On CI, the workflow installs `macfuse` via brew.",
        ),
        ("Looking at the state files, session `34157bc5` has:", 1, None),
        ("Let me check what `GetSessionState` does:", 1, None),
        (
            "Instead of boolean ownership, track counts:",
            0,
            "Instead of boolean ownership, track counts.",
        ),
        ("The remaining `[:7]` usages are:", 1, None),
        ("The key changes include:", 0, None),
        ("Root cause: `x` was `Shown:", 2, "Root cause: `x` was `Shown:"),  # a cut code span
        ("I found the bug in `merge()`.", 1, "I found the bug in `merge()`."),
        ("The bug was a map iterated in random order.", 0, None),
        ("All 19 tests pass.", 0, "All 19 tests pass."),
        # one name and nothing said of it (a nested item of a worked example) is no statement
        ("`import random` (1 line)", 1, None),
        ("- `checkpoint_count: 0` (NO checkpoints!)", 1, None),
        ("`TestX` (`x_test.go:186-309`)", 2, "`TestX` (`x_test.go:186-309`)"),
        ("`f()` returns early", 1, "`f()` returns early"),
        # a label that says where is no statement; a verb is one
        ("File: `/home/a/packages/core/package.json` (lines 7-12)", 1, None),
        ("Fixed: `merge()`", 1, "Fixed: `merge()`"),
        # places in files and nothing said of them; a name beside its place says where it is
        ("`cmd/cleanup.go:69-79` and `cmd/strategy/cleanup.go:377-387`", 2, None),
        ("`cleanup.go`, lines 373-419", 1, None),
        ("`a/b.go:30`, `c.go:85-107` (and `d.py`)", 3, None),
        ("`a.go:329` - `T.CreatedAt`", 2, "`a.go:329` - `T.CreatedAt`"),
        ("`a.go:69-79` and `b.go:3` call `f()`", 3, "`a.go:69-79` and `b.go:3` call `f()`"),
    ],
)
def test_a_line_stands_on_its_own(sentence: str, names: int, line: str | None) -> None:
    expected = sentence if sentence.startswith("The bug was") else line
    assert standalone(sentence, names) == expected


@given(
    said=st.builds(
        "".join,
        st.lists(
            st.sampled_from(
                [
                    "I found ",
                    "the ",
                    "a ",
                    "real ",
                    "Root ",
                    "bug",
                    "BUG",
                    "issue",
                    "i\u017f\u017fue",
                    "\u0130ssue",
                    "cause",
                    "culprit",
                    "problem",
                    " ",
                    "\t",
                    ".",
                    "!",
                    "\n",
                    "x",
                    "'",
                ]
            ),
            max_size=8,
        ),
    )
)
def test_the_finding_test_skips_only_what_the_pattern_rejects(said: str) -> None:
    """``standalone`` tries its finding pattern only where the cheap test says the text may
    end as one does: the test never hides a match (case folding included)."""
    if digest_standalone._FINDING_ONLY.match(said):
        assert digest_standalone._may_be_finding(said)


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("The fix is complete.", False),  # says work is done, names no work
        ("All changes are complete.", False),
        ("All test modifications verified.", False),
        ("The unit tests pass.", True),  # an outcome: which check passed
        ("The fix to the rounding is complete.", True),  # names what was fixed
        ("The file was modified.", False),  # a tool did as asked (held-out sessions' lines)
        ("Both edits were applied successfully.", False),
        ("The command completed successfully.", False),
        ("The file was modified by a linter.", True),  # by whom: news
        ("The changes were applied to both handlers.", True),
    ],
)
def test_a_statement_that_work_is_done_must_name_the_work(said: str, kept: bool) -> None:
    assert (standalone(said, 0) is not None) == kept


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("I can see the structure.", False),  # (a held-out session's spare line)
        ("Now I have a clear picture.", False),
        ("I have a clear picture of everything.", False),  # (a development session's)
        ("I have a clear picture of the flow now.", False),
        ("I understand the code now.", False),
        ("I can see the test file uses pytest fixtures.", True),  # what it saw
        ("I see three callers of the loader.", True),
        ("The issue is clear.", False),  # (a held-out session's decision line)
        ("Now it's clear.", False),
        ("The fix is straightforward.", False),
        ("The fix is simple and correct.", False),
        ("The issue is clear: the cache is never flushed.", True),
        ("Setting up the environment variables...", False),  # (a thinking step's caption)
        ("Setting up the environment variables fixed it.", True),
        ("Ready for your next instructions.", False),  # (a held-out session's six of them)
        ("Ready to proceed with UAT testing.", False),
        ("The API is ready to serve requests on port 3000.", True),
        ("Ready to merge.", True),  # (the work's readiness: a verdict)
        ("Ready for review.", True),
        ("I now have comprehensive research findings.", False),  # (a development session's)
        ("Now I have all the information I need.", False),
        ("I have enough information.", False),
        ("I have a detailed plan for the cache.", True),
    ],
)
def test_saying_it_sees_must_say_what_it_saw(said: str, kept: bool) -> None:
    assert (standalone(said, 0) is not None) == kept


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("I can see the `checkConcurrentSessions()` function.", False),  # (a development
        ("Looking at the `Session` struct.", False),  # session's, at 2,000 tokens)
        ("Now I see `loadConfig()`.", False),
        ("I can see that `loadConfig()` reads the file twice.", True),
        ("I see there's a `Logger` option.", True),
        ("The `Session` struct has no lock.", True),
    ],
)
def test_seeing_one_named_thing_must_say_something_of_it(said: str, kept: bool) -> None:
    assert says_of_its_names(said, 1) == kept


def test_a_quoted_text_alone_is_no_line() -> None:
    """A list of suggested messages, item by item: each a quote, stating nothing of it."""
    assert standalone('"\u2713 Settings saved to settings.local.json (gitignored)"', 0) is None
    assert standalone("\u201cUse the cache\u201d.", 0) is None
    assert standalone('"Settings saved" is printed twice.', 0) is not None
    # one word's quoted description: an agent's thinking over the sub-agents it was shown
    described = 'test-doc: "Use this agent when the user needs markdown files created"'
    assert standalone(described, 0) is None
    assert standalone('The message is: "Settings saved"', 0) is not None  # (more than a word)


@pytest.mark.parametrize(
    "said",
    ["Now when running `entire enable`:", "So if the cache is cold:", "When `f()` is called:"],
)
def test_a_clause_whose_main_clause_was_its_list_is_no_line(said: str) -> None:
    assert standalone(said, 1 if "`" in said else 0) is None


def _names_only_places(said: str) -> bool:
    """``only_locations`` as its docstring defines it, word by word with no shortcut."""
    pieces = said.split("`")
    if len(pieces) % 2 == 0 or len(pieces) < 3:  # (a span left open, or none: no places)
        return False
    words = " ".join(pieces[0::2]).replace("(", " ").replace(")", " ").split()
    if words[:1] == ["-"] and said.startswith("-"):
        words = words[1:]
    if words and words[0].endswith(":") and words[0][:-1].lower() in {"file", "path", "see"}:
        words = words[1:]
    locator = digest_standalone._LOCATOR_WORD
    place = digest_standalone._FILE_PLACE
    return all(locator.fullmatch(w) for w in words) and all(
        place.fullmatch(span) for span in pieces[1::2]
    )


@given(
    st.lists(
        st.sampled_from(
            ["-", "`a/b.go:69-79`", "`c.py`", "`f()`", "and", "or", "&", ",", "lines", "3-9",
             "L12", "(`x.ts:3`)", "File:", "see:", "Path:", "calls", "Add", "the", "x", "`",
             "(", ")", "line", "12:30", "`docs/`", "only", "Later"]
        ),
        min_size=1,
        max_size=7,
    ).map(" ".join)
)  # fmt: skip
def test_the_places_prefilter_agrees_with_the_rule(said: str) -> None:
    """``only_locations`` tests a line's first character before its words and spans: it must
    say what the rule says, word by word."""
    assert digest_standalone.only_locations(said) == _names_only_places(said)
