"""The prose kernels (exact names and concluding phrases of an agent's text): behaviour on both
twins, and the compiled twin equal to the pure one (whose regular expressions define them)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore._pure import prose as pure_prose

# Pieces that reach every branch: code spans (short, long, broken by a newline), paths with and
# without an extension, calls, Unicode word characters and digits, and the concluding phrases
# with their near misses.
NAME_PIECES = [
    "`x`", "`ab`", "`" + "a" * 80 + "`", "`" + "a" * 81 + "`", "`a\nb`", "``", "`", "src/a.py",
    "a/b/c.tar.gz", "a//b.py", "./x/y.z", "-/a.b", "a/b.", "a/b", "/etc/x.conf", "x.y/z.",
    "foo(", "_f(", "9x(", "é(", "a.b(", "x_y.z/w.v(", "ß/é.ü", "٣/x.٣", "(", ")", "/", ".", "-",
    "_", "a", "Z", "0", "é", " ", "\n", "\t",
]  # fmt: skip
PHRASE_PIECES = [
    "all", "3", "12", "\u0663", "tests", "test", "testsx", "now", "pass", "passes", "passing",
    "passed", "failed", "the", "bug", "issue", "problem", "problems", "error", "cause", "fix",
    "is", "was", "isn", "turns", "out", "added", "fixed", "found", "that", "works", "working",
    "will", "use", "succeeded", "completed", "confirmed", "created", "caused", "by", "chose",
    "because", "implemented", "instead", "removed", "renamed", "refactored", "root", "updated",
    "verified", "decided", "x", "The", "ALL",
    # Chinese and Japanese conclusions, their halves, and letters around them
    "\u4fee\u590d\u4e86", "\u4fee\u590d", "\u5df2", "\u6210\u529f", "\u6210", "\u901a\u8fc7",
    "\u6d4b\u8bd5", "\u90fd", "\u539f\u56e0", "\u662f", "\u306f",
    "\u4fee\u6b63\u3057\u307e\u3057\u305f", "\u5b8c\u4e86\u3057\u307e\u3057\u305f",
    "\u3057\u307e\u3057\u305f", "\u4e2d",
    # other languages' conclusions written in ASCII, and words they open
    "behoben", "bestanden", "erfolgreich", "funktioniert", "corregido", "funciona",
    "funcionalidad", "pasan", "passaram", "risolto", "fonctionne", "fonctionnel",
    # Korean: a conclusion's stem, its halves and an ending
    "수정했", "수정", "했", "통과합니다", "통과",
    "습니다", "원인은",
    # Russian: stems and words around them
    "исправлена", "исправить", "тесты", "проходят", "работает", "успешно", "причина", "в",
]  # fmt: skip
SEPARATORS = [" ", " ", "", "_", ".", "-", "\n", "é", "1", "  ", "/", "`"]


def _joined(pieces: list[str]) -> st.SearchStrategy[str]:
    piece = st.tuples(st.sampled_from(pieces), st.sampled_from(SEPARATORS)).map("".join)
    return st.lists(piece, max_size=14).map("".join)


name_texts = st.one_of(
    _joined(NAME_PIECES), st.text(alphabet="ab_Z9é٣ß中 .-/`(\n\t:,", max_size=60), st.text()
)
phrase_texts = st.one_of(_joined(PHRASE_PIECES), st.text(max_size=60))


@pytest.fixture(scope="module")
def twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> tuple[ModuleType, ModuleType]:
    return native_kernels("prose"), pure_kernels("prose")


@settings(max_examples=400, deadline=None)
@given(text=name_texts)
def test_find_identifiers_twins_agree(twins: tuple[ModuleType, ModuleType], text: str) -> None:
    native, pure = twins
    assert native.find_identifiers(text) == pure.find_identifiers(text)


@settings(max_examples=300, deadline=None)
@given(text=name_texts)
def test_find_names_twins_agree(twins: tuple[ModuleType, ModuleType], text: str) -> None:
    native, pure = twins
    assert native.find_names(text) == pure.find_names(text)
    assert pure.find_names(text) == [n.strip("`(") for n in pure.find_identifiers(text)]


@settings(max_examples=400, deadline=None)
@given(text=phrase_texts)
def test_concludes_twins_agree(twins: tuple[ModuleType, ModuleType], text: str) -> None:
    native, pure = twins
    assert native.concludes(text) is pure.concludes(text)
    assert native.concludes(text.lower()) is pure.concludes(text.lower())


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(name_texts, phrase_texts, st.text(alphabet="ab`Z \n\u00e9_1", max_size=40)))
def test_other_words_twins_agree(twins: tuple[ModuleType, ModuleType], text: str) -> None:
    native, pure = twins
    assert native.other_words(text) == pure.other_words(text)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet="ab `\n\u4e2d\u6587\u3042\u30a2\u3400\uf900\u3002\u00e9", max_size=40),
        st.text(max_size=40),
    )
)
def test_count_words_twins_agree(twins: tuple[ModuleType, ModuleType], text: str) -> None:
    native, pure = twins
    assert native.count_words(text) == pure.count_words(text)


def test_count_words_examples(prose: ModuleType) -> None:
    """Words as ``split()`` gives them, and one more for every two Chinese or Japanese letters
    of a run: that text writes no spaces."""
    assert prose.count_words("All 3 tests pass.") == 4
    assert prose.count_words("  a\tb\n") == 2
    assert prose.count_words("\u6240\u6709\u6d4b\u8bd5\u90fd\u901a\u8fc7\u4e86\u3002") == 5
    assert prose.count_words("`f()` \u73b0\u5728\u4f7f\u7528 `D`") == 5  # 3 words, 2 more
    assert prose.count_words("\u4e2d") == 1


def test_other_words_examples(prose: ModuleType) -> None:
    assert prose.other_words("`ab` and `cd` are renamed") == 3  # code spans are no words
    assert prose.other_words("ab`cd`ef x caf\u00e9 a_bc") == 4  # ab, ef, caf, bc
    assert prose.other_words("an `unclosed span here") == 4


def test_native_module_is_the_compiled_one(native_kernels: Callable[[str], ModuleType]) -> None:
    module = native_kernels("prose")
    assert module.__name__ == "memcore._native.prose"
    assert module.__file__ is not None
    assert not module.__file__.endswith(".py")


@pytest.fixture
def prose(prose_impl: ModuleType) -> ModuleType:
    """The prose kernels, compiled and pure (``prose_impl``)."""
    return prose_impl


def test_find_identifiers_examples(prose: ModuleType) -> None:
    text = "Edited `parse()` in src/memcore/digest.py and called run_all( then see a/b and x.y"
    assert prose.find_identifiers(text) == ["`parse()`", "src/memcore/digest.py", "run_all("]
    assert prose.find_identifiers("`" + "a" * 81 + "`") == []  # longer than a code span
    assert prose.find_identifiers("a/b.c/d.e.f") == ["a/b.c/d.e.f"]
    assert prose.find_identifiers("a/b.py/c") == ["a/b.py"]  # the last segment has no extension
    assert prose.find_identifiers("") == []


def test_concludes_examples(prose: ModuleType) -> None:
    assert prose.concludes("all 19 tests pass now")
    assert prose.concludes("the bug was a map iterated in random order")
    assert prose.concludes("\u0663 passed")  # a Unicode digit is a digit, as in `re`
    assert not prose.concludes("the bugs were many")
    assert not prose.concludes("prefixed and unfixedx")
    assert not prose.concludes("")


def test_conclusions_in_other_scripts(prose: ModuleType) -> None:
    """Found anywhere in a run of letters (that text has no word ends): fixed, resolved, tests
    passed, succeeded, the cause is; "通过" alone ("by way of") is no conclusion. Korean's
    stems too, whose words end in endings of their own."""
    assert prose.concludes("\u6211\u4fee\u590d\u4e86\u8fd9\u4e2a\u9519\u8bef")  # 我修复了这个错误
    assert prose.concludes("\u6240\u6709\u6d4b\u8bd5\u90fd\u901a\u8fc7\u4e86")  # 所有测试都通过了
    assert prose.concludes("\u539f\u56e0\u306f\u30ad\u30e3\u30c3\u30b7\u30e5")  # 原因はキャッシュ
    assert not prose.concludes("\u901a\u8fc7\u4fee\u6539\u914d\u7f6e")  # 通过修改配置
    assert not prose.concludes("\u6210")  # (half of 成功)
    # and Korean: "passed all tests", "fixed the bug"; "I will run the tests" concludes nothing
    assert prose.concludes("모든 테스트를 통과했습니다")
    assert prose.concludes("버그를 수정했습니다")
    assert not prose.concludes("테스트를 실행하겠습니다")
    # and Russian by its stems: "the bug is fixed", "all tests pass"; "must fix" is none
    assert prose.concludes("ошибка исправлена")
    assert prose.concludes("все тесты проходят")
    assert not prose.concludes("нужно исправить ошибку")


def test_every_other_script_conclusion_is_found_by_both_twins(
    twins: tuple[ModuleType, ModuleType],
) -> None:
    """The compiled twin looks for these only in a text holding a Cyrillic, kana, CJK or Hangul
    letter: each opens with one, and each is found alone and inside other words by both."""
    native, pure = twins
    for marker in pure_prose.OTHER_SCRIPT_CONCLUSIONS:
        assert "\u0400" <= marker[0] <= "\u04ff" or "\u3040" <= marker[0] <= "\ud7a3", marker
        for text in (marker, f"x {marker}", f"\u4e2d{marker}\u6587 `f()`"):
            assert native.concludes(text) is pure.concludes(text) is True, text


def test_conclusions_in_other_languages_written_in_ascii(prose: ModuleType) -> None:
    """German, Spanish, Portuguese, Italian and French words for fixed, passed, works, solved,
    as whole words ("funcionalidad" is no "funciona")."""
    for text in (
        "alle tests bestanden",
        "der fehler ist behoben",
        "ahora funciona",
        "os testes passaram",
        "il bug \u00e8 risolto",
        "\u00e7a fonctionne",
    ):
        assert prose.concludes(text), text
    assert not prose.concludes("una funcionalidad nueva")
    assert not prose.concludes("le mode fonctionnel")


def test_pure_twin_is_the_regular_expressions() -> None:
    text = "`a.b` c/d.e f( all 2 tests"
    assert pure_prose.find_identifiers(text) == pure_prose.IDENTIFIER.findall(text)
    assert pure_prose.concludes(text) == bool(pure_prose.CONCLUSION.search(text))


# Lines of an agent's text: fences, tables, rules, headings, bullets, status marks, bold,
# questions, instructions, narration, conclusions, names, repeats and odd spacing.
LINE_PIECES = [
    "```", "~~~", "  ```py", "| a | b |", "---", "=-=", "-- x", "# Heading `x`", "## Done:",
    "- item `a.py` fixed", "1. step one", "2) two", "* **bold** `b()` works", "\u2705 Added x/y.z",
    "\u2705 - fixed it", "**-** x", "Is it `ok`?", "Try `/continue` now.", "Let me check `x`.",
    "Now I will run f(", "All 3 tests pass.", "The bug was a map.", "It works because of y.",
    "Plain words here only.", "Short.", "`a` `b`", "`a` `b` `c` d", "x  y   z  .", "The end !",
    "Done \u2014 fixed.", "caf\u00e9 fixed it", "I see", "", "   ", "\t- tab bullet `t`",
    "see src/a.py and src/a.py", "Report whether it works.", "   ## `h(`",
    # openings the narration and instruction patterns are gated on: ASCII letters either case,
    # and non-ASCII letters that ignore-case matching may take for one (\u0130, \u017f, \u212a)
    "OK `ab` done.", "\u0130 will check `ab`.", "\u017ftart `ab` now.", "\u212aeep `ab`, it works.",
    "\u00c9t\u00e9 `ab` fixed.", "zero `ab` fixed.",
    # list marks as the compiled scan strips them: digits (an ASCII one first, then any
    # decimal), the mark's closing, one or more spaces of any kind, or none (no mark then)
    "12. `a.b` fixed", "1\u0663. `ab` works", "-\t`ab` works", "- \u2003`ab` works", "+x `ab`",
    "3.x `ab` fixed", "7) `ab`", "\u0663. `ab` fixed", "I'll run `ab`.", "Go to `ab` now.",
    "ok, `ab` fixed", "i see `ab` fails.",
    # offers of a choice and the options under them, continued, interrupted, or none
    "Would you like me to:", "We have two options: ", "Should I fix `ab`?", "- `ab` quick fix",
    "  and `ab` too", "\u2022 `ab` works", "12) `ab` fixed", "Options :", "whether to:\u2003",
    "Add `ab`? It would be:", "It works. Should we:", "Should \u0130:", "WHICH WAY?",
    # bold lines: titles naming nothing, or statements naming something
    "**The new behavior (now fixed):**", "**All 3 tests pass**", "**`ab` returns early now**:",
    "**a** and **b** differ here", "****", "**x:** ",
]  # fmt: skip
contents = st.one_of(
    st.lists(st.sampled_from(LINE_PIECES), max_size=12).map("\n".join),
    st.lists(
        st.tuples(st.sampled_from(LINE_PIECES), st.sampled_from(LINE_PIECES)).map(" ".join),
        max_size=6,
    ).map("\n".join),
    st.text(alphabet="ab `/(.?!:#-*|\n\u2705\u00e9A1", max_size=80),
    # Chinese and Japanese: wide stops, ideographs, kana, a closing corner bracket
    st.text(alphabet="ab `(.\n\u3002\uff01\uff1f\u300d\u4e2d\u6587\u3042\u30a2A1", max_size=80),
)


@settings(max_examples=300, deadline=None)
@given(
    content=contents,
    needs_names=st.booleans(),
    spare=st.booleans(),
    seen=st.sets(st.sampled_from(["all 3 tests pass", "the bug was a map", "short"])),
)
def test_statement_sentences_twins_agree(
    twins: tuple[ModuleType, ModuleType],
    content: str,
    needs_names: bool,
    spare: bool,
    seen: set[str],
) -> None:
    native, pure = twins
    native_seen, pure_seen = set(seen), set(seen)
    assert native.statement_sentences(
        content, needs_names, spare, native_seen
    ) == pure.statement_sentences(content, needs_names, spare, pure_seen)
    assert native_seen == pure_seen
    # (and with the lines asked for: the same sentences, and the content's lines given)
    native_lines: list[str] = ["kept"]
    pure_lines: list[str] = ["kept"]
    assert native.statement_sentences(
        content, needs_names, spare, set(seen), native_lines
    ) == pure.statement_sentences(content, needs_names, spare, set(seen), pure_lines)
    assert native_lines == pure_lines == ["kept", *content.splitlines()]


def test_statement_sentences_examples(prose: ModuleType) -> None:
    text = "Let me look.\n```\nAll 3 tests pass.\n```\n- All 3 tests pass.\nIs `x` done?\n"
    seen: set[str] = set()
    found = prose.statement_sentences(text, False, False, seen)
    assert [s[0] for s in found] == ["All 3 tests pass."]  # once, outside the code block
    assert found[0][4] is True  # it concludes
    assert seen == {"all 3 tests pass"}
    assert prose.statement_sentences(text, False, False, seen) == []  # said already
    named = prose.statement_sentences("See `ab`, `cd` and `ef`.", True, False, set())
    assert named[0][3] == ["ab", "cd", "ef"]
    assert named[0][6] is True  # 3 names and only 2 other words: a bare list of names
    assert found[0][7] == 4 * 1000  # line 5 (from 0), its first sentence
    # a quoted line says what it quotes, without its marks ("> > - x" is "x")
    quoted = prose.statement_sentences("> > - Run `make release` to tag it.", False, False, set())
    assert [s[0] for s in quoted] == ["Run `make release` to tag it."]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Two options:\n- Use `a()` in the parser\n- Use `b()` in it\nI chose `a()` for it.", [3]),
        ("The question is whether I should:\n1. Fix `x` in the parser\n\n2. Skip `x` for now", []),
        ("Changes made:\n1. Fixed `x` in the parser\n2. Removed `y` from the lexer", [1, 2]),
        ("This means either:\n1. `xs` was never set here\n2. `ys` failed in the lexer", [1, 2]),
        (
            "Would you like me to:\n1. **Add** `f()` to it\n   with `g()` in the lexer\n"
            "Added `h()` to it.",
            [3],
        ),
        ("- Would you like me to:\n- Add `f()` to the parser", [1]),  # an item offers nothing
        # what a proposal would be: its last sentence offers nothing
        ("Would you like me to add `f()`? It would be:\n- Faster than `g()` in the parser", [1]),
        ("It is done. Two options:\n- Keep `f()` in the parser", []),
    ],
)  # fmt: skip
def test_options_put_to_the_user_are_no_statements(
    prose: ModuleType, text: str, kept: list[int]
) -> None:
    found = prose.statement_sentences(text, False, False, set())
    assert [position // 1000 for *_, position in found] == kept


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("**Gemini's behavior (now fixed):**", []),  # a title: names nothing, concludes nothing
        ("**All 19 tests pass now!**", ["All 19 tests pass now!"]),  # a result
        ("**`f()` returns early on zero changes**", ["`f()` returns early on zero changes"]),
        ("**Fixed** the parser in `lexer.go` today", ["Fixed the parser in `lexer.go` today"]),
    ],
)
def test_a_bold_line_naming_nothing_is_a_title(
    prose: ModuleType, text: str, kept: list[str]
) -> None:
    found = prose.statement_sentences(text, False, False, set())
    assert [sentence for sentence, *_ in found] == kept


def test_a_heading_counts_only_when_it_concludes(prose: ModuleType) -> None:
    text = "## Packages with an `exports` field\n## All 19 tests pass in `cart_test.go`\n"
    found = prose.statement_sentences(text, False, False, set())
    assert [s[0] for s in found] == ["All 19 tests pass in `cart_test.go`"]


def test_a_heading_that_asks_is_a_title_whatever_its_words(prose: ModuleType) -> None:
    """ "### 1. How `entire enable` Command Works" concludes by its words ("works") but asks:
    the title of what follows, no result."""
    text = (
        "### 1. How `entire enable` Command Works and Its Flags\n"
        "## What `sync()` fixed\n"
        "## Why `test_sync.py` works now\n"
        "## The fix in `sync.py` works\n"
    )
    found = prose.statement_sentences(text, False, False, set())
    assert [s[0] for s in found] == ["The fix in `sync.py` works"]


def test_main_and_spare_sentences_say_where_they_are(prose: ModuleType) -> None:
    """The main walk and the spare one keep different sentences of one text: their positions
    put them back in the text's order."""
    text = "Done, all 12 tests pass now. It took a while.\n- Plain words about the docs here\n"
    main = prose.statement_sentences(text, False, False, set())
    spare = prose.statement_sentences(text, False, True, set())
    assert [(s[0], s[7]) for s in main] == [("Done, all 12 tests pass now.", 0)]
    assert [(s[0], s[7]) for s in spare] == [
        ("It took a while.", 1),
        ("Plain words about the docs here", 1000),
    ]


