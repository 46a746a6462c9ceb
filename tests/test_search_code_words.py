"""The words of compound code names (``code_words`` of the search kernel family), the twins held
equal, and what recall gains by them (``memcore.claude_code.recall_rank.indexed_text``)."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore import MemoryIndex
from memcore.claude_code.recall_rank import indexed_text, question_terms
from tests.conftest import IMPLEMENTATIONS, import_kernel

NAMES = [
    "parse_session", "TestInitializeSession_SetsPhaseActive", "HTTPServer", "getHTTPResponse",
    "__init__", "v2Plan", "abc123def", "ABCd", "x", "ok", "CamelCase", "snake_case_name", "A_B",
    "_private_name", "MAX_SIZE", "naïveWord", "café_bar", "fooBar", "fooBar", "日本_語", "ẞig_Word",
    "é", "_", "9lives_x9",
]  # fmt: skip
SEPARATORS = [" ", "\n", ".", "/", "(", "()", "`", ", ", "-", "é", "\u00a0", "::"]
code_texts = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(SEPARATORS)), max_size=25
).map(lambda parts: "".join(name + sep for name, sep in parts))


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return import_kernel("search", request.param)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("`TestInitializeSession_SetsPhaseActive()`", "test initialize session sets phase active"),
        ("HTTPServer getHTTPResponseCode", "http server get http response code"),
        ("parse_session(x) and parse_session(y)", "parse session"),  # each name once
        ("__init__ x_y a1_b2 v2Plan MAX", ""),  # no two parts of two or more characters
        ("MAX_SIZE abc123def", "max size abc 123 def"),
        ("naïveWord", "ve word"),  # a name is ASCII: "ï" ends "na"
        ("plain words only, Title Case too", ""),
    ],
)
def test_compound_names_give_their_words(impl: ModuleType, text: str, words: str) -> None:
    assert impl.code_words(text) == words


@pytest.fixture(scope="module")
def twins() -> tuple[ModuleType, ModuleType]:
    return import_kernel("search", "c"), import_kernel("search", "py")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80) | code_texts)
def test_the_twins_agree(twins: tuple[ModuleType, ModuleType], text: str) -> None:
    native, pure = twins
    expected = pure.code_words(text)
    assert all(word == word.lower() and len(word) >= 2 for word in expected.split(" ") if expected)
    assert native.code_words(text) == expected


def test_recall_finds_a_test_by_the_words_of_its_name() -> None:
    """A model asks about a test in words; the index holds the test's name whole and its
    words beside it, so the question finds it, and the item's text is what it was."""
    index = MemoryIndex()
    created = "Write `phase_test.go`, defining `TestInitializeSession_SetsPhaseActive()`"
    index.add("write", indexed_text(created))
    index.add("other", indexed_text("Ran the session tests: all pass."))
    question = question_terms("which test checks a new session gets phase active")
    assert index.search(question, 1)[0][0] == "write"
    assert indexed_text("no names here") == "no names here"
    assert indexed_text(created).startswith(created)
