"""Results a continuing agent needs said as results: the commits and pushes a session made (not
"ran and succeeded"), what a failed Go test said (not a bare ``FAIL``), how many matches a
search with context lines found, a brief's bold lead-ins, and sentences whose line break the
transcript lost."""

from __future__ import annotations

from memcore import MemoryItem, session_digest
from memcore.claude_code.briefs import brief_lines
from memcore.claude_code.commands import best_outcomes, error_lines, masked_failure
from memcore.claude_code.git_results import commits_made, git_result_lines, refs_pushed
from memcore.claude_code.tools import describe_result, tool_target
from memcore.claude_code.unglue import unglue_lists
from memcore.digest_cut import MIN_TOPIC_WORDS
from memcore.digest_lines import build_candidates
from memcore.digest_spare import spare_lines
from tests.digest_support import needs_data
from tests.test_transcript_agent_records import _Records

COMMIT_OUT = (
    "[alex/ent-221 69ba36cf] Wire session.Transition() into hook handlers (ENT-221)\n"
    " 7 files changed, 623 insertions(+), 16 deletions(-)\n"
    " create mode 100644 cmd/entire/cli/phase_wiring_test.go"
)
PUSH_OUT = (
    "To github.com:entireio/cli.git\n"
    "   1d332f0..378b6b7  alex/ent-221 -> alex/ent-221\n"
    " + 378b6b7...5da67d1 topic -> topic (forced update)\n"
    " * [new branch]      spotter-gqc -> spotter-gqc"
)


def test_commits_and_pushed_refs_are_read_from_git_s_output() -> None:
    command = "git add -A && git commit -m \"$(cat <<'EOF'\nWire it\nEOF\n)\""
    assert commits_made(command, COMMIT_OUT) == [
        ["alex/ent-221", "69ba36cf", "Wire session.Transition() into hook handlers (ENT-221)"]
    ]
    assert refs_pushed("git push", PUSH_OUT) == [
        ["alex/ent-221", "1d332f0..378b6b7"],
        ["topic", "378b6b7...5da67d1 forced"],
        ["spotter-gqc", "new"],
    ]
    assert git_result_lines([], refs_pushed("git push", PUSH_OUT)) == [
        "1d332f0..378b6b7 -> alex/ent-221",
        "378b6b7...5da67d1 -> topic (forced update)",
        "[new branch] -> spotter-gqc",
    ]
    # not git's: a tool printing something alike; a scratch repository the command made
    assert commits_made("echo done", COMMIT_OUT) == []
    scratch = "cd /tmp/t && git init && git add a && git commit -m initial"
    assert commits_made(scratch, "[main (root-commit) 3ac3f6b] initial\n") == []
    assert commits_made("git commit -m first", "[main (root-commit) 3ac3f6b] first\n") == [
        ["main", "3ac3f6b", "first"]
    ]


def test_a_commit_s_output_is_its_outcome_whatever_its_length() -> None:
    command = "git add -A && git commit -m 'Wire it'"
    text, meta = describe_result("Bash", {"command": command}, COMMIT_OUT, False, None, None)
    assert meta["commits"] == [
        ["alex/ent-221", "69ba36cf", "Wire session.Transition() into hook handlers (ENT-221)"]
    ]
    assert meta["outcome"] == [
        "[alex/ent-221 69ba36cf] Wire session.Transition() into hook handlers (ENT-221)"
    ]
    assert text.endswith("succeeded (exit 0): " + meta["outcome"][0])


