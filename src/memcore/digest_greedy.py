"""How a digest chooses its lines within a budget: what a line is worth per token, and the lazy
greedy that picks the best lines (whole, or cut to fit the room left), run again with more room
as the whole text is counted (:mod:`memcore.digest`). The lines it chooses among, and the
sections' shares, are :mod:`memcore.digest_pool`'s; the lines chosen before it weighs anything
(the latest request, the state the work was left in, the topic) :mod:`memcore.digest_seeds`'s.
"""

from __future__ import annotations

import heapq

from memcore.claude_code.titles import BRANCH_LEAD
from memcore.digest_commands import says_more
from memcore.digest_cut import (
    MIN_CUT_TOKENS,
    MIN_STATEMENT_CUT_WORDS,
    MIN_TOPIC_WORDS,
    cut_line,
)
from memcore.digest_echo import EchoIndex
from memcore.digest_lines import (
    Candidate,
    line_identifiers,
)
from memcore.digest_pool import SECTION_ORDER, SECTION_SHARES, Lines, unique_lines
from memcore.tokens import TokenCounter

#: What each exact name (code span, path, called name) a line adds to the digest is worth, and
#: how a line's worth is divided by its cost (tokens ** exponent): names per token win.
NEW_NAME_WEIGHT = 0.5
#: Under this many tokens a name weighs more, in inverse proportion to the budget (twice at
#: 300), up to ``NAMES_MOST`` times, and a result naming nothing as much less: a short digest
#: is an earlier session's brief at the next one's start, where what the work changed, by name,
#: says more than a second request or "All tests pass". Claude's identifiers kept on the 11
#: compactions' parts went from 0.085 to 0.102 at 150 tokens and 0.191 to 0.217 at 300 with the
#: names' weight (the tail's: 0.102, 0.189), to 0.111 and 0.253 with the results' (0.351 at 500,
#: from 0.341).
NAMES_BUDGET = 600
#: ... reached at 200 tokens. Four times (at 150) kept 0.107 at 150 but priced what was asked and
#: what is open out of digests of 60 tokens, where they are most of what there is room for.
NAMES_MOST = 3.0
#: The sections of results, whose lines naming nothing weigh less as names weigh more.
_RESULT_SECTIONS = frozenset({"decisions", "notes"})
COST_EXPONENT = 1.0
#: A line naming only what chosen lines already name keeps this share of its worth.
REPEAT_FACTOR = 0.5


def is_brief(budget: int) -> bool:
    """Whether a digest of ``budget`` tokens is a brief (under ``NAMES_BUDGET``: what session
    start says of an earlier session): a name weighs more in it, and its room left takes no
    spare line (:mod:`memcore.digest`)."""
    return budget < NAMES_BUDGET


#: The sections of a command's line and its error's (see ``Greedy.repeats``).
_ONE_FAILURE = frozenset(["commands", "errors"])


#: The shortest chosen line of another item that a line opening with it leaves out.
_OPENED_CHARS = 40


