"""Recall benchmarks: memcore's BM25 index (compiled and pure) beside bm25s, tantivy and rank_bm25.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_search.py --benchmark-only -q``.

Corpus: the items of the real Claude Code transcripts in ``../shared/data/claude-code/`` as
``memcore.claude_code.parse_transcript`` makes them (message texts, thinking, tool inputs and
results, each cut to 4,000 characters), repeated in order to 100,000 items with distinct keys;
built once per session. Queries: 100 fixed 1-3 word queries, words drawn from the corpus's own
documents (ASCII letters and digits only, so every engine tokenizes them alike), k = 10; each
timed call tokenizes its query and returns the top keys.

Groups (compare within one):

* ``build-100k``: memcore compiled, bm25s (``method="lucene"``, its ``tokenize`` with no stop
  words, then ``index``), tantivy (in RAM, one writer thread, term frequencies without
  positions, commit and reload counted);
* ``query-100k``: the same three, on the indexes those builds made;
* ``build-10k`` / ``query-10k``: the first 10,000 items, for the engines too slow for 100k here:
  memcore pure (the twin, same results) and rank_bm25 (``BM25Okapi``, query by ``get_scores``
  and a top-10 partition), with memcore compiled again for the ratio;
* ``size``: ``sizeof()`` of the compiled index beside the raw text (UTF-8 bytes), in
  ``extra_info``.

Builds use ``pedantic`` (a few rounds, no calibration); ratios are of means, one run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from itertools import cycle
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from memcore.claude_code import parse_transcript

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"
ITEMS = 100_000
SUBSET = 10_000
K = 10
TOKEN = re.compile(r"(?u)\b\w\w+\b")

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"no transcripts in {DATA}")

_built: dict[str, Any] = {}  # engine/size -> its index, so query benchmarks reuse the builds


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    base = [
        item.content
        for path in sorted(DATA.glob("*.jsonl"))
        for item in parse_transcript(path, max_chars=4000).items
    ]
    return (base * (ITEMS // len(base) + 1))[:ITEMS]


@pytest.fixture(scope="session")
def queries(corpus: list[str]) -> list[str]:
    rng = random.Random(11)
    out: list[str] = []
    while len(out) < 100:
        words = [
            w for w in TOKEN.findall(rng.choice(corpus).lower()) if w.isascii() and w.isalnum()
        ]
        if words:
            out.append(" ".join(rng.sample(words, min(len(words), rng.randint(1, 3)))))
    return out


def _query_loop(search: Callable[[str], object], queries: list[str]) -> Callable[[], object]:
    """One call = one query; successive calls cycle through the queries."""
    it: Iterator[str] = cycle(queries)
    return lambda: search(next(it))


# --- memcore -----------------------------------------------------------------------------------


def build_memcore(kernel: ModuleType, texts: list[str]) -> Any:
    index = kernel.BM25Index(1.5, 0.75)
    for i, text in enumerate(texts):
        index.add(str(i), text)
    return index


def memcore_index(name: str, kernel: ModuleType, texts: list[str]) -> Any:
    if name not in _built:
        _built[name] = build_memcore(kernel, texts)
    return _built[name]


@pytest.mark.benchmark(group="build-100k")
def test_build_memcore_native(benchmark: Any, native_kernels: Any, corpus: list[str]) -> None:
    kernel = native_kernels("search")
    _built["native-100k"] = benchmark.pedantic(
        build_memcore, args=(kernel, corpus), rounds=3, iterations=1
    )
    assert len(_built["native-100k"]) == ITEMS


@pytest.mark.benchmark(group="query-100k")
def test_query_memcore_native(
    benchmark: Any, native_kernels: Any, corpus: list[str], queries: list[str]
) -> None:
    index = memcore_index("native-100k", native_kernels("search"), corpus)
    run = _query_loop(lambda q: index.search(q, K), queries)
    benchmark.pedantic(run, rounds=1000, iterations=1, warmup_rounds=100)


@pytest.mark.benchmark(group="build-10k")
@pytest.mark.parametrize("mode", ["c", "py"])
def test_build_memcore_10k(
    benchmark: Any, native_kernels: Any, pure_kernels: Any, corpus: list[str], mode: str
) -> None:
    kernel = native_kernels("search") if mode == "c" else pure_kernels("search")
    rounds = 5 if mode == "c" else 2
    index = benchmark.pedantic(
        build_memcore, args=(kernel, corpus[:SUBSET]), rounds=rounds, iterations=1
    )
    _built[f"{mode}-10k"] = index


@pytest.mark.benchmark(group="code-words-10k")
@pytest.mark.parametrize("mode", ["c", "py"])
def test_code_words_10k(
    benchmark: Any, native_kernels: Any, pure_kernels: Any, corpus: list[str], mode: str
) -> None:
    """The words of the compound code names of 10k items (what recall adds to each item it
    indexes: ``memcore.search.item_text``), compiled and pure."""
    kernel = native_kernels("search") if mode == "c" else pure_kernels("search")
    texts = corpus[:SUBSET]
    words = benchmark.pedantic(
        lambda: [kernel.code_words(text) for text in texts], rounds=5 if mode == "c" else 2
    )
    assert any(words)


@pytest.mark.benchmark(group="query-10k")
@pytest.mark.parametrize("mode", ["c", "py"])
def test_query_memcore_10k(
    benchmark: Any,
    native_kernels: Any,
    pure_kernels: Any,
    corpus: list[str],
    queries: list[str],
    mode: str,
) -> None:
    kernel = native_kernels("search") if mode == "c" else pure_kernels("search")
    index = memcore_index(f"{mode}-10k", kernel, corpus[:SUBSET])
    run = _query_loop(lambda q: index.search(q, K), queries)
    benchmark.pedantic(run, rounds=1000 if mode == "c" else 200, iterations=1, warmup_rounds=20)


@pytest.mark.benchmark(group="size")
def test_index_size(
    benchmark: Any, native_kernels: Any, pure_kernels: Any, corpus: list[str]
) -> None:
    index = memcore_index("native-100k", native_kernels("search"), corpus)
    size = benchmark.pedantic(index.sizeof, rounds=1, iterations=1)
    raw = sum(len(text.encode()) for text in corpus)
    pure = memcore_index("py-10k", pure_kernels("search"), corpus[:SUBSET])
    raw_10k = sum(len(text.encode()) for text in corpus[:SUBSET])
    benchmark.extra_info.update(
        index_bytes=size,
        raw_text_bytes=raw,
        index_to_text=round(size / raw, 3),
        pure_10k_index_to_text=round(pure.sizeof() / raw_10k, 3),
    )
    assert size > 0


# --- bm25s -------------------------------------------------------------------------------------


def build_bm25s(texts: list[str]) -> Any:
    bm25s = pytest.importorskip("bm25s")
    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    retriever.index(bm25s.tokenize(texts, stopwords=None, show_progress=False), show_progress=False)
    return retriever


@pytest.mark.benchmark(group="build-100k")
def test_build_bm25s(benchmark: Any, corpus: list[str]) -> None:
    pytest.importorskip("bm25s")
    _built["bm25s-100k"] = benchmark.pedantic(build_bm25s, args=(corpus,), rounds=2, iterations=1)


@pytest.mark.benchmark(group="query-100k")
def test_query_bm25s(benchmark: Any, corpus: list[str], queries: list[str]) -> None:
    bm25s = pytest.importorskip("bm25s")
    if "bm25s-100k" not in _built:
        _built["bm25s-100k"] = build_bm25s(corpus)
    retriever = _built["bm25s-100k"]

    def search(query: str) -> Any:
        tokens = bm25s.tokenize(query, stopwords=None, return_ids=False, show_progress=False)
        return retriever.retrieve(tokens, k=K, show_progress=False, n_threads=1)

    benchmark.pedantic(_query_loop(search, queries), rounds=200, iterations=1, warmup_rounds=10)


# --- tantivy -----------------------------------------------------------------------------------


def build_tantivy(texts: list[str]) -> Any:
    tantivy = pytest.importorskip("tantivy")
    schema = tantivy.SchemaBuilder()
    schema.add_text_field("key", stored=True, tokenizer_name="raw", index_option="basic")
    schema.add_text_field("body", stored=False, index_option="freq")
    index = tantivy.Index(schema.build())
    writer = index.writer(heap_size=512_000_000, num_threads=1)
    for i, text in enumerate(texts):
        writer.add_document(tantivy.Document(key=str(i), body=text))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index


@pytest.mark.benchmark(group="build-100k")
def test_build_tantivy(benchmark: Any, corpus: list[str]) -> None:
    pytest.importorskip("tantivy")
    _built["tantivy-100k"] = benchmark.pedantic(
        build_tantivy, args=(corpus,), rounds=3, iterations=1
    )


@pytest.mark.benchmark(group="query-100k")
def test_query_tantivy(benchmark: Any, corpus: list[str], queries: list[str]) -> None:
    pytest.importorskip("tantivy")
    if "tantivy-100k" not in _built:
        _built["tantivy-100k"] = build_tantivy(corpus)
    index = _built["tantivy-100k"]
    searcher = index.searcher()

    def search(query: str) -> list[str]:
        hits = searcher.search(index.parse_query(query, ["body"]), K).hits
        return [searcher.doc(address)["key"][0] for _, address in hits]

    benchmark.pedantic(_query_loop(search, queries), rounds=1000, iterations=1, warmup_rounds=100)


# --- rank_bm25 (10k items: its queries score every document in Python) ---------------------------


def build_rank_bm25(texts: list[str]) -> Any:
    rank_bm25 = pytest.importorskip("rank_bm25")
    return rank_bm25.BM25Okapi([TOKEN.findall(text.lower()) for text in texts])


@pytest.mark.benchmark(group="build-10k")
def test_build_rank_bm25(benchmark: Any, corpus: list[str]) -> None:
    pytest.importorskip("rank_bm25")
    _built["rank_bm25-10k"] = benchmark.pedantic(
        build_rank_bm25, args=(corpus[:SUBSET],), rounds=2, iterations=1
    )


@pytest.mark.benchmark(group="query-10k")
def test_query_rank_bm25(benchmark: Any, corpus: list[str], queries: list[str]) -> None:
    np = pytest.importorskip("numpy")
    if "rank_bm25-10k" not in _built:
        _built["rank_bm25-10k"] = build_rank_bm25(corpus[:SUBSET])
    model = _built["rank_bm25-10k"]

    def search(query: str) -> list[int]:
        scores = model.get_scores(TOKEN.findall(query.lower()))
        top = np.argpartition(-scores, K)[:K]
        return [int(i) for i in top[np.argsort(-scores[top])]]

    benchmark.pedantic(_query_loop(search, queries), rounds=30, iterations=1, warmup_rounds=2)
