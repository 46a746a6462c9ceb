"""What a later message overtook is not said as a finding that stands: a sub-agent's report is
said as its claim; the agent's account of a turn the user then said was wrong is said once,
with the user's words; a diagnosis the agent gave again later in the same turn is left out; a
failure that passed when run again after another command is said fixed by that command."""

from __future__ import annotations

from memcore import session_digest
from tests.test_transcript_agent_records import _Records


def _decisions(records: _Records) -> list[str]:
    return session_digest(records.items(), 2000).sections.get("decisions", "").splitlines()


def test_a_sub_agent_s_report_is_said_as_its_claim() -> None:
    records = _Records()
    records.user("review the cart module")
    brief = {"description": "Review cart", "prompt": "Review `cart.py` for rounding bugs."}
    records.tool("Task", brief, "Both `make test` and `make lint` pass with zero issues.")
    records.said("The `round_half_up()` helper is now used in `total()`.")
    lines = _decisions(records)
    claim = "- A sub-agent reported: Both `make test` and `make lint` pass with zero issues."
    assert claim in lines
    assert "- The `round_half_up()` helper is now used in `total()`." in lines  # (its own)


def _corrected(reply: str, answer: str) -> list[str]:
    records = _Records()
    records.user("run the end-to-end script and fix what fails")
    records.said("The `entire session` command is missing from the CLI in `root.go`.")
    records.ran("grep -n AddCommand root.go", "12: root.AddCommand(newVersionCmd())")
    records.said(f"So `newSessionCmd()` is not wired into `root.go` at all. {reply}")
    records.user(answer)
    records.said("Understood: the `session` errors in `e2e.sh` are expected.")
    return _decisions(records)


def test_an_account_the_user_said_was_wrong_is_said_once_with_their_words() -> None:
    lines = _corrected(
        "Which approach do you prefer?", "no, we removed the session commands on purpose"
    )
    marked = [line for line in lines if "(then the user:" in line]
    assert marked == [
        '- So `newSessionCmd()` is not wired into `root.go` at all. (then the user: "no, we '
        'removed the session commands on purpose")'
    ], lines
    assert not any("missing from the CLI" in line for line in lines), lines  # (said on the way)
    assert any("are expected" in line for line in lines)  # (the next turn's, unmarked)


def test_the_user_s_words_are_said_once_after_a_reply_s_several_findings() -> None:
    """A reply of several findings the user then said was wrong: each is marked, but the
    user's words are written once, after the last of them (four copies read as four
    replies)."""
    records = _Records()
    records.user("run the end-to-end script and fix what fails")
    records.said(
        "I see - there's no `session` command in `root.go` yet. The `newSessionCmd()` "
        "function exists in `session.go` but it's not wired in. The attribution test in "
        "`e2e.sh` is working correctly otherwise."
    )
    records.user("no, we removed the session commands on purpose")
    records.said("Understood: the `session` errors in `e2e.sh` are expected.")
    lines = _decisions(records)
    said = [
        line for line in lines if "root.go" in line or "session.go" in line or "test in" in line
    ]
    assert len(said) == 3, lines
    assert [line.endswith('(then the user: "no, we removed the session commands on purpose")')
            for line in said] == [False, False, True], lines  # fmt: skip
    assert said[0].endswith("yet."), lines


def test_a_no_that_answers_a_yes_or_no_question_says_nothing_was_wrong() -> None:
    lines = _corrected("Should I add it back?", "no, not now")
    assert not any("(then the user:" in line for line in lines), lines
    assert any("missing from the CLI" in line for line in lines), lines


def test_a_diagnosis_given_again_later_in_the_turn_overtakes_the_first() -> None:
    records = _Records()
    records.user("why are prompt attributions empty?")
    records.said("The main issue is that `prompt_attributions` is never saved by `save()`.")
    records.ran("go test ./...", "ok")
    records.said("The real cause was a stale binary on `PATH`: `hooks.json` called the old one.")
    records.user("ok, and the timestamps?")
    records.said("The problem is that `time.Now()` is not made UTC in `committed.go`.")
    lines = _decisions(records)
    assert not any("never saved" in line for line in lines), lines
    assert any("stale binary" in line for line in lines), lines
    assert any("`time.Now()`" in line for line in lines), lines  # (another turn's: kept)


