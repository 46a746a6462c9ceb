"""What commands did to files the digest speaks of: a file deleted (``rm``, ``git rm``) is not
said to stand unchanged, and a file whose edits a command threw away (``git checkout -- f``,
``git restore f``), or later edits undid, is said to be reverted; and the calls that reached
beyond the project (the web, an MCP server's tools)."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore import session_digest
from memcore.digest_file_commands import command_tokens
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
    # (the file's fate before its names: a line cut to fit keeps it)
    assert line.startswith(f"- `cart.py` was edited twice, then reverted with `{verb}`; the edits")
    assert line.endswith("had changed `total()` and `round()`."), line


@pytest.mark.parametrize(
    "command",
    [
        "git checkout main",  # a branch switched: no file named
        "git checkout --ours cart.py",  # a side of a conflict taken, no "--"
        "git restore --staged cart.py",  # unstaged only: the edits stay
        "git checkout -- '*.py'",  # a pattern names no file
        "cd sub && git checkout -- cart.py",  # from where? not known
        "git checkout -- other.py",  # another file (said apart: below)
    ],
)
def test_a_command_that_reverts_nothing_of_the_file_says_nothing(command: str) -> None:
    files = _edited_then(command)
    assert not any("`cart.py`" in line and "reverted" in line for line in files), files


def test_files_reverted_that_the_session_had_not_edited_are_said_so() -> None:
    """``git checkout -- a b`` of files this session never edited threw away whatever changes
    they had (a linter's, the user's): said, as a command's line alone was said only when
    there was room."""
    files = _edited_then("git checkout -- other.py lint.cfg")
    assert "- `other.py` and `lint.cfg` were reverted with `git checkout`." in files, files
    assert not any("`cart.py`" in line and "reverted" in line for line in files), files


def test_a_file_edited_again_after_its_revert_is_not_said_reverted() -> None:
    files = _edited_then("git checkout -- cart.py", again=True)
    line = next(line for line in files if line.startswith("- `cart.py` was edited"))
    assert line.startswith("- `cart.py` was edited 3 times")
    assert "reverted" not in line


def _undone(*, all_of_it: bool) -> list[str]:
    """Edits of `attr.go` that later edits undid (told "no, revert those changes"), and, unless
    ``all_of_it``, one more that stays."""
    records = _Records()
    records.user("skip the metadata folders when counting")
    before = "func count(p string) int {\n\tn := 0\n\treturn n\n}\n"
    guard = "\tif isMetadataPath(p) {\n\t\treturn 0\n\t}\n"
    helper = 'func isMetadataPath(p string) bool {\n\treturn strings.HasPrefix(p, ".e/")\n}\n'
    records.edit("attr.go", before, "\tn := 0\n", guard + "\tn := 0\n")
    records.edit("attr.go", before, "func count(", helper + "func count(")
    if not all_of_it:
        records.edit("attr.go", before, "\treturn n\n", "\treturn n + 1\n")
    records.user("no, revert those changes")
    records.edit("attr.go", before, helper + "func count(", "func count(")
    records.edit("attr.go", before, guard + "\tn := 0\n", "\tn := 0\n")
    records.tool("Bash", {"command": "go test ./..."}, "ok")
    return session_digest(records.items(), 2000).text.splitlines()


def test_edits_later_edits_undid_are_said_undone() -> None:
    """An edit that takes out what an earlier one added and puts back what it took out undid
    it: the file is as it was, which its line says (the names after it: what to look for no
    more), and no line says what the undone edits added; the state line does not name it."""
    lines = _undone(all_of_it=True)
    line = next(line for line in lines if line.startswith("- `attr.go` was edited"))
    assert line.startswith("- `attr.go` was edited 4 times, each change undone by a later edit;")
    assert "the edits had changed" in line, line
    assert "`isMetadataPath()`" in line, line
    assert not any("added" in line and "isMetadataPath" in line for line in lines), lines
    assert not any("also changed" in line for line in lines), lines
    assert not any(line.startswith("- State at the end") for line in lines)  # nothing changed


def test_edits_undone_beside_one_that_stays_are_counted_apart() -> None:
    lines = _undone(all_of_it=False)
    line = next(line for line in lines if line.startswith("- `attr.go` was edited"))
    assert line.startswith("- `attr.go` was edited 5 times (4 of them undoing each other)"), line
    assert "undone by a later edit" not in line
    assert "`isMetadataPath()`" not in line  # (what is there now: the edit that stays)
    assert not any("isMetadataPath" in line for line in lines), lines
    # (the file changed: the edit that stays, before the check)
    state = next(line for line in lines if line.startswith("- State at the end"))
    assert "passed after the last edit" in state


def _reached_out() -> _Records:
    records = _Records()
    records.user("find out whether httpx supports HTTP/3 and open an issue in our repo about it")
    records.tool("WebSearch", {"query": "httpx HTTP/3 support"}, "Links: [{...}]")
    url = "https://github.com/encode/httpx/issues/275"
    records.tool("WebFetch", {"url": url, "prompt": "Does httpx support HTTP/3?"}, "No.")
    records.tool("mcp__github__list_issues", {"repo": "shop", "state": "open"}, "[]")
    issue = {"owner": "acme", "repo": "shop", "title": "Track HTTP/3 support"}
    records.tool("mcp__github__create_issue", issue, '{"number": 42}')
    records.tool("mcp__memcore__recall", {"query": "httpx"}, "nothing")  # its own memory
    records.said("httpx does not support HTTP/3 yet. Opened acme/shop#42 to track it.")
    return records


def test_calls_beyond_the_project_are_said_acts_first_looks_when_there_is_room() -> None:
    """A page fetched, a web search and an MCP tool that reads are the sources of what the
    agent found: said when there is room; an MCP tool that acts (an issue opened) is work done,
    said as a command is; memcore's own tools are its memory, no work."""
    records = _reached_out()
    roomy = session_digest(records.items(), 800).sections["commands"].splitlines()
    assert roomy == [
        "- Searched the web for `httpx HTTP/3 support`.",
        "- Fetched `https://github.com/encode/httpx/issues/275`: Does httpx support HTTP/3?",
        "- Called `list_issues` of MCP server `github` (repo=shop, state=open).",
        "- Called `create_issue` of MCP server `github` (owner=acme, repo=shop, title=Track "
        "HTTP/3 support).",
    ]
    for budget in range(40, 200, 10):  # where the act first fits, the looks wait
        commands = session_digest(records.items(), budget).sections.get("commands", "")
        if "create_issue" in commands:
            assert "Fetched" not in commands, commands
            assert "list_issues" not in commands, commands
            break
    else:
        raise AssertionError("the issue opened was never said")


