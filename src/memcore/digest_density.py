"""How many exact names a digest line carries, counted as the measure of a statement counts
them: code spans (3-80 characters), path-like tokens and ``name(`` calls, each distinct one
once (so `` `IsBinary()` `` is two: the span and the call in it). A line naming more than
``MOST_NAMES`` states nothing: it is a list of names, whose relations the reader cannot tell.
The lines that list what a file's edits changed are filled by this count, not by the number of
names they quote.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from memcore.lazy_re import lazy_compile

#: The most exact names a line may carry and still state how they relate.
MOST_NAMES = 6

_SPAN = lazy_compile(r"`([^`\n]{3,80})`")
#: (the lookahead: a path is tried only where a slash follows the token's first characters,
#: the same matches without trying the whole pattern at every word of a line)
_PATH = lazy_compile(
    r"(?<![\w/.~-])(?=[\w.@~-]*/)"
    r"((?:~|\.{1,2})?/?(?:[\w.@-]+/)+[\w.@-]*\w\.[A-Za-z0-9]{1,10})(?![\w/])"
)
_CALL = lazy_compile(r"(?<![\w.])([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)\(")


def exact_names(text: str) -> set[str]:
    """The distinct exact names of ``text``: its code spans, paths and called names."""
    found: set[str] = set()
    if "`" in text:  # (each pattern only where its one character is)
        found.update(span.strip() for span in _SPAN.findall(text) if len(span.strip()) >= 3)
    if "/" in text:
        found.update(_PATH.findall(text))
    if "(" in text:
        found.update(name for name in _CALL.findall(text) if len(name) >= 3)
    return found


@functools.lru_cache(maxsize=4096)
def _names_of(quoted: str) -> frozenset[str]:
    """:func:`exact_names` of one quoted name (cached: a file's names are fitted again for
    each of its lines, and each digest of a session at each budget)."""
    return frozenset(exact_names(quoted))


def names_fitting(quoted: Sequence[str], known: set[str], most: int) -> int:
    """How many of ``quoted`` (names as a line quotes them, in backticks) fit, in order, in a
    line that names ``known`` already and at most ``most`` names in all (at least one, so that
    a line always says something)."""
    named = set(known)
    for count, name in enumerate(quoted):
        named |= _names_of(name)
        if len(named) > most:
            return max(1, count)
    return len(quoted)


def _quoted(run: Sequence[str]) -> str:
    return f"`{run[0]}`"


def chunks(
    names: Sequence[str],
    known: set[str],
    *,
    most: int = MOST_NAMES,
    each: int,
    say: Callable[[Sequence[str]], str] = _quoted,
    lines: int | None = None,
) -> list[list[str]]:
    """``names`` in lines of at most ``each`` that, with ``known`` (the names every line of them
    carries: the file's path), name at most ``most`` things; each counted as ``say`` says a run
    of it alone (by default a name in backticks; an edit's added lines as code spans), and a
    run of one naming what it names. With ``lines``, only the first that many lines."""
    out: list[list[str]] = []
    at = 0
    while at < len(names) and (lines is None or len(out) < lines):
        take = names_fitting([say([name]) for name in names[at : at + each]], known, most)
        out.append(list(names[at : at + take]))
        at += take
    return out


__all__ = ["MOST_NAMES", "chunks", "exact_names", "names_fitting"]