@settings(max_examples=500, deadline=None)
@given(
    sentence=st.one_of(
        st.text(
            alphabet="abceghiklmnoprstuwyAEGIKLMNOPRSTWY '\u0130\u017f\u212a\u0131\u00e9",
            max_size=12,
        ),
        st.sampled_from(
            [
                "let me",
                "Let's",
                "i'll",
                "I will",
                "try",
                "You can",
                "go to",
                "OK",
                "Actually,",
                "Maybe",
                "Hmm",
                "Wait",
                "It seems",
                "it looks like",
                "But first",
                "Voy a",
                "Vamos a",
                "D\u00e9jame",
                "Vou",
                "Deixe-me",
                "Ich werde",
                "Lass mich",
                "Je vais",
                "Laissez-moi",
                "Voyons",
                "Vado a",
                "Lasciami",
            ]
        ).map(lambda opening: opening + " `x` now"),
    )
)
def test_the_pattern_gates_skip_only_what_the_patterns_reject(sentence: str) -> None:
    """The walk tries the narration and instruction patterns only where the lowercased first
    two characters are a pair their alternatives open with, or are not ASCII: a gate that
    skips never hides a match, whatever ``re``'s case folding takes for an ASCII letter."""
    pair = sentence.lower()[:2]
    if len(pair) == 2 and pair.isascii():
        if pair not in pure_prose._NARRATION_PAIRS:
            assert pure_prose._NARRATION.match(sentence) is None
        if pair not in pure_prose._INSTRUCTION_PAIRS:
            assert pure_prose._INSTRUCTION.match(sentence) is None


