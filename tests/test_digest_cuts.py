"""The digest's cut lines: a line cut to fit keeps half its words, leaves no code span or
aside open, and never ends on a word that promises what the cut took away."""

from __future__ import annotations

import pytest

import memcore.digest
import memcore.digest_cut
import memcore.digest_prose


def words(text: str) -> int:
    """A counter of whitespace-separated words, so that the cuts are easy to reason about."""
    return len(text.split())


def test_a_cut_line_keeps_half_its_words_and_ends_on_no_connective() -> None:
    line = "- `src/a.py` was edited twice, changing `f()` and `g()` in the parser module today"
    for room in range(4, words(line) + 1):
        cut = memcore.digest_cut.cut_line(line, room, words)
        if cut is None:
            continue
        assert words(cut) <= room
        assert cut.endswith("\u2026")
        kept = cut[:-1].split()
        assert len(kept) >= words(line) / 2
        assert kept[-1].rstrip(",").lower() not in {"and", "changing", "the", "in"}
        assert cut.count("`") % 2 == 0


@pytest.mark.parametrize(
    ("line", "dangling"),
    [
        ("- The test is failing because it\u2019s not seeing the new `config.go` file", "because"),
        ("- An edit of `cmd/wingman.go` took out the three calls to `spawn()` for now", "took"),
        ("- Fix the parser - then the lexer and the `emit()` pass and the docs", "-"),
        ("- The user explicitly said they want `--no-verify` kept on every hook", "want"),
        ("- `allFiles` only contains the paths of `git status` and not the renames", "contains"),
    ],
)
def test_a_cut_line_ends_on_no_promise(line: str, dangling: str) -> None:
    """Cut at any length, a line never ends on a word that promises what was cut ("took…",
    "because it's…", "not…", a dash)."""

    endings = set()
    for room in range(4, words(line)):
        cut = memcore.digest_cut.cut_line(line, room, words, min_share=0)
        if cut is not None:
            last = cut[:-1].split()[-1].lower().replace("\u2019", "'")
            endings.add(last)
            assert last not in memcore.digest_cut.DANGLING, cut
    assert endings
    assert dangling not in endings


def test_a_cut_line_leaves_no_aside_open() -> None:
    line = (
        "- `a.swift` also defines `View`, `onStart`, `onReady` and `onError` "
        "(seen when it was read)."
    )
    cuts = [memcore.digest_cut.cut_line(line, room, words) for room in range(4, words(line))]
    assert "- `a.swift` also defines `View`, `onStart`, `onReady` and `onError`\u2026" in cuts
    for cut in cuts:
        assert cut is None or cut.count("(") == cut.count(")")
    edit = (
        "- An edit of `Logf()` in `cli/telemetry.go` added `fmt.Fprintf(os.Stderr, format, args)`."
    )
    for room in range(4, words(edit)):
        cut = memcore.digest_cut.cut_line(edit, room, words)
        assert cut is None or not cut.endswith("added\u2026"), cut


def test_a_cut_line_says_more_than_a_name() -> None:
    """A command line cut back to its command alone ("- `git log --oneline -5`…") says nothing
    of it: it is left out, as a line too short to keep is; so is one cut after "ran" or after
    how many times it ran ("ran twice…"): the outcome is what the line is for."""
    line = "- `git log --oneline -5` ran twice and failed once, then passed."
    cuts = {room: memcore.digest_cut.cut_line(line, room, words) for room in range(4, 11)}
    assert cuts[5] is None  # the four words of the command alone
    assert cuts[6] is None  # "ran…"
    assert cuts[7] is None  # "ran twice…"
    assert cuts[10] == "- `git log --oneline -5` ran twice and failed once\u2026"
    assert memcore.digest_cut.tidy_cut("`make` ran 3 times") == "`make`"
    assert memcore.digest_cut.tidy_cut("the tests ran once") == "the tests"
    assert memcore.digest_cut.tidy_cut("a veteran once") == "a veteran once"


def test_a_cut_does_not_end_on_a_word_waiting_for_its_object() -> None:
    """ "Test file had `exec.Command` instead…" cut away what it was had instead of, and
    "Updated JSON output for `--list` to include…" what it includes: the cut ends before."""
    tidy = memcore.digest_cut.tidy_cut
    assert tidy("Test file had `exec.Command` instead") == "Test file had `exec.Command`"
    assert tidy("Updated JSON output for `--list` to include") == "Updated JSON output for `--list`"
    assert tidy("Kept `f()` rather") == "Kept `f()`"
    # nor on a verb whose point is what follows it ("The `SessionIDConflictError` happens…")
    assert tidy("The `SessionIDConflictError` happens") == "The `SessionIDConflictError`"
    assert tidy("The timeout occurred") == "The timeout"
    assert tidy("which means") == ""
    assert tidy("Adding `f()` before `g()` ensures") == "Adding `f()` before `g()`"


