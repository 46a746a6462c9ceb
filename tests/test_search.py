"""The BM25 index: compiled and pure twins equal (hypothesis, a state machine against a model),
scores equal to bm25s "lucene" on real transcripts, incremental equal to fresh, edge cases."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from memcore import MemoryIndex, NotFoundError, ValidationError
from memcore.claude_code import parse_transcript
from tests.conftest import IMPLEMENTATIONS, import_kernel

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"
PATTERN = re.compile(r"(?u)\b\w\w+\b")

WORDS = [
    "alpha", "Alpha", "ALPHA", "beta", "gamma", "delta", "x1", "a", "_", "__init__", "42",
    "été", "ÉTÉ", "straße", "İstanbul", "ΣΑΣ", "σας", "日本語", "١٢٣", "ﬁle", "naïve", "Ǆemal",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "e\u0301t\u00e9", "\u2160\u2161", "x\u200by",
]  # fmt: skip
SEPARATORS = [" ", "  ", "\n", "\t", ", ", "-", ".", "/", "\u00a0", "\u3000", "'", "+"]
texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=30).map(
    lambda parts: "".join(word + sep for word, sep in parts)
)
keys = st.sampled_from([f"k{i}" for i in range(12)] + ["", "é", "z" * 40])


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The search kernel family, compiled (c) and pure (py)."""
    return import_kernel("search", request.param)


@pytest.fixture(scope="module")
def twins() -> tuple[ModuleType, ModuleType]:
    return import_kernel("search", "c"), import_kernel("search", "py")


def model_search(
    docs: dict[str, str], query: str, k: int, k1: float = 1.5, b: float = 0.75
) -> list[tuple[str, float]]:
    """BM25 lucene straight from the definition, recomputed from the texts every time."""
    tokenized = {key: PATTERN.findall(text.lower()) for key, text in docs.items()}
    if not tokenized:
        return []
    avgdl = sum(map(len, tokenized.values())) / len(tokenized)
    scores: dict[str, float] = {}
    for term in dict.fromkeys(PATTERN.findall(query.lower())):
        holders = {key: toks.count(term) for key, toks in tokenized.items() if term in toks}
        df = len(holders)
        idf = math.log(1.0 + (len(tokenized) - df + 0.5) / (df + 0.5))
        for key, tf in holders.items():
            dl = len(tokenized[key])
            s = idf * tf / (tf + k1 * (1.0 - b + b * dl / avgdl))
            scores[key] = scores.get(key, 0.0) + s
    return sorted(scores.items(), key=lambda hit: (-hit[1], hit[0]))[:k]


# --- tokenizer -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | texts)
def test_tokenizer_matches_re_on_unicode(twins: tuple[ModuleType, ModuleType], text: str) -> None:
    native, pure = twins
    expected = PATTERN.findall(text.lower())
    assert pure.tokenize(text) == expected
    assert native.tokenize(text) == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=30) | texts, min_size=1, max_size=6), st.text(max_size=20) | texts)
def test_native_interning_equals_pure_on_unicode(
    twins: tuple[ModuleType, ModuleType], docs: list[str], query: str
) -> None:
    native, pure = (module.BM25Index() for module in twins)
    for i, text in enumerate(docs):
        native.add(f"d{i}", text)
        pure.add(f"d{i}", text)
    for q in (query, *docs):
        expected = pure.search(q, 10)
        assert native.search(q, 10) == expected
        assert native.search_tokens(twins[1].tokenize(q), 10) == expected


# Pieces for the compiled scanner's seams: ASCII words of 1-17 bytes (its hash and compare go a
# word of 8 at a time), text of every str kind, and capital sigma, whose lowercase depends on its
# neighbours across case-ignorable characters (ASCII ' . : ^ `, U+0301, U+00AD).
SEAM_WORDS = [
    "a", "ab", "Abcdefg", "ABCDEFGH", "abcdefghi", "AbCdEfGhIjKlMnOp", "abcdefghijklmnopq", "x9",
    "Σ", "ΑΣ", "aΣ", "Σa", "ΣΣ", "ς", "σ", "İ", "é", "日本", "😀", "a\u0301", "\u00ad", "ǅ",
]  # fmt: skip
SEAM_SEPARATORS = [
    "", " ", "'", ".", ":", "^", "`", "-", "_", "\x00", "\n", "\u00a0", "\u2014", "\u0301",
]  # fmt: skip
seam_texts = st.lists(
    st.tuples(st.sampled_from(SEAM_WORDS), st.sampled_from(SEAM_SEPARATORS)), max_size=12
).map(lambda parts: "".join(word + sep for word, sep in parts))