# Lines as a digest's echo check reads them: words with inner capitals and underscores, code
# spans (empty, unclosed, across a newline), inflected words, capitals, and the two characters
# beyond ASCII that lowercase to ASCII letters (the Kelvin sign, the dotted capital I).
ECHO_PIECES = [
    "`x`", "``", "`", "`a b`", "`a\nb`", "camelCase", "snake_case", "_", "aB", "Ab", "AB", "ab",
    "passes", "passed", "passing", "uses", "the", "is", "with", "CI", "run", "runs", "\u212a",
    "\u0130", "\u0130x", "caf\u00e9", "\u00e9B", "x9Y", "9", "README", "a/b.py", "f(", ".", "-",
]  # fmt: skip
echo_texts = st.one_of(
    _joined(ECHO_PIECES),
    st.text(alphabet="aBz_9 `\n.\u212a\u0130\u00e9\u03a3", max_size=40),
    st.text(max_size=60),
)
STOPS: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset(["the", "is", "with", "a"]),
    frozenset(["pass", "passes"]),
)


@settings(max_examples=400, deadline=None)
@given(text=echo_texts, names=st.one_of(st.none(), st.lists(st.sampled_from(["x", "`y`", "z("]))))
def test_echo_names_twins_agree(
    twins: tuple[ModuleType, ModuleType], text: str, names: list[str] | None
) -> None:
    native, pure = twins
    assert native.echo_names(text, names) == pure.echo_names(text, names)


