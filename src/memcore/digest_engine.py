"""The digest's rules run in order: the candidate lines of a session's items, then the greedy's
choice at each budget (the selector and the public API are :mod:`memcore.digest`).

This module and the ``digest_*`` modules it calls are the pure-Python source of the digest's
rules. A compiled build also compiles them, unchanged, with mypyc into
``memcore._native.digest_rules`` (see ``setup.py``): :func:`memcore.digest.engine` picks that
twin when the compiled kernels are in use, and the tests hold the two to the same bytes.
"""

from __future__ import annotations

from datetime import datetime

from memcore.claude_code.compaction import is_compaction_summary
from memcore.digest import SessionDigest
from memcore.digest_asked import summary_request_words
from memcore.digest_cut import MIN_CUT_TOKENS, cut_line
from memcore.digest_greedy import Greedy, is_brief
from memcore.digest_lines import (
    Candidate,
    branch_line,
    build_candidates,
    title_line,
)
from memcore.digest_pool import SECTIONS, Lines, heading, prepare_lines, unique_lines
from memcore.digest_seeds import seed_open, seed_topic
from memcore.digest_spare import spare_lines
from memcore.digest_state import end_state
from memcore.digest_undone import undone_edits
from memcore.digest_work import changed_files, session_root
from memcore.model import MemoryItem
from memcore.tokens import TokenCounter

#: The section of the commands run and the tools called (a page fetched, a call with no
#: result): its spare lines are what a brief whose every line that matters was said takes.
_ACTS = frozenset({"commands"})
#: The tokens a digest's lines are priced at (``Lines.costs``, ``Lines.heading_cost``) that
#: its whole does not write: its first heading's blank line and its last line's newline.
_UNWRITTEN = 2
#: Refill rounds after the first fit, and the least slack (tokens) worth a round.
_REFILL_ROUNDS = 6
_MIN_REFILL = 3


def _session_order(item: MemoryItem) -> tuple[datetime, bool, str]:
    """Where an item comes in the session: by its time, and a tool's result after the other
    items of the same millisecond (its call among them: a failed edit taken back before its
    call was counted left the edit counted), then by id, so any order of the same items gives
    the same digest."""
    meta = item.metadata
    result = meta.get("kind") in ("tool_result", "error") and bool(meta.get("tool_use_id"))
    return item.created_at, result, item.id


