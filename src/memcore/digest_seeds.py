"""What a digest chooses before its greedy weighs anything (:class:`memcore.digest_greedy.Greedy`):
the lines a next session starts from, which as long lines would lose to short ones by worth per
token: the latest request not answered yet (or the agent's closing question), what was under
way when the session stopped, a failure the user reported not seen fixed, the state the work was
left in, and the session's topic line. Each is said whole if it fits its share of the budget,
else cut to it.
"""

from __future__ import annotations

import re

from memcore.digest_cut import MIN_TOPIC_WORDS, cut_line
from memcore.digest_greedy import Greedy
from memcore.digest_lines import CLOSING_QUESTION, LATEST_OPEN, UNDER_WAY, Candidate
from memcore.digest_pool import SECTION_SHARES
from memcore.digest_reports import UNMET_REPORT
from memcore.digest_state import END_STATE
from memcore.lazy_re import lazy_compile

#: The share of the budget the latest request not answered yet may take whole when it is seeded
#: (more than "Still open"'s share: a request of a few lines is worth saying whole).
OPEN_SEED_SHARE = 0.25
#: The share of the budget the line of what was under way may take whole when it is seeded.
UNDER_WAY_SEED_SHARE = 0.15
#: The share of the budget the line of the state the work was left in may take when seeded.
END_STATE_SEED_SHARE = 0.15
#: The tokens it may take in a short digest, up to a share of it: the state a session left is
#: what its briefest account must still say (the 150-token digests lost it half the time).
END_STATE_ROOM = 45
END_STATE_MOST_SHARE = 0.3
#: A path of three folders or more, as a request writes it ("@libs/a/b/c/x.ts"); not a URL's
#: (".../actions/runs/22181848464" had become "https://22181848464").
_LONG_PATH = lazy_compile(r"(?<![\w/:.@-])@?(?:[\w.-]+/){3,}([\w.-]+)")


def _file_name(match: re.Match[str]) -> str:
    return match.group(1)


#: A URL with more than one part to its path (``https://github.com/o/r/actions/runs/2218``).
_LONG_URL = lazy_compile(r"\bhttps?://([\w.-]+)/(?:[^\s/]+/)+([^\s/]+)")


def _url_ends(match: re.Match[str]) -> str:
    """A long URL said by its host and its last part (``github.com/\u2026/2218``)."""
    return f"{match.group(1)}/\u2026/{match.group(2)}"


def seed_open(greedy: Greedy) -> None:
    """Choose the latest request not answered yet before anything else, or else the question
    the agent ended the session on: it is what the next session takes up, and as a long
    line it would lose to short ones by worth per token (whole if it fits the open
    section's share of the budget, else cut to it); then what was under way when the
    session stopped mid-turn, and a failure the user reported not seen fixed since (each
    whole if it fits the section's share, else cut to it)."""
    for opening in (LATEST_OPEN, CLOSING_QUESTION):  # (a request first, else the question)
        chosen = _open_line(greedy, opening)
        if chosen is not None:
            _seed(greedy, chosen, OPEN_SEED_SHARE, own_words=opening == LATEST_OPEN)
            break
    # and where the agent had got to in a session cut off mid-turn: as a long line it too
    # would lose to short ones, and it is what the next session starts from
    _seed(greedy, _open_line(greedy, UNDER_WAY), UNDER_WAY_SEED_SHARE, own_words=False)
    # and a failure the user reported that nothing since was seen to fix (the next
    # session's problem: a long line too)
    _seed(greedy, _open_line(greedy, UNMET_REPORT), UNDER_WAY_SEED_SHARE, own_words=False)
    # and the state the work was left in (checked? committed?): a line of the same length
    # (at least END_STATE_ROOM tokens in a short digest: most state lines need 25-45)
    room = END_STATE_ROOM / max(1, greedy.budget)
    share = max(END_STATE_SEED_SHARE, min(END_STATE_MOST_SHARE, room))
    _seed(greedy, _open_line(greedy, END_STATE), share)


def _open_line(greedy: Greedy, opening: str) -> int | None:
    """The first line of "Still open" that starts with ``opening`` and is not taken."""
    first = (
        i
        for i, c in enumerate(greedy.cands)
        if c.section == "open" and c.text.startswith(opening) and not greedy.taken[i]
    )
    return next(first, None)


def seed_topic(greedy: Greedy) -> None:
    """Choose the session's topic line first, whole if it fits its
    section's share of the budget, else cut to it (keeping at least ``MIN_TOPIC_WORDS``)."""
    _seed(
        greedy,
        next((i for i, c in enumerate(greedy.cands) if c.topic and not greedy.taken[i]), None),
    )


def _seed(greedy: Greedy, i: int | None, share: float = 0.0, *, own_words: bool = True) -> None:
    """Choose line ``i`` now, whole if it fits its section's share of the budget (or
    ``share``, when larger), else cut to it: a cut of the user's words (``own_words``) keeps
    what it can of them; a cut of the agent's is held to ``cut_line``'s rules, since "Under
    way when the session stopped: Now I'll rewrite the entire…" tells a next session
    nothing and takes the room of a line that does."""
    if i is None:
        return
    cand = greedy.cands[i]
    heading = greedy.heading_cost[cand.section]
    room = int(greedy.budget * max(SECTION_SHARES[cand.section], share)) - heading
    cost = greedy.costs[i]
    if cost > room and cand.short is not None:  # (its shorter form, whole, or nothing)
        cand = Candidate(cand.section, cand.seq, cand.score, cand.short, None, about=cand.about)
        cost = greedy.count(cand.text) + 1
        if cost > room:
            greedy.settle(i)  # (never said cut: a state line cut reads unfinished)
            return
        greedy.cut_from[id(cand)] = (cand, i)  # (room left at the end gives it back whole)
    elif cost > room:
        cut = (
            cut_line(
                cand.text,
                room - 1,
                greedy.count,
                min_words=MIN_TOPIC_WORDS,
                min_share=0.0,
                names_kept=False,  # (what was asked first, in its own words)
            )
            if own_words
            else cut_line(cand.text, room - 1, greedy.count)
        )
        if cut is None and own_words and "/" in cand.text:
            # (a request that opens on a long path, "in @libs/a/b/.../x.component.ts
            # dialog when ...": its first words held no room for the rest; its file by
            # name, and a long URL by its host and its last part)
            named = _LONG_PATH.sub(_file_name, _LONG_URL.sub(_url_ends, cand.text))
            if named != cand.text:
                cut = cut_line(
                    named, room - 1, greedy.count, min_words=MIN_TOPIC_WORDS, min_share=0.0,
                    names_kept=False,
                )  # fmt: skip
        if cut is None:
            return
        cand = Candidate(cand.section, cand.seq, cand.score, cut, None, about=cand.about)
        cost = greedy.count(cut) + 1
        greedy.cut_from[id(cand)] = (cand, i)
    greedy.take(i, cand, cost + heading)


__all__ = [
    "END_STATE_MOST_SHARE",
    "END_STATE_ROOM",
    "END_STATE_SEED_SHARE",
    "OPEN_SEED_SHARE",
    "UNDER_WAY_SEED_SHARE",
    "seed_open",
    "seed_topic",
]
