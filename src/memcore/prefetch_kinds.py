"""Recency by kind, for item ids that name their kind: ``"file:src/app.py"``, ``"cmd:pytest"``.

An agent's next access is rarely a new pattern of the session: it is the file it just read
again, or the test command it ran before its last edit, or the file that search found. Among
the recent items, what predicts the next access is less an item's rank among all of them than
its rank among the items of its kind, and the kind of access that follows the current one (an
edit is followed by the last command more often than by the last-but-one file). A kind prior
gives, for the current item's kind and a candidate's kind, the measured probability that the
next access is the candidate at each rank among the recent items of its kind (rank 0 of the
current item's own kind is the current item itself).

The kind of an item is the text before its first ``:``; items without one, and pairs of kinds
the prior does not name, keep the plain recency of :mod:`memcore.prefetch`. :data:`KIND_PRIOR`
was fitted on the real Claude Code sessions of ``../shared/data/claude-code`` (whose accesses
:func:`memcore.claude_code.parse_transcript` names ``file:``, ``cmd:``, ``search:``, ``tool:``)
by ``benchmarks/prefetch_quality.py --fit``, which also checks a fit on each half of the
sessions against the other half; fit one for other streams with :func:`fit_kind_prior`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from memcore.errors import ValidationError

KindPrior = Mapping[tuple[str, str], tuple[float, ...]]

#: (current kind, candidate kind) -> probability that the next access is the candidate, by the
#: candidate's rank among the recent items of its kind (ranks past the row take its last value).
KIND_PRIOR: KindPrior = {
    ("cmd", "cmd"): (0.0, 0.0087, 0.0065, 0.0042),
    ("cmd", "file"): (0.0618, 0.0466, 0.0249, 0.0194),
    ("cmd", "search"): (0.0, 0.0, 0.0, 0.0),
    ("cmd", "tool"): (0.0682, 0.04, 0.0, 0.0),
    ("file", "cmd"): (0.0358, 0.0124, 0.0, 0.0057),
    ("file", "file"): (0.3697, 0.0372, 0.0302, 0.0259),
    ("file", "search"): (0.0058, 0.0029, 0.0042, 0.0),
    ("file", "tool"): (0.0947, 0.0, 0.0, 0.0),
    ("search", "cmd"): (0.0082, 0.0, 0.0, 0.0),
    ("search", "file"): (0.1041, 0.0426, 0.0155, 0.008),
    ("search", "search"): (0.0369, 0.0051, 0.0, 0.0097),
    ("search", "tool"): (0.0152, 0.0625, 0.0625, 0.0625),
    ("tool", "cmd"): (0.0, 0.0123, 0.0, 0.0),
    ("tool", "file"): (0.0492, 0.0191, 0.0093, 0.028),
    ("tool", "search"): (0.0, 0.0, 0.0, 0.0),
    ("tool", "tool"): (0.4167, 0.0152, 0.0526, 0.0),
}


def kind_of(item_id: str) -> str:
    """The text before the first ``:`` ("" when there is none: no kind)."""
    kind, colon, _ = item_id.partition(":")
    return kind if colon else ""


def kind_shares(prior: KindPrior, current_item: str, recent: Sequence[str]) -> list[float | None]:
    """Per recent item (most recent first), its share by ``prior``, or None where the prior
    says nothing (no kind, or a pair of kinds it does not name)."""
    current = kind_of(current_item)
    if not prior or not current:
        return [None] * len(recent)
    ranks: dict[str, int] = {}
    shares: list[float | None] = []
    for name in recent:
        kind = kind_of(name)
        rank = ranks.get(kind, 0)
        ranks[kind] = rank + 1
        row = prior.get((current, kind)) if kind else None
        shares.append(None if row is None else row[min(rank, len(row) - 1)])
    return shares


def fit_kind_prior(
    sequences: Iterable[Sequence[str]], recency: int = 8, ranks: int = 4, min_support: int = 20
) -> dict[tuple[str, str], tuple[float, ...]]:
    """A kind prior measured on access sequences, each replayed as the prefetcher sees it (the
    last ``recency`` distinct items, most recent first): per pair of kinds and rank (the last of
    ``ranks`` pools the ranks past it), the rate at which the next access was that candidate.
    Pairs seen fewer than ``min_support`` times at rank 0 are left out."""
    for value in (recency, ranks, min_support):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(
                f"recency, ranks and min_support must be ints >= 1 (got {value!r})"
            )
    hits: dict[tuple[str, str], list[int]] = {}
    tries: dict[tuple[str, str], list[int]] = {}
    for sequence in _sequences(sequences):
        recent: list[str] = []
        previous: str | None = None
        for item in sequence:
            if previous is not None and kind_of(previous):
                current = kind_of(previous)
                seen: dict[str, int] = {}
                for name in recent:
                    kind = kind_of(name)
                    rank = seen.get(kind, 0)
                    seen[kind] = rank + 1
                    if not kind:
                        continue
                    pair = (current, kind)
                    slot = min(rank, ranks - 1)
                    tries.setdefault(pair, [0] * ranks)[slot] += 1
                    hits.setdefault(pair, [0] * ranks)[slot] += name == item
            if item in recent:
                recent.remove(item)
            recent.insert(0, item)
            del recent[recency:]
            previous = item
    prior: dict[tuple[str, str], tuple[float, ...]] = {}
    for pair in sorted(tries):
        counts = tries[pair]
        if counts[0] < min_support:
            continue
        row: list[float] = []
        for slot in range(ranks):
            rate = hits[pair][slot] / counts[slot] if counts[slot] else (row[-1] if row else 0.0)
            row.append(round(rate, 4))
        prior[pair] = tuple(row)
    return prior


def _sequences(sequences: object) -> list[list[str]]:
    """``sequences`` as lists of item ids, or ``ValidationError`` (``None`` and an id that is no
    str failed as a ``TypeError`` or an ``AttributeError``; a str was read as its letters)."""
    message = "fit_kind_prior takes an iterable of access sequences (lists of item ids)"
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Iterable):
        raise ValidationError(message)
    checked: list[list[str]] = []
    for sequence in sequences:
        if isinstance(sequence, (str, bytes)) or not isinstance(sequence, Iterable):
            raise ValidationError(message)
        items = list(sequence)
        if not all(isinstance(item, str) for item in items):
            raise ValidationError(f"{message}: an item id is no str")
        checked.append(items)
    return checked


def check_kind_prior(prior: object) -> dict[tuple[str, str], tuple[float, ...]]:
    """``prior`` as a kind prior (pairs of kinds to non-empty rows of rates in [0, 1]), or
    ``ValidationError``."""
    if not isinstance(prior, Mapping):
        raise ValidationError("a kind prior maps (kind, kind) pairs to rows of rates")
    checked: dict[tuple[str, str], tuple[float, ...]] = {}
    for pair, row in prior.items():
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(isinstance(kind, str) and kind for kind in pair)
        ):
            raise ValidationError(f"kind prior keys are (kind, kind) pairs (got {pair!r})")
        # (a string is no row: "1" was read as the row (1.0,); a rate past a float's range
        # was an OverflowError)
        if isinstance(row, (str, bytes)):
            raise ValidationError(f"kind prior rows are sequences of rates (got {row!r})")
        try:
            rates = tuple(float(rate) for rate in row)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationError(f"kind prior rows are sequences of rates (got {row!r})") from exc
        if not rates or not all(0.0 <= rate <= 1.0 for rate in rates):
            raise ValidationError(f"kind prior rows are non-empty, rates in [0, 1] (got {row!r})")
        checked[pair] = rates
    return checked


__all__ = [
    "KIND_PRIOR",
    "KindPrior",
    "check_kind_prior",
    "fit_kind_prior",
    "kind_of",
    "kind_shares",
]
