"""A list item that names something but states nothing ("`noctx` - using `exec.Command`",
"Main's new tests (`f`, `g`)", "typegen() -> codegen()") is said under the lead-in of its list,
merged with its siblings into one line; with no lead-in that can be said, it gives way to the
lines that state something."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memcore import MemoryItem, session_digest
from memcore.claude_code.compaction import summary_request, summary_statements
from memcore.digest_fragments import MERGED_WORDS, fragment_lead, is_fragment, merged
from memcore.digest_prose import statements
from tests.digest_statements_support import _agent, _asked
from tests.digest_support import T0
from tests.digest_support import _agent as _agent_item

LINT = (
    "I have two lint issues to fix:\n\n"
    "1. `appendAssign` - appending to a different slice\n"
    "2. `noctx` - using `exec.Command` instead of `exec.CommandContext`\n"
)


@pytest.mark.parametrize(
    ("sentence", "fragment"),
    [
        ("`appendAssign` - appending to a different slice", True),
        ("`noctx` - using `exec.Command` instead of `exec.CommandContext`", True),
        ("`--ours` = main's version", True),
        ("Main's new tests (`TestListCommitted`, `TestGetCheckpointAuthor*`)", True),
        ("strategy/hooks.go - InitializeSession(), PostCommit(), PrepareCommitMsg()", True),
        ("typegen() \u2192 codegen()", True),
        ("`ReviewTokenStore` \u2014 ETS-backed GenServer for one-time tokens", True),
        ("Preview mode (no `--force`): Prints item IDs to stdout only", False),
        ("`checkConcurrentSessions` - checks if another session is active", False),
        ("`filesTouched` comes from the session state", False),
        ("Added `commitCodeResult` struct to `auto_commit.go`", False),
        ("`f` is called twice", False),
        ("Both sessions write to `x` since they share a commit", False),
        ("Missing `hex` import after the linter auto-changed `f`", False),
        ("I traced it to `f`", False),
        ('`exec.Command("git", "add")` returns an error', False),
        ("Things to check:", False),  # (a lead-in of a list of its own)
        # (names, then what they are for: "points", "detached" are no verbs there)
        ("`hooks_claudecode_handlers.go` - for hook integration points", True),
        ("`detached_unix.go` and `detached_other.go` - for detached subprocess pattern", True),
        ("For each file we added tests", False),  # (a clause after it, no name before)
    ],
)
def test_which_items_state_nothing(sentence: str, fragment: bool) -> None:
    assert is_fragment(sentence) is fragment


@pytest.mark.parametrize(
    ("opener", "lead"),
    [
        ("I have two lint issues to fix:", "I have two lint issues to fix"),
        (
            "Done. The conflicts were resolved by keeping both:",
            "The conflicts were resolved by keeping both",
        ),
        ("ugh all the renames:", "All the renames"),  # (the narration's opening word left out)
        ("## Key Files", "Key Files"),
        ("**Uses UTC** (serialized to git):", "Uses UTC (serialized to git)"),
        ("So:", None),  # (nothing left)
        ("Yes, `f` is right. Looking at:", None),  # (only points at its list)
        ("Let me add:", None),  # (what the agent is about to do)
        ("I need to look at:", None),
        ("What else could break?", None),
        ("Done. PR created: https://example.com/pull/39", None),  # (a colon of its own)
        ("The first step, which took most of the afternoon and two reruns of the suite:", None),
        ("Some prose that opens no list", None),
    ],
)
def test_which_lead_ins_are_said_with_their_fragments(opener: str, lead: str | None) -> None:
    assert fragment_lead(opener) == lead


def test_fragments_are_merged_under_their_lead_in() -> None:
    items = [_asked("fix the lint"), _agent(5, LINT)]
    lines = session_digest(items, 2000).sections["decisions"].splitlines()
    assert (
        "- I have two lint issues to fix: `appendAssign` - appending to a different slice; "
        "`noctx` - using `exec.Command` instead of `exec.CommandContext`"
    ) in lines
    assert not any(line.startswith(("- `appendAssign`", "- `noctx`")) for line in lines)


def test_a_sub_agents_fragments_are_said_as_its_report() -> None:
    report = _agent(5, LINT)
    report.metadata["report"] = True
    lines = session_digest([_asked("fix the lint"), report], 2000).sections["decisions"]
    assert "- A sub-agent reported: I have two lint issues to fix: `appendAssign` - " in lines


def test_an_item_that_states_something_keeps_its_own_line() -> None:
    reply = (
        "Here is the flow:\n\n"
        "- `parseInput()` parses the input and sets `SessionRef`\n"
        "- `captureState()` calls `CapturePrePromptState()`\n"
    )
    lines = session_digest([_asked("trace it"), _agent(5, reply)], 2000).sections["decisions"]
    assert "- `parseInput()` parses the input and sets `SessionRef`" in lines.splitlines()


def test_a_fragment_without_a_lead_in_gives_way() -> None:
    """ "So:" leads nothing: "`--ours` = main's version" is worth less than a line naming as
    much that states something."""
    reply = (
        "So:\n"
        "- `--ours` = main's version\n"
        "- `--theirs` = our changes\n\n"
        "- `git checkout --ours` keeps main's version of `checkpoint_test.go`\n"
    )
    found = {c.text: c.score for c in statements(_agent(0, reply), 0, 1.0, set())}
    fragment = found["- `--ours` = main's version"]
    statement = found["- `git checkout --ours` keeps main's version of `checkpoint_test.go`"]
    assert fragment < statement - 1.0


def test_a_long_list_is_said_in_lines_of_a_few_items() -> None:
    items = [f"`name_{i}` - the {i}th piece of the long renamed module" for i in range(12)]
    lines = merged("All the renames", items)
    assert len(lines) > 1
    assert lines[0][0] == 0
    assert lines[-1][1] == len(items)
    assert all(lines[n][1] == lines[n + 1][0] for n in range(len(lines) - 1))  # (in order)
    for first, end, text in lines:
        assert text.startswith("All the renames: ")
        assert text.count(";") == end - first - 1
        assert end - first == 1 or len(text.split()) <= MERGED_WORDS


@given(st.text(alphabet="`() -abIs:'\u2019\u2014", min_size=1, max_size=30))
def test_any_text_is_a_fragment_or_not(sentence: str) -> None:
    assert is_fragment(sentence) in (True, False)
    lead = fragment_lead(sentence)
    assert lead is None or (lead and ":" not in lead and lead.count("`") % 2 == 0)


_ANALYSIS = (
    "This session is being continued from a previous conversation that ran out of context.\n\n"
    "Analysis:\n"
    "1. The user asked to wire the state machine into the hooks.\n\n"
    "2. I then read many key files:\n"
    "   - strategy/hooks.go - InitializeSession(), PostCommit(), PrepareCommitMsg()\n"
    "   - session/state.go - State struct with Phase, PendingCheckpointID fields\n\n"
    "Summary:\n"
    "1. Primary Request and Intent:\n"
    "   Wire `session.Transition()` into the hook handlers.\n\n"
    "2. Key Technical Concepts:\n"
    "   - The phase state machine\n"
)


def test_a_summary_s_numbered_step_that_states_something_is_its_list_s_lead_in() -> None:
    """A step of the summary's analysis numbered as its sections are ("2. I then read many key
    files:") is no section's title: it stays, and its list's fragments are said under it."""
    kept = summary_statements(_ANALYSIS)
    assert "2. I then read many key files:" in kept
    assert "Primary Request and Intent" not in kept  # (a section's title is still none)
    assert summary_request(_ANALYSIS) == [
        "Wire",
        "`session.Transition()`",
        "into",
        "the",
        "hook",
        "handlers.",
    ]
    summary = MemoryItem(
        "sum",
        _ANALYSIS,
        metadata={"source": "claude-code", "kind": "summary", "compaction": True},
        created_at=T0,
    )
    done = _agent_item(1, "Wired `session.Transition()` into `InitializeSession()`.", kind="fact")
    decisions = session_digest([summary, done], 2000).sections["decisions"].splitlines()
    line = next(line for line in decisions if "strategy/hooks.go" in line)
    assert line.startswith(
        "- I then read many key files: strategy/hooks.go - InitializeSession(), PostCommit(), "
        "PrepareCommitMsg(); session/state.go - State struct"
    ), decisions
