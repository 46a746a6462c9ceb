"""A model-free account of a session within a token budget: the handover note a developer taking
over would want.

:func:`session_digest` reads memory items (imported Claude Code sessions, or any notes) and
writes markdown statements under six headings: what was asked; decisions and results; files and
functions touched, and how; commands and their outcomes; errors and what fixed them; what is
still open (plus notes, for items that are none of these). Every line is a statement that keeps
the exact names -- file paths, function names, commands, error messages, test results -- because
those are what a reader searches for and what a model's own summary keeps.

How it fits the budget: every section offers candidate lines, each with a score (what it is, how
recent, how many exact names it carries). A first pass fills each section up to its share of the
budget, best lines first; a second pass gives what is left to the best remaining lines of any
section; a line that no longer fits whole is cut at a word with an ellipsis. Lines are then
written in session order within their section (a file's lines together), and the text is counted
once more as a whole: ``text`` never exceeds the budget. Nothing depends on item order or on the
kernels in use, so the same items give the same bytes, compiled or pure. After a compaction,
Claude Code's summary speaks for the items before it: those give spare lines only, and their
thinking and plain prose none (see ``memcore.digest_engine._candidates``).

The rules are in ``memcore.digest_engine`` and the ``digest_*`` modules it calls, in Python. A
compiled build compiles the same source with mypyc (``memcore._native.digest_rules``), and
:func:`engine` runs that twin when the compiled kernels are in use (``memcore.NATIVE``): the same
bytes, in about three quarters of the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from memcore._kernels import load_rules
from memcore.errors import ValidationError
from memcore.model import MemoryItem, coerce_items
from memcore.tokens import MAX_TOKEN_BUDGET, TokenCounter, get_token_counter, resolve_counter

#: The digest's modules and the kernel families each one calls: tests and benchmarks switch
#: them together to compare the compiled and pure twins (a test holds this list to the modules'
#: imports).
KERNEL_USERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("memcore.digest_asked", ("pipeline",)),
    ("memcore.digest_cut", ("prose",)),
    ("memcore.digest_echo", ("prose",)),
    ("memcore.digest_lines", ("prose",)),
    ("memcore.digest_listed", ("prose",)),
    ("memcore.digest_open", ("prose",)),
    ("memcore.digest_prose", ("prose",)),
)


@dataclass(frozen=True, slots=True)
class SessionDigest:
    """The digest's markdown ``text``, its ``tokens`` by the counter used, and each section's
    text (its lines, without the heading) under its name."""

    text: str
    tokens: int
    sections: dict[str, str] = field(default_factory=dict)


def session_digest(
    items: Iterable[MemoryItem | Mapping[str, Any]],
    token_budget: int,
    *,
    counter: TokenCounter | None = None,
) -> SessionDigest:
    """A handover note of ``items`` in at most ``token_budget`` tokens (see the module doc).

    A counter that counts even the empty text as more than ``token_budget`` leaves no digest
    that fits: a ``ValidationError`` that says so (its ``tokens`` exceeded the budget)."""
    return session_digests(items, (token_budget,), counter=counter)[0]


def session_digests(
    items: Iterable[MemoryItem | Mapping[str, Any]],
    token_budgets: Iterable[int],
    *,
    counter: TokenCounter | None = None,
    ongoing: bool = False,
) -> list[SessionDigest]:
    """``session_digest`` of the same items at each budget, reading the items once: each is
    the digest's own choice at its size (a short one is not the start of a long one). With
    ``ongoing``, the items are the start of a session whose later items the reader has (what
    ``handle_context_overflow`` keeps whole after a digest): no line says what was under way
    at the last of them.

    A counter that counts even the empty text as more than a budget leaves no digest that fits
    that budget: a ``ValidationError`` that says so."""
    budgets = _budgets(token_budgets)
    made = unchecked_digests(items, budgets, counter=counter, ongoing=ongoing)
    for budget, digest in zip(budgets, made, strict=True):
        if digest.tokens > budget:  # (only the empty text, which the counter says is more)
            raise ValidationError(
                f"the token counter counts the empty text as {digest.tokens} tokens, more than "
                f"the budget of {budget}: no digest fits in it (a counter with a fixed cost "
                "per call needs a budget of at least that cost)"
            )
    return made


def unchecked_digests(
    items: Iterable[MemoryItem | Mapping[str, Any]],
    token_budgets: Iterable[int],
    *,
    counter: TokenCounter | None = None,
    ongoing: bool = False,
) -> list[SessionDigest]:
    """``session_digests`` for memcore's own callers, which do without a digest that cannot
    fit: where the counter counts the empty text as more than a budget, that digest is the
    empty text, its ``tokens`` over the budget."""
    budgets = _budgets(token_budgets)
    for budget in budgets:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
            raise ValidationError(f"token_budget must be an int >= 0 (got {budget!r})")
        if budget > MAX_TOKEN_BUDGET:
            raise ValidationError(f"token_budget must be at most {MAX_TOKEN_BUDGET} (got more)")
    # (the counter in use when the digest starts, the built-in one called as it is: the
    # digest counts only its own strings, about 1,600 of them)
    count = get_token_counter() if counter is None else resolve_counter(counter)
    made: list[SessionDigest] = engine().digests(coerce_items(items), budgets, count, ongoing)
    return made


def _budgets(token_budgets: Iterable[int]) -> list[int]:
    """``token_budgets`` as a list, each budget checked by the caller: a single int (the
    ``session_digest`` argument given to ``session_digests``) or a string was a bare
    ``TypeError`` from ``list``, or a list of characters refused one by one."""
    if isinstance(token_budgets, (str, bytes, bytearray)) or not isinstance(
        token_budgets, Iterable
    ):
        raise ValidationError(
            f"token_budgets must be a sequence of ints (got {type(token_budgets).__name__}: "
            "for one budget, give (budget,) or call session_digest)"
        )
    return list(token_budgets)


_ENGINE: list[ModuleType] = []  # the rules in use, loaded on the first digest


def engine() -> ModuleType:
    """The digest's rules in use: the compiled twin of ``memcore.digest_engine`` when the compiled
    kernels are (``memcore._kernels.load_rules``), else that module itself."""
    if not _ENGINE:
        _ENGINE.append(load_rules("digest_engine"))
    return _ENGINE[0]


if TYPE_CHECKING:
    from memcore.digest_pool import SECTIONS as SECTIONS
else:

    def __getattr__(name: str) -> Any:
        # (the sections' names, titles and shares, from the rules in use: importing the Python
        # rules for them would cost a process with the compiled ones about 25 ms)
        if name == "SECTIONS":
            return engine().SECTIONS
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KERNEL_USERS",
    "SECTIONS",
    "SessionDigest",
    "engine",
    "session_digest",
    "session_digests",
    "unchecked_digests",
]
