"""Reverts the digest reads beyond ``git checkout -- f``: one command of a chain (``cd /repo &&
git checkout f && go test``), a file the session knows named without ``--``, the session's folder
or a folder of it, and several edits one later edit undid together."""

from __future__ import annotations

import pytest

from memcore import session_digest
from tests.test_transcript_agent_records import CWD, _Records


def _edited_then(command: str) -> list[str]:
    records = _Records()
    records.user("make the total round half up")
    records.edit("src/cart.py", "def total():\n    return 1\n", "return 1", "return round(1)")
    records.edit("src/cart.py", "def total():\n    return round(1)\n", "round(1)", "round(1.0)")
    records.tool("Bash", {"command": command}, "")
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
        "git checkout src/cart.py || echo failed",  # it may not have run
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