def test_the_digest_says_commits_and_pushes_as_results() -> None:
    records = _Records()
    records.user("commit the wiring and push it")
    records.tool("Bash", {"command": "git add -A && git commit -m 'Wire it'"}, COMMIT_OUT)
    records.tool(
        "Bash", {"command": "git push"}, PUSH_OUT.splitlines()[0] + "\n" + PUSH_OUT.splitlines()[1]
    )
    records.tool(
        "Bash",
        {"command": "git commit -am 'Tidy' && git push"},
        "[main 1a2b3c4] Tidy\n 1 file changed\nTo x\n   aaaaaaa..1a2b3c4  main -> main",
    )
    records.said("Committed and pushed.")
    digest = session_digest(records.items(), 2000)
    decisions = digest.sections["decisions"].splitlines()
    assert (
        "- Committed `69ba36cf` on `alex/ent-221`: Wire session.Transition() into hook "
        "handlers (ENT-221)." in decisions
    )
    assert "- Pushed `alex/ent-221` (`1d332f0..378b6b7`)." in decisions
    assert "- Committed `1a2b3c4` on `main` and pushed it: Tidy." in decisions
    # the commands say no more than that: their lines are spare, not among the results
    tight = session_digest(records.items(), 120).text
    assert "Committed `69ba36cf`" in tight
    assert "git commit -m 'Wire it'` ran" not in tight


GO_VERBOSE = """=== RUN   TestBasic
    attribution_test.go:12: Attribution: agent=3, human=4
--- PASS: TestBasic (0.00s)
=== RUN   TestWithPrompts
    attribution_test.go:640: computing attribution
    attribution_test.go:642: AgentLines = 12, want 10
    attribution_test.go:657: AgentPercentage = 80.0%, want 76.9%
--- FAIL: TestWithPrompts (0.00s)
=== RUN   TestLogsOnly
    attribution_test.go:700: Error: context deadline exceeded (retrying)
--- PASS: TestLogsOnly (0.01s)
FAIL
FAIL	entire.io/cli/strategy	0.309s
"""

GO_QUIET = """--- FAIL: TestSaveLoad (0.01s)
    wingman_test.go:176: failed to save state: exit status 128
FAIL
FAIL	github.com/entireio/cli	6.599s
"""


def test_a_failed_go_test_is_said_by_its_name_then_its_failure_messages() -> None:
    assert error_lines(GO_VERBOSE) == [
        "--- FAIL: TestWithPrompts (0.00s)",
        "attribution_test.go:642: AgentLines = 12, want 10",
        "attribution_test.go:657: AgentPercentage = 80.0%, want 76.9%",
        "attribution_test.go:640: computing attribution",
        "FAIL entire.io/cli/strategy 0.309s",
    ]
    assert error_lines(GO_QUIET) == [
        "--- FAIL: TestSaveLoad (0.01s)",
        "wingman_test.go:176: failed to save state: exit status 128",
        "FAIL github.com/entireio/cli 6.599s",
    ]
    # the same read when a pipe hid the failure's exit status
    command = "go test ./strategy/... -v 2>&1 | tail -30"
    assert masked_failure(command, GO_VERBOSE) == error_lines(GO_VERBOSE)
    assert masked_failure(command, "ok  \tentire.io/cli/strategy\t0.3s\n") == []


def test_a_search_with_context_lines_counts_its_matches_not_its_lines() -> None:
    tool_input = {"pattern": "type X struct", "output_mode": "content", "-A": 3}
    target = tool_target("Grep", tool_input)
    text = (
        "a/b.go:369:type X struct {\na/b.go-370-\tA int\na/b.go-371-}\n--\n"
        "a/c.go:12:type X struct {\na/c.go-13-}\n"
    )
    said, meta = describe_result("Grep", target, text, False, {"numLines": 6}, None)
    assert meta["count"] == 2
    assert said.startswith("Grep `type X struct` found 2 in")
    # without context asked for, Claude Code's count stands
    plain = tool_target("Grep", {"pattern": "x", "output_mode": "content"})
    _, meta = describe_result("Grep", plain, text, False, {"numLines": 6}, None)
    assert meta["count"] == 6


def test_a_brief_s_bold_lead_ins_are_no_list_marks() -> None:
    text = (
        "### [WARNING] Command injection via git args\n"
        "**File:** `cmd/wingman_review.go:248`\n"
        "**Description:** `gitDiff` constructs git commands with user-controlled args.\n"
        "* `readSessionContext` reads files without a size limit.\n"
    )
    lines = brief_lines(text)
    assert "Description: `gitDiff` constructs git commands with user-controlled args." in lines
    assert "`readSessionContext` reads files without a size limit." in lines
    assert not any(line.startswith("*") for line in lines)


