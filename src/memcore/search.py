"""Recall: BM25 keyword search over memory items, and a hook to fuse it with embeddings.

:class:`MemoryIndex` is the user-facing index: it validates arguments and runs on the ``search``
kernel family (compiled, or its pure twin under ``MEMCORE_NO_EXTENSIONS=1``; both give the same
keys and scores, defined in :mod:`memcore._pure.search`). Scores are BM25 "lucene", the numbers
``bm25s.BM25(method="lucene")`` gives over ``bm25s.tokenize(texts, stopwords=None)`` for a query
of distinct words: a word the query repeats counts once here, at each repeat in ``bm25s``.
Adding or removing a document costs its length, not the index's size, so an index can follow a
live session.

:class:`SessionIndex` is how ``DistributedMemoryManager.search`` keeps one: the manager builds it
on a session's first search (a session never searched pays nothing) and tells it which keys
changed; it re-reads just those keys at the next search. Items arriving by sync go through the
same path as local writes, so they are found, and deleted ones are not. What it indexes of an
item is :func:`item_text`: its content and the words of its compound code names, so "parse
session" finds ``parse_session``.

:class:`HybridRetriever` is for users who bring embeddings: BM25 and cosine rankings, fused by
reciprocal rank fusion. memcore ships no model and downloads none.
"""

from __future__ import annotations

import logging
import math
import numbers
import operator
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from memcore._kernels import search as _kernel
from memcore.errors import NotFoundError, ValidationError
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem, checked_str, coerce_items
from memcore.wide_letters import BIGRAM_LETTER

logger = logging.getLogger(__name__)

Tokenizer = Callable[[str], Iterable[str]]
Embed = Callable[[list[str]], Sequence[Sequence[float]]]  # (always given a list)

DEFAULT_K1 = 1.5
DEFAULT_B = 0.75


def _number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{name} must be a number (got {type(value).__name__})")
    try:
        number = float(value)
    except OverflowError:  # (an int past float's range; its repr may be too long to make)
        raise ValidationError(f"{name} must be between {low} and {high} (got a huge int)") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise ValidationError(f"{name} must be between {low} and {high} (got {value!r})")
    return number


def _iterable(name: str, value: object, of: str) -> Iterable[Any]:
    """``value`` if it is an iterable (a str is not taken as one: it would be its characters),
    else a ``ValidationError`` naming ``name``, rather than the builtin ``TypeError``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(f"{name} must be an iterable {of} (got {type(value).__name__})")
    return value


def _positive(name: str, value: object) -> int:
    """A positive int; numpy's integers and other ``__index__`` types count, ``bool`` not."""
    try:
        number = None if isinstance(value, bool) else operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        number = None
    if number is None or number <= 0:
        shown = "a huge negative int" if number is not None and number < -(10**50) else repr(value)
        raise ValidationError(f"{name} must be a positive int (got {shown})")
    return number


