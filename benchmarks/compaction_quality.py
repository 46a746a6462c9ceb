"""Compaction quality on real Claude Code sessions: how much of what Claude Code's own compaction
(an LLM call) kept does a model-free method keep, in the same number of tokens?

For each transcript under PATH (default ``../shared/data/claude-code/``, beside the repository)
that Claude Code compacted: take the records before the ``compact_boundary`` that precedes the
first ``isCompactSummary`` record, import them (:func:`memcore.claude_code.parse_lines`), and fit
them into ``count_tokens(Claude's summary)`` tokens ("the size") by each method:

* ``session_digest``: :func:`memcore.session_digest` at the size;
* ``handle_context_overflow``: a :class:`memcore.SessionState` with budget ``size / 0.8`` (so its
  80 % target is the size), "now" at the last record; the output is the items left, in order;
* ``tail``: the last items that fit the size; ``head``: the first ones.

Measures, per session and in the mean:

* **identifiers kept**: identifiers are the backtick code spans (3-80 characters, outside fenced
  code blocks), path-like tokens (``a/b.ext``) and names called (``name(``: the name) in Claude's
  summary that also occur in the transcript before the compaction; kept = occurs in the output.
  "Occurs" means as a whole token: not preceded or followed by a letter, digit or ``_``;
* **pairs stated**: two identifiers named on one line of Claude's summary form a pair; it is
  stated when one line or sentence of the output names both, with at most 6 identifiers and at
  least 3 other words in that line or sentence (a list of names states nothing);
* **fill**: the output's tokens over the size; **seconds**: the method's time (the items are
  imported once, before any method runs); beside it, ``json_seconds``: ``json.loads`` of every
  line of the whole session file, the bar a digest must beat. Both are the best of
  ``TIMED_RUNS`` runs: one run alone sometimes holds a full garbage collection of the whole
  benchmark's heap (10 ms, more than most digests take).

Run ``python benchmarks/compaction_quality.py [PATH] [--all-compactions] [--methods a,b]``; with
``--all-compactions`` every compaction of a session is a case (``NAME#2`` is the second: the
records before its boundary, Claude's second summary), which scores sessions' later compactions
that the default (first compaction only) leaves out. The functions are importable.

Held-out halves: the means are also given over two halves of the cases (by name: A the 1st,
3rd, ... B the others). A weight chosen by looking at one half is checked on the other: a
change that helps only the half it was tuned on fits those files, not the idea.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from memcore import MemoryItem, SessionState, count_tokens, handle_context_overflow, session_digest
from memcore.claude_code import parse_lines

TIMED_RUNS = 3
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"
OVERFLOW_TARGET = 0.8
MAX_PAIR_IDENTIFIERS = 6
MIN_OTHER_WORDS = 3

_FENCE = re.compile(r"^\s*(```|~~~)")
_SPAN = re.compile(r"`([^`\n]{3,80})`")
_PATH = re.compile(
    r"(?<![\w/.~-])((?:~|\.{1,2})?/?(?:[\w.@-]+/)+[\w.@-]*\w\.[A-Za-z0-9]{1,10})(?![\w/])"
)
_CALL = re.compile(r"(?<![\w.])([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)\(")
_WORD = re.compile(r"[A-Za-z]{2,}")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")

Method = Callable[[Sequence[MemoryItem], int], str]


@dataclass(frozen=True, slots=True)
class CompactionCase:
    """One compacted session: the lines before the compaction and Claude's summary."""

    name: str
    lines_before: list[bytes]
    summary: str
    transcript_text: str
    json_seconds: float


@dataclass(frozen=True, slots=True)
class Score:
    """One method on one session."""

    session: str
    method: str
    identifiers: float
    pairs: float
    fill: float
    seconds: float
    size: int
    output_tokens: int


# --- the cases ----------------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _summary_text(record: dict[str, Any]) -> str:
    content = record.get("message", {}).get("content")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


def load_case(path: Path, *, every: bool = False) -> list[CompactionCase]:
    """The session's compaction cases: the first one (``every``: each one, named ``NAME#k`` from
    the second on), or none when Claude Code never compacted it."""
    raw_lines = path.read_bytes().splitlines(keepends=True)
    json_seconds = float("inf")
    for _ in range(TIMED_RUNS):
        start = time.perf_counter()
        records = [json.loads(line) for line in raw_lines if line.strip()]
        json_seconds = min(json_seconds, time.perf_counter() - start)
    boundary = None
    kept = [line for line in raw_lines if line.strip()]
    cases: list[CompactionCase] = []
    for index, record in enumerate(records):
        if record.get("type") == "system" and record.get("subtype") == "compact_boundary":
            boundary = index
        if record.get("isCompactSummary") and boundary is not None:
            before = records[:boundary]
            text = "\n".join(s for r in before for s in _strings(r))
            name = path.stem if not cases else f"{path.stem}#{len(cases) + 1}"
            cases.append(
                CompactionCase(name, kept[:boundary], _summary_text(record), text, json_seconds)
            )
            boundary = None
            if not every:
                break
    return cases


