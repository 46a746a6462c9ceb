"""``memcore.lazy_re``: a pattern compiled at its first use answers as ``re.compile`` would, puts
the compiled pattern in its module's place, and is not compiled by importing its module."""

from __future__ import annotations

import re
import subprocess
import sys
import types

from hypothesis import given
from hypothesis import strategies as st

from memcore.lazy_re import lazy_compile

PATTERNS = [
    (r"\b(?P<word>[a-z]+)(\d*)\b", 0),
    (r"^- (.+)$", re.MULTILINE),
    (r"[.!?]\s+", 0),
    (r"fix(?:ed|es)?", re.IGNORECASE),
]


def _module(source: str) -> types.ModuleType:
    module = types.ModuleType("lazy_re_probe")
    exec(source, module.__dict__)
    return module


@given(which=st.sampled_from(PATTERNS), text=st.text(alphabet="ab1 .!?-\nFIXed", max_size=40))
def test_a_lazy_pattern_answers_as_the_compiled_one(which: tuple[str, int], text: str) -> None:
    source, flags = which
    compiled = re.compile(source, flags)
    lazy = lazy_compile(source, flags)

    def spans(found: list[re.Match[str]]) -> list[tuple[int, int]]:
        return [m.span() for m in found]

    assert spans(list(lazy.finditer(text))) == spans(list(compiled.finditer(text)))
    assert lazy.findall(text) == compiled.findall(text)
    for method in ("search", "match", "fullmatch"):
        got, expected = getattr(lazy, method)(text), getattr(compiled, method)(text)
        assert (got and got.span()) == (expected and expected.span())
    assert lazy.sub("<\\g<0>>", text) == compiled.sub("<\\g<0>>", text)
    assert lazy.subn("", text) == compiled.subn("", text)
    assert lazy.split(text) == compiled.split(text)
    assert (lazy.pattern, lazy.flags, lazy.groups, lazy.groupindex) == (
        compiled.pattern,
        compiled.flags,
        compiled.groups,
        compiled.groupindex,
    )


def test_the_first_use_puts_the_compiled_pattern_in_its_modules_place() -> None:
    module = _module(
        "from memcore.lazy_re import lazy_compile\n"
        "WORD = lazy_compile(r'[a-z]+')\n"
        "SAME = WORD\n"
        "def words(text):\n"
        "    return WORD.findall(text)\n"
    )
    held = module.WORD  # (as a module importing it by name holds it)
    assert not isinstance(held, re.Pattern)
    assert module.words("ab cd") == ["ab", "cd"]
    assert isinstance(module.WORD, re.Pattern)
    assert module.SAME is module.WORD  # every name bound to it
    assert module.WORD.pattern == "[a-z]+"
    assert held.findall("ef") == ["ef"]  # the stand-in still answers
    assert held.search is not None
    assert repr(held) == repr(module.WORD)


def test_a_name_a_pattern_lacks_is_an_attribute_error() -> None:
    lazy = lazy_compile("a")
    for name in ("no_such_thing", "__wrapped__"):
        try:
            getattr(lazy, name)
        except AttributeError:
            continue
        raise AssertionError(name)
    assert not hasattr(lazy, "nothing")


def test_a_bad_pattern_fails_at_its_first_use() -> None:
    lazy = lazy_compile("(")
    try:
        lazy.search("x")
    except re.error:
        return
    raise AssertionError("an unbalanced pattern compiled")


#: Patterns other modules import by name: compiled as they are imported, so that their users'
#: calls cost no more than a compiled pattern's (see ``memcore.lazy_re``).
SHARED = {"ANSWER", "BULLET", "TOOL_ERROR_TAG"}


def test_importing_the_parse_compiles_none_of_its_patterns() -> None:
    """A new process importing the transcript parser and the digest compiles none of their
    module patterns but those others import by name (each is compiled when first used)."""
    modules = [
        "memcore.claude_code.records",
        "memcore.claude_code.code_names",
        "memcore.claude_code.edit_changes",
        "memcore.claude_code.tools",
        "memcore.claude_code.commands",
        "memcore.digest_prose",
        "memcore.digest_lines",
    ]
    script = (
        "import importlib, re\n"
        f"for name in {modules!r}:\n"
        "    found = vars(importlib.import_module(name)).items()\n"
        "    eager = [k for k, v in found if isinstance(v, re.Pattern)]\n"
        "    lazy = [k for k, v in found if type(v).__name__ == '_LazyPattern']\n"
        "    print(name, len(lazy), *eager)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    found = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()}
    assert set(found) == set(modules)
    for name, (lazy, *eager) in found.items():
        assert int(lazy) > 0, name
        assert set(eager) <= SHARED, (name, eager)
