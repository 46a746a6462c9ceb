"""What the digest says of the files a session touched and of the searches it ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import memcore.digest_engine
from memcore import session_digest
from memcore.claude_code import parse_lines, parse_transcript
from memcore.digest_density import MOST_NAMES, exact_names
from memcore.digest_file_lines import EDITED_OUTLINE_NAMES, file_lines
from memcore.digest_lines import Candidate
from memcore.digest_work import FileWork
from tests.test_transcript_agent_records import CWD, _Records


def test_more_names_of_a_read_file_say_also_only_after_its_own_line() -> None:
    entry = FileWork("src/app.py", 3, 3, reads=["all"], reads_done=1)
    entry.defines = dict.fromkeys(f"name{n}()" for n in range(12))
    main, *more = file_lines({"src/app.py": entry}, 10)
    assert main.text.startswith("- `src/app.py` was read, not changed; it defines `name0()`")
    both = memcore.digest_engine._render([main, more[0]])[1]["files"].splitlines()
    # (each line names at most six things: the path, and two calls of two names each)
    assert main.text.endswith("it defines `name0()` and `name1()`.")
    assert both[1].startswith("- `src/app.py` also defines `name2()` and `name3()`")
    alone = memcore.digest_engine._render([more[0], more[1]])[1]["files"].splitlines()
    assert alone[0].startswith("- `src/app.py` defines `name2()`")  # no "also" with nothing before
    assert alone[1].startswith("- `src/app.py` also defines `name4()`")


def test_a_file_s_lines_name_at_most_six_things_each() -> None:
    """A line naming more than six things (code spans, paths, calls: `f()` is a span and a
    call) is a list: what a file's edits changed is said in lines that each state it."""
    entry = FileWork("src/app.py", 3, 9, edits=4)
    entry.names = {f"name{n}()": 10 - n for n in range(6)} | {"plain": 1, "other": 1}
    entry.renamed = {(f"old{n}", f"new{n}"): 5 for n in range(4)}
    lines = [c.text for c in file_lines({"src/app.py": entry}, 10)]
    assert lines
    for line in lines:
        assert len(exact_names(line)) <= MOST_NAMES, line
    said = " ".join(lines)
    for n in range(4):  # every rename is still said, and the names first ranked
        assert f"`old{n}` to `new{n}`" in said
    for name in ("name0()", "name1()", "name4()"):
        assert f"`{name}`" in said


def test_a_file_s_lines_are_written_together_from_where_it_was_first_touched() -> None:
    """Edits of `a.py`, then `b.py`, then `a.py` again: `a.py`'s lines (its own, then its
    edits') come before any of `b.py`'s, however the session went back and forth."""
    records = _Records()
    records.user("rename the helpers")
    for path, old, new in (
        ("src/a.py", "def load_all():", "def load_every():"),
        ("src/b.py", "def parse_one():", "def parse_single():"),
        ("src/a.py", "def save_all():", "def save_every():"),
    ):
        edit = {"file_path": f"{CWD}/{path}", "old_string": old, "new_string": new}
        records.tool("Edit", edit, "The file has been updated.")
    files = session_digest(records.items(), 2000).sections["files"].splitlines()
    about_a = [n for n, line in enumerate(files) if "`src/a.py`" in line]
    about_b = [n for n, line in enumerate(files) if "`src/b.py`" in line]
    assert len(about_a) >= 2, files
    assert about_b, files
    assert about_a == list(range(about_a[0], about_a[0] + len(about_a)))  # together
    assert max(about_a) < min(about_b)  # a.py was touched first
    assert files[about_a[0]].startswith("- `src/a.py` was edited twice")  # its own line first


def test_a_file_whose_every_read_failed_is_not_said_to_be_read() -> None:
    records = _Records()
    records.user("look at the client")
    records.tool("Read", {"file_path": f"{CWD}/src/client.go"}, "ignored")
    failed = json.loads(records.lines[-1])  # its result: the file was not there
    block = failed["message"]["content"][0]
    block["is_error"] = True
    block["content"] = "<tool_use_error>File does not exist.</tool_use_error>"
    records.lines[-1] = json.dumps(failed)
    digest = session_digest(records.items(), 2000)
    assert "src/client.go" in digest.sections["errors"]
    assert "src/client.go" not in digest.sections.get("files", "")