@settings(max_examples=300, deadline=None)
@given(seam_texts)
def test_native_scanner_counts_every_token_like_the_pure_twin(
    twins: tuple[ModuleType, ModuleType], text: str
) -> None:
    # A second document makes the length of the first matter to every score, so a token missed,
    # added or spelled differently (say sigma's final form) changes a score or a hit.
    native, pure = (module.BM25Index() for module in twins)
    for index in (native, pure):
        index.add("d", text)
        index.add("e", "zz qq zz")
    tokens = PATTERN.findall(text.lower())
    for query in (*dict.fromkeys(tokens), text, "σ ς " + text.upper()):
        assert native.search(query, 5) == pure.search(query, 5)


# --- twins and model under interleaved add / remove / search ----------------------------------


class IndexMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.native = import_kernel("search", "c").BM25Index()
        self.pure = import_kernel("search", "py").BM25Index()
        self.docs: dict[str, str] = {}

    @rule(key=keys, text=texts)
    def add(self, key: str, text: str) -> None:
        self.native.add(key, text)
        self.pure.add(key, text)
        self.docs[key] = text

    @rule(key=keys)
    def remove(self, key: str) -> None:
        expected = self.docs.pop(key, None) is not None
        assert self.native.remove(key) is expected
        assert self.pure.remove(key) is expected

    @rule(query=texts, k=st.integers(1, 15))
    def search(self, query: str, k: int) -> None:
        got = self.native.search(query, k)
        assert got == self.pure.search(query, k)
        assert got == model_search(self.docs, query, k)

    @invariant()
    def same_keys(self) -> None:
        assert len(self.native) == len(self.pure) == len(self.docs)
        for key in self.docs:
            assert key in self.native
            assert key in self.pure


@pytest.mark.native_only
def test_state_machine() -> None:
    IndexMachine.TestCase.settings = settings(
        max_examples=60,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    IndexMachine.TestCase().runTest()


def churn(impl: ModuleType, rng: random.Random, steps: int) -> tuple[object, dict[str, str]]:
    index = impl.BM25Index(1.2, 0.6)
    docs: dict[str, str] = {}
    vocab = [f"w{i}" for i in range(60)] + WORDS
    for _ in range(steps):
        key = f"k{rng.randrange(300)}"
        if rng.random() < 0.3 and key in docs:
            index.remove(key)
            del docs[key]
        else:
            text = " ".join(rng.choice(vocab) for _ in range(rng.randrange(0, 40)))
            index.add(key, text)
            docs[key] = text
    return index, docs


QUERIES = ["w1", "w2 w3", "alpha été w59", "w0 w0 w1 unknown", "日本語", "nothing here", ""]


@pytest.mark.native_only
def test_long_churn_twins_equal_and_incremental_equals_fresh(
    twins: tuple[ModuleType, ModuleType],
) -> None:
    # 6000 steps over 300 keys: many re-adds, so postings compact and documents renumber.
    native, docs = churn(twins[0], random.Random(7), 6000)
    pure, docs_again = churn(twins[1], random.Random(7), 6000)
    assert docs == docs_again
    fresh = twins[0].BM25Index(1.2, 0.6)
    for key in sorted(docs, reverse=True):
        fresh.add(key, docs[key])
    for query in QUERIES:
        for k in (1, 3, 10, 1000):
            got = native.search(query, k)  # type: ignore[attr-defined]
            assert got == pure.search(query, k)  # type: ignore[attr-defined]
            assert got == fresh.search(query, k)
            assert got == model_search(docs, query, k, 1.2, 0.6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(keys, texts | st.none()), max_size=40), texts)
def test_incremental_equals_fresh_build(
    impl: ModuleType, ops: list[tuple[str, str | None]], query: str
) -> None:
    index = impl.BM25Index()
    final: dict[str, str] = {}
    for key, text in ops:
        if text is None:
            index.remove(key)
            final.pop(key, None)
        else:
            index.add(key, text)
            final[key] = text
    fresh = impl.BM25Index()
    for key, text in final.items():
        fresh.add(key, text)
    assert index.search(query, 50) == fresh.search(query, 50)


# --- parity with bm25s on real text -----------------------------------------------------------


def transcript_texts(limit: int) -> Iterator[str]:
    for path in sorted(DATA.glob("*.jsonl")):
        for item in parse_transcript(path, max_chars=4000).items:
            yield item.content
            limit -= 1
            if limit == 0:
                return