def _failed_edit(records: _Records, path: str, old: str, new: str, why: str) -> None:
    """An ``Edit`` call whose result is Claude Code's error (``is_error``)."""
    use_id = f"toolu_{len(records.lines):04d}"
    edit = {"file_path": f"{CWD}/{path}", "old_string": old, "new_string": new}
    block = {"type": "tool_use", "id": use_id, "name": "Edit", "input": edit}
    records._base("assistant", {"role": "assistant", "content": [block]})
    result = {"type": "tool_result", "tool_use_id": use_id, "is_error": True}
    records.user([{**result, "content": f"<tool_use_error>{why}</tool_use_error>"}])


def test_an_edit_that_failed_changed_nothing() -> None:
    """An edit whose result is a failure ("String to replace not found") or one of Claude
    Code's guards ("File has not been read yet") changed nothing: its file is not said to be
    edited, nor its names changed, at any size; the failure is said as an error."""
    records = _Records()
    records.user("rename the total")
    _failed_edit(records, "cart.py", "def totl():", "def total():", "String to replace not found")
    _failed_edit(records, "tax.py", "def t():", "def tax():", "File has not been read yet.")
    records.edit("tax.py", "def t():\n    pass\n", "def t():", "def tax():")
    records.said("The function in `cart.py` is already named `total()`.")
    for budget in (300, 2000):
        digest = session_digest(records.items(), budget)
        files = digest.sections["files"]
        assert "`cart.py`" not in files, files
        assert "totl" not in digest.text
        assert any(line.startswith("- `tax.py` was edited once") for line in files.splitlines())
    assert "String to replace not found" in session_digest(records.items(), 2000).text