@pytest.mark.parametrize(
    "line",
    [
        "- `a.go` was edited twice, changing `f()` and `g()`; 2 of these edits fixed a failure.",
        "- `a.go` and `b.go` were edited twice each, changing `f()`; in each, 1 of these edits "
        "fixed a failure.",
        "- `a.go` was edited once, changing `f()` and `g()`, which fixed a failure.",
    ],
)
def test_a_cut_file_line_drops_a_count_of_fixes_it_cannot_finish(line: str) -> None:
    """A file line cut inside its last clause ("...; 2 of these edits fixed…", "..., which
    fixed…") ends before that clause: a count of edits without what they did says nothing."""
    for room in range(4, words(line)):
        cut = memcore.digest_cut.cut_line(line, room, words)
        assert cut is None or "a failure" in cut or (";" not in cut and "which" not in cut), cut


@pytest.mark.parametrize(
    "line",
    [
        "- The code read in `ios/LiveTextModule.swift` calls `Events()`, `Prop()` and `Name()`.",
        "- An edit of `InitEnv()` in `cli/testenv.go` added `t.Setenv(home, dir)` twice over.",
        "- In `cmd/entire/main.go`, the edits changed `os.Getenv()`, `trace.Start()` and `f`.",
        "- An edit of `cmd/entire/main.go` took out `if traceFile != nil {` for good.",
        "- Edits of `a/tsconfig.json` and `b/tsconfig.json` each added `composite: true`.",
        "- A Glob search for `apps/docs/src/content/docs/getting-started.md` found 2 matches.",
        "- `npx tsc --noEmit -p packages/plugin-codegen/tsconfig.json` ran twice, then passed.",
    ],
)
def test_a_cut_line_keeps_its_point_or_is_left_out(line: str) -> None:
    """A line whose point is what its verb introduces ("calls", "added", "changed", "took
    out", "found") is never cut back to its subject ("- The code read in `f`…"): cut, it
    keeps the verb and what follows it, or it is left out. A command that "ran" likewise: its
    outcome is the point."""
    verbs = memcore.digest_cut.LIST_VERBS
    verb = next(i for i, w in enumerate(line.split()) if w in verbs)
    kept_any = False
    for room in range(2, words(line) + 1):
        cut = memcore.digest_cut.cut_line(line, room, words)
        if cut is None:
            continue
        kept = cut[:-1].split()
        assert len(kept) > verb + 1, cut  # the verb and at least one word of what it says
        kept_any = True
    assert kept_any


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        # the statement's own template words and connectives are not left at the end
        ("`git diff --stat` ran once and succeeded, naming `a.go` and `b.go`", 6,
         "`git diff --stat`\u2026"),
        ("`old()` \u2192 `new()` in every caller", 2, "`old()`\u2026"),
        ("The parser defines `Store` and more", 3, "The parser\u2026"),
        # an aside may stay open (its names are what it says)
        ("Changed three files (`a.go`, `b.go`, `c.go`) today", 3, "Changed three files\u2026"),
        ("Changed files (`a.go`, `b.go`, `c.go`) today", 4, "Changed files (`a.go`, `b.go`\u2026"),
        # nothing but promises: the plain cut, not an empty line
        ("and the `x", 2, "and the\u2026"),
    ],
)  # fmt: skip
def test_cut_words_tidies_its_end(text: str, limit: int, expected: str) -> None:
    assert memcore.digest_prose.cut_words(text, limit) == expected
    if not expected.startswith("and") and "(" not in expected:
        assert memcore.digest_cut.tidy_cut(expected[:-1]) == expected[:-1]


def test_a_cut_line_that_names_nothing_keeps_a_statement_s_worth_of_words() -> None:
    """A plain line cut to a few words ("Both will be condensed…") says nothing a reader can
    use: it is left out; a line that keeps a name may be that short."""
    plain = "- Both will be condensed once the session has ended"
    for room in range(4, 8):  # (4 or 5 words: half the line, and still a stub)
        assert memcore.digest_cut.cut_line(plain, room, words, min_share=0) is None
    assert memcore.digest_cut.cut_line(plain, 8, words) == (
        "- Both will be condensed once the session\u2026"
    )
    named = "- Read `review.md` and `notes.md` before the wiring starts"
    assert memcore.digest_cut.cut_line(named, 5, words) == "- Read `review.md` and `notes.md`\u2026"