def load_cases(path: str | Path = DEFAULT_PATH, *, every: bool = False) -> list[CompactionCase]:
    """Every compacted session under ``path`` (a file or a folder of ``*.jsonl``): its first
    compaction, or with ``every`` each of its compactions."""
    root = Path(path)
    files = [root] if root.is_file() else sorted(root.glob("*.jsonl"))
    return [case for f in files for case in load_case(f, every=every)]


# --- identifiers and pairs ----------------------------------------------------------------------


def line_identifiers(line: str, in_fence: bool = False) -> list[str]:
    """Identifiers one line names: code spans (outside fences), paths, called names."""
    found: list[str] = []
    if not in_fence:
        found.extend(m.strip() for m in _SPAN.findall(line) if len(m.strip()) >= 3)
    found.extend(_PATH.findall(line))
    found.extend(name for name in _CALL.findall(line) if len(name) >= 3)
    return list(dict.fromkeys(found))


def _lines_with_fences(text: str) -> Iterator[tuple[str, bool]]:
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        yield line, fenced


def occurs(identifier: str, text: str) -> bool:
    """``identifier`` in ``text`` as a whole token (no letter, digit or ``_`` either side)."""
    if identifier not in text:
        return False
    pattern = r"(?<![A-Za-z0-9_])" + re.escape(identifier) + r"(?![A-Za-z0-9_])"
    return re.search(pattern, text) is not None


def reference(case: CompactionCase) -> tuple[set[str], set[frozenset[str]]]:
    """The identifiers of Claude's summary found in the transcript, and the pairs among them."""
    present: dict[str, bool] = {}
    pairs: set[frozenset[str]] = set()
    for line, fenced in _lines_with_fences(case.summary):
        ids = []
        for ident in line_identifiers(line, fenced):
            if ident not in present:
                present[ident] = occurs(ident, case.transcript_text)
            if present[ident]:
                ids.append(ident)
        pairs.update(frozenset(p) for p in combinations(sorted(set(ids)), 2))
    return {i for i, ok in present.items() if ok}, pairs


def identifiers_kept(output: str, identifiers: set[str]) -> float:
    """Share of ``identifiers`` occurring in ``output``."""
    if not identifiers:
        return 1.0
    return sum(occurs(i, output) for i in identifiers) / len(identifiers)


def _statements(output: str) -> Iterator[str]:
    for line, fenced in _lines_with_fences(output):
        if not line.strip():
            continue
        yield line
        parts = _SENTENCE_END.split(line)
        if len(parts) > 1:
            yield from parts
        del fenced


def states(segment: str) -> bool:
    """A segment can state a pair: at most 6 identifiers and at least 3 other words."""
    ids = line_identifiers(segment)
    if len(ids) > MAX_PAIR_IDENTIFIERS:
        return False
    rest = _SPAN.sub(" ", segment)
    for ident in ids:
        rest = rest.replace(ident, " ")
    return len(_WORD.findall(rest)) >= MIN_OTHER_WORDS


def pairs_stated(output: str, pairs: set[frozenset[str]]) -> float:
    """Share of ``pairs`` named together by one stating line or sentence of ``output``."""
    if not pairs:
        return 1.0
    segments = [s for s in _statements(output) if states(s)]
    stated = 0
    for pair in pairs:
        a, b = sorted(pair)
        if any(occurs(a, s) and occurs(b, s) for s in segments):
            stated += 1
    return stated / len(pairs)


# --- the methods --------------------------------------------------------------------------------


def digest_method(items: Sequence[MemoryItem], size: int) -> str:
    return session_digest(items, size).text


def overflow_method(items: Sequence[MemoryItem], size: int) -> str:
    now = max((item.created_at for item in items), default=None)
    state = SessionState(list(items), max(1, round(size / OVERFLOW_TARGET)), now=now)
    handle_context_overflow(state)
    return "\n".join(item.content for item in state.items)


def _fit(items: Sequence[MemoryItem], size: int) -> list[str]:
    chosen: list[str] = []
    total = 0
    for item in items:
        cost = count_tokens(item.content) + 1
        if total + cost > size:
            break
        chosen.append(item.content)
        total += cost
    return chosen