def test_a_file_created_then_deleted_says_so_before_its_names() -> None:
    """A line cut to fit loses its end: the file's fate comes before the names it defined."""
    records = _Records()
    records.user("write the ADR, then drop it")
    content = "".join(f"def name{n}():\n    return {n}\n" for n in range(6))
    records.tool("Write", {"file_path": f"{CWD}/adr.py", "content": content}, "File created")
    records.tool("Bash", {"command": f"rm {CWD}/adr.py"}, "")
    files = session_digest(records.items(), 2000).sections["files"].splitlines()
    line = next(line for line in files if line.startswith("- `adr.py`"))
    assert line.startswith("- `adr.py` was created, then deleted; it defined `name0()`")


def test_a_background_task_s_output_gone_is_the_harness_s_error_not_the_session_s() -> None:
    """Claude Code keeps a background task's output under ``/tmp/claude-<uid>/<project>/
    tasks/``: a Read of it after it was cleaned up failed for the harness, not the work."""
    records = _Records()
    records.user("is the server up?")
    gone = "/tmp/claude-1000/-home-bob-shop/tasks/bd0afab.output"
    use_id = f"toolu_{len(records.lines):04d}"
    block = {"type": "tool_use", "id": use_id, "name": "Read", "input": {"file_path": gone}}
    records._base("assistant", {"role": "assistant", "content": [block]})
    failed = "<tool_use_error>File does not exist.</tool_use_error>"
    records.user([{"type": "tool_result", "tool_use_id": use_id, "content": failed,
                   "is_error": True}])  # fmt: skip
    errors = session_digest(records.items(), 2000).sections.get("errors", "")
    assert "bd0afab.output" not in errors


def test_a_result_naming_a_file_deleted_after_it_says_so() -> None:
    """ "Created the ADR at `docs/adr.md`." said before ``rm docs/adr.md`` reads, alone, as the
    file's state now: it says the file was deleted later. Said after the deletion, it stays."""
    records = _Records()
    records.user("write the ADR, then fold it into the architecture doc")
    records.tool("Write", {"file_path": f"{CWD}/docs/adr.md", "content": "# ADR\n"}, "File created")
    records.said("Created the ADR at `docs/adr.md`.")
    records.tool("Bash", {"command": f"rm {CWD}/docs/adr.md"}, "")
    records.said("Folded `docs/adr.md` into `docs/architecture.md` and removed it.")
    decisions = session_digest(records.items(), 2000).sections["decisions"].splitlines()
    assert "- Created the ADR at `docs/adr.md` (the file was deleted later)." in decisions
    assert "- Folded `docs/adr.md` into `docs/architecture.md` and removed it." in decisions


def test_a_lookup_whose_own_program_could_not_start_is_the_harness_s_error() -> None:
    records = _Records()
    records.user("find the session handlers")
    use_id = f"toolu_{len(records.lines):04d}"
    block = {"type": "tool_use", "id": use_id, "name": "Grep", "input": {"pattern": "Session"}}
    records._base("assistant", {"role": "assistant", "content": [block]})
    failed = (
        "<tool_use_error>ENOENT: no such file or directory, posix_spawn "
        "'/opt/homebrew/Caskroom/claude-code/2.1.14/claude'</tool_use_error>"
    )
    records.user([{"type": "tool_result", "tool_use_id": use_id, "content": failed,
                   "is_error": True}])  # fmt: skip
    errors = session_digest(records.items(), 2000).sections.get("errors", "")
    assert "posix_spawn" not in errors


