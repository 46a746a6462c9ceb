"""What the import keeps of an edit's removed lines and of a sub-agent's prompt, and what the
digest says of them."""

from __future__ import annotations

import pytest

from memcore import session_digest
from memcore.claude_code.briefs import brief_lines
from memcore.claude_code.code_names import defined_names, read_outline
from memcore.claude_code.edit_changes import changed_names, renamed_names
from memcore.claude_code.tools import called_names, describe_call
from memcore.digest_engine import _render
from memcore.digest_file_lines import file_lines
from memcore.digest_work import FileWork
from tests.test_transcript_agent_records import CWD, _Records

OLD = """def total(cart):
    return sum(item.price for item in cart)
"""
NEW = """def total(cart):
    return round_cents(sum(item.price for item in cart))
"""
PROMPT = """Find every caller of `round_cents()` in the repository.

List each file (for example `shop/cart.py`) and say whether it rounds twice. Do not edit."""


def _edit_session() -> _Records:
    records = _Records()
    records.user("Round the cart total once")
    records.tool(
        "Edit",
        {"file_path": f"{CWD}/shop/cart.py", "old_string": OLD, "new_string": NEW},
        "The file has been updated.",
    )
    return records


def test_an_edit_keeps_the_lines_it_took_out_beside_those_it_added() -> None:
    (call,) = [i for i in _edit_session().items() if i.metadata.get("kind") == "tool_call"]
    assert call.metadata["added_lines"] == ["return round_cents(sum(item.price for item in cart))"]
    assert call.metadata["removed_lines"] == ["return sum(item.price for item in cart)"]


def test_a_write_has_no_removed_lines() -> None:
    records = _Records()
    records.tool("Write", {"file_path": f"{CWD}/shop/money.py", "content": NEW}, "File created.")
    (call,) = [i for i in records.items() if i.metadata.get("kind") == "tool_call"]
    assert "removed_lines" not in call.metadata
    assert call.metadata["names"][0] == "total()"


def test_the_digest_says_what_an_edit_took_out() -> None:
    records = _Records()
    records.user("Drop the cart's discount")
    old = "def total(cart):\n    cut = discount(cart)\n    return subtotal(cart) - cut\n"
    new = "def total(cart):\n    return subtotal(cart)\n"
    records.tool(
        "Edit",
        {"file_path": f"{CWD}/shop/cart.py", "old_string": old, "new_string": new},
        "The file has been updated.",
    )
    files = session_digest(records.items(), 400).sections["files"].splitlines()
    took_out = "- An edit of `shop/cart.py` took out `cut = discount(cart)` and "
    assert any(line.startswith(took_out) for line in files), files


def test_a_created_file_is_said_to_define_its_names() -> None:
    records = _Records()
    records.tool(
        "Write",
        {"file_path": f"{CWD}/shop/money.py", "content": "def round_cents(x):\n    return x\n"},
        "File created.",
        toolUseResult={"type": "create"},
    )
    files = session_digest(records.items(), 400).sections["files"]
    assert "`shop/money.py` was created, defining `round_cents()`." in files


def test_a_write_over_a_file_that_was_there_rewrote_it() -> None:
    records = _Records()
    for _ in range(2):
        records.tool(
            "Write",
            {"file_path": f"{CWD}/shop/money.py", "content": "def round_cents(x):\n    return x\n"},
            "The file has been updated.",
            toolUseResult={"type": "update"},
        )
    files = session_digest(records.items(), 400).sections["files"]
    assert "`shop/money.py` was rewritten, then edited once, changing `round_cents()`." in files
    assert "created" not in files


def test_a_file_created_then_written_over_was_created() -> None:
    records = _Records()
    for kind in ("create", "update"):  # the second Write's result says nothing of the first
        records.tool(
            "Write",
            {"file_path": f"{CWD}/shop/money.py", "content": "def round_cents(x):\n    return x\n"},
            "Written.",
            toolUseResult={"type": kind},
        )
    files = session_digest(records.items(), 400).sections["files"]
    assert "`shop/money.py` was created, then edited once, changing `round_cents()`." in files