@pytest.mark.skipif(not DATA.is_dir(), reason="no transcripts")
def test_scores_equal_bm25s_lucene_on_real_transcripts() -> None:
    bm25s = pytest.importorskip("bm25s")
    corpus = [text for text in transcript_texts(3000) if PATTERN.search(text.lower())]
    assert len(corpus) > 1000
    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    retriever.index(
        bm25s.tokenize(corpus, stopwords=None, show_progress=False), show_progress=False
    )
    index = MemoryIndex()
    for i, text in enumerate(corpus):
        index.add(str(i), text)
    rng = random.Random(3)
    queries = [["error"], ["the"], ["file", "test"], ["session", "memory", "sync"]]
    for _ in range(20):
        words = PATTERN.findall(rng.choice(corpus).lower())
        queries.append(list(dict.fromkeys(rng.sample(words, min(3, len(words))))))
    compared = 0
    for query in queries:
        expected = retriever.get_scores(query)
        hits = dict(index.search(" ".join(query), k=len(corpus)))
        for i, score in enumerate(expected):
            got = hits.get(str(i), 0.0)
            assert got == pytest.approx(float(score), rel=1e-4, abs=1e-6)
            compared += got > 0
    assert compared > 1000


def test_a_word_the_query_repeats_counts_once(impl: ModuleType) -> None:
    """Each distinct query term is scored once (``memcore._pure.search``), where ``bm25s``
    scores a word at each repeat: the one known difference of scores for a nonempty text."""
    texts = ["hello world", "hello there friend", "goodbye world"]
    index = impl.BM25Index(1.5, 0.75)
    for n, text in enumerate(texts):
        index.add(str(n), text)
    assert index.search("world world hello", 3) == index.search("world hello", 3)
    bm25s = pytest.importorskip("bm25s")
    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    retriever.index(bm25s.tokenize(texts, stopwords=None, show_progress=False), show_progress=False)
    once = dict(index.search("world hello", 3))
    twice = retriever.get_scores(["world", "world", "hello"])
    assert float(twice[2]) == pytest.approx(2 * once["2"])  # ("goodbye world": world alone)


# --- the user-facing index: edge cases and validation -----------------------------------------


def test_basic_use_and_ranking() -> None:
    index = MemoryIndex()
    index.add("a", "Redis cluster keeps every key of a session in one hash slot")
    index.add("b", "SQLite is the default store")
    index.add("c", "redis redis redis")
    assert len(index) == 3
    assert "a" in index
    assert "z" not in index
    assert 3 not in index
    hits = index.search("redis slot")
    assert [key for key, _ in hits] == ["a", "c"]
    assert hits[0][1] > hits[1][1] > 0
    index.add("a", "now about sqlite only")  # re-adding replaces
    assert [key for key, _ in index.search("redis slot")] == ["c"]
    index.remove("c")
    assert index.search("redis") == []
    assert len(index) == 2
    with pytest.raises(NotFoundError):
        index.remove("c")
    assert index.discard("c") is False


def test_empty_unknown_and_k_beyond_size() -> None:
    index = MemoryIndex()
    assert index.search("anything") == []
    index.add("a", "one two three")
    index.add("b", "two three four")
    index.add("empty", "")
    index.add("punct", "!? - .")
    assert index.search("") == []
    assert index.search("   ,;") == []
    assert index.search("unknown words only") == []
    assert [key for key, _ in index.search("two", k=100)] == ["a", "b"]  # equal scores: by key
    assert [key for key, _ in index.search("two", k=10**30)] == ["a", "b"]
    assert len(index) == 4


def test_ties_are_broken_by_key_the_same_way_in_both_twins(impl: ModuleType) -> None:
    index = impl.BM25Index()
    for key in ["m", "b", "z", "a", "é", "B"]:
        index.add(key, "same words here")
    assert [key for key, _ in index.search("words", 4)] == ["B", "a", "b", "m"]


def test_very_long_documents(impl: ModuleType) -> None:
    index = impl.BM25Index()
    long_text = " ".join(f"w{i % 5000}" for i in range(200_000))
    index.add("long", long_text)
    index.add("word", "x" * 300_000 + " w1")
    index.add("short", "w1 w2")
    query = "w1 " + "x" * 300_000
    hits = index.search(query, 10)
    assert [key for key, _ in hits] == ["word", "long", "short"]  # w1 40 times in "long"
    docs = {"long": long_text, "word": "x" * 300_000 + " w1", "short": "w1 w2"}
    assert hits == model_search(docs, query, 10)
    assert index.remove("long")
    assert len(index) == 2


