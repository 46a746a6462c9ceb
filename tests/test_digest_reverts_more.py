"""Reverts the digest reads beyond ``git checkout -- f``: one command of a chain (``cd /repo &&
git checkout f && go test``), a file the session knows named without ``--``, the session's folder
or a folder of it, and several edits one later edit undid together."""

from __future__ import annotations

import pytest

from memcore import session_digest
from tests.test_transcript_agent_records import CWD, _Records


def _edited_then(command: str, output: str = "") -> list[str]:
    records = _Records()
    records.user("make the total round half up")
    records.edit("src/cart.py", "def total():\n    return 1\n", "return 1", "return round(1)")
    records.edit("src/cart.py", "def total():\n    return round(1)\n", "round(1)", "round(1.0)")
    records.tool("Bash", {"command": command}, output)
    return session_digest(records.items(), 2000).sections["files"].splitlines()


@pytest.mark.parametrize(
    "command",
    [
        f"cd {CWD} && git checkout src/cart.py && python -m pytest -q",
        "git status && git checkout -- src/cart.py 2>&1; git diff --stat",
        "git checkout src/cart.py",  # (no "--": a file the session knows, not a branch)
        "git checkout HEAD~1 src/cart.py",
        "git checkout .",
        "git checkout -- src/",
    ],
)
def test_a_revert_inside_a_chain_or_of_a_folder_is_read(command: str) -> None:
    files = _edited_then(command)
    line = next(line for line in files if line.startswith("- `src/cart.py` was edited"))
    assert line.startswith("- `src/cart.py` was edited twice, then reverted with `git checkout`")


@pytest.mark.parametrize(
    "command",
    [
        "git checkout main && git pull",  # a branch
        "git checkout --theirs src/cart.py && git add src/cart.py",  # a side of a merge
        "cd elsewhere && git checkout src/cart.py",  # from where? not known
        "git diff --quiet || git checkout src/cart.py",  # it may not have run
        "git diff --quiet || git pull && git checkout src/cart.py",  # (nor this, after it)
    ],
)
def test_a_chain_that_reverts_nothing_of_the_file_says_nothing(command: str) -> None:
    files = _edited_then(command)
    assert not any("`src/cart.py`" in line and "reverted" in line for line in files), files


def test_several_edits_one_later_edit_undid_are_said_undone() -> None:
    """Debugging lines added one edit at a time and taken out by one edit: the file is as it
    was, and no line says what those edits added."""
    records = _Records()
    records.user("why is the total wrong?")
    before = "def total(c):\n    n = sum(c)\n    return n\n"
    records.edit("cart.py", before, "    n = sum(c)\n", "    print(c)\n    n = sum(c)\n")
    records.edit("cart.py", before, "    return n\n", "    print(n)\n    return n\n")
    records.user("ok, take the prints out")
    records.edit(
        "cart.py",
        before,
        "    print(c)\n    n = sum(c)\n    print(n)\n    return n\n",
        "    n = sum(c)\n    return n\n",
    )
    lines = session_digest(records.items(), 2000).text.splitlines()
    line = next(line for line in lines if line.startswith("- `cart.py` was edited"))
    assert line.startswith("- `cart.py` was edited 3 times, each change undone by a later edit")
    assert not any("print(c)" in line for line in lines), lines


# --- git stash, git reset --hard, a revert before "|| true" ---------------------------------------


def _two_files_then(*commands: tuple[str, str]) -> list[str]:
    """``src/cart.py`` edited twice and ``src/tax.py`` once, then ``commands`` (each with its
    output) ran and succeeded: the lines of the two files."""
    records = _Records()
    records.user("make the total round half up")
    records.edit("src/cart.py", "def total():\n    return 1\n", "return 1", "return round(1)")
    records.edit("src/cart.py", "def total():\n    return round(1)\n", "round(1)", "round(1.0)")
    records.edit("src/tax.py", "def tax():\n    return 1\n", "return 1", "return 2")
    for command, output in commands:
        records.ran(command, output)
    files = session_digest(records.items(), 2000).sections["files"].splitlines()
    return [line for line in files if " was edited " in line]


_SAVED = "Saved working directory and index state WIP on main: 1a2b3c4 Start"


@pytest.mark.parametrize(
    ("command", "output", "how"),
    [
        ("git stash", _SAVED, "git stash"),
        ("git stash push -u -m 'try without the rounding'", _SAVED, "git stash"),
        ("git reset --hard", "HEAD is now at 1a2b3c4 Start", "git reset --hard"),
        (f"cd {CWD} && git reset --hard HEAD", "HEAD is now at 1a2b3c4", "git reset --hard"),
        ("git checkout -- src/cart.py src/tax.py || true", "", "git checkout"),
        ("git restore src/cart.py src/tax.py 2>/dev/null || :", "", "git restore"),
    ],
)
def test_a_stash_a_hard_reset_or_a_revert_before_or_true_reverts_the_edits(
    command: str, output: str, how: str
) -> None:
    lines = _two_files_then((command, output))
    assert lines[0].startswith(f"- `src/cart.py` was edited twice, then reverted with `{how}`")
    assert lines[1].startswith(f"- `src/tax.py` was edited once, then reverted with `{how}`")


def test_a_stash_of_one_path_reverts_that_file_only() -> None:
    lines = _two_files_then(("git stash push -- src/cart.py", _SAVED))
    assert lines[0].startswith("- `src/cart.py` was edited twice, then reverted with `git stash`")
    assert lines[1] == "- `src/tax.py` was edited once, changing `tax()`."


@pytest.mark.parametrize(
    "commands",
    [
        # (put away to build without the edits, then put back: the edits are there)
        [("git stash && go build ./...", _SAVED), ("git stash pop", "On branch main")],
        [("git stash", _SAVED), ("git pull --rebase", ""), ("git stash apply", "")],
        [("git stash", "No local changes to save")],  # (nothing put away)
        [("git stash list", "stash@{0}: WIP on main")],
        [("git reset --soft HEAD~1", "")],  # (the working tree keeps the edits)
        [("git reset src/cart.py", "Unstaged changes after reset:")],
        # (the revert before "||" failed: the fallback ran)
        [("git checkout -- src/cart.py src/tax.py || true", "error: pathspec did not match")],
        [("git checkout -- src/cart.py src/tax.py || echo failed", "failed")],
    ],
)
def test_a_stash_put_back_or_a_command_that_reverted_nothing_says_no_revert(
    commands: list[tuple[str, str]],
) -> None:
    lines = _two_files_then(*commands)
    assert not any("reverted" in line for line in lines), lines


def test_a_hard_reset_keeps_what_a_commit_took_in() -> None:
    """``git reset --hard`` throws away what was not committed: the edits a commit took in
    stay; with an older commit named, those go too."""
    commit = "[main 5e6f7a8] Round the total\n 2 files changed, 3 insertions(+)"
    kept = _two_files_then(("git commit -am 'Round the total'", commit), ("git reset --hard", ""))
    assert not any("reverted" in line for line in kept), kept
    gone = _two_files_then(
        ("git commit -am 'Round the total'", commit), ("git reset --hard HEAD~1", "")
    )
    assert all("then reverted with `git reset --hard`" in line for line in gone), gone
