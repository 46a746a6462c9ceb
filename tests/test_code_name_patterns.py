"""The import's faster patterns find exactly what the plain ones they replaced find.

``code_names`` and ``tools`` lead their patterns with a character set or a newline so that the
regex engine can skip ahead at C speed (see their comments); these properties hold each one to
the plain spelling it replaced, on text built of the characters where they could differ (word
characters inside and outside ASCII, backslashes, newlines, digits, the arrows of a Read)."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.claude_code import code_names, tools

# the plain spellings: what a reader expects the patterns to mean
PLAIN_WORD = re.compile(r"(?<!\\)\b[A-Za-z_][A-Za-z0-9_]{2,}\b")
PLAIN_DEFINITION = re.compile("^" + code_names._DEFINITION_BODY, re.MULTILINE)
PLAIN_READ_PREFIX = re.compile(r"^ *\d+(?:\u2192|\t)", re.MULTILINE)


def _plain_quantifiers(source: str) -> str:
    return source.replace("*+", "*").replace("++", "+")


PIECES = st.sampled_from(
    [
        "a", "Zz", "_x", "name", "abc1", "9", "é", "ß", "\\", "\\n", "\n", "\n\n", " ", "  ",
        "\t", ".", "(", ")", "def ", "class ", "  def ", "func ", "export const ", "let ",
        "async def ", "pub fn ", "CREATE TABLE ", "→", "12→", "  3\t", "-", "#",
        "public ", "private static ", "int ", "List<T> ", "fun ", "with ",
    ]
)  # fmt: skip
CODE = st.lists(PIECES, max_size=40).map("".join)
# with the pieces of C-family signatures and calls, where a possessive quantifier gives up
C_PIECES = st.one_of(
    PIECES,
    st.sampled_from(["{", "}", " {", "*", "&", "::", "<T>", "std::string ", "void ", "() {"]),
    st.sampled_from([") const {", "(int n) {", "f(", "a.b(", ".c", ";", "\n}", "\r\n"]),
)
C_CODE = st.lists(C_PIECES, max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(CODE)
def test_the_word_pattern_finds_what_the_plain_one_finds(text: str) -> None:
    assert code_names._WORD.findall(text) == PLAIN_WORD.findall(text)
    for word in set(PLAIN_WORD.findall(text)):
        assert code_names._WORD.fullmatch(word)


@settings(max_examples=400, deadline=None)
@given(CODE)
def test_definitions_are_those_of_the_multiline_pattern(text: str) -> None:
    plain = [
        (m.group(0), m.group("name"), m.group("method") is not None)
        for m in PLAIN_DEFINITION.finditer(text)
    ]
    assert list(code_names._definitions(text)) == plain


@settings(max_examples=400, deadline=None)
@given(CODE)
def test_a_read_s_text_loses_the_same_line_numbers(text: str) -> None:
    assert tools.file_text(text) == PLAIN_READ_PREFIX.sub("", text)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="possessive quantifiers: Python 3.11+")
@settings(max_examples=400, deadline=None)
@given(C_CODE)
def test_the_possessive_patterns_find_what_their_plain_spelling_finds(text: str) -> None:
    """Python 3.10 cannot read a possessive quantifier: there the definitions and calls are
    spelled plain (``code_names._portable``), which must find the same, only slower."""
    call = code_names._CALL.pattern
    for source in ("\n" + code_names._DEFINITION_BODY, call):
        fast, plain = re.compile(source), re.compile(_plain_quantifiers(source))
        assert [(m.span(), m.groups()) for m in fast.finditer(text)] == [
            (m.span(), m.groups()) for m in plain.finditer(text)
        ]
    assert "*+" in call  # (on 3.11+ the patterns keep their possessive spelling)