@pytest.mark.parametrize("tool", ["Task", "Agent"])  # (``Agent``: the newer name of ``Task``)
def test_a_sub_agent_prompt_is_a_brief_the_digest_keeps(tool: str) -> None:
    records = _Records()
    records.user("Check the rounding callers")
    records.tool(
        tool,
        {"description": "Find rounding callers", "prompt": PROMPT},
        [{"type": "text", "text": "Two callers: `shop/cart.py` and `shop/tax.py`."}],
    )
    (call,) = [i for i in records.items() if i.metadata.get("kind") == "tool_call"]
    assert call.content == "Sub-agent task: Find rounding callers"
    assert call.metadata["brief"] == brief_lines(PROMPT)
    asked = session_digest(records.items(), 400).sections["asked"]
    assert "The agent's brief to a sub-agent says: Find every caller of `round_cents()`" in asked


def test_a_sub_agent_call_without_a_prompt_has_no_brief() -> None:
    records = _Records()
    records.tool("Task", {"description": "Look around"}, "Nothing found.")
    (call,) = [i for i in records.items() if i.metadata.get("kind") == "tool_call"]
    assert "brief" not in call.metadata


READ = """     1\u2192def total(cart):
     2\u2192    subtotal = sum_prices(cart)
     3\u2192    taxed = apply_tax(subtotal, cart.region)
     4\u2192    return round_cents(apply_tax(subtotal, cart.region))
"""


def test_called_names_are_the_most_called_first_without_keywords_or_skipped() -> None:
    text = "if (x) { f(a); obj.load_all(b); load_all(c); print(d); parse(d); }\nload_all(e)\n"
    assert called_names(text) == ["load_all()", "obj.load_all()", "parse()"]
    assert called_names(text, skip=["load_all()"], limit=1) == ["obj.load_all()"]


@pytest.mark.parametrize("limit", [1, 2, 40])
def test_a_read_s_outline_is_its_defined_names_and_the_others_it_calls(limit: int) -> None:
    text = (
        "def total(cart):\n    return round_cents(apply_tax(sum_prices(cart)))\n"
        "class Cart:\n    def add(self, item):\n        self.items.append(check(item))\n"
        "def check(item):\n    return validate(item) and check_stock(item)\n"
    )
    defines = defined_names(text)[:limit]
    assert read_outline(text, limit) == (defines, called_names(text, defines))
    defined, called = read_outline(text, 40)
    assert "check()" in defined
    assert "check()" not in called


def test_a_read_keeps_what_its_code_calls_and_the_digest_says_it_when_there_is_room() -> None:
    records = _Records()
    records.user("Why is the total off by a cent?")
    records.tool("Read", {"file_path": f"{CWD}/shop/cart.py"}, READ)
    (result,) = [i for i in records.items() if i.metadata.get("kind") == "tool_result"]
    assert result.metadata["defines"] == ["total()"]
    assert result.metadata["calls"] == ["apply_tax()", "sum_prices()", "round_cents()"]
    assert "apply_tax" not in result.content  # the outline is metadata, never the read's text
    files = session_digest(records.items(), 800).sections["files"].splitlines()
    # (two calls to a line with the path: each `f()` is two names, and a line names six at most)
    assert "- The code read in `shop/cart.py` calls `apply_tax()` and `sum_prices()`." in files
    assert "- The code read in `shop/cart.py` calls `round_cents()`." in files
    # a document's code blocks are examples: what they call is not said (a held-out session
    # gave four lines of what a skill's PowerShell examples call)
    doc = _Records()
    doc.user("How should the release script be written?")
    example = "```python\n" + "".join(
        line.split("\u2192", 1)[1] + "\n" for line in READ.splitlines()
    )
    doc.tool("Read", {"file_path": f"{CWD}/docs/SKILL.md"}, example + "```\n")
    assert "calls" not in session_digest(doc.items(), 800).text