def test_a_failed_edit_whose_result_sorts_before_its_call_is_not_counted() -> None:
    """Claude Code may stamp an edit's call and its failure with the same millisecond; the
    failure's id then sorted first, took back nothing, and the edit stayed counted ("edited
    twice" for one edit)."""
    from dataclasses import replace

    records = _Records()
    records.user("rename the tax function")
    _failed_edit(records, "tax.py", "def t():", "def tax():", "Found 2 matches of the string")
    records.edit("tax.py", "def t():\n    pass\n", "def t():", "def tax():")
    items = records.items()
    call = next(i for i in items if i.metadata.get("kind") == "tool_call")
    failure = next(i for i in items if i.metadata.get("kind") == "error")
    assert failure.metadata["tool_use_id"] == call.metadata["tool_use_id"]
    same_moment = replace(failure, id="cc:00000000-first:0", created_at=call.created_at)
    items = [same_moment if i is failure else i for i in items]
    files = session_digest(items, 2000).sections["files"].splitlines()
    assert any(line.startswith("- `tax.py` was edited once") for line in files), files


def test_a_read_claude_code_refused_is_no_read() -> None:
    """A Read refused as a sibling call failed ("Sibling tool call errored") read nothing: its
    file is not said to be read, not changed."""
    records = _Records()
    records.user("check the linter config")
    use_id = f"toolu_{len(records.lines):04d}"
    block = {
        "type": "tool_use",
        "id": use_id,
        "name": "Read",
        "input": {"file_path": f"{CWD}/.golangci.yml"},
    }
    records._base("assistant", {"role": "assistant", "content": [block]})
    result = {"type": "tool_result", "tool_use_id": use_id, "is_error": True}
    records.user(
        [{**result, "content": "<tool_use_error>Sibling tool call errored</tool_use_error>"}]
    )
    records.said("The linter config is `.golangci.yaml`, not `.golangci.yml`.")
    files = session_digest(records.items(), 2000).sections.get("files", "")
    assert "`.golangci.yml` was read" not in files, files


def test_a_file_moved_by_a_command_is_said_to_be_moved_not_to_stand() -> None:
    """``git mv a b`` (or a folder with the files in it, or ``mv a b dir/``): the file the
    session read is no longer where its line names it."""
    records = _Records()
    records.user("rename typegen to codegen")
    code = "\n".join(f"{n:6d}\u2192# line {n}" for n in range(1, 4))
    for path in ("docs/typegen.md", "packages/typegen/src/index.ts", "a.txt", "b.txt", "c.txt"):
        records.tool("Read", {"file_path": f"{CWD}/{path}"}, code)
    records.tool("Bash", {"command": "git mv docs/typegen.md docs/codegen.md"}, "")
    records.tool("Bash", {"command": "git mv packages/typegen packages/codegen"}, "")
    records.tool("Bash", {"command": "mv a.txt b.txt old/"}, "")
    records.tool("Bash", {"command": "cd docs && mv c.txt d.txt"}, "")  # (from where? not known)
    files = session_digest(records.items(), 2000).sections["files"]
    assert "- `docs/typegen.md` was read, then moved to `docs/codegen.md`." in files
    moved = "then moved to `packages/codegen/src/index.ts`"
    assert f"- `packages/typegen/src/index.ts` was read, {moved}." in files
    assert "- `a.txt` was read, then moved to `old/a.txt`." in files
    assert "moved to `old/b.txt`" in files
    assert not any("`c.txt`" in line and "moved" in line for line in files.splitlines())


def _shlex_tokens(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    return list(lexer)


#: Commands of the characters that matter to shlex (whitespace of its own and not, ``;&|``,
#: quotes, an escape, a comment) and some that do not.
_COMMANDS = st.text(alphabet=" \t\r\n\x0b\u00a0;&|'\"\\#ab-./*=$()<>\u00e9", max_size=40)


@settings(max_examples=1000, deadline=None)
@given(command=_COMMANDS)
def test_command_tokens_are_shlex_s(command: str) -> None:
    """``command_tokens``, which splits a command with no quote, escape or comment by a pattern,
    gives what shlex gives, or raises as it does."""
    try:
        expected = _shlex_tokens(command)
    except ValueError:
        with pytest.raises(ValueError, match=r"No (closing quotation|escaped character)"):
            command_tokens(command)
        return
    assert command_tokens(command) == expected


def test_command_tokens_of_a_chain() -> None:
    command = "cd /repo&&git checkout -- a.go b.go ||  echo no;ls|wc -l &"
    assert command_tokens(command) == _shlex_tokens(command)
    assert command_tokens(command)[:3] == ["cd", "/repo", "&&"]