def test_a_sentence_glued_onto_the_word_before_it_is_parted() -> None:
    glued = "the new tests:- CapturesRenamedFiles- FilenamesWithSpacesLet me check the imports."
    assert unglue_lists(glued).splitlines()[-2:] == [
        "- FilenamesWithSpaces",
        "Let me check the imports.",
    ]
    assert unglue_lists("line 1515)Now I see it.") == "line 1515)\nNow I see it."
    # never inside code, never a capital after a capital or a blank
    assert unglue_lists("call `fooLet me` here") == "call `fooLet me` here"
    assert unglue_lists("OK Let me see") == "OK Let me see"


def test_a_look_at_the_repository_that_succeeded_is_a_spare_line() -> None:
    records = _Records()
    records.user("what changed on this branch?")
    records.tool("Bash", {"command": "git log --oneline -5"}, "1a2b3c4 Fix\n5d6e7f8 Add")
    records.tool("Bash", {"command": "gh run view 42 --log"}, "build: ok")
    records.tool("Bash", {"command": "git branch -D old"}, "Deleted branch old.")
    records.tool("Bash", {"command": "make build"}, "built")
    records.said("Two commits since main: the fix and the feature.")
    said = {
        c.text.split("`")[1]: c.spare
        for c in build_candidates(records.items())
        if c.section == "commands"
    }
    assert said == {
        "git log --oneline -5": True,
        "gh run view 42 --log": True,
        "git branch -D old": False,  # (it changed something)
        "make build": False,
    }


def test_a_failure_the_agent_said_it_expected_is_said_with_its_word() -> None:
    records = _Records()
    records.user("add the phase wiring, tests first")
    failed = "--- FAIL: TestPhase (0.05s)\n    phase_test.go:32: want active, got idle\nFAIL"
    records.tool("Bash", {"command": "go test ./session/ -run TestPhase"}, f"Exit code 1\n{failed}")
    records.said("Tests fail as expected (TDD - Red phase). Now let me implement the wiring.")
    records.tool("Bash", {"command": "make lint"}, "Exit code 1\nx.go:5:1: ireturn (ireturn)")
    records.said("That lint issue is pre-existing (not from our changes): leaving it.")
    records.tool("Bash", {"command": "make vet"}, "Exit code 1\ny.go:9:2: bad printf (vet)")
    records.said("Hmm, the vet check fails. Let me look.")
    digest = session_digest(records.items(), 2000)
    errors = digest.sections["errors"].splitlines()
    red = next(line for line in errors if "go test" in line)
    assert red.endswith("; the agent said: Tests fail as expected (TDD - Red phase).")
    assert "no later try" not in red
    lint = next(line for line in errors if "make lint" in line)
    assert lint.endswith(
        "; the agent said: That lint issue is pre-existing (not from our changes)."
    )
    # (said once: by its error's line or its command's, "ran once and failed")
    (vet,) = (line for line in digest.text.splitlines() if "make vet" in line)
    assert "the agent said" not in vet


def test_the_topic_branch_is_said_with_what_was_asked() -> None:
    records = _Records()
    records.user("fix the checkpoint id reuse", gitBranch="main")
    records.user("go on", gitBranch="alex/ent-112-checkpoint-id-reuse-bug")
    records.user("and push", gitBranch="alex/ent-112-fix")
    asked = session_digest(records.items(), 2000).sections["asked"].splitlines()
    assert asked[0] == (
        "- The work is on the branch `alex/ent-112-fix` "
        "(earlier `alex/ent-112-checkpoint-id-reuse-bug`)."
    )
    plain = _Records()
    plain.user("fix the checkpoint id reuse", gitBranch="main")
    assert "branch" not in session_digest(plain.items(), 2000).text
    # (a held-out session: its work went on on main after the topic branch, and said only
    # the topic branch, under a session-start heading that named main)
    back = _Records()
    back.user("improve the settings message", gitBranch="soph/improve-enable")
    back.user("now apply option 2", gitBranch="main")
    asked = session_digest(back.items(), 2000).sections["asked"].splitlines()
    assert asked[0] == "- The work is on the branch `soph/improve-enable`, then on `main`."


