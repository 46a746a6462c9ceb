"""The names and lines of code an edit or a read gives (:mod:`memcore.claude_code.code_names`):
what an edit changed and the definition it sits in, what a file defines, across the languages
agents write (keyword forms, methods written with modifiers, C-family signatures, shell and JS
bare ``name() {``)."""

from __future__ import annotations

import pytest

from memcore.claude_code.tools import (
    changed_lines,
    changed_names,
    context_lines,
    defined_names,
    enclosing_definition,
)


def test_edit_names_and_lines() -> None:
    old = "def total(items):\n    return round(sum(items), 2)\n"
    new = "def total(items):\n    return quantize_cents(sum(items))\n"
    names = changed_names(old, new)
    assert names[0] == "total()"  # the definition the change sits in
    assert "quantize_cents()" in names
    assert changed_lines(old, new) == ["return quantize_cents(sum(items))"]
    assert context_lines(old, new) == ["def total(items):"]  # where the change was made
    # error plumbing and a block's edges say nothing; keywords alone may be the change
    go_old = "\treturn true\n"
    go_new = (
        "\trepo, err := OpenRepository()\n\tif err != nil {\n\t\treturn nil, err\n"
        "\t} else {\n\t\tdefault:\n\treturn false, nil\n"
    )
    assert changed_lines(go_old, go_new) == [
        "repo, err := OpenRepository()",
        "default:",
        "return false, nil",
    ]
    # a test's numbered locals are no names; a digit in a longer name still makes one
    test_old = "const msg1 = make()\n"
    test_new = "const msg1 = make()\nconst msg2 = make()\nconst sha256sum = digest(msg2)\n"
    assert "msg2" not in changed_names(test_old, test_new)
    assert "sha256sum" in changed_names(test_old, test_new)
    go = "func (s *Store) Save(ctx context.Context) error {\n\treturn nil\n}\n"
    assert defined_names(go + "type Result struct {\n}\n") == ["Save()", "Result"]


def test_an_edit_s_call_names_the_definition_its_result_says_it_changed() -> None:
    """The call holds what changed; once the result tells where (the definition around the
    edit, from the file as it was), the call says it too, so recall finds it by that name."""
    from tests.test_transcript_agent_records import _Records

    original = "class Cart:\n    def total(self):\n        x = 1\n        return x\n"
    records = _Records()
    records.edit("src/cart.py", original, "        return x\n", "        return round(x, 2)\n")
    call, result = records.items()
    assert result.metadata["enclosing"] == "total()"
    assert call.content.startswith("Edit `src/cart.py` in `total()`, changing `round()`")
    assert call.metadata["enclosing"] == "total()"


def test_enclosing_definition_from_the_original_file() -> None:
    original = "class Cart:\n    def total(self):\n        x = 1\n        return x\n"
    result = {"originalFile": original, "oldString": "        return x\n"}
    assert enclosing_definition(result) == "total()"
    assert enclosing_definition({"originalFile": original, "oldString": "missing"}) is None
    assert enclosing_definition("not a mapping") is None


@pytest.mark.parametrize(
    ("original", "edited", "inside"),
    [
        # top-level shell code after a function: in no function (it was "format_number()")
        ('format_number() {\n  echo "$1"\n}\n\necho "=== Step 15"\n', 'echo "=== Step 15"', None),
        (
            "def helper():\n    return 1\n\nif __name__ == '__main__':\n    run()\n",
            "    run()",
            None,
        ),
        # between two methods: the class, not the method above
        ("class C:\n    def a(self):\n        return 1\n\n    x = 2\n", "    x = 2", "C"),
        # a signature over several lines ends with a line as shallow as the def: still inside
        ("def b(\n    y,\n) -> int:\n    return y\n", "    return y", "b()"),
        # Go: after a function's closing brace; inside one; its doc comment belongs to it
        ("func f() {\n\tx := 1\n}\n\nvar y = 2\n", "var y = 2", None),
        ("func f() {\n\tx := 1\n}\n", "\tx := 1", "f()"),
        ("func f() {\n}\n\n// G does g.\n// More.\nfunc G() {\n}\n", "// More.", "G()"),
        # the languages that write a method with modifiers and no keyword: Java, C#, a TS class
        (
            "public class Cart {\n    public BigDecimal total(Cart c) {\n"
            "        return x;\n    }\n}\n",
            "        return x;",
            "total()",
        ),
        (
            "class Cart {\n    public async Task<int> LoadAsync(string id) {\n"
            "        return 1;\n    }\n}\n",
            "        return 1;",
            "LoadAsync()",
        ),
        (
            "class A {\n  private async load(): Promise<void> {\n    go();\n  }\n}\n",
            "    go();",
            "load()",
        ),
        # Kotlin's fun, with its modifiers; a statement after a modifier is no definition
        (
            "class C {\n    override fun onCreate(b: Bundle?) {\n        setUp()\n    }\n}\n",
            "        setUp()",
            "onCreate()",
        ),
        ("async def main():\n    async with lock(x):\n        pass\n", "        pass", "main()"),
        # C and C++ signatures with no modifier; a shell function
        ("int main(int argc, char **argv) {\n    return run(argc);\n}\n", "    return run(argc);",
         "main()"),
        ("bool Cart::empty() const {\n  return n == 0;\n}\n", "  return n == 0;", "empty()"),
        ('cleanup() {\n  rm -rf "$TMP"\n}\n', '  rm -rf "$TMP"', "cleanup()"),
        # a statement opening a block is no definition: the edit is in the function around it
        ("void f(void) {\n  while (next(x)) {\n    y++;\n  }\n}\n", "    y++;", "f()"),
        # a TS class's method with parameters and a return type, written with no keyword
        (
            "class Page {\n  btn(index: number): Locator {\n    return x(index);\n  }\n}\n",
            "    return x(index);",
            "btn()",
        ),
        # a call given a callback opens no definition
        ("describe('x', function() {\n  it('y', () => {\n    go();\n  });\n});\n", "    go();",
         None),
    ],
)  # fmt: skip
def test_an_edit_is_in_the_definition_whose_block_is_still_open_there(
    original: str, edited: str, inside: str | None
) -> None:
    assert enclosing_definition({"originalFile": original, "oldString": edited}) == inside


