"""What commands did to files the digest speaks of: a file deleted (``rm``, ``git rm``) is not
said to stand unchanged, and a file whose edits a command threw away (``git checkout -- f``,
``git restore f``) is said to be reverted."""

from __future__ import annotations

import pytest

from memcore import session_digest
from tests.test_transcript_agent_records import CWD, _Records


def test_a_file_deleted_by_a_command_is_not_said_to_stand_unchanged() -> None:
    records = _Records()
    records.user("drop the old skill command")
    code = "\n".join(f"{n:6d}\u2192def name{n}():\n" for n in range(1, 13))
    records.tool("Read", {"file_path": f"{CWD}/src/skill.py"}, code)
    records.tool("Bash", {"command": f"rm {CWD}/src/skill.py"}, "")
    records.tool("Bash", {"command": "git rm -q docs/old.md"}, "")
    records.tool("Bash", {"command": "rm -rf build/*"}, "")  # a pattern names no file
    records.tool("Bash", {"command": "cd docs && rm notes.md"}, "")  # from where? not known
    records.tool("Bash", {"command": f"rm {CWD}/src/tmp.py"}, "")
    records.tool("Write", {"file_path": f"{CWD}/src/tmp.py", "content": "x = 1\n"}, "File created")
    files = session_digest(records.items(), 2000).sections["files"].splitlines()
    main = next(n for n, line in enumerate(files) if "`src/skill.py` was read, then" in line)
    assert files[main].startswith("- `src/skill.py` was read, then deleted; it defined `name1()`")
    # the file's other names follow its own line: what the deletion took out
    assert any("`src/skill.py` also defined" in line for line in files[main + 1 :])
    assert not any("`src/skill.py` also defines" in line for line in files)
    assert "- `docs/old.md` was deleted." in files
    assert not any("build" in line or "notes.md" in line for line in files)
    assert any(line.startswith("- `src/tmp.py` was created") for line in files)  # there again
    assert not any("`src/tmp.py`" in line and "deleted" in line for line in files)


def _edited_then(command: str, again: bool = False) -> list[str]:
    records = _Records()
    records.user("make the total round half up")
    records.edit("cart.py", "def total():\n    return 1\n", "return 1", "return round(1)")
    records.edit("cart.py", "def total():\n    return round(1)\n", "round(1)", "round(1.0)")
    records.tool("Bash", {"command": command}, "")
    if again:
        records.edit("cart.py", "def total():\n    return 1\n", "return 1", "return 2")
    return session_digest(records.items(), 2000).sections["files"].splitlines()


@pytest.mark.parametrize(
    ("command", "verb"),
    [
        ("git checkout -- cart.py", "git checkout"),
        ("git checkout HEAD -- cart.py other.py", "git checkout"),
        (f"git checkout HEAD -- {CWD}/cart.py", "git checkout"),
        ("git restore cart.py", "git restore"),
        ("git restore --source HEAD~1 cart.py", "git restore"),
        ("git restore --staged --worktree cart.py", "git restore"),
        (f"git -C {CWD} checkout -- cart.py", "git checkout"),
    ],
)
def test_edits_a_command_threw_away_are_said_reverted(command: str, verb: str) -> None:
    files = _edited_then(command)
    line = next(line for line in files if line.startswith("- `cart.py` was edited"))
    assert line.startswith("- `cart.py` was edited twice, changing ")
    assert line.endswith(f", then reverted with `{verb}`."), line


@pytest.mark.parametrize(
    "command",
    [
        "git checkout main",  # a branch switched: no file named
        "git checkout --ours cart.py",  # a side of a conflict taken, no "--"
        "git restore --staged cart.py",  # unstaged only: the edits stay
        "git checkout -- '*.py'",  # a pattern names no file
        "cd sub && git checkout -- cart.py",  # from where? not known
        "git checkout -- other.py",  # another file
    ],
)
def test_a_command_that_reverts_nothing_of_the_file_says_nothing(command: str) -> None:
    files = _edited_then(command)
    assert not any("reverted" in line for line in files), files


def test_a_file_edited_again_after_its_revert_is_not_said_reverted() -> None:
    files = _edited_then("git checkout -- cart.py", again=True)
    line = next(line for line in files if line.startswith("- `cart.py` was edited"))
    assert line.startswith("- `cart.py` was edited 3 times")
    assert "reverted" not in line