PLUGIN_BEFORE = """import { z } from 'zod'

export interface TypegenPluginOptions {
  outFile?: string
}

export function createTypegenPlugin(options: TypegenPluginOptions): TypegenPlugin {
  return { name: 'typegen', options }
}
"""


def test_renamed_names_are_names_replaced_one_for_one() -> None:
    after = PLUGIN_BEFORE.replace("Typegen", "Codegen").replace("'typegen'", "'codegen'")
    assert renamed_names(PLUGIN_BEFORE, after) == [
        ("TypegenPluginOptions", "CodegenPluginOptions"),
        ("createTypegenPlugin", "createCodegenPlugin"),
        ("TypegenPlugin", "CodegenPlugin"),
        ("typegen", "codegen"),
    ]
    assert renamed_names("the quick brown fox", "the fast brown fox") == []  # prose
    assert renamed_names("x = total(a)", "x = total(b)") == []  # short, no code: no rename
    # a name still there after the edit was not renamed, only used less
    assert renamed_names("a = first_item\nb = first_item", "a = last_item\nb = first_item") == []
    # one name replaced by two was split, not renamed
    split = renamed_names(
        "if seen_key(a):\n    seen_key(b)", "if deleted_key(a):\n    changed_key(b)"
    )
    assert split == []


def test_a_write_after_a_read_says_what_it_renamed_and_the_digest_tells_it() -> None:
    path = f"{CWD}/packages/plugin-codegen/src/index.ts"
    records = _Records()
    records.user("Rename the typegen plugin to codegen")
    numbered = "".join(
        f"{n:>6}\u2192{line}\n" for n, line in enumerate(PLUGIN_BEFORE.splitlines(), 1)
    )
    records.tool("Read", {"file_path": path}, numbered)
    after = PLUGIN_BEFORE.replace("Typegen", "Codegen")
    records.tool("Write", {"file_path": path, "content": after}, "File written.")
    (write,) = [
        i
        for i in records.items()
        if i.metadata.get("kind") == "tool_call" and i.metadata.get("tool") == "Write"
    ]
    assert write.metadata["renamed"][0] == ["TypegenPluginOptions", "CodegenPluginOptions"]
    files = session_digest(records.items(), 600).sections["files"].splitlines()
    # (two renames to a line with the path: a line names six things at most)
    assert (
        "- In `packages/plugin-codegen/src/index.ts`, the edits renamed `TypegenPluginOptions` to "
        "`CodegenPluginOptions` and `createTypegenPlugin` to `createCodegenPlugin`."
    ) in files
    assert (
        "- In `packages/plugin-codegen/src/index.ts`, the edits renamed `TypegenPlugin` to "
        "`CodegenPlugin`."
    ) in files


def test_calls_moved_to_another_name_are_no_rename() -> None:
    """An edit that points calls at another function (defined elsewhere, the old one kept) did
    not rename anything: said so, it reads as if the old name were gone; an edit that renames
    a definition renames its uses in the same edit too."""
    old = "func TestEnd(t *testing.T) {\n\tenv.SimulateGeminiSessionEnd(id)\n}\n"
    new = old.replace("SimulateGeminiSessionEnd", "SimulateGeminiAfterAgent")
    edit = {"file_path": f"{CWD}/end_test.go", "old_string": old, "new_string": new}
    _, meta = describe_call("Edit", edit, CWD)
    assert "renamed" not in meta
    defined = "func SimulateGeminiSessionEnd(id string) {}\n" + old
    edit["old_string"] = defined
    edit["new_string"] = defined.replace("SimulateGeminiSessionEnd", "SimulateGeminiAfterAgent")
    _, meta = describe_call("Edit", edit, CWD)
    assert meta["renamed"] == [["SimulateGeminiSessionEnd", "SimulateGeminiAfterAgent"]]


