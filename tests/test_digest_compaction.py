"""The digest of a session Claude Code compacted: its summary stands for what came before it, the
items between summaries speak in tiers, a file's work is told by side, and every compaction of a
session is a case of the quality benchmark."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memcore import MemoryItem, session_digest
from tests.claude_code_support import DATA
from tests.digest_support import T0, _agent, _compacted, needs_data
from tests.test_transcript_agent_records import CWD, _Records


def test_after_a_compaction_the_items_it_summarized_speak_only_when_room_is_left() -> None:
    """Claude Code's own summary stands for what came before it; the work since comes first."""
    before = [
        _agent(i, f"The parser now reads `old_{i}.toml` through `load_old_{i}()`.", kind="fact")
        for i in range(12)
    ]
    summary = MemoryItem(
        "sum",
        "The session moved the config loader to `config/loader.py`: `load_config()` replaced "
        "the twelve old loaders.",
        metadata={"source": "claude-code", "kind": "summary", "compaction": True},
        created_at=T0 + timedelta(minutes=20),
    )
    since = [
        _agent(30 + i, f"All tests pass after `fix_{i}()` in `config/loader.py`.", kind="fact")
        for i in range(3)
    ]
    items = [*before, summary, *since]
    tight = session_digest(items, 90).text
    assert "`load_config()`" in tight
    assert "`fix_2()`" in tight
    assert "old_" not in tight
    roomy = session_digest(items, 2000).text
    assert "`load_old_0()`" in roomy  # still said when there is room
    assert roomy.index("load_old_0") < roomy.index("load_config")  # in session order
    # without the summary, the earlier items are ordinary lines
    assert "old_" in session_digest([*before, *since], 90).text


def test_what_a_compaction_summarized_gives_no_thinking_and_no_plain_prose() -> None:
    """Before the last compaction, the agent's thinking and its plain prose are left to the
    summary even when room is left; the same words after it are said."""
    thought = "The watcher must debounce `on_change()` before it calls `rebuild_index()`."
    prose_line = "Everything else in that folder looked quite ordinary to me today."
    before = [
        _agent(0, thought, kind="thinking"),
        _agent(1, prose_line, kind="fact"),
        _agent(2, "Moved the loader to `config/loader.py` with `load_config()`.", kind="fact"),
    ]
    summary = MemoryItem(
        "sum",
        "The session moved the config loader to `config/loader.py`.",
        metadata={"source": "claude-code", "kind": "summary", "compaction": True},
        created_at=T0 + timedelta(minutes=20),
    )
    since = [_agent(30, "All tests pass after `fix_1()` in `config/loader.py`.", kind="fact")]
    roomy = session_digest([*before, summary, *since], 2000).text
    assert "`load_config()`" in roomy  # the earlier replies' lines, as room allows
    assert "rebuild_index" not in roomy
    assert "ordinary" not in roomy
    after = [
        _agent(40, thought, kind="thinking"),
        _agent(41, prose_line, kind="fact"),
    ]
    later = session_digest([*before, summary, *since, *after], 2000).text
    assert "`rebuild_index()`" in later
    assert "ordinary" in later


@needs_data
def test_every_compaction_of_a_session_is_a_case_on_request() -> None:
    from benchmarks.compaction_quality import load_cases

    first = load_cases(DATA)
    every = load_cases(DATA, every=True)
    assert {c.name for c in first} < {c.name for c in every}
    later = [c for c in every if "#" in c.name]
    assert later
    assert all(c.name.split("#")[0] in {f.name for f in first} for c in later)
    for case in later:
        earlier = next(c for c in every if c.name == case.name.split("#")[0])
        assert len(case.lines_before) > len(earlier.lines_before)
        assert case.summary != earlier.summary