def test_custom_tokenizer() -> None:
    index = MemoryIndex(tokenizer=str.split)
    index.add("a", "Foo-bar baz")
    index.add("b", "foo-bar")
    assert [key for key, _ in index.search("Foo-bar")] == ["a"]
    assert [key for key, _ in index.search("foo-bar")] == ["b"]
    bad = MemoryIndex(tokenizer=lambda text: [1, 2])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        bad.add("a", "text")


@pytest.mark.parametrize(
    "call",
    [
        lambda: MemoryIndex(k1=-1),
        lambda: MemoryIndex(k1=float("nan")),
        lambda: MemoryIndex(k1="1.5"),  # type: ignore[arg-type]
        lambda: MemoryIndex(b=1.5),
        lambda: MemoryIndex(b=-0.1),
        lambda: MemoryIndex(b=True),
        lambda: MemoryIndex(tokenizer="split"),  # type: ignore[arg-type]
        lambda: MemoryIndex().add(1, "text"),  # type: ignore[arg-type]
        lambda: MemoryIndex().add("key", b"bytes"),  # type: ignore[arg-type]
        lambda: MemoryIndex().add("key", None),  # type: ignore[arg-type]
        lambda: MemoryIndex().remove(3),  # type: ignore[arg-type]
        lambda: MemoryIndex().search(None),  # type: ignore[arg-type]
        lambda: MemoryIndex().search("q", k=0),
        lambda: MemoryIndex().search("q", k=-3),
        lambda: MemoryIndex().search("q", k=True),
        lambda: MemoryIndex().search("q", k=2.0),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_are_validation_errors(call: object) -> None:
    with pytest.raises(ValidationError):
        call()  # type: ignore[operator]


def test_a_rejected_add_changes_nothing() -> None:
    index = MemoryIndex()
    index.add("a", "kept text")
    with pytest.raises(ValidationError):
        index.add("a", 5)  # type: ignore[arg-type]
    assert [key for key, _ in index.search("kept")] == ["a"]


def test_odd_text_and_tokens(impl: ModuleType) -> None:
    index = impl.BM25Index()
    index.add("surrogates", "ab\ud800cd \udfff xx")
    index.add("nul", "\x00\x00ab\x00")
    index.add_tokens("custom", ["", "\ud800\ud800", "xx", ""])
    assert [key for key, _ in index.search("xx cd ab", 10)] == ["surrogates", "nul", "custom"]
    assert [key for key, _ in index.search_tokens(["", "\ud800\ud800"], 5)] == ["custom"]
    with pytest.raises(TypeError):
        index.add_tokens("bad", ["ok", 3])
    assert "bad" not in index
    assert [key for key, _ in index.search("xx", 10)] == ["surrogates", "custom"]


def test_sizeof_counts_the_postings(impl: ModuleType) -> None:
    index = impl.BM25Index()
    empty = index.sizeof()
    for i in range(2000):
        index.add(f"k{i}", f"word{i} shared text number {i % 7}")
    assert index.sizeof() > empty + 2000 * 8


@pytest.mark.native_only
def test_churning_unique_words_keeps_memory_bounded(twins: tuple[ModuleType, ModuleType]) -> None:
    native, pure = twins[0].BM25Index(), twins[1].BM25Index()
    sizes = []
    for i in range(12_000):
        text = f"note {i} uniq{i}x{i * 7} common shared"
        native.add(f"k{i % 50}", text)
        pure.add(f"k{i % 50}", text)
        query = f"uniq{i}x{i * 7} uniq{i - 1}x{(i - 1) * 7} {i - 50}"  # across every renumbering
        assert native.search(query, 3) == pure.search(query, 3)
        if i in (5_999, 11_999):
            sizes.append(native.sizeof())
    assert sizes[1] < 1.5 * sizes[0]  # dead documents and terms are dropped, not kept
    fresh = twins[0].BM25Index()
    for i in range(11_950, 12_000):
        fresh.add(f"k{i % 50}", f"note {i} uniq{i}x{i * 7} common shared")
    for query in ["common", "uniq11999x83993", "uniq10x70", "note 11990 shared"]:
        got = native.search(query, 10)
        assert got == pure.search(query, 10)
        assert got == fresh.search(query, 10)


@pytest.mark.native_only
def test_terms_of_every_width_survive_the_vocabulary_shrinking(
    twins: tuple[ModuleType, ModuleType],
) -> None:
    """Unique words of 1-, 2- and 4-byte code points churned past the point where the compiled
    vocabulary drops its dead terms and lays the rest out again (each at a multiple of its
    width): the twins still answer alike, across every re-layout."""
    native, pure = twins[0].BM25Index(), twins[1].BM25Index()
    widths = ("été{}", "日本{}語", "𝔘{}𝔫", "plain{}")
    for i in range(6_000):
        text = " ".join(form.format(i) for form in widths) + " common"
        native.add(f"k{i % 40}", text)
        pure.add(f"k{i % 40}", text)
        if i % 500 == 499:
            for form in widths:
                query = f"{form.format(i)} {form.format(i - 39)} {form.format(i - 41)} common"
                assert native.search(query, 5) == pure.search(query, 5)


@pytest.mark.native_only
def test_a_dropped_index_frees_its_memory(twins: tuple[ModuleType, ModuleType]) -> None:
    tracemalloc = pytest.importorskip("tracemalloc")
    rng = random.Random(1)
    texts = [
        " ".join(rng.choice(WORDS) + str(rng.randrange(500)) for _ in range(30)) for _ in range(300)
    ]

    def churn_once() -> None:
        index = twins[0].BM25Index()
        for i in range(3000):
            index.add(f"k{i % 200}", texts[i % len(texts)])
            if i % 7 == 0:
                index.remove(f"k{(i * 3) % 200}")
        index.search("alpha été 42", 10)

    churn_once()  # warm caches of the interpreter itself
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            churn_once()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024


@pytest.mark.native_only
def test_queries_skip_postings_that_cannot_reach_the_top(
    twins: tuple[ModuleType, ModuleType],
) -> None:
    native, pure = twins[0].BM25Index(), twins[1].BM25Index()
    for index in (native, pure):
        for i in range(10):
            index.add(f"rare{i}", f"rare common words {i}")
        for i in range(20_000):  # ever longer documents: 64 of each length
            index.add(f"doc{i:05}", "common filler" + " pad" * (i // 64))
    hits = native.search("rare common", 5)
    assert hits == pure.search("rare common", 5)
    assert {key for key, _ in hits} <= {f"rare{i}" for i in range(10)}
    # Once five "rare" documents fill the heap, "common" alone cannot reach them: its 20,010
    # postings are no longer walked one by one (MaxScore), only the "rare" ones are.
    assert native._candidates <= 20
    # One term: the shortest documents win, and whole blocks of longer ones are skipped by
    # their bounds (block-max) instead of being scored.
    assert native.search("common", 3) == pure.search("common", 3)
    assert native._candidates <= 200
    assert native.search("filler pad", 7) == pure.search("filler pad", 7)


@pytest.mark.native_only
@pytest.mark.parametrize("seed", [1, 2])
def test_pruned_top_k_equals_the_pure_twin_on_skewed_text(
    twins: tuple[ModuleType, ModuleType], seed: int
) -> None:
    rng = random.Random(seed)
    vocab = [f"t{i}" for i in range(40)]
    weights = [1.0 / (i + 1) for i in range(40)]  # Zipf-like: long postings, many blocks
    native, pure = twins[0].BM25Index(0.9, 0.4), twins[1].BM25Index(0.9, 0.4)
    for i in range(4000):
        text = " ".join(rng.choices(vocab, weights, k=rng.randrange(1, 60)))
        native.add(f"d{i % 3000}", text)
        pure.add(f"d{i % 3000}", text)
        if rng.random() < 0.2:
            key = f"d{rng.randrange(3000)}"
            assert native.remove(key) == pure.remove(key)
    for _ in range(150):
        query = " ".join(rng.choices(vocab, weights, k=rng.randrange(1, 5)))
        k = rng.randrange(1, 25)
        assert native.search(query, k) == pure.search(query, k)


@pytest.mark.native_only
def test_block_bounds_do_not_pair_one_documents_tf_with_anothers_length(
    twins: tuple[ModuleType, ModuleType],
) -> None:
    native, pure = twins[0].BM25Index(), twins[1].BM25Index()
    for index in (native, pure):
        for i in range(12):
            index.add(f"top{i:02}", "word word")  # the densest: tf 2 in 2 tokens, tied
        for i in range(6400):  # 100 blocks of postings, each with one long, word-heavy document
            long = i % 64 == 0
            index.add(f"doc{i:05}", "word " * 20 + "pad " * 400 if long else "word" + " pad" * 40)
    hits = native.search("word", 10)
    assert hits == pure.search("word", 10)
    assert [key for key, _ in hits] == [f"top{i:02}" for i in range(10)]
    # A block's largest tf (20, in its long document) with its shortest length (41, in the
    # others) would bound its scores above the dense documents'; bounding by the smallest
    # length per tf instead lets every block after the first be skipped.
    assert native._candidates <= 200