@pytest.mark.parametrize(
    ("before", "old", "new"),
    [
        ("def load_items(path):\n    return read(path)\n", "load_items", "read_items"),
        ("fun loadItems(p: String): List<Item> {\n    read(p)\n}\n", "loadItems", "readItems"),
        ("public List<Item> loadItems(String p) {\n    read(p);\n}\n", "loadItems", "readItems"),
        ("static int load_items(const char *p) {\n    read(p);\n}\n", "load_items", "read_items"),
        ("void Cart::loadItems() const {\n    read();\n}\n", "loadItems", "readItems"),
    ],
    ids=["python", "kotlin", "java", "c", "cpp"],
)
def test_a_definition_renamed_is_a_rename_in_any_language(before: str, old: str, new: str) -> None:
    """Kotlin's ``fun``, and C-family functions with a type but no keyword before the name,
    define it as much as Python's ``def`` does."""
    edit = {"file_path": f"{CWD}/items.src", "old_string": before}
    edit["new_string"] = before.replace(old, new)
    _, meta = describe_call("Edit", edit, CWD)
    assert meta["renamed"] == [[old, new]]


def test_a_write_with_nothing_read_before_has_no_renames() -> None:
    records = _Records()
    records.tool("Write", {"file_path": f"{CWD}/a.ts", "content": PLUGIN_BEFORE}, "File created.")
    (write,) = [
        i
        for i in records.items()
        if i.metadata.get("kind") == "tool_call" and i.metadata.get("tool") == "Write"
    ]
    assert "renamed" not in write.metadata


def test_an_escape_in_a_string_names_nothing() -> None:
    """``"\\nTo continue"`` in a Go string is a newline and a word, not a name ``nTo``: an edit of
    such a message changed no ``nTo`` and renamed no ``nTo`` to ``nYou``."""
    old = 'msg := fmt.Sprintf("Session %s is active.\\nTo continue, run %s", id, resumeCmd)\n'
    new = 'msg := fmt.Sprintf("Session %s is active.\\nYou can resume with %s", id, resumeCmd)\n'
    assert not {"nTo", "nYou"} & set(changed_names(old, new))
    assert renamed_names(old, new) == []
    go = 'hint := "Press \\tEnter\\n"\nnewName := oldName\n'
    assert "newName" in changed_names("newName := x\n", go)


_ORIGINAL = """import math


def total(cart):
    subtotal = sum(item.price for item in cart)
    return subtotal
"""
_INSIDE_OLD = "    subtotal = sum(item.price for item in cart)\n    return subtotal\n"
_INSIDE_NEW = (
    "    subtotal = sum(item.price for item in cart)\n"
    "    taxed = apply_tax(subtotal, cart.region)\n"
    "    shipped = add_shipping(taxed, cart.weight)\n"
    "    discounted = apply_coupon(shipped, cart.coupon)\n"
    "    return round_cents(discounted)\n"
)


def test_every_line_told_of_an_edit_names_the_definition_it_changed() -> None:
    records = _Records()
    records.user("Add tax, shipping and coupons to the cart total")
    path = f"{CWD}/shop/cart.py"
    records.tool(
        "Edit",
        {"file_path": path, "old_string": _INSIDE_OLD, "new_string": _INSIDE_NEW},
        "The file has been updated.",
        toolUseResult={
            "filePath": path,
            "oldString": _INSIDE_OLD,
            "newString": _INSIDE_NEW,
            "originalFile": _ORIGINAL,
        },
    )
    lines = session_digest(records.items(), 2000).sections["files"].splitlines()
    told = [line for line in lines if line.startswith("- An edit of") and "added" in line]
    assert len(told) >= 2  # the main line, and the added lines it had no room for
    assert all(line.startswith("- An edit of `total()` in `shop/cart.py` added") for line in told)
    assert any("`return round_cents(discounted)`" in line for line in told)
    # the lines around the edit are where it was made: in total() too
    assert "- An edit of `total()` in `shop/cart.py` was made next to " in "\n".join(lines)