def test_a_file_changed_before_the_compaction_and_read_after_it_is_not_said_unchanged() -> None:
    """The lines of the work since a compaction are built from its items alone: a file the
    session edited before it and only read after it is "read; it was changed before the
    compaction", never "read, not changed"; a file read on both sides and never changed is."""
    records = _Records()
    records.user("make the cart round half up")
    records.edit("cart.py", "def total():\n    return 1\n", "return 1", "return round(1)")
    records.tool("Read", {"file_path": f"{CWD}/README.md"}, "1\u2192# app")
    _compacted(records, "Summary: 1. Primary Request and Intent: round the cart's total half up.")
    records.tool("Read", {"file_path": f"{CWD}/cart.py"}, "1\u2192def total():")
    records.tool("Read", {"file_path": f"{CWD}/README.md"}, "1\u2192# app")
    records.said("The cart now rounds half up in `total()`; all 4 tests pass.")
    files = session_digest(records.items(), 2000).sections["files"]
    cart = [line for line in files.splitlines() if "`cart.py`" in line]
    assert cart, files
    assert all("not changed" not in line for line in cart), files
    assert (
        "- `cart.py` was read; it was changed before the compaction; it defines `total()`." in cart
    )
    readme = [line for line in files.splitlines() if "`README.md`" in line]
    assert readme, files
    assert all("not changed" in line for line in readme), files


def test_a_file_the_history_says_changed_is_not_said_unchanged_by_a_read() -> None:
    """Claude Code's file history records a change the transcript's calls do not show (a
    sub-agent's edit): a read of that file does not make it "not changed"."""
    items = [
        MemoryItem(
            "h",
            "Claude Code's file history records a change to `src/a.py`.",
            metadata={"source": "claude-code", "kind": "fact", "files_changed": ["src/a.py"]},
            created_at=T0,
        ),
        MemoryItem(
            "r",
            "Read `src/a.py` (lines all)",
            metadata={
                "source": "claude-code",
                "kind": "tool_call",
                "tool": "Read",
                "file_path": "src/a.py",
                "lines": "all",
            },
            created_at=T0 + timedelta(seconds=1),
        ),
    ]
    files = session_digest(items, 2000).sections["files"]
    assert "not changed" not in files, files
    assert "`src/a.py` was read; Claude Code's file history records a change to it." in files


def test_edits_on_both_sides_of_a_compaction_are_counted_by_side() -> None:
    """Each side's lines count its own edits: said of a file edited on both sides, they name
    the side ("edited twice before the compaction", "edited once after the compaction"); a
    file changed on one side only keeps its plain count, and one read before the compaction
    and edited after it is not "read, not changed"."""
    records = _Records()
    records.user("make the cart round half up")
    records.edit("cart.py", "def total():\n    return 1\n", "return 1", "return round(1)")
    records.edit("cart.py", "def total():\n    return round(1)\n", "round(1)", "round(1.0)")
    records.tool("Read", {"file_path": f"{CWD}/tax.py"}, "1\u2192def tax():")
    _compacted(records, "Summary: 1. Primary Request and Intent: round the cart's total half up.")
    records.edit("cart.py", "def total():\n    return round(1.0)\n", "1.0", "2.0")
    records.edit("tax.py", "def tax():\n    return 0\n", "return 0", "return 1")
    records.said("The cart now rounds half up in `total()`; all 4 tests pass.")
    files = session_digest(records.items(), 4000).sections["files"].splitlines()
    said = [line.split(",")[0] for line in files if " was " in line]
    assert said == [
        "- `cart.py` was edited twice before the compaction",
        "- `cart.py` was edited once after the compaction",
        "- `tax.py` was read; it was changed after the compaction; it defines `tax()`.",
        "- `tax.py` was edited once",
    ]
    # the same items with no compaction: one count, no side
    records.lines = [line for line in records.lines if "isCompactSummary" not in line]
    whole = session_digest(records.items(), 4000).sections["files"]
    assert "- `cart.py` was edited 3 times" in whole
    assert "compaction" not in whole


def test_what_the_work_since_a_compaction_says_again_is_said_as_its_own() -> None:
    """A line the work since the compaction gives, which the items before it gave too ("All 4
    tests pass."), is the work since's: said even where no line of the items before the
    compaction fits (it was once left to them, and so said nowhere)."""
    records = _Records()
    records.user("make the cart round half up")
    for i in range(6):
        records.said(f"Updated `total_{i}()` in `cart.py` for the rounding.")
    records.said("All 4 tests pass.")
    _compacted(records, "Summary:\n1. Primary Request and Intent:\n   Round the cart's total.\n")
    records.said("All 4 tests pass.")
    for i in range(6):
        records.said(f"Checked `tax_{i}()` in `tax.py`: it rounds after the total.")
    items = records.items()
    for budget in (60, 100, 140):
        digest = session_digest(items, budget)
        assert "All 4 tests pass." in digest.sections.get("decisions", ""), digest.text
    assert "total_" not in session_digest(items, 60).text  # (no room for the items before it)


