"""Summaries without a model (extractive, over the native ``pipeline`` kernels), or with one.

Anything with ``summarize(text, ratio)`` and ``summarize_group(texts, ratio)`` is a
:class:`Summarizer`, so an LLM can be plugged into the compressor. The default,
:class:`ExtractiveSummarizer`, only ever returns text of its sources, in their original order,
joined by single spaces, within ``ratio`` of the source's tokens: it splits sentences, scores them
(TF-IDF against the document centroid, position, and the facts an agent must not lose: numbers,
identifiers, paths, URLs, error words) and picks the best whole sentences that fit the budget.
What budget the whole sentences leave goes to the longest word-boundary prefix of the next best
sentence that fits (two words at least), marked by an ellipsis (…, counted in the budget): a cut
sentence start never reads as joined to the sentence after it; nor does a whole one that ends
in no sentence end (a list item), which gets a full stop. Agent notes are often one
sentence, which no ratio below 1 keeps whole: the prefix keeps the note's identifier and first
facts instead of an empty summary.

A summary never misleads by saying nothing: a short note (``SHORT_NOTE_TOKENS`` or fewer) whose
summary would hold fewer than ``SAYS_NOTHING_WORDS`` words (two Chinese or Japanese letters to a
word, as ``memcore.wide_letters`` says) is kept whole ("Fix cart rounding." stays itself, not
"Fix cart"), and a longer text whose budget holds too few words to say anything ("Read…") gets
its first ``SAYS_NOTHING_WORDS`` words and an ellipsis instead, a few tokens over its budget;
never more than ``SHORT_NOTE_TOKENS`` over it, though: when those words are longer (a base64
blob, minified JSON: one "word" of megabytes, which the lead was whole), it is their start, cut
by characters (never inside an emoji sequence or a letter with its marks: ``memcore.graphemes``),
with an ellipsis. Only a blank text has an empty summary.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Protocol, runtime_checkable

from memcore._kernels import pipeline as _selected
from memcore._pure._text_tables import ELLIPSIS
from memcore._pure.pipeline import Piece, pick_scored, render
from memcore.errors import ValidationError
from memcore.graphemes import cluster_cut, first_cluster_end
from memcore.model import checked_str
from memcore.tokens import TokenCounter, checked_counter, count_tokens, get_token_counter

#: SimHash bits two items may differ by and still be grouped (of 64).
DEFAULT_MAX_DISTANCE = 10
GROUP_SEPARATOR = "\n\n"
#: A note of at most this many tokens whose summary would say nothing is kept whole.
SHORT_NOTE_TOKENS = 32
#: A summary of fewer words than this says nothing about its source.
SAYS_NOTHING_WORDS = 4
#: The most characters a token takes (memcore's counter: 3-4 for runs of one letter or of
#: base64); the cut of a lead too long for its budget looks no further.
_CHARS_PER_TOKEN_MAX = 32


@runtime_checkable
class Summarizer(Protocol):
    """What the compressor needs from a summarizer (an LLM-backed one fits too)."""

    def summarize(self, text: str, ratio: float) -> str: ...

    def summarize_group(self, texts: Sequence[str], ratio: float) -> str: ...


class _CheckedSummarizer:
    """A plugged-in summarizer whose answers are checked: one that is no ``str`` is a
    ``ValidationError`` naming the summarizer (``None`` was an ``AttributeError`` deep in the
    compressor)."""

    __slots__ = ("inner",)

    def __init__(self, inner: Summarizer) -> None:
        self.inner = inner

    def summarize(self, text: str, ratio: float) -> str:
        return self._text(self.inner.summarize(text, ratio))

    def summarize_group(self, texts: Sequence[str], ratio: float) -> str:
        return self._text(self.inner.summarize_group(texts, ratio))

    def _text(self, summary: object) -> str:
        if not isinstance(summary, str):
            raise ValidationError(
                f"the summarizer {type(self.inner).__name__} returned "
                f"{type(summary).__name__}, not a str"
            )
        return summary


def checked_summarizer(summarizer: Summarizer | None) -> Summarizer | None:
    """A plugged-in summarizer, checked to have ``summarize`` and ``summarize_group`` (a plain
    function given as one is a ``ValidationError`` that says what is needed) and wrapped so
    that its answers are checked; None and memcore's own as they are."""
    if summarizer is None or isinstance(summarizer, (ExtractiveSummarizer, _CheckedSummarizer)):
        return summarizer
    for method in ("summarize", "summarize_group"):
        if not callable(getattr(summarizer, method, None)):
            raise ValidationError(
                f"a summarizer needs summarize(text, ratio) and summarize_group(texts, ratio) "
                f"methods returning str (got {type(summarizer).__name__})"
            )
    return _CheckedSummarizer(summarizer)


