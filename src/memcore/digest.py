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
thinking and plain prose none (see ``_candidates``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from memcore.claude_code.compaction import is_compaction_summary
from memcore.digest_asked import REQUEST_REST_LEAD
from memcore.digest_cut import MIN_CUT_TOKENS, MIN_TOPIC_WORDS, cut_line
from memcore.digest_echo import EchoIndex, EchoTexts
from memcore.digest_lines import (
    LATEST_OPEN,
    Candidate,
    build_candidates,
    line_identifiers,
    spare_lines,
    title_line,
)
from memcore.digest_work import session_root
from memcore.errors import ValidationError
from memcore.model import MemoryItem, coerce_items
from memcore.tokens import TokenCounter, resolve_counter

#: Sections in the order they are written, with their headings and first-pass budget shares.
SECTIONS: tuple[tuple[str, str, float], ...] = (
    ("asked", "What was asked", 0.22),
    ("decisions", "Decisions and results", 0.25),
    ("files", "Files and functions touched", 0.25),
    ("commands", "Commands and outcomes", 0.05),
    ("errors", "Errors and fixes", 0.12),
    ("open", "Still open", 0.08),
    ("notes", "Notes", 0.30),
)
_TITLES = {name: title for name, title, _ in SECTIONS}
_ORDER = {name: index for index, (name, _, _) in enumerate(SECTIONS)}
_SHARES = {name: share for name, _, share in SECTIONS}
#: What each exact name (code span, path, called name) a line adds to the digest is worth, and
#: how a line's worth is divided by its cost (tokens ** exponent): names per token win.
NEW_NAME_WEIGHT = 0.5
COST_EXPONENT = 1.0
#: A line naming only what chosen lines already name keeps this share of its worth.
REPEAT_FACTOR = 0.5
#: Below this budget a digest first says what the session was about: its topic line (its
#: first request, or what a compaction summary says was asked), cut to the share of "What was
#: asked" when longer. Lines worth more per token would otherwise price a long first request out
#: of a short digest, and a short handover note that does not say what the work was for says
#: little (session-start gives earlier sessions 150-500 tokens each).
TOPIC_BELOW = 1000
#: The share of the budget the latest request not answered yet may take whole when it is seeded
#: (more than "Still open"'s share: a request of a few lines is worth saying whole).
OPEN_SEED_SHARE = 0.25
#: The digest's modules and the kernel families each one calls: tests and benchmarks switch
#: them together to compare the compiled and pure twins (a test holds this list to the modules'
#: imports).
KERNEL_USERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("memcore.digest_asked", ("pipeline",)),
    ("memcore.digest_lines", ("prose",)),
    ("memcore.digest_prose", ("prose",)),
)
#: Refill rounds after the first fit, and the least slack (tokens) worth a round.
_REFILL_ROUNDS = 6
_MIN_REFILL = 3


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
    """A handover note of ``items`` in at most ``token_budget`` tokens (see the module doc)."""
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
    at the last of them."""
    budgets = list(token_budgets)
    for budget in budgets:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
            raise ValidationError(f"token_budget must be an int >= 0 (got {budget!r})")
    count = resolve_counter(counter)
    coerced = coerce_items(items)
    ordered = sorted(coerced, key=lambda item: (item.created_at, item.id))
    cut = _last_compaction(ordered)
    root = session_root(ordered)  # one name per file on both sides of a compaction
    lines = _lines(_unique(_candidates(ordered, cut, root, ongoing)), count, cut)
    spare: list[Candidate] | None = None  # made when a digest first has room for them
    musing: list[Candidate] | None = None  # thinking's spare lines: the last to fill room
    digests = []
    for budget in budgets:
        greedy = _Greedy(lines, budget, count)
        greedy.seed_open()
        if budget < TOPIC_BELOW:
            greedy.seed_topic()
        greedy.run(budget, capped=True)
        greedy.run(budget, capped=False)
        if greedy.stop_waiting():  # (a request's line that never fit: its lines say whose)
            greedy.run(budget, capped=False)
        text, sections, tokens = _fill(greedy, budget, count)
        if budget - tokens >= max(MIN_CUT_TOKENS, budget // 50):
            if spare is None:
                spare = _since(spare_lines(ordered[cut:], root), cut)
            if greedy.release_spare(spare):
                # every line that matters had its chance: room left takes spare lines
                text, sections, tokens = _fill(greedy, budget, count, start=tokens)
        if budget - tokens >= max(MIN_CUT_TOKENS, budget // 50):  # still: thinking's too
            if musing is None:
                musing = _since(spare_lines(ordered[cut:], root, thinking=True), cut)
            if greedy.release_spare(musing):
                text, sections, tokens = _fill(greedy, budget, count, start=tokens)
        chosen = greedy.chosen
        while tokens > budget and chosen:  # the whole may count more than its parts
            chosen.remove(min(chosen, key=lambda c: (c.score, -c.seq, c.section)))
            text, sections = _render(chosen)
            tokens = count(text)
        digests.append(SessionDigest(text=text, tokens=tokens, sections=sections))
    return digests


def _last_compaction(ordered: list[MemoryItem]) -> int:
    """The index of the last compaction summary in ``ordered`` (0: none)."""
    cut = 0
    for index, item in enumerate(ordered):
        if is_compaction_summary(item.metadata):
            cut = index
    return cut


def _since(lines: list[Candidate], cut: int) -> list[Candidate]:
    """``lines`` of the items from ``cut`` on, placed in the whole session."""
    if not cut:
        return lines
    return [c._replace(seq=c.seq + cut) for c in lines]


def _candidates(
    ordered: list[MemoryItem], cut: int, root: str | None, ongoing: bool = False
) -> list[Candidate]:
    """The candidate lines of ``ordered``, whose last compaction summary is at ``cut`` (0:
    none), naming files relative to ``root``; after a compaction, the lines of the items it
    summarized (``seq`` below ``cut``) are held back as spare lines (see ``_Lines.held``).

    A compaction summary (Claude Code's own, imported as a ``summary`` item marked
    ``compaction``) is a strong model's account of everything before it, and all the agent
    knew from then on: the lines of the earlier items are said only when the summary and the
    work since have had their chance, and their thinking, their plain prose and their records'
    own words (:func:`spare_lines`) are not said at all. The summary speaks for them, and the
    agent no longer sees them: of the 23 development sessions' digests, none of up to 2,000
    tokens changed without them and four of 4,000 changed a few lines, while on a session
    compacted twice building them took most of the digest's time. Their "still open" lines are
    dropped: what was open then is what the summary says, not what the earlier items left."""
    title = title_line(ordered)
    titled = [] if title is None else [title]
    if cut == 0:
        return titled + build_candidates(ordered, root, ongoing=ongoing)
    earlier = [
        c for c in build_candidates(ordered[:cut], root, thinking=False) if c.section != "open"
    ]
    return titled + earlier + _since(build_candidates(ordered[cut:], root, ongoing=ongoing), cut)


def _fill(
    greedy: _Greedy, budget: int, count: TokenCounter, start: int = 0
) -> tuple[str, dict[str, str], int]:
    """Render what the greedy chose and give it the tokens the whole really left.

    Lines are priced alone (plus a newline); written together they often count less, so the
    greedy stops short of the budget. Each round continues it with that slack added to its
    limit and is kept only if the whole still fits (a round that overshoots is undone and
    retried with half the slack)."""
    if start:
        greedy.run(greedy.total + budget - start, capped=False)
    text, sections = _render(greedy.chosen)
    tokens = count(text)
    limit, step = greedy.total, budget - tokens
    for _ in range(_REFILL_ROUNDS):
        if step < _MIN_REFILL or greedy.exhausted():
            break
        saved = greedy.snapshot()
        greedy.run(limit + step, capped=False)
        more_text, more_sections = _render(greedy.chosen)
        more = count(more_text)
        if more > budget:
            greedy.restore(saved)
            step //= 2
            continue
        limit += step
        if more == tokens:
            break
        text, sections, tokens = more_text, more_sections, more
        step = budget - tokens
    return text, sections, tokens


def _unique(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per distinct line: the best scored (the latest on a tie)."""
    best: dict[str, Candidate] = {}
    for cand in candidates:
        held = best.get(cand.text)
        if held is None or (cand.score, cand.seq) > (held.score, held.seq):
            best[cand.text] = cand
    return list(best.values())