def test_files_keep_one_name_after_the_agent_changes_folder() -> None:
    """After ``cd packages/api``, Claude Code records that folder as the working one: files are
    still named from the folder the session started in, so one file has one name."""
    records = _Records()
    records.user("fix the api package")
    records.tool("Read", {"file_path": f"{CWD}/packages/api/package.json"}, "1\u2192{}")
    records.tool("Bash", {"command": "cd packages/api && npm test"}, "3 passed")
    records.tool("Bash", {"command": "rm old.json"}, "")
    moved = f"{CWD}/packages/api"
    edit = {"file_path": f"{moved}/package.json", "old_string": "{}", "new_string": "{ }"}
    records.tool("Edit", edit, "The file has been updated.")
    lines = [json.loads(line) for line in records.lines]
    for record in lines[5:]:  # from the second command on, the agent works in packages/api
        record["cwd"] = moved
    items = parse_lines([json.dumps(r) for r in lines], path="s.jsonl").items
    files = session_digest(items, 2000).sections["files"]
    assert "`packages/api/package.json` was edited once" in files
    assert "`packages/api/old.json` was deleted." in files
    assert "`package.json`" not in files
    assert moved not in files


def test_a_part_read_later_names_files_as_the_whole_did(tmp_path: Path) -> None:
    """A hook reads what was appended since its last save (``start_offset``): the agent's ``cd``
    before that part does not change how its records name files."""
    records = _Records()
    records.user("fix the api package")
    records.tool("Bash", {"command": "cd packages/api"}, "")
    moved = f"{CWD}/packages/api"
    edit = {"file_path": f"{moved}/package.json", "old_string": "{}", "new_string": "{ }"}
    records.tool("Edit", edit, "The file has been updated.")
    lines = [json.loads(line) for line in records.lines]
    for record in lines[3:]:
        record["cwd"] = moved
    path = tmp_path / "s.jsonl"
    text = "".join(json.dumps(r) + "\n" for r in lines)
    path.write_text(text, encoding="utf-8")
    offset = len("".join(json.dumps(r) + "\n" for r in lines[:3]).encode())
    whole = [i.content for i in parse_transcript(path).items if i.metadata.get("tool") == "Edit"]
    part = parse_transcript(path, start_offset=offset).items
    assert [i.content for i in part if i.metadata.get("tool") == "Edit"] == whole
    assert whole[0].startswith("Edit `packages/api/package.json`")


def test_searches_that_found_nothing_are_said_together() -> None:
    records = _Records()
    records.user("is there a CLAUDE.md?")
    for pattern in ["**/CLAUDE.md", ".cursorrules", "AGENTS.md"]:
        records.tool("Glob", {"pattern": pattern}, "No files found")
    records.tool("Glob", {"pattern": "*.md"}, f"{CWD}/README.md")
    listed = [f"{CWD}/node_modules/p{n}/package.json" for n in range(100)]
    cut = {"filenames": listed, "numFiles": 100, "truncated": True}
    records.tool("Glob", {"pattern": "**/package.json"}, "\n".join(listed), toolUseResult=cut)
    commands = session_digest(records.items(), 2000).sections["commands"].splitlines()
    said = "- Glob searches for `**/CLAUDE.md`, `.cursorrules` and `AGENTS.md` found nothing."
    assert said in commands
    assert "- A Glob search for `*.md` found 1 match in `README.md`." in commands
    # (hits only in installed dependencies: the folder they are in, not three of them)
    cut_line = "- A Glob search for `**/package.json` found 100 or more matches in "
    assert cut_line + "`node_modules/`." in commands


def test_a_search_names_the_projects_own_hits_before_its_dependencies() -> None:
    records = _Records()
    records.user("where are the podspecs?")
    listed = [f"{CWD}/example/node_modules/p{n}/p.podspec" for n in range(5)]
    listed.insert(3, f"{CWD}/ios/LiveText.podspec")
    records.tool("Glob", {"pattern": "**/*.podspec"}, "\n".join(listed))
    commands = session_digest(records.items(), 2000).sections["commands"].splitlines()
    assert "- A Glob search for `**/*.podspec` found 6 matches in `ios/LiveText.podspec`." in (
        commands
    )


def test_files_edited_alike_are_told_together_within_six_names() -> None:
    """Four configs given the same edit: one line for them while it names six things at most
    (the names the edit changed count, and each file's path)."""
    files = {}
    for n in range(4):
        entry = FileWork(f"pkg{n}/config.py", n, n + 1, edits=1)
        entry.names = {"alpha_one": 1, "beta_two": 1, "gamma_three": 1}
        files[entry.shown] = entry
    lines = [c.text for c in file_lines(files, 10) if "were each edited" in c.text]
    assert lines
    for line in lines:
        assert len(exact_names(line)) <= MOST_NAMES, line
    said = " ".join(c.text for c in file_lines(files, 10))
    for n in range(4):
        assert f"`pkg{n}/config.py`" in said