def test_a_documents_further_names_weigh_less_than_codes() -> None:
    """The names a Markdown file's edits changed are the code its prose mentions: its lines
    listing more of them come after the same lines of a source file, when there is room."""
    names = {f"name_{i}": 10 - i for i in range(9)}
    files = {
        shown: FileWork(shown, first=0, last=1, edits=2, names=dict(names))
        for shown in ("src/export.py", "docs/plan.md")
    }
    further = {
        line.about: line.score
        for line in file_lines(files, 2)
        if (line.lead or "").startswith("- In `") and "the edits changed" in (line.lead or "")
    }
    assert further["docs/plan.md"] < further["src/export.py"]


def test_files_read_whole_and_left_alone_are_said_together() -> None:
    """Files read whole whose reading showed nothing to tell (no outline, no calls) share a
    line: the same words for each cost a line per file; one read in part keeps its own."""
    records = _Records()
    records.user("look around the shop")
    for name in ("package.json", "setup.cfg", "tox.ini", "Makefile", "MANIFEST.in"):
        records.tool("Read", {"file_path": f"{CWD}/{name}"}, "     1\tplain text\n")
    records.tool("Read", {"file_path": f"{CWD}/notes.txt", "offset": 10, "limit": 5}, "    10\tx\n")
    files = session_digest(records.items(), 2000).sections["files"].splitlines()
    assert (
        "- `package.json`, `setup.cfg`, `tox.ini` and `Makefile` were read, not changed."
    ) in files
    assert "- `MANIFEST.in` was read, not changed." in files
    assert "- `notes.txt` was read (lines 10-14), not changed." in files


def test_files_the_same_words_tell_of_share_a_line() -> None:
    """A change made the same way in several files (a setting in every package's config) and
    the files Claude Code's history lists are told once for them all, worth what their own
    lines were; a file whose edits changed other names, or none, keeps its own line."""
    config = {"baseUrl": 1, "outDir": 1}
    files = {
        shown: FileWork(shown, first=i, last=i, edits=1, names=dict(config), fixes=1)
        for i, shown in enumerate(("a/tsconfig.json", "b/tsconfig.json", "c/tsconfig.json"))
    }
    files["d/main.ts"] = FileWork("d/main.ts", first=3, last=3, edits=1, names={"run": 1})
    files["e/notes.md"] = FileWork("e/notes.md", first=4, last=4, edits=1)
    files["f/notes.md"] = FileWork("f/notes.md", first=5, last=5, edits=1)
    for i, shown in enumerate(("g.go", "h.go")):
        files[shown] = FileWork(shown, first=6 + i, last=6 + i, tracked=True)
    lines = {line.text: line for line in file_lines(files, 8)}
    grouped = (
        "- `a/tsconfig.json`, `b/tsconfig.json` and `c/tsconfig.json` were each edited once,"
        " changing `baseUrl` and `outDir`; each of these edits fixed a failure."
    )
    assert grouped in lines
    alone = [
        FileWork(f"{c}/tsconfig.json", first=i, last=i, edits=1, names=dict(config), fixes=1)
        for i, c in enumerate("abc")
    ]
    own = [line.score for line in file_lines({f.shown: f for f in alone[:1]}, 8)]
    assert lines[grouped].score > max(own)  # three files' worth, not one's
    assert "- `d/main.ts` was edited once, changing `run`." in lines
    assert "- `e/notes.md` was edited once." in lines  # nothing in common but the count
    assert "- `f/notes.md` was edited once." in lines
    history = "- `g.go` and `h.go` were changed in this session (Claude Code's file history)."
    assert history in lines
    assert not any("`g.go` was" in text for text in lines)


