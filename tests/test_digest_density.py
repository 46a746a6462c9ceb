"""``exact_names`` is the measure's count of a line's exact names: its gates (each pattern run
only where its character is) and the path pattern's lookahead change no match."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.digest_density import chunks, exact_names

# The definition, as the compaction benchmark counts identifiers: every pattern over every text.
_SPAN = re.compile(r"`([^`\n]{3,80})`")
_PATH = re.compile(
    r"(?<![\w/.~-])((?:~|\.{1,2})?/?(?:[\w.@-]+/)+[\w.@-]*\w\.[A-Za-z0-9]{1,10})(?![\w/])"
)
_CALL = re.compile(r"(?<![\w.])([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)\(")

PIECES = [
    "`abc`", "`ab`", "``", "`", "src/a.py", "~/x/y.toml", "../a/b.c", "./a.b/c.d", "a/b", "/",
    "a.b(", "f(", "_x(", "x.y.z(", ".", "-", "@", "~", "é", "ab", "9", " ", "\n", "a/b.tar.gz",
    "a/b.abcdefghijk", "a/b/", "x/y.py/", "(", ")",
]  # fmt: skip
texts = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.text(alphabet="ab_.~/-@`(9é \n", max_size=40),
    st.text(max_size=40),
)


def _defined(text: str) -> set[str]:
    found = {span.strip() for span in _SPAN.findall(text) if len(span.strip()) >= 3}
    found.update(_PATH.findall(text))
    found.update(name for name in _CALL.findall(text) if len(name) >= 3)
    return found


@settings(max_examples=500, deadline=None)
@given(text=texts)
def test_exact_names_are_the_patterns_matches(text: str) -> None:
    assert exact_names(text) == _defined(text)


def test_exact_names_examples() -> None:
    line = "- `src/app.py` was edited, changing `parse()` and load_all( in ~/x/cfg.toml."
    assert exact_names(line) == {"src/app.py", "parse()", "parse", "load_all", "~/x/cfg.toml"}
    assert exact_names("no names here") == set()


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(
        st.sampled_from(["a_b", "c/d.py", "ef", "g()", "hij", "k.l(", "mno"]), max_size=12
    ),
    each=st.integers(1, 5),
    lines=st.integers(0, 4),
)
def test_chunks_of_a_few_lines_are_the_first_of_all(
    names: list[str], each: int, lines: int
) -> None:
    known = {"src/app.py"}
    assert chunks(names, known, each=each, lines=lines) == chunks(names, known, each=each)[:lines]