def _check_ratio(ratio: float) -> float:
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool):
        raise ValidationError(f"ratio must be a number (got {ratio!r})")
    if not 0.0 < ratio <= 1.0 or math.isnan(ratio):
        raise ValidationError(f"ratio must be in (0, 1] (got {ratio!r})")
    return float(ratio)


class ExtractiveSummarizer:
    """Picks the best-scored sentences of the source, in source order, within the token budget,
    then fills what budget is left with the start of the next best sentence (two words at least).

    ``counter`` counts tokens (default: :func:`memcore.count_tokens`, or the given kernels'
    counter); ``kernels`` is the ``pipeline`` family to run on (default: the selected one; the
    benchmarks pass the pure twin).
    """

    def __init__(
        self, counter: TokenCounter | None = None, kernels: ModuleType | None = None
    ) -> None:
        # (checked here: a counter of 5 or a module that is no kernel family failed only at
        # the first summary, with a TypeError or an AttributeError)
        self.kernels = check_kernels(kernels) if kernels is not None else _selected
        if counter is not None:
            if not callable(counter):
                raise ValidationError(
                    f"a token counter must be a callable text -> int (got {type(counter).__name__})"
                )
            self.count = checked_counter(counter)
        elif kernels is not None:
            self.count = kernels.count_tokens
        else:
            self.count = count_tokens

    def select(self, text: str, ratio: float) -> list[Piece]:
        """The ``(start, end, cut)`` pieces of the budget's summary, in source order (``cut``:
        a sentence start cut short, shown with an ellipsis), before :meth:`summarize`'s
        never-empty rules."""
        ratio = _check_ratio(ratio)
        text = checked_str("text", text)  # (a subclass's own strip or __len__: no say)
        budget = math.floor(self.count(text) * ratio)
        if budget <= 0:
            return []
        if self.count is self.kernels.count_tokens or (
            self.count is count_tokens and get_token_counter() is self.kernels.count_tokens
        ):
            return list(self.kernels.pick_sentences(text, budget))  # all in the kernel
        # a plugged-in counter: the same rules, in Python, over the kernels' sentences and scores
        spans = self.kernels.split_sentences(text)
        if not spans:
            return []
        scores = self.kernels.score_sentences(text, spans)
        return pick_scored(text, spans, scores, budget, self.count)

    def summarize(self, text: str, ratio: float) -> str:
        """Text of ``text`` within ``ratio`` of its tokens, cuts marked with an ellipsis; empty
        only for a blank text (the module doc gives the two exceptions to the ratio: a short
        note kept whole, a longer text's first words when the budget holds too few)."""
        text = checked_str("text", text)  # (a subclass's own strip or __len__: no say)
        summary = render(text, self.select(text, ratio))
        if word_count(summary) >= SAYS_NOTHING_WORDS:  # an ellipsis ends a word, adds none
            return summary
        note = text.strip()
        if not note:
            return ""
        if self.count(note) <= SHORT_NOTE_TOKENS:
            return note
        budget = math.floor(self.count(text) * ratio)
        return self._lead(note, max(budget, SHORT_NOTE_TOKENS))

    def _lead(self, note: str, most: int) -> str:
        """The first words of ``note`` (an ellipsis after them if it goes on), or, when they
        take more than ``most`` tokens, the longest start of them that fits with an ellipsis."""
        lead = _lead(note)
        if self.count(lead) <= most:
            return lead
        head = " ".join(note.split()[:SAYS_NOTHING_WORDS])
        # a token covers a few characters at most: the search need not count megabytes
        low, high, best = 1, min(len(head), most * _CHARS_PER_TOKEN_MAX), 1
        while low <= high:
            middle = (low + high) // 2
            if self.count(head[:middle] + ELLIPSIS) <= most:
                best, low = middle, middle + 1
            else:
                high = middle - 1
        # a letter keeps its marks and an emoji sequence its members (``best`` is the whole
        # head when a counter prices it with its ellipsis lower than the lead without: nothing
        # is cut, no mark follows); a first character longer than the budget is kept whole
        best = cluster_cut(head, best) or first_cluster_end(head)
        return head[:best].rstrip() + ELLIPSIS

    def summarize_group(self, texts: Iterable[str], ratio: float) -> str:
        """One summary of several texts, read as one document (repeated sentences once, and
        repeated texts: a group of two identical records, kept whole as a short note, was its
        text twice, "Updated `x.go` in `Logf()`\n\nUpdated `x.go` in `Logf()`")."""
        unique: dict[str, str] = {}
        for text in _texts(texts, "summarize_group"):  # (case and spacing aside, as sentences)
            unique.setdefault(" ".join(text.lower().split()), text)
        return self.summarize(GROUP_SEPARATOR.join(unique.values()), ratio)