def test_a_failure_the_agent_called_flaky_or_failing_on_main_too_is_said_so() -> None:
    records = _Records()
    records.user("fix the CI")
    records.tool("Bash", {"command": "bun test e2e"}, "Exit code 1\n(fail) live > migrate [240s]")
    records.said("The test is flaky: it passes locally and passed in prior CI runs.")
    records.tool(
        "Bash", {"command": "bun run typecheck"}, "Exit code 2\nsrc/a.ts(3,1): error TS2307"
    )
    long_lead = " ".join(["word"] * 30)
    records.said(f"Checked: {long_lead} and `main` is also failing with the same errors.")
    errors = session_digest(records.items(), 2000).sections["errors"].splitlines()
    e2e = next(line for line in errors if "bun test e2e" in line)
    assert e2e.endswith("; the agent said: The test is flaky.")
    typecheck = next(line for line in errors if "typecheck" in line)
    assert "`main` is also failing with the same errors." in typecheck
    assert "the agent said: \u2026" in typecheck  # (the verdict kept in view of a long lead)


def test_a_go_failure_whose_headers_were_cut_off_is_said_by_its_test_lines() -> None:
    text = (
        "Exit code 1\n[test] $ go test ./...\nok  \tentire.io/cli\t1.9s\n"
        "\n... [813 characters truncated] ...\n\n"
        "_test.go:760: AgentPercentage = 33.3%, want ~42.9% (not inflated)\n"
        "attribution_test.go:12: Attribution: agent=3, human=4\n"
        "FAIL\tentire.io/cli/strategy\t3.238s\n[test] ERROR task failed\n"
    )
    assert error_lines(text)[:2] == [
        "_test.go:760: AgentPercentage = 33.3%, want ~42.9% (not inflated)",
        "FAIL entire.io/cli/strategy 3.238s",
    ]


def test_a_command_s_call_said_with_room_to_spare_reads_as_done() -> None:
    records = _Records()
    records.user("check the tree")
    block = {
        "type": "tool_use",
        "id": "toolu_only",
        "name": "Bash",
        "input": {"command": "git status --short", "description": "Check status"},
    }
    records._base("assistant", {"role": "assistant", "content": [block]})  # (no result came)
    lines = [c.text for c in spare_lines(records.items()) if c.section == "commands"]
    assert lines == ["- Ran `git status --short` (Check status)."]


def test_a_command_whose_result_came_is_not_said_again_by_its_call() -> None:
    # (a command longer than a name names nothing its own line could cover: its call's words
    # came back beside "`x` ran once and succeeded" in a short session with room to spare)
    command = 'mise run test -- -run "TestBuildCondensedTranscript" ./cmd/entire/cli/summarize/...'
    records = _Records()
    records.user("run the condensed transcript tests")
    records.tool("Bash", {"command": command, "description": "Run the tests"}, "ok  \tpkg\t1.8s")
    assert not [c.text for c in spare_lines(records.items()) if c.section == "commands"]
    text = session_digest(records.items(), 2000).text
    assert text.count("mise run test") == 1, text


def test_a_latest_request_not_answered_says_how_far_it_was_worked_on() -> None:
    records = _Records()
    records.user("implement the plan")
    records.tool("Bash", {"command": "make build"}, "built")
    records.tool("Bash", {"command": "make test"}, "Exit code 1\n1 failed")
    opened = session_digest(records.items(), 2000).sections["open"]
    assert (
        "- The latest request is not answered yet: implement the plan "
        "(worked on since: 2 tool calls)" in opened
    )
    fresh = _Records()
    fresh.user("implement the plan")
    assert (
        session_digest(fresh.items(), 2000)
        .sections["open"]
        .endswith("not answered yet: implement the plan")
    )