def test_a_cut_never_splits_a_sections_name() -> None:
    """A document's sections are said by name ('the sections "Project overview", ...'): a cut
    keeps whole names or none (and then no line: "added the sections…" says nothing)."""
    line = (
        '- An edit of `CLAUDE.md` added the sections "Project overview", "Common commands" and '
        '"Library development".'
    )
    kept = set()
    for room in range(4, words(line)):
        cut = memcore.digest_cut.cut_line(line, room, words)
        if cut is not None:
            assert cut.count('"') % 2 == 0, cut
            assert '"' in cut, cut
            kept.add(cut)
    assert '- An edit of `CLAUDE.md` added the sections "Project overview"\u2026' in kept


def test_a_cut_keeps_a_statement_s_worth_of_words_after_its_label() -> None:
    """A line whose statement follows a label ("...brief to a sub-agent says:") cut to two of
    the statement's words ("says: The full…") states nothing, however long the label: it is left
    out; three of them may stay."""
    line = (
        "- The agent's brief to a sub-agent says: The full directory structure of "
        "packages/plugin-typegen/ (all files)"
    )
    label = words("- The agent's brief to a sub-agent says:")
    # (its path may go: the label's rule alone, ``names_kept`` off)
    for room in range(label + 1, label + 3):  # (the label and up to two of its words)
        assert memcore.digest_cut.cut_line(line, room, words, min_share=0, names_kept=False) is None
    assert memcore.digest_cut.cut_line(line, label + 3, words, min_share=0, names_kept=False) == (
        "- The agent's brief to a sub-agent says: The full directory\u2026"
    )
    # a colon past the first words, or inside a code span, is the statement's own
    plain = "- Fixed the cache in `store.py` by keeping every entry's key: it now holds them all"
    assert memcore.digest_cut.cut_line(plain, 10, words, min_share=0) == (
        "- Fixed the cache in `store.py` by keeping every entry's\u2026"
    )


def test_a_single_edit_that_fixed_a_failure_is_said_as_one() -> None:
    """A file edited once whose edit fixed a failure: "which fixed a failure", not "1 of these
    edits" of an edit alone."""
    from memcore.digest_file_lines import _fixing

    assert _fixing(1, 1) == ", which fixed a failure"
    assert _fixing(2, 3) == "; 2 of these edits fixed a failure"
    assert _fixing(0, 1) == ""


def test_a_cut_of_a_line_that_names_something_keeps_one_of_its_names() -> None:
    """A statement said of exact names, cut before all of them, says what it was not about
    ("This means the issue is inside…" of a line that goes on to say inside which function):
    it is left out, unless ``names_kept`` is off (a request's own words, a topic line); a cut
    that keeps one of its names stays."""
    line = "- This means the issue is inside `InitializeSession()` or `initializeSession()` here."
    stub = words("- This means the issue is inside")
    assert memcore.digest_cut.cut_line(line, stub, words, min_share=0) is None
    assert memcore.digest_cut.cut_line(line, stub, words, min_share=0, names_kept=False) == (
        "- This means the issue is inside\u2026"
    )
    assert memcore.digest_cut.cut_line(line, stub + 1, words, min_share=0) == (
        "- This means the issue is inside `InitializeSession()`\u2026"
    )
    plain = "- The whole suite passes again after the change to the cache eviction order today"
    assert memcore.digest_cut.cut_line(plain, 10, words, min_share=0) is not None


def test_a_cut_keeps_one_of_its_code_spans_when_a_slash_word_is_all_that_is_left() -> None:
    """ "enable/disable" looks like a path, but the line's names were its code spans: a cut
    that keeps only the plain words ("Fixed the enable/disable merge bug by adding…" of
    `updateOpts`) is left out, as any cut that keeps none of its names."""
    line = "- Fixed the enable/disable merge bug by adding `updateOpts` and updating both commands."
    before_span = words("- Fixed the enable/disable merge bug by adding")
    assert memcore.digest_cut.cut_line(line, before_span, words, min_share=0) is None
    assert memcore.digest_cut.cut_line(line, before_span + 1, words, min_share=0) == (
        "- Fixed the enable/disable merge bug by adding `updateOpts`\u2026"
    )
    kept = memcore.digest_cut.cut_line(line, before_span, words, min_share=0, names_kept=False)
    assert kept == "- Fixed the enable/disable merge bug\u2026"


@pytest.mark.parametrize(
    ("cut", "tidied"),
    [
        ("Fixed the merge bug by adding", "Fixed the merge bug"),
        ("It fails after removing", "It fails"),
        ("The string has 6", "The string"),
        ("Adding the cache helps", "Adding the cache helps"),
        ("The thing is working", "The thing is working"),
    ],
)
def test_a_cut_ends_on_no_count_nor_on_an_action_whose_object_it_took(
    cut: str, tidied: str
) -> None:
    assert memcore.digest_cut.tidy_cut(cut) == tidied