def word_count(text: str) -> int:
    """The words of ``text`` as memcore counts them (``count_words`` of the prose kernels): a
    Chinese or Japanese summary writes no spaces, so ``split()`` made its whole sentences one
    "word", and they were thrown away for the text's first letters cut mid-sentence."""
    from memcore._kernels import prose  # (loaded on first use: an import of memcore needs none)

    if not isinstance(text, str):  # (the twins failed apart: a TypeError, an AttributeError)
        raise ValidationError(f"word_count needs a str (got {type(text).__name__})")
    return prose.count_words(text)


def _texts(texts: object, what: str) -> list[str]:
    """``texts`` as a list of str, or ``ValidationError``: a generator was read once by the
    check and summarized as nothing, and ``None`` was a ``TypeError``."""
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Iterable):
        raise ValidationError(f"{what} needs a sequence of str (got {type(texts).__name__})")
    listed = list(texts)
    if not all(isinstance(text, str) for text in listed):
        raise ValidationError(f"{what} needs a sequence of str")
    return [checked_str("text", text) for text in listed]


#: What the compressor and the extractive summarizer call on a ``pipeline`` kernel family.
_KERNEL_FUNCTIONS = (
    "count_tokens",
    "group_similar",
    "partition_levels",
    "pick_sentences",
    "score_sentences",
    "simhash",
    "split_sentences",
)


def check_kernels(kernels: object) -> ModuleType:
    """``kernels`` if it is a ``pipeline`` kernel family, else ``ValidationError``."""
    missing = [name for name in _KERNEL_FUNCTIONS if not callable(getattr(kernels, name, None))]
    if not isinstance(kernels, ModuleType) or missing:
        raise ValidationError(
            "kernels must be a pipeline kernel family (memcore._pure.pipeline or "
            f"memcore._native.pipeline; got {type(kernels).__name__})"
        )
    return kernels


def _lead(text: str) -> str:
    """The first words of ``text``, an ellipsis after them if it goes on."""
    words = text.split()
    head = words[:SAYS_NOTHING_WORDS]
    return " ".join(head) + (ELLIPSIS if len(words) > len(head) else "")


#: SimHash distances the grouping kernels take (a band per bit of distance, 64 bits).
MAX_DISTANCE_RANGE = (0, 31)


def check_max_distance(value: object) -> int:
    """``value`` if it is a whole number of bits the grouping takes, else ``ValidationError``
    (the kernels' own checks differ: the compiled one truncates 2.5, the pure one refuses it)."""
    low, high = MAX_DISTANCE_RANGE
    # (any whole number: numpy's too, by ``numbers.Integral``; a bool is none)
    bits = int(value) if isinstance(value, numbers.Integral) else None
    if isinstance(value, bool) or bits is None or not low <= bits <= high:
        raise ValidationError(
            f"max_distance must be a whole number of bits in {low}..{high} (got {value!r})"
        )
    return bits


def group_similar_texts(
    texts: Iterable[str],
    max_distance: int = DEFAULT_MAX_DISTANCE,
    kernels: ModuleType | None = None,
) -> list[list[int]]:
    """Indices of ``texts`` grouped by SimHash similarity (near-linear, deterministic).

    Groups are listed by their first member; members keep their input order.
    """
    check_max_distance(max_distance)
    fam = check_kernels(kernels) if kernels is not None else _selected
    fingerprints = [fam.simhash(text) for text in _texts(texts, "group_similar_texts")]
    labels = fam.group_similar(fingerprints, max_distance)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    return list(groups.values())


__all__ = [
    "DEFAULT_MAX_DISTANCE",
    "ELLIPSIS",
    "MAX_DISTANCE_RANGE",
    "SAYS_NOTHING_WORDS",
    "SHORT_NOTE_TOKENS",
    "ExtractiveSummarizer",
    "Summarizer",
    "check_kernels",
    "check_max_distance",
    "group_similar_texts",
    "word_count",
]