_GO = "package cli\n\nfunc GetLogLevel() string {\n\ts, err := Load()\n\treturn s\n}\n"
_PY = "class A:\n    def f(self):\n        return 1\n\nx = 1\n"


@pytest.mark.parametrize(
    ("original", "old", "added", "inside", "names"),
    [
        # a function added after the one the edit kept whole: in neither (a real session's
        # digest said "an edit of `GetLogLevel()` added `func IsX() bool {`")
        (_GO, _GO[12:], "\n// IsX says.\nfunc IsX() bool {\n\treturn false\n}\n", None, ["IsX()"]),
        # a line added inside it: that one
        (_GO, "\ts, err := Load()\n", "\tif err != nil {\n\t\tlog(err)\n\t}\n", "GetLogLevel()",
         ["log()"]),
        # a method added after another: the class, not the method kept
        (_PY, _PY[9:43], "\n    def g(self):\n        return 2\n", "A", ["g()"]),
    ],
)  # fmt: skip
def test_text_only_added_is_in_the_definition_open_where_it_went(
    original: str, old: str, added: str, inside: str | None, names: list[str]
) -> None:
    new = old + added
    result = {"originalFile": original, "oldString": old, "newString": new}
    assert enclosing_definition(result) == inside
    assert changed_names(old, new) == names


_TESTS = (
    "from src.math_utils import add_numbers\n\n\ndef test_add_numbers():\n"
    "    assert add_numbers(2, 3) == 5\n"
)
_TWO = "func a() {\n\tx := 1\n}\n\n// B says.\nfunc B() {\n\ty := 2\n}\n"


@pytest.mark.parametrize(
    ("original", "old", "new", "inside"),
    [
        # an import changed and a test added after the one kept: in neither (a real session's
        # digest said "an edit of `test_add_numbers()` added `def test_multiply_numbers():`")
        (
            _TESTS,
            _TESTS,
            _TESTS.replace("add_numbers\n", "add_numbers, multiply_numbers\n", 1)
            + "\n\ndef test_multiply_numbers():\n    assert multiply_numbers(2, 3) == 6\n",
            None,
        ),
        # a line of the second definition changed: that one, not the first kept as context
        (_TWO, _TWO, _TWO.replace("y := 2", "y := 3"), "B()"),
        # its doc comment changed: that one too
        (_TWO, _TWO, _TWO.replace("B says.", "B says more."), "B()"),
        # its signature changed: that one
        (_TWO, _TWO, _TWO.replace("func a()", "func a(n int)"), "a()"),
        # a change inside the function the edit starts in, before a definition kept whole
        (_TWO, _TWO[10:], _TWO[10:].replace("x := 1", "x := 9"), "a()"),
        # a function added between the two: in none of them
        (_TWO, _TWO, _TWO.replace("\n\n//", "\n\nfunc c() {\n}\n\n//"), None),
    ],
)  # fmt: skip
def test_an_edit_is_in_the_definition_whose_block_it_changed(
    original: str, old: str, new: str, inside: str | None
) -> None:
    result = {"originalFile": original, "oldString": old, "newString": new}
    assert enclosing_definition(result) == inside


