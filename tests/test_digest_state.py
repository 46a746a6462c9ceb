"""The digest's line on the state a session left its work in: whether the last edits were
checked and committed (``memcore.digest_state``)."""

from __future__ import annotations

import pytest

from memcore import session_digest
from memcore.digest_state import END_STATE
from tests.test_transcript_agent_records import _Records


class _Work(_Records):
    def changed(self, path: str) -> None:
        self.edit(path, "def total():\n    return 1\n", "return 1", "return round(1)")


def _state(records: _Records) -> list[str]:
    text = session_digest(records.items(), 4000).text
    return [line for line in text.splitlines() if line.startswith(END_STATE)]


def test_edits_checked_then_committed() -> None:
    work = _Work()
    work.user("make the total round half up")
    work.changed("cart.py")
    work.ran("pytest -q", "3 passed in 0.01s")
    work.ran("git commit -am 'Round half up'", "[main 69ba36c] Round half up\n 1 file changed")
    assert _state(work) == [
        f"{END_STATE}`pytest -q` passed after the last edit; a commit (`69ba36c`) came after "
        "the last edit."
    ]


_CLEAN = "On branch main\nnothing to commit, working tree clean"


def test_git_finding_nothing_to_commit_after_the_last_edit_says_the_edits_are_committed() -> None:
    """A hook (or the user) committed the last edit: the session's own commit failed with
    "nothing to commit". The line said the file "changed after the last commit"."""
    work = _Work()
    work.user("add the function and commit")
    work.changed("cart.py")
    work.ran("pytest -q", "3 passed in 0.01s")
    work.ran("git commit -am 'Round half up'", "[main 69ba36c] Round half up\n 1 file changed")
    work.changed(".gitignore")
    work.ran("git commit -am 'Ignore caches'", _CLEAN, code=1)
    assert _state(work) == [
        f"{END_STATE}`.gitignore` changed after the last check (`pytest -q` passed); git found "
        "nothing to commit after the last edit (the working tree clean)."
    ]


def test_a_clean_tree_says_nothing_over_the_session_s_own_commit_or_a_later_change() -> None:
    committed = _Work()
    committed.user("fix it")
    committed.changed("a.py")
    committed.ran("git commit -am fix", "[main 2222222] fix")
    committed.ran("git status", _CLEAN)
    assert _state(committed) == [
        f"{END_STATE}no test, build or linter ran in the session; a commit (`2222222`) came "
        "after the last edit."
    ]
    changed = _Work()  # (a clean look, then one that found changes: a formatter's, say)
    changed.user("fix it")
    changed.changed("a.py")
    changed.ran("git status", _CLEAN)
    changed.ran("git status --short", " M a.py")
    assert _state(changed) == [
        f"{END_STATE}no test, build or linter ran in the session; no commit in the session."
    ]
    edited = _Work()  # (and an edit after the clean look)
    edited.user("fix it")
    edited.ran("git status", _CLEAN)
    edited.changed("a.py")
    assert "nothing to commit" not in _state(edited)[0]


def test_edits_after_the_last_check_and_no_commit_are_named() -> None:
    work = _Work()
    work.user("make the total round half up")
    work.changed("cart.py")
    work.ran("pytest -q", "Exit code 1\nFAILED test_cart.py::test_total", code=1)
    work.changed("tax.py")
    work.changed("cart.py")  # (the latest last)
    assert _state(work) == [
        f"{END_STATE}`tax.py` and `cart.py` changed after the last check (`pytest -q` failed); "
        "no commit in the session."
    ]


def test_files_left_uncommitted_are_counted_when_the_line_names_fewer() -> None:
    """Changes checked before the last check are still uncommitted: the count says the work
    tree holds more than the files named after the check."""
    work = _Work()
    work.user("make the total round half up")
    work.changed("cart.py")
    work.changed("tax.py")
    work.ran("pytest -q", "3 passed in 0.01s")
    work.changed("docs.py")
    assert _state(work) == [
        f"{END_STATE}`docs.py` changed after the last check (`pytest -q` passed); no commit in "
        "the session (3 files edited in it)."
    ]


def test_the_same_files_after_the_check_and_the_commit_are_said_once() -> None:
    work = _Work()
    work.user("fix it")
    work.changed("a.py")
    work.ran("make test", "ok")
    work.ran("git commit -m fix", "[main 2222222] fix")
    work.changed("b.py")
    assert _state(work) == [
        f"{END_STATE}`b.py` changed after the last check (`make test` passed) and the last "
        "commit (`2222222`)."
    ]


def test_a_failed_check_after_the_last_edit_says_so() -> None:
    work = _Work()
    work.user("fix it")
    work.changed("a.py")
    work.ran("go test ./...", "--- FAIL: TestTotal (0.00s)", code=1)
    assert _state(work) == [
        f"{END_STATE}`go test ./...` failed after the last edit; no commit in the session."
    ]


def test_many_files_are_counted_past_the_named_ones() -> None:
    work = _Work()
    work.user("rename it everywhere")
    work.ran("npm test", "ok")
    for name in ("a.ts", "b.ts", "c.ts", "d.ts", "e.ts"):
        work.changed(name)
    (line,) = _state(work)
    assert line.startswith(f"{END_STATE}`d.ts`, `e.ts` and 3 more files changed after the last")


def test_no_check_is_said_of_code_not_of_documents() -> None:
    code = _Work()
    code.user("fix it")
    code.changed("a.py")
    assert _state(code) == [
        f"{END_STATE}no test, build or linter ran in the session; no commit in the session."
    ]
    docs = _Work()
    docs.user("fix the readme")
    docs.changed("README.md")
    assert _state(docs) == [f"{END_STATE}no commit in the session."]