def test_a_file_edited_all_session_lists_a_few_more_of_its_names_not_all() -> None:
    """A file whose edits changed dozens of names (its locals, mostly) gets its own line's 5
    names and ``FURTHER_NAME_LINES`` lines of more: five lists of one file's names priced out
    the statements that say what the work was."""
    from memcore.digest_file_lines import FURTHER_NAME_LINES, FURTHER_NAMES

    names = {f"name_{i:02d}": 40 - i for i in range(30)}
    files = {"src/app.py": FileWork("src/app.py", first=0, last=1, edits=9, names=names)}
    further = [
        line.lead or ""
        for line in file_lines(files, 2)
        if (line.lead or "").startswith("- In `src/app.py`, the edits changed")
    ]
    assert len(further) == FURTHER_NAME_LINES == 2
    told = 5 + FURTHER_NAMES * FURTHER_NAME_LINES
    assert f"`name_{told - 1:02d}`" in further[-1]
    assert not any(f"`name_{told:02d}`" in line for line in further)


def test_more_of_a_files_names_go_on_from_its_line() -> None:
    """A line naming more of what a file's edits changed goes on from the file's own line
    ("edits also changed"), and says the whole when that line was left out."""
    names = {f"name_{i:02d}": 40 - i for i in range(14)}
    files = {"src/app.py": FileWork("src/app.py", first=0, last=1, edits=9, names=names)}
    records = file_lines(files, 2)
    own = next(line for line in records if line.text.startswith("- `src/app.py` was edited"))
    further = [line for line in records if line.lead is not None]
    both = _render([own, *further])[1]["files"].splitlines()
    assert both[0] == own.text
    assert both[1].startswith("- In `src/app.py`, edits also changed `name_05`")
    assert both[2].startswith("- In `src/app.py`, edits also changed `name_09`")
    alone = _render(further)[1]["files"].splitlines()
    assert alone[0].startswith("- In `src/app.py`, the edits changed `name_05`")
    assert alone[1].startswith("- In `src/app.py`, edits also changed `name_09`")


_GUIDE = """# CLAUDE.md

This file provides guidance to Claude Code.

## Project overview

For most code changes, validate with:

```bash
# Not a heading
npm test
```

## Common commands

- Build: `npm run build`

### Library development
"""


def test_a_documents_edit_is_said_by_the_sections_it_added() -> None:
    """A markdown document's lines with a colon are lead-ins ("For most code changes, validate
    with:"), not the assignments they would be in code: its edit is said by the sections it
    added (not its title, nor a ``#`` line in a code block), by name, not as code spans."""
    from memcore.claude_code.tools import describe_call

    _, meta = describe_call("Write", {"file_path": f"{CWD}/CLAUDE.md", "content": _GUIDE}, CWD)
    assert meta["headings"] == [
        "## Project overview",
        "## Common commands",
        "### Library development",
    ]
    records = _Records()
    records.user("write a CLAUDE.md")
    records.tool("Write", {"file_path": f"{CWD}/CLAUDE.md", "content": _GUIDE}, "File created")
    files = session_digest(records.items(), 2000).sections["files"]
    assert (
        '- An edit of `CLAUDE.md` added the sections "Project overview", "Common commands" and '
        '"Library development".'
    ) in files, files
    assert "validate with" not in files


def test_a_design_documents_code_comes_before_its_sections() -> None:
    """The definitions in a design document's code (``type T struct {``) say more of it than
    its section names: they come first."""
    from memcore.digest_work import said_added

    doc = "# Plan\n\n## Types\n\n```go\ntype LineOwnership struct {\n}\n```\n\n## Steps\n"
    records = _Records()
    records.user("write the plan")
    records.tool("Write", {"file_path": f"{CWD}/docs/plan.md", "content": doc}, "File created")
    files = session_digest(records.items(), 2000).sections["files"]
    assert 'added `type LineOwnership struct {` and the sections "Types" and "Steps".' in files
    assert said_added(["## Only"]) == 'the section "Only"'
    assert said_added(["x = 1", "y = 2"]) == "`x = 1` and `y = 2`"
