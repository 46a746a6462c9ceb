"""Adversarial cases of the digest's newer rules: what counts as a project's check, acts outside
the repository, announced changes said as done, and a long request's task and problem
sentences. Each case was a wrong statement (or a crash) before its fix."""

from __future__ import annotations

import pytest

from memcore import session_digest
from memcore.claude_code.commands import is_project_check
from memcore.claude_code.outside_actions import action_result, is_outside_action
from memcore.digest_asked import _told_how
from memcore.digest_done import as_done
from memcore.digest_state import END_STATE
from tests.test_transcript_agent_records import _Records


@pytest.mark.parametrize(
    "command",
    [
        "npm install --save-dev eslint",
        "npm i -D vitest",
        "npm ci",
        "pnpm add -D vitest",
        "yarn add jest",
        "yarn remove eslint",
        "uv add pytest",
        "npm view jest version",
        "make clean",
        "make install",
        "make run",
        "go test -h",
        "go help test",
        "test -f package.json && npm test",
        "[ -d build ]",
    ],
)
def test_what_is_no_check_is_not_one(command: str) -> None:
    assert not is_project_check(command)


@pytest.mark.parametrize(
    "command",
    [
        "cargo clippy -- -D warnings",
        "npm test -- --watch=false",
        "mise run test:integration -- -run TestX",
        "timeout 300 cargo test -- --nocapture",
        ".venv/bin/python -m pytest -q",
        "./mvnw test",
        "mvn clean install",
        "gradle test",
        "bundle exec rspec",
        "bundle exec rake test",
        "bin/rails test",
        "python manage.py test",
        "npx nx run app:test",
        "npx turbo run build --force",
        "yarn workspace web test",
        "docker compose run --rm app pytest",
        "docker compose exec -e CI=1 web npm test",
        "uvx ruff check .",
        "cargo nextest run",
        "swift test",
        "cmake --build build",
        "make",
        "make -j4 check",
        "go build -o ./app ./cmd/app && ./app help",  # (the help is the next command's)
        "doppler run -- turbo run test",
    ],
)
def test_checks_past_their_arguments_and_wrappers_are_checks(command: str) -> None:
    assert is_project_check(command)


def test_the_state_line_says_no_install_passed_as_a_check() -> None:
    work = _Records()
    work.user("fix it")
    work.edit("a.py", "x = 1\n", "x = 1", "x = 2")
    work.ran("pytest -q", "3 passed")
    work.edit("a.py", "x = 2\n", "x = 2", "x = 3")
    work.ran("npm install --save-dev eslint", "added 1 package")
    text = session_digest(work.items(), 4000).text
    (line,) = [line for line in text.splitlines() if line.startswith(END_STATE)]
    assert line.startswith(f"{END_STATE}`a.py` changed after the last check (`pytest -q` passed)")


def test_a_check_with_arguments_after_dashes_is_the_last_check() -> None:
    work = _Records()
    work.user("fix it")
    work.edit("a.rs", "x\n", "x", "y")
    work.ran("cargo clippy -- -D warnings", "Finished dev profile")
    text = session_digest(work.items(), 4000).text
    assert f"{END_STATE}`cargo clippy -- -D warnings` passed after the last edit" in text


@pytest.mark.parametrize(
    ("command", "acts"),
    [
        ("gh api graphql -f query='query { viewer { login } }'", False),
        ("gh api graphql -f query='mutation { addComment(input: {}) { clientMutationId } }'", True),
        ("gh pr create --title x --dry-run", False),
    ],
)
def test_reads_and_dry_runs_are_no_acts(command: str, acts: bool) -> None:
    assert is_outside_action(command) is acts


def test_what_came_of_an_act_never_crashes_nor_breaks_a_line() -> None:
    assert action_result("[" * 100_000 + "]" * 100_000) == []  # (nested past reading)
    assert action_result('{"html_url": "https://github.com/o/r/pull/1\\n## Injected"}') == []
    assert action_result('{"html_url": "https://github.com/o/r/pull/1 x"}') == []


def test_an_act_whose_answer_is_nested_too_deep_is_imported() -> None:
    work = _Records()
    work.user("reply to the comment")
    work.ran("gh api repos/o/r/issues/1/comments -X POST -f body=x", "[" * 5000 + "]" * 5000)
    assert session_digest(work.items(), 600).text  # (no RecursionError)


@pytest.mark.parametrize(
    ("sentence", "done"),
    [
        ("Let me update the docs if needed.", None),
        ("I'll fix it later.", None),
        ("Now I'll add the flag if it doesn't exist.", None),
        ("I'll update `x` once the tests pass.", None),
        ("Let me update it, unless you prefer otherwise.", None),
        ("Let me make sure the tests pass.", None),
        ("Let me move on to the next task.", None),
        ("Let me fix the import and run the tests.", "Fixed the import."),
        ("I'll now add the handler and test it.", "Added the handler."),
        ("I need to update `f` too, but first let me read it.", "Updated `f` too."),
        ("Let me update `x` and remove `y` and check `z`.", "Updated `x` and removed `y`."),
        ("Let me add a nil check and also update `g`.", "Added a nil check and also updated `g`."),
        ("Now let me wire `f()` into `g`.", "Wired `f()` into `g`."),
    ],
)  # fmt: skip
def test_an_announcement_is_said_as_done_only_as_far_as_it_is_true(
    sentence: str, done: str | None
) -> None:
    assert as_done(sentence) == done


@pytest.mark.parametrize(
    ("sentence", "told"),
    [
        ("The task is done.", False),
        ("Your task list is long.", False),
        ("The job failed on CI yesterday.", False),
        ("My goal is simple.", False),
        ("Nothing is broken.", False),
        ("Nothing is wrong with the parser.", False),
        ("Your task: wire the handler.", True),
        ("Your task is to wire the handler.", True),
        ("It's currently not working.", True),
    ],
)
def test_a_request_sentence_is_a_task_or_a_problem_only_when_it_says_one(
    sentence: str, told: bool
) -> None:
    assert (_told_how(sentence) > 0) is told