class MemoryIndex:
    """A BM25 index of texts by key: ``add`` / ``remove`` in the text's length, top-k ``search``.

    ``k1`` (>= 0) and ``b`` (0..1) are BM25's parameters. The default tokenizer lowercases and
    takes every run of two or more word characters (``(?u)\\b\\w\\w+\\b``), with no stemming
    and no stop words; ``tokenizer`` (text -> iterable of str) replaces it, for documents and
    queries alike.

    One index may be shared by threads: each call holds the index's lock around the kernel
    (the tokenizer runs outside it). Without it a search beside an add saw a half-made change:
    a key of ``None``, or the pure twin's "dictionary changed size during iteration".
    """

    __slots__ = ("_index", "_lock", "_tokenizer")

    def __init__(
        self, k1: float = DEFAULT_K1, b: float = DEFAULT_B, tokenizer: Tokenizer | None = None
    ) -> None:
        if tokenizer is not None and not callable(tokenizer):
            raise ValidationError(f"tokenizer must be callable (got {type(tokenizer).__name__})")
        self._index = _kernel.BM25Index(_number("k1", k1, 0.0, 1e9), _number("b", b, 0.0, 1.0))
        self._tokenizer = tokenizer
        # (reentrant: a finalizer run by the garbage collector inside a call may search)
        self._lock = threading.RLock()

    @property
    def k1(self) -> float:
        return self._index.k1

    @property
    def b(self) -> float:
        return self._index.b

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and checked_str("key", key) in self._index

    def __repr__(self) -> str:
        return f"MemoryIndex({len(self)} documents, k1={self.k1}, b={self.b})"

    def _tokens(self, text: str) -> list[str]:
        assert self._tokenizer is not None
        given = self._tokenizer(text)
        if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
            raise ValidationError(
                f"the tokenizer must return an iterable of str (got {type(given).__name__})"
            )
        tokens = list(given)
        for n, token in enumerate(tokens):
            if type(token) is not str:  # (a subclass as plain text, as ``checked_str`` makes keys)
                if not isinstance(token, str):
                    raise ValidationError(f"the tokenizer gave a {type(token).__name__}, not a str")
                tokens[n] = str.__str__(token)
        return tokens

    def add(self, key: str, text: str) -> None:
        """Index ``text`` under ``key``; a key already there is replaced."""
        if type(key) is not str:  # (the checks inline: a build of 100k texts makes 100k calls)
            key = checked_str("key", key)
        if type(text) is not str:
            text = checked_str("text", text)
        if self._tokenizer is None:
            with self._lock:
                self._index.add(key, text)
        else:
            tokens = self._tokens(text)
            with self._lock:
                self._index.add_tokens(key, tokens)

    def _prepared(self, text: str) -> str | list[str]:
        """What the kernel indexes of a checked ``text``: itself, or its tokens (the tokenizer
        run now, so a batch can be refused before any of it is indexed)."""
        return text if self._tokenizer is None else self._tokens(text)

    def _add_prepared(self, batch: Sequence[tuple[str, str | list[str]]]) -> None:
        """Index ``_prepared`` texts under their checked keys, all under one hold of the lock."""
        with self._lock:
            for key, prepared in batch:
                if isinstance(prepared, str):
                    self._index.add(key, prepared)
                else:
                    self._index.add_tokens(key, prepared)

    def remove(self, key: str) -> None:
        """Remove ``key``'s text; ``NotFoundError`` when it is not indexed."""
        if not self.discard(key):
            raise NotFoundError(f"{key!r} is not in the index")

    def discard(self, key: str) -> bool:
        """Remove ``key``'s text if it is indexed; returns whether it was."""
        key = checked_str("key", key)
        with self._lock:
            return self._index.remove(key)

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` best ``(key, score)`` pairs, best first (equal scores: by key).

        Only documents sharing a term with the query are returned, so the list may be shorter
        than ``k`` (empty for an empty query or one of unknown words).
        """
        query = checked_str("query", query)
        k = _positive("k", k)
        tokens = None if self._tokenizer is None else self._tokens(query)
        with self._lock:
            k = min(k, len(self._index) or 1)  # a huge k means "all of them"
            if tokens is None:
                return self._index.search(query, k)
            return self._index.search_tokens(tokens, k)

    def sizeof(self) -> int:
        """Bytes the index holds (postings, terms, documents), without the keys themselves."""
        with self._lock:
            return self._index.sizeof()


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result of a session: its key, BM25 score and item (a fresh copy)."""

    key: str
    score: float
    item: MemoryItem


#: A run of Chinese or Japanese letters (kana, CJK ideographs), written with no spaces between
#: its words, which the default tokenizer keeps whole up to the next punctuation mark; or of
#: Korean syllables, whose particles are written onto their words (``BIGRAM_LETTER``).
_WIDE_RUN = lazy_compile(f"{BIGRAM_LETTER}{{2,}}")
#: One of those letters: most texts that are not ASCII hold none (an arrow, an accent), and
#: this search rules them out four times as fast as the runs' (a one-character class).
_WIDE_ONE = lazy_compile(BIGRAM_LETTER)


def wide_bigrams(text: str) -> str:
    """Every two letters side by side in each run of Chinese, Japanese or Korean letters of
    ``text`` ("四舍五入" gives "四舍 舍五 五入"), space-separated; "" when it has none. Indexed
    beside the text and looked for beside a query's words, they let a word match inside a run,
    or with a particle written onto it ("테스트" in "테스트를"): the bigrams of CJK search
    engines, with no dictionary."""
    if type(text) is not str:
        text = checked_str("text", text)
    if text.isascii() or _WIDE_ONE.search(text) is None:
        return ""
    return " ".join(run[i : i + 2] for run in _WIDE_RUN.findall(text) for i in range(len(run) - 1))


def with_wide_bigrams(text: str) -> str:
    """``text``, with its ``wide_bigrams`` on a line after it when it has any."""
    bigrams = wide_bigrams(text)
    return f"{text}\n{bigrams}" if bigrams else text


def item_text(item: MemoryItem | Mapping[str, Any]) -> str:
    """What recall indexes of an item: its content, then the words of its compound code names
    (``code_words``: ``TestInitializeSession_SetsPhaseActive`` gives "test initialize session
    sets phase active"), then its Chinese, Japanese and Korean bigrams (``wide_bigrams``). A
    question asks about a test or a function in words, and the default tokenizer keeps each
    name whole, which no such question matches; it keeps a run of CJK letters whole too.

    ``item`` is taken as ``coerce_items`` takes one (a dict, an item whose fields were
    assigned since it was made)."""
    if not isinstance(item, MemoryItem) or type(item.content) is not str:
        item = coerce_items([item])[0]  # (a subclass's text as plain str: the kernel's type)
    words = _kernel.code_words(item.content)
    text = f"{item.content}\n{words}" if words else item.content
    bigrams = wide_bigrams(item.content)
    return f"{text}\n{bigrams}" if bigrams else text


class _Slot(Protocol):
    @property
    def deleted(self) -> bool: ...


class SessionIndex:
    """The recall index of one session on one replica, brought up to date at each search.

    The manager calls :meth:`changed` whenever a key's local slot changes (local writes and
    merged remote changes alike); the index re-reads only those keys at the next search, with
    ``value_of`` (slot -> item). If the session's slot mapping itself was replaced (a
    whole-session refetch), it rebuilds. A lock keeps :meth:`changed` (a sync on another
    thread's event loop) from growing the set of changed keys while a search walks it.

    A value that is no memory item (written through the plain store API by another program,
    or an older writer) is left out with a warning, once per key, as ``memcore search``
    leaves it out: it made every search of its session fail.
    """

    __slots__ = ("_dirty", "_index", "_lock", "_refused", "_slots", "_value_of")

    def __init__(self, value_of: Callable[[Any], object]) -> None:
        self._value_of = value_of
        self._index = MemoryIndex()
        self._dirty: set[str] = set()
        self._slots: Mapping[str, _Slot] | None = None
        self._lock = threading.RLock()
        self._refused: set[str] = set()  # keys whose value is no item, warned of once

    def _item(self, key: str, slot: _Slot) -> MemoryItem | None:
        """``slot``'s item, or None (warned of once per key) when its value is none."""
        try:
            item = MemoryItem.coerce(self._value_of(slot))  # type: ignore[arg-type]
        except ValidationError as exc:
            if key not in self._refused:
                self._refused.add(key)
                logger.warning("search left out key %r: its value is no memory item (%s)", key, exc)
            return None
        self._refused.discard(key)
        return item

    def changed(self, key: str) -> None:
        with self._lock:
            self._dirty.add(key)

    def search(self, slots: Mapping[str, _Slot], query: str, k: int = 10) -> list[SearchHit]:
        query = checked_str("query", query)
        k = _positive("k", k)
        with self._lock:
            if slots is not self._slots:
                self._index = MemoryIndex()
                self._dirty = set(slots)
                self._slots = slots
            for key in self._dirty:
                slot = slots.get(key)
                item = None if slot is None or slot.deleted else self._item(key, slot)
                if item is None:
                    self._index.discard(key)
                else:
                    self._index.add(key, item_text(item))
            self._dirty.clear()
            found = self._index.search(with_wide_bigrams(query), k)
            hits = [(key, score, slots.get(key)) for key, score in found]
        # (a write on another thread puts its slot before it reports the change: a hit deleted
        # in between is left out, not decoded as an item it no longer is)
        return [
            SearchHit(key, score, item)
            for key, score, slot in hits
            if slot is not None and not slot.deleted and (item := self._item(key, slot)) is not None
        ]


# --- embeddings, fused with BM25 -------------------------------------------------------------


def reciprocal_rank_fusion(
    rankings: Iterable[Sequence[str]], k: int = 60
) -> list[tuple[str, float]]:
    """Fuse rankings (keys, best first): each key scores ``sum(1 / (k + rank))``, rank from 1.

    Best first; equal scores by key. ``k`` (60 in the original paper) damps the top ranks. A
    key repeated within one ranking counts at its first (best) rank only: counted again, it
    outranked a key that both rankings agree on.
    """
    k = _positive("k", k)
    fused: dict[str, float] = {}
    for ranking in _iterable("rankings", rankings, "of rankings"):
        seen: set[str] = set()
        for rank, given in enumerate(_iterable("a ranking", ranking, "of keys"), start=1):
            key = checked_str("a ranking's key", given)  # (keys are compared to break ties)
            if key not in seen:
                seen.add(key)
                fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda hit: (-hit[1], hit[0]))


def _unit(vector: Sequence[float], dim: int | None) -> tuple[float, ...]:
    """``vector`` scaled to length 1 (a zero vector as it is). Scaled by its largest magnitude
    first, so large finite values do not overflow the norm (they were refused as "non-finite")
    and tiny ones do not underflow it to zero (they were left unnormalized)."""
    if isinstance(vector, (str, bytes, Mapping)):  # (read as digits, or as keys: no vector)
        raise ValidationError(
            f"an embedding must be a sequence of numbers (got {type(vector).__name__})"
        )
    try:
        values = tuple(float(x) for x in vector)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"an embedding must be a sequence of numbers ({exc})") from None
    if not values or (dim is not None and len(values) != dim):
        raise ValidationError(f"embedding of dimension {len(values)}, expected {dim or '> 0'}")
    if not all(map(math.isfinite, values)):
        raise ValidationError("an embedding holds a non-finite number")
    top = max(map(abs, values))
    if top == 0.0:
        return values
    scaled = tuple(x / top for x in values)
    norm = math.sqrt(math.fsum(x * x for x in scaled))
    return tuple(x / norm for x in scaled)


class HybridRetriever:
    """BM25 and embedding (cosine) rankings of the same texts, fused by reciprocal rank fusion.

    ``embed`` maps a list of texts to one vector each (any model: a local sentence-transformer,
    an API client...). ``depth``: how many hits of each ranking enter the fusion; ``rrf_k``: the
    fusion's damping constant. ``index``: an existing (empty) :class:`MemoryIndex` to use, e.g.
    one with a custom tokenizer; one holding texts is refused, as they would have no vectors.
    """

    def __init__(
        self,
        embed: Embed,
        *,
        index: MemoryIndex | None = None,
        depth: int = 50,
        rrf_k: int = 60,
    ) -> None:
        if not callable(embed):
            raise ValidationError(f"embed must be callable (got {type(embed).__name__})")
        if index is not None and not isinstance(index, MemoryIndex):
            raise ValidationError(f"index must be a MemoryIndex (got {type(index).__name__})")
        if index is not None and len(index):
            raise ValidationError(f"index must be empty (it holds {len(index)} texts)")
        self._embed = embed
        self.index = MemoryIndex() if index is None else index
        self._depth = _positive("depth", depth)
        self._rrf_k = _positive("rrf_k", rrf_k)
        self._vectors: dict[str, tuple[float, ...]] = {}
        self._dim: int | None = None

    @classmethod
    def from_items(
        cls,
        items: Mapping[str, MemoryItem | Mapping[str, Any] | str]
        | Iterable[MemoryItem | Mapping[str, Any]],
        embed: Embed,
        **options: int,
    ) -> HybridRetriever:
        """A retriever over ``items``, embedded in one call: a mapping of keys to items
        (MemoryItem-shaped dicts too) or texts (e.g. ``manager.state(session_id)``), or items,
        each under its id."""
        unknown = sorted(set(options) - {"index", "depth", "rrf_k"})
        if unknown:  # (a plain TypeError from ``cls`` otherwise)
            raise ValidationError(
                f"HybridRetriever takes index, depth and rrf_k (got {', '.join(unknown)})"
            )
        retriever = cls(embed, **options)  # type: ignore[arg-type]
        if isinstance(items, Mapping):
            pairs = list(items.items())
        elif isinstance(items, Iterable) and not isinstance(items, (str, bytes)):
            pairs = [(item.id, item) for item in coerce_items(items)]
        else:
            raise ValidationError(
                f"items must be a mapping of keys to items or texts, or a sequence of items "
                f"(got {type(items).__name__})"
            )
        retriever.add_many(
            {key: item if isinstance(item, str) else item_text(item) for key, item in pairs}
        )
        return retriever

    def __len__(self) -> int:
        return len(self.index)

    def _vectors_of(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        """One unit vector per text, all of the dimension of those held (or of each other, the
        first time): the caller fixes the dimension once it keeps them."""
        given = self._embed(list(texts))
        if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
            raise ValidationError(
                f"embed must return a sequence of vectors (got {type(given).__name__})"
            )
        vectors = list(given)
        if len(vectors) != len(texts):
            raise ValidationError(f"embed gave {len(vectors)} vectors for {len(texts)} texts")
        units: list[tuple[float, ...]] = []
        dim = self._dim
        for vector in vectors:
            units.append(_unit(vector, dim))
            dim = len(units[-1])
        return units

    def add(self, key: str, text: str) -> None:
        self.add_many({key: text})

    def add_many(self, texts: Mapping[str, str]) -> None:
        """Index and embed several texts (one ``embed`` call); a key already there is replaced.

        The batch is taken whole or not at all: every text is tokenized and embedded before
        any is indexed, so a text the index's tokenizer refuses (or a refused embedding)
        leaves the retriever as it was, replaced keys included (added one by one, the texts
        before a refused one stayed and those after it were dropped)."""
        if not isinstance(texts, Mapping):
            raise ValidationError(
                f"texts must be a mapping of keys to texts (got {type(texts).__name__})"
            )
        pairs = [
            (checked_str("key", key), checked_str("text", text)) for key, text in texts.items()
        ]
        if not pairs:
            return
        prepared = [(key, self.index._prepared(text)) for key, text in pairs]
        vectors = self._vectors_of([text for _, text in pairs])
        self.index._add_prepared(prepared)
        for (key, _), vector in zip(pairs, vectors, strict=True):
            self._vectors[key] = vector
        self._dim = len(vectors[0])

    def remove(self, key: str) -> None:
        self.index.remove(key)
        self._vectors.pop(key, None)

    def dense_search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` keys closest to ``query`` by cosine similarity, best first."""
        query = checked_str("query", query)
        _positive("k", k)
        if not self._vectors:
            return []
        q = self._vectors_of([query])[0]
        scored = [
            (key, math.fsum(a * b for a, b in zip(q, v, strict=True)))
            for key, v in self._vectors.items()
        ]
        scored.sort(key=lambda hit: (-hit[1], hit[0]))
        return scored[:k]

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` best keys by the fused rank of BM25 and cosine; the score is the RRF sum."""
        query = checked_str("query", query)  # (before its bigrams are made of it)
        _positive("k", k)
        depth = max(k, self._depth)
        keyword = [key for key, _ in self.index.search(with_wide_bigrams(query), depth)]
        dense = [key for key, _ in self.dense_search(query, depth)]
        return reciprocal_rank_fusion([keyword, dense], self._rrf_k)[:k]


__all__ = [
    "HybridRetriever",
    "MemoryIndex",
    "SearchHit",
    "SessionIndex",
    "item_text",
    "reciprocal_rank_fusion",
    "wide_bigrams",
    "with_wide_bigrams",
]