def test_definitions_in_the_languages_that_write_methods_with_modifiers() -> None:
    """Java, C#, Kotlin, Swift and a TS class: their methods (modifiers, a type, the name
    called) are functions; their classes, objects, protocols and records are types."""
    from memcore.claude_code.code_names import defined_names

    java = (
        "public final class CartService {\n    private final Repo repo;\n"
        "    public BigDecimal total(Cart cart) {\n        return sum(cart);\n    }\n"
        "    private static Map<String, List<Item>> byName() { return null; }\n}\n"
    )
    assert defined_names(java) == ["total()", "byName()", "CartService"]
    kotlin = "object Registry {\n    private fun round(x: Double): Int = x.toInt()\n}\n"
    assert defined_names(kotlin) == ["round()", "Registry"]
    swift = (
        "protocol Shape {}\nextension Circle: Shape {\n    public func area() -> Double { 0 }\n}\n"
    )
    assert defined_names(swift) == ["area()", "Shape", "Circle"]
    assert defined_names("    async with lock(x):\n        return await fetch(y)\n") == []
    assert defined_names("public static final Foo INSTANCE = new Foo();\n") == []  # (a field)
    # (JS's export is no method's: an exported call is none; a class's methods are)
    ts = "export default defineConfig({\n})\nexport class A {\n  private async run() {\n  }\n}\n"
    assert defined_names(ts) == ["run()", "A"]


def test_definitions_in_c_and_the_bare_forms_of_shell_and_js() -> None:
    """A C-family signature with no modifier opening its body (``int main(...) {``,
    ``std::string Cart::name() const {``) and a name with empty parentheses opening one
    (a shell function, a JS class's method) are functions; statements and calls that open a
    block are not (``if (x) {``, ``match f() {``, ``describe("x", () => {``,
    ``test("x", async function() {``, ``go func() {``, ``return f(x) {``)."""
    from memcore.claude_code.code_names import defined_names, is_definition_line

    c = (
        "#include <stdio.h>\n\nstatic int helper(void) {\n  return 1;\n}\n\n"
        "int main(int argc, char **argv) {\n  return helper();\n}\n"
        "std::string Cart::name() const {\n  return name_;\n}\n"
        "void *alloc(size_t n) {\n  return malloc(n);\n}\n"
    )
    assert defined_names(c) == ["helper()", "main()", "name()", "alloc()"]
    shell = 'set -e\ncleanup() {\n  rm -rf "$TMP"\n}\ntrap cleanup EXIT\n'
    assert defined_names(shell) == ["cleanup()"]
    js = "class View {\n  render() {\n    return draw(this.x);\n  }\n}\n"
    assert defined_names(js) == ["render()", "View"]
    for statement in (
        "if (ready(x)) {",
        "} else if (x) {",
        "match parse(s) {",
        "for (int i = 0; i < n; i++) {",
        "while (next(x)) {",
        'describe("cart", () => {',
        'test("x", async function() {',
        "beforeEach(() => {",
        "go func() {",
        "return build(x) {",
        "void run();",
        "x = compute(y) {",
    ):
        assert not is_definition_line(statement), statement
    # Lua's local functions; a shell function's locals are none
    lua = "local M = {}\nlocal function setup(o)\n  return o\nend\nfunction M.attach(b)\nend\n"
    assert defined_names(lua) == ["setup()", "M.attach()"]
    assert defined_names("f() {\n  local x=$(foo)\n  local result\n}\n") == ["f()"]
    # initializers, getters and constructors are the language's own words: no name of a file
    assert defined_names("class A {\n  constructor() {\n  }\n  get() {\n  }\n}\n") == ["A"]


def test_a_linter_s_rule_code_in_a_comment_is_no_name_the_edit_changed() -> None:
    """``//nolint:gosec // G304: ...`` silences a rule: G304 is not a name of the code, so an
    edit that adds it changed no name (the digest said "the edits changed `G304`"). A code
    that the code itself names is one."""
    old = "\tf, err := os.Create(traceFile)\n"
    new = "\t//nolint:gosec // G304: the path is the user's own\n\tf, err := os.Create(traceFile)\n"
    assert changed_names(old, new) == []
    assert "G306" not in changed_names("x := 1\n", "x := 2 # noqa: G306\n")
    assert "E501_LIMIT" in changed_names("x = 1\n", "x = E501_LIMIT\n")
    assert "G304" in changed_names("a\n", "const G304 = 1 // G304 rule\n")
    # a note's tag: "the edits also changed `TODO()`"
    todo = changed_names("return nil\n", "// TODO(ENT-221): dispatch here\nreturn nil\n")
    assert "TODO()" not in todo
    assert "TODO" not in todo