def _heading(section: str) -> str:
    return f"## {_TITLES[section]}"


class _Lines(NamedTuple):
    """The candidate lines in the greedy's order, with what choosing them costs and names:
    the same for every budget a digest is made at, so worked out once."""

    cands: list[Candidate]
    costs: list[int]
    names: list[frozenset[str]]
    heading_cost: dict[str, int]
    #: each line's names and words for its echoes (``memcore.digest_echo``)
    echo_texts: EchoTexts
    #: whether each line waits for ``release_spare``: a spare line, or one of the items a
    #: compaction summarized (flagged here, not copied into a new ``Candidate`` each)
    held: list[bool]
    #: the line each line waits for (-1: none): a long request's further lines wait for the
    #: request's own line, which says what they are part of (cheaper, they would fill the
    #: section before it and be said as "the request also said" of a request never said)
    needs: list[int]


def _lines(candidates: list[Candidate], count: TokenCounter, cut: int = 0) -> _Lines:
    cands = sorted(candidates, key=lambda c: (_ORDER[c.section], c.seq, c.text, c.score))
    return _Lines(
        cands,
        [count(c.text) + 1 for c in cands],
        [frozenset(line_identifiers(c.text) if c.names is None else c.names) for c in cands],
        {name: count(_heading(name)) + 2 for name in _TITLES},
        EchoTexts(),
        [c.spare or 0 <= c.seq < cut for c in cands],  # (the title, at -1, is never held)
        _needs(cands),
    )


