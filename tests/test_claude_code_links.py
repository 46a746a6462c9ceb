"""Failures and what ended them: a check that failed again after an edit is one problem, closed
by the success that ends it, and a command that worked when run another way names that way."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore import digest_lines, session_digest
from memcore.claude_code.commands import (
    command_verb,
    error_lines,
    is_variant,
    masked_failure,
)
from memcore.claude_code.links import FixLinker
from memcore.claude_code.picked_tests import covers
from memcore.claude_code.tools import EDIT_TOOLS, describe_result
from memcore.model import MemoryItem
from tests.test_transcript_agent_records import T0, _Records


class _Session(_Records):
    def edited(self, path: str, old: str, new: str) -> None:
        edit: dict[str, Any] = {"file_path": path, "old_string": old, "new_string": new}
        self.tool("Edit", edit, f"The file {path} has been updated.")


def _errors(items: list[MemoryItem]) -> list[MemoryItem]:
    return [i for i in items if i.metadata.get("kind") == "error"]


def _by_id(items: list[MemoryItem]) -> dict[str, MemoryItem]:
    return {i.id: i for i in items}


def test_a_command_that_worked_another_way_names_that_way() -> None:
    records = _Session()
    records.user("push the branch")
    records.ran("git push 2>&1", "fatal: The current branch gqc has no upstream branch.", 128)
    records.tool("Read", {"file_path": "/repo/README.md"}, "1\u2192# repo")
    records.ran("git push --set-upstream origin gqc 2>&1", "branch 'gqc' set up to track")
    items = records.items()
    (error,) = _errors(items)
    assert error.metadata["resolved"] is True
    (fix,) = error.metadata["fixed_by"]
    assert _by_id(items)[fix].metadata["command"] == "git push --set-upstream origin gqc 2>&1"
    errors = session_digest(items, 400).sections["errors"]
    assert "no upstream branch; then `git push --set-upstream origin gqc` succeeded" in errors


def test_a_broader_run_that_passed_after_an_edit_fixed_the_narrower_failure() -> None:
    records = _Session()
    records.user("make the warning test pass")
    failing = "go test ./cli/ -run TestSessionWarning -v 2>&1 | tail -20"
    records.ran(failing, "--- FAIL: TestSessionWarning_Hint (0.1s)\nFAIL", 1)
    records.edited("/repo/cli/hooks.go", "warn()", "warn(hint)")
    records.ran("go test ./cli/ -run TestSessionWarning_Other -v", "ok  cli 0.2s")  # not all of it
    assert _errors(records.items())[0].metadata["resolved"] is False
    records.ran("go test ./cli/ -run TestSession -v", "ok  cli 0.3s")  # every test it ran, and more
    items = records.items()
    (error,) = _errors(items)
    assert error.metadata["resolved"] is True
    (fix,) = error.metadata["fixed_by"]
    assert _by_id(items)[fix].metadata["file_path"] == "/repo/cli/hooks.go"


def test_covers() -> None:
    assert covers("go test ./cli/ -run TestSession", "go test ./cli/ -run TestSessionWarning")
    assert covers("pytest -q", "pytest -q -k rounding")  # no filter: every test
    assert covers("pytest -q -k=round", "pytest -q -k rounding")
    assert not covers("go test ./cli/ -run TestB", "go test ./cli/ -run TestA")
    assert not covers("go test ./cli/ -run TestA", "go test ./cli/ -run 'TestA|TestB'")
    assert not covers("pytest -q -k rounding", "pytest -q")  # fewer tests
    assert not covers("mise run test", "mise run test:integration -- -run TestA")
    assert not covers("go test ./pkg/a", "go test ./pkg/b")
    assert not covers("ls src", "ls src")  # a look around is no check


@pytest.mark.parametrize(
    ("failed", "rerun"),
    [
        ("bun test packages/cli/ 2>&1", "bun test packages/codegen/ 2>&1"),  # another target
        ("go test ./... -run TestA", "go test ./... -run TestB"),
        ("gh pr edit 22 --title x", "gh pr view 22"),  # another subcommand
        ("git push", "ls -la"),  # a look around
    ],
)
def test_another_command_passing_fixes_nothing(failed: str, rerun: str) -> None:
    records = _Session()
    records.user("go on")
    records.ran(failed, "error: it failed", 1)
    records.ran(rerun, "ok")
    (error,) = _errors(records.items())
    assert error.metadata["resolved"] is False
    assert "no later try of it succeeded" in session_digest(records.items(), 400).sections["errors"]


def test_a_merge_stopped_on_conflicts_is_fixed_by_the_resolving_edit_and_commit() -> None:
    """Rerunning a merge is not how its conflicts end: the edits that resolve them, then the
    commit that concludes it, are its fix."""
    records = _Session()
    records.user("merge main in")
    records.ran(
        "git merge origin/main 2>&1",
        "Auto-merging package.json\nCONFLICT (content): Merge conflict in package.json\n"
        "Automatic merge failed; fix conflicts and then commit the result.",
        1,
    )
    records.edited("/repo/package.json", '<<<<<<< HEAD\n"version": "1"', '"version": "2"')
    records.ran("git add package.json && git commit --no-edit", "[main 3b307b2] Merge main")
    items = records.items()
    (error,) = _errors(items)
    assert error.metadata["resolved"] is True
    fixes = [_by_id(items)[i] for i in error.metadata["fixed_by"]]
    assert [f.metadata["tool"] for f in fixes] == ["Edit"]
    line = session_digest(items, 400).sections["errors"]
    assert "fixed by editing `/repo/package.json`" in line, line
    # (the fix said by the line it changed; a conflict's markers are no change of the code)
    assert '(`"version": "1"` became `"version": "2"`)' in line, line
    assert "<<<<<<<" not in line


@pytest.mark.parametrize("then", ["git rebase --continue", "GIT_EDITOR=true git rebase --continue"])
def test_a_rebase_stopped_on_conflicts_is_carried_through_by_continue(then: str) -> None:
    records = _Session()
    records.user("rebase on main")
    records.ran("git rebase main", "error: could not apply 1a2b3c4... add cache", 1)
    records.ran(then, "Successfully rebased and updated refs/heads/topic.")
    (error,) = _errors(records.items())
    assert error.metadata["resolved"] is True
    line = session_digest(records.items(), 400).sections["errors"]
    assert "rebase --continue` succeeded" in line, line


def test_an_aborted_merge_says_so_and_a_commit_before_the_conflict_fixes_nothing() -> None:
    records = _Session()
    records.user("merge main in")
    records.ran("git commit -m wip", "[topic 1111111] wip")  # before: no fix of what follows
    records.ran(
        "git merge main", "CONFLICT (content): Merge conflict in a.py\nAutomatic merge failed", 1
    )
    records.ran("git merge --abort", "")
    line = session_digest(records.items(), 400).sections["errors"]
    assert line.endswith("; then `git merge --abort` succeeded."), line


def test_a_failed_commit_is_no_conflict() -> None:
    """A commit refused by its hook ("fix the errors") is closed by a commit that passes, as
    any rerun; a commit does not close a failure that was no stop on conflicts."""
    records = _Session()
    records.user("commit")
    records.ran("npm test", "1 failed", 1)
    records.ran("git commit -m x", "[main 2222222] x")
    (error,) = _errors(records.items())
    assert error.metadata["resolved"] is False


def test_a_look_around_that_missed_is_no_open_failure() -> None:
    """An ``ls`` of a folder that is not there: nothing to fix, so no "no later try" line, and it
    yields its place to a failure that matters when the room is short."""
    records = _Session()
    records.user("go on")
    records.ran("ls -la cmd/missing", "ls: cannot access 'cmd/missing': No such file", 2)
    records.ran("go build ./...", "main.go:3:1: syntax error: unexpected }", 1)
    digest = session_digest(records.items(), 400)
    errors = digest.sections["errors"]
    # (said once: by its error's line or by its command's, "ran once and failed")
    (missing,) = (line for line in digest.text.splitlines() if "cmd/missing" in line)
    assert "no later try" not in missing
    build = next(line for line in errors.splitlines() if "go build" in line)
    assert "no later try of it succeeded" in build
    for budget in range(20, 400, 5):  # where the build's line first fits, it goes alone
        first = session_digest(records.items(), budget).sections.get("errors", "")
        if "go build" in first:
            assert "cmd/missing" not in first
            break
    else:
        pytest.fail("no budget took the build's error")


def test_chained_checks_that_failed_are_not_said_unfixed() -> None:
    """``mise run test && mise run lint`` failed; ``mise run test`` alone passed later: which
    of the chain failed is not known, so the digest does not claim it was never fixed."""
    records = _Session()
    records.user("go on")
    records.ran("mise run test && mise run lint 2>&1", "FAIL: TestCart", 1)
    records.ran("mise run test", "ok", 0)
    errors = session_digest(records.items(), 400).sections["errors"]
    assert "mise run test && mise run lint" in errors
    assert "no later try" not in errors


def test_an_edit_between_leaves_the_other_way_unlinked() -> None:
    """After an edit, a different command passing says nothing about the failed one."""
    records = _Session()
    records.user("push the branch")
    records.ran("git push", "fatal: rejected", 1)
    records.edited("/repo/notes.md", "a", "b")
    records.ran("git push --force", "ok")
    (error,) = _errors(records.items())
    assert error.metadata["resolved"] is False


def test_a_check_that_failed_again_is_fixed_by_the_edits_since_each_failure() -> None:
    records = _Session()
    records.user("make the cart tests pass")
    records.ran("pytest tests/test_cart.py 2>&1", "E   AssertionError: 10.01 != 10.0", 1)
    records.edited("/repo/cart.py", "def total(self):", "def total(self, rounding=2):")
    records.ran("pytest tests/test_cart.py | tail -5", "E   TypeError: bad rounding", 1)
    records.edited("/repo/money.py", "def round_to(x):", "def round_to(x, places):")
    records.ran("pytest tests/test_cart.py", "3 passed in 0.02s")
    items = records.items()
    first, second = _errors(items)
    by_id = _by_id(items)
    assert first.metadata["resolved"] is second.metadata["resolved"] is True
    assert [by_id[i].metadata["file_path"] for i in first.metadata["fixed_by"]] == [
        "/repo/cart.py",
        "/repo/money.py",
    ]
    assert [by_id[i].metadata["file_path"] for i in second.metadata["fixed_by"]] == [
        "/repo/money.py"
    ]
    assert first.metadata["resolved_by"] == second.metadata["resolved_by"]
    errors = session_digest(items, 600).sections["errors"]
    assert "no later try" not in errors
    assert errors.count("fixed by editing") == 2


def test_a_check_piped_into_tail_failed_by_its_output_and_its_fix_is_linked() -> None:
    """``go build ./... 2>&1 | head`` exits 0 (``head``'s status) whatever the build did: its
    output says it failed, and the edit before the next build is its fix."""
    records = _Session()
    records.user("add the transcript path")
    records.ran(
        "go build ./... 2>&1 | head -20",
        "# entire.io/cli/cmd/entire/cli\n"
        "cmd/entire/cli/hooks.go:634:64: not enough arguments in call to InitializeSession",
    )
    records.edited(
        "/repo/cmd/entire/cli/hooks.go", "InitializeSession(a, b)", "InitializeSession(a, b, c)"
    )
    records.ran("go build ./... 2>&1 | head -20", "")
    items = records.items()
    (error,) = _errors(items)
    assert error.metadata["exit_code"] == 0
    assert error.metadata["failed_output"] is True
    assert "not enough arguments" in error.content
    assert "succeeded" not in error.content
    assert error.metadata["resolved"] is True
    (fix,) = error.metadata["fixed_by"]
    assert _by_id(items)[fix].metadata["file_path"] == "/repo/cmd/entire/cli/hooks.go"
    sections = session_digest(items, 600).sections
    assert "fixed by editing `/repo/cmd/entire/cli/hooks.go`" in sections["errors"]
    assert "failed once, then passed" in sections["commands"]


@pytest.mark.parametrize(
    ("command", "output", "failed"),
    [
        ("go test ./... 2>&1 | tail -5", "--- FAIL: TestCart (0.00s)\nFAIL", True),
        ("npx tsc --noEmit 2>&1 | grep error", "src/a.ts(9,8): error TS2307: Cannot find", True),
        ("pytest -q | tail -3", "2 failed, 10 passed in 0.3s", True),
        ("pytest -q | tail -3", "12 passed in 0.3s", False),  # passed
        ("pytest -q | tail -3", "0 failed, 12 passed", False),
        (  # a warnings summary after passing tests
            "pytest -q 2>&1 | tail -5",
            "  src/shop/money.py:12: DeprecationWarning: use round_to\n12 passed, 1 warning",
            False,
        ),
        ("ruff check . | head", "src/shop/money.py:3:8: F401 `os` imported but unused", True),
        ("mypy src | tail -3", "src/shop/money.py:3: error: Missing return statement", True),
        (  # a passing Go test's log lines
            "go test -v ./... 2>&1 | tail -4",
            "    cart_test.go:44: total=10.00\n--- PASS: TestCart (0.00s)\nok  \tshop\t0.01s",
            False,
        ),
        ("go test ./... 2>&1", "--- FAIL: TestCart", False),  # no pipe: its own exit status
        ("cat build.log | tail -5", "--- FAIL: TestCart", False),  # no check: a log looked at
        ("go test ./... || true", "--- FAIL: TestCart", False),  # `||` is no pipe
    ],
)
def test_masked_failure(command: str, output: str, failed: bool) -> None:
    assert bool(masked_failure(command, output)) is failed


@pytest.mark.parametrize(
    ("command", "verb"),
    [
        ("git push --set-upstream origin main", ("git", "push")),
        ("cd /repo && GOFLAGS=-mod=mod go test ./... 2>&1 | tail", ("go", "test")),
        ("gh pr merge 22 --squash", ("gh", "pr", "merge")),
        ("mise run test:integration -- -run X", ("mise", "run")),
        ("./run.sh", ()),
    ],
)
def test_command_verb(command: str, verb: tuple[str, ...]) -> None:
    assert command_verb(command) == verb


def test_variants() -> None:
    assert is_variant("git checkout main", "git checkout -b topic origin/main")
    assert is_variant("gh pr merge 22 --delete-branch", "gh pr merge 22 --delete-branch=false")
    assert is_variant("go test ./pkg -run TestA", "go test ./pkg -run TestA -v")
    assert not is_variant("make", "make test")  # one word says too little
    assert not is_variant("mise run test", "mise run lint")


def test_a_failure_that_printed_nothing_says_so() -> None:
    """ "Exit code 1" and nothing else: the statement ends with what is known, not with a
    colon and no error after it (the digest's "failed (exit 1):.")."""
    said, meta = describe_result("Bash", {"command": "grep -q x y"}, "Exit code 1", True, "", None)
    assert said == "`grep -q x y` failed (exit 1) with no output"
    assert meta["error_lines"] == []
    assert meta["exit_code"] == 1
    # an item an older import stored with the colon is said the same way
    older = MemoryItem(
        "e",
        "`grep -q x y` failed (exit 1): ",
        metadata={
            "source": "claude-code",
            "kind": "error",
            "tool": "Bash",
            "command": "grep -q x y",
        },
        created_at=T0,
    )
    errors = session_digest([older], 300).sections["errors"].splitlines()
    assert errors == ["- `grep -q x y` failed (exit 1) with no output."]


def test_an_error_line_says_what_failed_in_what_is_shown() -> None:
    """A line of page source that has an error word somewhere past its first 200 characters
    is not a line that says what failed."""
    page = "left: <html><head>" + "<meta name=x/>" * 40 + ".error { color: red }"
    output = f"Assertion with =~ failed\ncode: assert html =~ 'Review'\n{page}\n"
    assert error_lines(output) == ["Assertion with =~ failed", "code: assert html =~ 'Review'"]


_COMMANDS = ["pytest -q", "pytest -q tests/a.py", "git push", "git push -u origin x", "ls", "make"]
_PATHS = ["a.py", "b.py"]


@st.composite
def _events(draw: st.DrawFn) -> list[tuple[str, dict[str, str], bool]]:
    """Tool results in order: commands run, files edited, files read; each passing or not."""
    step = st.one_of(
        st.tuples(st.just("Bash"), st.sampled_from(_COMMANDS).map(lambda c: {"command": c})),
        st.tuples(st.just("Edit"), st.sampled_from(_PATHS).map(lambda p: {"file_path": p})),
        st.tuples(st.just("Read"), st.sampled_from(_PATHS).map(lambda p: {"file_path": p})),
    )
    steps = draw(st.lists(st.tuples(step, st.booleans()), max_size=30))
    return [(tool, target, ok) for (tool, target), ok in steps]


@settings(max_examples=300, deadline=None)
@given(_events())
def test_every_failure_is_closed_by_a_later_success_and_its_fixes(
    events: list[tuple[str, dict[str, str], bool]],
) -> None:
    """Whatever the order of results: a failure is either still open or closed by a success
    that came after it, and what it names as its fix is an edit made after it or the call that
    passed; every edit that fixes something names that failure back."""
    linker = FixLinker()
    order: dict[str, int] = {}
    items: dict[str, MemoryItem] = {}
    for n, (tool, target, ok) in enumerate(events):
        call = MemoryItem(f"call{n}", f"{tool} {target}", metadata={"tool": tool, **target})
        result = MemoryItem(f"result{n}", "r", metadata={"tool": tool, **target})
        for item in (call, result):
            order[item.id] = n
            items[item.id] = item
        linker.result(tool, target, ok, result, call)
    for item in items.values():
        meta = item.metadata
        if "resolved" not in meta:
            continue
        assert item.id.startswith("result")
        if meta["resolved"] is False:
            assert "fixed_by" not in meta
            continue
        assert order[meta["resolved_by"]] > order[item.id]
        # the fix: the last edits that passed after the failure, up to the success, else the call
        # that passed
        edits = [
            f"call{m}"
            for m, (tool, _, ok) in enumerate(events)
            if tool == "Edit" and ok and order[item.id] < m <= order[meta["resolved_by"]]
        ]
        assert meta["fixed_by"] == (edits[-8:] or [f"call{order[meta['resolved_by']]}"])
        for fix in meta["fixed_by"]:
            assert order[item.id] < order[fix] <= order[meta["resolved_by"]]
            fixer = items[fix]
            if fixer.metadata["tool"] == "Edit":
                assert item.id in fixer.metadata["fixes"]
            else:
                assert fix == f"call{order[meta['resolved_by']]}"


def test_failures_never_closed_cost_nothing_per_later_edit() -> None:
    """A long session gathers failures that nothing closes; each later edit must not be kept
    once per open failure (3,000 of each held 9 million references, 70 MB, and took seconds)."""
    failures = [
        (MemoryItem(f"r{n}", "failed"), MemoryItem(f"c{n}", f"check-{n}")) for n in range(3000)
    ]
    edits = [
        (MemoryItem(f"er{n}", "ok"), MemoryItem(f"ec{n}", "edit"), {"file_path": f"/r/f{n}.py"})
        for n in range(3000)
    ]
    linker = FixLinker()
    tracemalloc.start()
    try:
        for n, (result, call) in enumerate(failures):
            linker.result("Bash", {"command": f"./check-{n}"}, False, result, call)
        for result, call, target in edits:
            linker.result("Edit", target, True, result, call)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
    # a check run again now closes its failure with the last edits only
    linker.result("Bash", {"command": "./check-7"}, True, None, None)
    assert failures[7][0].metadata["fixed_by"] == [f"ec{n}" for n in range(2992, 3000)]


def test_a_notebook_edit_that_fixed_a_failure_is_said_as_the_fix() -> None:
    """A ``NotebookEdit`` is an edit as ``Edit`` is: the failure it fixed says so (it was told as
    a rerun of the failed command, which the session never made)."""
    records = _Session()
    records.user("make the notebook run")
    records.ran(
        "jupyter nbconvert --execute analysis.ipynb", "NameError: name 'df' is not defined", 1
    )
    records.tool(
        "NotebookEdit",
        {"notebook_path": "/repo/analysis.ipynb", "cell_id": "c1", "new_source": "df = load()"},
        "Updated cell c1 with df = load()",
    )
    records.ran("jupyter nbconvert --execute analysis.ipynb", "[NbConvertApp] Writing 2048 bytes")
    items = records.items()
    (error,) = _errors(items)
    assert error.metadata["resolved"] is True
    fixes = [_by_id(items)[i] for i in error.metadata["fixed_by"]]
    assert "NotebookEdit" in [f.metadata["tool"] for f in fixes]
    errors = session_digest(items, 400).sections["errors"]
    assert "fixed by editing `/repo/analysis.ipynb`" in errors, errors


def test_the_digest_rules_know_every_editing_tool() -> None:
    """The lines' rules keep their own tuple (compiled by mypyc): the importer's tools."""
    assert set(digest_lines._EDITS) == EDIT_TOOLS


def test_a_fix_of_many_files_says_how_many_and_only_the_names_of_those_it_names() -> None:
    """The failure's line names two of the files the fix edited: it says how many more, and
    the names those two changed, not another file's (a `package.json` said to change a
    tsconfig's `baseUrl`)."""
    records = _Session()
    records.user("make the typecheck pass")
    records.ran("bun run typecheck", "error TS2307: Cannot find module '@chkit/core'", 2)
    records.edited("/repo/a/package.json", '"types": "x"', '"source": "src", "types": "x"')
    records.edited("/repo/b/package.json", '"types": "x"', '"source": "src", "types": "x"')
    records.edited("/repo/a/tsconfig.json", '"baseUrl": ".",\n"paths": {}', '"strict": true')
    records.ran("bun run typecheck", "ok")
    (error,) = _errors(records.items())
    assert len(error.metadata["fixed_by"]) == 3
    line = session_digest(records.items(), 2000).sections["errors"]
    assert (
        "fixed by editing `/repo/a/package.json`, `/repo/b/package.json` and 1 other file" in line
    )
    assert "baseUrl" not in line


def test_a_command_run_another_way_after_looking_up_the_right_value_is_its_fix() -> None:
    """``gh variable list -R old/name`` failed, ``gh repo view`` named the repository, and the
    same listing with it worked: the rerun closes the failure, as it would right after it; a
    rerun after more commands than ``VARIANT_GAP`` does not."""
    from memcore.claude_code.links import VARIANT_GAP

    def session(looks: int) -> list[MemoryItem]:
        records = _Session()
        records.user("list the staging variables")
        records.ran("gh variable list --env staging -R ms/box", "HTTP 404: Not Found", 1)
        for n in range(looks):
            records.ran(f"gh repo view --json nameWithOwner -q .n{n}", "FSM1/cipher-box")
        records.ran("gh variable list --env staging -R FSM1/cipher-box", "API_URL\tx")
        return records.items()

    (error,) = _errors(session(VARIANT_GAP))
    assert error.metadata["resolved"] is True
    errors = session_digest(session(VARIANT_GAP), 400).sections["errors"]
    assert "then `gh variable list --env staging -R FSM1/cipher-box` succeeded" in errors
    (late,) = _errors(session(VARIANT_GAP + 1))
    assert late.metadata["resolved"] is False


def test_a_command_failing_again_another_way_is_one_problem_closed_whole() -> None:
    records = _Session()
    records.user("list the staging variables")
    records.ran("gh variable list --env staging -R michael/box", "HTTP 404: Not Found", 1)
    records.ran("gh variable list --env staging -R ms/box", "HTTP 404: Not Found", 1)
    records.ran("gh repo view --json nameWithOwner", "FSM1/cipher-box")
    records.ran("gh variable list --env staging -R FSM1/cipher-box", "API_URL\tx")
    items = records.items()
    assert [e.metadata["resolved"] for e in _errors(items)] == [True, True]
    errors = session_digest(items, 400).sections["errors"]
    assert "no later try" not in errors, errors
