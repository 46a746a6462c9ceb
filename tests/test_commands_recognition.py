"""What a session's commands are taken for, through the import and the digest: a commit only
where a command made one (not where its output only shows one), and a project's check also
when a container program or a shell's command string runs it."""

from __future__ import annotations

import pytest

from memcore import session_digest
from memcore.claude_code.commands import is_project_check
from memcore.model import MemoryItem
from tests.test_transcript_agent_records import _Records

#: What git prints for a commit, as a command that makes one prints it, or one that shows it.
_COMMIT_LINE = "[main 1a2b3c4] Fix rounding in totals"
_SAID = "Committed `1a2b3c4` on `main`: Fix rounding in totals."
_MADE_LINE = "[main 9f8e7d6] Round half to even\n 1 file changed, 1 insertion(+)"
_MADE_SAID = "Committed `9f8e7d6` on `main`: Round half to even."


def _session(*runs: tuple[str, str]) -> list[MemoryItem]:
    """A session that edits a file, then runs each ``(command, output)``, all exiting 0."""
    work = _Records()
    work.user("fix the rounding in calc.py")
    work.edit("calc.py", "x = round(y)\n", "x = round(y)", "x = round(y, 2)")
    for command, output in runs:
        work.ran(command, output)
    work.said("Done.")
    return work.items()


@pytest.mark.parametrize(
    "shows",
    [
        'git log -1 --format="[%D %h] %s" --decorate-refs=refs/heads/main',
        "git show -s --format='[main %h] %s' HEAD~3",
        "cat ../git-output.txt",
        f'echo "{_COMMIT_LINE}"  # what git said before',
        "grep -h 'main' docs/git-history.md",
        "git reflog -1 | sed 's/^/[main /'",
        'bash -c "echo git commit done"',
    ],
)
def test_a_commit_line_a_command_only_shows_is_no_commit_of_the_session(shows: str) -> None:
    """``[main 1a2b3c4] subject`` printed by ``git log``, ``cat`` or ``echo`` is what was
    committed some time, not a commit the session made: only the commit made after it is
    said, and the state line ends on that one."""
    items = _session(
        (shows, _COMMIT_LINE),
        ('git add calc.py && git commit -m "Round half to even"', _MADE_LINE),
    )
    assert [item.metadata.get("commits") for item in items if "commits" in item.metadata] == [
        [["main", "9f8e7d6", "Round half to even"]]
    ]
    digest = session_digest(items, 2000).text
    assert _SAID not in digest
    assert "1a2b3c4" not in digest.split("## Still open")[-1]  # (not the last commit)
    assert _MADE_SAID in digest


@pytest.mark.parametrize(
    "command",
    [
        'git commit -am "Round half to even"',
        "git add calc.py && git commit -m \"$(cat <<'EOF'\nRound half to even\nEOF\n)\"",
        "git -C /tmp/proj -c user.name=x commit -m 'Round half to even'",
        "cd /tmp/proj; GIT_EDITOR=true git rebase --continue",
        "git cherry-pick 9f8e7d6",
        "git revert --no-edit HEAD",
        "if git diff --quiet; then :; else git commit -qam wip; fi",
    ],
)
def test_a_command_that_commits_is_known_from_one_that_shows_commits(command: str) -> None:
    """The commands that make commits, however they are chained, wrapped or told where the
    repository is, keep the commit their output reports; ``git log`` then ``echo`` of the
    command's program, printing the same line, make none."""
    shown = "git log -1 --format='[main %h] %s' && echo " + command.split()[0]
    digest = session_digest(_session((command, _MADE_LINE), (shown, _COMMIT_LINE)), 2000).text
    assert _MADE_SAID in digest
    assert _SAID not in digest


def test_a_commit_stored_from_a_command_that_only_shows_one_is_not_said() -> None:
    """An item stored before the import told the two apart keeps ``commits`` of a ``git log``:
    the digest does not say it as a commit of the session."""
    items = _session(("git log -1 --format='[main %h] %s'", _COMMIT_LINE))
    result = next(
        item
        for item in items
        if item.metadata.get("tool") == "Bash" and "exit_code" in item.metadata
    )
    assert result.metadata["command"].startswith("git log")
    result.metadata["commits"] = [["main", "1a2b3c4", "Fix rounding in totals"]]
    made = _session(('git commit -m "Round half to even"', _MADE_LINE))
    assert _MADE_SAID in session_digest(made, 2000).text  # (a commit made is said)
    text = session_digest(items, 2000).text
    assert _SAID not in text
    assert "1a2b3c4" not in text  # (nor named as the last commit by the state line)


#: A check as a container program runs it, and a command the same way that is none.
_CONTAINED = [
    ("docker-compose run app test", "docker-compose run app test -f /app/.env"),
    ("docker compose -f docker-compose.test.yml run --rm web pytest", "docker compose up -d"),
    ("docker compose --profile ci run --rm web pytest -x", "docker compose logs web"),
    ("docker compose run --rm app sh -c 'make test'", "docker compose run --rm app ls tests"),
    ("docker exec -it api bash -lc 'cd /srv && go test ./...'", "docker exec api cat test.log"),
    ("docker --context ci run --rm -v $PWD:/app -w /app node:20 npm test", "docker build ."),
    ("podman-compose run app make check", "podman-compose run app make clean"),
    ("sudo docker container run --rm img tox -e py311", "docker container ls"),
    ('bash -c "make test"', 'bash -c "echo test"'),
]


@pytest.mark.parametrize(("check", "other"), _CONTAINED)
def test_a_check_run_in_a_container_is_the_check_it_wraps(check: str, other: str) -> None:
    """``docker compose run SERVICE CHECK``, ``docker exec CONTAINER sh -c "CHECK"``: the check
    after the container program's options (its own before ``run`` too) and the service,
    container or image, or in the shell's string; the same program running anything else is
    no check."""
    assert is_project_check(check)
    assert not is_project_check(other)
    ran = session_digest(_session((check, "12 passed in 0.4s")), 2000).sections["open"]
    assert f"`{check}` passed after the last edit" in ran
    other_ran = session_digest(_session((other, "done")), 2000).sections["open"]
    assert "no test, build or linter ran in the session" in other_ran


def test_many_options_or_wrappers_are_read_in_time_proportional_to_them() -> None:
    """git's options before its subcommand each read one way (they could be read two, which
    made the search exponential: 24 options took seconds, 40 would never end), and wrappers
    nest only so deep (ten thousand nested ``sh -c`` were read again at each level)."""
    from memcore.claude_code.commands import is_project_check
    from memcore.claude_code.git_results import makes_commits

    assert not makes_commits("git " + "--a " * 40 + "x")
    assert not makes_commits("git " + "-C --x " * 40 + "x")
    assert makes_commits("git " + "--no-pager " * 40 + "-C repo commit -m x")
    assert not is_project_check("sh -c " * 10_000 + "pytest")
    assert is_project_check('sudo env timeout 60 docker compose run app sh -c "make test"')
