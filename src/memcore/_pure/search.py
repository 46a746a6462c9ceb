"""BM25 inverted index (pure-Python twin of ``memcore._native.search``).

This module is the reference: the compiled twin returns the same keys with bit-identical scores,
so both follow one definition.

* Tokens (default tokenizer): ``re.findall(r"(?u)\\b\\w\\w+\\b", text.lower())``, i.e. the maximal
  runs of two or more ``\\w`` characters of the lowercased text, as ``bm25s.tokenize`` makes them
  without stop words. ``add_tokens`` / ``search_tokens`` take tokens made by any other tokenizer.
* A document's length ``dl`` is its number of tokens; ``N`` the number of documents held;
  ``avgdl = total tokens / N``; ``df`` the number of documents holding a term.
* Score ("lucene" BM25), summed over the *distinct* known query terms in their query order,
  starting from ``0.0``::

      idf = log(1.0 + (N - df + 0.5) / (df + 0.5))
      idf * tf / (tf + k1 * (1.0 - b + b * dl / avgdl))

* Ranking: score descending, then key ascending (``str`` order), so equal scores come out in one
  deterministic order whatever the history of the index.

A document without any token is held (it counts in ``N`` with ``dl = 0``) but never matches.

Two differences from ``bm25s``: it gives such a document one empty token, hence a length of 1;
and it scores a query word once for each time the query says it ("world world hello" counts
"world" twice), where this index scores each distinct query term once, so that a question
repeating a word does not rank by that word alone.
"""

from __future__ import annotations

import heapq
import math
import sys

from memcore.lazy_re import lazy_compile

TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_findall = lazy_compile(TOKEN_PATTERN).findall


def tokenize(text: str) -> list[str]:
    """The default tokenizer: lowercase, then every maximal run of two or more word characters."""
    return _findall(text.lower())


_CODE_NAME = lazy_compile(r"[A-Za-z0-9_]+")
_CODE_PART = lazy_compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def code_words(text: str) -> str:
    """The words run together in the compound code names of ``text``, for an index to find
    them by ("parse session" finds ``parse_session``, "phase active" finds
    ``TestInitializeSession_SetsPhaseActive``): the default tokenizer keeps such a name whole.

    A name is a maximal run of ``[A-Za-z0-9_]``; its parts are the matches of
    ``[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+`` in it (``_`` separates them; a run of capitals
    followed by a small letter leaves its last capital to that word: ``HTTPServer`` is ``HTTP``,
    ``Server``). A name with two or more parts of two or more characters gives those parts,
    lowercased, in order; each distinct name once, in the order the text first has them. The
    words come as one text, separated by single spaces ("" when there are none).
    """
    seen: set[str] = set()
    out: list[str] = []
    for name in _CODE_NAME.findall(text):
        if len(name) < 4 or name in seen:
            continue
        parts = [part.lower() for part in _CODE_PART.findall(name) if len(part) >= 2]
        if len(parts) >= 2:
            seen.add(name)
            out.extend(parts)
    return " ".join(out)


def _check_tokens(tokens: list[str]) -> None:
    for token in tokens:
        if not isinstance(token, str):
            raise TypeError(f"tokens must be str (got {type(token).__name__})")


def _by_rank(hit: tuple[str, float]) -> tuple[float, str]:
    return -hit[1], hit[0]


class BM25Index:
    """Documents by key, their term counts, and per-term postings ``{key: tf}``.

    Arguments are trusted (``memcore.search.MemoryIndex`` validates them): keys and tokens are
    ``str``, ``k1 >= 0``, ``0 <= b <= 1``, ``k >= 1``.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self._k1 = float(k1)
        self._b = float(b)
        self._docs: dict[str, tuple[dict[str, int], int]] = {}
        self._postings: dict[str, dict[str, int]] = {}
        self._total = 0

    @property
    def k1(self) -> float:
        return self._k1

    @property
    def b(self) -> float:
        return self._b

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, key: object) -> bool:
        return key in self._docs

    def add(self, key: str, text: str) -> None:
        """Index ``text`` under ``key`` with the default tokenizer (replacing ``key``'s text)."""
        self.add_tokens(key, tokenize(text))

    def add_tokens(self, key: str, tokens: list[str]) -> None:
        """Index a document given as its tokens (replacing what ``key`` held)."""
        _check_tokens(tokens)
        counts: dict[str, int] = {}
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
        self.remove(key)
        self._docs[key] = (counts, len(tokens))
        self._total += len(tokens)
        for term, tf in counts.items():
            postings = self._postings.get(term)
            if postings is None:
                postings = self._postings[term] = {}
            postings[key] = tf

    def remove(self, key: str) -> bool:
        """Drop ``key``'s document; False when it was not there."""
        doc = self._docs.pop(key, None)
        if doc is None:
            return False
        counts, length = doc
        self._total -= length
        for term in counts:
            postings = self._postings[term]
            del postings[key]
            if not postings:
                del self._postings[term]
        return True

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` best ``(key, score)`` pairs for ``query`` (default tokenizer), best first."""
        return self.search_tokens(tokenize(query), k)

    def search_tokens(self, tokens: list[str], k: int) -> list[tuple[str, float]]:
        """The ``k`` best ``(key, score)`` pairs for a query given as its tokens, best first."""
        _check_tokens(tokens)
        n = len(self._docs)
        if n == 0 or k <= 0:
            return []
        avgdl = self._total / n
        k1, b = self._k1, self._b
        docs = self._docs
        scores: dict[str, float] = {}
        seen: set[str] = set()
        for term in tokens:
            if term in seen:
                continue
            seen.add(term)
            postings = self._postings.get(term)
            if not postings:
                continue
            df = len(postings)
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            for key, tf in postings.items():
                dl = docs[key][1]
                score = idf * tf / (tf + k1 * (1.0 - b + b * dl / avgdl))
                scores[key] = scores.get(key, 0.0) + score
        return heapq.nsmallest(k, scores.items(), key=_by_rank)

    def sizeof(self) -> int:
        """Bytes held by the index's own containers (keys and term strings included)."""
        size = sys.getsizeof(self._docs) + sys.getsizeof(self._postings)
        for key, (counts, _) in self._docs.items():
            size += sys.getsizeof(key) + sys.getsizeof(counts) + 64
        for term, postings in self._postings.items():
            size += sys.getsizeof(term) + sys.getsizeof(postings)
        return size


__all__ = ["TOKEN_PATTERN", "BM25Index", "code_words", "tokenize"]