def _failed_then_rerun(between: list[tuple[str, str]]) -> list[str]:
    records = _Records()
    records.user("run the checkpoint tests")
    records.ran(
        "go test ./checkpoint/...", "checkpoint_test.go:1682:4: expected '}', found 'EOF'", 1
    )
    for command, output in between:
        records.ran(command, output)
    records.ran("go test ./checkpoint/...", "ok")
    return session_digest(records.items(), 2000).sections["errors"].splitlines()


def test_a_rerun_that_passed_after_a_command_names_the_command() -> None:
    """A failure that passed when run again, after a command that changed something (a file
    written, a package built, git's index read again), was fixed by that command, not "without
    an edit"; looks around and at git's state change nothing."""
    written = 'echo "}" >> checkpoint/checkpoint_test.go'
    lines = _failed_then_rerun([("tail -3 checkpoint/checkpoint_test.go", "}"), (written, "")])
    assert lines[0].endswith(f"; after `{written}`, the rerun passed."), lines
    lines = _failed_then_rerun([("bun run --filter core build 2>&1 | tail -5", "done")])
    assert lines[0].endswith(
        "; after `bun run --filter core build 2>&1 | tail -5`, the rerun passed."
    )
    lines = _failed_then_rerun([("ls checkpoint", "a.go"), ("git status 2>&1", "clean")])
    assert lines[0].endswith("; the rerun passed without an edit."), lines


def test_a_no_that_drops_the_subject_says_nothing_was_wrong() -> None:
    lines = _corrected("Want the flags listed too?", "no, ignore this part, back to the `go run`")
    assert not any("(then the user:" in line for line in lines), lines
    lines = _corrected("Which approach?", "no, let's keep it for later")
    assert not any("(then the user:" in line for line in lines), lines


def test_a_sentence_ending_on_a_turn_word_opens_no_turn() -> None:
    """ "... is not wired up yet." ends a sentence: a cut in the next one is no cut inside a
    clause "yet" opens."""
    from memcore.digest_cut import _turn_cut_away

    sentences = "- `foo()` is not wired up yet. The tests in `a_test.go` now pass"
    assert not _turn_cut_away(sentences.split(" "), 10)
    turned = "- It works, but the numbers are off"
    assert _turn_cut_away(turned.split(" "), 6)


def _still_failing(report: str) -> list[str]:
    """A turn of findings, then a fix claimed, then the user's ``report`` that it did not work
    (and the agent's answer): the decisions' lines."""
    records = _Records()
    records.user("the session resume says no conversation found, fix it")
    records.said("The sessions are stored under `~/.claude/projects/` by the folder's path.")
    records.ran("ls ~/.claude/projects", "-home-bob-shop")
    records.said("The `resume_session()` lookup reads `index.json` before the folder.")
    records.ran("chmod 600 ~/.claude/projects/-home-bob-shop/a1.jsonl", "")
    records.said("Fixed the permissions of `a1.jsonl` to 600, the same as the other sessions.")
    records.user(report)
    records.said("Then the folder's name must be the cause: `-home-bob-shop` is not normalized.")
    return _decisions(records)


def test_still_did_not_work_marks_the_claim_it_answers_not_every_finding_of_the_turn() -> None:
    lines = _still_failing("still didn't work, same message")
    marked = [line for line in lines if "(then the user:" in line]
    assert marked == [
        "- Fixed the permissions of `a1.jsonl` to 600, the same as the other sessions. "
        '(then the user: "still didn\'t work, same message")'
    ], lines
    # (the findings on the way are said as they were)
    assert "- The `resume_session()` lookup reads `index.json` before the folder." in lines


def test_still_failing_marks_the_lines_that_name_what_the_user_names() -> None:
    lines = _still_failing("still failing: `resume_session()` never finds it")
    marked = [line for line in lines if "(then the user:" in line]
    assert len(marked) == 2, lines
    assert marked[0].startswith("- The `resume_session()` lookup reads `index.json`"), marked
    assert marked[1].startswith("- Fixed the permissions of `a1.jsonl` to 600"), marked
    assert not any("stored under" in line and "(then" in line for line in lines), lines