@settings(max_examples=400, deadline=None)
@given(
    text=echo_texts,
    stop=st.sampled_from(STOPS),
    outside_spans=st.booleans(),
    skip_first=st.booleans(),
)
def test_stemmed_words_twins_agree(
    twins: tuple[ModuleType, ModuleType],
    text: str,
    stop: frozenset[str],
    outside_spans: bool,
    skip_first: bool,
) -> None:
    native, pure = twins
    got = native.stemmed_words(text, stop, outside_spans, skip_first)
    assert got == pure.stemmed_words(text, stop, outside_spans, skip_first)


@settings(max_examples=300, deadline=None)
@given(word=st.one_of(st.text(alphabet="abegins", max_size=9), st.text(max_size=8)))
def test_stem_twins_agree(twins: tuple[ModuleType, ModuleType], word: str) -> None:
    native, pure = twins
    assert native.stem(word) == pure.stem(word)


def test_echo_names_examples(prose: ModuleType) -> None:
    text = "Renamed `old_name` to newName in parse_args, not in Plain or ABC (see `a`)."
    spans = {"`old_name`", "`a`"}  # (whole, whatever their length)
    assert prose.echo_names(text, None) == {*spans, "old_name", "newName", "parse_args"}
    assert prose.echo_names(text, ["given"]) == {*spans, "newName", "parse_args", "given"}
    assert prose.echo_names("``x` and `y", []) == {"`x`"}  # an empty span opens none
    assert prose.echo_names("", None) == frozenset()