GO_TEST_OUT = (
    "ok  \tentire.io/cli/cmd/entire/cli\t2.688s\n"
    "ok  \tentire.io/cli/cmd/entire/cli/strategy\t2.623s\n"
    "ok  \tentire.io/cli/cmd/entire/cli/stringutil\t(cached)\n"
    "ok  \tentire.io/cli/cmd/entire/cli/textutil\t(cached)"
)


def test_a_check_s_outcome_is_the_packages_it_ran_not_the_cached_ones() -> None:
    """Go prints ``(cached)`` for a package it did not test again: the packages it did test
    say the run's result (the last lines of the output said only the cached ones)."""
    _, meta = describe_result("Bash", {"command": "go test ./..."}, GO_TEST_OUT, False, None, None)
    assert meta["outcome"] == [
        "ok entire.io/cli/cmd/entire/cli 2.688s",
        "ok entire.io/cli/cmd/entire/cli/strategy 2.623s",
    ]
    every_cached = "\n".join(GO_TEST_OUT.splitlines()[2:])
    _, meta = describe_result("Bash", {"command": "go test ./..."}, every_cached, False, None, None)
    assert len(meta["outcome"]) == 2
    assert all("(cached)" in line for line in meta["outcome"])


def test_a_check_s_tally_is_kept_before_other_outcome_lines() -> None:
    """A tally ("12 passed") says most of a result: kept, wherever the runner printed it."""
    lines = ["12 passed, 1 skipped in 0.40s", "ok a 0.1s", "ok b 0.2s", "ok c 0.3s"]
    assert best_outcomes(lines, 2) == ["12 passed, 1 skipped in 0.40s", "ok c 0.3s"]
    assert best_outcomes(lines[1:], 2) == ["ok b 0.2s", "ok c 0.3s"]  # (the latest ones)
    assert best_outcomes(lines[:1], 2) == lines[:1]


def test_the_digest_says_a_stored_outcome_by_its_best_lines() -> None:
    """Items an older import stored kept a check's last outcome lines (the cached ones here):
    the digest picks the best of them again."""
    records = _Records()
    records.user("run the tests")
    records.tool("Bash", {"command": "go test ./..."}, GO_TEST_OUT)
    older = [
        "ok entire.io/cli/cmd/entire/cli/strategy 2.623s",
        "ok entire.io/cli/cmd/entire/cli/stringutil (cached)",
        "ok entire.io/cli/cmd/entire/cli/textutil (cached)",
    ]
    items = [
        MemoryItem.from_dict({**item.to_dict(), "metadata": {**item.metadata, "outcome": older}})
        if item.metadata.get("outcome")
        else item
        for item in records.items()
    ]
    commands = session_digest(items, 2000).sections["commands"]
    assert "(cached)" not in commands
    assert "succeeded: ok entire.io/cli/cmd/entire/cli/strategy 2.623s." in commands


def test_the_branch_line_is_said_whole_or_not_at_all() -> None:
    """ "The work is on the branch…" names no branch: a line that is there for its names is not
    cut to its lead, as the user's own words may be, when results leave it little room."""
    records = _Records()
    branch = "alex/ent-112-checkpoint-id-reuse-bug-when-the-shadow-branch-is-renamed"
    records.user("fix the checkpoint id reuse", gitBranch="main")
    records.user("go on", gitBranch="alex/ent-112-checkpoint-id-reuse")
    records.user("and the rest", gitBranch=branch)
    for n in range(30):
        records.said(f"Fixed: `checkpoint_{n}()` in `cli/c{n}.go` now makes a new id per session.")
    items = records.items()
    said = _lines_led_by(items, range(150, 400, 6), "- The work is on the branch")
    for budget, line in said:
        assert f"`{branch}`" in line, (budget, line)
    assert said  # (whole where it fits)


def _lines_led_by(items: list[MemoryItem], budgets: range, lead: str) -> list[tuple[int, str]]:
    """The lines of the digests of ``items`` at ``budgets`` that start with ``lead``."""
    return [
        (budget, line)
        for budget in budgets
        for line in session_digest(items, budget).text.splitlines()
        if line.startswith(lead)
    ]


