"""The words of compound code names (``code_words`` of the search kernel family), the twins held
equal, and what recall gains by them (``memcore.search.item_text``)."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore import DistributedMemoryManager, MemoryItem
from memcore.claude_code.recall_rank import question_terms
from memcore.search import item_text
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


async def test_search_finds_a_test_by_the_words_of_its_name() -> None:
    """A model asks about a test in words; what search indexes of an item (``item_text``) is
    its content with its names' words after it, so the question finds it, through the
    manager's search as through MCP recall, and the item itself is what it was."""
    created = "Write `phase_test.go`, defining `TestInitializeSession_SetsPhaseActive()`"
    manager = DistributedMemoryManager("memory://", replica_id="r")
    manager.set("s", "write", MemoryItem("write", created))
    manager.set("s", "other", MemoryItem("other", "Ran the session tests: all pass."))
    question = question_terms("which test checks a new session gets phase active")
    hits = manager.search("s", question, k=1)
    assert [hit.key for hit in hits] == ["write"]
    assert hits[0].item.content == created
    assert item_text(MemoryItem("x", "no names here")) == "no names here"
    assert item_text(MemoryItem("w", created)) == (
        f"{created}\nphase test test initialize session sets phase active"
    )
    await manager.close()