def _compacted_twice(records: _Records, middle: list[str]) -> list[MemoryItem]:
    """``records`` (their first request made) go on with 8 results (``old_i()``), a
    compaction, the ``middle`` statements, a second compaction and one result since: the
    session's items."""
    for i in range(8):
        records.said(f"Fixed: all {i + 10} tests pass after `old_{i}()` in `cart.py` rounds.")
    _compacted(records, "Summary:\n1. Primary Request and Intent:\n   Round the cart.\n")
    for statement in middle:
        records.said(statement)
    _compacted(records, "Summary:\n1. Primary Request and Intent:\n   Round the tax.\n")
    records.said("All 4 tests pass after `fix_total()` in `cart.py`.")
    return records.items()


def test_after_two_compactions_the_items_between_them_speak_before_the_oldest() -> None:
    """Each summary speaks for the items before it: with room left after the work since the
    last compaction, the items between the two summaries are said first, and the oldest only
    when room is left after them too."""
    records = _Records()
    records.user("make the cart round half up")
    items = _compacted_twice(
        records, [f"Looked at `mid_{i}()` in `tax.py` for the rounding." for i in range(8)]
    )
    seen_mid_alone = False
    for budget in range(60, 900, 20):
        text = session_digest(items, budget).text
        assert "fix_total" in text
        if "old_" in text:  # the oldest said only once every line between the two is
            assert all(f"mid_{i}()" in text for i in range(8)), (budget, text)
        elif "mid_" in text:
            seen_mid_alone = True
    assert seen_mid_alone
    assert "old_0()" in session_digest(items, 2000).text  # with room for all, all are said


def test_lines_held_after_spare_ones_wait_for_their_own_request() -> None:
    """A tier of held lines added after spare lines were (``Greedy.hold``): each further line
    of a request waits for that request's own line, wherever the lines before them stand."""
    from memcore.digest_asked import REQUEST_REST_LEAD
    from memcore.digest_greedy import Greedy
    from memcore.digest_pool import prepare_lines
    from memcore.digest_prose import Candidate
    from memcore.tokens import count_tokens

    now = [Candidate("decisions", 5, 5.0, "- All 4 tests pass.")]
    greedy = Greedy(prepare_lines(now, count_tokens), 400, count_tokens)
    spare = [Candidate("commands", 6, 0.5, f"- `ls {n}` ran once.", spare=True) for n in range(3)]
    greedy.release_spare(spare)
    request = Candidate("asked", 1, 6.0, "- The user asked: round the cart")
    rest = Candidate("asked", 1.001, 3.0, "  - and the tax", lead=f"{REQUEST_REST_LEAD}and the tax")
    held = prepare_lines([request, rest], count_tokens, cut=4)
    base = len(greedy.cands)
    greedy.hold(held)
    at = {cand.text: i for i, cand in enumerate(greedy.cands)}
    assert base == 4
    assert greedy.needs[at[rest.text]] == at[request.text]
    assert greedy.needs[at[request.text]] == -1
    assert all(greedy.needs[i] == -1 for i in range(1, base))


@needs_data
@pytest.mark.parametrize("name", ["entireio__cli__0276a600", "entireio__cli__0cf3db51"])
def test_a_session_compacted_twice_within_budget_at_every_size(name: str) -> None:
    """The held lines come in tiers, built when a size first has room: every size stays within
    its budget, and a size made alone says what it says among others (``session_digests``)."""
    from memcore import session_digests
    from memcore.claude_code import parse_transcript

    items = parse_transcript(DATA / f"{name}.jsonl").items
    budgets = (40, 150, 500, 1200, 2000, 4000, 9000)
    together = session_digests(items, budgets)
    for budget, digest in zip(budgets, together, strict=True):
        assert digest.tokens <= budget
        assert session_digest(items, budget).text == digest.text


def test_an_older_tiers_requests_come_with_the_newest_tier() -> None:
    """What the user asked before an older compaction competes with the lines of the items
    between the last two summaries: a digest those lines fill still says it (the oldest
    items' other lines wait for their own tier)."""
    records = _Records()
    records.user("look at how the cart rounds")
    records.said("The cart rounds half to even in `total()`.")
    records.user("make the cart round half up")
    middle = [
        f"Looked at `mid_{i}()` in `tax.py` for the rounding, and it rounds down."
        for i in range(30)
    ]
    items = _compacted_twice(records, middle)
    said_alone = False
    for budget in range(200, 1200, 50):
        text = session_digest(items, budget).text
        if "mid_29()" in text and "old_" not in text:  # the newest tier, not the oldest
            said_alone |= "make the cart round half up" in text
    assert said_alone