def test_a_brief_says_what_changed_by_name_before_later_requests() -> None:
    """Under ``NAMES_BUDGET`` tokens a digest is an earlier session's brief: a result naming
    what the work changed weighs more than a second request or a result naming nothing, the
    smaller the budget."""
    records = _Records()
    records.user("Add the session's prompt to the rewind list.")
    records.user("and show it in the JSON output too")
    records.user("what does a metadata.json look like today?")
    records.said("Added `SessionID` and `SessionPrompt` fields to the `RewindPoint` struct.")
    records.said("Added the `ReadSessionPromptFromTree()` helper to `common.go`.")
    records.said("The JSON output includes the new fields.")
    records.said("Both sessions are condensed.")
    records.said("All tests pass.")
    items = records.items()
    for budget in range(72, 100, 4):
        text = session_digest(items, budget).text
        assert "- The user asked: Add the session's prompt to the rewind list." in text
        assert "`RewindPoint`" in text, budget
        assert "`ReadSessionPromptFromTree()`" in text, budget
        assert "All tests pass." not in text, budget  # (a result naming nothing weighs less)
    # (with room for all, every line is said)
    assert "what does a metadata.json look like today?" in session_digest(items, 400).text


def test_a_request_cut_to_fit_keeps_what_it_asked_for() -> None:
    """A later request is cut, where room is short, to at least ``MIN_TOPIC_WORDS`` of its own
    words or not said: "The user asked: Can we prefill the prompt…" lost the point of the
    request, and took the room of a line that says something. (The first, the session's topic,
    is chosen first and cut to what its share holds: "Add the session's prompt to the
    rewind…" still says what the session was about.)"""
    records = _Records()
    records.user("Add the session's prompt to the rewind list, newest first please.")
    records.user("Can we prefill the prompt with the old prompt?")
    records.user("Let's prefix it then with 'Last Prompt: ' in both places?")
    for n in range(12):
        records.said(f"Added `prompt_{n}()` to `rewind/list_{n}.go` for the JSON output.")
    items = records.items()
    cuts = [
        (budget, line)
        for budget, line in _lines_led_by(items, range(60, 400, 3), "- The user asked: ")
        if line.endswith("\u2026") and not line.startswith("- The user asked: Add the")
    ]
    for budget, line in cuts:
        said = line.removeprefix("- The user asked: ").split()
        assert len(said) >= MIN_TOPIC_WORDS, (budget, line)
    assert cuts  # (the later requests are cut at some sizes)


@needs_data
def test_a_brief_keeps_the_state_the_work_was_left_in() -> None:
    """The state line is chosen first at any size; a later round that let go of lines past the
    budget is undone, not trimmed by taking the least worth line out, which was that one."""
    from memcore.claude_code import parse_transcript
    from tests.claude_code_support import DATA

    items = parse_transcript(DATA / "entireio__cli__1664f311.jsonl").items
    for budget in range(120, 320, 10):
        assert "- State at the end: " in session_digest(items, budget).text, budget


def test_a_brief_fills_no_room_with_the_agent_s_plain_prose() -> None:
    """A sentence naming nothing and concluding nothing ("There are two instances.") is a
    spare line: in a digest of 600 tokens or more it may fill room left, in a brief (under 600,
    what session-start shows of an earlier session) it would be said out of its context."""
    work = _Records()
    work.user("make the total round half up in the cart")
    work.said("There are two instances.")
    work.edit("cart.py", "def total():\n    return 1\n", "return 1", "return round(1)")
    work.ran("pytest -q", "3 passed")
    work.said("The total now rounds half up.")
    for budget in (150, 300, 599):
        assert "two instances" not in session_digest(work.items(), budget).text
    for budget in (600, 2000):
        assert "- There are two instances." in session_digest(work.items(), budget).text


