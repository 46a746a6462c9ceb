"""Recall quality on real Claude Code sessions: asked in the plain words of a statement of
Claude's own summary, does recall find an item that names what that statement names?

For each transcript under PATH (default ``../shared/data/claude-code/``) that Claude Code
compacted, the memory is the items imported from the records before its first compaction
(:func:`benchmarks.compaction_quality.case_items`), and each line of Claude's summary (outside
fenced code) is a question when it names identifiers that occur in those records (code spans,
paths, called names: :func:`benchmarks.compaction_quality.line_identifiers`) and has at least
``MIN_WORDS`` other words. The question is those other words, the names taken out ("Stale build
artifacts required" for "Stale build artifacts required `mix compile --force`"): a model asks
recall about what it half remembers, not with the exact name it is looking for. An item is an
answer when what ``recall`` shows of it (600 characters of a long item, where the question's
words are, and for the agent's words the first lines of the tool calls they led to:
:func:`memcore.claude_code.recall_rank.shown_hit`) names one of the line's identifiers as a whole
token; a question no item names an identifier of (the name was only in a file read or a
command's output) is left out.

Methods, each giving ``K`` items for a question:

* ``recall``: what the MCP server's ``recall`` tool does (:mod:`memcore.claude_code.recall_rank`):
  the question's own words left out and each word's other forms added, BM25 over the items
  (:class:`memcore.MemoryIndex` with ``recall``'s ``k1`` and ``b``, each item's text with the
  words of its compound code names: ``memcore.search.item_text``), hits weighed by what they
  are and copies of a text folded;
* ``search``: what ``memcore search`` does (:mod:`memcore.cli.recall`): ``recall``'s index,
  question and weights, copies folded only when their texts are the same;
* ``bm25``: a plain ``MemoryIndex`` (Lucene's defaults) asked the question's words as they are,
  its ranking as it is (what ``memcore search`` did until the twenty-ninth session);
* ``latest``: the ``K`` newest items, what an agent holds without any search.

Measures, per session and in the mean: ``hit@5`` (an answer among the first 5), ``mrr`` (the
mean of 1/rank of the first answer within ``K``, 0 when none). Held-out halves (A: the 1st,
3rd, ... session by name; B: the others) as in the compaction benchmark: a weight chosen by
looking at one half is checked on the other.

Run ``python benchmarks/recall_quality.py [PATH]``; the functions are importable.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__" and not __package__:
    # run as ``python benchmarks/recall_quality.py``: the package is in the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.compaction_quality import (
    DEFAULT_PATH,
    CompactionCase,
    case_items,
    halves,
    line_identifiers,
    load_cases,
    occurs,
)
from memcore import MemoryIndex, MemoryItem
from memcore._kernels import search as search_kernels
from memcore.claude_code.next_actions import next_actions
from memcore.claude_code.recall_rank import (
    pool_size,
    question_terms,
    rank,
    recall_index,
    shown_hit,
    weighed,
)
from memcore.search import item_text

#: Items each method gives for a question; the first ``HIT_AT`` count for ``hit@5``.
K = 10
HIT_AT = 5
#: A summary line is a question when this many words are left once its names are taken out.
MIN_WORDS = 3
_FENCE = re.compile(r"^\s*(```|~~~)")
_SPAN = re.compile(r"`[^`\n]*`")

Method = Callable[["Memory", str], list[str]]


@dataclass(frozen=True, slots=True)
class Question:
    """A summary line's words without its names, and the names an answer must name."""

    text: str
    identifiers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Score:
    """One method on one session."""

    session: str
    method: str
    questions: int
    hit: float
    mrr: float


class Memory:
    """One session's items, indexed once for every method: ``index`` as a plain
    ``MemoryIndex`` scores (Lucene's defaults), ``recall_index`` as ``recall``'s does."""

    def __init__(self, items: Sequence[MemoryItem]) -> None:
        self.items = {item.id: item for item in items}
        self.newest = [i.id for i in sorted(items, key=lambda i: (i.created_at, i.id))][::-1]
        self.index = MemoryIndex()
        self.recall_index = recall_index()
        for item in items:
            text = item_text(item)
            self.index.add(item.id, text)
            self.recall_index.add(item.id, text)