def test_a_line_cut_to_fit_is_made_whole_when_room_is_left_at_the_end() -> None:
    """A line cut to the room of one run, where a later look finds the whole fits (the lines
    counted together cost less than apart, or no line is left to take the room), is written
    whole: a cut sentence says what it says only in part."""
    from memcore.digest_engine import _made_whole, _render
    from memcore.digest_greedy import Greedy
    from memcore.digest_pool import prepare_lines
    from memcore.digest_prose import Candidate
    from memcore.tokens import count_tokens

    long = (
        "- The cart total now rounds once, after the tax is added, in `cart.total()`, so the "
        "receipt and the invoice agree to the cent for every basket the tests build"
    )
    greedy = Greedy(prepare_lines([Candidate("decisions", 1, 6.0, long)], count_tokens), 400,
                    count_tokens)  # fmt: skip
    greedy.run(count_tokens(long), capped=False)  # (a run whose limit, heading paid, cuts it)
    ((_, whole),) = greedy.cut_lines()
    assert whole.text == long
    text, sections = _render(greedy.chosen)
    assert long not in text.splitlines()
    text, _, tokens = _made_whole(greedy, 400, count_tokens, text, sections, count_tokens(text))
    assert long in text.splitlines()
    assert tokens == count_tokens(text) <= 400
    assert not greedy.cut_lines()
    assert greedy.chosen_costs == [count_tokens(long) + 1]


def test_a_cut_line_undone_is_no_cut_line_of_a_later_one() -> None:
    """A round that chose a line cut and was undone (``Greedy.restore``) leaves no trace: a
    line made later (a spare one, which may take the freed line's memory and so its ``id``)
    is not taken for a cut of the undone one's whole line."""
    from memcore.digest_greedy import Greedy
    from memcore.digest_pool import prepare_lines
    from memcore.digest_prose import Candidate
    from memcore.tokens import count_tokens

    long = Candidate(
        "decisions",
        1.0,
        5.0,
        "Changed the session loader so that every stored item is read once and the registry "
        "entry made from the items as they stood after the other save finished its work.",
    )
    short = Candidate("commands", 2.0, 9.0, "Ran `make`.")
    for retry in range(6, 20):
        greedy = Greedy(prepare_lines([long, short], count_tokens), 200, count_tokens)
        saved = greedy.snapshot()
        greedy.run(40, capped=False)  # (the long line chosen cut...)
        assert greedy.cut_lines()
        greedy.restore(saved)  # (... and the round undone)
        greedy.run(retry, capped=False)
        spare = [Candidate("notes", 3.0, 1.0, "The registry is per project.")]
        greedy.release_spare(spare)
        greedy.run(greedy.total + 30, capped=False)
        for n, whole in greedy.cut_lines():
            assert greedy.chosen[n].text.rstrip("\u2026") in whole.text
            assert greedy.chosen[n].section == whole.section
            greedy.make_whole(n, whole)
        assert {c.text for c in greedy.chosen} <= {long.text, short.text, spare[0].text} | {
            c.text for c in greedy.chosen if c.text.endswith("\u2026")
        }


def test_a_session_compacted_after_its_last_edit_still_says_its_state() -> None:
    """The state line is the whole session's, placed at its last edit: when that edit came
    before the last compaction, the line is not held back with the lines of the items the
    compaction summarized (a held-out session compacted near its end had no state line at any
    size, its session-start brief after the compaction neither)."""
    records = _Records()
    records.user("make the cart round half up")
    records.edit("cart.py", "def total():\n    return 1\n", "return 1", "return round(1)")
    records.tool("Bash", {"command": "pytest -q"}, "3 passed in 0.10s")
    _compacted(records, "Summary: 1. Primary Request and Intent: round the cart's total half up.")
    # (after it, enough to fill a digest before any held line has room)
    records.user(" ".join(f"check `step_{n}()` in `mod_{n}.py` again;" for n in range(40)))
    records.said(" ".join(f"Checked `step_{n}()` in `mod_{n}.py`: it rounds." for n in range(60)))
    for budget in (300, 600):
        still = session_digest(records.items(), budget).sections.get("open", "")
        assert "- State at the end: `pytest -q` passed after the last edit" in still, budget