class Greedy:
    """Lazy greedy: the best line by (score + names it adds that no chosen line has yet) per
    token, first within each section's share, then anywhere; a line's worth only falls as
    others are chosen, so a popped line whose worth is still current is the best one. It can
    be run again with a larger limit, continuing where it stopped: the heap of the lines not
    chosen is kept between runs (their worths there are upper bounds, which is all a lazy greedy
    needs), so a run does not weigh every line again."""

    def __init__(self, lines: Lines, budget: int, count: TokenCounter) -> None:
        cands, costs, names, self.heading_cost, echo_texts, held, self.needs = lines
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
        self.taken = list(held)  # spare lines wait for release_spare
        self.restating: set[int] = set()  # records' own words (see release_spare)
        #: the lines held back and not let go yet (``release_spare`` lets them go)
        self.pending = [i for i, waits in enumerate(held) if waits]
        self.echo = EchoIndex(echo_texts)  # a line said again in other words is left out
        #: heap entries of lines waiting for a line not chosen yet (``Lines.needs``), by it
        self.waiting: dict[int, list[tuple[float, int]]] = {}
        self.woke = False  # whether lines came back to the heap from ``waiting``
        #: for each command whose one run failed (``Candidate.failed_once``), the line its
        #: error's line makes a repeat of once chosen: its command's line ("`x` ran once and
        #: failed"); and the error's, once the command's is chosen, when the error's says
        #: nothing more (``says_more``: a fix, the agent's verdict)
        self.repeats: dict[int, int] = {}
        pairs: dict[str, list[int]] = {}
        for i, cand in enumerate(self.cands):
            if cand.failed_once is not None:
                pairs.setdefault(cand.failed_once, []).append(i)
        for pair in pairs.values():  # (errors of a command run more than once are their own)
            if len(pair) == 2 and {self.cands[i].section for i in pair} == _ONE_FAILURE:
                command, error = sorted(pair, key=lambda i: self.cands[i].section != "commands")
                self.repeats[error] = command
                if not says_more(self.cands[error].text):
                    self.repeats[command] = error
        #: the lines chosen cut, by the id of the cut line: the line (held, so that its id is
        #: not another's while it is here) and the index of its whole line
        self.cut_from: dict[int, tuple[Candidate, int]] = {}
        self.total = 0
        self.scores = [c.score for c in self.cands]
        #: what each new name a line adds is worth at this size (see ``NAMES_BUDGET``)
        lift = min(NAMES_MOST, max(1.0, NAMES_BUDGET / max(1, budget)))
        self.name_weight = NEW_NAME_WEIGHT * lift
        # and a result that names nothing ("All tests pass", "The export is working") weighs as
        # much less: a brief's room goes to what changed, by name (what was asked and what is
        # open keep their worth: they name little, and the brief says them first)
        if lift > 1.0:
            self.scores = [
                score / lift if not names and cand.section in _RESULT_SECTIONS else score
                for score, names, cand in zip(self.scores, self.names, self.cands, strict=True)
            ]
        #: what a line's worth is divided by
        self.prices: list[float] = [float(cost) ** COST_EXPONENT for cost in self.costs]
        #: (-worth, index) of every line not chosen (worths as of when pushed: upper bounds)
        # nothing is covered yet: a line's worth is its score and all its names, per its price
        self.heap: list[tuple[float, int]] = [
            (-((score + self.name_weight * len(names)) / price), i)
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
        gain = self.scores[i] + self.name_weight * new
        if not new:  # says again what chosen lines already name
            gain *= REPEAT_FACTOR
        return gain / self.prices[i]

    def exhausted(self) -> bool:
        return all(self.taken)

    def take(self, i: int, cand: Candidate, cost: int) -> None:
        """Choose line ``i`` as ``cand`` (it, or it cut), at ``cost`` tokens with its
        section's heading when it is the section's first line."""
        section = cand.section
        self.settle(i)
        other = self.repeats.get(i)
        if other is not None and not self.taken[other]:  # (the same failure said: no repeat)
            self.settle(other)
        elif other is not None and other in self.pending:  # (held back: never let go now)
            self.pending.remove(other)
        self.chosen.append(cand)
        self.per_item.setdefault((section, int(cand.seq)), []).append(cand)
        self.chosen_costs.append(cost - (0 if section in self.used else self.heading_cost[section]))
        self.covered.update(self.names[i])
        self.used[section] = self.used.get(section, 0) + cost
        self.total += cost

    def settle(self, i: int) -> None:
        """Mark line ``i`` taken (chosen or left out for good): the lines waiting for it may
        be chosen now."""
        self.taken[i] = True
        self._wake(self.waiting.pop(i, []))

    def stop_waiting(self) -> bool:
        """Let the lines still waiting for a line not chosen be chosen without it (each then
        says whose it is: ``Candidate.lead``); False when none waits."""
        woken = [entry for entries in self.waiting.values() for entry in entries]
        self.waiting = {}
        self.needs = [-1] * len(self.needs)
        self._wake(woken)
        return bool(woken)

    def _wake(self, entries: list[tuple[float, int]]) -> None:
        """Put waiting lines' heap ``entries`` back on the heap."""
        for entry in entries:
            heapq.heappush(self.heap, entry)
        if entries:
            self.woke = True  # (the cheapest line left may be one of them: see ``run``)

    def _drop_opened(self, cand: Candidate) -> None:
        """Leave out a chosen line of ``cand``'s item that ``cand`` opens with, whole ("Fixed
        the session logic (`h.go`)" before "Fixed the session logic (`h.go`): removed the
        blocking check"): ``cand`` says it again, and more. Of another item of its section, a
        whole sentence of at least ``_OPENED_CHARS`` (a reply's final wording of what a draft
        said at more length: "Effect: the loop can exit early." before "Effect: the loop can
        exit early — the exact bug this PR fixes")."""
        text = cand.text
        item = (cand.section, int(cand.seq))
        for other in self.per_item.get(item, ()):  # (most items have no line chosen yet)
            if len(other.text) < len(text) and text.startswith(other.text.rstrip(".\u2026")):
                self._unchoose(other)
                return
        for other in self.chosen:
            said = other.text
            if (
                other.section == cand.section
                and _OPENED_CHARS <= len(said) < len(text)
                and said[-1:] == "."
                and text.startswith(said[:-1])
                and not text[len(said) - 1].isalnum()
                and (other.section, int(other.seq)) != item
            ):
                self._unchoose(other)
                return

    def _drop_said(self, cand: Candidate) -> None:
        """Leave out the chosen lines of ``cand``'s section that ``cand``, whole, says again
        with more names (``EchoIndex.said_by``): a line said under another, or with lines
        said under it, stays."""
        if cand.text.startswith(_UNDER):
            return
        for text in self.echo.said_by(cand, self.chosen):
            other = next((c for c in self.chosen if c.text == text), None)
            if other is None or other.lead is not None or other.text.startswith(_UNDER):
                continue
            mates = self.per_item.get((other.section, int(other.seq)), [])
            if any(m.text.startswith(_UNDER) for m in mates):
                continue
            self._unchoose(other)

    def _unchoose(self, other: Candidate) -> None:
        """Take ``other`` out of the chosen lines (and its item's), its tokens given back."""
        n = next(n for n, chosen in enumerate(self.chosen) if chosen is other)
        cost = self.chosen_costs[n]
        self.used[other.section] -= cost
        self.total -= cost
        self.chosen = self.chosen[:n] + self.chosen[n + 1 :]  # (a new list: see echo)
        self.chosen_costs = self.chosen_costs[:n] + self.chosen_costs[n + 1 :]
        mates = self.per_item.get((other.section, int(other.seq)))
        if mates is not None and other in mates:
            mates.remove(other)

    def cut_lines(self) -> list[tuple[int, Candidate]]:
        """The chosen lines that were cut to fit, by their place in ``chosen``, with their
        whole line, the best first: room left at the end (a digest that ran out of lines)
        gives them back what the cut took."""
        found = []
        for n, cand in enumerate(self.chosen):
            entry = self.cut_from.get(id(cand))
            if entry is not None and entry[0] is cand:  # (a line undone since is not chosen)
                found.append((n, self.cands[entry[1]]))
        return sorted(found, key=lambda pair: (-pair[1].score, pair[1].seq))

    def make_whole(self, n: int, whole: Candidate) -> None:
        """Put ``whole`` in the place of chosen line ``n`` (a line chosen cut)."""
        cut = self.chosen[n]
        cost = self.count(whole.text) + 1
        extra = cost - self.chosen_costs[n]
        self.chosen = [*self.chosen[:n], whole, *self.chosen[n + 1 :]]  # (a new list: see echo)
        self.chosen_costs = [*self.chosen_costs[:n], cost, *self.chosen_costs[n + 1 :]]
        self.used[whole.section] += extra
        self.total += extra
        mates = self.per_item.get((cut.section, int(cut.seq)), [])
        self.per_item[(cut.section, int(cut.seq))] = [whole if m is cut else m for m in mates]
        del self.cut_from[id(cut)]

    def hold(self, lines: Lines) -> None:
        """Add ``lines`` (made by ``prepare_lines``, all held back) as lines held back: the
        lines of the items a compaction summarized, made only when a digest first has room
        left for them. The next ``release_spare`` lets them go."""
        base = len(self.cands)
        self.pending.extend(range(base, base + len(lines.cands)))
        # (spare lines added since the start wait for none: their places in ``needs`` are -1)
        waits = [-1] * (base - len(self.needs))
        self.needs = [*self.needs, *waits, *(n if n < 0 else n + base for n in lines.needs)]
        self.cands.extend(lines.cands)
        self.costs.extend(lines.costs)
        self.names.extend(lines.names)
        self.scores.extend(c.score for c in lines.cands)
        self.prices.extend(float(cost) ** COST_EXPONENT for cost in lines.costs)
        self.taken.extend([True] * len(lines.cands))

    def release_spare(
        self, more: list[Candidate], *, spare: bool = True, sections: frozenset[str] | None = None
    ) -> bool:
        """Let spare lines (those held back and not let go yet, and ``more``) be chosen from
        now on; False when there are none. A line of ``more`` (a record's own words) that names
        only what chosen lines already name when its turn comes is left out: it restates them
        ("Read `f`: 5 lines." after "`f` was read, not changed"), and a small session would
        otherwise say each thing twice. Without ``spare``, only the held lines that are no
        spare lines (those of the items a compaction summarized) are let go; with
        ``sections``, of the spare lines held, only those of these sections."""
        pending = self.pending  # (held lines are taken until let go)
        if spare and sections is None:
            let_go, self.pending = pending, []
        else:
            cands = self.cands
            go = [
                not cands[i].spare or (spare and cands[i].section in (sections or ()))
                for i in pending
            ]
            let_go = [i for i, free in zip(pending, go, strict=True) if free]
            self.pending = [i for i, free in zip(pending, go, strict=True) if not free]
        for i in let_go:
            self.taken[i] = False
        known = {c.text for c in self.cands}
        added = sorted(
            (c for c in unique_lines(more) if c.text not in known),
            key=lambda c: (SECTION_ORDER[c.section], c.seq, c.text, c.score),
        )
        # (and one that names only what a spare line let go with it names, in its section:
        # "Ran `git status`." beside "`git status` ran once and succeeded: clean.", both spare,
        # said both, the shorter first)
        fuller: dict[tuple[str, str], list[frozenset[str]]] = {}
        for i in let_go:
            if added and self.cands[i].spare:
                for name in self.names[i]:
                    fuller.setdefault((self.cands[i].section, name), []).append(self.names[i])
        for cand in added:
            names = frozenset(line_identifiers(cand.text) if cand.names is None else cand.names)
            if names:
                if names <= self.covered:
                    continue
                said = fuller.get((cand.section, min(names)), ())
                if any(names <= other for other in said):
                    continue
                self.restating.add(len(self.cands))
            self.cands.append(cand)
            self.costs.append(self.count(cand.text) + 1)
            self.scores.append(cand.score)
            self.prices.append(float(self.costs[-1]) ** COST_EXPONENT)
            self.names.append(names)
            self.taken.append(False)
            let_go.append(len(self.cands) - 1)
        if let_go:  # (their worths, then one heapify: the same heap order as pushing each)
            worth = self.worth
            self.heap.extend([(-worth(i), i) for i in let_go])
            heapq.heapify(self.heap)
        return bool(let_go)

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
        caps = {name: SECTION_SHARES[name] * budget for name in heading_cost}
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
                if least < 0 or self.woke:
                    least = min([costs[i] for _, i in heap], default=0)
                    self.woke = False
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
                self.settle(i)
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
                self.settle(i)
                continue
            if over:
                # (the user's words say what was asked with no name; others say it of names, as
                # the branch's line: "The work is on the branch…" says nothing)
                names_kept = section != "asked" or cand.text.startswith(BRANCH_LEAD)
                # (and a request cut keeps as many of its words as a topic's cut: "The user
                # asked: Can we prefill the prompt…" had lost what it asked for)
                said = MIN_TOPIC_WORDS if section == "asked" else MIN_STATEMENT_CUT_WORDS
                # (a line said under another, "  - Rename ...", is cut in the form that says
                # whose it is: cut, it is said alone, and the lines after it go on from it)
                whole = cand.text if cand.lead is None else cand.lead
                cut = cut_line(whole, room - 1, self.count, names_kept=names_kept, min_said=said)
                if cut is None:
                    aside.append(entry)
                    continue
                text, lead = _cut_forms(cand, cut)
                cand = Candidate(section, cand.seq, cand.score, text, lead=lead, about=cand.about)
                cost = self.count(cut) + 1 + extra
                self.cut_from[id(cand)] = (cand, i)
            self._drop_opened(cand)
            if not over and names[i] and section in _RESULT_SECTIONS:
                self._drop_said(cand)
            self.take(i, cand, cost)
            total = self.total
        if len(aside) * 8 < len(heap):  # a few: pushed back (else the heap made again)
            for entry in aside:
                push(heap, entry)
        else:
            heap.extend(aside)
            heapq.heapify(heap)


def _cut_forms(cand: Candidate, cut: str) -> tuple[str, str | None]:
    """A line cut in the form that says whose it is (``cut``, of its ``lead``) as its text and
    lead: when its lead is its text under another name ("- The user asked, in a longer request:
    X" for "  - X"), the cut goes on as an indented line too, for the render to choose as it
    does for a whole one (under its request's line it says "  - X…", alone the lead's words)."""
    lead = cand.lead
    if lead is None or not cand.text.startswith(_UNDER):
        return cut, None
    said = cand.text[len(_UNDER) :]
    start = len(lead) - len(said)
    if start <= 0 or lead[start:] != said or not cut.startswith(lead[:start]):
        return cut, None
    rest = cut[start:]
    return (f"{_UNDER}{rest}", cut) if rest.strip() else (cut, None)


_UNDER = "  - "


#: What :meth:`Greedy.snapshot` saves: covered names, section use, chosen lines and their costs,
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


__all__ = [
    "COST_EXPONENT",
    "NAMES_BUDGET",
    "NAMES_MOST",
    "NEW_NAME_WEIGHT",
    "REPEAT_FACTOR",
    "Greedy",
    "is_brief",
]