def digests(
    items: list[MemoryItem], budgets: list[int], count: TokenCounter, ongoing: bool
) -> list[SessionDigest]:
    """``memcore.digest.session_digests`` of ``items`` (coerced) at each of ``budgets``
    (checked), counting with ``count``."""
    ordered = sorted(items, key=_session_order)
    cut = _last_compaction(ordered)
    root = session_root(ordered)  # one name per file on both sides of a compaction
    # (a summary of another shape, with no request section: the requests before it are said)
    asked_before = cut > 0 and not summary_request_words(ordered[cut])
    # the lines of the items a compaction summarized wait for room left (``Lines.held``), so
    # they are built only when a digest first has room for them, unless they include requests
    # the summary does not say (``asked_before``: those compete from the start)
    lazy = cut > 0 and not asked_before
    candidates = _candidates(ordered, cut, root, ongoing, asked_before, earlier=not lazy)
    lines = prepare_lines(unique_lines(candidates), count, cut, asked_before)
    held = _HeldTiers(ordered, root, {c.text for c in lines.cands}, count) if lazy else None
    spare: list[Candidate] | None = None  # made when a digest first has room for them
    musing: list[Candidate] | None = None  # thinking's spare lines: the last to fill room
    digests = []
    for budget in budgets:
        greedy = Greedy(lines, budget, count)
        spare_too = not is_brief(budget)  # (a brief's room takes no spare line: see below)
        seed_open(greedy)
        # what the session was about first, at every size: its topic line (its first request,
        # or what a compaction summary says was asked), cut to the share of "What was asked"
        # when longer. Lines worth more per token priced a long first request out of short
        # digests, and out of a compaction-sized one its primary request, which Claude's own
        # summaries always keep (seeded at every size: 0.7874 to 0.7903 identifiers on half A)
        seed_topic(greedy)
        greedy.run(budget, capped=True)
        greedy.run(budget, capped=False)
        if greedy.stop_waiting():  # (a request's line that never fit: its lines say whose)
            greedy.run(budget, capped=False)
        text, sections, tokens = _fill(greedy, budget, count)
        if budget - tokens >= max(MIN_CUT_TOKENS, budget // 50):
            newest = None if held is None else held.tier(0)
            if newest is not None:
                greedy.hold(newest)
            # (a brief's room takes no spare line: in its few tokens left that was the shortest
            # of them, out of its context: "There are two instances.", "The code read in
            # `app.js` calls `parseInt()`."; they kept no more of Claude's identifiers at 150,
            # 300 or 500 tokens on the development compactions)
            if spare_too and spare is None:
                spare = _since(spare_lines(ordered[cut:], root), cut)
            if greedy.release_spare((spare or []) if spare_too else [], spare=spare_too):
                # every line that matters had its chance: room left takes spare lines
                text, sections, tokens = _fill(greedy, budget, count, start=tokens)
            tier = 1  # then the items the compactions before summarized, newest first
            while held is not None and budget - tokens >= max(MIN_CUT_TOKENS, budget // 50):
                older = held.tier(tier)
                if older is None:
                    break
                greedy.hold(older)
                if greedy.release_spare([], spare=spare_too):
                    text, sections, tokens = _fill(greedy, budget, count, start=tokens)
                tier += 1
        # a brief keeps its room from spare lines while a line that matters is left out, but
        # not always: one that says nothing yet takes any spare line (a session of tool calls
        # alone, or of records of other kinds, gave no brief at all: a call with no result,
        # `git status`, a page fetched are spare lines), and one that said every line that
        # matters, whole, takes the commands' and calls' (no other line says them; a file's
        # spare lines and plain prose would add to what is said, out of its context)
        if not spare_too and budget - tokens >= MIN_CUT_TOKENS:
            acts = bool(greedy.chosen) and greedy.exhausted()
            if acts:  # (the lines that matter made whole first)
                text, sections, tokens = _made_whole(greedy, budget, count, text, sections, tokens)
                acts = not greedy.cut_lines() and budget - tokens >= MIN_CUT_TOKENS
            if acts or not greedy.chosen:
                if spare is None:
                    spare = _since(spare_lines(ordered[cut:], root), cut)
                spare_too = not acts  # (and then the thinking's prose: see below)
                more = [c for c in spare if c.section in _ACTS] if acts else spare
                if greedy.release_spare(more, sections=_ACTS if acts else None):
                    text, sections, tokens = _fill(greedy, budget, count, start=tokens)
        # still room: the thinking's plain prose too (not in a brief)
        if spare_too and budget - tokens >= max(MIN_CUT_TOKENS, budget // 50):
            if musing is None:
                musing = _since(spare_lines(ordered[cut:], root, thinking=True), cut)
            if greedy.release_spare(musing):
                text, sections, tokens = _fill(greedy, budget, count, start=tokens)
        if budget - tokens >= MIN_CUT_TOKENS:  # room left at the end: cut lines made whole
            text, sections, tokens = _made_whole(greedy, budget, count, text, sections, tokens)
        chosen = greedy.chosen
        while tokens > budget and chosen:  # the whole may count more than its parts
            chosen.remove(min(chosen, key=lambda c: (c.score, -c.seq, c.section)))
            text, sections = _render(chosen)
            tokens = count(text)
        if not chosen and budget >= MIN_CUT_TOKENS:
            lone = _lone_line(greedy, budget, count)
            if lone is not None:
                text, sections, tokens = lone
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
    # (``_make`` of the fields: a named tuple's ``_replace`` takes twice as long, and a
    # digest of a compacted session moves every line of its later part)
    make = Candidate._make
    return [make((c[0], c[1] + cut, *c[2:])) for c in lines]


def _candidates(
    ordered: list[MemoryItem],
    cut: int,
    root: str | None,
    ongoing: bool = False,
    asked_before: bool = False,
    *,
    earlier: bool = True,
) -> list[Candidate]:
    """The candidate lines of ``ordered``, whose last compaction summary is at ``cut`` (0:
    none), naming files relative to ``root``; after a compaction, the lines of the items it
    summarized (``seq`` below ``cut``) are held back as spare lines (see ``Lines.held``).

    A compaction summary (Claude Code's own, imported as a ``summary`` item marked
    ``compaction``) is a strong model's account of everything before it, and all the agent
    knew from then on: the lines of the earlier items are said only when the summary and the
    work since have had their chance, and their thinking, their plain prose and their records'
    own words (:func:`spare_lines`) are not said at all. The summary speaks for them, and the
    agent no longer sees them: of the 23 development sessions' digests, none of up to 2,000
    tokens changed without them and four of 4,000 changed a few lines, while on a session
    compacted twice building them took most of the digest's time. Their "still open" lines are
    dropped: what was open then is what the summary says, not what the earlier items left.
    With ``asked_before`` (the summary has no request section), the earlier items' requests
    are said as asked, the last one too (see ``prepare_lines``). Without ``earlier``, the
    earlier items' lines are left out (``_earlier`` makes them when they are needed) but the
    line of the user's last request, which competes from the start (``_last_request``)."""
    titled = [line for line in (title_line(ordered), branch_line(ordered)) if line is not None]
    # the whole session's undone edits, worked out once: the state line's and, with no
    # compaction, the other lines' too
    undone: frozenset[str] | None = None if ongoing else undone_edits(ordered)
    if not ongoing:  # (the whole session's: a commit after a compaction covers edits before it)
        titled += end_state(ordered, root, undone)
    if cut == 0:
        return titled + build_candidates(ordered, root, ongoing=ongoing, undone=undone)
    before, after = ordered[:cut], ordered[cut:]
    later = build_candidates(
        after, root, ongoing=ongoing, changed_elsewhere=changed_files(before, root), part="after"
    )
    if earlier:
        held = _earlier(ordered, cut, root, asked_before)
    else:  # (the rest held back: ``_HeldTiers``)
        held = _last_request(ordered, cut, root)
    return titled + held + _since(later, cut)


def _last_request(ordered: list[MemoryItem], cut: int, root: str | None) -> list[Candidate]:
    """The line of the user's last request before the compaction summary at ``cut``, which
    competes from the start while the other lines of the items before it are held back: the
    work the summary was cut in the middle of was for it, and a compaction-sized summary
    often says it only as one among all the user's messages (kept out of its statements)."""
    at = next((i for i in range(cut - 1, -1, -1) if _is_request(ordered[i])), None)
    if at is None:
        return []
    made = build_candidates([ordered[at]], root, thinking=False, part="before", continued=True)
    return [
        c._replace(seq=at + (c.seq - int(c.seq)), topic=False, early=True)
        for c in made
        if c.section == "asked"
    ]


def _earlier(
    ordered: list[MemoryItem], cut: int, root: str | None, continued: bool, start: int = 0
) -> list[Candidate]:
    """The lines of the items from ``start`` to the compaction summary at ``cut`` (see
    ``_candidates``), placed in the whole session; with ``continued``, their last request is
    said as asked (see ``build_candidates``)."""
    part, rest = ordered[start:cut], ordered[:start] + ordered[cut:]
    earlier = build_candidates(
        part,
        root,
        thinking=False,
        changed_elsewhere=changed_files(rest, root),
        part="before",
        continued=continued,
    )
    return _since([c for c in earlier if c.section != "open"], start)


class _HeldTiers:
    """The lines of the items the compactions summarized, held back and built only when a
    digest first has room for them, in tiers: the items between the last two compaction
    summaries first, then those between the two before, and so on (each summary speaks for
    the items before it, as the last one does for all). A line a later tier or the work since
    gave already is not given again."""

    def __init__(
        self, ordered: list[MemoryItem], root: str | None, known: set[str], count: TokenCounter
    ) -> None:
        cuts = [i for i, item in enumerate(ordered) if is_compaction_summary(item.metadata)]
        self.bounds = list(zip([0, *cuts[:-1]], cuts, strict=True))[::-1]  # newest first
        self.ordered, self.root, self.known, self.count = ordered, root, known, count
        self.built: list[Lines] = []

    def tier(self, k: int) -> Lines | None:
        """Tier ``k`` (0: the newest), built if it was not yet; None past the oldest. The
        newest tier also carries the requests of the older ones (``_older_requests``)."""
        while len(self.built) <= k < len(self.bounds):
            start, cut = self.bounds[len(self.built)]
            # (an older tier's last request was answered, if at all, in the items after it:
            # said as asked, as it was when the items before the last summary were one part)
            lines = _earlier(self.ordered, cut, self.root, bool(self.built), start)
            if not self.built:
                lines += self._older_requests()
            fresh = [c for c in unique_lines(lines) if c.text not in self.known]
            self.known.update(c.text for c in fresh)
            self.built.append(prepare_lines(fresh, self.count, cut))
        return self.built[k] if k < len(self.built) else None

    def _older_requests(self) -> list[Candidate]:
        """The user's requests in the tiers older than the newest, as their tiers say them
        (each summary says what was asked of the part it summarized, in a few words): they
        compete with the newest tier's lines, where waiting for their own tier's turn left
        them out of any digest the newest tier fills. Made from the requests alone (a tier's
        other lines wait for it)."""
        out: list[Candidate] = []
        for start, cut in self.bounds[1:]:
            at = [i for i in range(start, cut) if _is_request(self.ordered[i])]
            if not at:
                continue
            made = build_candidates(
                [self.ordered[i] for i in at],
                self.root,
                thinking=False,
                part="before",
                continued=True,
            )
            out.extend(
                c._replace(seq=at[int(c.seq)] + (c.seq - int(c.seq)), topic=False)
                for c in made
                if c.section == "asked" and 0 <= c.seq < len(at)
            )
        return out


def _is_request(item: MemoryItem) -> bool:
    """Whether ``item`` is one of the user's requests (as the importer files them)."""
    meta = item.metadata
    return meta.get("kind") == "task" and not meta.get("sidechain") and meta.get("source") != "mcp"


def _fill(
    greedy: Greedy, budget: int, count: TokenCounter, start: int = 0
) -> tuple[str, dict[str, str], int]:
    """Render what the greedy chose and give it the tokens the whole really left.

    Lines are priced alone (plus a newline); written together they often count less, so the
    greedy stops short of the budget. Each round continues it with that slack added to its
    limit and is kept only if the whole still fits (a round that overshoots is undone and
    retried with half the slack)."""
    saved = greedy.snapshot() if start else None
    if start:  # (lines let go since ``start`` was counted: with the slack the whole left)
        greedy.run(greedy.total + budget - start, capped=False)
    text, sections = _render(greedy.chosen)
    tokens = count(text)
    if saved is not None and tokens > budget:  # (it overshot: undone, then refilled below)
        greedy.restore(saved)
        text, sections = _render(greedy.chosen)
        tokens = count(text)
    # (nothing chosen: its first section's heading and last line were priced with the
    # newlines the whole does not have, which no slack counted from the whole gives back)
    limit, step = (greedy.total, budget - tokens) if greedy.chosen else (_UNWRITTEN, budget)
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


def _made_whole(
    greedy: Greedy,
    budget: int,
    count: TokenCounter,
    text: str,
    sections: dict[str, str],
    tokens: int,
) -> tuple[str, dict[str, str], int]:
    """The digest with each line that was cut to fit written whole again, best first, where the
    room left at the end takes it (a cut sentence that the room could hold reads as what it
    says only in part)."""
    for n, whole in greedy.cut_lines():
        if budget - tokens < MIN_CUT_TOKENS:
            break
        trial = [*greedy.chosen[:n], whole, *greedy.chosen[n + 1 :]]
        more_text, more_sections = _render(trial)
        more = count(more_text)
        if more <= budget:
            greedy.make_whole(n, whole)
            text, sections, tokens = more_text, more_sections, more
    return text, sections, tokens


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


def _goes_on(lines: list[Candidate], n: int) -> bool:
    """Whether line ``n`` follows a line of its own item (and file): then it is said as going
    on from it (``Candidate.text``), else by its ``lead``."""
    if n == 0:
        return False
    before, line = lines[n - 1], lines[n]
    return int(before.seq) == int(line.seq) and before.about == line.about


def _lone_line(
    greedy: Greedy, budget: int, count: TokenCounter
) -> tuple[str, dict[str, str], int] | None:
    """A digest that chose nothing, its one line cut to the whole budget: the session's topic
    (else its best line), whose cut was held to its section's share of the budget (a session
    of one long request said nothing at 50 tokens). None: not even that fits."""
    if not greedy.cands:
        return None
    best = min(
        range(len(greedy.cands)),
        key=lambda i: (not greedy.cands[i].topic, -greedy.cands[i].score, i),
    )
    cand = greedy.cands[best]
    room = budget - greedy.heading_cost[cand.section] - 1
    own_words = cand.topic or cand.section == "asked"  # (the user's words: cut where they may)
    cut = cut_line(cand.text, room, count, min_share=0.0, names_kept=not own_words)
    if cut is None:
        return None
    text, sections = _render([cand._replace(text=cut, lead=None, short=None)])
    tokens = count(text)
    return (text, sections, tokens) if tokens <= budget else None


#: How the marks of what the user said next start (``digest_reports.CONTRADICTED`` and its
#: kin): ' (then the user: "no, we removed those on purpose")'.
_MARK_START = " (then the user"


def _marked_once(lines: list[Candidate], said: list[str]) -> list[str]:
    """``said`` (the texts of ``lines``, one section's, in order) with the mark of what the user
    said next left on the last line of each run of one item's lines that end with it: four
    findings of one reply, each followed by the user's same words, read as four replies."""
    out = list(said)
    for n in range(len(out) - 1):
        text, after = out[n], out[n + 1]
        at = text.rfind(_MARK_START)
        if (
            at > 0
            and text.endswith(")")
            and int(lines[n].seq) == int(lines[n + 1].seq)
            and after.endswith(text[at:])
        ):
            out[n] = text[:at]
    return out


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
        said = [
            c.lead if c.lead is not None and not _goes_on(lines, n) else c.text
            for n, c in enumerate(lines)
        ]
        if name == "decisions":
            said = _marked_once(lines, said)
        body = "\n".join(said)
        sections[name] = body
        blocks.append(f"{heading(name)}\n{body}")
    return "\n\n".join(blocks), sections


__all__ = ["digests"]