def questions(case: CompactionCase) -> list[Question]:
    """The questions Claude's summary of ``case`` gives (see the module doc)."""
    found: list[Question] = []
    fenced = False
    for line in case.summary.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        names = [n for n in line_identifiers(line) if occurs(n, case.transcript_text)]
        if not names:
            continue
        words = _SPAN.sub(" ", line)
        for name in sorted(names, key=len, reverse=True):
            words = words.replace(name, " ")
        text = " ".join(search_kernels.tokenize(words))
        if len(text.split()) >= MIN_WORDS:
            found.append(Question(text, tuple(names)))
    return found


def recall_method(memory: Memory, question: str) -> list[str]:
    hits = memory.recall_index.search(question_terms(question), pool_size(K))
    ranked = rank([("", memory.items[key], score) for key, score in hits], K)
    return [item.id for _, item, _ in ranked]


def search_method(memory: Memory, question: str) -> list[str]:
    hits = memory.recall_index.search(question_terms(question), pool_size(K))
    found: dict[str, str] = {}  # a text -> its first hit
    for _, n in weighed((memory.items[key], score) for key, score in hits):
        key = hits[n][0]
        found.setdefault(" ".join(memory.items[key].content.split()), key)
    return list(found.values())[:K]


def bm25_method(memory: Memory, question: str) -> list[str]:
    return [key for key, _ in memory.index.search(question, K)]


def latest_method(memory: Memory, question: str) -> list[str]:
    return memory.newest[:K]


METHODS: dict[str, Method] = {
    "recall": recall_method,
    "search": search_method,
    "bm25": bm25_method,
    "latest": latest_method,
}


def answers(memory: Memory, question: Question, found: Sequence[str]) -> list[bool]:
    """Whether each found item names one of the question's identifiers in what ``recall``
    shows of it (``SHOWN_CHARS`` characters of a long item, where the question's words are): a
    name elsewhere in a long item is not seen, so a ranking that favours long items gains
    nothing by their length alone."""
    terms = question_terms(question.text).split()
    items = [memory.items[key] for key in found]
    shown = [shown_hit(item.content, next_actions(item), terms) for item in items]
    return [any(occurs(name, text) for name in question.identifiers) for text in shown]


def in_memory(memory: Memory, question: Question) -> bool:
    """Whether any item names one of the question's identifiers (else no method can answer:
    the name was in a file read or a command's output, which memory keeps no copy of)."""
    return any(
        occurs(name, item.content)
        for item in memory.items.values()
        for name in question.identifiers
    )


def score(case: CompactionCase, methods: Sequence[str] = tuple(METHODS)) -> list[Score]:
    """Every method of ``methods`` on one session's questions that memory can answer."""
    memory = Memory(case_items(case))
    asked = [q for q in questions(case) if in_memory(memory, q)]
    scores = []
    for method in methods:
        hits = ranks = 0.0
        for question in asked:
            named = answers(memory, question, METHODS[method](memory, question.text))
            first = named.index(True) + 1 if True in named else 0
            hits += 1.0 if 0 < first <= HIT_AT else 0.0
            ranks += 1.0 / first if first else 0.0
        n = max(1, len(asked))
        scores.append(Score(case.name, method, len(asked), hits / n, ranks / n))
    return scores


def mean(scores: Sequence[Score], method: str) -> tuple[float, float]:
    """Mean hit@5 and MRR of one method over sessions (each session weighs the same)."""
    rows = [s for s in scores if s.method == method]
    n = max(1, len(rows))
    return sum(s.hit for s in rows) / n, sum(s.mrr for s in rows) / n


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    cases = load_cases(args.path)
    if not cases:
        print(f"no compacted Claude Code sessions under {args.path}", file=sys.stderr)
        return 1
    scores: list[Score] = []
    print(f"{'session':<42} {'method':<8} {'questions':>9} {'hit@5':>6} {'mrr':>6}")
    for case in cases:
        for result in score(case):
            scores.append(result)
            print(
                f"{case.name:<42} {result.method:<8} {result.questions:>9} "
                f"{result.hit:6.3f} {result.mrr:6.3f}"
            )
    print(f"\nmean over {len(cases)} compacted sessions:")
    for method in METHODS:
        hit, mrr = mean(scores, method)
        print(f"  {method:<8} hit@5 {hit:.3f}  mrr {mrr:.3f}")
    if len(cases) >= 4:
        half_a, half_b = halves([c.name for c in cases])
        for label, half in (("A", half_a), ("B", half_b)):
            print(f"\nmean over half {label} ({len(half)}):")
            for method in METHODS:
                hit, mrr = mean([s for s in scores if s.session in half], method)
                print(f"  {method:<8} hit@5 {hit:.3f}  mrr {mrr:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