def _needs(cands: list[Candidate]) -> list[int]:
    """``_Lines.needs`` of ``cands`` (in the greedy's order: a request's line comes just
    before its further lines, at fractions of its ``seq``)."""
    needs = [-1] * len(cands)
    head = -1
    for i, cand in enumerate(cands):
        if cand.lead is None:
            if cand.section == "asked" and cand.seq == int(cand.seq):
                head = i
        elif (
            cand.lead.startswith(REQUEST_REST_LEAD)
            and head >= 0
            and cands[head].seq == int(cand.seq)
        ):
            needs[i] = head
    return needs


class _Greedy:
    """Lazy greedy: the best line by (score + names it adds that no chosen line has yet) per
    token, first within each section's share, then anywhere; a line's worth only falls as
    others are chosen, so a popped line whose worth is still current is the best one. It can
    be run again with a larger limit, continuing where it stopped: the heap of the lines not
    chosen is kept between runs (their worths there are upper bounds, which is all a lazy greedy
    needs), so a run does not weigh every line again."""

    def __init__(self, lines: _Lines, budget: int, count: TokenCounter) -> None:
        cands, costs, names, self.heading_cost, echo_texts, self.held, self.needs = lines
        self.cands = list(cands)  # copies: spare lines are added to these three
        self.costs = list(costs)
        self.names = list(names)
        self.budget = budget
        self.count = count
        self.covered: set[str] = set()
        self.used: dict[str, int] = {}
        self.chosen: list[Candidate] = []
        self.chosen_costs: list[int] = []  # each chosen line's tokens, its heading's apart
        #: the chosen lines of each item, by section and item (see ``_drop_opened``)
        self.per_item: dict[tuple[str, int], list[Candidate]] = {}
        self.taken = list(self.held)  # spare lines wait for release_spare
        self.restating: set[int] = set()  # records' own words (see release_spare)
        self.released = False  # whether release_spare let the held-back lines go
        self.echo = EchoIndex(echo_texts)  # a line said again in other words is left out
        #: heap entries of lines waiting for a line not chosen yet (``_Lines.needs``), by it
        self.waiting: dict[int, list[tuple[float, int]]] = {}
        self.total = 0
        self.scores = [c.score for c in self.cands]
        #: what a line's worth is divided by
        self.prices: list[float] = [float(cost) ** COST_EXPONENT for cost in self.costs]
        #: (-worth, index) of every line not chosen (worths as of when pushed: upper bounds)
        # nothing is covered yet: a line's worth is its score and all its names, per its price
        self.heap: list[tuple[float, int]] = [
            (-((score + NEW_NAME_WEIGHT * len(names)) / price), i)
            for i, (score, names, price, held) in enumerate(
                zip(self.scores, self.names, self.prices, self.taken, strict=True)
            )
            if not held
        ]
        heapq.heapify(self.heap)

    def worth(self, i: int) -> float:
        names = self.names[i]
        if not names:  # worth what its score is, whatever was chosen
            return (self.scores[i] + 0.0) / self.prices[i]
        covered = self.covered
        new = len(names) - len(names & covered) if covered else len(names)
        gain = self.scores[i] + NEW_NAME_WEIGHT * new
        if not new:  # says again what chosen lines already name
            gain *= REPEAT_FACTOR
        return gain / self.prices[i]

    def exhausted(self) -> bool:
        return all(self.taken)

    def seed_open(self) -> None:
        """Choose the latest request not answered yet before anything else: it is what the next
        session takes up, and as a long line it would lose to short ones by worth per token
        (whole if it fits the open section's share of the budget, else cut to it)."""
        latest = (
            i
            for i, c in enumerate(self.cands)
            if c.section == "open" and c.text.startswith(LATEST_OPEN) and not self.taken[i]
        )
        self._seed(next(latest, None), OPEN_SEED_SHARE)

    def seed_topic(self) -> None:
        """Choose the session's topic line first (``TOPIC_BELOW``), whole if it fits its
        section's share of the budget, else cut to it (keeping at least ``MIN_TOPIC_WORDS``)."""
        self._seed(
            next((i for i, c in enumerate(self.cands) if c.topic and not self.taken[i]), None)
        )

    def _seed(self, i: int | None, share: float = 0.0) -> None:
        """Choose line ``i`` now, whole if it fits its section's share of the budget (or
        ``share``, when larger), else cut to it."""
        if i is None:
            return
        cand = self.cands[i]
        heading = self.heading_cost[cand.section]
        room = int(self.budget * max(_SHARES[cand.section], share)) - heading
        cost = self.costs[i]
        if cost > room:
            cut = cut_line(
                cand.text, room - 1, self.count, min_words=MIN_TOPIC_WORDS, min_share=0.0
            )
            if cut is None:
                return
            cand = Candidate(cand.section, cand.seq, cand.score, cut, None, about=cand.about)
            cost = self.count(cut) + 1
        self._take(i, cand, cost + heading)

    def _take(self, i: int, cand: Candidate, cost: int) -> None:
        """Choose line ``i`` as ``cand`` (it, or it cut), at ``cost`` tokens with its
        section's heading when it is the section's first line."""
        section = cand.section
        self._settle(i)
        self.chosen.append(cand)
        self.per_item.setdefault((section, int(cand.seq)), []).append(cand)
        self.chosen_costs.append(cost - (0 if section in self.used else self.heading_cost[section]))
        self.covered.update(self.names[i])
        self.used[section] = self.used.get(section, 0) + cost
        self.total += cost

    def _settle(self, i: int) -> None:
        """Mark line ``i`` taken (chosen or left out for good): the lines waiting for it may
        be chosen now."""
        self.taken[i] = True
        woken = self.waiting.pop(i, None)
        if woken:
            for entry in woken:
                heapq.heappush(self.heap, entry)

    def stop_waiting(self) -> bool:
        """Let the lines still waiting for a line not chosen be chosen without it (each then
        says whose it is: ``Candidate.lead``); False when none waits."""
        woken = [entry for entries in self.waiting.values() for entry in entries]
        self.waiting = {}
        self.needs = [-1] * len(self.needs)
        for entry in woken:
            heapq.heappush(self.heap, entry)
        return bool(woken)

    def _drop_opened(self, cand: Candidate) -> None:
        """Leave out a chosen line of ``cand``'s item that ``cand`` opens with, whole ("Fixed
        the session logic (`h.go`)" before "Fixed the session logic (`h.go`): removed the
        blocking check"): ``cand`` says it again, and more."""
        item = (cand.section, int(cand.seq))
        mates = self.per_item.get(item)
        if not mates:  # (most items have no line chosen yet)
            return
        text = cand.text
        for other in mates:
            if len(other.text) < len(text) and text.startswith(other.text.rstrip(".\u2026")):
                n = next(n for n, chosen in enumerate(self.chosen) if chosen is other)
                cost = self.chosen_costs[n]
                self.used[other.section] -= cost
                self.total -= cost
                self.chosen = self.chosen[:n] + self.chosen[n + 1 :]  # (a new list: see echo)
                self.chosen_costs = self.chosen_costs[:n] + self.chosen_costs[n + 1 :]
                mates.remove(other)
                return

    def release_spare(self, more: list[Candidate]) -> bool:
        """Let spare lines (those held back, the first time, and ``more``) be chosen from now
        on; False when there are none. A line of ``more`` (a record's own words) that names
        only what chosen lines already name when its turn comes is left out: it restates them
        ("Read `f`: 5 lines." after "`f` was read, not changed"), and a small session would
        otherwise say each thing twice."""
        spare: list[int] = []
        if not self.released:  # the lines held back since the start: once (later ones may
            self.released = True  # be spare lines that were chosen, or echoes)
            spare = [i for i, held in enumerate(self.held) if held and self.taken[i]]
            for i in spare:
                self.taken[i] = False
        known = {c.text for c in self.cands}
        added = sorted(
            (c for c in _unique(more) if c.text not in known),
            key=lambda c: (_ORDER[c.section], c.seq, c.text, c.score),
        )
        for cand in added:
            names = frozenset(line_identifiers(cand.text) if cand.names is None else cand.names)
            if names:
                if names <= self.covered:
                    continue
                self.restating.add(len(self.cands))
            self.cands.append(cand)
            self.costs.append(self.count(cand.text) + 1)
            self.scores.append(cand.score)
            self.prices.append(float(self.costs[-1]) ** COST_EXPONENT)
            self.names.append(names)
            self.taken.append(False)
            spare.append(len(self.cands) - 1)
        if spare:  # (their worths, then one heapify: the same heap order as pushing each)
            worth = self.worth
            self.heap.extend([(-worth(i), i) for i in spare])
            heapq.heapify(self.heap)
        return bool(spare)

    def snapshot(self) -> _Saved:
        return (
            set(self.covered),
            dict(self.used),
            list(self.chosen),
            list(self.chosen_costs),
            list(self.taken),
            self.total,
            list(self.heap),
            {i: list(entries) for i, entries in self.waiting.items()},
            {item: list(mates) for item, mates in self.per_item.items()},
        )

    def restore(self, saved: _Saved) -> None:
        (
            self.covered,
            self.used,
            self.chosen,
            self.chosen_costs,
            self.taken,
            self.total,
            self.heap,
            self.waiting,
            self.per_item,
        ) = saved

    def run(self, limit: int, *, capped: bool) -> None:
        """Add the best lines that fit ``limit`` tokens in all (and, ``capped``, each section's
        share of the budget); the last line that does not fit whole may be cut to fit.

        A popped line that cannot fit is set aside before its worth is brought up to date, and
        goes back on the heap when the run ends: what is chosen only adds to the totals (a
        section's heading is paid by its first line), so a line that does not fit now never
        will in this run, and setting it aside now or later leaves the other lines' order as
        it was."""
        cands, costs, taken, names = self.cands, self.costs, self.taken, self.names
        used, heading_cost, budget = self.used, self.heading_cost, self.budget
        caps = {name: _SHARES[name] * budget for name in heading_cost}
        total = self.total
        worth = self.worth
        heap = self.heap
        aside: list[tuple[float, int]] = []
        pop, push = heapq.heappop, heapq.heappush
        # the cheapest line left: once the room is below it and too small for a cut, no line
        # can come in, and the run ends without popping the rest (found when the room first
        # gets that small: most runs end before)
        least = -1
        while heap:
            if limit - total - 1 < MIN_CUT_TOKENS:
                if least < 0:
                    least = min([costs[i] for _, i in heap], default=0)
                if limit - total < least:
                    break
            entry = pop(heap)
            negative, i = entry
            if taken[i]:
                continue
            need = self.needs[i] if i < len(self.needs) else -1  # (spare lines wait for none)
            if need >= 0 and not taken[need]:
                self.waiting.setdefault(need, []).append(entry)
                continue
            if i in self.restating and names[i] <= self.covered:  # says nothing new now
                self._settle(i)
                continue
            cand = cands[i]
            section = cand.section
            if section in used:
                extra = 0
                spent = used[section]
            else:
                extra = heading_cost[section]
                spent = 0
            cost = costs[i] + extra
            if capped and spent + cost > caps[section]:
                aside.append(entry)
                continue
            room = limit - total - extra
            over = cost > room + extra
            # no cut fits in less than its least, nor keeps half of a line twice the room
            if over and (capped or room - 1 < MIN_CUT_TOKENS or costs[i] > 2 * room):
                aside.append(entry)
                continue
            if names[i]:  # its worth falls as chosen lines name what it names
                current = worth(i)
                if current < -negative - 1e-12:
                    push(heap, (-current, i))
                    continue
            # (checked last, as it costs most: a line that does not fit now is checked when it
            # does, and chosen lines only add to what it may echo)
            if self.echo.echoes(cand, names[i], self.chosen):
                self._settle(i)
                continue
            if over:
                cut = cut_line(cand.text, room - 1, self.count)
                if cut is None:
                    aside.append(entry)
                    continue
                cand = Candidate(section, cand.seq, cand.score, cut, None, about=cand.about)
                cost = self.count(cut) + 1 + extra
            self._drop_opened(cand)
            self._take(i, cand, cost)
            total = self.total
        if len(aside) * 8 < len(heap):  # a few: pushed back (else the heap made again)
            for entry in aside:
                push(heap, entry)
        else:
            heap.extend(aside)
            heapq.heapify(heap)