def tail_method(items: Sequence[MemoryItem], size: int) -> str:
    return "\n".join(reversed(_fit(list(reversed(items)), size)))


def head_method(items: Sequence[MemoryItem], size: int) -> str:
    return "\n".join(_fit(items, size))


METHODS: dict[str, Method] = {
    "session_digest": digest_method,
    "handle_context_overflow": overflow_method,
    "tail": tail_method,
    "head": head_method,
}


def case_items(case: CompactionCase) -> list[MemoryItem]:
    """The session's records before the compaction, imported as memory items."""
    return parse_lines(case.lines_before, path=f"{case.name}.jsonl").items


def score(case: CompactionCase, method: str, run: Method | None = None) -> Score:
    """One method on one case (``run`` overrides the method's function)."""
    items = case_items(case)
    identifiers, pairs = reference(case)
    size = count_tokens(case.summary)
    seconds = float("inf")
    for _ in range(TIMED_RUNS):  # the same output each time: the methods are deterministic
        start = time.perf_counter()
        output = (run or METHODS[method])(items, size)
        seconds = min(seconds, time.perf_counter() - start)
    tokens = count_tokens(output)
    return Score(
        case.name,
        method,
        identifiers_kept(output, identifiers),
        pairs_stated(output, pairs),
        tokens / size if size else 0.0,
        seconds,
        size,
        tokens,
    )


def evaluate(
    path: str | Path = DEFAULT_PATH,
    methods: Sequence[str] = tuple(METHODS),
    *,
    every: bool = False,
) -> list[Score]:
    """Every method on every compacted session under ``path`` (``every``: every compaction)."""
    return [score(case, method) for case in load_cases(path, every=every) for method in methods]


def mean(scores: Sequence[Score], method: str) -> dict[str, float]:
    """Mean identifiers, pairs, fill and seconds of one method."""
    rows = [s for s in scores if s.method == method]
    n = max(1, len(rows))
    return {
        "identifiers": sum(s.identifiers for s in rows) / n,
        "pairs": sum(s.pairs for s in rows) / n,
        "fill": sum(s.fill for s in rows) / n,
        "seconds": sum(s.seconds for s in rows) / n,
    }


def halves(names: Sequence[str]) -> tuple[set[str], set[str]]:
    """The two held-out halves of the cases named ``names``: A takes the 1st, 3rd, ... by name."""
    ordered = sorted(set(names))
    return set(ordered[0::2]), set(ordered[1::2])


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument(
        "--all-compactions",
        action="store_true",
        help="score every compaction boundary of a session, not only its first",
    )
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated methods to run"
    )
    args = parser.parse_args(argv)
    path = args.path
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown methods: {', '.join(unknown)}")
    cases = load_cases(path, every=args.all_compactions)
    if not cases:
        print(f"no compacted Claude Code sessions under {path}", file=sys.stderr)
        return 1
    scores: list[Score] = []
    print(f"{'session':<42} {'method':<24} {'ids':>5} {'pairs':>5} {'fill':>5} {'ms':>8}")
    for case in cases:
        for method in methods:
            result = score(case, method)
            scores.append(result)
            print(
                f"{case.name:<42} {method:<24} {result.identifiers:5.2f} {result.pairs:5.2f} "
                f"{result.fill:5.2f} {result.seconds * 1000:8.1f}"
            )
        print(
            f"{case.name:<42} {'(json.loads, whole file)':<24} {'':>5} {'':>5} {'':>5} "
            f"{case.json_seconds * 1000:8.1f}"
        )
    what = "compactions" if args.all_compactions else "compacted sessions"
    print(f"\nmean over {len(cases)} {what}:")
    for method in methods:
        m = mean(scores, method)
        print(
            f"  {method:<24} identifiers {m['identifiers']:.2f}  pairs {m['pairs']:.2f}  "
            f"fill {m['fill']:.2f}  {m['seconds'] * 1000:.1f} ms"
        )
    json_ms = sum(c.json_seconds for c in cases) / len(cases) * 1000
    print(f"  {'json.loads of the file':<24} {json_ms:.1f} ms")
    if len(cases) >= 4:
        half_a, half_b = halves([c.name for c in cases])
        for label, half in (("A", half_a), ("B", half_b)):
            print(f"\nmean over half {label} ({len(half)}: {', '.join(sorted(half))}):")
            for method in methods:
                m = mean([s for s in scores if s.session in half], method)
                print(f"  {method:<24} identifiers {m['identifiers']:.2f}  pairs {m['pairs']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