def test_a_command_that_failed_once_is_said_once_with_room_to_spare() -> None:
    """Its command's line ("ran once and failed") and its error's said the same failure twice
    when a short session left room (a held-out session's failed commit, in both sections)."""
    records = _Records()
    records.user("commit the ignore file")
    records.ran("git commit -am 'Ignore caches'", "nothing to commit, working tree clean", 1)
    text = session_digest(records.items(), 2000).text
    assert [line for line in text.splitlines() if "Ignore caches" in line] in (
        ["- `git commit -am 'Ignore caches'` ran once and failed (exit 1): nothing to commit, "
         "working tree clean."],
        ["- `git commit -am 'Ignore caches'` failed (exit 1): nothing to commit, working tree "
         "clean."],
    ), text  # fmt: skip
    # an error's line that says more (what fixed it) is not kept out by its command's
    fixed = _Records()
    fixed.user("push the branch")
    fixed.ran("git push", "fatal: The current branch gqc has no upstream branch.", 128)
    fixed.ran("git push --set-upstream origin gqc", "branch 'gqc' set up to track")
    errors = session_digest(fixed.items(), 2000).sections["errors"]
    assert "no upstream branch; then `git push --set-upstream origin gqc` succeeded" in errors


def test_a_request_opening_on_a_long_path_keeps_its_line_in_a_brief() -> None:
    """'in @libs/playlist/import/feature/src/lib/xtream-code-import/x.component.ts dialog when
    ...': its first eight words held no room for a cut at 150 tokens, and the brief said
    nothing of what was asked; the path is said by its file's name there."""
    asked = _brief_asked(
        "in @libs/playlist/import/feature/src/lib/xtream-code-import/"
        "xtream-code-import.component.ts dialog when i enter credentials and click on test, and "
        "the test gives me an error, after that i want to enter new credentials, therefore i "
        "have to clear all fields manually. can we add a proper button to clear the form?"
    )
    assert asked.startswith("- The user asked: in xtream-code-import.component.ts dialog when"), (
        asked
    )
    # a URL's path is no file's (".../actions/runs/22181848464 the desktop build is failing"
    # had become "https://22181848464 the desktop build ..."): a long one is said by its host
    # and its last part, and the request's words after it are said
    asked = _brief_asked(
        "https://github.com/FSM1/cipher-box/actions/runs/22181848464 the desktop build is "
        "failing in CI, probably related to the macfuse step we added last week for the "
        "fuse-t library that the vendored fuser crate needs when it links on macOS runners"
    )
    assert "https://22181848464" not in asked, asked
    assert asked.startswith(
        "- The user asked: github.com/\u2026/22181848464 the desktop build is failing"
    ), asked


def _brief_asked(request: str) -> str:
    """What a 150-token brief says was asked, of ``request`` and six results naming files."""
    records = _Records()
    records.user(request)
    for n in range(6):
        records.said(f"Added `clear_{n}()` to `apps/web/src/form_{n}.ts` for the dialog.")
    return session_digest(records.items(), 150).sections.get("asked", "")


def test_a_document_a_sub_agent_wrote_is_no_brief_when_read_back() -> None:
    """A held-out session: the reviewer sub-agent wrote its review to a file the agent then
    read; the review's points were said under "What was asked", as the task's brief."""
    from tests.test_transcript_agent_records import CWD

    review = f"{CWD}/docs/requirements/review-01.md"
    numbered = "".join(
        f"{n + 1}\u2192{line}\n"
        for n, line in enumerate(
            [
                "# Review of PR 102",
                "## Findings",
                "- [cmd/session/state.go:331] The cleanup of `oldStates()` is best-effort.",
                "- Round-trip conversion between `EntireSessionID` and `ModelSessionID` works.",
                "- `GetOrCreateEntireSessionID()` must never return an error.",
            ]
        )
    )

    def session(report: str) -> str:
        records = _Records()
        records.user("review PR 102")
        records.tool("Task", {"description": "Review PR 102", "prompt": "Review PR 102."}, report)
        records.tool("Read", {"file_path": review}, numbered)
        return session_digest(records.items(), 2000).sections.get("asked", "")

    assert "review-01.md` says" not in session(f"The review has been written to `{review}`.")
    assert "review-01.md` says" in session("The review is done: approve.")  # (not its own)