#: What :meth:`_Greedy.snapshot` saves: covered names, section use, chosen lines and their costs,
#: taken flags, total, heap, waiting lines, chosen lines per item.
_Saved = tuple[
    set[str],
    dict[str, int],
    list[Candidate],
    list[int],
    list[bool],
    int,
    list[tuple[float, int]],
    dict[int, list[tuple[float, int]]],
    dict[tuple[str, int], list[Candidate]],
]


def _in_order(lines: list[Candidate]) -> list[Candidate]:
    """A section's lines in session order, but a file's together: each line about one file
    (``Candidate.about``) is written with that file's others, where the first of them falls
    (a reader taking over reads a file's story at once, not spread between other files')."""
    starts: dict[str, float] = {}
    for cand in lines:
        if cand.about is not None and cand.seq < starts.get(cand.about, cand.seq + 1):
            starts[cand.about] = cand.seq
    return sorted(
        lines,
        key=lambda c: (c.seq if c.about is None else starts[c.about], c.about or "", c.seq, c.text),
    )


def _render(chosen: list[Candidate]) -> tuple[str, dict[str, str]]:
    by_section: dict[str, list[Candidate]] = {}
    for cand in chosen:
        by_section.setdefault(cand.section, []).append(cand)
    blocks: list[str] = []
    sections: dict[str, str] = {}
    for name, _, _ in SECTIONS:
        lines = _in_order(by_section.get(name, []))
        if not lines:
            continue
        body = "\n".join(
            c.lead
            if c.lead is not None and (n == 0 or int(lines[n - 1].seq) != int(c.seq))
            else c.text
            for n, c in enumerate(lines)
        )
        sections[name] = body
        blocks.append(f"{_heading(name)}\n{body}")
    return "\n\n".join(blocks), sections


__all__ = ["KERNEL_USERS", "SECTIONS", "SessionDigest", "session_digest", "session_digests"]