def test_a_session_that_changed_nothing_has_no_state_line() -> None:
    work = _Work()
    work.user("what does total do?")
    work.ran("pytest -q", "3 passed")
    work.said("It sums the cart.")
    assert _state(work) == []


def test_a_failed_edit_and_a_command_only_started_change_nothing() -> None:
    work = _Work()
    work.user("fix it")
    work.changed("a.py")
    work.ran("pytest -q", "3 passed")
    edit = {"file_path": "/nowhere/b.py", "old_string": "x", "new_string": "y"}
    use_id = f"toolu_{len(work.lines):04d}"
    block = {"type": "tool_use", "id": use_id, "name": "Edit", "input": edit}
    work._base("assistant", {"role": "assistant", "content": [block]})
    failed = "<tool_use_error>String to replace not found in file.</tool_use_error>"
    work.user([{"type": "tool_result", "tool_use_id": use_id, "content": failed, "is_error": True}])
    assert _state(work) == [
        f"{END_STATE}`pytest -q` passed after the last edit; no commit in the session."
    ]


def test_the_overflow_digest_of_a_session_going_on_has_no_state_line() -> None:
    from memcore.digest import session_digests

    work = _Work()
    work.user("fix it")
    work.changed("a.py")
    (digest,) = session_digests(work.items(), (4000,), ongoing=True)
    assert END_STATE not in digest.text


def test_the_check_that_says_most_of_the_edits_is_told() -> None:
    """After the last edit, a failure the same command did not pass again is told first, else
    a test over a linter over a build (a timing loop after the tests says less of the edits)."""
    work = _Work()
    work.user("make the total round half up")
    work.changed("cart.py")
    work.ran("pytest -q", "3 passed")
    work.ran("make build && for i in 1 2 3; do ./cart; done", "ok")
    assert _state(work) == [
        f"{END_STATE}`pytest -q` passed after the last edit; no commit in the session."
    ]
    work.ran("ruff check .", "Found 2 errors.", code=1)
    work.ran("pytest -q", "3 passed")
    assert _state(work) == [
        f"{END_STATE}`ruff check .` failed (2 errors) after the last edit; no commit in the "
        "session."
    ]


def test_a_short_digest_says_the_state_whole_in_its_short_form() -> None:
    """Too long for a short digest's room, the line is said in its short form (files counted,
    no hash), whole: never cut to "a commit (`…") came…"."""
    work = _Work()
    work.user("rename the helpers everywhere in the shop")
    work.ran("npm test", "ok")
    for name in ("src/a_long_module_name.ts", "src/another_long_module.ts", "src/third.ts"):
        work.changed(name)
    work.ran("git commit -am 'Rename helpers'", "[main 1a2b3c4] Rename helpers")
    text = session_digest(work.items(), 150).text
    lines = [line for line in text.splitlines() if line.startswith(END_STATE)]
    assert lines == [
        f"{END_STATE}3 files changed after the last check (`npm test` passed); a commit came "
        "after the last edit."
    ]


def test_the_short_form_names_the_check_a_wrapper_ran_not_its_flags() -> None:
    """A held-out session's 150-token brief said "`-run "TestBuild..." ./cmd/...` passed":
    what followed the wrapper's ``--`` was the task's flags, not a command."""
    work = _Work()
    work.user("drop the duplicated default case in the summarizer")
    for name in ("src/a_long_module_name.go", "src/another_long_module.go", "src/third.go"):
        work.changed(name)
    work.ran("mise run test -- -run TestBuild ./cmd/entire/cli/summarize/...", "ok")
    text = session_digest(work.items(), 150).text
    (line,) = [line for line in text.splitlines() if line.startswith(END_STATE)]
    assert line.startswith(f"{END_STATE}`mise run test` passed"), line


def _decisions_checked_after(*said: str) -> str:
    """The decisions of a session whose agent said ``said``, then edited and ran a test that
    passed."""
    work = _Work()
    work.user("make the total round half up")
    for text in said:
        work.said(text)
    work.changed("cart.py")
    work.ran("pytest -q", "3 passed")
    return session_digest(work.items(), 2000).sections["decisions"]


def test_a_failure_said_before_a_check_of_its_kind_passed_says_so() -> None:
    """ "The test is failing because ..." said, then a test run that passed: alone, the line
    reads as the state now. A line that says the failure was dealt with is left as it is."""
    decisions = _decisions_checked_after(
        "The test is failing because `total()` truncates instead of rounding.",
        "Fixed the compilation error in `tax()` by importing `Decimal`.",
    )
    assert (
        "- The test is failing because `total()` truncates instead of rounding (later `pytest "
        "-q` passed)." in decisions
    )
    assert "- Fixed the compilation error in `tax()` by importing `Decimal`." in decisions


@pytest.mark.parametrize(
    "said",
    [
        "There's a test failure in `test_total_rounds`",
        "There's another failing test `test_tax_rounds` that needs the same change",
        "The build failure in `cart.py` comes from a missing import",
    ],
)
def test_a_failure_said_as_a_noun_is_overtaken_too(said: str) -> None:
    """ "There's a test failure in `T`." and "one more failing test" say a test fails as
    "the test is failing" does; "a build failure" says a build fails."""
    decisions = _decisions_checked_after(f"{said}.")
    assert f"- {said} (later `pytest -q` passed)." in decisions