def test_stemmed_words_examples(prose: ModuleType) -> None:
    stop = frozenset(["the", "and"])
    line = "The tests passed and `passing_case` PASSES"
    assert prose.stemmed_words(line, stop, True, False) == {"test", "pass"}
    assert prose.stemmed_words(line, stop, False, False) == {"test", "pass", "case"}
    assert prose.stemmed_words("Add the hint", stop, False, True) == {"hint"}
    # (lowercased as str.lower() does: the Kelvin sign is "k"; the dotted I is "i" and a mark)
    assert prose.stemmed_words("\u212aeys \u0130ndex", stop, False, False) == {"key", "i", "ndex"}


def test_echo_twin_is_its_regular_expressions() -> None:
    text = "`a` fooBar x_y `b"
    outside = pure_prose._WHOLE_SPAN.sub(" ", text)
    assert pure_prose.echo_names(text, []) == {"`a`", *pure_prose._PROSE_NAME.findall(outside)}
    assert pure_prose.stemmed_words(text, frozenset(), True, False) == {
        pure_prose.stem(w) for w in pure_prose._PLAIN.findall(outside.lower())
    }


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(
        st.tuples(
            st.sampled_from(["**", "* ", "***", "**`f`", ""]),
            st.one_of(_joined(PHRASE_PIECES), name_texts),
            st.sampled_from(["**", "**:", ":**", "** :", "**  ", "", "*"]),
        ).map("".join),
        st.text(alphabet="*: ab`(/\n", max_size=20),
    )
)
def test_is_bold_title_twins_agree(twins: tuple[ModuleType, ModuleType], text: str) -> None:
    native, pure = twins
    assert native.is_bold_title(text) is pure.is_bold_title(text)


def test_is_bold_title_examples(prose: ModuleType) -> None:
    assert prose.is_bold_title("**Planning the change**")
    assert prose.is_bold_title("**What changed (now fixed):**")
    assert not prose.is_bold_title("**All 19 tests pass!**")  # a result
    assert not prose.is_bold_title("**`fn` returns early**")  # it names something
    assert not prose.is_bold_title("**a** and **b**")