def test_a_windows_session_names_its_files_from_its_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """A session recorded on Windows (``C:\\Users\\bob\\shop``) names ``src\\cart.py`` as its
    agent does in its words and its shell, ``src/cart.py``, not by the absolute path; a path
    outside the folder stays whole, and an absolute Windows path is never joined to the folder
    as a relative one."""
    import tests.test_transcript_agent_records as records_module

    folder = "C:\\Users\\bob\\shop"
    monkeypatch.setattr(records_module, "CWD", folder)
    records = _Records()
    records.user("Fix the rounding in cart.py")
    edit = {
        "file_path": f"{folder}\\src\\cart.py",
        "old_string": "    return round(sum(items), 2)",
        "new_string": "    return quantize(sum(items))",
    }
    original = "def total(items):\n    return round(sum(items), 2)\n"
    result = {"originalFile": original, "oldString": edit["old_string"]}
    records.tool("Edit", edit, "The file has been updated.", toolUseResult=result)
    other = {"file_path": "D:\\lib\\money.py", "content": "def quantize(x):\n    return x\n"}
    records.tool("Write", other, "File created successfully.")
    files = session_digest(records.items(), 2000).sections["files"]
    assert "`src/cart.py` was edited once" in files, files
    assert "C:\\Users" not in files
    assert "`D:\\lib\\money.py`" in files


def test_a_file_s_line_names_what_its_edit_changed_first() -> None:
    """Names an edit changed as often as each other are said in the edit's own order, the test
    it added before the names its changed import kept (a real session's digest said "changing
    `test_add_numbers()`, `add_numbers()` and `math_utils`", the test kept as context, the
    names the import line kept, and not the test added); and the edit is in no function."""
    records = _Records()
    records.user("add multiply_numbers and a test for it")
    original = (
        "from src.math_utils import add_numbers\n\n\ndef test_add_numbers():\n"
        "    assert add_numbers(2, 3) == 5\n"
    )
    new = original.replace("add_numbers\n", "add_numbers, multiply_numbers\n", 1) + (
        "\n\ndef test_multiply_numbers():\n    assert multiply_numbers(2, 3) == 6\n"
    )
    edit = {"file_path": f"{CWD}/tests/test_math.py", "old_string": original, "new_string": new}
    result = {"originalFile": original, "oldString": original, "newString": new}
    records.tool("Edit", edit, "The file has been updated.", toolUseResult=result)
    files = session_digest(records.items(), 2000).sections["files"].splitlines()
    line = next(line for line in files if line.startswith("- `tests/test_math.py` was edited"))
    assert line.startswith(
        "- `tests/test_math.py` was edited once, changing `test_multiply_numbers()` and "
        "`multiply_numbers()`"
    ), line
    assert not any("test_add_numbers()` in" in line for line in files)


def _outlines(defined: int) -> list[Candidate]:
    """The outline lines of two files read whole, each defining ``defined`` names:
    `src/f0.ts` only read, `src/f1.ts` read and edited once."""
    files = {}
    for n, edits in enumerate((0, 1)):
        entry = FileWork(f"src/f{n}.ts", n, n + 1, edits=edits)
        entry.reads, entry.reads_done = ["1-80"], 1
        entry.defines = {f"name{n}_{k}()": None for k in range(defined)}
        files[entry.shown] = entry
    return [c for c in file_lines(files, 10) if "(seen when it was read)" in c.text]


def test_what_a_file_only_read_defines_is_said_with_room_to_spare() -> None:
    """The outline of a file the session only read ("`w.ts` also defines `write()` (seen when
    it was read)") is a spare line: a brief has none (one said "`epg-parser.worker.ts`
    defines `write()`" in place of the review's findings); an edited file's outline is not."""
    outlines = _outlines(8)
    assert {c.about for c in outlines} == {"src/f0.ts", "src/f1.ts"}
    assert all(c.spare == (c.about == "src/f0.ts") for c in outlines)


def test_an_edited_file_s_outline_names_a_few_of_its_definitions() -> None:
    """An edited file's outline competes with the work's lines: at most
    ``EDITED_OUTLINE_NAMES`` of its definitions (a small session's 900-token digest said ten
    lines of one file's functions in place of its findings); a file only read keeps twenty,
    said with room to spare."""
    outlines = _outlines(30)
    named = {
        path: sum(c.text.count("`name") for c in outlines if c.about == path)
        for path in ("src/f0.ts", "src/f1.ts")
    }
    assert named["src/f1.ts"] == EDITED_OUTLINE_NAMES
    assert named["src/f0.ts"] > named["src/f1.ts"]