def test_a_list_s_comma_is_no_change_of_its_line() -> None:
    """Taking out a JSON object's last entries drops the comma of the one before: that line
    (``"outDir": "dist",``) is kept, not added nor taken out, and names nothing changed."""
    old = '  "rootDir": "src",\n  "outDir": "dist",\n  "baseUrl": ".",\n  "paths": {}\n'
    new = '  "rootDir": "src",\n  "outDir": "dist"\n'
    assert changed_lines(old, new) == []
    assert changed_lines(new, old) == ['"baseUrl": ".",', '"paths": {}']  # (what it took out)
    assert '"outDir": "dist"' in context_lines(old, new)
    names = changed_names(old, new)
    assert "baseUrl" in names
    assert "outDir" not in names


def test_a_hex_value_is_no_name_an_edit_changed() -> None:
    """A colour or a hash (``f87171``, ``3b307b2``) has digits as names do: it is a value."""
    old = "border: 1px solid #ef4444;\n"
    new = "border: 1px solid #f87171;\nconst retries3 = 3\n"
    names = changed_names(old, new)
    assert "f87171" not in names
    assert "ef4444" not in names
    assert "retries3" in names


def test_a_command_s_options_in_an_edited_script_are_no_names_it_changed() -> None:
    """A workflow step added with a PowerShell command (a real session's digest said the
    edit was "changing `ItemType`"): the command's options are what it was told, not names;
    the same word used as a name still counts."""
    old = "      - name: Build\n        run: make\n"
    step = (
        "      - name: Package\n        run: |\n"
        "          New-Item -ItemType Directory -Force -Path dist | Out-Null\n"
        "          go mod download -modcacherw\n"
    )
    assert changed_names(old, old + step) == []
    assert "ItemType" in changed_names(old, old + step + "          $ItemType = 1\n")


def test_a_word_written_only_in_a_dotted_call_is_that_call_s() -> None:
    """``test.setTimeout(60000)`` added: one name, the call (a real session's digest said
    "changing `setTimeout`, `test.setTimeout()` and `test()`"); a part the changed lines also
    write alone stays a name of its own."""
    old = 'test("a", async () => {\n  await go();\n'
    new = 'test("a", async () => {\n  test.setTimeout(60000);\n  await go();\n'
    assert changed_names(old, new) == ["test.setTimeout()"]
    old = "  return this.versionEntry(i).locator('b', { hasText: 'dl' });\n"
    new = "  return this.versionEntry(i).locator('b', { hasText: /^dl$/i });\n"
    assert "versionEntry" not in changed_names(old, new)
    assert "this.versionEntry()" in changed_names(old, new)
    old = "x = 1\n"
    new = "x = 1\nwriteFile = pick()\nos.writeFile(p)\n"
    assert {"writeFile", "os.writeFile()"} <= set(changed_names(old, new))


def test_a_file_s_public_names_come_before_its_private_and_special_ones() -> None:
    """A new class's file said by what its users call, not by ``__init__()`` and a helper (a
    real session's digest said "created, defining `__init__()` and `_container_name()`")."""
    from memcore.claude_code.code_names import defined_names

    text = (
        "class ResourceContainerManager:\n    def __init__(self):\n        pass\n"
        "    def _container_name(self):\n        pass\n"
        "    async def start_container(self):\n        pass\n"
    )
    assert defined_names(text) == [
        "start_container()",
        "ResourceContainerManager",
        "_container_name()",
        "__init__()",
    ]


def test_an_edit_too_large_to_diff_is_in_the_first_definition_of_its_old_text() -> None:
    """Past ``SPAN_DIFF_CELLS`` (old lines times new, between those both open and end with) no
    diff is made: the edit is said to be in its old text's first definition, as before there
    was one (a diff of thousands of lines against as many takes seconds, on a hook's path)."""
    from memcore.claude_code.edit_changes import SPAN_DIFF_CELLS

    n = int(SPAN_DIFF_CELLS**0.5) // 2 + 1  # (three lines a definition: past the cells)
    old = "".join(f"def f{i}():\n    x = {i}\ny{i} = 'a'\n" for i in range(n))
    new = old.replace("'a'", "'b'")
    result = {"originalFile": old, "oldString": old, "newString": new}
    assert enclosing_definition(result) == "f0()"
    # the same change in a few lines is in none of them (top-level lines changed)
    small = "".join(f"def f{i}():\n    x = {i}\ny{i} = 'a'\n" for i in range(3))
    result = {"originalFile": small, "oldString": small, "newString": small.replace("'a'", "'b'")}
    assert enclosing_definition(result) is None
